package rtnl_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
)

var testIfNames = [...]string{1: "lo", 2: "v1", 3: "v0", 4: "br0", 5: "v2"}

// testNames names interfaces 1 to 5 as the tests' namespaces do; others
// have no name.
func testNames(i uint32) string {
	if int(i) < len(testIfNames) {
		return testIfNames[i]
	}
	return ""
}

var ifToken = regexp.MustCompile(`\bif([0-9]+)\b`)

// withTestNames replaces each "ifN" in s with testNames(N) where it has
// one: the form AppendTextNames gives of String's.
func withTestNames(s string) string {
	return ifToken.ReplaceAllStringFunc(s, func(tok string) string {
		n, _ := strconv.Atoi(tok[2:])
		if name := testNames(uint32(n)); name != "" {
			return name
		}
		return tok
	})
}

func TestRouteStringPrintsWhatIPRouteShows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     rtnl.Route
		want  string // String
		named string // AppendTextNames with testNames; "" when it is want
	}{
		{"connected route", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoKernel,
			Scope: rtnl.ScopeLink, Table: rtnl.TableMain, Dst: pfx("10.0.0.0/24"), OIF: 3, PrefSrc: addr("10.0.0.1")},
			"10.0.0.0/24 dev if3 proto kernel scope link src 10.0.0.1",
			"10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.1"},
		{"default route", routeCases[1].r,
			"default via 192.0.2.1 dev if2 proto dhcp src 192.0.2.10 metric 100",
			"default via 192.0.2.1 dev v1 proto dhcp src 192.0.2.10 metric 100"},
		{"carrier down", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoKernel,
			Scope: rtnl.ScopeLink, Table: rtnl.TableMain, Dst: pfx("10.0.1.0/24"), OIF: 2, PrefSrc: addr("10.0.1.1"),
			Flags: rtnl.RouteFlagLinkDown},
			"10.0.1.0/24 dev if2 proto kernel scope link src 10.0.1.1 linkdown", ""},
		{"dead onlink", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain, Protocol: rtnl.ProtoBoot,
			Dst: pfx("10.5.0.0/16"), Gateway: addr("192.0.2.1"), OIF: 9, Flags: rtnl.RouteFlagOnlink | rtnl.RouteFlagDead},
			"10.5.0.0/16 via 192.0.2.1 dev if9 dead onlink", ""},
		{"ipv4 multipath", routeCases[5].r,
			"10.9.1.0/24 proto unspec nexthop via 10.0.0.2 dev if3 weight 2 nexthop via 10.0.1.2 dev if2 weight 1 onlink " +
				"nexthop via inet6 2001:db8::9 dev if2 weight 256",
			"10.9.1.0/24 proto unspec nexthop via 10.0.0.2 dev v0 weight 2 nexthop via 10.0.1.2 dev v1 weight 1 onlink " +
				"nexthop via inet6 2001:db8::9 dev v1 weight 256"},
		{"ipv6 multipath with a hop down", routeCases[9].r,
			"2001:db8:1::/64 proto unspec metric 1024 pref medium nexthop via 2001:db8::2 dev if3 weight 1 " +
				"nexthop via 2001:db8::3 dev if3 weight 1 linkdown", ""},
		{"ipv4 route through an ipv6 gateway", routeCases[3].r, "10.9.3.0/24 via inet6 2001:db8::2 dev if3 proto unspec", ""},
		{"ipv6 connected route", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoKernel,
			Table: rtnl.TableMain, Dst: pfx("2001:db8::/64"), OIF: 3, Priority: 256},
			"2001:db8::/64 dev if3 proto kernel metric 256 pref medium", ""},
		{"ipv6 local route, metric 0", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteLocal, Protocol: rtnl.ProtoKernel,
			Table: rtnl.TableLocal, Dst: pfx("2001:db8::1/128"), OIF: 3},
			"local 2001:db8::1 dev if3 table local proto kernel metric 0 pref medium", ""},
		{"ipv6 route that expires", routeCases[6].r,
			"2001:db8:2::/64 via fe80::1 dev if3 proto ra metric 1024 expires 300sec pref high", ""},
		{"ipv6 route past its expiry", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot,
			Table: rtnl.TableMain, Dst: pfx("2001:db8:3::/64"), OIF: 3, Priority: 1024, Expires: -2},
			"2001:db8:3::/64 dev if3 metric 1024 expires -2sec pref medium", ""},
		{"ipv6 source-specific route", routeCases[7].r,
			"default from 2001:db8:5::/48 via fe80::2 dev if4 proto unspec metric 1024 pref medium", ""},
		{"blackhole with locked metrics", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteBlackhole, Protocol: rtnl.ProtoBoot,
			Table: 77, Dst: pfx("10.8.0.0/24"), Metrics: &rtnl.Metrics{Lock: 1 << 2, MTU: 1400, RTT: 80}},
			"blackhole 10.8.0.0/24 table 77 mtu lock 1400 rtt 10ms", ""},
		{"ipv6 unreachable", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnreachable, Protocol: rtnl.ProtoBoot,
			Table: rtnl.TableMain, Dst: pfx("2001:db8:dead::/48"), OIF: 1, Priority: 1024},
			"unreachable 2001:db8:dead::/48 dev if1 metric 1024 pref medium",
			"unreachable 2001:db8:dead::/48 dev lo metric 1024 pref medium"},
		{"prohibit in a named table", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteProhibit, Protocol: rtnl.ProtoStatic,
			Table: rtnl.TableDefault, Dst: pfx("192.168.0.1/32")}, "prohibit 192.168.0.1 table default proto static", ""},
		{"throw", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteThrow, Protocol: rtnl.ProtoBoot, Table: 1000,
			Dst: pfx("10.0.0.0/8"), Priority: 5}, "throw 10.0.0.0/8 table 1000 metric 5", ""},
		{"route through a nexthop object", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot,
			Table: rtnl.TableMain, Dst: pfx("10.3.0.0/24"), NexthopID: 7, Gateway: addr("10.0.0.2"), OIF: 3},
			"10.3.0.0/24 nhid 7 via 10.0.0.2 dev if3", ""},
		{"every scalar field", routeCases[10].r,
			"203.0.113.0/24 encap mpls tos 0x04 via 203.0.113.254 dev if5 table 7 proto bgp metric 20 onlink mark 0x42 iif if6",
			"203.0.113.0/24 encap mpls tos 0x04 via 203.0.113.254 dev v2 table 7 proto bgp metric 20 onlink mark 0x42 iif if6"},
		{"a small mark and a named TOS", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot,
			Table: rtnl.TableMain, Dst: pfx("10.4.0.0/24"), OIF: 3, Mark: 5, TOS: 0xb8}, "10.4.0.0/24 tos EF dev if3 mark 5", ""},
		{"metrics in ip's units", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot,
			Table: rtnl.TableMain, Dst: pfx("10.6.0.0/24"), OIF: 3, Metrics: &rtnl.Metrics{RTT: 8 * 1500, RTTVar: 4 * 20,
				AdvMSS: 1300, HopLimit: 64, Features: 1, RTOMin: 200, CongestionControl: "cubic", FastOpenNoCookie: 1}},
			"10.6.0.0/24 dev if3 rtt 1.5s rttvar 20ms advmss 1300 hoplimit 64 features ecn rto_min 200ms congctl cubic fastopen_no_cookie 1", ""},
		{"a locked metric without a value", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot,
			Table: rtnl.TableMain, Dst: pfx("10.6.1.0/24"), OIF: 3, Metrics: &rtnl.Metrics{Lock: 1 << 2}},
			"10.6.1.0/24 dev if3 mtu lock 0", ""},
		{"cached route: no protocol or scope", rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoRA,
			Scope: rtnl.ScopeLink, Table: rtnl.TableMain, Dst: pfx("2001:db8:7::1/128"), Gateway: addr("fe80::1"), OIF: 3,
			Flags: rtnl.RouteFlagCloned, Metrics: &rtnl.Metrics{MTU: 1300}, Expires: 500, Priority: 1024},
			"2001:db8:7::1 via fe80::1 dev if3 metric 1024 expires 500sec mtu 1300 pref medium", ""},
		{"a prefix of length 0 that is not unspecified", rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast,
			Protocol: rtnl.ProtoBoot, Table: rtnl.TableMain, Dst: pfx("10.0.0.0/0"), OIF: 3}, "10.0.0.0/0 dev if3", ""},
		{"the zero route", rtnl.Route{}, "default proto unspec", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.String(); got != tc.want {
				t.Errorf("String:\ngot  %q\nwant %q", got, tc.want)
			}
			if got := fmt.Sprint(tc.r); got != tc.want {
				t.Errorf("fmt.Sprint of the value: %q", got)
			}
			if got, err := tc.r.AppendText([]byte("> ")); err != nil || string(got) != "> "+tc.want {
				t.Errorf("AppendText: %q, %v", got, err)
			}
			if got := string(tc.r.AppendTextNames(nil, nil)); got != tc.want {
				t.Errorf("AppendTextNames without names: %q", got)
			}
			named := tc.named
			if named == "" {
				named = withTestNames(tc.want)
			}
			if got := string(tc.r.AppendTextNames(nil, testNames)); got != named {
				t.Errorf("AppendTextNames:\ngot  %q\nwant %q", got, named)
			}
		})
	}
}

func TestLinkStringPrintsWhatIPLinkShows(t *testing.T) {
	ether := mustHW(t, "02:00:00:00:00:01")
	bcast := mustHW(t, "ff:ff:ff:ff:ff:ff")
	zero6 := mustHW(t, "00:00:00:00:00:00")
	up := rtnl.LinkBroadcast | rtnl.LinkMulticast | rtnl.LinkUp | rtnl.LinkRunning | rtnl.LinkLowerUp
	peerNS := rtnl.Link{Index: 3, Name: rtnl.MakeName("v0"), Type: 1, Flags: up, MTU: 1500, Link: 2, OperState: rtnl.OperUp,
		TxQLen: 1000, Address: ether, Broadcast: bcast}
	peerNS.SetLinkNetNSID(0, true)
	tun4, _ := rtnl.HardwareAddrFrom([]byte{10, 0, 0, 1})
	tun4peer, _ := rtnl.HardwareAddrFrom([]byte{10, 0, 0, 2})
	for _, tc := range []struct {
		name  string
		l     rtnl.Link
		want  string
		named string
	}{
		{"loopback", rtnl.Link{Index: 1, Name: rtnl.MakeName("lo"), Type: 772, Flags: rtnl.LinkLoopback | rtnl.LinkUp |
			rtnl.LinkRunning | rtnl.LinkLowerUp, MTU: 65536, OperState: rtnl.OperUnknown, TxQLen: 1000, Address: zero6, Broadcast: zero6},
			"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN group default qlen 1000 link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00", ""},
		{"veth with its peer in the namespace", rtnl.Link{Index: 3, Name: rtnl.MakeName("v0"), Kind: rtnl.MakeName("veth"), Type: 1,
			Flags: up, MTU: 1500, Link: 2, OperState: rtnl.OperUp, TxQLen: 1000, Address: ether, Broadcast: bcast},
			"3: v0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff",
			"3: v0@v1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff"},
		// Index 2 of the peer's namespace is not v1 of this one.
		{"veth with its peer in another namespace", peerNS,
			"3: v0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netnsid 0",
			"3: v0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netnsid 0"},
		{"up without a carrier", rtnl.Link{Index: 2, Name: rtnl.MakeName("v1"), Type: 1, Flags: rtnl.LinkBroadcast |
			rtnl.LinkMulticast | rtnl.LinkUp, MTU: 1500, Link: 3, OperState: rtnl.OperLowerLayerDown, TxQLen: 1000, Address: ether, Broadcast: bcast},
			"2: v1@if3: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state LOWERLAYERDOWN group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff",
			"2: v1@v0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state LOWERLAYERDOWN group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff"},
		{"vlan on its parent", rtnl.Link{Index: 6, Name: rtnl.MakeName("v0.10"), Kind: rtnl.MakeName("vlan"), Type: 1, Flags: up,
			MTU: 1500, Link: 3, OperState: rtnl.OperUp, Address: ether, Broadcast: bcast},
			"6: v0.10@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP group default link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff",
			"6: v0.10@v0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP group default link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff"},
		{"bridge, down", rtnl.Link{Index: 4, Name: rtnl.MakeName("br0"), Kind: rtnl.MakeName("bridge"), Type: 1,
			Flags: rtnl.LinkBroadcast | rtnl.LinkMulticast, MTU: 1500, OperState: rtnl.OperDown, TxQLen: 1000, Address: ether, Broadcast: bcast},
			"4: br0: <BROADCAST,MULTICAST> mtu 1500 state DOWN group default qlen 1000 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff", ""},
		{"bridge port in a group, with an alias", rtnl.Link{Index: 5, Name: rtnl.MakeName("v2"), Type: 1, Flags: up, MTU: 9000,
			Master: 4, Group: 7, OperState: rtnl.OperUp, TxQLen: 50, Address: ether, Broadcast: bcast, Alias: "uplink port"},
			"5: v2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 master if4 state UP group 7 qlen 50 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff alias uplink port",
			"5: v2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9000 master br0 state UP group 7 qlen 50 link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff alias uplink port"},
		{"ipip tunnel", rtnl.Link{Index: 8, Name: rtnl.MakeName("tun0"), Type: 768, Flags: rtnl.LinkPointToPt | rtnl.LinkNoARP |
			rtnl.LinkUp | rtnl.LinkRunning | rtnl.LinkLowerUp, MTU: 1480, OperState: rtnl.OperUnknown, Address: tun4, Broadcast: tun4peer},
			"8: tun0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1480 state UNKNOWN group default link/ipip 10.0.0.1 peer 10.0.0.2", ""},
		{"unknown type, flags and state", rtnl.Link{Index: 9, Name: rtnl.MakeName("x"), Type: 4242, Flags: 1 << 20, OperState: 9},
			"9: x: <100000> state 0x9 group default link/[4242]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.String(); got != tc.want {
				t.Errorf("String:\ngot  %q\nwant %q", got, tc.want)
			}
			if got, err := tc.l.AppendText(nil); err != nil || string(got) != tc.want {
				t.Errorf("AppendText: %q, %v", got, err)
			}
			named := tc.named
			if named == "" {
				named = withTestNames(tc.want)
			}
			if got := string(tc.l.AppendTextNames(nil, testNames)); got != named {
				t.Errorf("AppendTextNames:\ngot  %q\nwant %q", got, named)
			}
		})
	}
}

func TestAddressStringPrintsWhatIPAddrShows(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    rtnl.Address
		want string // with testNames; String has "if3" for "v0"
	}{
		{"ipv4 with a broadcast address and label", rtnl.Address{Family: rtnl.FamilyInet, Index: 3, Prefix: pfx("10.0.0.1/24"),
			Broadcast: addr("10.0.0.255"), Label: rtnl.MakeName("v0"), Flags: rtnl.AddrPermanent,
			PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever},
			"3: v0 inet 10.0.0.1/24 brd 10.0.0.255 scope global v0 valid_lft forever preferred_lft forever"},
		{"ipv4 point-to-point", rtnl.Address{Family: rtnl.FamilyInet, Index: 3, Prefix: pfx("10.0.0.5/32"), Peer: addr("10.0.0.6"),
			Label: rtnl.MakeName("v0"), Flags: rtnl.AddrPermanent, PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever},
			"3: v0 inet 10.0.0.5 peer 10.0.0.6/32 scope global v0 valid_lft forever preferred_lft forever"},
		{"ipv4 secondary with a metric and a label of its own", rtnl.Address{Family: rtnl.FamilyInet, Index: 3, Prefix: pfx("10.0.0.2/24"),
			Label: rtnl.MakeName("v0:lab"), RoutePriority: 20, Flags: rtnl.AddrPermanent | rtnl.AddrSecondary | rtnl.AddrNoPrefixRoute,
			PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever},
			"3: v0 inet 10.0.0.2/24 metric 20 scope global secondary noprefixroute v0:lab valid_lft forever preferred_lft forever"},
		{"ipv6 without DAD", rtnl.Address{Family: rtnl.FamilyInet6, Index: 3, Prefix: pfx("2001:db8::1/64"),
			Flags: rtnl.AddrPermanent | rtnl.AddrNoDAD, PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever},
			"3: v0 inet6 2001:db8::1/64 scope global nodad valid_lft forever preferred_lft forever"},
		{"ipv6 link-local, tentative, added by the kernel", rtnl.Address{Family: rtnl.FamilyInet6, Index: 2, Prefix: pfx("fe80::1/64"),
			Scope: rtnl.ScopeLink, Flags: rtnl.AddrPermanent | rtnl.AddrTentative, Protocol: 3,
			PreferredLifetime: rtnl.LifetimeForever, ValidLifetime: rtnl.LifetimeForever},
			"2: v1 inet6 fe80::1/64 scope link tentative proto kernel_ll valid_lft forever preferred_lft forever"},
		{"ipv6 temporary address past its preferred lifetime", rtnl.Address{Family: rtnl.FamilyInet6, Index: 3,
			Prefix: pfx("2001:db8::abcd/64"), Flags: rtnl.AddrSecondary | rtnl.AddrDeprecated, PreferredLifetime: 0, ValidLifetime: 500},
			"3: v0 inet6 2001:db8::abcd/64 scope global temporary deprecated dynamic valid_lft 500sec preferred_lft 0sec"},
		{"ipv6 stable-privacy with finite lifetimes", rtnl.Address{Family: rtnl.FamilyInet6, Index: 3,
			Prefix: pfx("2001:db8::2/64"), Flags: rtnl.AddrStablePrivacy | rtnl.AddrManageTempAddr, PreferredLifetime: 3000, ValidLifetime: 4000},
			"3: v0 inet6 2001:db8::2/64 scope global dynamic mngtmpaddr stable-privacy valid_lft 4000sec preferred_lft 3000sec"},
		{"a request without lifetimes or family", rtnl.Address{Index: 9, Prefix: pfx("192.0.2.1/24"), Flags: rtnl.AddrPermanent | 1<<20},
			"9: if9 inet 192.0.2.1/24 scope global flags 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.a.AppendTextNames(nil, testNames)); got != tc.want {
				t.Errorf("AppendTextNames:\ngot  %q\nwant %q", got, tc.want)
			}
			want := tc.want
			if name := testNames(tc.a.Index); name != "" {
				want = strings.Replace(want, fmt.Sprintf("%d: %s ", tc.a.Index, name), fmt.Sprintf("%d: if%d ", tc.a.Index, tc.a.Index), 1)
			}
			if got := tc.a.String(); got != want {
				t.Errorf("String:\ngot  %q\nwant %q", got, want)
			}
			if got, err := tc.a.AppendText(nil); err != nil || string(got) != want {
				t.Errorf("AppendText: %q, %v", got, err)
			}
		})
	}
}

func TestNeighborStringPrintsWhatIPNeighAndBridgeFDBShow(t *testing.T) {
	hw := mustHW(t, "02:00:00:00:00:09")
	for _, tc := range []struct {
		name  string
		n     rtnl.Neighbor
		want  string
		named string
	}{
		{"permanent router", rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.9"), LLAddr: hw,
			State: rtnl.NeighPermanent, Flags: rtnl.NeighFlagRouter},
			"10.0.0.9 dev if3 lladdr 02:00:00:00:00:09 router PERMANENT", "10.0.0.9 dev v0 lladdr 02:00:00:00:00:09 router PERMANENT"},
		{"stale", rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.10"), LLAddr: hw, State: rtnl.NeighStale},
			"10.0.0.10 dev if3 lladdr 02:00:00:00:00:09 STALE", ""},
		{"ipv6, reachable", rtnl.Neighbor{Family: rtnl.FamilyInet6, Index: 2, Dst: addr("fe80::7"), LLAddr: hw, State: rtnl.NeighReachable},
			"fe80::7 dev if2 lladdr 02:00:00:00:00:09 REACHABLE", "fe80::7 dev v1 lladdr 02:00:00:00:00:09 REACHABLE"},
		{"failed, no address", rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.11"), State: rtnl.NeighFailed},
			"10.0.0.11 dev if3 FAILED", ""},
		{"proxy entry", rtnl.Neighbor{Family: rtnl.FamilyInet6, Index: 3, Dst: addr("2001:db8::5"), Flags: rtnl.NeighFlagProxy},
			"2001:db8::5 dev if3 proxy", ""},
		{"managed, learnt, offloaded, two states", rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.12"),
			FlagsExt: rtnl.NeighExtManaged, Flags: rtnl.NeighFlagExtLearned | rtnl.NeighFlagOffloaded,
			State: rtnl.NeighIncomplete | rtnl.NeighProbe},
			"10.0.0.12 dev if3 managed extern_learn offload INCOMPLETE PROBE", ""},
		{"bridge: the port's own address", rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 5, LLAddr: hw, Master: 4,
			Flags: rtnl.NeighFlagMaster, State: rtnl.NeighPermanent},
			"02:00:00:00:00:09 dev if5 master master if4 permanent", "02:00:00:00:00:09 dev v2 master master br0 permanent"},
		{"bridge: a learnt entry of a vlan", rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 5, LLAddr: hw, Master: 4, VLAN: 10,
			State: rtnl.NeighReachable}, "02:00:00:00:00:09 dev if5 vlan 10 master if4", ""},
		{"bridge: static, self, locked", rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 5, LLAddr: hw, Flags: rtnl.NeighFlagSelf |
			rtnl.NeighFlagSticky, FlagsExt: rtnl.NeighExtLocked, State: rtnl.NeighNoARP},
			"02:00:00:00:00:09 dev if5 self sticky locked static", ""},
		{"bridge: a vxlan remote", rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 6, Dst: addr("192.0.2.7"), State: rtnl.NeighStale | rtnl.NeighDelay},
			"dev if6 dst 192.0.2.7 stale", ""},
		{"bridge: a state bridge fdb has no word for", rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 6, LLAddr: hw, State: rtnl.NeighProbe},
			"02:00:00:00:00:09 dev if6 state=0x10", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n.String(); got != tc.want {
				t.Errorf("String:\ngot  %q\nwant %q", got, tc.want)
			}
			if got, err := tc.n.AppendText(nil); err != nil || string(got) != tc.want {
				t.Errorf("AppendText: %q, %v", got, err)
			}
			named := tc.named
			if named == "" {
				named = withTestNames(tc.want)
			}
			if got := string(tc.n.AppendTextNames(nil, testNames)); got != named {
				t.Errorf("AppendTextNames:\ngot  %q\nwant %q", got, named)
			}
		})
	}
}

func TestNexthopStringPutsEachWordWhereIPNexthopDoes(t *testing.T) {
	for _, tc := range []struct {
		n    rtnl.Nexthop
		want string
	}{
		{rtnl.Nexthop{ID: 2, Family: rtnl.FamilyInet, Blackhole: true, Protocol: rtnl.ProtoStatic}, "id 2 blackhole proto static"},
		{rtnl.Nexthop{ID: 3, Family: rtnl.FamilyInet6, Gateway: addr("fe80::1"), OIF: 3, Scope: rtnl.ScopeLink, EncapType: 1},
			"id 3 encap mpls via fe80::1 dev if3 scope link"},
		{rtnl.Nexthop{ID: 4, Group: []rtnl.NexthopGroupMember{{ID: 1}, {ID: 3, Weight: 300}}, Flags: rtnl.RouteFlagOffload | rtnl.RouteFlagTrap},
			"id 4 group 1/3,300 offload trap"},
		{rtnl.Nexthop{ID: 5, GroupType: rtnl.NexthopGroupResilient, Group: []rtnl.NexthopGroupMember{{ID: 1, Weight: 1}},
			Resilient: rtnl.NexthopResilient{Buckets: 8, IdleTimer: 120 * time.Second, UnbalancedTime: 2 * time.Millisecond * 5}},
			"id 5 group 1 type resilient buckets 8 idle_timer 120 unbalanced_timer 0 unbalanced_time 0.01"},
	} {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
		if got, err := tc.n.AppendText(nil); err != nil || string(got) != tc.want {
			t.Errorf("AppendText: %q, %v", got, err)
		}
	}
}

// TestTextFormsAllocateOnlyTheirResult: String allocates the string,
// AppendText and AppendTextNames into a buffer with room nothing.
func TestTextFormsAllocateOnlyTheirResult(t *testing.T) {
	route := routeCases[5].r // multipath
	link := rtnl.Link{Index: 5, Name: rtnl.MakeName("v2"), Type: 1, Flags: rtnl.LinkUp | rtnl.LinkBroadcast, MTU: 9000,
		Master: 4, Link: 3, OperState: rtnl.OperUp, Address: mustHW(t, "02:00:00:00:00:01")}
	address := rtnl.Address{Family: rtnl.FamilyInet6, Index: 3, Prefix: pfx("2001:db8::1/64"), Flags: rtnl.AddrNoDAD,
		ValidLifetime: 400, PreferredLifetime: 300}
	neigh := rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.0.0.9"), LLAddr: mustHW(t, "02:00:00:00:00:09"),
		State: rtnl.NeighReachable | rtnl.NeighPermanent, Flags: rtnl.NeighFlagRouter}
	fdb := rtnl.Neighbor{Family: rtnl.FamilyBridge, Index: 5, LLAddr: mustHW(t, "02:00:00:00:00:09"), Master: 4,
		Flags: rtnl.NeighFlagSelf, State: rtnl.NeighPermanent}
	nh := rtnl.Nexthop{ID: 10, Group: []rtnl.NexthopGroupMember{{ID: 1}, {ID: 2, Weight: 3}}, GroupType: rtnl.NexthopGroupResilient,
		Resilient: rtnl.NexthopResilient{Buckets: 32, IdleTimer: time.Second}}
	buf := make([]byte, 0, 1024)
	for _, tc := range []struct {
		name   string
		f      func()
		allocs float64
	}{
		{"Route.String", func() { _ = route.String() }, 1},
		{"Route.AppendText", func() { buf, _ = route.AppendText(buf[:0]) }, 0},
		{"Route.AppendTextNames", func() { buf = route.AppendTextNames(buf[:0], testNames) }, 0},
		{"Link.String", func() { _ = link.String() }, 1},
		{"Link.AppendTextNames", func() { buf = link.AppendTextNames(buf[:0], testNames) }, 0},
		{"Address.String", func() { _ = address.String() }, 1},
		{"Address.AppendTextNames", func() { buf = address.AppendTextNames(buf[:0], testNames) }, 0},
		{"Neighbor.String", func() { _ = neigh.String() }, 1},
		{"Neighbor.AppendTextNames", func() { buf = neigh.AppendTextNames(buf[:0], testNames) }, 0},
		{"Neighbor.AppendTextNames bridge", func() { buf = fdb.AppendTextNames(buf[:0], testNames) }, 0},
		{"Nexthop.String", func() { _ = nh.String() }, 1},
		{"Nexthop.AppendTextNames", func() { buf = nh.AppendTextNames(buf[:0], testNames) }, 0},
	} {
		if got := testing.AllocsPerRun(100, tc.f); got != tc.allocs {
			t.Errorf("%s: %v allocations, want %v", tc.name, got, tc.allocs)
		}
	}
}
