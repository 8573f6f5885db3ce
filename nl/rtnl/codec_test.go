package rtnl_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func mustHW(t testing.TB, s string) rtnl.HardwareAddr {
	t.Helper()
	a, err := rtnl.ParseHardwareAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// routeCases are routes that must survive encode → decode unchanged.
var routeCases = []struct {
	name string
	r    rtnl.Route
}{
	{"ipv4 host route through a device", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot,
		Scope: rtnl.ScopeLink, Table: rtnl.TableMain, Dst: pfx("10.1.2.3/32"), OIF: 3}},
	{"ipv4 default route via a gateway", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoDHCP,
		Table: rtnl.TableMain, Dst: pfx("0.0.0.0/0"), Gateway: addr("192.0.2.1"), OIF: 2, Priority: 100, PrefSrc: addr("192.0.2.10")}},
	{"ipv4 route in a table above 255", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteBlackhole, Table: 1000,
		Dst: pfx("198.51.100.0/24"), TOS: 0x10}},
	{"ipv4 route via an ipv6 gateway (RTA_VIA)", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
		Dst: pfx("10.9.3.0/24"), Gateway: addr("2001:db8::2"), OIF: 3}},
	{"ipv4 route with metrics", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
		Dst: pfx("10.9.0.0/24"), Gateway: addr("10.0.0.2"), Metrics: &rtnl.Metrics{Lock: 1 << 2, MTU: 1400, AdvMSS: 1300,
			HopLimit: 7, InitCWnd: 10, RTOMin: 200, FastOpenNoCookie: 1, CongestionControl: "cubic"}}},
	{"ipv4 multipath route", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
		Dst: pfx("10.9.1.0/24"), Multipath: []rtnl.NextHop{
			{Gateway: addr("10.0.0.2"), OIF: 3, Weight: 2},
			{Gateway: addr("10.0.1.2"), OIF: 2, Weight: 1, Flags: uint8(rtnl.RouteFlagOnlink)},
			{Gateway: addr("2001:db8::9"), OIF: 2, Weight: 256}}}},
	{"ipv6 route with expiry and preference", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoRA,
		Table: rtnl.TableMain, Dst: pfx("2001:db8:2::/64"), Gateway: addr("fe80::1"), OIF: 3, Priority: 1024,
		Pref: rtnl.PrefHigh, Expires: 300}},
	{"ipv6 source-specific route", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
		Dst: pfx("::/0"), Src: pfx("2001:db8:5::/48"), Gateway: addr("fe80::2"), OIF: 4, Priority: 1024}},
	{"ipv6 route to a v4-mapped prefix keeps 16-byte addresses", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnreachable,
		Table: rtnl.TableMain, Dst: pfx("::ffff:10.0.0.0/104")}},
	{"ipv6 multipath route", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
		Dst: pfx("2001:db8:1::/64"), Priority: 1024, Multipath: []rtnl.NextHop{
			{Gateway: addr("2001:db8::2"), OIF: 3, Weight: 1},
			{Gateway: addr("2001:db8::3"), OIF: 3, Weight: 1, Flags: uint8(rtnl.RouteFlagLinkDown)}}}},
	{"route with every scalar field", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBGP,
		Scope: rtnl.ScopeUniverse, TOS: 4, EncapType: 1, Table: 7, Priority: 20, OIF: 5, IIF: 6,
		Flags: rtnl.RouteFlagOnlink, Mark: 0x42, Dst: pfx("203.0.113.0/24"), Gateway: addr("203.0.113.254")}},
	{"local route in the local table", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteLocal, Protocol: rtnl.ProtoKernel,
		Scope: rtnl.ScopeHost, Table: rtnl.TableLocal, Dst: pfx("10.0.0.1/32"), PrefSrc: addr("10.0.0.1"), OIF: 3}},
}

func TestRouteRoundTrips(t *testing.T) {
	for _, tc := range routeCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.r.Message(rtnl.TypeNewRoute, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rtnl.DecodeRoute(m)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.r) {
				t.Errorf("round trip changed the route:\n got  %+v\n want %+v", got, tc.r)
			}
			if got.Key() != tc.r.Key() {
				t.Errorf("key changed: %+v, want %+v", got.Key(), tc.r.Key())
			}
		})
	}
}

func TestRouteFamilyIsInferredFromAddresses(t *testing.T) {
	for _, tc := range []struct {
		r    rtnl.Route
		want rtnl.Family
	}{
		{rtnl.Route{Dst: pfx("10.0.0.0/8")}, rtnl.FamilyInet},
		{rtnl.Route{Dst: pfx("2001:db8::/32")}, rtnl.FamilyInet6},
		{rtnl.Route{Gateway: addr("fe80::1")}, rtnl.FamilyInet6},
		{rtnl.Route{Multipath: []rtnl.NextHop{{Gateway: addr("10.0.0.1")}}}, rtnl.FamilyInet},
		{rtnl.Route{Table: 5}, rtnl.FamilyAll},
	} {
		b, err := tc.r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if got := rtnl.Family(b[0]); got != tc.want {
			t.Errorf("%+v: family %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestRouteEncodingRejectsMixedFamilies(t *testing.T) {
	for _, r := range []rtnl.Route{
		{Family: rtnl.FamilyInet, Dst: pfx("2001:db8::/32")},
		{Family: rtnl.FamilyInet6, Dst: pfx("2001:db8::/32"), PrefSrc: addr("10.0.0.1")},
		{Family: rtnl.FamilyMPLS, Dst: pfx("10.0.0.0/8")},
		{Dst: pfx("10.0.0.0/8"), Multipath: []rtnl.NextHop{{Weight: 300}}},
	} {
		if _, err := r.MarshalBinary(); err == nil {
			t.Errorf("%+v: encoded without error", r)
		}
	}
}

// rtmsg builds a route message payload by hand, for decoding cases the
// encoder does not produce.
func rtmsg(fam rtnl.Family, dstLen, table uint8, attrs func(e *nl.AttributeEncoder)) []byte {
	b := []byte{byte(fam), dstLen, 0, 0, table, byte(rtnl.ProtoKernel), byte(rtnl.ScopeUniverse), byte(rtnl.RouteUnicast), 0, 0, 0, 0}
	e := nl.NewAttributeEncoder(b)
	if attrs != nil {
		attrs(e)
	}
	b, _ = e.Bytes()
	return b
}

func TestRouteDecodesKernelForms(t *testing.T) {
	cacheinfo := func(expires int32) []byte {
		b := make([]byte, 32)
		binary.NativeEndian.PutUint32(b[8:], uint32(expires))
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want rtnl.Route
	}{
		{"RTA_TABLE overrides rtm_table", rtmsg(rtnl.FamilyInet, 8, 252, func(e *nl.AttributeEncoder) {
			e.Uint32(15, 100000)
			e.Raw(1, []byte{10, 0, 0, 0})
		}), rtnl.Route{Family: rtnl.FamilyInet, Table: 100000, Dst: pfx("10.0.0.0/8")}},
		{"no RTA_DST is the default route", rtmsg(rtnl.FamilyInet6, 0, 254, nil),
			rtnl.Route{Family: rtnl.FamilyInet6, Table: 254, Dst: pfx("::/0")}},
		{"expiry from RTA_CACHEINFO in clock ticks", rtmsg(rtnl.FamilyInet6, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(12, cacheinfo(29934))
		}), rtnl.Route{Family: rtnl.FamilyInet6, Table: 254, Dst: pfx("::/0"), Expires: 300}},
		{"a route past its expiry reads negative", rtmsg(rtnl.FamilyInet6, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(12, cacheinfo(-250))
		}), rtnl.Route{Family: rtnl.FamilyInet6, Table: 254, Dst: pfx("::/0"), Expires: -3}},
		{"a multicast forwarding entry's RTA_EXPIRES is a u64 of clock ticks", rtmsg(rtnl.FamilyIPMR, 32, 254, func(e *nl.AttributeEncoder) {
			e.Raw(1, []byte{239, 1, 1, 1})
			e.Uint64(23, 1234)
		}), rtnl.Route{Family: rtnl.FamilyIPMR, Table: 254, Dst: pfx("239.1.1.1/32"), Expires: 12}},
		{"RTA_NH_ID", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Uint32(30, 7)
		}), rtnl.Route{Family: rtnl.FamilyInet, Table: 254, Dst: pfx("0.0.0.0/0"), NexthopID: 7}},
		{"unknown attributes are skipped", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Uint32(999, 1)
			e.Raw(22, []byte{1, 2, 3}) // RTA_ENCAP, not decoded
		}), rtnl.Route{Family: rtnl.FamilyInet, Table: 254, Dst: pfx("0.0.0.0/0")}},
		{"RTA_VIA with an MPLS family is ignored", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(18, []byte{17, 0, 1, 2, 3, 4, 5, 6})
		}), rtnl.Route{Family: rtnl.FamilyInet, Table: 254, Dst: pfx("0.0.0.0/0")}},
		{"MPLS routes decode without addresses", rtmsg(rtnl.FamilyMPLS, 20, 254, func(e *nl.AttributeEncoder) {
			e.Raw(1, []byte{0, 1, 0x41, 0})
			e.Uint32(4, 7)
		}), rtnl.Route{Family: rtnl.FamilyMPLS, Table: 254, OIF: 7}},
		{"congestion control without NUL", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Nested(8, func(e *nl.AttributeEncoder) { e.Raw(16, []byte("bbr")) })
		}), rtnl.Route{Family: rtnl.FamilyInet, Table: 254, Dst: pfx("0.0.0.0/0"), Metrics: &rtnl.Metrics{CongestionControl: "bbr"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Protocol = rtnl.ProtoKernel
			tc.want.Type = rtnl.RouteUnicast
			var got rtnl.Route
			if err := got.UnmarshalBinary(tc.b); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRouteDecodingRejectsMalformedMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"short rtmsg", []byte{2, 0, 0}},
		{"prefix longer than the family", rtmsg(rtnl.FamilyInet, 33, 254, nil)},
		{"ipv6 address in an ipv4 route", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(5, make([]byte, 16))
		})},
		{"attribute past the end", append(rtmsg(rtnl.FamilyInet, 0, 254, nil), 200, 0, 1, 0)},
		{"next hop longer than RTA_MULTIPATH", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(9, []byte{40, 0, 0, 0, 1, 0, 0, 0})
		})},
		{"next hop shorter than rtnexthop", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(9, []byte{4, 0, 0, 0})
		})},
		{"metric of the wrong size", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Nested(8, func(e *nl.AttributeEncoder) { e.Uint16(2, 1500) })
		})},
		{"truncated RTA_VIA", rtmsg(rtnl.FamilyInet, 0, 254, func(e *nl.AttributeEncoder) {
			e.Raw(18, []byte{2})
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rtnl.Route
			if err := r.UnmarshalBinary(tc.b); err == nil {
				t.Errorf("decoded %+v without error", r)
			}
		})
	}
	if _, err := rtnl.DecodeRoute(nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: rtmsg(2, 0, 254, nil)}); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("a link message given to DecodeRoute: %v, want ErrMessageType", err)
	}
}

func TestRouteKeyTellsRoutesApartAsTheKernelDoes(t *testing.T) {
	base := rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: 254, Dst: pfx("10.0.0.0/24"), OIF: 1}
	// IPv4 keeps routes that differ in forwarding information side by
	// side under one destination, table, TOS and metric (append, prepend,
	// the prefix routes of two links in one subnet): they are told apart.
	for name, change := range map[string]func(r *rtnl.Route){
		"table":     func(r *rtnl.Route) { r.Table = 100 },
		"dst":       func(r *rtnl.Route) { r.Dst = pfx("10.0.0.0/25") },
		"tos":       func(r *rtnl.Route) { r.TOS = 8 },
		"priority":  func(r *rtnl.Route) { r.Priority = 5 },
		"type":      func(r *rtnl.Route) { r.Type = rtnl.RouteBroadcast },
		"family":    func(r *rtnl.Route) { r.Family = rtnl.FamilyInet6 },
		"interface": func(r *rtnl.Route) { r.OIF = 2 },
		"gateway":   func(r *rtnl.Route) { r.Gateway = addr("10.0.0.1") },
		"protocol":  func(r *rtnl.Route) { r.Protocol = rtnl.ProtoStatic },
		"scope":     func(r *rtnl.Route) { r.Scope = rtnl.ScopeLink },
		"src":       func(r *rtnl.Route) { r.PrefSrc = addr("10.0.0.9") },
		"metrics":   func(r *rtnl.Route) { r.Metrics = &rtnl.Metrics{MTU: 1400} },
		"onlink":    func(r *rtnl.Route) { r.Flags |= rtnl.RouteFlagOnlink },
		"nexthop":   func(r *rtnl.Route) { r.NexthopID = 7 },
		"multipath": func(r *rtnl.Route) { r.Multipath = []rtnl.NextHop{{OIF: 1}, {OIF: 2}} },
	} {
		other := base
		change(&other)
		if other.Key() == base.Key() {
			t.Errorf("a different %s gave the same key", name)
		}
	}
	// What the kernel changes on its own is no part of the identity.
	for name, change := range map[string]func(r *rtnl.Route){
		"dead":     func(r *rtnl.Route) { r.Flags |= rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown },
		"linkdown": func(r *rtnl.Route) { r.Flags |= rtnl.RouteFlagLinkDown },
		"expiry":   func(r *rtnl.Route) { r.Expires = 30 },
	} {
		other := base
		change(&other)
		if other.Key() != base.Key() {
			t.Errorf("%s changed the key", name)
		}
	}
	mp := base
	mp.OIF, mp.Multipath = 0, []rtnl.NextHop{{OIF: 1, Gateway: addr("10.0.0.1")}, {OIF: 2, Gateway: addr("10.0.0.2")}}
	mpDead := mp
	mpDead.Multipath = []rtnl.NextHop{{OIF: 1, Gateway: addr("10.0.0.1"), Flags: uint8(rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown)}, mp.Multipath[1]}
	if mp.Key() != mpDead.Key() {
		t.Error("a dead hop changed a multipath route's key")
	}
	// A route through a nexthop object is the object's, whatever it
	// resolves to.
	nh := base
	nh.NexthopID, nh.Gateway = 7, addr("10.0.0.1")
	nh2 := nh
	nh2.Gateway, nh2.OIF = addr("10.0.0.2"), 3
	if nh.Key() != nh2.Key() {
		t.Error("the next hops a nexthop object resolves to changed the key")
	}
	other := rtnl.Route{Family: rtnl.FamilyInet, Table: 254, Dst: pfx("10.0.0.0/24"), Priority: 1}
	if base.Key().Group() != nh.Key().Group() || base.Key().Group() == other.Key().Group() {
		t.Error("Group does not select by destination, table, TOS and metric")
	}

	v6 := rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Dst: pfx("2001:db8::/64"), OIF: 2}
	v6b := v6
	v6b.Metrics = &rtnl.Metrics{MTU: 1400}
	if v6.Key() != v6b.Key() {
		t.Error("metrics are part of an IPv6 key: IPv6 keeps one route per next hop")
	}
	v6b.Protocol = rtnl.ProtoStatic
	if v6.Key() == v6b.Key() {
		t.Error("protocol is no part of an IPv6 key: a replace can leave two routes of two protocols on one next hop")
	}
	v6b.Type = rtnl.RouteBlackhole
	if v6.Key() == v6b.Key() {
		t.Error("type is no part of an IPv6 key: a replace can leave two routes of two types on one next hop")
	}
	v6c := v6
	v6c.OIF = 3
	if v6.Key() == v6c.Key() {
		t.Error("two IPv6 routes on two interfaces have one key")
	}
	g1 := v6
	g1.OIF, g1.Multipath = 0, []rtnl.NextHop{{OIF: 2, Gateway: addr("2001:db8::1")}, {OIF: 3, Gateway: addr("2001:db8::2")}}
	g2 := g1
	g2.Multipath = append(g1.Multipath[:1:1], rtnl.NextHop{OIF: 4, Gateway: addr("2001:db8::3")})
	if g1.Key() != g2.Key() {
		t.Error("an IPv6 multipath route's key depends on its hops: IPv6 has one per destination and metric")
	}
	m := map[rtnl.RouteKey]int{base.Key(): 1}
	same := base
	if m[same.Key()] != 1 {
		t.Error("RouteKey does not work as a map key")
	}
}

func TestRouteString(t *testing.T) {
	for _, tc := range []struct {
		r    rtnl.Route
		want string
	}{
		{routeCases[0].r, "10.1.2.3 dev if3 scope link"},
		{routeCases[1].r, "default via 192.0.2.1 dev if2 proto dhcp src 192.0.2.10 metric 100"},
		{routeCases[2].r, "blackhole 198.51.100.0/24 tos 0x10 table 1000 proto unspec"},
		{routeCases[3].r, "10.9.3.0/24 via inet6 2001:db8::2 dev if3 proto unspec"},
		{routeCases[6].r, "2001:db8:2::/64 via fe80::1 dev if3 proto ra metric 1024 expires 300sec pref high"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestDecodersDoNotAllocate(t *testing.T) {
	enc := func(v interface{ MarshalBinary() ([]byte, error) }) []byte {
		b, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v4 := enc(&routeCases[1].r)
	v6 := enc(&routeCases[6].r)
	link := enc(&rtnl.Link{Index: 3, Name: rtnl.MakeName("v0"), Kind: rtnl.MakeName("veth"), MTU: 1500,
		Address: mustHW(t, "02:00:00:00:00:01"), OperState: rtnl.OperUp})
	address := enc(&rtnl.Address{Prefix: pfx("10.0.0.1/24"), Index: 3, Label: rtnl.MakeName("v0"), ValidLifetime: rtnl.LifetimeForever})
	neigh := enc(&rtnl.Neighbor{Dst: addr("10.0.0.7"), Index: 3, LLAddr: mustHW(t, "02:00:00:00:00:07"), State: rtnl.NeighPermanent})

	var r rtnl.Route
	var l rtnl.Link
	var a rtnl.Address
	var n rtnl.Neighbor
	for name, fn := range map[string]func() error{
		"ipv4 route": func() error { return r.UnmarshalBinary(v4) },
		"ipv6 route": func() error { return r.UnmarshalBinary(v6) },
		"DecodeRoute (by value)": func() error {
			_, err := rtnl.DecodeRoute(nl.Message{Header: nl.Header{Type: rtnl.TypeNewRoute}, Data: v4})
			return err
		},
		"link":      func() error { return l.UnmarshalBinary(link) },
		"address":   func() error { return a.UnmarshalBinary(address) },
		"neighbour": func() error { return n.UnmarshalBinary(neigh) },
		"DecodeLink (by value)": func() error {
			_, err := rtnl.DecodeLink(nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: link})
			return err
		},
		"RouteKey from a decoded": func() error { _ = r.Key(); return nil },
	} {
		var err error
		if allocs := testing.AllocsPerRun(100, func() { err = fn() }); allocs != 0 {
			t.Errorf("%s: %v allocations per decode, want 0", name, allocs)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMetricsDecodingAllocatesOneMetrics(t *testing.T) {
	want := &routeCases[4].r
	b, err := want.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var r rtnl.Route
	if allocs := testing.AllocsPerRun(100, func() { err = r.UnmarshalBinary(b) }); allocs != 1 {
		t.Errorf("%v allocations per decode of a route with metrics, want 1", allocs)
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Metrics == want.Metrics || *r.Metrics != *want.Metrics {
		t.Errorf("metrics %+v (at %p), want a copy of %+v (at %p)", r.Metrics, r.Metrics, want.Metrics, want.Metrics)
	}
}

func TestEqualComparesMetricsByValue(t *testing.T) {
	a := routeCases[4].r
	b := a
	m := *a.Metrics
	b.Metrics = &m
	if !a.Equal(&b) {
		t.Error("two Metrics pointers with equal values are not Equal")
	}
	m.MTU++
	if a.Equal(&b) {
		t.Error("routes with different metrics are Equal")
	}
	none, zero := routeCases[0].r, routeCases[0].r
	zero.Metrics = &rtnl.Metrics{}
	if !none.Equal(&zero) || !zero.Equal(&none) {
		t.Error("a nil Metrics does not equal a zero one")
	}
	if !(*rtnl.Metrics)(nil).IsZero() || !(*rtnl.Metrics)(nil).Equal(nil) {
		t.Error("a nil *Metrics is not zero")
	}
}

func TestRouteIsSlim(t *testing.T) {
	// Issue 16: what most routes lack is held out of line.
	if n := unsafe.Sizeof(rtnl.Route{}); n > 184 {
		t.Errorf("a Route is %d bytes, want at most 184", n)
	}
}

func TestMultipathDecodingAllocatesOneSlice(t *testing.T) {
	b, err := routeCases[5].r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var r rtnl.Route
	if allocs := testing.AllocsPerRun(100, func() { err = r.UnmarshalBinary(b) }); allocs != 1 {
		t.Errorf("%v allocations per multipath decode, want 1", allocs)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestLinkRoundTrips(t *testing.T) {
	for _, l := range []rtnl.Link{
		{Index: 1, Type: 772, Flags: rtnl.LinkUp | rtnl.LinkLoopback | rtnl.LinkRunning | rtnl.LinkLowerUp, Name: rtnl.MakeName("lo"),
			MTU: 65536, TxQLen: 1000, OperState: rtnl.OperUnknown, Address: mustHW(t, "00:00:00:00:00:00"), Broadcast: mustHW(t, "00:00:00:00:00:00")},
		{Index: 3, Type: 1, Flags: rtnl.LinkUp | rtnl.LinkBroadcast | rtnl.LinkMulticast, Change: rtnl.LinkUp, Name: rtnl.MakeName("veth-with-15ch"),
			Kind: rtnl.MakeName("veth"), MTU: 9000, Master: 7, Link: 2, Group: 3, OperState: rtnl.OperUp,
			Address: mustHW(t, "82:8f:1e:b2:67:f3"), Broadcast: mustHW(t, "ff:ff:ff:ff:ff:ff")},
		{Index: 9, Type: 32, Name: rtnl.MakeName("ib0"), Address: mustHW(t, "00:00:00:67:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0b:4e:1b")},
		*fullLink(t),
	} {
		m, err := l.Message(rtnl.TypeNewLink, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rtnl.DecodeLink(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != l {
			t.Errorf("round trip changed the link:\n got  %+v\n want %+v", got, l)
		}
	}
}

func TestAddressRoundTrips(t *testing.T) {
	for _, a := range []rtnl.Address{
		{Family: rtnl.FamilyInet, Index: 3, Scope: rtnl.ScopeUniverse, Prefix: pfx("10.0.0.1/24"), Broadcast: addr("10.0.0.255"),
			Label: rtnl.MakeName("v0:1"), Flags: rtnl.AddrPermanent, PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever,
			Created: 100, Updated: 200},
		{Family: rtnl.FamilyInet, Index: 4, Prefix: pfx("10.0.0.1/32"), Peer: addr("10.0.0.2"), Protocol: 2, RoutePriority: 50},
		{Family: rtnl.FamilyInet6, Index: 3, Scope: rtnl.ScopeLink, Prefix: pfx("fe80::1/64"),
			Flags: rtnl.AddrPermanent | rtnl.AddrNoPrefixRoute | rtnl.AddrStablePrivacy, PreferredLifetime: 60, ValidLifetime: 120},
	} {
		m, err := a.Message(rtnl.TypeNewAddress, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rtnl.DecodeAddress(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != a {
			t.Errorf("round trip changed the address:\n got  %+v\n want %+v", got, a)
		}
	}
}

func TestAddressReadsIPv6FormWithoutLocal(t *testing.T) {
	b := []byte{byte(rtnl.FamilyInet6), 64, 0x80, 0, 3, 0, 0, 0}
	e := nl.NewAttributeEncoder(b)
	e.Raw(1, addr("2001:db8::1").AsSlice())
	b, _ = e.Bytes()
	var a rtnl.Address
	if err := a.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if a.Prefix != pfx("2001:db8::1/64") || a.Peer.IsValid() || a.Flags != rtnl.AddrPermanent {
		t.Errorf("got %+v", a)
	}
}

func TestNeighborRoundTrips(t *testing.T) {
	for _, n := range []rtnl.Neighbor{
		{Family: rtnl.FamilyInet, Index: 3, State: rtnl.NeighReachable, Flags: rtnl.NeighFlagRouter, Type: rtnl.RouteUnicast,
			Dst: addr("10.0.0.7"), LLAddr: mustHW(t, "02:00:00:00:00:07"), Probes: 2},
		{Family: rtnl.FamilyInet6, Index: 3, State: rtnl.NeighStale, Dst: addr("fe80::7")},
		{Family: rtnl.FamilyBridge, Index: 5, State: rtnl.NeighPermanent, Flags: rtnl.NeighFlagSelf, Dst: addr("2001:db8::5"),
			LLAddr: mustHW(t, "02:00:00:00:00:05"), VLAN: 10, Master: 4},
	} {
		m, err := n.Message(rtnl.TypeNewNeighbor, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rtnl.DecodeNeighbor(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("round trip changed the neighbour:\n got  %+v\n want %+v", got, n)
		}
	}
}

func TestDecodersRejectShortHeaders(t *testing.T) {
	for name, fn := range map[string]func([]byte) error{
		"route":     func(b []byte) error { var v rtnl.Route; return v.UnmarshalBinary(b) },
		"link":      func(b []byte) error { var v rtnl.Link; return v.UnmarshalBinary(b) },
		"address":   func(b []byte) error { var v rtnl.Address; return v.UnmarshalBinary(b) },
		"neighbour": func(b []byte) error { var v rtnl.Neighbor; return v.UnmarshalBinary(b) },
	} {
		if err := fn([]byte{2, 0, 0, 0}); !errors.Is(err, nl.ErrShortMessage) {
			t.Errorf("%s: %v, want nl.ErrShortMessage", name, err)
		}
	}
}

func TestNameAndHardwareAddr(t *testing.T) {
	n := rtnl.MakeName("eth0")
	if !n.Is("eth0") || n.String() != "eth0" || n.Len() != 4 || n.IsZero() {
		t.Errorf("MakeName(eth0) = %q (len %d)", n, n.Len())
	}
	if long := rtnl.MakeName(strings.Repeat("x", 20)); long.Len() != rtnl.NameLen {
		t.Errorf("a long name kept %d bytes, want %d", long.Len(), rtnl.NameLen)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = n.Is("eth1") }); allocs != 0 {
		t.Errorf("Name.Is allocates %v times", allocs)
	}
	hw := mustHW(t, "02:00:5E:10:00:01")
	if hw.String() != "02:00:5e:10:00:01" || hw.Len() != 6 || !bytes.Equal(hw.Net(), []byte{2, 0, 0x5e, 0x10, 0, 1}) {
		t.Errorf("hardware address %v (%d bytes)", hw, hw.Len())
	}
	if _, err := rtnl.HardwareAddrFrom(make([]byte, 33)); err == nil {
		t.Error("a 33-byte address was accepted")
	}
	var back rtnl.HardwareAddr
	text, _ := hw.MarshalText()
	if err := back.UnmarshalText(text); err != nil || back != hw {
		t.Errorf("text round trip: %v, %v", back, err)
	}
}

func TestConstantStrings(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{rtnl.ProtoKernel.String(), "kernel"},
		{rtnl.Protocol(77).String(), "77"},
		{rtnl.ScopeLink.String(), "link"},
		{rtnl.ScopeUniverse.String(), "global"},
		{rtnl.RouteBlackhole.String(), "blackhole"},
		{rtnl.RouteType(42).String(), "42"},
		{rtnl.TableName(rtnl.TableLocal), "local"},
		{rtnl.TableName(1000), "1000"},
		{rtnl.FamilyInet6.String(), "inet6"},
		{rtnl.OperUp.String(), "UP"},
		{(rtnl.NeighReachable | rtnl.NeighPermanent).String(), "REACHABLE,PERMANENT"},
		{rtnl.NeighNone.String(), "NONE"},
		{rtnl.PrefLow.String(), "low"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// Values are plain comparable structs (Route aside, because of Multipath).
func TestValuesAreComparable(t *testing.T) {
	for _, v := range []any{rtnl.Link{}, rtnl.Address{}, rtnl.Neighbor{}, rtnl.RouteKey{}, rtnl.NextHop{}, rtnl.Metrics{}} {
		if !reflect.TypeOf(v).Comparable() {
			t.Errorf("%T is not comparable", v)
		}
	}
}

func TestRouteEqualComparesIPv6HopsAsASetAndIPv4HopsInOrder(t *testing.T) {
	a, b := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	hops := []rtnl.NextHop{{Gateway: a, OIF: 2, Weight: 1}, {Gateway: b, OIF: 3, Weight: 1}}
	swapped := []rtnl.NextHop{hops[1], hops[0]}
	for _, tc := range []struct {
		family rtnl.Family
		x, y   []rtnl.NextHop
		want   bool
	}{
		{rtnl.FamilyInet6, hops, swapped, true},
		{rtnl.FamilyInet6, hops, hops[:1], false},
		{rtnl.FamilyInet6, hops, []rtnl.NextHop{hops[0], hops[0]}, false},
		{rtnl.FamilyInet, hops, swapped, false},
		{rtnl.FamilyInet, hops, hops, true},
	} {
		x := rtnl.Route{Family: tc.family, Multipath: tc.x}
		y := rtnl.Route{Family: tc.family, Multipath: tc.y}
		if got := x.Equal(&y); got != tc.want {
			t.Errorf("%v: %v vs %v: Equal = %v, want %v", tc.family, tc.x, tc.y, got, tc.want)
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
