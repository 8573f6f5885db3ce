//go:build linux

package rtnl_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// bulkRoutes is the number of routes BenchmarkBulkAdd adds per run.
const bulkRoutes = 100_000

// BenchmarkBulkAdd adds 100,000 /32 routes through rtnl.AddRoutes (on
// nl.Conn.ExecuteBatch, with an 8 MiB receive buffer so that batches hold
// 4,096 routes) and through `ip -batch` (a process run with nsenter in the
// same namespace, reading the same routes from a pipe), alternating which
// goes first, and reports both rates and their ratio. Each side adds into
// a table of its own; the routes are deleted, untimed, after each run and
// each run checks that all were added. ns/op covers a whole iteration
// (both runs and the clean-up); read the custom metrics.
//
//	go test -run '^$' -bench BulkAdd -benchtime 5x ./nl/rtnl/
func BenchmarkBulkAdd(b *testing.B) {
	ns := nstest.New(b)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithReadBuffer(8 << 20))
	ctx := context.Background()
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		b.Fatal(err)
	}
	const nlrxTable, ipTable = 100, 200
	routes := make([]rtnl.Route, bulkRoutes)
	ipRoutes := make([]rtnl.Route, bulkRoutes)
	var script bytes.Buffer
	for i := range routes {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)}), 32)
		routes[i] = rtnl.Route{Dst: dst, OIF: v0, Scope: rtnl.ScopeLink, Table: nlrxTable}
		ipRoutes[i] = rtnl.Route{Dst: dst, OIF: v0, Table: ipTable}
		fmt.Fprintf(&script, "route add %s dev v0 scope link table %d\n", dst, ipTable)
	}
	count := func(table uint32) int {
		n := 0
		err := rtnl.ForEachRoute(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: table}, func(*rtnl.Route) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	nlrx := func() time.Duration {
		t0 := time.Now()
		if err := rtnl.AddRoutes(ctx, c, routes); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		if n := count(nlrxTable); n != bulkRoutes {
			b.Fatalf("nlrx added %d routes, want %d", n, bulkRoutes)
		}
		if err := rtnl.DeleteRoutes(ctx, c, routes); err != nil {
			b.Fatal(err)
		}
		return d
	}
	ipBatch := func() time.Duration {
		cmd := ns.Cmd("ip", "-batch", "-")
		cmd.Stdin = bytes.NewReader(script.Bytes())
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ip -batch: %v: %s", err, out)
		}
		d := time.Since(t0)
		if n := count(ipTable); n != bulkRoutes {
			b.Fatalf("ip -batch added %d routes, want %d", n, bulkRoutes)
		}
		if err := rtnl.DeleteRoutes(ctx, c, ipRoutes); err != nil {
			b.Fatal(err)
		}
		return d
	}

	rb, err := c.ReadBufferSize()
	if err != nil {
		b.Fatal(err)
	}
	var nlrxTime, ipTime time.Duration
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			nlrxTime += nlrx()
			ipTime += ipBatch()
		} else {
			ipTime += ipBatch()
			nlrxTime += nlrx()
		}
		n++
	}
	perSec := func(d time.Duration) float64 { return float64(bulkRoutes*n) / d.Seconds() }
	b.ReportMetric(perSec(nlrxTime), "nlrx-routes/s")
	b.ReportMetric(perSec(ipTime), "ip-routes/s")
	b.ReportMetric(float64(ipTime)/float64(nlrxTime), "ip/nlrx")
	b.ReportMetric(float64(min(4096, max(16, rb/1024))), "batch")
}
