//go:build linux

package watch

import (
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

func linkMsg(t *testing.T, typ uint16, index, flags uint32) nl.Message {
	t.Helper()
	l := rtnl.Link{Index: index, Flags: flags}
	m, err := l.Message(typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The kernel's rule, as the watcher mirrors it, for the routes of link 2
// when links come and go; link 3 stays up throughout.
func TestRouteLinksSettleAppliesTheKernelsFlushRule(t *testing.T) {
	const up = rtnl.LinkUp | rtnl.LinkLowerUp
	route := func(dst string, oif uint32, scope rtnl.Scope, hops ...uint32) rtnl.Route {
		r := rtnl.Route{Family: rtnl.FamilyInet, Dst: netip.MustParsePrefix(dst), Table: 254, OIF: oif, Scope: scope}
		for _, h := range hops {
			r.OIF = 0
			r.Multipath = append(r.Multipath, rtnl.NextHop{OIF: h})
		}
		return r
	}
	table := func() map[rtnl.RouteKey]rtnl.Route {
		m := map[rtnl.RouteKey]rtnl.Route{}
		for _, r := range []rtnl.Route{
			route("10.0.0.0/24", 2, rtnl.ScopeLink),
			route("10.0.1.0/24", 3, rtnl.ScopeLink),
			route("10.0.2.1/32", 2, rtnl.ScopeHost), // a local address's route
			route("10.0.3.0/24", 0, rtnl.ScopeUniverse, 2, 2),
			route("10.0.4.0/24", 0, rtnl.ScopeUniverse, 2, 3),
			{Family: rtnl.FamilyInet6, Dst: netip.MustParsePrefix("2001:db8::/64"), OIF: 2},
		} {
			m[r.Key()] = r
		}
		return m
	}
	for _, tc := range []struct {
		name string
		msgs func(t *testing.T) []nl.Message
		keep []string // IPv4 destinations left, in the order of table()
		dead bool     // 10.0.4.0/24's hop on link 2 flagged dead
	}{
		{"down", func(t *testing.T) []nl.Message { return []nl.Message{linkMsg(t, rtnl.TypeNewLink, 2, 0)} },
			[]string{"10.0.1.0/24", "10.0.2.1/32", "10.0.4.0/24"}, true},
		{"deleted", func(t *testing.T) []nl.Message {
			return []nl.Message{linkMsg(t, rtnl.TypeNewLink, 2, 0), linkMsg(t, rtnl.TypeDelLink, 2, 0)}
		}, []string{"10.0.1.0/24", "10.0.4.0/24"}, true},
		{"down then up before the settle", func(t *testing.T) []nl.Message {
			return []nl.Message{linkMsg(t, rtnl.TypeNewLink, 2, 0), linkMsg(t, rtnl.TypeNewLink, 2, up)}
		}, []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.1/32", "10.0.3.0/24", "10.0.4.0/24"}, false},
		{"the other link's carrier", func(t *testing.T) []nl.Message {
			return []nl.Message{linkMsg(t, rtnl.TypeNewLink, 3, rtnl.LinkUp)}
		}, []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.1/32", "10.0.3.0/24", "10.0.4.0/24"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &routeSide{state: map[uint32]linkState{2: {up: true, lower: true}, 3: {up: true, lower: true}}, pending: map[uint32]bool{}}
			for _, m := range tc.msgs(t) {
				r.observe(m)
			}
			m := table()
			var changes int
			r.settle(m, func(_, _ *rtnl.Route) { changes++ })
			var got []string
			for _, w := range table() {
				if _, ok := m[w.Key()]; ok && w.Family == rtnl.FamilyInet {
					got = append(got, w.Dst.String())
				}
			}
			if len(got) != len(tc.keep) {
				t.Fatalf("left %v, want %v", got, tc.keep)
			}
			for _, d := range tc.keep {
				found := false
				for _, g := range got {
					found = found || g == d
				}
				if !found {
					t.Fatalf("left %v, want %v", got, tc.keep)
				}
			}
			if len(m) != len(got)+1 {
				t.Errorf("the IPv6 route was touched")
			}
			mpr := route("10.0.4.0/24", 0, rtnl.ScopeUniverse, 2, 3)
			mp := m[mpr.Key()]
			dead := mp.Multipath[0].Flags&uint8(rtnl.RouteFlagDead) != 0
			if dead != tc.dead || mp.Multipath[1].Flags != 0 {
				t.Errorf("10.0.4.0/24 hops %+v, want the first dead: %v", mp.Multipath, tc.dead)
			}
			if want := len(table()) - len(m); tc.dead && changes != want+1 || !tc.dead && changes != 0 {
				t.Errorf("%d changes reported", changes)
			}
			if len(r.pending) != 0 {
				t.Errorf("pending after settle: %v", r.pending)
			}
		})
	}
}
