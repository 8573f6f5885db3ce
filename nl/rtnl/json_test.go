package rtnl_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
)

// jsonValue is what the JSON forms of the package's values offer.
type jsonValue interface {
	json.Marshaler
	AppendJSONNames(b []byte, names func(index uint32) string) []byte
}

func TestMarshalJSONUsesIPJSONFieldNames(t *testing.T) {
	peerNS := rtnl.Link{Index: 3, Name: rtnl.MakeName("v0"), Type: 1, Link: 2, OperState: rtnl.OperUp}
	peerNS.SetLinkNetNSID(0, true)
	hw := mustHW(t, "02:00:00:00:00:09")
	for _, tc := range []struct {
		name  string
		v     jsonValue
		want  string // MarshalJSON
		named string // AppendJSONNames with testNames
	}{
		{"connected route", &rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoKernel,
			Scope: rtnl.ScopeLink, Table: rtnl.TableMain, Dst: pfx("10.0.0.0/24"), OIF: 3, PrefSrc: addr("10.0.0.1")},
			`{"dst":"10.0.0.0/24","dev_index":3,"protocol":"kernel","scope":"link","prefsrc":"10.0.0.1","flags":[]}`,
			`{"dst":"10.0.0.0/24","dev":"v0","protocol":"kernel","scope":"link","prefsrc":"10.0.0.1","flags":[]}`},
		{"default route", &routeCases[1].r,
			`{"dst":"default","gateway":"192.0.2.1","dev_index":2,"protocol":"dhcp","prefsrc":"192.0.2.10","metric":100,"flags":[]}`,
			`{"dst":"default","gateway":"192.0.2.1","dev":"v1","protocol":"dhcp","prefsrc":"192.0.2.10","metric":100,"flags":[]}`},
		{"multipath route", &routeCases[5].r,
			`{"dst":"10.9.1.0/24","protocol":"unspec","flags":[],"nexthops":[` +
				`{"gateway":"10.0.0.2","dev_index":3,"weight":2,"flags":[]},` +
				`{"gateway":"10.0.1.2","dev_index":2,"weight":1,"flags":["onlink"]},` +
				`{"via":{"family":"inet6","host":"2001:db8::9"},"dev_index":2,"weight":256,"flags":[]}]}`,
			`{"dst":"10.9.1.0/24","protocol":"unspec","flags":[],"nexthops":[` +
				`{"gateway":"10.0.0.2","dev":"v0","weight":2,"flags":[]},` +
				`{"gateway":"10.0.1.2","dev":"v1","weight":1,"flags":["onlink"]},` +
				`{"via":{"family":"inet6","host":"2001:db8::9"},"dev":"v1","weight":256,"flags":[]}]}`},
		{"blackhole with metrics", &rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteBlackhole, Protocol: rtnl.ProtoBoot,
			Table: 77, Dst: pfx("10.8.0.0/24"), Metrics: &rtnl.Metrics{Lock: 1 << 2, MTU: 1400, RTT: 80, Features: 1 | 8, CongestionControl: "bbr"}},
			`{"type":"blackhole","dst":"10.8.0.0/24","table":"77","flags":[],"metrics":[{"mtu":1400,"rtt":10,"ecn":null,"features":"0x9","congestion":"bbr"}]}`, ""},
		{"ipv6 route that expires, linkdown", &rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoRA,
			Table: rtnl.TableMain, Dst: pfx("2001:db8:2::/64"), Gateway: addr("fe80::1"), OIF: 9, Priority: 1024, Pref: rtnl.PrefHigh,
			Expires: 300, Flags: rtnl.RouteFlagLinkDown},
			`{"dst":"2001:db8:2::/64","gateway":"fe80::1","dev_index":9,"protocol":"ra","metric":1024,"flags":["linkdown"],"expires":300,"pref":"high"}`, ""},
		{"every scalar field", &routeCases[10].r,
			`{"dst":"203.0.113.0/24","encap":"mpls","tos":"0x04","gateway":"203.0.113.254","dev_index":5,"table":"7","protocol":"bgp",` +
				`"metric":20,"flags":["onlink"],"mark":66,"iif_index":6}`,
			`{"dst":"203.0.113.0/24","encap":"mpls","tos":"0x04","gateway":"203.0.113.254","dev":"v2","table":"7","protocol":"bgp",` +
				`"metric":20,"flags":["onlink"],"mark":66,"iif_index":6}`},
		{"source-specific route", &routeCases[7].r,
			`{"dst":"default","from":"2001:db8:5::/48","gateway":"fe80::2","dev_index":4,"protocol":"unspec","metric":1024,"flags":[],"pref":"medium"}`,
			`{"dst":"default","from":"2001:db8:5::/48","gateway":"fe80::2","dev":"br0","protocol":"unspec","metric":1024,"flags":[],"pref":"medium"}`},
		{"route through a nexthop object", &rtnl.Route{Family: rtnl.FamilyInet, Protocol: rtnl.ProtoBoot, Dst: pfx("10.3.0.1/32"), NexthopID: 7},
			`{"dst":"10.3.0.1","nhid":7,"flags":[]}`, ""},

		{"veth", &rtnl.Link{Index: 3, Name: rtnl.MakeName("v0"), Kind: rtnl.MakeName("veth"), Type: 1,
			Flags: rtnl.LinkBroadcast | rtnl.LinkMulticast | rtnl.LinkUp | rtnl.LinkRunning | rtnl.LinkLowerUp, MTU: 1500, Link: 2, Master: 4,
			OperState: rtnl.OperUp, TxQLen: 1000, Address: hw, Broadcast: mustHW(t, "ff:ff:ff:ff:ff:ff"), Alias: "up\"link\""},
			`{"ifindex":3,"link_index":2,"ifname":"v0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"master_index":4,` +
				`"operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"02:00:00:00:00:09",` +
				`"broadcast":"ff:ff:ff:ff:ff:ff","linkinfo":{"info_kind":"veth"},"ifalias":"up\"link\""}`,
			`{"ifindex":3,"link":"v1","ifname":"v0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"master":"br0",` +
				`"operstate":"UP","group":"default","txqlen":1000,"link_type":"ether","address":"02:00:00:00:00:09",` +
				`"broadcast":"ff:ff:ff:ff:ff:ff","linkinfo":{"info_kind":"veth"},"ifalias":"up\"link\""}`},
		{"a device with its details and counters", fullLink(t),
			`{"ifindex":2,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","group":"default",` +
				`"txqlen":1000,"link_type":"ether","address":"02:00:00:00:00:09","broadcast":"ff:ff:ff:ff:ff:ff","permaddr":"00:1b:21:0a:0b:0c",` +
				`"min_mtu":68,"max_mtu":9702,"num_tx_queues":8,"num_rx_queues":8,"gso_max_size":65536,"gso_max_segs":65535,` +
				`"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536,"gso_ipv4_max_size":65536,"gro_ipv4_max_size":65536,` +
				`"carrier_changes":3,"carrier_up_count":2,"carrier_down_count":1,"parentbus":"pci","parentdev":"0000:01:00.0",` +
				`"stats64":{"rx":{"bytes":1000,"packets":10,"errors":1,"dropped":2,"over_errors":3,"multicast":4,` +
				`"length_errors":5,"crc_errors":6,"frame_errors":7,"fifo_errors":8,"missed_errors":9,"nohandler":11},` +
				`"tx":{"bytes":2000,"packets":20,"errors":21,"dropped":22,"carrier_errors":23,"collisions":24,` +
				`"aborted_errors":25,"fifo_errors":26,"window_errors":27,"heartbeat_errors":28,"carrier_changes":3}},` +
				`"altnames":["enp1s0","enp1s0np0"]}`, ""},
		{"peer in another namespace", &peerNS,
			`{"ifindex":3,"link_index":2,"ifname":"v0","flags":[],"operstate":"UP","group":"default","link_type":"ether","link_netnsid":0}`, ""},
		{"point-to-point, unknown state", &rtnl.Link{Index: 8, Name: rtnl.MakeName("tun0"), Type: 776, Flags: rtnl.LinkPointToPt | rtnl.LinkUp,
			OperState: 11, Group: 3, Address: hwFrom(t, 10, 0, 0, 1), Broadcast: hwFrom(t, 10, 0, 0, 2)},
			`{"ifindex":8,"ifname":"tun0","flags":["NO-CARRIER","POINTOPOINT","UP"],"operstate_index":11,"group":"3","link_type":"sit",` +
				`"address":"10.0.0.1","link_pointtopoint":true,"broadcast":"10.0.0.2"}`, ""},

		{"ipv4 address", &rtnl.Address{Family: rtnl.FamilyInet, Index: 3, Prefix: pfx("10.0.0.5/32"), Peer: addr("10.0.0.6"),
			Broadcast: addr("10.0.0.255"), Label: rtnl.MakeName("v0:1"), Flags: rtnl.AddrPermanent | rtnl.AddrSecondary, RoutePriority: 9,
			PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever},
			`{"index":3,"family":"inet","local":"10.0.0.5","address":"10.0.0.6","prefixlen":32,"metric":9,"broadcast":"10.0.0.255",` +
				`"scope":"global","secondary":true,"label":"v0:1","valid_life_time":4294967295,"preferred_life_time":4294967295}`,
			`{"index":3,"dev":"v0","family":"inet","local":"10.0.0.5","address":"10.0.0.6","prefixlen":32,"metric":9,"broadcast":"10.0.0.255",` +
				`"scope":"global","secondary":true,"label":"v0:1","valid_life_time":4294967295,"preferred_life_time":4294967295}`},
		{"ipv6 address, deprecated", &rtnl.Address{Family: rtnl.FamilyInet6, Index: 9, Prefix: pfx("2001:db8::abcd/64"), Scope: rtnl.ScopeLink,
			Flags: rtnl.AddrSecondary | rtnl.AddrDeprecated | 1<<20, Protocol: 2, ValidLifetime: 500, PreferredLifetime: 1<<32 - 3},
			`{"index":9,"family":"inet6","local":"2001:db8::abcd","prefixlen":64,"scope":"link","temporary":true,"deprecated":true,` +
				`"dynamic":true,"ifa_flags":"100000","protocol":"kernel_ra","valid_life_time":500,"preferred_life_time":-3}`, ""},

		{"neighbour", &rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.9"), LLAddr: hw, Flags: rtnl.NeighFlagRouter,
			FlagsExt: rtnl.NeighExtManaged, State: rtnl.NeighPermanent},
			`{"dst":"10.0.0.9","dev_index":3,"lladdr":"02:00:00:00:00:09","router":null,"managed":null,"state":["PERMANENT"]}`,
			`{"dst":"10.0.0.9","dev":"v0","lladdr":"02:00:00:00:00:09","router":null,"managed":null,"state":["PERMANENT"]}`},
		{"neighbour in no state", &rtnl.Neighbor{Family: rtnl.FamilyInet6, Index: 3, Dst: addr("2001:db8::5"), Flags: rtnl.NeighFlagProxy},
			`{"dst":"2001:db8::5","dev_index":3,"proxy":null}`, `{"dst":"2001:db8::5","dev":"v0","proxy":null}`},
		{"forwarding entry", &rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 5, LLAddr: hw, Master: 4, VLAN: 10,
			Flags: rtnl.NeighFlagMaster, State: rtnl.NeighReachable},
			`{"mac":"02:00:00:00:00:09","ifname_index":5,"vlan":10,"flags":["master"],"master_index":4,"state":""}`,
			`{"mac":"02:00:00:00:00:09","ifname":"v2","vlan":10,"flags":["master"],"master":"br0","state":""}`},
		{"forwarding entry in an odd state", &rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 6, Dst: addr("2001:db8::7"), State: rtnl.NeighProbe},
			`{"ifname_index":6,"dst":"2001:db8::7","flags":[],"state":"0x10"}`, ""},

		{"nexthop", &rtnl.Nexthop{ID: 1, Family: rtnl.FamilyInet, Gateway: addr("10.0.0.2"), OIF: 3, Scope: rtnl.ScopeLink,
			Protocol: rtnl.ProtoStatic, Flags: rtnl.RouteFlagOnlink},
			`{"id":1,"gateway":"10.0.0.2","dev_index":3,"scope":"link","protocol":"static","flags":["onlink"]}`,
			`{"id":1,"gateway":"10.0.0.2","dev":"v0","scope":"link","protocol":"static","flags":["onlink"]}`},
		{"blackhole nexthop", &rtnl.Nexthop{ID: 2, Family: rtnl.FamilyInet, Blackhole: true}, `{"id":2,"blackhole":null,"flags":[]}`, ""},
		{"resilient group", &rtnl.Nexthop{ID: 4, GroupType: rtnl.NexthopGroupResilient, Group: []rtnl.NexthopGroupMember{{ID: 1}, {ID: 2, Weight: 3}},
			Resilient: rtnl.NexthopResilient{Buckets: 8, IdleTimer: 120 * time.Second, UnbalancedTimer: 1500 * time.Millisecond}},
			`{"id":4,"group":[{"id":1},{"id":2,"weight":3}],"type":"resilient","resilient_args":{"buckets":8,"idle_timer":120,` +
				`"unbalanced_timer":1.5,"unbalanced_time":0},"flags":[]}`, ""},
		{"fdb nexthop", &rtnl.Nexthop{ID: 20, Family: rtnl.FamilyInet6, Gateway: addr("2001:db8::2"), FDB: true},
			`{"id":20,"gateway":"2001:db8::2","flags":[],"fdb":null}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil || string(b) != tc.want {
				t.Errorf("json.Marshal: %v\ngot  %s\nwant %s", err, b, tc.want)
			}
			named := tc.named
			if named == "" {
				named = tc.want
			}
			if got := tc.v.AppendJSONNames([]byte("x"), testNames); string(got) != "x"+named {
				t.Errorf("AppendJSONNames:\ngot  %s\nwant x%s", got, named)
			}
			if got := tc.v.AppendJSONNames(nil, nil); string(got) != tc.want {
				t.Errorf("AppendJSONNames without names: %s", got)
			}
		})
	}
}

// TestMarshalJSONOfValuesAndSlices: the value types marshal as values, not
// only through pointers, and inside slices and structs.
// fullLink is a device link with every field that ip shows only with
// -details or -stats.
func fullLink(t testing.TB) *rtnl.Link {
	l := &rtnl.Link{Index: 2, Name: rtnl.MakeName("eth0"), Type: 1,
		Flags: rtnl.LinkBroadcast | rtnl.LinkMulticast | rtnl.LinkUp | rtnl.LinkRunning | rtnl.LinkLowerUp, MTU: 1500, OperState: rtnl.OperUp,
		TxQLen: 1000, Address: mustHW(t, "02:00:00:00:00:09"), Broadcast: mustHW(t, "ff:ff:ff:ff:ff:ff"),
		PermAddress: mustHW(t, "00:1b:21:0a:0b:0c"), ParentDev: "0000:01:00.0", ParentBus: "pci",
		MinMTU: 68, MaxMTU: 9702, NumTxQueues: 8, NumRxQueues: 8, CarrierChanges: 3, CarrierUpCount: 2, CarrierDownCount: 1,
		GSOMaxSize: 65536, GSOMaxSegs: 65535, GROMaxSize: 65536, TSOMaxSize: 65536, TSOMaxSegs: 65535,
		GSOIPv4MaxSize: 65536, GROIPv4MaxSize: 65536, HasStats: true,
		Stats: rtnl.LinkStats{RxBytes: 1000, RxPackets: 10, RxErrors: 1, RxDropped: 2, RxOverErrors: 3, Multicast: 4,
			RxLengthErrors: 5, RxCRCErrors: 6, RxFrameErrors: 7, RxFIFOErrors: 8, RxMissedErrors: 9, RxNoHandler: 11,
			TxBytes: 2000, TxPackets: 20, TxErrors: 21, TxDropped: 22, TxCarrierErrors: 23, Collisions: 24,
			TxAbortedErrors: 25, TxFIFOErrors: 26, TxWindowErrors: 27, TxHeartbeatErrors: 28}}
	l.SetAltNames("enp1s0", "enp1s0np0")
	return l
}

func TestMarshalJSONOfValuesAndSlices(t *testing.T) {
	r := rtnl.Route{Family: rtnl.FamilyInet, Protocol: rtnl.ProtoBoot, Dst: pfx("10.0.0.0/8"), OIF: 2}
	b, err := json.Marshal(struct {
		R  rtnl.Route
		RS []rtnl.Route
		L  rtnl.Link
		A  rtnl.Address
		N  rtnl.Neighbor
		NH rtnl.Nexthop
	}{R: r, RS: []rtnl.Route{r}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"R":{"dst":"10.0.0.0/8","dev_index":2,"flags":[]},"RS":[{"dst":"10.0.0.0/8","dev_index":2,"flags":[]}],` +
		`"L":{"ifindex":0,"ifname":"","flags":[],"operstate":"UNKNOWN","group":"default","link_type":"netrom"},` +
		`"A":{"index":0,"family_index":0,"scope":"global","dynamic":true},"N":{},"NH":{"id":0,"flags":[]}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestJSONStringsAreEscaped(t *testing.T) {
	l := rtnl.Link{Name: rtnl.MakeName("a\"b\\c\n\x01\xff€"), Alias: "\u2028<tab>\t"}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		IfName  string `json:"ifname"`
		IfAlias string `json:"ifalias"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if back.IfName != "a\"b\\c\n\x01\uFFFD€" || back.IfAlias != "\u2028<tab>\t" {
		t.Errorf("%s decodes to %q, %q", b, back.IfName, back.IfAlias)
	}
	names := func(uint32) string { return "quo\"te" }
	if !json.Valid((&rtnl.Route{OIF: 1}).AppendJSONNames(nil, names)) {
		t.Error("a name is not escaped")
	}
}

func TestJSONFormsAllocateOnlyTheirResult(t *testing.T) {
	route := routeCases[5].r
	link := rtnl.Link{Index: 5, Name: rtnl.MakeName("v2"), Type: 1, Flags: rtnl.LinkUp, MTU: 9000, Master: 4, Link: 3,
		OperState: rtnl.OperUp, Address: mustHW(t, "02:00:00:00:00:01"), Kind: rtnl.MakeName("veth")}
	address := rtnl.Address{Family: rtnl.FamilyInet, Index: 3, Prefix: pfx("10.0.0.1/24"), Label: rtnl.MakeName("v0"),
		Flags: rtnl.AddrPermanent, ValidLifetime: rtnl.LifetimeForever, PreferredLifetime: rtnl.LifetimeForever}
	neigh := rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.9"), LLAddr: mustHW(t, "02:00:00:00:00:09"),
		State: rtnl.NeighReachable, Flags: rtnl.NeighFlagRouter}
	nh := rtnl.Nexthop{ID: 10, Group: []rtnl.NexthopGroupMember{{ID: 1}, {ID: 2, Weight: 3}}, GroupType: rtnl.NexthopGroupResilient,
		Resilient: rtnl.NexthopResilient{Buckets: 32}}
	buf := make([]byte, 0, 1024)
	for _, tc := range []struct {
		name   string
		f      func()
		allocs float64
	}{
		{"Route.MarshalJSON", func() { _, _ = route.MarshalJSON() }, 1},
		{"Route.AppendJSONNames", func() { buf = route.AppendJSONNames(buf[:0], testNames) }, 0},
		{"Link.MarshalJSON", func() { _, _ = link.MarshalJSON() }, 1},
		{"Link.AppendJSONNames", func() { buf = link.AppendJSONNames(buf[:0], testNames) }, 0},
		{"Address.MarshalJSON", func() { _, _ = address.MarshalJSON() }, 1},
		{"Address.AppendJSONNames", func() { buf = address.AppendJSONNames(buf[:0], testNames) }, 0},
		{"Neighbor.MarshalJSON", func() { _, _ = neigh.MarshalJSON() }, 1},
		{"Neighbor.AppendJSONNames", func() { buf = neigh.AppendJSONNames(buf[:0], testNames) }, 0},
		{"Nexthop.MarshalJSON", func() { _, _ = nh.MarshalJSON() }, 1},
		{"Nexthop.AppendJSONNames", func() { buf = nh.AppendJSONNames(buf[:0], testNames) }, 0},
	} {
		if got := testing.AllocsPerRun(100, tc.f); got != tc.allocs {
			t.Errorf("%s: %v allocations, want %v", tc.name, got, tc.allocs)
		}
	}
}

func hwFrom(t testing.TB, b ...byte) rtnl.HardwareAddr {
	t.Helper()
	a, err := rtnl.HardwareAddrFrom(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
