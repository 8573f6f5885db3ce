package operators_test

import (
	"context"
	"testing"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

// route is a route-sized value (64 bytes), like a decoded rtnetlink route.
type route struct {
	Family   uint8
	DstLen   uint8
	Protocol uint8
	Scope    uint8
	Type     uint16
	Flags    uint16
	Table    uint32
	OIF      uint32
	Priority uint32
	Metric   uint32
	Mark     uint32
	Pref     uint8
	_        [3]byte
	Dst      [16]byte
	Gateway  [16]byte
}

// routeKey is what the benchmark pipeline maps each kept route to.
type routeKey struct {
	Dst   [16]byte
	Len   uint8
	Table uint32
}

const benchItems = 1_000_000

var benchRoutes = func() []route {
	rs := make([]route, benchItems)
	for i := range rs {
		rs[i] = route{Family: 2, Type: uint16(24 + i%2), DstLen: uint8(i % 33), Table: 254, OIF: uint32(i % 7)}
		rs[i].Dst[0], rs[i].Dst[1], rs[i].Dst[2] = 10, byte(i>>8), byte(i)
	}
	return rs
}()

func keep(r route) bool      { return r.Type == 24 }
func keyOf(r route) routeKey { return routeKey{Dst: r.Dst, Len: r.DstLen, Table: r.Table} }

func perItem(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchItems, "ns/item")
}

// BenchmarkFilterMapCollect is source → Filter → Map → AppendTo a presized
// slice, 1M routes per op.
func BenchmarkFilterMapCollect(b *testing.B) {
	ctx := context.Background()
	out := make([]routeKey, 0, benchItems/2)
	pipe := operators.Map(operators.Filter(stream.FromSlice(benchRoutes), keep), keyOf)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		out, err = stream.AppendTo(ctx, out[:0], pipe)
		if err != nil || len(out) != benchItems/2 {
			b.Fatal(err, len(out))
		}
	}
	perItem(b)
}

// BenchmarkPlainLoop is the same work as a hand-written for loop.
func BenchmarkPlainLoop(b *testing.B) {
	out := make([]routeKey, 0, benchItems/2)
	b.ReportAllocs()
	for b.Loop() {
		out = out[:0]
		for i := range benchRoutes {
			if keep(benchRoutes[i]) {
				out = append(out, keyOf(benchRoutes[i]))
			}
		}
		if len(out) != benchItems/2 {
			b.Fatal(len(out))
		}
	}
	perItem(b)
}
