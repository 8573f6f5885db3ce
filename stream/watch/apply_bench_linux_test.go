//go:build linux

package watch

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// BenchmarkRouteWatcherApply measures the route watcher's own work per
// notification, with no socket read and no subscriber: decode, the FIB
// model, the table and the event. Each op adds 100,000 new IPv4 routes (as
// the kernel notifies an add) and deletes them.
//
//	go test -run XXX -bench RouteWatcherApply ./stream/watch/
func BenchmarkRouteWatcherApply(b *testing.B) {
	w, err := Routes(WithFamily(rtnl.FamilyInet))
	if err != nil {
		b.Skip(err)
	}
	defer w.Close()
	const n = 100_000
	add, del := make([]nl.Message, n), make([]nl.Message, n)
	for i := range n {
		r := rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoStatic, Scope: rtnl.ScopeLink,
			Table: rtnl.TableMain, OIF: 2, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}
		if add[i], err = r.Message(rtnl.TypeNewRoute, nl.FlagCreate|nl.FlagExcl); err != nil {
			b.Fatal(err)
		}
		if del[i], err = r.Message(rtnl.TypeDelRoute, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("add", func(b *testing.B) {
		// Into an empty table each time: the table grows, as in the
		// harness's watch burst.
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			w.table.m = newRoutes()
			b.StartTimer()
			for i := range add {
				w.apply(&add[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/notification")
		// What the table of 100,000 routes keeps (its slots and its
		// index), measured once, outside the timing: the heap in use
		// after a collection, with and without the table.
		b.StopTimer()
		w.table.m = nil
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		w.table.m = newRoutes()
		for i := range add {
			w.apply(&add[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "table-B/route")
		runtime.KeepAlive(w.table.m)
	})
	b.Run("add+delete", func(b *testing.B) {
		// A table that keeps its size and its map: deletes free what
		// adds take.
		w.table.m = newRoutes()
		b.ReportAllocs()
		for b.Loop() {
			for i := range add {
				w.apply(&add[i])
			}
			for i := range del {
				w.apply(&del[i])
			}
		}
		if l := w.table.Len(); l != 0 {
			b.Fatalf("%d routes left", l)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*n), "ns/notification")
	})
}
