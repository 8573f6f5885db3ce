//go:build linux

package rtnl_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// addrLine is the comparable form of an address: the fields a request can
// set, in ip's notation.
func addrLine(a *rtnl.Address) string {
	return fmt.Sprintf("%s/%d peer=%s brd=%s label=%s scope=%s metric=%d nodad=%v home=%v mngtmpaddr=%v optimistic=%v noprefixroute=%v",
		a.Prefix.Addr(), a.Prefix.Bits(), addrStr(a.Peer), addrStr(a.Broadcast), a.Label, a.Scope, a.RoutePriority,
		a.Flags&rtnl.AddrNoDAD != 0, a.Flags&rtnl.AddrHomeAddress != 0, a.Flags&rtnl.AddrManageTempAddr != 0,
		a.Flags&rtnl.AddrOptimistic != 0, a.Flags&rtnl.AddrNoPrefixRoute != 0)
}

// ipAddrLine is addrLine for one entry of ip -j addr show's addr_info.
func ipAddrLine(j map[string]any) string {
	flag := func(k string) bool { return j[k] == true }
	return fmt.Sprintf("%s/%s peer=%s brd=%s label=%s scope=%s metric=%s nodad=%v home=%v mngtmpaddr=%v optimistic=%v noprefixroute=%v",
		str(j["local"]), str(j["prefixlen"]), str(j["address"]), str(j["broadcast"]), str(j["label"]), str(j["scope"]),
		or(str(j["metric"]), "0"), flag("nodad"), flag("home"), flag("mngtmpaddr"), flag("optimistic"), flag("noprefixroute"))
}

// ipAddrs returns ip -j addr show dev's entries, by local address.
func ipAddrs(t *testing.T, ns *nstest.NS, dev string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, l := range ipJSON(t, ns, "addr", "show", "dev", dev) {
		for _, ai := range l["addr_info"].([]any) {
			j := ai.(map[string]any)
			out[str(j["local"])] = j
		}
	}
	return out
}

func TestAddressOptionsMatchIPAddr(t *testing.T) {
	ns := nstest.New(t)
	// a0 is up without a carrier (its peer a1 stays down), so IPv6
	// duplicate address detection never starts and the tentative and
	// optimistic states stay as the request left them.
	ns.IP("link", "add", "a0", "type", "veth", "peer", "name", "a1")
	ns.IP("link", "set", "a0", "addrgenmode", "none")
	if out, err := ns.Cmd("sysctl", "-qw", "net.ipv6.conf.a0.optimistic_dad=1").CombinedOutput(); err != nil {
		t.Fatalf("enable optimistic DAD: %v: %s", err, out)
	}
	ns.IP("link", "set", "a0", "up")
	c := ns.Dial()
	ctx := testCtx(t)
	a0, err := rtnl.LinkIndex(ctx, c, "a0")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		a    rtnl.Address
		// route is the prefix route the address should add ("" for none),
		// with its metric.
		route       string
		routeMetric uint32
	}{
		{name: "ipv4 with broadcast and label",
			a:     rtnl.Address{Prefix: pfx("10.1.0.1/24"), Broadcast: addr("10.1.0.255"), Label: rtnl.MakeName("a0:web")},
			route: "10.1.0.0/24"},
		{name: "ipv4 point-to-point peer",
			a:     rtnl.Address{Prefix: pfx("10.2.0.1/32"), Peer: addr("10.2.0.2")},
			route: "10.2.0.2"},
		{name: "ipv4 peer with a prefix",
			a:     rtnl.Address{Prefix: pfx("10.2.1.1/30"), Peer: addr("10.2.1.2")},
			route: "10.2.1.0/30"},
		{name: "ipv4 link scope",
			a:     rtnl.Address{Prefix: pfx("10.3.0.1/24"), Scope: rtnl.ScopeLink},
			route: "10.3.0.0/24"},
		{name: "ipv4 host scope",
			a: rtnl.Address{Prefix: pfx("10.4.0.1/24"), Scope: rtnl.ScopeHost}},
		{name: "ipv4 metric",
			a:     rtnl.Address{Prefix: pfx("10.5.0.1/24"), RoutePriority: 300},
			route: "10.5.0.0/24", routeMetric: 300},
		{name: "ipv4 without prefix route",
			a: rtnl.Address{Prefix: pfx("10.6.0.1/24"), Flags: rtnl.AddrNoPrefixRoute}},
		{name: "ipv6 nodad",
			a:     rtnl.Address{Prefix: pfx("2001:db8:1::1/64"), Flags: rtnl.AddrNoDAD},
			route: "2001:db8:1::/64", routeMetric: 256},
		{name: "ipv6 home address with managed temporary addresses",
			a:     rtnl.Address{Prefix: pfx("2001:db8:2::1/64"), Flags: rtnl.AddrHomeAddress | rtnl.AddrManageTempAddr},
			route: "2001:db8:2::/64", routeMetric: 256},
		{name: "ipv6 optimistic",
			a:     rtnl.Address{Prefix: pfx("2001:db8:3::1/64"), Flags: rtnl.AddrOptimistic},
			route: "2001:db8:3::/64", routeMetric: 256},
		{name: "ipv6 noprefixroute with a metric",
			a: rtnl.Address{Prefix: pfx("2001:db8:4::1/64"), Flags: rtnl.AddrNoPrefixRoute | rtnl.AddrNoDAD, RoutePriority: 50}},
		{name: "ipv6 metric and link scope",
			a:     rtnl.Address{Prefix: pfx("fe80::99/64"), Scope: rtnl.ScopeLink, Flags: rtnl.AddrNoDAD, RoutePriority: 70},
			route: "fe80::/64", routeMetric: 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.Index = a0
			if err := rtnl.AddAddress(ctx, c, a); err != nil {
				t.Fatal(err)
			}
			local := a.Prefix.Addr().String()
			j := ipAddrs(t, ns, "a0")[local]
			if j == nil {
				t.Fatalf("ip does not show %s", local)
			}
			// What was asked, what ip shows, and what the library
			// reads back must agree.
			want := a
			if want.Label.IsZero() && a.Prefix.Addr().Is4() {
				want.Label = rtnl.MakeName("a0")
			}
			if want.Scope == 0 {
				want.Scope = rtnl.ScopeUniverse
			}
			if got := ipAddrLine(j); got != addrLine(&want) {
				t.Errorf("ip shows\n  %s\nwant\n  %s", got, addrLine(&want))
			}
			lib, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{Index: a0})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for i := range lib {
				if lib[i].Prefix == a.Prefix {
					found = true
					if got := addrLine(&lib[i]); got != ipAddrLine(j) {
						t.Errorf("library reads\n  %s\nip shows\n  %s", got, ipAddrLine(j))
					}
				}
			}
			if !found {
				t.Errorf("ListAddresses(a0) lacks %v", a.Prefix)
			}
			// The prefix route, with the address's metric.
			var routes []map[string]any
			for _, r := range ipJSON(t, ns, "route", "show", "table", "all", "dev", "a0") {
				if r["type"] == nil && tc.route != "" && str(r["dst"]) == tc.route {
					routes = append(routes, r)
				}
			}
			if tc.route != "" && (len(routes) != 1 || or(str(routes[0]["metric"]), "0") != fmt.Sprint(tc.routeMetric)) {
				t.Errorf("prefix route %s with metric %d: ip shows %v", tc.route, tc.routeMetric, routes)
			}
			if err := rtnl.AddAddress(ctx, c, a); !errors.Is(err, unix.EEXIST) {
				t.Errorf("adding it again: %v, want EEXIST", err)
			}
			if err := rtnl.DeleteAddress(ctx, c, a); err != nil {
				t.Fatal(err)
			}
			if ipAddrs(t, ns, "a0")[local] != nil {
				t.Errorf("%s still there after DeleteAddress", local)
			}
		})
	}
}

func TestReplaceAddressUpdatesInPlace(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	a := rtnl.Address{Prefix: pfx("10.7.0.1/24"), Index: v0, RoutePriority: 10, PreferredLifetime: 100, ValidLifetime: 200}
	// Replace creates an address that is missing.
	if err := rtnl.ReplaceAddress(ctx, c, a); err != nil {
		t.Fatal(err)
	}
	a.RoutePriority, a.PreferredLifetime, a.ValidLifetime = 20, 0, 0
	if err := rtnl.ReplaceAddress(ctx, c, a); err != nil {
		t.Fatal(err)
	}
	j := ipAddrs(t, ns, "v0")["10.7.0.1"]
	if str(j["metric"]) != "20" || str(j["valid_life_time"]) != fmt.Sprint(rtnl.LifetimeForever) {
		t.Errorf("after replace ip shows %v; want metric 20 and no expiry", j)
	}
	routes := ipJSON(t, ns, "route", "show", "10.7.0.0/24")
	if len(routes) != 1 || str(routes[0]["metric"]) != "20" {
		t.Errorf("prefix route after replace: %v, want one with metric 20", routes)
	}
	if n := len(ipAddrs(t, ns, "v0")); n != 1 {
		t.Errorf("%d addresses on v0, want 1", n)
	}
}
