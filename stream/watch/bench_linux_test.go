//go:build linux

package watch_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

// BenchmarkRouteEvents measures the watcher's event path on a table of
// steady size: each iteration moves 10,000 routes from one link to the
// other with ip -batch (10,000 Changed events). It reports CPU time
// (getrusage, whole process: poller, watcher and subscriber) and heap
// allocations per event; ip's own work is in another process.
//
//	go test -run XXX -bench RouteEvents -benchtime 20x ./stream/watch/
func BenchmarkRouteEvents(b *testing.B) {
	const n = 10_000
	ns := nstest.New(b)
	ns.Veth("v0", "v1")
	lines := func(dev string) []string {
		ls := make([]string, n)
		for i := range ls {
			ls[i] = fmt.Sprintf("route replace 10.%d.%d.0/24 dev %s", i/256, i%256, dev)
		}
		return ls
	}
	toV0, toV1 := lines("v0"), lines("v1")
	ns.Batch(toV0)

	w, err := watch.Routes(watch.WithNetNS(ns.Path()), watch.WithFamily(unix.AF_INET))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var changed atomic.Int64
	kick := make(chan struct{}, 1)
	go stream.ForEach(b.Context(), w.Events(), func(e watch.Event[rtnl.Route]) error {
		if e.Kind == watch.Changed && changed.Add(1)%n == 0 {
			kick <- struct{}{}
		}
		return nil
	})
	if err := w.WaitReady(b.Context()); err != nil {
		b.Fatal(err)
	}

	var ms0, ms1 runtime.MemStats
	var ru0, ru1 unix.Rusage
	var busy time.Duration
	var bytes, mallocs uint64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		runtime.ReadMemStats(&ms0)
		unix.Getrusage(unix.RUSAGE_SELF, &ru0)
		b.StartTimer()
		if i%2 == 0 {
			ns.Batch(toV1)
		} else {
			ns.Batch(toV0)
		}
		select {
		case <-kick:
		case <-time.After(wait):
			b.Fatalf("only %d events after %v", changed.Load(), wait)
		}
		b.StopTimer()
		unix.Getrusage(unix.RUSAGE_SELF, &ru1)
		runtime.ReadMemStats(&ms1)
		busy += time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		bytes += ms1.TotalAlloc - ms0.TotalAlloc
		mallocs += ms1.Mallocs - ms0.Mallocs
		b.StartTimer()
	}
	b.StopTimer()
	events := float64(b.N * n)
	b.ReportMetric(float64(busy.Nanoseconds())/events/1000, "cpu-µs/event")
	b.ReportMetric(float64(bytes)/events, "B/event")
	b.ReportMetric(float64(mallocs)/events, "allocs/event")
	if s := w.Stats(); s.Overruns > 0 {
		b.Logf("%d overruns during the benchmark", s.Overruns)
	}
}

// BenchmarkRouteWatcherResync measures a verification of a ready table of
// 100,000 IPv4 routes (Resync: a full dump compared with the table,
// nothing to repair), against ForEachRoute's plain dump of the same table
// on the same namespace (the "dump" sub-benchmark).
//
//	go test -run XXX -bench RouteWatcherResync -benchtime 10x ./stream/watch/
func BenchmarkRouteWatcherResync(b *testing.B) {
	const n = 100_000
	ns := nstest.New(b)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	routes := make([]rtnl.Route, n)
	for i := range routes {
		routes[i] = rtnl.Route{Family: rtnl.FamilyInet, Table: rtnl.TableMain, Scope: rtnl.ScopeLink,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), OIF: 2}
	}
	if l, err := rtnl.LinkByName(b.Context(), c, "v0"); err != nil {
		b.Fatal(err)
	} else {
		for i := range routes {
			routes[i].OIF = l.Index
		}
	}
	if err := rtnl.AddRoutes(b.Context(), c, routes); err != nil {
		b.Fatal(err)
	}
	b.Run("dump", func(b *testing.B) {
		for b.Loop() {
			k := 0
			if err := rtnl.ForEachRoute(b.Context(), c, rtnl.RouteFilter{Family: rtnl.FamilyInet}, func(*rtnl.Route) error { k++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/route")
	})
	b.Run("resync", func(b *testing.B) {
		w, err := watch.Routes(watch.WithNetNS(ns.Path()), watch.WithFamily(rtnl.FamilyInet))
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		if err := w.WaitReady(b.Context()); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := w.Resync(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/route")
	})
}
