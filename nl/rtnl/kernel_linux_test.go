//go:build linux

package rtnl_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// testCtx bounds every kernel exchange of a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ipJSON runs ip -j with args in the namespace and decodes its output.
func ipJSON(t *testing.T, ns *nstest.NS, args ...string) []map[string]any {
	t.Helper()
	out := ns.IP(append([]string{"-j"}, args...)...)
	var v []map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("ip -j %s: %v", strings.Join(args, " "), err)
	}
	return v
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprint(uint64(v))
	case bool:
		return fmt.Sprint(v)
	}
	return fmt.Sprint(v)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// linkNames maps interface indexes to names, from the library.
func linkNames(t *testing.T, ctx context.Context, c *nl.Conn) map[uint32]string {
	t.Helper()
	links, err := rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint32]string{}
	for _, l := range links {
		names[l.Index] = l.Name.String()
	}
	return names
}

// routeLine is the comparable form of a route used to check dumps against
// ip: the fields both show, in the same notation.
func routeLine(r *rtnl.Route, names map[uint32]string) string {
	var hops []string
	for _, h := range r.Multipath {
		hops = append(hops, fmt.Sprintf("%s@%s*%d", addrStr(h.Gateway), names[h.OIF], h.Weight))
	}
	pref := ""
	if r.Family == rtnl.FamilyInet6 {
		pref = r.Pref.String()
	}
	return fmt.Sprintf("table=%s type=%s dst=%s proto=%s scope=%s metric=%d gw=%s dev=%s src=%s pref=%s mtu=%d nh=%v",
		rtnl.TableName(r.Table), r.Type, r.Dst, r.Protocol, r.Scope, r.Priority, addrStr(r.Gateway), names[r.OIF],
		addrStr(r.PrefSrc), pref, metricsOf(r.Metrics).MTU, hops)
}

func addrStr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// ipRouteLine is routeLine for a route as `ip -j route` prints it.
func ipRouteLine(t *testing.T, j map[string]any, fam rtnl.Family) string {
	dst := str(j["dst"])
	switch {
	case dst == "default" && fam == rtnl.FamilyInet:
		dst = "0.0.0.0/0"
	case dst == "default":
		dst = "::/0"
	case !strings.Contains(dst, "/") && fam == rtnl.FamilyInet:
		dst += "/32"
	case !strings.Contains(dst, "/"):
		dst += "/128"
	}
	gw := str(j["gateway"])
	if via, ok := j["via"].(map[string]any); ok {
		gw = str(via["host"])
	}
	var hops []string
	if nhs, ok := j["nexthops"].([]any); ok {
		for _, nh := range nhs {
			nh := nh.(map[string]any)
			g := str(nh["gateway"])
			if via, ok := nh["via"].(map[string]any); ok {
				g = str(via["host"])
			}
			hops = append(hops, fmt.Sprintf("%s@%s*%s", g, str(nh["dev"]), or(str(nh["weight"]), "1")))
		}
	}
	mtu := "0"
	if ms, ok := j["metrics"].([]any); ok {
		for _, m := range ms {
			if v, ok := m.(map[string]any)["mtu"]; ok {
				mtu = str(v)
			}
		}
	}
	return fmt.Sprintf("table=%s type=%s dst=%s proto=%s scope=%s metric=%s gw=%s dev=%s src=%s pref=%s mtu=%s nh=%v",
		or(str(j["table"]), "main"), or(str(j["type"]), "unicast"), dst, or(str(j["protocol"]), "boot"),
		or(str(j["scope"]), "global"), or(str(j["metric"]), "0"), gw, str(j["dev"]), str(j["prefsrc"]),
		str(j["pref"]), mtu, hops)
}

// quietVeth adds a veth pair a–b without IPv6 link-local addresses
// (addrgenmode none) and sets both ends up. Link-local addresses, and the
// local routes that follow their DAD, appear asynchronously after the
// carrier comes up, and could slip in between a dump and ip's.
func quietVeth(t *testing.T, ns *nstest.NS, a, b string) {
	t.Helper()
	ns.IP("link", "add", a, "type", "veth", "peer", "name", b)
	for _, l := range []string{a, b} {
		ns.IP("link", "set", l, "addrgenmode", "none")
	}
	for _, l := range []string{a, b} {
		ns.IP("link", "set", l, "up")
	}
	settleLinks(t, ns)
}

// settleLinks waits until the operational state of every link agrees with
// its flags: the kernel updates it asynchronously (linkwatch) after a link
// or its carrier changes. It wakes on link notifications, and fails the
// test after 10 seconds.
func settleLinks(t *testing.T, ns *nstest.NS) {
	t.Helper()
	ctx := testCtx(t)
	ev := ns.Dial(nl.WithGroups(rtnl.GroupLink))
	req := ns.Dial()
	if err := ev.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for {
		links, err := rtnl.ListLinks(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var unsettled []string
		for _, l := range links {
			up, lower := l.Flags&rtnl.LinkUp != 0, l.Flags&rtnl.LinkLowerUp != 0
			carrierUp := l.OperState == rtnl.OperUp || l.OperState == rtnl.OperUnknown
			if up && lower != carrierUp || !up && l.OperState == rtnl.OperUp {
				unsettled = append(unsettled, fmt.Sprintf("%s (flags %#x, %v)", l.Name, l.Flags, l.OperState))
			}
		}
		if len(unsettled) == 0 {
			return
		}
		if _, err := ev.Receive(); err != nil {
			t.Fatalf("links did not settle: %v: %v", unsettled, err)
		}
	}
}

// bigTable fills ns with a little over 10,000 routes of many shapes: IPv4
// and IPv6, device and gateway routes, several tables and types, multipath
// (both families), an IPv4 route through an IPv6 gateway, metrics,
// preferred sources and preferences. It returns the number of lines added.
func bigTable(t *testing.T, ns *nstest.NS) int {
	quietVeth(t, ns, "v0", "v1")
	for _, a := range [][]string{
		{"10.0.0.1/24", "v0"}, {"10.0.1.1/24", "v1"}, {"2001:db8::1/64", "v0"}, {"2001:db8:1::1/64", "v1"},
	} {
		ns.IP("addr", "add", a[0], "dev", a[1], "nodad")
	}
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	for i := range 5000 {
		add("route add 10.100.%d.%d/32 dev v0", i>>8, i&0xff)
	}
	for i := range 1000 {
		add("route add 172.16.%d.%d/30 via 10.0.0.2 proto static metric %d", i>>6, i&63*4, i%7)
	}
	for i := range 600 {
		add("route add %s 192.168.%d.%d/32 table %d", []string{"blackhole", "unreachable", "prohibit"}[i%3], i>>8, i&0xff, 1000+i%4)
	}
	for i := range 300 {
		add("route add 172.%d.%d.0/24 nexthop via 10.0.0.2 dev v0 weight %d nexthop via 10.0.1.2 dev v1", 20+i>>8, i&0xff, 1+i%3)
	}
	for i := range 2500 {
		add("route add 2001:db8:100::%x/128 dev v0 metric %d", i, 1+i%3)
	}
	for i := range 500 {
		add("route add 2001:db8:200:%x::/64 via 2001:db8::2 proto dhcp pref %s", i, []string{"low", "medium", "high"}[i%3])
	}
	for i := range 300 {
		add("route add 2001:db8:300:%x::/64 nexthop via 2001:db8::2 dev v0 nexthop via 2001:db8:1::2 dev v1 weight 3", i)
	}
	for i := range 20 {
		add("route add 10.50.%d.0/24 via inet6 2001:db8::2 dev v0", i)
		add("route add 10.51.%d.0/24 dev v1 src 10.0.1.1 mtu lock 1400 table 77", i)
		add("route add 2001:db8:400:%x::/64 dev v1 mtu 1300 table 77", i)
	}
	ns.Batch(lines)
	return len(lines)
}

func TestRouteDumpMatchesIPRoute(t *testing.T) {
	ns := nstest.New(t)
	added := bigTable(t, ns)
	c := ns.Dial()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)

	all, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < added {
		t.Fatalf("dumped %d routes, fewer than the %d added", len(all), added)
	}
	multipath := map[rtnl.Family]int{}
	for fi, fam := range []rtnl.Family{rtnl.FamilyInet, rtnl.FamilyInet6} {
		got := map[string]int{}
		for i := range all {
			if all[i].Family == fam {
				got[routeLine(&all[i], names)]++
				if len(all[i].Multipath) > 0 {
					multipath[fam]++
				}
			}
		}
		want := map[string]int{}
		for _, j := range ipJSON(t, ns, []string{"-4", "-6"}[fi], "route", "show", "table", "all") {
			want[ipRouteLine(t, j, fam)]++
		}
		compareSets(t, fam.String()+" routes", got, want)
	}
	if multipath[rtnl.FamilyInet] != 300 || multipath[rtnl.FamilyInet6] != 300 {
		t.Errorf("multipath routes: %v, want 300 of each family", multipath)
	}

	// Family and table filters, applied by the kernel, agree with the full dump.
	for _, f := range []rtnl.RouteFilter{
		{Family: rtnl.FamilyInet},
		{Family: rtnl.FamilyInet6, Table: rtnl.TableLocal},
		{Table: 77},
		{Family: rtnl.FamilyInet, Table: 1001},
		{Family: rtnl.FamilyInet, Protocol: rtnl.ProtoStatic},
		{Family: rtnl.FamilyInet6, Type: rtnl.RouteMulticast},
		{OIF: nameIndex(names, "v1")},
	} {
		got, err := rtnl.ListRoutes(ctx, c, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		want := 0
		for i := range all {
			if f.Match(&all[i]) {
				want++
			}
		}
		if len(got) != want || want == 0 {
			t.Errorf("filter %+v: %d routes, want %d (and more than 0)", f, len(got), want)
		}
	}
}

func nameIndex(names map[uint32]string, name string) uint32 {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return 0
}

func compareSets(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	var missing, extra []string
	n := 0
	for k, v := range want {
		n += v
		if got[k] != v {
			missing = append(missing, fmt.Sprintf("%s (ip %d, rtnl %d)", k, v, got[k]))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, fmt.Sprintf("%s (rtnl %d)", k, v))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("%s differ from ip (%d entries): %d missing or miscounted, %d extra\nmissing: %s\nextra: %s",
			what, n, len(missing), len(extra), strings.Join(first(missing, 10), "\n  "), strings.Join(first(extra, 10), "\n  "))
	}
	t.Logf("%s: %d entries, all equal to ip's", what, n)
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

func TestRouteAddReplaceDeleteRoundTrip(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "10.0.0.1/24", "dev", "v0")
	ns.IP("addr", "add", "10.0.1.1/24", "dev", "v1")
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
	ns.IP("addr", "add", "2001:db8:1::1/64", "dev", "v1", "nodad")
	c := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := rtnl.LinkByName(ctx, c, "v1")
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		add, rep rtnl.Route
	}{
		{"ipv4 gateway route in table 100",
			rtnl.Route{Dst: pfx("10.9.0.0/24"), Gateway: addr("10.0.0.2"), Table: 100, Protocol: rtnl.ProtoStatic, Priority: 10, PrefSrc: addr("10.0.0.1")},
			rtnl.Route{Dst: pfx("10.9.0.0/24"), Gateway: addr("10.0.1.2"), Table: 100, Protocol: rtnl.ProtoStatic, Priority: 10}},
		{"ipv4 device route with link scope and metrics",
			rtnl.Route{Dst: pfx("10.9.1.0/24"), OIF: v0.Index, Scope: rtnl.ScopeLink, Table: rtnl.TableMain, Metrics: &rtnl.Metrics{MTU: 1400, AdvMSS: 1360}},
			rtnl.Route{Dst: pfx("10.9.1.0/24"), OIF: v1.Index, Scope: rtnl.ScopeLink, Table: rtnl.TableMain}},
		{"ipv4 multipath route",
			rtnl.Route{Dst: pfx("10.9.2.0/24"), Table: 200, Multipath: []rtnl.NextHop{{Gateway: addr("10.0.0.2"), OIF: v0.Index, Weight: 3}, {Gateway: addr("10.0.1.2"), OIF: v1.Index, Weight: 1}}},
			rtnl.Route{Dst: pfx("10.9.2.0/24"), Table: 200, Type: rtnl.RouteBlackhole}},
		{"ipv4 local route",
			rtnl.Route{Dst: pfx("10.9.3.1/32"), Type: rtnl.RouteLocal, OIF: v0.Index, Table: rtnl.TableLocal},
			rtnl.Route{Dst: pfx("10.9.3.1/32"), Type: rtnl.RouteLocal, OIF: v1.Index, Table: rtnl.TableLocal}},
		{"ipv4 route through an ipv6 gateway",
			rtnl.Route{Dst: pfx("10.9.4.0/24"), Gateway: addr("2001:db8::2"), OIF: v0.Index},
			rtnl.Route{Dst: pfx("10.9.4.0/24"), Gateway: addr("10.0.0.9"), OIF: v0.Index}},
		{"ipv6 gateway route in a table above 255",
			rtnl.Route{Dst: pfx("2001:db8:9::/64"), Gateway: addr("2001:db8::2"), Table: 100000, Priority: 5, Pref: rtnl.PrefHigh, Protocol: rtnl.ProtoBGP},
			rtnl.Route{Dst: pfx("2001:db8:9::/64"), Gateway: addr("2001:db8::3"), Table: 100000, Priority: 5, Pref: rtnl.PrefLow, Protocol: rtnl.ProtoBGP}},
		{"ipv6 multipath route",
			rtnl.Route{Dst: pfx("2001:db8:a::/64"), Priority: 1024, Multipath: []rtnl.NextHop{{Gateway: addr("2001:db8::2"), OIF: v0.Index, Weight: 1}, {Gateway: addr("2001:db8:1::2"), OIF: v1.Index, Weight: 4}}},
			rtnl.Route{Dst: pfx("2001:db8:a::/64"), Priority: 1024, Gateway: addr("2001:db8::7"), OIF: v0.Index}},
		{"ipv6 unreachable route",
			rtnl.Route{Dst: pfx("2001:db8:b::/48"), Type: rtnl.RouteUnreachable, Table: 300, Priority: 1},
			rtnl.Route{Dst: pfx("2001:db8:b::/48"), Type: rtnl.RouteProhibit, Table: 300, Priority: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := rtnl.AddRoute(ctx, c, tc.add); err != nil {
				t.Fatal(err)
			}
			got := findRoute(t, ctx, c, tc.add)
			checkRoute(t, got, tc.add)
			if err := rtnl.AddRoute(ctx, c, tc.add); !errors.Is(err, unix.EEXIST) {
				t.Errorf("adding it again: %v, want EEXIST", err)
			}
			if err := rtnl.ReplaceRoute(ctx, c, tc.rep); err != nil {
				t.Fatal(err)
			}
			rep := findRoute(t, ctx, c, tc.rep)
			checkRoute(t, rep, tc.rep)
			if rep.Key().Dst() != got.Key().Dst() || rep.Key().Table() != got.Key().Table() {
				t.Errorf("replace changed the key: %+v → %+v", got.Key(), rep.Key())
			}
			// Delete the route as the dump reported it.
			if err := rtnl.DeleteRoute(ctx, c, rep); err != nil {
				t.Fatal(err)
			}
			if n := countRoutes(t, ctx, c, tc.add); n != 0 {
				t.Errorf("%d routes left after delete", n)
			}
			if err := rtnl.DeleteRoute(ctx, c, tc.rep); !errors.Is(err, unix.ESRCH) {
				t.Errorf("deleting it again: %v, want ESRCH", err)
			}
		})
	}
}

// findRoute dumps the table of want and returns the one route to want.Dst.
func findRoute(t *testing.T, ctx context.Context, c *nl.Conn, want rtnl.Route) rtnl.Route {
	t.Helper()
	var found []rtnl.Route
	err := rtnl.ForEachRoute(ctx, c, filterFor(want), func(r *rtnl.Route) error {
		if r.Dst == want.Dst {
			found = append(found, *r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("%d routes to %v, want 1: %v", len(found), want.Dst, found)
	}
	return found[0]
}

func filterFor(r rtnl.Route) rtnl.RouteFilter {
	table := r.Table
	if table == 0 {
		table = rtnl.TableMain
	}
	return rtnl.RouteFilter{Family: rtnl.Family(map[bool]uint8{true: 2, false: 10}[r.Dst.Addr().Is4()]), Table: table}
}

func countRoutes(t *testing.T, ctx context.Context, c *nl.Conn, want rtnl.Route) int {
	t.Helper()
	rs, err := rtnl.ListRoutes(ctx, c, filterFor(want))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		if r.Dst == want.Dst {
			n++
		}
	}
	return n
}

// checkRoute compares the fields a request set with the kernel's route.
func checkRoute(t *testing.T, got, want rtnl.Route) {
	t.Helper()
	table := want.Table
	if table == 0 {
		table = rtnl.TableMain
	}
	typ := want.Type
	if typ == 0 {
		typ = rtnl.RouteUnicast
	}
	var bad []string
	check := func(what string, g, w any, set bool) {
		if set && g != w {
			bad = append(bad, fmt.Sprintf("%s %v, want %v", what, g, w))
		}
	}
	check("table", got.Table, table, true)
	check("type", got.Type, typ, true)
	check("gateway", got.Gateway, want.Gateway, true)
	check("oif", got.OIF, want.OIF, want.OIF != 0)
	check("protocol", got.Protocol, want.Protocol, want.Protocol != 0)
	check("priority", got.Priority, want.Priority, want.Priority != 0)
	check("prefsrc", got.PrefSrc, want.PrefSrc, true)
	check("scope", got.Scope, want.Scope, want.Scope != 0)
	check("pref", got.Pref, want.Pref, want.Pref != 0)
	check("metrics", metricsOf(got.Metrics), metricsOf(want.Metrics), true)
	if !slices.Equal(got.Multipath, want.Multipath) {
		bad = append(bad, fmt.Sprintf("next hops %v, want %v", got.Multipath, want.Multipath))
	}
	if len(bad) > 0 {
		t.Errorf("route %v: %s", want.Dst, strings.Join(bad, "; "))
	}
}

func TestKernelErrorsCarryErrnoAndExtAck(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)

	// The kernel (6.18) says ENODEV without text for a plain device route,
	// and with text for an on-link gateway route.
	err := rtnl.AddRoute(ctx, c, rtnl.Route{Dst: pfx("10.8.0.0/24"), OIF: 999})
	var ne *nl.Error
	if !errors.Is(err, unix.ENODEV) || !errors.As(err, &ne) || ne.Errno != unix.ENODEV {
		t.Fatalf("route via a missing device: %v; want an *nl.Error with ENODEV", err)
	}
	err = rtnl.AddRoute(ctx, c, rtnl.Route{Dst: pfx("10.8.0.0/24"), OIF: 999, Gateway: addr("10.0.0.2"), Flags: rtnl.RouteFlagOnlink})
	if !errors.Is(err, unix.ENODEV) || !errors.As(err, &ne) || ne.Message == "" {
		t.Fatalf("on-link route via a missing device: %v; want ENODEV with an extended-ACK message", err)
	}
	t.Logf("missing device: %v", err)

	err = rtnl.AddRoute(ctx, c, rtnl.Route{Dst: pfx("10.8.1.0/24"), Gateway: addr("10.77.0.1")})
	if !errors.As(err, &ne) || ne.Message == "" {
		t.Errorf("unreachable gateway: %v; want an *nl.Error with a message", err)
	}
	if _, err := rtnl.LinkByName(ctx, c, "nosuchlink"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("LinkByName of a missing link: %v, want ENODEV", err)
	}
	if _, err := rtnl.LinkByIndex(ctx, c, 4242); !errors.Is(err, unix.ENODEV) {
		t.Errorf("LinkByIndex of a missing link: %v, want ENODEV", err)
	}
	if _, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: 4242}); !errors.Is(err, unix.ENOENT) {
		t.Errorf("dump of a missing IPv4 table: %v, want ENOENT", err)
	}
	if _, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{OIF: 999}); !errors.Is(err, unix.ENODEV) {
		t.Errorf("dump filtered on a missing device: %v, want ENODEV", err)
	}
	if err := rtnl.DeleteAddress(ctx, c, rtnl.Address{Prefix: pfx("10.8.2.1/24"), Index: 1}); !errors.Is(err, unix.EADDRNOTAVAIL) {
		t.Errorf("delete of a missing address: %v, want EADDRNOTAVAIL", err)
	}
	// The socket is still usable after all these errors.
	if _, err := rtnl.ListLinks(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func TestBatchedRoutes(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	// A small receive buffer makes for many small batches.
	c := ns.Dial(nl.WithReadBuffer(64 << 10))
	ctx := testCtx(t)
	v0, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	routes := make([]rtnl.Route, 3000)
	for i := range routes {
		routes[i] = rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)}), 32),
			OIF: v0.Index, Scope: rtnl.ScopeLink, Table: 50, Protocol: rtnl.ProtoStatic}
	}
	if err := rtnl.AddRoutes(ctx, c, routes); err != nil {
		t.Fatal(err)
	}
	got, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(routes) {
		t.Fatalf("%d routes in table 50, want %d", len(got), len(routes))
	}

	// A batch with duplicates reports each failure with its index.
	dup := []rtnl.Route{routes[5], {Dst: pfx("10.201.0.0/24"), OIF: v0.Index, Table: 50}, routes[7]}
	err = rtnl.AddRoutes(ctx, c, dup)
	var re *rtnl.RouteError
	if !errors.Is(err, unix.EEXIST) || !errors.As(err, &re) || re.Index != 0 {
		t.Fatalf("batch with duplicates: %v; want EEXIST for route 0 and 2", err)
	}
	if !strings.Contains(err.Error(), "2 of 3 failed") {
		t.Errorf("batch error %q does not count the failures", err)
	}
	if err := rtnl.DeleteRoutes(ctx, c, append(routes, dup[1])); err != nil {
		t.Fatal(err)
	}
	if got, err = rtnl.AppendRoutes(ctx, c, got[:0], rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: 50}); err != nil || len(got) != 0 {
		t.Fatalf("after DeleteRoutes: %d routes, %v", len(got), err)
	}
}

func TestForEachRouteStopsWhenTheCallbackFails(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	var lines []string
	for i := range 2000 {
		lines = append(lines, fmt.Sprintf("route add 10.1.%d.%d/32 dev v0", i>>8, i&0xff))
	}
	ns.Batch(lines)
	c := ns.Dial()
	ctx := testCtx(t)
	stop := errors.New("enough")
	n := 0
	err := rtnl.ForEachRoute(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet}, func(*rtnl.Route) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Fatalf("ForEachRoute returned %v after %d routes; want the callback's error after 10", err, n)
	}
	// The abandoned dump does not disturb the next request.
	all, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: rtnl.TableMain})
	if err != nil || len(all) != 2000 {
		t.Fatalf("next dump: %d routes, %v; want 2000", len(all), err)
	}
}

func TestLinksMatchIPLink(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("link", "add", "v2", "type", "veth", "peer", "name", "v3")
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("link", "set", "v2", "master", "br0", "mtu", "9000", "txqueuelen", "50", "group", "7")
	ns.IP("link", "set", "v3", "address", "02:00:00:00:00:03", "up")
	settleLinks(t, ns)
	c := ns.Dial()
	ctx := testCtx(t)
	links, err := rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint32]string{}
	for _, l := range links {
		names[l.Index] = l.Name.String()
	}
	got, want := map[string]int{}, map[string]int{}
	for _, l := range links {
		got[fmt.Sprintf("%d %s kind=%s mtu=%d txq=%d oper=%s group=%d master=%s link=%s addr=%s brd=%s flags=%s",
			l.Index, l.Name, l.Kind, l.MTU, l.TxQLen, l.OperState, l.Group, names[l.Master], names[l.Link], l.Address, l.Broadcast, linkFlags(l.Flags))]++
	}
	for _, j := range ipJSON(t, ns, "-d", "link", "show") {
		kind := ""
		if li, ok := j["linkinfo"].(map[string]any); ok {
			kind = str(li["info_kind"])
		}
		var flags []string
		for _, f := range j["flags"].([]any) {
			if f != "M-DOWN" && f != "NO-CARRIER" {
				flags = append(flags, f.(string))
			}
		}
		sort.Strings(flags)
		want[fmt.Sprintf("%s %s kind=%s mtu=%s txq=%s oper=%s group=%s master=%s link=%s addr=%s brd=%s flags=%s",
			str(j["ifindex"]), str(j["ifname"]), kind, str(j["mtu"]), str(j["txqlen"]), str(j["operstate"]),
			strings.Replace(str(j["group"]), "default", "0", 1), str(j["master"]), str(j["link"]),
			str(j["address"]), str(j["broadcast"]), strings.Join(flags, ","))]++
	}
	compareSets(t, "links", got, want)

	// Up and down, and lookups by name and index.
	v2, err := rtnl.LinkByName(ctx, c, "v2")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Up() || v2.Master == 0 || !v2.Kind.Is("veth") {
		t.Errorf("v2 before: %+v", v2)
	}
	if err := rtnl.SetLinkUp(ctx, c, v2.Index); err != nil {
		t.Fatal(err)
	}
	if l, err := rtnl.LinkByIndex(ctx, c, v2.Index); err != nil || !l.Up() || !l.Name.Is("v2") {
		t.Errorf("after SetLinkUp: %+v, %v", l, err)
	}
	if err := rtnl.SetLinkDown(ctx, c, v2.Index); err != nil {
		t.Fatal(err)
	}
	if l, err := rtnl.LinkByIndex(ctx, c, v2.Index); err != nil || l.Up() {
		t.Errorf("after SetLinkDown: %+v, %v", l, err)
	}
}

// linkFlags names the IFF_* flags as ip link prints them (without RUNNING,
// which ip turns into NO-CARRIER when missing).
func linkFlags(f uint32) string {
	var names []string
	for _, n := range []struct {
		bit  uint32
		name string
	}{
		{rtnl.LinkLoopback, "LOOPBACK"}, {rtnl.LinkBroadcast, "BROADCAST"}, {rtnl.LinkPointToPt, "POINTOPOINT"},
		{rtnl.LinkMulticast, "MULTICAST"}, {rtnl.LinkNoARP, "NOARP"}, {rtnl.LinkAllMulti, "ALLMULTI"},
		{rtnl.LinkPromisc, "PROMISC"}, {rtnl.LinkNoTrailers, "NOTRAILERS"}, {rtnl.LinkDebug, "DEBUG"},
		{rtnl.LinkDynamic, "DYNAMIC"}, {rtnl.LinkAutoMedia, "AUTOMEDIA"}, {rtnl.LinkPortSel, "PORTSEL"},
		{rtnl.LinkMaster, "MASTER"}, {rtnl.LinkSlave, "SLAVE"}, {rtnl.LinkUp, "UP"}, {rtnl.LinkLowerUp, "LOWER_UP"},
		{rtnl.LinkDormant, "DORMANT"}, {rtnl.LinkEcho, "ECHO"},
	} {
		if f&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func TestAddressesMatchIPAddr(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("addr", "add", "10.0.0.1/24", "dev", "v0", "label", "v0:lab")
	ns.IP("addr", "add", "10.0.0.2/24", "dev", "v0")
	ns.IP("addr", "add", "10.0.9.1", "peer", "10.0.9.2/32", "dev", "v1")
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad", "noprefixroute")
	c := ns.Dial()
	ctx := testCtx(t)
	v1, err := rtnl.LinkByName(ctx, c, "v1")
	if err != nil {
		t.Fatal(err)
	}
	// Added through the library, with a finite lifetime and a broadcast address.
	lib := rtnl.Address{Prefix: pfx("192.0.2.1/24"), Broadcast: addr("192.0.2.255"), Index: v1.Index,
		PreferredLifetime: 3000, ValidLifetime: 4000}
	if err := rtnl.AddAddress(ctx, c, lib); err != nil {
		t.Fatal(err)
	}
	if err := rtnl.AddAddress(ctx, c, lib); !errors.Is(err, unix.EEXIST) {
		t.Errorf("adding it twice: %v, want EEXIST", err)
	}
	if err := rtnl.AddAddress(ctx, c, rtnl.Address{Prefix: pfx("2001:db8:5::1/64"), Index: v1.Index, Flags: rtnl.AddrNoDAD}); err != nil {
		t.Fatal(err)
	}

	addrs, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{})
	if err != nil {
		t.Fatal(err)
	}
	line := func(idx, fam, local, plen, peer, scope, label, brd, secondary, noprefixroute string) string {
		return fmt.Sprintf("%s %s %s/%s peer=%s scope=%s label=%s brd=%s secondary=%s noprefixroute=%s",
			idx, fam, local, plen, peer, scope, label, brd, secondary, noprefixroute)
	}
	got, want := map[string]int{}, map[string]int{}
	for _, a := range addrs {
		got[line(fmt.Sprint(a.Index), a.Family.String(), a.Prefix.Addr().String(), fmt.Sprint(a.Prefix.Bits()), addrStr(a.Peer),
			a.Scope.String(), a.Label.String(), addrStr(a.Broadcast), fmt.Sprint(a.Flags&rtnl.AddrSecondary != 0),
			fmt.Sprint(a.Flags&rtnl.AddrNoPrefixRoute != 0))]++
		if a.Prefix == lib.Prefix && (a.ValidLifetime == 0 || a.ValidLifetime > 4000 || a.PreferredLifetime > 3000) {
			t.Errorf("lifetimes of %v: %d/%d, want at most 3000/4000", a.Prefix, a.PreferredLifetime, a.ValidLifetime)
		}
	}
	for _, l := range ipJSON(t, ns, "addr", "show") {
		for _, ai := range l["addr_info"].([]any) {
			j := ai.(map[string]any)
			want[line(str(l["ifindex"]), str(j["family"]), str(j["local"]), str(j["prefixlen"]), str(j["address"]),
				str(j["scope"]), str(j["label"]), str(j["broadcast"]), fmt.Sprint(j["secondary"] == true),
				fmt.Sprint(j["noprefixroute"] == true))]++
		}
	}
	compareSets(t, "addresses", got, want)

	only, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{Family: rtnl.FamilyInet, Index: v1.Index})
	if err != nil {
		t.Fatal(err)
	}
	if len(only) != 2 {
		t.Errorf("IPv4 addresses of v1: %v, want 2", only)
	}
	if err := rtnl.DeleteAddress(ctx, c, lib); err != nil {
		t.Fatal(err)
	}
	after, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{Family: rtnl.FamilyInet, Index: v1.Index})
	if err != nil || len(after) != 1 {
		t.Errorf("after DeleteAddress: %v, %v", after, err)
	}
}

func TestNeighborsMatchIPNeigh(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("addr", "add", "10.0.0.1/24", "dev", "v0")
	ns.IP("neigh", "add", "10.0.0.7", "lladdr", "02:00:00:00:00:07", "dev", "v0")
	ns.IP("neigh", "add", "10.0.0.8", "lladdr", "02:00:00:00:00:08", "dev", "v0", "nud", "stale")
	ns.IP("neigh", "add", "10.0.0.9", "lladdr", "02:00:00:00:00:09", "dev", "v1", "nud", "noarp")
	ns.IP("neigh", "add", "fe80::7", "lladdr", "02:00:00:00:00:0a", "dev", "v1", "router")
	c := ns.Dial()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)
	neighs, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got, want := map[string]int{}, map[string]int{}
	for _, n := range neighs {
		if n.Dst.IsMulticast() {
			// MLD joins add these asynchronously: they may appear
			// between the two dumps.
			continue
		}
		got[fmt.Sprintf("%s dev %s lladdr %s state %s router=%v", n.Dst, names[n.Index], n.LLAddr, n.State,
			n.Flags&rtnl.NeighFlagRouter != 0)]++
	}
	for _, j := range ipJSON(t, ns, "neigh", "show", "nud", "all") {
		var states []string
		for _, s := range j["state"].([]any) {
			states = append(states, s.(string))
		}
		_, router := j["router"] // ip prints "router": null
		if strings.HasPrefix(str(j["dst"]), "ff0") {
			continue
		}
		want[fmt.Sprintf("%s dev %s lladdr %s state %s router=%v", str(j["dst"]), str(j["dev"]), str(j["lladdr"]),
			strings.Join(states, ","), router)]++
	}
	compareSets(t, "neighbours", got, want)
	if len(neighs) < 4 {
		t.Errorf("%d neighbours, want at least the 4 added", len(neighs))
	}
	v1 := nameIndex(names, "v1")
	only, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{Family: rtnl.FamilyInet6, Index: v1})
	if err != nil {
		t.Fatal(err)
	}
	only = slices.DeleteFunc(only, func(n rtnl.Neighbor) bool { return n.Dst.IsMulticast() })
	if len(only) != 1 || only[0].Dst != addr("fe80::7") || only[0].Flags&rtnl.NeighFlagRouter == 0 || only[0].Index != v1 {
		t.Errorf("IPv6 unicast neighbours of v1: %+v", only)
	}
}

func TestAddVethMakesAPairOfPeers(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddVeth(ctx, c, "va", "vb"); err != nil {
		t.Fatal(err)
	}
	va, err := rtnl.LinkByName(ctx, c, "va")
	if err != nil {
		t.Fatal(err)
	}
	vb, err := rtnl.LinkByName(ctx, c, "vb")
	if err != nil {
		t.Fatal(err)
	}
	if !va.Kind.Is("veth") || va.Link != vb.Index || vb.Link != va.Index || va.Up() {
		t.Errorf("va %+v, vb %+v: want down veth peers", va, vb)
	}
	if err := rtnl.AddVeth(ctx, c, "va", "vc"); !errors.Is(err, unix.EEXIST) {
		t.Errorf("adding va again: %v, want EEXIST", err)
	}
}

func TestListingLeaksNoFileDescriptors(t *testing.T) {
	ns := nstest.New(t)
	ctx := testCtx(t)
	before := nstest.OpenFDs(t)
	for range 10 {
		c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{}); err != nil {
			t.Fatal(err)
		}
		if _, err := rtnl.ListLinks(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if after := nstest.OpenFDs(t); after != before {
		t.Errorf("%d open file descriptors after, %d before", after, before)
	}
}
