package watch

import (
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

func benchRoutes(n int) []rtnl.Route {
	rs := make([]rtnl.Route, n)
	for i := range rs {
		rs[i] = rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoStatic, Scope: rtnl.ScopeLink,
			Table: 254, OIF: 2, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)}
	}
	return rs
}

// BenchmarkFIBAddDelete: 100,000 new routes added, then deleted, per op.
func BenchmarkFIBAddDelete(b *testing.B) {
	rs := benchRoutes(100_000)
	f, tab := newFIB(), newRoutes()
	var sink int
	fn := func(old, cur *rtnl.Route) { sink++ }
	b.ReportAllocs()
	for b.Loop() {
		for i := range rs {
			f.apply(tab, &rs[i], nl.FlagCreate|nl.FlagExcl, false, fn)
		}
		for i := range rs {
			f.apply(tab, &rs[i], 0, true, fn)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*len(rs)), "ns/route-op")
}

// BenchmarkFIBReplaceDev: 100,000 routes moved from one link to another (a new key each) per op.
func BenchmarkFIBReplaceDev(b *testing.B) {
	rs := benchRoutes(100_000)
	f, tab := newFIB(), newRoutes()
	fn := func(old, cur *rtnl.Route) {}
	for i := range rs {
		f.apply(tab, &rs[i], nl.FlagCreate|nl.FlagExcl, false, fn)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		for i := range rs {
			rs[i].OIF = uint32(2 + n%2)
			f.apply(tab, &rs[i], nl.FlagReplace, false, fn)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rs)), "ns/route-op")
}
