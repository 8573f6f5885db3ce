package rtnl_test

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// kindMessage builds the payload of an RTM_NEWLINK of a link of the given
// kind, named k0, with IFLA_LINK 2 and the IFLA_INFO_DATA that data
// appends (none if data is nil), as the kernel lays it out.
func kindMessage(kind string, data func(e *nl.AttributeEncoder)) []byte {
	return ifinfomsg(0, 7, 0, 0, func(e *nl.AttributeEncoder) {
		e.String(3, "k0") // IFLA_IFNAME
		e.Uint32(5, 2)    // IFLA_LINK
		m := e.BeginNested(18)
		if kind != "" {
			e.String(1, kind)
		}
		if data != nil {
			d := e.BeginNested(2)
			data(e)
			e.EndNested(d)
		}
		e.EndNested(m)
	})
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// The kernel's reports of each kind (its fill_info: every attribute, in
// its order and sizes) decode into the kind's type.
func TestLinkInfoDecodesKernelForms(t *testing.T) {
	ip4 := func(s string) []byte { a := addr(s).As4(); return a[:] }
	ip6 := func(s string) []byte { a := addr(s).As16(); return a[:] }
	for _, tc := range []struct {
		name string
		kind string
		data func(e *nl.AttributeEncoder)
		want rtnl.LinkInfo
	}{
		{"no kind", "", nil, nil},
		{"veth reports nothing of its peer", "veth", nil, rtnl.Veth{}},
		{"dummy", "dummy", nil, rtnl.Dummy{}},
		{"wireguard", "wireguard", nil, rtnl.WireGuard{}},
		{"vlan takes its parent from IFLA_LINK", "vlan", func(e *nl.AttributeEncoder) {
			e.Uint16(1, 10)                            // IFLA_VLAN_ID
			e.Raw(2, make([]byte, 8))                  // IFLA_VLAN_FLAGS
			e.Raw(5, be16(0x88a8))                     // IFLA_VLAN_PROTOCOL
			e.Nested(3, func(*nl.AttributeEncoder) {}) // IFLA_VLAN_EGRESS_QOS
		}, rtnl.VLAN{Parent: 2, ID: 10, Protocol: rtnl.VLAN8021AD}},
		{"bond", "bond", func(e *nl.AttributeEncoder) {
			e.Uint8(1, 4)    // IFLA_BOND_MODE
			e.Uint32(2, 0)   // IFLA_BOND_ACTIVE_SLAVE
			e.Uint32(3, 100) // IFLA_BOND_MIIMON
			e.Uint32(4, 0)   // IFLA_BOND_UPDELAY
		}, rtnl.Bond{Mode: rtnl.Bond8023AD, MIIMon: 100}},
		{"bridge", "bridge", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 1500)          // IFLA_BR_FORWARD_DELAY
			e.Uint32(5, 1)             // IFLA_BR_STP_STATE
			e.Uint8(7, 1)              // IFLA_BR_VLAN_FILTERING
			e.Uint64(16, 12345)        // IFLA_BR_HELLO_TIMER
			e.Raw(11, make([]byte, 8)) // IFLA_BR_ROOT_ID
		}, rtnl.Bridge{STP: true, VLANFiltering: true}},
		{"vrf", "vrf", func(e *nl.AttributeEncoder) { e.Uint32(1, 1001) }, rtnl.VRF{Table: 1001}},
		{"macvlan", "macvlan", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 4)    // IFLA_MACVLAN_MODE
			e.Uint16(2, 0)    // IFLA_MACVLAN_FLAGS
			e.Uint32(6, 0)    // IFLA_MACVLAN_MACADDR_COUNT
			e.Uint32(7, 1000) // IFLA_MACVLAN_BC_QUEUE_LEN
			e.Uint32(8, 1000) // IFLA_MACVLAN_BC_QUEUE_LEN_USED
		}, rtnl.MACVLAN{Parent: 2, Mode: rtnl.MACVLANBridge, BCQueueLen: 1000}},
		{"macvtap", "macvtap", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 8)
			e.Uint16(2, 1)
		}, rtnl.MACVLAN{Parent: 2, Tap: true, Mode: rtnl.MACVLANPassthru, Flags: rtnl.MACVLANNoPromisc}},
		{"ipvtap", "ipvtap", func(e *nl.AttributeEncoder) {
			e.Uint16(1, 2) // IFLA_IPVLAN_MODE l3s
			e.Uint16(2, 2) // IFLA_IPVLAN_FLAGS vepa
		}, rtnl.IPVLAN{Parent: 2, Tap: true, Mode: rtnl.IPVLANL3S, Flags: rtnl.IPVLANVEPA}},
		{"vxlan over IPv6, inheriting the TTL", "vxlan", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 42)
			e.Raw(16, ip6("ff05::42")) // IFLA_VXLAN_GROUP6
			e.Uint32(3, 2)             // IFLA_VXLAN_LINK
			e.Raw(17, ip6("2001:db8::2"))
			e.Uint8(5, 0)  // IFLA_VXLAN_TTL
			e.Uint8(28, 1) // IFLA_VXLAN_TTL_INHERIT, a u8 here
			e.Uint8(6, 0)  // IFLA_VXLAN_TOS
			e.Uint8(29, 0) // IFLA_VXLAN_DF
			e.Raw(26, be32(0xabcde))
			e.Uint8(7, 0)    // IFLA_VXLAN_LEARNING
			e.Uint8(11, 1)   // IFLA_VXLAN_PROXY
			e.Uint8(12, 1)   // IFLA_VXLAN_RSC
			e.Uint8(13, 0)   // IFLA_VXLAN_L2MISS
			e.Uint8(14, 1)   // IFLA_VXLAN_L3MISS
			e.Uint8(25, 0)   // IFLA_VXLAN_COLLECT_METADATA
			e.Uint32(8, 300) // IFLA_VXLAN_AGEING
			e.Uint32(9, 0)   // IFLA_VXLAN_LIMIT
			e.Raw(15, be16(4789))
			e.Uint8(18, 0) // IFLA_VXLAN_UDP_CSUM
			e.Raw(10, append(be16(1000), be16(2000)...))
			e.Flag(23) // IFLA_VXLAN_GBP
		}, rtnl.VXLAN{ID: 42, Group: addr("ff05::42"), Parent: 2, Local: addr("2001:db8::2"), TTLInherit: true, Label: 0xabcde,
			NoLearning: true, Proxy: true, RSC: true, L3Miss: true, Ageing: 300, Port: 4789, NoUDPCsum: true,
			PortLow: 1000, PortHigh: 2000, GBP: true}},
		{"geneve", "geneve", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 7)
			e.Raw(7, ip6("2001:db8::9")) // IFLA_GENEVE_REMOTE6
			e.Uint8(3, 0)
			e.Uint8(4, 0x10)
			e.Uint8(13, 2) // IFLA_GENEVE_DF inherit
			e.Raw(11, be32(5))
			e.Raw(5, be16(6081))
			e.Uint8(8, 1)  // IFLA_GENEVE_UDP_CSUM
			e.Uint8(12, 1) // IFLA_GENEVE_TTL_INHERIT
			e.Flag(6)      // IFLA_GENEVE_COLLECT_METADATA
		}, rtnl.Geneve{ID: 7, Remote: addr("2001:db8::9"), TOS: 0x10, DF: 2, Label: 5, Port: 6081, UDPCsum: true, TTLInherit: true, External: true}},
		{"ipip with an any local address", "ipip", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 0)
			e.Raw(2, ip4("0.0.0.0"))
			e.Raw(3, ip4("192.0.2.1"))
			e.Uint8(4, 0)
			e.Uint8(5, 1)
			e.Uint8(9, 4)  // IFLA_IPTUN_PROTO IPPROTO_IPIP
			e.Uint8(10, 0) // IFLA_IPTUN_PMTUDISC
			e.Uint32(20, 9)
			e.Uint16(15, 1) // FOU
			e.Uint16(16, 1)
			e.Raw(17, be16(5555))
			e.Raw(18, be16(5556))
			e.Flag(19)
		}, rtnl.IPTunnel{Kind: "ipip", Remote: addr("192.0.2.1"), TOS: 1, Proto: 4, NoPMTUDisc: true, FWMark: 9,
			Encap: rtnl.TunnelEncap{Type: 1, Flags: rtnl.TunnelEncapCsum, SPort: 5555, DPort: 5556}, External: true}},
		{"sit with 16-bit flags", "sit", func(e *nl.AttributeEncoder) {
			e.Raw(3, ip4("192.0.2.1"))
			e.Uint16(8, 1) // IFLA_IPTUN_FLAGS SIT_ISATAP
			e.Uint8(10, 1)
		}, rtnl.IPTunnel{Kind: "sit", Remote: addr("192.0.2.1"), Flags: 1}},
		{"ip6tnl with 32-bit flags", "ip6tnl", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 2)
			e.Raw(2, ip6("2001:db8::1"))
			e.Raw(3, ip6("2001:db8::2"))
			e.Uint8(4, 64)
			e.Uint8(6, 4)
			e.Raw(7, be32(0x00300000)) // IFLA_IPTUN_FLOWINFO: tclass 3
			e.Uint32(8, 0x10000)       // IP6_TNL_F_ALLOW_LOCAL_REMOTE
			e.Uint8(9, 41)
		}, rtnl.IPTunnel{Kind: "ip6tnl", Link: 2, Local: addr("2001:db8::1"), Remote: addr("2001:db8::2"), TTL: 64, EncapLimit: 4,
			FlowInfo: 0x00300000, Flags: 0x10000, Proto: 41}},
		{"gre with keys", "gre", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 0)
			e.Raw(2, be16(0x2000|0x8000))
			e.Raw(3, be16(0x2000))
			e.Raw(4, be32(5))
			e.Raw(5, be32(6))
			e.Raw(6, ip4("0.0.0.0"))
			e.Raw(7, ip4("192.0.2.1"))
			e.Uint8(8, 0)
			e.Uint8(9, 0)
			e.Uint8(10, 1)
			e.Uint8(19, 1) // IFLA_GRE_IGNORE_DF
			e.Uint32(20, 0)
			e.Uint16(14, 0)
		}, rtnl.GRE{Kind: "gre", IFlags: rtnl.GREKey | rtnl.GRECsum, OFlags: rtnl.GREKey, IKey: 5, OKey: 6, Remote: addr("192.0.2.1"), IgnoreDF: true}},
		{"ip6gretap", "ip6gretap", func(e *nl.AttributeEncoder) {
			e.Raw(7, ip6("2001:db8::7"))
			e.Uint8(8, 64)
			e.Uint8(11, 4)
			e.Uint32(12, 0)
			e.Uint32(13, 0)
			e.Flag(18)
		}, rtnl.GRE{Kind: "ip6gretap", Remote: addr("2001:db8::7"), TTL: 64, EncapLimit: 4, External: true}},
		{"netkit", "netkit", func(e *nl.AttributeEncoder) {
			e.Uint8(2, 1)  // IFLA_NETKIT_PRIMARY
			e.Uint32(3, 0) // IFLA_NETKIT_POLICY
			e.Uint32(4, 2) // IFLA_NETKIT_PEER_POLICY
			e.Uint32(5, 0) // IFLA_NETKIT_MODE l2
			e.Uint32(6, 1) // IFLA_NETKIT_SCRUB default
			e.Uint32(7, 0) // IFLA_NETKIT_PEER_SCRUB none
			e.Uint16(8, 32)
			e.Uint16(9, 0)
		}, rtnl.Netkit{Primary: true, PeerPolicy: rtnl.NetkitDrop, L2: true, PeerNoScrub: true, Headroom: 32}},
		{"tap", "tun", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 1000)
			e.Uint8(3, 2)
			e.Uint8(4, 0)
			e.Uint8(5, 1)
			e.Uint8(6, 1)
			e.Uint8(7, 1)
			e.Uint32(8, 2)
			e.Uint32(9, 1)
		}, rtnl.Tun{Owner: 1000, HasOwner: true, Tap: true, VNetHdr: true, Persist: true, MultiQueue: true, NumQueues: 2, NumDisabledQueues: 1}},
		{"an unknown kind keeps its attributes raw", "foo", func(e *nl.AttributeEncoder) { e.Uint32(1, 5) },
			rtnl.RawLinkInfo{Kind: "foo", Data: []byte{8, 0, 1, 0, 5, 0, 0, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l rtnl.Link
			if err := l.UnmarshalBinary(kindMessage(tc.kind, tc.data)); err != nil {
				t.Fatal(err)
			}
			got, err := l.Info()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Info:\n got  %#v\n want %#v", got, tc.want)
			}
			if got != nil && got.LinkKind() != tc.kind {
				t.Errorf("LinkKind %q, want %q", got.LinkKind(), tc.kind)
			}
		})
	}
}

// linkInfoCases survive SetInfo → encode → decode → Info unchanged.
var linkInfoCases = []rtnl.LinkInfo{
	rtnl.Dummy{}, rtnl.IFB{}, rtnl.WireGuard{},
	rtnl.VLAN{Parent: 3, ID: 100, Protocol: rtnl.VLAN8021Q},
	rtnl.Bridge{STP: true},
	rtnl.Bond{Mode: rtnl.BondActiveBackup, MIIMon: 50},
	rtnl.VRF{Table: 10},
	rtnl.MACVLAN{Parent: 3, Mode: rtnl.MACVLANSource, Flags: rtnl.MACVLANNoDst, BCQueueLen: 10},
	rtnl.MACVLAN{Parent: 3, Tap: true, Mode: rtnl.MACVLANPrivate},
	rtnl.IPVLAN{Parent: 3, Mode: rtnl.IPVLANL3, Flags: rtnl.IPVLANPrivate},
	rtnl.VXLAN{ID: 5, Group: addr("239.0.0.5"), Local: addr("10.0.0.1"), Parent: 3, Port: 4789, PortLow: 10, PortHigh: 20,
		TTL: 9, TOS: 1, NoLearning: true, Ageing: 30, Limit: 4, Proxy: true, RSC: true, L2Miss: true, L3Miss: true, NoUDPCsum: true,
		GBP: true, Label: 7},
	rtnl.VXLAN{External: true, TTLInherit: true},
	rtnl.Geneve{ID: 1 << 23, Remote: addr("2001:db8::1"), TTL: 3, TOS: 4, Label: 5, Port: 6082, UDPCsum: true, DF: 1},
	rtnl.Geneve{External: true, TTLInherit: true},
	rtnl.IPTunnel{Kind: "ipip", Link: 3, Local: addr("10.0.0.1"), Remote: addr("10.0.0.2"), TTL: 64, TOS: 2, NoPMTUDisc: true,
		Proto: 4, FWMark: 1, Encap: rtnl.TunnelEncap{Type: 2, Flags: 4, SPort: 1, DPort: 2}, External: true},
	rtnl.IPTunnel{Kind: "sit", Remote: addr("10.0.0.2"), Flags: 1, Proto: 41},
	rtnl.IPTunnel{Kind: "ip6tnl", Remote: addr("2001:db8::2"), TTL: 64, EncapLimit: 4, FlowInfo: 3, Flags: 1, Proto: 4},
	rtnl.GRE{Kind: "gre", Link: 3, Local: addr("10.0.0.1"), Remote: addr("10.0.0.2"), IKey: 1, OKey: 2, IFlags: rtnl.GREKey | rtnl.GRESeq,
		OFlags: rtnl.GREKey, TTL: 5, TOS: 6, NoPMTUDisc: true, IgnoreDF: true, FWMark: 8, Encap: rtnl.TunnelEncap{Type: 1}},
	rtnl.GRE{Kind: "ip6gre", Remote: addr("2001:db8::2"), TTL: 64, EncapLimit: 4, FlowInfo: 9, Flags: 2, External: true},
	rtnl.Netkit{L2: true, Policy: rtnl.NetkitDrop, PeerPolicy: rtnl.NetkitRedirect, NoScrub: true, PeerNoScrub: true, Headroom: 1, Tailroom: 2},
	rtnl.Tun{Tap: true, PI: true, VNetHdr: true, MultiQueue: true, Persist: true, Owner: 0, HasOwner: true, Group: 5, HasGroup: true, NumQueues: 3},
	rtnl.RawLinkInfo{Kind: "foo", Data: []byte{8, 0, 1, 0, 5, 0, 0, 0}},
}

func TestLinkInfoRoundTripsThroughSetInfo(t *testing.T) {
	for _, info := range linkInfoCases {
		l := rtnl.Link{Index: 4, Name: rtnl.MakeName("k0")}
		if err := l.SetInfo(info); err != nil {
			t.Fatalf("%T %+v: %v", info, info, err)
		}
		m, err := l.Message(rtnl.TypeNewLink, 0)
		if err != nil {
			t.Fatal(err)
		}
		back, err := rtnl.DecodeLink(m)
		if err != nil {
			t.Fatal(err)
		}
		if back != l {
			t.Errorf("%T: the link changed:\n got  %+v\n want %+v", info, back, l)
		}
		got, err := back.Info()
		if err != nil {
			t.Fatalf("%T: %v", info, err)
		}
		if !reflect.DeepEqual(got, info) {
			t.Errorf("round trip changed the info:\n got  %#v\n want %#v", got, info)
		}
	}
	l := rtnl.Link{Kind: rtnl.MakeName("vxlan")}
	if err := l.SetInfo(nil); err != nil || !l.Kind.IsZero() || l.InfoData() != nil {
		t.Errorf("SetInfo(nil): %v, kind %q, data %x", err, l.Kind, l.InfoData())
	}
}

// Info reports malformed attributes as errors naming the link and kind;
// decoding the link itself does not look at them.
func TestLinkInfoRejectsMalformedAttributes(t *testing.T) {
	for _, tc := range []struct {
		kind string
		data func(e *nl.AttributeEncoder)
	}{
		{"vxlan", func(e *nl.AttributeEncoder) { e.Uint16(1, 5) }},
		{"vxlan", func(e *nl.AttributeEncoder) { e.Raw(10, []byte{1, 2, 3}) }},
		{"vxlan", func(e *nl.AttributeEncoder) { e.Raw(2, []byte{1, 2, 3, 4, 5}) }},
		{"gre", func(e *nl.AttributeEncoder) { e.Raw(7, []byte{1, 2, 3, 4, 5}) }},
		{"ipip", func(e *nl.AttributeEncoder) { e.Uint32(4, 64) }},
		{"tun", func(e *nl.AttributeEncoder) { e.Uint32(3, 2) }},
		{"netkit", func(e *nl.AttributeEncoder) { e.Uint8(3, 2) }},
		{"vrf", func(e *nl.AttributeEncoder) { e.Uint16(1, 2) }},
		{"macvlan", func(e *nl.AttributeEncoder) { e.Raw(1, []byte{7, 0, 1, 0, 0, 0}) }},
		{"bridge", func(e *nl.AttributeEncoder) { e.Append([]byte{9, 0, 5}) }}, // a truncated attribute
	} {
		b := kindMessage(tc.kind, tc.data)
		var l rtnl.Link
		if err := l.UnmarshalBinary(b); err != nil {
			t.Errorf("%s: decoding the link: %v", tc.kind, err)
			continue
		}
		info, err := l.Info()
		if err == nil || !strings.Contains(err.Error(), "link k0: "+tc.kind) {
			t.Errorf("%s % x: Info = %+v, %v; want an error naming the link and kind", tc.kind, l.InfoData(), info, err)
		}
	}
}

func TestLinkInfoEncodingRejectsBadValues(t *testing.T) {
	for _, bad := range []rtnl.LinkInfo{
		rtnl.VRF{},
		rtnl.VXLAN{ID: 1 << 24},
		rtnl.VXLAN{Group: addr("10.0.0.1"), Local: addr("2001:db8::1")},
		rtnl.Geneve{ID: 1 << 24},
		rtnl.Geneve{DF: 3},
		rtnl.MACVLAN{Parent: 1, Mode: 3},
		rtnl.IPVLAN{Parent: 1, Mode: 3},
		rtnl.IPTunnel{Kind: "vti"},
		rtnl.IPTunnel{Remote: addr("2001:db8::1")},
		rtnl.IPTunnel{Kind: "ip6tnl", Local: addr("10.0.0.1")},
		rtnl.IPTunnel{Kind: "sit", Flags: 1 << 16},
		rtnl.GRE{Kind: "erspan"},
		rtnl.GRE{Kind: "ip6gretap", Remote: addr("10.0.0.1")},
		rtnl.GRE{Remote: addr("2001:db8::1")},
	} {
		if _, err := rtnl.NewLinkRequest(rtnl.Link{Name: rtnl.MakeName("k0")}, bad); err == nil {
			t.Errorf("%T %+v accepted", bad, bad)
		}
		var l rtnl.Link
		if err := l.SetInfo(bad); err == nil {
			t.Errorf("SetInfo(%T %+v) accepted", bad, bad)
		}
	}
	for _, bad := range []rtnl.LinkInfo{rtnl.MACVLAN{}, rtnl.IPVLAN{}} {
		if _, err := rtnl.NewLinkRequest(rtnl.Link{Name: rtnl.MakeName("k0")}, bad); err == nil {
			t.Errorf("%T without a parent accepted", bad)
		}
	}
	var l rtnl.Link
	if err := l.SetInfo(rtnl.RawLinkInfo{Kind: "sixteen-bytes-xx"}); err == nil {
		t.Error("SetInfo took a 16-byte kind")
	}
}

// A bridge's running timers, its querier's state and its count of learned
// entries change from dump to dump without a notification; the Link leaves
// them out, so == tells real changes.
func TestLinkLeavesOutTheBridgesTimers(t *testing.T) {
	bridge := func(stp uint32, timer uint64) rtnl.Link {
		var l rtnl.Link
		err := l.UnmarshalBinary(kindMessage("bridge", func(e *nl.AttributeEncoder) {
			e.Uint32(1, 1500)
			e.Uint32(5, stp)
			for typ := uint16(16); typ <= 19; typ++ { // HELLO, TCN, TOPOLOGY_CHANGE, GC timers
				e.Uint64(typ, timer)
			}
			e.Uint8(7, 0)
			q := e.BeginNested(47) // IFLA_BR_MCAST_QUERIER_STATE
			e.Uint64(3, timer)     // BRIDGE_QUERIER_IP_OTHER_TIMER
			e.EndNested(q)
			e.Uint32(48, uint32(timer)) // IFLA_BR_FDB_N_LEARNED
		}))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := bridge(0, 100), bridge(0, 250)
	if a != b {
		t.Errorf("links differing only in their bridge timers are not ==:\n% x\n% x", a.InfoData(), b.InfoData())
	}
	if c := bridge(1, 100); c == a {
		t.Error("links differing in STP are ==")
	}
	want := []byte{8, 0, 1, 0, 0xdc, 5, 0, 0, 8, 0, 5, 0, 0, 0, 0, 0, 5, 0, 7, 0, 0, 0, 0, 0}
	if got := a.InfoData(); !bytes.Equal(got, want) {
		t.Errorf("InfoData % x, want % x", got, want)
	}
}

// The attributes cost one allocation in decoding, and links without them
// none; Info costs one for the value it returns.
func TestLinkInfoAllocations(t *testing.T) {
	var v rtnl.Link
	if err := v.SetInfo(rtnl.VXLAN{ID: 5, Group: addr("10.0.0.1"), Port: 4789}); err != nil {
		t.Fatal(err)
	}
	vxlan, _ := v.MarshalBinary()
	veth, _ := (&rtnl.Link{Name: rtnl.MakeName("v0"), Kind: rtnl.MakeName("veth")}).MarshalBinary()
	var l rtnl.Link
	var err error
	for _, tc := range []struct {
		name string
		fn   func()
		want float64
	}{
		{"decode a veth", func() { err = l.UnmarshalBinary(veth) }, 0},
		{"decode a vxlan", func() { err = l.UnmarshalBinary(vxlan) }, 1},
		{"Info of the vxlan", func() { _, err = v.Info() }, 1},
	} {
		if got := testing.AllocsPerRun(100, tc.fn); got != tc.want {
			t.Errorf("%s: %v allocations, want %v", tc.name, got, tc.want)
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestLinkKindModeStrings(t *testing.T) {
	got := rtnl.MACVLANBridge.String() + " " + rtnl.MACVLANMode(3).String() + " " + rtnl.IPVLANL3S.String() + " " + rtnl.IPVLANMode(9).String()
	if want := "bridge 3 l3s 9"; got != want {
		t.Errorf("mode strings %q, want %q", got, want)
	}
}
