//go:build linux

package rtnl_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// metricsLine renders the metrics ip -j shows by name.
func metricsLine(mp *rtnl.Metrics) string {
	m := metricsOf(mp)
	return fmt.Sprintf("mtu=%d window=%d advmss=%d hoplimit=%d initcwnd=%d initrwnd=%d quickack=%d rto_min=%d fastopen_no_cookie=%d congestion=%s ecn=%v",
		m.MTU, m.Window, m.AdvMSS, m.HopLimit, m.InitCWnd, m.InitRWnd, m.QuickAck, m.RTOMin, m.FastOpenNoCookie,
		m.CongestionControl, m.Features&1 != 0)
}

// ipMetricsLine is metricsLine for the "metrics" of an ip -j route entry.
func ipMetricsLine(j map[string]any) string {
	m := map[string]any{}
	if ms, ok := j["metrics"].([]any); ok {
		for _, o := range ms {
			for k, v := range o.(map[string]any) {
				m[k] = v
			}
		}
	}
	n := func(k string) string { return or(str(m[k]), "0") }
	_, ecn := m["ecn"]
	return fmt.Sprintf("mtu=%s window=%s advmss=%s hoplimit=%s initcwnd=%s initrwnd=%s quickack=%s rto_min=%s fastopen_no_cookie=%s congestion=%s ecn=%v",
		n("mtu"), n("window"), n("advmss"), n("hoplimit"), n("initcwnd"), n("initrwnd"), n("quickack"), n("rto_min"),
		n("fastopen_no_cookie"), str(m["congestion"]), ecn)
}

// routeSetup makes a namespace with a quiet veth pair v0–v1 and addresses
// on both, and returns it with a socket and the link names.
func routeSetup(t *testing.T) (*nstest.NS, *nl.Conn, map[uint32]string) {
	t.Helper()
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	for _, a := range [][]string{
		{"10.0.0.1/24", "v0"}, {"10.0.1.1/24", "v1"}, {"2001:db8::1/64", "v0"}, {"2001:db8:1::1/64", "v1"},
	} {
		ns.IP("addr", "add", a[0], "dev", a[1], "nodad")
	}
	c := ns.Dial()
	return ns, c, linkNames(t, testCtx(t), c)
}

func TestRouteFieldsMatchIPRoute(t *testing.T) {
	ns, c, names := routeSetup(t)
	ctx := testCtx(t)
	v0, v1 := nameIndex(names, "v0"), nameIndex(names, "v1")
	for _, tc := range []struct {
		name string
		r    rtnl.Route
	}{
		{"table, protocol, priority, gateway and preferred source",
			rtnl.Route{Dst: pfx("10.20.0.0/24"), Table: 100, Protocol: rtnl.ProtoStatic, Priority: 10,
				Gateway: addr("10.0.0.2"), PrefSrc: addr("10.0.0.1")}},
		{"link scope device route in a table above 255",
			rtnl.Route{Dst: pfx("10.21.0.0/24"), Table: 70000, Scope: rtnl.ScopeLink, OIF: v1, Protocol: rtnl.ProtoBird}},
		{"host scope",
			rtnl.Route{Dst: pfx("10.22.0.0/24"), Scope: rtnl.ScopeHost, OIF: v0}},
		{"every metric",
			rtnl.Route{Dst: pfx("10.23.0.0/24"), Gateway: addr("10.0.1.2"), Metrics: &rtnl.Metrics{
				Lock: 1 << 2, MTU: 1400, Window: 1000, AdvMSS: 1360, HopLimit: 9, InitCWnd: 10, InitRWnd: 20,
				QuickAck: 1, RTOMin: 300, FastOpenNoCookie: 1, Features: 1, CongestionControl: "cubic"}}},
		{"gateway outside every prefix, on link",
			rtnl.Route{Dst: pfx("10.24.0.0/24"), Gateway: addr("192.0.2.1"), OIF: v0, Flags: rtnl.RouteFlagOnlink}},
		{"ipv4 through an ipv6 gateway (via inet6)",
			rtnl.Route{Dst: pfx("10.25.0.0/24"), Gateway: addr("2001:db8::2"), OIF: v0}},
		{"ipv4 multipath with weights",
			rtnl.Route{Dst: pfx("10.26.0.0/24"), Table: 101, Multipath: []rtnl.NextHop{
				{Gateway: addr("10.0.0.2"), OIF: v0, Weight: 3}, {Gateway: addr("10.0.1.2"), OIF: v1, Weight: 1}}}},
		{"blackhole", rtnl.Route{Dst: pfx("10.27.0.0/16"), Type: rtnl.RouteBlackhole, Table: 102}},
		{"unreachable", rtnl.Route{Dst: pfx("10.28.0.0/16"), Type: rtnl.RouteUnreachable, Priority: 5}},
		{"prohibit", rtnl.Route{Dst: pfx("10.29.0.0/16"), Type: rtnl.RouteProhibit}},
		{"throw", rtnl.Route{Dst: pfx("10.30.0.0/16"), Type: rtnl.RouteThrow, Table: 103}},
		{"local, host scope by default", rtnl.Route{Dst: pfx("10.31.0.1/32"), Type: rtnl.RouteLocal, OIF: v0, Table: rtnl.TableLocal}},
		{"broadcast, link scope by default", rtnl.Route{Dst: pfx("10.31.0.255/32"), Type: rtnl.RouteBroadcast, OIF: v0, Table: rtnl.TableLocal, PrefSrc: addr("10.0.0.1")}},
		{"default route with a metric", rtnl.Route{Dst: pfx("0.0.0.0/0"), Gateway: addr("10.0.1.2"), Priority: 600, Table: 104}},
		{"ipv6 gateway, preference and metrics",
			rtnl.Route{Dst: pfx("2001:db8:20::/64"), Gateway: addr("2001:db8::2"), Priority: 5, Pref: rtnl.PrefHigh,
				Protocol: rtnl.ProtoRA, Metrics: &rtnl.Metrics{MTU: 1300, HopLimit: 30}}},
		{"ipv6 multipath",
			rtnl.Route{Dst: pfx("2001:db8:21::/64"), Priority: 1024, Multipath: []rtnl.NextHop{
				{Gateway: addr("2001:db8::2"), OIF: v0, Weight: 1}, {Gateway: addr("2001:db8:1::2"), OIF: v1, Weight: 4}}}},
		{"ipv6 unreachable in a table", rtnl.Route{Dst: pfx("2001:db8:22::/48"), Type: rtnl.RouteUnreachable, Table: 105, Priority: 1}},
		{"ipv6 preferred source", rtnl.Route{Dst: pfx("2001:db8:23::/64"), OIF: v1, PrefSrc: addr("2001:db8:1::1"), Priority: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := rtnl.AddRoute(ctx, c, tc.r); err != nil {
				t.Fatal(err)
			}
			// The request as the kernel should have stored it.
			want := tc.r
			want.Family = rtnl.FamilyInet
			if want.Dst.Addr().Is6() {
				want.Family = rtnl.FamilyInet6
			}
			if want.Table == 0 {
				want.Table = rtnl.TableMain
			}
			if want.OIF == 0 && want.Gateway.IsValid() {
				// The kernel picks the link whose prefix holds the gateway.
				want.OIF = v1
				if pfx("10.0.0.0/24").Contains(want.Gateway) || pfx("2001:db8::/64").Contains(want.Gateway) {
					want.OIF = v0
				}
			}
			if want.Type == 0 {
				want.Type = rtnl.RouteUnicast
			}
			if want.Family == rtnl.FamilyInet6 && want.Type != rtnl.RouteUnicast {
				want.OIF = 1 // the kernel hangs IPv6 reject routes on lo
			}
			if want.Protocol == 0 {
				want.Protocol = rtnl.ProtoBoot
			}
			switch {
			case want.Scope != 0:
			case want.Type == rtnl.RouteLocal:
				want.Scope = rtnl.ScopeHost
			case want.Type == rtnl.RouteBroadcast:
				want.Scope = rtnl.ScopeLink
			}
			if want.Family == rtnl.FamilyInet6 && want.Priority == 0 {
				want.Priority = 1024
			}
			var ipGot []string
			for _, j := range ipJSON(t, ns, "-d", []string{"-4", "-6"}[map[bool]int{true: 0, false: 1}[want.Family == rtnl.FamilyInet]],
				"route", "show", "table", "all") {
				line := ipRouteLine(t, j, want.Family)
				if strings.Contains(line, " dst="+want.Dst.String()+" ") {
					ipGot = append(ipGot, line+" "+ipMetricsLine(j))
				}
			}
			w := routeLine(&want, names) + " " + metricsLine(want.Metrics)
			if len(ipGot) != 1 || ipGot[0] != w {
				t.Errorf("ip shows\n  %s\nwant\n  %s", strings.Join(ipGot, "\n  "), w)
			}
			// The library reads the same back, lock bits included.
			got := findRoute(t, ctx, c, want)
			if l := routeLine(&got, names) + " " + metricsLine(got.Metrics); l != w {
				t.Errorf("library reads\n  %s\nwant\n  %s", l, w)
			}
			if metricsOf(got.Metrics).Lock != metricsOf(want.Metrics).Lock || got.Flags&rtnl.RouteFlagOnlink != want.Flags&rtnl.RouteFlagOnlink {
				t.Errorf("lock %#x, flags %#x; want %#x, %#x", metricsOf(got.Metrics).Lock, got.Flags, metricsOf(want.Metrics).Lock, want.Flags)
			}
		})
	}
}

// getLine is the comparable form of a route get result.
func getLine(r *rtnl.Route, names map[uint32]string) string {
	dst := r.Dst.String()
	if r.Dst.IsSingleIP() {
		dst = r.Dst.Addr().String()
	}
	from := ""
	if r.Src.IsValid() {
		from = r.Src.Addr().String()
		if !r.Src.IsSingleIP() {
			from = r.Src.String()
		}
	}
	var hops []string
	for _, h := range r.Multipath {
		hops = append(hops, fmt.Sprintf("%s@%s*%d", addrStr(h.Gateway), names[h.OIF], h.Weight))
	}
	table := ""
	if r.Table != rtnl.TableMain {
		table = rtnl.TableName(r.Table)
	}
	return fmt.Sprintf("dst=%s from=%s gw=%s dev=%s src=%s iif=%s table=%s mark=%d mtu=%d nh=%v",
		dst, from, addrStr(r.Gateway), names[r.OIF], addrStr(r.PrefSrc), names[r.IIF], table, r.Mark, metricsOf(r.Metrics).MTU, hops)
}

func ipGetLine(j map[string]any) string {
	var hops []string
	if nhs, ok := j["nexthops"].([]any); ok {
		for _, nh := range nhs {
			nh := nh.(map[string]any)
			hops = append(hops, fmt.Sprintf("%s@%s*%s", str(nh["gateway"]), str(nh["dev"]), or(str(nh["weight"]), "1")))
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
	return fmt.Sprintf("dst=%s from=%s gw=%s dev=%s src=%s iif=%s table=%s mark=%s mtu=%s nh=%v",
		str(j["dst"]), str(j["from"]), str(j["gateway"]), str(j["dev"]), str(j["prefsrc"]), str(j["iif"]),
		str(j["table"]), or(str(j["mark"]), "0"), mtu, hops)
}

func TestGetRouteMatchesIPRouteGet(t *testing.T) {
	ns, c, names := routeSetup(t)
	ctx := testCtx(t)
	v0, v1 := nameIndex(names, "v0"), nameIndex(names, "v1")
	if out, err := ns.Cmd("sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("enable forwarding: %v: %s", err, out)
	}
	for _, r := range []rtnl.Route{
		{Dst: pfx("10.9.0.0/24"), Gateway: addr("10.0.0.2"), Table: 100, Protocol: rtnl.ProtoStatic, Priority: 7, Metrics: &rtnl.Metrics{MTU: 1400}},
		{Dst: pfx("10.10.0.0/16"), Multipath: []rtnl.NextHop{{Gateway: addr("10.0.0.2"), OIF: v0, Weight: 2}, {Gateway: addr("10.0.1.2"), OIF: v1}}},
		{Dst: pfx("0.0.0.0/0"), Gateway: addr("10.0.1.2"), Table: 200},
		{Dst: pfx("10.13.0.0/16"), Type: rtnl.RouteUnreachable},
		{Dst: pfx("10.14.0.0/16"), Type: rtnl.RouteProhibit},
		{Dst: pfx("2001:db8:9::/64"), Gateway: addr("2001:db8::2"), Metrics: &rtnl.Metrics{MTU: 1300}},
	} {
		if err := rtnl.AddRoute(ctx, c, r); err != nil {
			t.Fatal(err)
		}
	}
	ns.IP("rule", "add", "to", "10.9.0.0/24", "table", "100")
	ns.IP("rule", "add", "fwmark", "5", "table", "200")

	for _, tc := range []struct {
		dst string
		o   rtnl.GetRouteOptions
		ip  []string
	}{
		{"10.9.0.5", rtnl.GetRouteOptions{}, nil},
		{"10.9.0.5", rtnl.GetRouteOptions{FIBMatch: true}, []string{"fibmatch"}},
		{"10.0.0.7", rtnl.GetRouteOptions{Src: addr("10.0.0.1")}, []string{"from", "10.0.0.1"}},
		{"10.0.1.9", rtnl.GetRouteOptions{OIF: v1}, []string{"oif", "v1"}},
		{"10.50.0.1", rtnl.GetRouteOptions{Mark: 5}, []string{"mark", "5"}},
		{"10.0.0.7", rtnl.GetRouteOptions{Src: addr("10.0.1.5"), IIF: v1}, []string{"from", "10.0.1.5", "iif", "v1"}},
		{"10.10.0.5", rtnl.GetRouteOptions{FIBMatch: true}, []string{"fibmatch"}},
		{"127.0.0.1", rtnl.GetRouteOptions{}, nil},
		{"2001:db8:9::5", rtnl.GetRouteOptions{}, nil},
		{"2001:db8:9::5", rtnl.GetRouteOptions{FIBMatch: true}, []string{"fibmatch"}},
		{"2001:db8:1::7", rtnl.GetRouteOptions{Src: addr("2001:db8:1::1"), OIF: v1}, []string{"from", "2001:db8:1::1", "oif", "v1"}},
	} {
		name := strings.Join(append([]string{tc.dst}, tc.ip...), " ")
		t.Run(name, func(t *testing.T) {
			r, err := rtnl.GetRoute(ctx, c, addr(tc.dst), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"route", "get"}, tc.ip...)
			js := ipJSON(t, ns, append(args, tc.dst)...)
			if len(js) != 1 {
				t.Fatalf("ip route get: %v", js)
			}
			if got, want := getLine(&r, names), ipGetLine(js[0]); got != want {
				t.Errorf("GetRoute:\n  %s\nip route get:\n  %s", got, want)
			}
		})
	}

	// Failures carry ip's errno.
	for _, tc := range []struct {
		dst   string
		errno unix.Errno
	}{
		{"10.13.0.1", unix.EHOSTUNREACH},
		{"10.14.0.1", unix.EACCES},
		{"2001:db8:77::1", unix.ENETUNREACH},
	} {
		_, err := rtnl.GetRoute(ctx, c, addr(tc.dst), rtnl.GetRouteOptions{})
		var ne *nl.Error
		if !errors.Is(err, tc.errno) || !errors.As(err, &ne) {
			t.Errorf("GetRoute(%s): %v, want an *nl.Error with %v", tc.dst, err, tc.errno)
		}
		if _, ipErr := ns.TryIP("route", "get", tc.dst); ipErr == nil || !strings.Contains(strings.ToLower(ipErr.Error()), tc.errno.Error()) {
			t.Errorf("ip route get %s: %v; want %q as well", tc.dst, ipErr, tc.errno.Error())
		}
	}
	if _, err := rtnl.GetRoute(ctx, c, addr("10.0.0.7"), rtnl.GetRouteOptions{IIF: v1}); err == nil {
		t.Error("a forwarding look-up without a source succeeded")
	} else {
		t.Logf("iif without from: %v", err)
	}
}
