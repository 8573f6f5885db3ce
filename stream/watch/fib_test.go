package watch

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// fibCase builds routes in a few words: "10.9.0.0/24 via 10.5.0.2 dev 3",
// "blackhole 10.9.0.0/24", "2001:1::/64 nexthop 2001:db8::2@3 nexthop
// 2001:db9::2@5 metric 1024", "local 10.5.0.1 dev 3 scope host table 255".
func route(t *testing.T, s string) rtnl.Route {
	t.Helper()
	f := strings.Fields(s)
	r := rtnl.Route{Type: rtnl.RouteUnicast, Table: rtnl.TableMain, Protocol: rtnl.ProtoBoot}
	types := map[string]rtnl.RouteType{"blackhole": rtnl.RouteBlackhole, "unreachable": rtnl.RouteUnreachable,
		"local": rtnl.RouteLocal, "broadcast": rtnl.RouteBroadcast, "prohibit": rtnl.RouteProhibit}
	if ty, ok := types[f[0]]; ok {
		r.Type = ty
		f = f[1:]
	}
	p, err := netip.ParsePrefix(f[0])
	if err != nil {
		a := netip.MustParseAddr(f[0])
		p = netip.PrefixFrom(a, a.BitLen())
	}
	r.Dst = p
	r.Family = rtnl.FamilyInet
	if p.Addr().Is6() {
		r.Family = rtnl.FamilyInet6
	}
	num := func(s string) uint32 {
		var n uint32
		if _, err := fmt.Sscan(s, &n); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return n
	}
	for i := 1; i < len(f); i += 2 {
		v := f[i+1]
		switch f[i] {
		case "via":
			r.Gateway = netip.MustParseAddr(v)
		case "dev":
			r.OIF = num(v)
		case "metric":
			r.Priority = num(v)
		case "table":
			r.Table = num(v)
		case "src":
			r.PrefSrc = netip.MustParseAddr(v)
		case "proto":
			r.Protocol = rtnl.Protocol(num(v))
		case "scope":
			r.Scope = map[string]rtnl.Scope{"host": rtnl.ScopeHost, "link": rtnl.ScopeLink}[v]
		case "nhid":
			r.NexthopID = num(v)
		case "mtu":
			m := metricsOf(r.Metrics)
			m.MTU = num(v)
			r.Metrics = &m
		case "nexthop": // gw@dev
			gw, dev, _ := strings.Cut(v, "@")
			h := rtnl.NextHop{OIF: num(dev), Weight: 1}
			if gw != "" {
				h.Gateway = netip.MustParseAddr(gw)
			}
			r.Multipath = append(r.Multipath, h)
		default:
			t.Fatalf("route %q: unknown word %q", s, f[i])
		}
	}
	return r
}

// lines returns t's routes in the kernel's order (groups by key, then the
// group's own order) as strings.
func (f *fib) lines(t *routes) []string {
	var groups []rtnl.RouteKey
	for k := range t.all() {
		if g := k.Group(); !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	slices.SortFunc(groups, compareRouteKeys)
	var out []string
	n := 0
	for _, g := range groups {
		for _, k := range t.keys(g, nil) {
			r := t.val(k)
			out = append(out, r.String())
			n++
		}
	}
	if n != t.Len() {
		out = append(out, fmt.Sprintf("(groups hold %d of %d routes)", n, t.Len()))
	}
	return out
}

type fibStep struct {
	op    string // add (CREATE|EXCL), prepend (CREATE), append, replace, del
	route string
}

var stepFlags = map[string]uint16{
	"add":     nl.FlagCreate | nl.FlagExcl,
	"prepend": nl.FlagCreate,
	"append":  nl.FlagCreate | nl.FlagAppend,
	"replace": nl.FlagReplace,
	"del":     0,
}

// The notifications are those the kernel sends for the ip commands in the
// comments (flags checked against Linux 6.18 with a socket in the groups).
func TestFIBAppliesNotificationsByTheKernelsRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []fibStep
		want  []string
	}{
		{"two links' prefix routes in one subnet stay apart", []fibStep{
			{"add", "10.5.0.0/24 dev 3 proto 2 scope link src 10.5.0.1"},
			{"append", "10.5.0.0/24 dev 5 proto 2 scope link src 10.5.0.2"},
		}, []string{"10.5.0.0/24 dev if3 proto kernel scope link src 10.5.0.1", "10.5.0.0/24 dev if5 proto kernel scope link src 10.5.0.2"}},
		{"deleting one of them leaves the other", []fibStep{
			{"add", "10.5.0.0/24 dev 3 proto 2 scope link src 10.5.0.1"},
			{"append", "10.5.0.0/24 dev 5 proto 2 scope link src 10.5.0.2"},
			{"del", "10.5.0.0/24 dev 5 proto 2 scope link src 10.5.0.2"},
		}, []string{"10.5.0.0/24 dev if3 proto kernel scope link src 10.5.0.1"}},
		{"append goes last, prepend first", []fibStep{
			{"add", "10.9.0.0/24 via 10.5.0.2 dev 3"},             // ip route add
			{"append", "10.9.0.0/24 via 10.6.0.2 dev 5"},          // ip route append
			{"prepend", "10.9.0.0/24 dev 5 scope link"},           // ip route prepend
			{"append", "10.9.0.0/24 via 10.6.0.2 dev 5 metric 5"}, // another group
		}, []string{"10.9.0.0/24 dev if5 scope link", "10.9.0.0/24 via 10.5.0.2 dev if3", "10.9.0.0/24 via 10.6.0.2 dev if5",
			"10.9.0.0/24 via 10.6.0.2 dev if5 metric 5"}},
		{"replace takes the place of the first of the group, across types", []fibStep{
			{"add", "10.9.0.0/24 via 10.5.0.2 dev 3"},
			{"append", "10.9.0.0/24 via 10.6.0.2 dev 5"},
			{"replace", "blackhole 10.9.0.0/24"},
		}, []string{"blackhole 10.9.0.0/24", "10.9.0.0/24 via 10.6.0.2 dev if5"}},
		{"a replace of a route that is there already changes nothing else", []fibStep{
			{"add", "10.9.0.0/24 via 10.5.0.2 dev 3"},
			{"append", "10.9.0.0/24 via 10.6.0.2 dev 5"},
			{"replace", "10.9.0.0/24 via 10.6.0.2 dev 5"},
		}, []string{"10.9.0.0/24 via 10.5.0.2 dev if3", "10.9.0.0/24 via 10.6.0.2 dev if5"}},
		{"a deletion of a route that is not there changes nothing", []fibStep{
			{"add", "10.9.0.0/24 via 10.5.0.2 dev 3"},
			{"del", "10.9.0.0/24 via 10.6.0.2 dev 5"},
		}, []string{"10.9.0.0/24 via 10.5.0.2 dev if3"}},
		{"IPv6 replace makes twins, held as two copies; a delete takes one", []fibStep{
			{"add", "2001:3::/64 dev 5 metric 1024"},
			{"append", "2001:3::/64 dev 3 metric 1024"},
			{"replace", "2001:3::/64 dev 3 metric 1024"},
			{"add", "2001:4::/64 dev 5 metric 1024"},
			{"append", "2001:4::/64 dev 3 metric 1024"},
			{"replace", "2001:4::/64 dev 3 metric 1024"},
			{"del", "2001:4::/64 dev 3 metric 1024"},
		}, []string{"2001:3::/64 dev if3 metric 1024 pref medium", "2001:3::/64 dev if3 metric 1024 pref medium",
			"2001:4::/64 dev if3 metric 1024 pref medium"}},
		{"IPv4 multipath replaced by single path", []fibStep{
			{"add", "10.9.0.0/24 nexthop 10.5.0.2@3 nexthop 10.6.0.2@5"},
			{"replace", "10.9.0.0/24 via 10.5.0.3 dev 3"},
		}, []string{"10.9.0.0/24 via 10.5.0.3 dev if3"}},
		{"IPv6 append grows a multipath route, which absorbs the first hop and keeps the order they joined", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
			{"append", "2001:1::/64 metric 1024 nexthop 2001:db9::2@5 nexthop 2001:db8::2@3"},
		}, []string{"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if3 weight 1 nexthop via 2001:db9::2 dev if5 weight 1"}},
		{"IPv6 routes without a gateway stay beside the multipath route", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
			{"append", "2001:1::/64 metric 1024 nexthop 2001:db9::2@5 nexthop 2001:db8::2@3"},
			{"append", "2001:1::/64 dev 3 metric 1024"},
		}, []string{"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if3 weight 1 nexthop via 2001:db9::2 dev if5 weight 1",
			"2001:1::/64 dev if3 metric 1024 pref medium"}},
		{"IPv6 replace of a multipath route by a single path drops every hop", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
			{"append", "2001:1::/64 metric 1024 nexthop 2001:db9::2@5 nexthop 2001:db8::2@3"},
			{"append", "2001:1::/64 dev 3 metric 1024"},
			{"replace", "2001:1::/64 via 2001:db9::3 dev 5 metric 1024"},
		}, []string{"2001:1::/64 via 2001:db9::3 dev if5 metric 1024 pref medium", "2001:1::/64 dev if3 metric 1024 pref medium"}},
		{"IPv6 replace of a single path by another gateway", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
			{"replace", "2001:1::/64 via 2001:db8::3 dev 3 metric 1024"},
		}, []string{"2001:1::/64 via 2001:db8::3 dev if3 metric 1024 pref medium"}},
		{"IPv6 replace of a route without a gateway leaves the gateway routes", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
			{"append", "2001:1::/64 dev 3 metric 1024"},
			{"replace", "2001:1::/64 dev 5 metric 1024"},
		}, []string{"2001:1::/64 via 2001:db8::2 dev if3 metric 1024 pref medium", "2001:1::/64 dev if5 metric 1024 pref medium"}},
		{"IPv6 replace with no route as able to join a multipath route takes the first (fib6_add_rt2node's fallback)", []fibStep{
			{"add", "unreachable 2001:1::/64 dev 1 metric 1024"},
			{"replace", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
		}, []string{"2001:1::/64 via 2001:db8::2 dev if3 metric 1024 pref medium"}},
		{"IPv6 replace of a gateway route by one without a gateway, when no such route is there", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::3 dev 3 metric 1024"},
			{"replace", "2001:1::/64 dev 5 metric 1024"},
		}, []string{"2001:1::/64 dev if5 metric 1024 pref medium"}},
		{"an IPv6 multipath route keeps the attributes of the route it grew from", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024 mtu 1400 proto 4"},
			{"append", "2001:1::/64 metric 1024 nexthop 2001:db9::2@5 nexthop 2001:db8::2@3"},
		}, []string{"2001:1::/64 proto static metric 1024 mtu 1400 pref medium nexthop via 2001:db8::2 dev if3 weight 1 nexthop via 2001:db9::2 dev if5 weight 1"}},
		{"a hop left alone in an IPv6 multipath route keeps attributes of its own", []fibStep{
			{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
			{"append", "2001:1::/64 metric 1024 mtu 1400 nexthop 2001:db9::2@5 nexthop 2001:db8::2@3"},
			{"del", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
		}, []string{"2001:1::/64 via 2001:db9::2 dev if5 metric 1024 mtu 1400 pref medium"}},
		{"IPv6 hop deleted from a multipath route of three", []fibStep{
			{"add", "2001:1::/64 metric 1024 nexthop 2001:db8::2@3 nexthop 2001:db9::2@5 nexthop 2001:db9::3@5"},
			{"del", "2001:1::/64 via 2001:db9::2 dev 5 metric 1024"},
		}, []string{"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if3 weight 1 nexthop via 2001:db9::3 dev if5 weight 1"}},
		{"IPv6 multipath route left with one hop is a single-path route", []fibStep{
			{"add", "2001:1::/64 metric 1024 nexthop 2001:db8::2@3 nexthop 2001:db9::2@5"},
			{"del", "2001:1::/64 via 2001:db9::2 dev 5 metric 1024"},
		}, []string{"2001:1::/64 via 2001:db8::2 dev if3 metric 1024 pref medium"}},
		{"IPv6 multipath route deleted whole", []fibStep{
			{"add", "2001:1::/64 metric 1024 nexthop 2001:db8::2@3 nexthop 2001:db9::2@5"},
			{"del", "2001:1::/64 metric 1024 nexthop 2001:db8::2@3 nexthop 2001:db9::2@5"},
		}, nil},
		{"IPv6 routes on two links with one metric", []fibStep{
			{"add", "fe80::/64 dev 3 metric 256"},
			{"add", "fe80::/64 dev 5 metric 256"},
			{"del", "fe80::/64 dev 3 metric 256"},
		}, []string{"fe80::/64 dev if5 metric 256 pref medium"}},
		{"routes through nexthop objects are the object's", []fibStep{
			{"add", "10.9.0.0/24 nhid 1 via 10.5.0.2 dev 3"},
			{"replace", "10.9.0.0/24 nhid 1 via 10.6.0.2 dev 5"},
		}, []string{"10.9.0.0/24 nhid 1 via 10.6.0.2 dev if5"}},
	} {
		// Also on a store whose groups all share one chain: the model
		// must see only its group's routes in a walk.
		for _, colliding := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/colliding=%v", tc.name, colliding), func(t *testing.T) {
				f, tab := newFIB(), newRoutes()
				var others []rtnl.Route
				if colliding {
					tab.hash = func(rtnl.RouteKey) uint32 { return 0 }
					for _, o := range []string{"192.0.2.0/24 dev 9", "198.51.100.0/24 dev 9"} {
						others = append(others, route(t, o))
					}
				}
				for _, s := range tc.steps {
					// Routes of other groups at the front of the chain.
					for _, o := range others {
						tab.del(o.Key())
						tab.add(o.Key(), &o, true)
					}
					r := route(t, s.route)
					f.apply(tab, &r, stepFlags[s.op], s.op == "del", func(_, _ *rtnl.Route) {})
					checkIndex(t, f, tab)
				}
				want := tc.want
				if colliding {
					want = append(slices.Clone(want), "192.0.2.0/24 dev if9", "198.51.100.0/24 dev if9")
				}
				if got := f.lines(tab); !sameLines(got, want) || !slices.Equal(withoutDev9(got), tc.want) {
					t.Errorf("table:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
			})
		}
	}
}

// A notification applied twice, as happens to those that queued while the
// table was dumped, changes nothing the second time.
func TestFIBNotificationsApplyOnce(t *testing.T) {
	steps := []fibStep{
		{"add", "10.9.0.0/24 via 10.5.0.2 dev 3"},
		{"append", "10.9.0.0/24 via 10.6.0.2 dev 5"},
		{"prepend", "10.9.0.0/24 dev 5 scope link"},
		{"add", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024"},
		{"append", "2001:1::/64 metric 1024 nexthop 2001:db9::2@5 nexthop 2001:db8::2@3"},
		{"append", "2001:1::/64 dev 3 metric 1024"},
	}
	f, tab := newFIB(), newRoutes()
	for _, s := range steps {
		r := route(t, s.route)
		f.apply(tab, &r, stepFlags[s.op], false, func(_, _ *rtnl.Route) {})
	}
	before := f.lines(tab)
	for _, s := range steps {
		r := route(t, s.route)
		f.apply(tab, &r, stepFlags[s.op], false, func(old, cur *rtnl.Route) { t.Errorf("%s %s again: %v → %v", s.op, s.route, old, cur) })
	}
	if got := f.lines(tab); !slices.Equal(got, before) {
		t.Errorf("table:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(before, "\n  "))
	}
}

func TestFIBFollowsWhatTheKernelDoesSilently(t *testing.T) {
	base := []string{
		"10.0.0.0/24 dev 2 proto 2 scope link src 10.0.0.1",
		"10.0.1.0/24 dev 3 scope link",
		"local 10.0.0.1 dev 2 proto 2 scope host table 255 src 10.0.0.1",
		"10.0.3.0/24 nexthop 10.0.0.9@2 nexthop 10.0.0.8@2",
		"10.0.4.0/24 nexthop 10.0.0.9@2 nexthop 10.0.1.9@3",
		"10.0.5.0/24 via 10.0.1.9 dev 3 src 10.0.0.1",
		"10.0.6.0/24 via 10.0.1.9 dev 3 src 10.0.0.1 table 100",
		"10.0.7.0/24 nhid 7 via 10.0.1.9 dev 3",
		"2001:1::/64 metric 1024 nexthop 2001:db8::2@2 nexthop 2001:db9::2@3",
		"2001:2::/64 via 2001:db9::2 dev 3 metric 1024 src 2001:db9::1 mtu 1500",
		"2001:3::/64 via 2001:db9::2 dev 3 metric 1024 mtu 1300",
	}
	for _, tc := range []struct {
		name string
		do   func(f *fib, tab *routes, fn change)
		want []string
	}{
		{"link down: IPv4 routes on it go but host-scope ones; multipath hops die; IPv6 hops too", func(f *fib, tab *routes, fn change) {
			f.down(tab, 2, linkDown, fn)
		}, []string{
			"10.0.1.0/24 dev if3 scope link",
			"10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 dead linkdown nexthop via 10.0.1.9 dev if3 weight 1",
			"10.0.5.0/24 via 10.0.1.9 dev if3 src 10.0.0.1",
			"10.0.7.0/24 nhid 7 via 10.0.1.9 dev if3",
			"10.0.6.0/24 via 10.0.1.9 dev if3 table 100 src 10.0.0.1",
			"local 10.0.0.1 dev if2 table local proto kernel scope host src 10.0.0.1",
			"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if2 weight 1 dead linkdown nexthop via 2001:db9::2 dev if3 weight 1",
			"2001:2::/64 via 2001:db9::2 dev if3 src 2001:db9::1 metric 1024 mtu 1500 pref medium",
			"2001:3::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1300 pref medium",
		}},
		{"carrier gone from both links, one after the other: only a route whose hops all are on the first is linkdown itself (fib_sync_down_dev counts dead hops, not linkdown ones)", func(f *fib, tab *routes, fn change) {
			f.carrierDown(tab, 2, rtnl.FamilyInet, fn)
			f.carrierDown(tab, 3, rtnl.FamilyInet, fn)
		}, []string{
			"10.0.6.0/24 via 10.0.1.9 dev if3 table 100 src 10.0.0.1 linkdown",
			"10.0.0.0/24 dev if2 proto kernel scope link src 10.0.0.1 linkdown",
			"10.0.1.0/24 dev if3 scope link linkdown",
			"10.0.3.0/24 linkdown nexthop via 10.0.0.9 dev if2 weight 1 linkdown nexthop via 10.0.0.8 dev if2 weight 1 linkdown",
			"10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 linkdown nexthop via 10.0.1.9 dev if3 weight 1 linkdown",
			"10.0.5.0/24 via 10.0.1.9 dev if3 src 10.0.0.1 linkdown",
			"10.0.7.0/24 nhid 7 via 10.0.1.9 dev if3",
			"local 10.0.0.1 dev if2 table local proto kernel scope host src 10.0.0.1",
			"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if2 weight 1 nexthop via 2001:db9::2 dev if3 weight 1",
			"2001:2::/64 via 2001:db9::2 dev if3 src 2001:db9::1 metric 1024 mtu 1500 pref medium",
			"2001:3::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1300 pref medium",
		}},
		{"link gone: every IPv4 route with a hop on it, and its IPv6 hops", func(f *fib, tab *routes, fn change) {
			f.down(tab, 2, linkGone, fn)
		}, []string{
			"10.0.1.0/24 dev if3 scope link",
			"10.0.5.0/24 via 10.0.1.9 dev if3 src 10.0.0.1",
			"10.0.7.0/24 nhid 7 via 10.0.1.9 dev if3",
			"10.0.6.0/24 via 10.0.1.9 dev if3 table 100 src 10.0.0.1",
			"2001:1::/64 via 2001:db9::2 dev if3 metric 1024 pref medium",
			"2001:2::/64 via 2001:db9::2 dev if3 src 2001:db9::1 metric 1024 mtu 1500 pref medium",
			"2001:3::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1300 pref medium",
		}},
		{"last IPv4 address gone: host-scope routes go too, IPv6 stays", func(f *fib, tab *routes, fn change) {
			f.down(tab, 2, lastAddrGone, fn)
		}, []string{
			"10.0.1.0/24 dev if3 scope link",
			"10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 dead linkdown nexthop via 10.0.1.9 dev if3 weight 1",
			"10.0.5.0/24 via 10.0.1.9 dev if3 src 10.0.0.1",
			"10.0.7.0/24 nhid 7 via 10.0.1.9 dev if3",
			"10.0.6.0/24 via 10.0.1.9 dev if3 table 100 src 10.0.0.1",
			"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if2 weight 1 nexthop via 2001:db9::2 dev if3 weight 1",
			"2001:2::/64 via 2001:db9::2 dev if3 src 2001:db9::1 metric 1024 mtu 1500 pref medium",
			"2001:3::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1300 pref medium",
		}},
		{"IPv4 source address gone: the main table's routes from it", func(f *fib, tab *routes, fn change) {
			f.addrGone4(tab, 2, netip.MustParseAddr("10.0.0.1"), fn)
		}, []string{
			"10.0.1.0/24 dev if3 scope link",
			"10.0.3.0/24 nexthop via 10.0.0.9 dev if2 weight 1 nexthop via 10.0.0.8 dev if2 weight 1",
			"10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 nexthop via 10.0.1.9 dev if3 weight 1",
			"10.0.7.0/24 nhid 7 via 10.0.1.9 dev if3",
			"10.0.6.0/24 via 10.0.1.9 dev if3 table 100 src 10.0.0.1",
			"local 10.0.0.1 dev if2 table local proto kernel scope host src 10.0.0.1",
			"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if2 weight 1 nexthop via 2001:db9::2 dev if3 weight 1",
			"2001:2::/64 via 2001:db9::2 dev if3 src 2001:db9::1 metric 1024 mtu 1500 pref medium",
			"2001:3::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1300 pref medium",
		}},
		{"IPv6 source address gone, MTU lowered, nexthop object gone", func(f *fib, tab *routes, fn change) {
			f.addrGone6(tab, 3, netip.MustParseAddr("2001:db9::1"), fn)
			f.mtu6(tab, nil, 3, 1500, 1400, fn)
			f.nexthopGone(tab, 7, fn)
		}, []string{
			"10.0.0.0/24 dev if2 proto kernel scope link src 10.0.0.1",
			"10.0.1.0/24 dev if3 scope link",
			"10.0.3.0/24 nexthop via 10.0.0.9 dev if2 weight 1 nexthop via 10.0.0.8 dev if2 weight 1",
			"10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 nexthop via 10.0.1.9 dev if3 weight 1",
			"10.0.5.0/24 via 10.0.1.9 dev if3 src 10.0.0.1",
			"10.0.6.0/24 via 10.0.1.9 dev if3 table 100 src 10.0.0.1",
			"local 10.0.0.1 dev if2 table local proto kernel scope host src 10.0.0.1",
			"2001:1::/64 metric 1024 pref medium nexthop via 2001:db8::2 dev if2 weight 1 nexthop via 2001:db9::2 dev if3 weight 1",
			"2001:2::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1400 pref medium",
			"2001:3::/64 via 2001:db9::2 dev if3 metric 1024 mtu 1300 pref medium",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, tab := newFIB(), newRoutes()
			for _, s := range base {
				r := route(t, s)
				f.apply(tab, &r, stepFlags["add"], false, func(_, _ *rtnl.Route) {})
			}
			before := tab.Len()
			var added, deleted, changed int
			tc.do(f, tab, func(old, cur *rtnl.Route) {
				switch {
				case old == nil:
					added++
				case cur == nil:
					deleted++
				default:
					changed++
				}
			})
			got := f.lines(tab)
			if !sameLines(got, tc.want) {
				t.Errorf("table:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if before+added-deleted != tab.Len() {
				t.Errorf("%d routes before, %d added, %d deleted, %d after: the changes reported do not add up", before, added, deleted, tab.Len())
			}
		})
	}
}

// checkIndex fails unless tab's groups hold each of its routes once, under
// its own group, and twins (RouteKey.Copy) are numbered 0, 1, … in their
// group's order.
func checkIndex(t *testing.T, f *fib, tab *routes) {
	t.Helper()
	checkStore(t, tab)
	groups := map[rtnl.RouteKey]bool{}
	for k := range tab.all() {
		groups[k.Group()] = true
	}
	for g := range groups {
		copies := map[rtnl.RouteKey]uint8{}
		for _, k := range tab.keys(g, nil) {
			if want := copies[k.WithCopy(0)]; k.Copy() != want {
				t.Fatalf("%v is copy %d, want %d", k, k.Copy(), want)
			}
			copies[k.WithCopy(0)]++
		}
	}
}

func withoutDev9(lines []string) []string {
	return slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.HasSuffix(l, "dev if9") })
}

func sameLines(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A route replaced back and forth on a table of steady size allocates
// nothing, under a new key or the same: the watcher's hot path. (A map of
// routes would allocate a copy of the route per new key: Go keeps map
// values of more than 128 bytes out of line.)
func TestFIBSteadyReplaceAllocatesNothing(t *testing.T) {
	nop := func(_, _ *rtnl.Route) {}
	for _, tc := range []struct {
		name   string
		a, b   string
		allocs float64 // per pair of replaces
	}{
		{"IPv4, another link: another key", "10.9.0.0/24 dev 3 scope link", "10.9.0.0/24 dev 5 scope link", 0},
		{"IPv6, another MTU: the same key", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024", "2001:1::/64 via 2001:db8::2 dev 3 metric 1024 mtu 1400", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, tab := newFIB(), newRoutes()
			a, b := route(t, tc.a), route(t, tc.b)
			f.apply(tab, &a, stepFlags["add"], false, nop)
			allocs := testing.AllocsPerRun(100, func() {
				f.apply(tab, &b, stepFlags["replace"], false, nop)
				f.apply(tab, &a, stepFlags["replace"], false, nop)
			})
			if allocs > tc.allocs {
				t.Errorf("%v allocations per pair of replaces, want at most %v", allocs, tc.allocs)
			}
			if tab.Len() != 1 || len(tab.head) != 1 {
				t.Errorf("%d routes, %d groups", tab.Len(), len(tab.head))
			}
		})
	}
}

// An IPv6 MTU change follows each sibling of a multipath route on its own
// (rt6_mtu_change_route runs per fib6_info) and the routes through nexthop
// objects on the link (nexthop_for_each_fib6_nh), all silently: checked
// against Linux 6.18, `ip link set v0 mtu 1280` under
// `ip -6 route add X mtu 1400 nexthop via A dev v0 nexthop via B dev v4`
// makes it mtu 1280; with the v4 hop first it stays 1400 until that hop is
// deleted, then shows 1280.
func TestFIBMTUChangeFollowsEachSiblingAndNexthopObjects(t *testing.T) {
	nop := func(_, _ *rtnl.Route) {}
	f, tab := newFIB(), newRoutes()
	for _, s := range []string{
		"2001:1::/64 metric 1024 mtu 1400 nexthop 2001:db8::3@2 nexthop 2001:db9::3@3",
		"2001:2::/64 metric 1024 mtu 1400 nexthop 2001:db9::3@3 nexthop 2001:db8::3@2",
		"2001:3::/64 metric 1024 mtu 1400 nhid 7",
		"2001:4::/64 metric 1024 mtu 1400 nhid 8",
	} {
		r := route(t, s)
		f.apply(tab, &r, stepFlags["add"], false, nop)
	}
	nh := nexthops{
		7: {ID: 7, OIF: 2},
		6: {ID: 6, OIF: 3},
		8: {ID: 8, Group: []rtnl.NexthopGroupMember{{ID: 6}, {ID: 7}}},
	}
	f.mtu6(tab, nh, 2, 1500, 1280, nop)
	want := []string{
		"2001:1::/64 metric 1024 mtu 1280 pref medium nexthop via 2001:db8::3 dev if2 weight 1 nexthop via 2001:db9::3 dev if3 weight 1",
		"2001:2::/64 metric 1024 mtu 1400 pref medium nexthop via 2001:db9::3 dev if3 weight 1 nexthop via 2001:db8::3 dev if2 weight 1",
		"2001:3::/64 nhid 7 metric 1024 mtu 1280 pref medium",
		"2001:4::/64 nhid 8 metric 1024 mtu 1280 pref medium",
	}
	if got := f.lines(tab); !sameLines(got, want) {
		t.Errorf("after the MTU change:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// The v3 hop of 2001:2::/64 leaves: the v2 sibling's mtu shows.
	del := route(t, "2001:2::/64 via 2001:db9::3 dev 3 metric 1024 mtu 1400")
	f.apply(tab, &del, stepFlags["del"], true, nop)
	want[1] = "2001:2::/64 via 2001:db8::3 dev if2 metric 1024 mtu 1280 pref medium"
	if got := f.lines(tab); !sameLines(got, want) {
		t.Errorf("after the first sibling left:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// An IPv4 address that goes leaves the routes that have it as preferred
// source while a local route of the local table still covers it
// (fib_del_ifaddr asks inet_addr_type_dev_table): checked against Linux
// 6.18, `ip route add local default dev v4` keeps `198.18.1.0/24 dev v2
// src 203.0.113.1` through `ip addr del 203.0.113.1/24 dev v4`; a more
// specific broadcast route, or a local route in another table, does not.
func TestFIBAddrGone4KeepsSourcesALocalRouteCovers(t *testing.T) {
	nop := func(_, _ *rtnl.Route) {}
	for _, tc := range []struct {
		name  string
		extra []string
		kept  bool
	}{
		{"no other local route", nil, false},
		{"local default in the local table", []string{"local 0.0.0.0/0 dev 5 scope host table 255"}, true},
		{"local 10.0.0.0/8 on another link", []string{"local 10.0.0.0/8 dev 3 scope host table 255"}, true},
		{"a local route in another table", []string{"local 0.0.0.0/0 dev 5 scope host table 100"}, false},
		{"a more specific broadcast route", []string{"local 0.0.0.0/0 dev 5 scope host table 255", "broadcast 10.0.0.0/24 dev 2 scope link table 255"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, tab := newFIB(), newRoutes()
			for _, s := range append([]string{
				"local 10.0.0.1 dev 2 proto 2 scope host table 255 src 10.0.0.1", // the address's own: its deletion comes after
				"10.0.5.0/24 dev 3 scope link src 10.0.0.1",
			}, tc.extra...) {
				r := route(t, s)
				f.apply(tab, &r, stepFlags["add"], false, nop)
			}
			f.addrGone4(tab, 2, netip.MustParseAddr("10.0.0.1"), nop)
			kept := slices.Contains(f.lines(tab), "10.0.5.0/24 dev if3 scope link src 10.0.0.1")
			if kept != tc.kept {
				t.Errorf("route with the source kept: %v, want %v:\n  %s", kept, tc.kept, strings.Join(f.lines(tab), "\n  "))
			}
		})
	}
}

// The routes an IPv4 address makes are notified before fib_inetaddr_event
// runs fib_sync_up(dev, RTNH_F_DEAD): made linkdown while the carrier bit
// is off but the link is still operationally up (linkwatch not run yet),
// they are cleared at once, as every other route on the link.
func TestFIBAddrRouteTakesTheAddressesSyncUp(t *testing.T) {
	const both = rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown
	for _, tc := range []struct {
		route    string // notified linkdown
		flags    uint32 // the flags fib_sync_up clears
		ours     bool
		linkdown bool // after
	}{
		{"192.0.2.128/25 dev 3 proto 2 scope link src 192.0.2.129", both, true, false},
		{"broadcast 192.0.2.255 dev 3 proto 2 scope link table 255 src 192.0.2.129", both, true, false},
		// no carrier by the link's last message: fib_sync_up keeps linkdown
		{"192.0.2.128/25 dev 3 proto 2 scope link src 192.0.2.129", rtnl.RouteFlagDead, true, true},
		// not the address's: another link, another protocol, a multipath route
		{"192.0.2.128/25 dev 5 proto 2 scope link src 192.0.2.129", both, false, true},
		{"192.0.2.128/25 dev 3 scope link", both, false, true},
		{"2001:db8:1::/64 dev 3 proto 2", both, false, true},
		{"198.18.1.0/24 proto 2 nexthop 192.0.2.2@3 nexthop 192.0.2.3@3", both, false, true},
	} {
		r := route(t, tc.route)
		r.Flags |= rtnl.RouteFlagLinkDown
		ours := addrRoute(&r, 3, tc.flags)
		if ours != tc.ours || (r.Flags&rtnl.RouteFlagLinkDown != 0) != tc.linkdown {
			t.Errorf("%s (clearing %#x): the address's %v, linkdown %v; want %v, %v", tc.route, tc.flags, ours, r.Flags&rtnl.RouteFlagLinkDown != 0, tc.ours, tc.linkdown)
		}
	}
}

// fib_sync_down_dev counts a hop that is dead already and leaves its flags
// alone: a hop the last address's going killed, whose linkdown the
// carrier's coming back cleared, is dead only when its link goes down.
func TestFIBLinkDownLeavesADeadHopsFlags(t *testing.T) {
	nop := func(_, _ *rtnl.Route) {}
	for _, tc := range []struct {
		hop  uint8 // the flags of the hop on link 2 before
		want string
	}{
		{uint8(rtnl.RouteFlagDead), "10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 dead nexthop via 10.0.1.9 dev if3 weight 1"},
		{0, "10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 dead linkdown nexthop via 10.0.1.9 dev if3 weight 1"},
		{uint8(rtnl.RouteFlagLinkDown), "10.0.4.0/24 nexthop via 10.0.0.9 dev if2 weight 1 dead linkdown nexthop via 10.0.1.9 dev if3 weight 1"},
	} {
		f, tab := newFIB(), newRoutes()
		r := route(t, "10.0.4.0/24 nexthop 10.0.0.9@2 nexthop 10.0.1.9@3")
		r.Multipath[0].Flags = tc.hop
		f.apply(tab, &r, stepFlags["add"], false, nop)
		f.down(tab, 2, linkDown, nop)
		if got := f.lines(tab); len(got) != 1 || got[0] != tc.want {
			t.Errorf("hop flags %#x, link 2 down: %q, want %q", tc.hop, got, tc.want)
		}
	}
}

// metricsOf returns *m, or no metrics for nil.
func metricsOf(m *rtnl.Metrics) rtnl.Metrics {
	if m == nil {
		return rtnl.Metrics{}
	}
	return *m
}
