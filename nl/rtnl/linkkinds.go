package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/nlrx/nlrx/nl"
)

// The kinds of this file encode their IFLA_INFO_DATA for AddLink and
// NewLinkRequest, and decode the kernel's (Link.Info). Attribute numbers
// are the kernel's (include/uapi/linux/if_link.h, if_tunnel.h).

// Dummy is a dummy device (`ip link add NAME type dummy`): it drops what
// it is sent. The kernel's dummy module must be present. It has no options.
type Dummy struct{}

// LinkKind returns "dummy".
func (Dummy) LinkKind() string { return "dummy" }

// AppendLinkData appends nothing.
func (Dummy) AppendLinkData(*nl.AttributeEncoder) error { return nil }

// IFB is an intermediate functional block device (`ip link add NAME type
// ifb`), to which tc redirects traffic for shaping. It has no options.
type IFB struct{}

// LinkKind returns "ifb".
func (IFB) LinkKind() string { return "ifb" }

// AppendLinkData appends nothing.
func (IFB) AppendLinkData(*nl.AttributeEncoder) error { return nil }

// WireGuard is a WireGuard device (`ip link add NAME type wireguard`). Its
// keys and peers are configured over generic netlink, not here; the kernel
// reports no IFLA_INFO_DATA for it.
type WireGuard struct{}

// LinkKind returns "wireguard".
func (WireGuard) LinkKind() string { return "wireguard" }

// AppendLinkData appends nothing.
func (WireGuard) AppendLinkData(*nl.AttributeEncoder) error { return nil }

// VRF is a virtual routing and forwarding device (`ip link add NAME type
// vrf table N`): links enslaved to it (WithMaster) route in Table. The
// kernel's vrf module must be present.
type VRF struct {
	Table uint32 // IFLA_VRF_TABLE; required
}

// LinkKind returns "vrf".
func (VRF) LinkKind() string { return "vrf" }

// AppendLinkData appends IFLA_VRF_TABLE; a zero Table is an error, as the
// kernel has it.
func (v VRF) AppendLinkData(e *nl.AttributeEncoder) error {
	if v.Table == 0 {
		return fmt.Errorf("rtnl: vrf needs a table")
	}
	e.Uint32(vrfAttrTable, v.Table)
	return nil
}

// MACVLANMode is how macvlan links on one parent reach each other
// (IFLA_MACVLAN_MODE, MACVLAN_MODE_*).
type MACVLANMode uint32

// macvlan modes.
const (
	MACVLANPrivate  MACVLANMode = 1  // MACVLAN_MODE_PRIVATE: "private"
	MACVLANVEPA     MACVLANMode = 2  // MACVLAN_MODE_VEPA: "vepa", the kernel's default
	MACVLANBridge   MACVLANMode = 4  // MACVLAN_MODE_BRIDGE: "bridge"
	MACVLANPassthru MACVLANMode = 8  // MACVLAN_MODE_PASSTHRU: "passthru"
	MACVLANSource   MACVLANMode = 16 // MACVLAN_MODE_SOURCE: "source"
)

// String returns the name ip uses for the mode, or the number.
func (m MACVLANMode) String() string {
	switch m {
	case MACVLANPrivate:
		return "private"
	case MACVLANVEPA:
		return "vepa"
	case MACVLANBridge:
		return "bridge"
	case MACVLANPassthru:
		return "passthru"
	case MACVLANSource:
		return "source"
	}
	return strconv.Itoa(int(m))
}

// macvlan flags (IFLA_MACVLAN_FLAGS).
const (
	MACVLANNoPromisc uint16 = 1 // MACVLAN_FLAG_NOPROMISC: passthru mode leaves the parent's promiscuity alone
	MACVLANNoDst     uint16 = 2 // MACVLAN_FLAG_NODST: source mode does not hand packets on by destination
)

// MACVLAN is a macvlan link, or with Tap a macvtap link, on a parent
// (`ip link add link PARENT NAME type macvlan|macvtap mode MODE`): a
// second MAC address on the parent's wire.
type MACVLAN struct {
	Parent uint32      // index of the parent link (IFLA_LINK); required
	Tap    bool        // kind "macvtap" (a character device per link) instead of "macvlan"
	Mode   MACVLANMode // IFLA_MACVLAN_MODE; 0 sends nothing (the kernel's default, vepa)
	Flags  uint16      // IFLA_MACVLAN_FLAGS: MACVLANNoPromisc, MACVLANNoDst; 0 sends nothing
	// BCQueueLen is IFLA_MACVLAN_BC_QUEUE_LEN, the queue of broadcast
	// and multicast packets; 0 sends nothing (the kernel's 1000).
	BCQueueLen uint32
}

// LinkKind returns "macvlan", or "macvtap" with Tap.
func (m MACVLAN) LinkKind() string {
	if m.Tap {
		return "macvtap"
	}
	return "macvlan"
}

func (m MACVLAN) linkParent() uint32 { return m.Parent }

// AppendLinkData appends the options that are set.
func (m MACVLAN) AppendLinkData(e *nl.AttributeEncoder) error {
	switch m.Mode {
	case 0, MACVLANPrivate, MACVLANVEPA, MACVLANBridge, MACVLANPassthru, MACVLANSource:
	default:
		return fmt.Errorf("rtnl: macvlan mode %d unknown", m.Mode)
	}
	if m.Mode != 0 {
		e.Uint32(macvlanAttrMode, uint32(m.Mode))
	}
	if m.Flags != 0 {
		e.Uint16(macvlanAttrFlags, m.Flags)
	}
	if m.BCQueueLen != 0 {
		e.Uint32(macvlanAttrBCQueueLen, m.BCQueueLen)
	}
	return nil
}

func (m *MACVLAN) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case macvlanAttrMode:
			m.Mode = MACVLANMode(d.Uint32())
		case macvlanAttrFlags:
			m.Flags = d.Uint16()
		case macvlanAttrBCQueueLen:
			m.BCQueueLen = d.Uint32()
		}
	}
}

// IPVLANMode is the layer at which an ipvlan link works (IFLA_IPVLAN_MODE).
type IPVLANMode uint16

// ipvlan modes.
const (
	IPVLANL2  IPVLANMode = 0 // IPVLAN_MODE_L2: "l2", the default
	IPVLANL3  IPVLANMode = 1 // IPVLAN_MODE_L3: "l3"
	IPVLANL3S IPVLANMode = 2 // IPVLAN_MODE_L3S: "l3s"
)

// String returns the name ip uses for the mode, or the number.
func (m IPVLANMode) String() string {
	switch m {
	case IPVLANL2:
		return "l2"
	case IPVLANL3:
		return "l3"
	case IPVLANL3S:
		return "l3s"
	}
	return strconv.Itoa(int(m))
}

// ipvlan flags (IFLA_IPVLAN_FLAGS); none is "bridge".
const (
	IPVLANPrivate uint16 = 1 // IPVLAN_F_PRIVATE: "private"
	IPVLANVEPA    uint16 = 2 // IPVLAN_F_VEPA: "vepa"
)

// IPVLAN is an ipvlan link, or with Tap an ipvtap link, on a parent (`ip
// link add link PARENT NAME type ipvlan mode l3`): the parent's MAC
// address, addresses of its own. The kernel's ipvlan module must be present.
type IPVLAN struct {
	Parent uint32     // index of the parent link (IFLA_LINK); required
	Tap    bool       // kind "ipvtap" instead of "ipvlan"
	Mode   IPVLANMode // IFLA_IPVLAN_MODE; 0 sends nothing (l2, the kernel's default)
	Flags  uint16     // IFLA_IPVLAN_FLAGS: IPVLANPrivate or IPVLANVEPA; 0 sends nothing
}

// LinkKind returns "ipvlan", or "ipvtap" with Tap.
func (v IPVLAN) LinkKind() string {
	if v.Tap {
		return "ipvtap"
	}
	return "ipvlan"
}

func (v IPVLAN) linkParent() uint32 { return v.Parent }

// AppendLinkData appends IFLA_IPVLAN_MODE and IFLA_IPVLAN_FLAGS, if set.
func (v IPVLAN) AppendLinkData(e *nl.AttributeEncoder) error {
	if v.Mode > IPVLANL3S {
		return fmt.Errorf("rtnl: ipvlan mode %d unknown", v.Mode)
	}
	if v.Mode != 0 {
		e.Uint16(ipvlanAttrMode, uint16(v.Mode))
	}
	if v.Flags != 0 {
		e.Uint16(ipvlanAttrFlags, v.Flags)
	}
	return nil
}

func (v *IPVLAN) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case ipvlanAttrMode:
			v.Mode = IPVLANMode(d.Uint16())
		case ipvlanAttrFlags:
			v.Flags = d.Uint16()
		}
	}
}

// VXLAN is a VXLAN tunnel endpoint (`ip link add NAME type vxlan id VNI
// …`). The fields' zero values send nothing and leave the kernel's
// defaults (learning on, ageing 300 s, destination port 8472), except
// where said.
type VXLAN struct {
	ID uint32 // IFLA_VXLAN_ID, the VNI (below 1<<24); sent unless External and 0
	// Group is the remote end (`remote`) or the multicast group
	// (`group`): IFLA_VXLAN_GROUP for IPv4, IFLA_VXLAN_GROUP6 for IPv6.
	Group netip.Addr
	// Local is the source address (IFLA_VXLAN_LOCAL or IFLA_VXLAN_LOCAL6),
	// of Group's family when both are set.
	Local  netip.Addr
	Parent uint32 // IFLA_VXLAN_LINK: the underlay device (`dev`)
	Port   uint16 // IFLA_VXLAN_PORT, the UDP destination port (`dstport`)
	// PortLow and PortHigh are IFLA_VXLAN_PORT_RANGE, the UDP source
	// ports (`srcport LOW HIGH`); sent when PortHigh is set.
	PortLow, PortHigh uint16
	TTL               uint8 // IFLA_VXLAN_TTL; 0 sends nothing
	TTLInherit        bool  // IFLA_VXLAN_TTL_INHERIT (`ttl inherit`)
	TOS               uint8 // IFLA_VXLAN_TOS; 0 sends nothing
	// NoLearning clears IFLA_VXLAN_LEARNING (`nolearning`); the
	// attribute is always sent, as ip sends it.
	NoLearning bool
	Ageing     uint32 // IFLA_VXLAN_AGEING, seconds
	Limit      uint32 // IFLA_VXLAN_LIMIT: most forwarding entries
	Proxy      bool   // IFLA_VXLAN_PROXY: answer ARP from the forwarding table
	RSC        bool   // IFLA_VXLAN_RSC: route short-circuit
	L2Miss     bool   // IFLA_VXLAN_L2MISS
	L3Miss     bool   // IFLA_VXLAN_L3MISS
	// NoUDPCsum sends IFLA_VXLAN_UDP_CSUM 0 (`noudpcsum`): no UDP
	// checksum over IPv4, where the kernel makes one by default.
	NoUDPCsum bool
	// External is IFLA_VXLAN_COLLECT_METADATA (`external`): the tunnel
	// takes its VNI and remote from each packet's metadata.
	External bool
	GBP      bool   // IFLA_VXLAN_GBP: group policy extension
	Label    uint32 // IFLA_VXLAN_LABEL: IPv6 flow label
}

// LinkKind returns "vxlan".
func (VXLAN) LinkKind() string { return "vxlan" }

// AppendLinkData appends the options that are set, and
// IFLA_VXLAN_LEARNING.
func (v VXLAN) AppendLinkData(e *nl.AttributeEncoder) error {
	if v.ID >= 1<<24 {
		return fmt.Errorf("rtnl: vxlan id %d above %d", v.ID, 1<<24-1)
	}
	if v.Group.IsValid() && v.Local.IsValid() && v.Group.Is4() != v.Local.Is4() {
		return fmt.Errorf("rtnl: vxlan group %v and local %v of different families", v.Group, v.Local)
	}
	if v.Port != 0 {
		e.Uint16BE(vxlanAttrPort, v.Port)
	}
	if !v.External || v.ID != 0 {
		e.Uint32(vxlanAttrID, v.ID)
	}
	putAddr46(e, vxlanAttrGroup, vxlanAttrGroup6, v.Group)
	if v.Parent != 0 {
		e.Uint32(vxlanAttrLink, v.Parent)
	}
	putAddr46(e, vxlanAttrLocal, vxlanAttrLocal6, v.Local)
	if v.TTL != 0 {
		e.Uint8(vxlanAttrTTL, v.TTL)
	}
	if v.TTLInherit {
		e.Flag(vxlanAttrTTLInherit)
	}
	if v.TOS != 0 {
		e.Uint8(vxlanAttrTOS, v.TOS)
	}
	e.Uint8(vxlanAttrLearning, b2u8(!v.NoLearning))
	if v.Ageing != 0 {
		e.Uint32(vxlanAttrAgeing, v.Ageing)
	}
	if v.Limit != 0 {
		e.Uint32(vxlanAttrLimit, v.Limit)
	}
	if v.PortHigh != 0 {
		var r [4]byte
		binary.BigEndian.PutUint16(r[0:], v.PortLow)
		binary.BigEndian.PutUint16(r[2:], v.PortHigh)
		e.Raw(vxlanAttrPortRange, r[:])
	}
	for _, o := range [...]struct {
		on   bool
		attr uint16
	}{{v.Proxy, vxlanAttrProxy}, {v.RSC, vxlanAttrRSC}, {v.L2Miss, vxlanAttrL2Miss}, {v.L3Miss, vxlanAttrL3Miss},
		{v.External, vxlanAttrCollectMetadata}} {
		if o.on {
			e.Uint8(o.attr, 1)
		}
	}
	if v.NoUDPCsum {
		e.Uint8(vxlanAttrUDPCsum, 0)
	}
	if v.GBP {
		e.Flag(vxlanAttrGBP)
	}
	if v.Label != 0 {
		e.Uint32BE(vxlanAttrLabel, v.Label)
	}
	return nil
}

func (v *VXLAN) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case vxlanAttrID:
			v.ID = d.Uint32()
		case vxlanAttrGroup, vxlanAttrGroup6:
			v.Group = d.Addr()
		case vxlanAttrLocal, vxlanAttrLocal6:
			v.Local = d.Addr()
		case vxlanAttrLink:
			v.Parent = d.Uint32()
		case vxlanAttrPort:
			v.Port = d.Uint16BE()
		case vxlanAttrPortRange:
			if d.Len() != 4 {
				d.Propagate(fmt.Errorf("IFLA_VXLAN_PORT_RANGE of %d bytes, want 4", d.Len()))
				continue
			}
			v.PortLow, v.PortHigh = binary.BigEndian.Uint16(d.Bytes()), binary.BigEndian.Uint16(d.Bytes()[2:])
		case vxlanAttrTTL:
			v.TTL = d.Uint8()
		case vxlanAttrTTLInherit:
			// A flag in requests; the kernel reports it as a u8.
			v.TTLInherit = d.Len() == 0 || d.Uint8() != 0
		case vxlanAttrTOS:
			v.TOS = d.Uint8()
		case vxlanAttrLearning:
			v.NoLearning = d.Uint8() == 0
		case vxlanAttrAgeing:
			v.Ageing = d.Uint32()
		case vxlanAttrLimit:
			v.Limit = d.Uint32()
		case vxlanAttrProxy:
			v.Proxy = d.Uint8() != 0
		case vxlanAttrRSC:
			v.RSC = d.Uint8() != 0
		case vxlanAttrL2Miss:
			v.L2Miss = d.Uint8() != 0
		case vxlanAttrL3Miss:
			v.L3Miss = d.Uint8() != 0
		case vxlanAttrUDPCsum:
			v.NoUDPCsum = d.Uint8() == 0
		case vxlanAttrCollectMetadata:
			v.External = d.Uint8() != 0
		case vxlanAttrGBP:
			v.GBP = true
		case vxlanAttrLabel:
			v.Label = d.Uint32BE()
		}
	}
}

// Geneve is a Geneve tunnel endpoint (`ip link add NAME type geneve id
// VNI remote ADDR`). The kernel's geneve module must be present.
type Geneve struct {
	ID uint32 // IFLA_GENEVE_ID, the VNI (below 1<<24), always sent
	// Remote is IFLA_GENEVE_REMOTE (IPv4) or IFLA_GENEVE_REMOTE6.
	Remote     netip.Addr
	TTL        uint8  // IFLA_GENEVE_TTL, always sent (0: the route's)
	TTLInherit bool   // IFLA_GENEVE_TTL_INHERIT (`ttl inherit`)
	TOS        uint8  // IFLA_GENEVE_TOS, always sent
	Label      uint32 // IFLA_GENEVE_LABEL, the IPv6 flow label, always sent
	Port       uint16 // IFLA_GENEVE_PORT, the UDP destination port; 0 sends nothing (6081)
	// External is IFLA_GENEVE_COLLECT_METADATA (`external`).
	External bool
	UDPCsum  bool  // IFLA_GENEVE_UDP_CSUM; false sends nothing
	DF       uint8 // IFLA_GENEVE_DF: 0 unset, 1 set, 2 inherit; 0 sends nothing
}

// LinkKind returns "geneve".
func (Geneve) LinkKind() string { return "geneve" }

// AppendLinkData appends the options, as ip does: the VNI, TTL, TOS and
// label always, the rest when set.
func (g Geneve) AppendLinkData(e *nl.AttributeEncoder) error {
	if g.ID >= 1<<24 {
		return fmt.Errorf("rtnl: geneve id %d above %d", g.ID, 1<<24-1)
	}
	if g.DF > 2 {
		return fmt.Errorf("rtnl: geneve df %d unknown", g.DF)
	}
	e.Uint32(geneveAttrID, g.ID)
	putAddr46(e, geneveAttrRemote, geneveAttrRemote6, g.Remote)
	e.Uint8(geneveAttrTTL, g.TTL)
	if g.TTLInherit {
		e.Uint8(geneveAttrTTLInherit, 1)
	}
	e.Uint8(geneveAttrTOS, g.TOS)
	e.Uint32BE(geneveAttrLabel, g.Label)
	if g.Port != 0 {
		e.Uint16BE(geneveAttrPort, g.Port)
	}
	if g.External {
		e.Flag(geneveAttrCollectMetadata)
	}
	if g.UDPCsum {
		e.Uint8(geneveAttrUDPCsum, 1)
	}
	if g.DF != 0 {
		e.Uint8(geneveAttrDF, g.DF)
	}
	return nil
}

func (g *Geneve) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case geneveAttrID:
			g.ID = d.Uint32()
		case geneveAttrRemote, geneveAttrRemote6:
			g.Remote = d.Addr()
		case geneveAttrTTL:
			g.TTL = d.Uint8()
		case geneveAttrTTLInherit:
			g.TTLInherit = d.Uint8() != 0
		case geneveAttrTOS:
			g.TOS = d.Uint8()
		case geneveAttrLabel:
			g.Label = d.Uint32BE()
		case geneveAttrPort:
			g.Port = d.Uint16BE()
		case geneveAttrCollectMetadata:
			g.External = true
		case geneveAttrUDPCsum:
			g.UDPCsum = d.Uint8() != 0
		case geneveAttrDF:
			g.DF = d.Uint8()
		}
	}
}

// TunnelEncap is the UDP encapsulation (FOU or GUE) of an IPTunnel or a
// GRE tunnel (`encap fou|gue encap-sport … encap-dport …`): the
// IFLA_IPTUN_ENCAP_* or IFLA_GRE_ENCAP_* attributes, always sent.
type TunnelEncap struct {
	Type  uint16 // TUNNEL_ENCAP_NONE 0, TUNNEL_ENCAP_FOU 1, TUNNEL_ENCAP_GUE 2
	Flags uint16 // TUNNEL_ENCAP_FLAG_CSUM 1, _CSUM6 2, _REMCSUM 4
	SPort uint16 // UDP source port, 0 for any
	DPort uint16 // UDP destination port
}

// Tunnel encapsulation flags (TunnelEncap.Flags).
const (
	TunnelEncapCsum    uint16 = 1 // TUNNEL_ENCAP_FLAG_CSUM
	TunnelEncapCsum6   uint16 = 2 // TUNNEL_ENCAP_FLAG_CSUM6
	TunnelEncapRemCsum uint16 = 4 // TUNNEL_ENCAP_FLAG_REMCSUM
)

func (t TunnelEncap) put(e *nl.AttributeEncoder, first uint16) {
	e.Uint16(first, t.Type)
	e.Uint16(first+1, t.Flags)
	e.Uint16BE(first+2, t.SPort)
	e.Uint16BE(first+3, t.DPort)
}

// decode reads the attribute at d if it is one of the four from first on,
// and reports whether it was.
func (t *TunnelEncap) decode(d *nl.AttributeDecoder, first uint16) bool {
	switch d.Type() {
	case first:
		t.Type = d.Uint16()
	case first + 1:
		t.Flags = d.Uint16()
	case first + 2:
		t.SPort = d.Uint16BE()
	case first + 3:
		t.DPort = d.Uint16BE()
	default:
		return false
	}
	return true
}

// IPTunnel is an IP-in-IP tunnel (`ip link add NAME type ipip|sit|ip6tnl
// remote ADDR …`): kind "ipip" (IPv4 in IPv4, the default), "sit" (IPv6,
// or with Proto also IPv4 and MPLS, in IPv4) or "ip6tnl" (IPv4 or IPv6 in
// IPv6), with the IFLA_IPTUN_* attributes. The kernel's ipip, sit or
// ip6_tunnel module must be present. Like ip, AppendLinkData sends every
// attribute of the kind, zeros included: a zero TTL or TOS of ipip and sit
// is inherited from the inner packet, but the zero values are sent as
// they are for an ip6tnl, for which ip's defaults are a TTL (hop limit)
// of 64, an EncapLimit of 4 and TunnelEncapCsum6.
type IPTunnel struct {
	Kind string // "ipip", "sit" or "ip6tnl"; empty is "ipip"
	Link uint32 // IFLA_IPTUN_LINK: the underlay device (`dev`)
	// Local and Remote are IFLA_IPTUN_LOCAL and IFLA_IPTUN_REMOTE: IPv4
	// for ipip and sit, IPv6 for ip6tnl. An invalid one is not sent (any).
	Local, Remote netip.Addr
	TTL           uint8 // IFLA_IPTUN_TTL (an ip6tnl's hop limit)
	TOS           uint8 // IFLA_IPTUN_TOS (ipip and sit)
	// NoPMTUDisc clears IFLA_IPTUN_PMTUDISC (ipip and sit; `nopmtudisc`).
	NoPMTUDisc bool
	// Proto is IFLA_IPTUN_PROTO, the inner protocol: IPPROTO_IPIP 4,
	// IPPROTO_IPV6 41, IPPROTO_MPLS 137, or 0 for any the kind takes.
	Proto      uint8
	Flags      uint32 // IFLA_IPTUN_FLAGS: SIT_ISATAP for sit (16 bits), IP6_TNL_F_* for ip6tnl
	EncapLimit uint8  // IFLA_IPTUN_ENCAP_LIMIT (ip6tnl)
	FlowInfo   uint32 // IFLA_IPTUN_FLOWINFO (ip6tnl): traffic class and flow label, as in the IPv6 header's first word
	FWMark     uint32 // IFLA_IPTUN_FWMARK
	Encap      TunnelEncap
	// External is IFLA_IPTUN_COLLECT_METADATA (`external`).
	External bool
}

// LinkKind returns Kind, or "ipip" if it is empty.
func (t IPTunnel) LinkKind() string {
	if t.Kind == "" {
		return "ipip"
	}
	return t.Kind
}

// AppendLinkData appends the IFLA_IPTUN_* attributes of the kind.
func (t IPTunnel) AppendLinkData(e *nl.AttributeEncoder) error {
	v6 := false
	switch t.LinkKind() {
	case "ipip", "sit":
	case "ip6tnl":
		v6 = true
	default:
		return fmt.Errorf("rtnl: ip tunnel kind %q unknown (ipip, sit or ip6tnl)", t.Kind)
	}
	for _, a := range [...]netip.Addr{t.Local, t.Remote} {
		if a.IsValid() && a.Is6() != v6 {
			return fmt.Errorf("rtnl: %s tunnel with address %v of the wrong family", t.LinkKind(), a)
		}
	}
	e.Uint32(iptunAttrLink, t.Link)
	if t.Local.IsValid() {
		e.Addr(iptunAttrLocal, t.Local)
	}
	if t.Remote.IsValid() {
		e.Addr(iptunAttrRemote, t.Remote)
	}
	e.Uint8(iptunAttrTTL, t.TTL)
	if v6 {
		e.Uint8(iptunAttrEncapLimit, t.EncapLimit)
		e.Uint32BE(iptunAttrFlowInfo, t.FlowInfo)
		e.Uint32(iptunAttrFlags, t.Flags)
	} else {
		e.Uint8(iptunAttrTOS, t.TOS)
		e.Uint8(iptunAttrPMTUDisc, b2u8(!t.NoPMTUDisc))
		if t.LinkKind() == "sit" {
			if t.Flags > 0xffff {
				return fmt.Errorf("rtnl: sit flags %#x above 16 bits", t.Flags)
			}
			e.Uint16(iptunAttrFlags, uint16(t.Flags))
		}
	}
	e.Uint8(iptunAttrProto, t.Proto)
	e.Uint32(iptunAttrFWMark, t.FWMark)
	t.Encap.put(e, iptunAttrEncapType)
	if t.External {
		e.Flag(iptunAttrCollectMetadata)
	}
	return nil
}

func (t *IPTunnel) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		if t.Encap.decode(d, iptunAttrEncapType) {
			continue
		}
		switch d.Type() {
		case iptunAttrLink:
			t.Link = d.Uint32()
		case iptunAttrLocal:
			t.Local = tunnelAddr(d)
		case iptunAttrRemote:
			t.Remote = tunnelAddr(d)
		case iptunAttrTTL:
			t.TTL = d.Uint8()
		case iptunAttrTOS:
			t.TOS = d.Uint8()
		case iptunAttrEncapLimit:
			t.EncapLimit = d.Uint8()
		case iptunAttrFlowInfo:
			t.FlowInfo = d.Uint32BE()
		case iptunAttrFlags:
			if d.Len() == 2 { // sit's are 16 bits, ip6tnl's 32
				t.Flags = uint32(d.Uint16())
			} else {
				t.Flags = d.Uint32()
			}
		case iptunAttrProto:
			t.Proto = d.Uint8()
		case iptunAttrPMTUDisc:
			t.NoPMTUDisc = d.Uint8() == 0
		case iptunAttrFWMark:
			t.FWMark = d.Uint32()
		case iptunAttrCollectMetadata:
			t.External = true
		}
	}
}

// tunnelAddr reads a tunnel endpoint, leaving the unspecified address
// (what the kernel sends for "any") as no address.
func tunnelAddr(d *nl.AttributeDecoder) netip.Addr {
	a := d.Addr()
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// GRE flags (GRE.IFlags, GRE.OFlags): the bits of the GRE header.
const (
	GRECsum uint16 = 0x8000 // GRE_CSUM: checksummed packets (`icsum`, `ocsum`)
	GREKey  uint16 = 0x2000 // GRE_KEY: keyed packets, set by a non-zero key
	GRESeq  uint16 = 0x1000 // GRE_SEQ: sequenced packets (`iseq`, `oseq`)
)

// GRE is a GRE tunnel (`ip link add NAME type gre|gretap|ip6gre|ip6gretap
// remote ADDR …`): kind "gre" (IP over IPv4, the default), "gretap"
// (Ethernet over IPv4), "ip6gre" or "ip6gretap" (over IPv6), with the
// IFLA_GRE_* attributes. The kernel's ip_gre or ip6_gre module must be
// present. Like ip, AppendLinkData sends every attribute of the kind,
// zeros included (see IPTunnel; ip's defaults over IPv6 are the same).
type GRE struct {
	Kind string // "gre", "gretap", "ip6gre" or "ip6gretap"; empty is "gre"
	Link uint32 // IFLA_GRE_LINK: the underlay device (`dev`); 0 sends nothing
	// Local and Remote are IFLA_GRE_LOCAL and IFLA_GRE_REMOTE, IPv4 or
	// IPv6 as the kind says. An invalid one is not sent (any).
	Local, Remote netip.Addr
	// IKey and OKey are IFLA_GRE_IKEY and IFLA_GRE_OKEY (`ikey`, `okey`,
	// both `key`); a non-zero key adds GREKey to its flags.
	IKey, OKey uint32
	// IFlags and OFlags are IFLA_GRE_IFLAGS and IFLA_GRE_OFLAGS:
	// GRECsum, GREKey, GRESeq.
	IFlags, OFlags uint16
	TTL            uint8  // IFLA_GRE_TTL (the hop limit over IPv6)
	TOS            uint8  // IFLA_GRE_TOS (over IPv4)
	NoPMTUDisc     bool   // clears IFLA_GRE_PMTUDISC (over IPv4; `nopmtudisc`)
	IgnoreDF       bool   // IFLA_GRE_IGNORE_DF (over IPv4); false sends nothing
	EncapLimit     uint8  // IFLA_GRE_ENCAP_LIMIT (over IPv6)
	FlowInfo       uint32 // IFLA_GRE_FLOWINFO (over IPv6): traffic class and flow label, as in the IPv6 header's first word
	Flags          uint32 // IFLA_GRE_FLAGS: IP6_TNL_F_* (over IPv6)
	FWMark         uint32 // IFLA_GRE_FWMARK
	Encap          TunnelEncap
	External       bool // IFLA_GRE_COLLECT_METADATA (`external`)
}

// LinkKind returns Kind, or "gre" if it is empty.
func (g GRE) LinkKind() string {
	if g.Kind == "" {
		return "gre"
	}
	return g.Kind
}

// AppendLinkData appends the IFLA_GRE_* attributes of the kind.
func (g GRE) AppendLinkData(e *nl.AttributeEncoder) error {
	v6 := false
	switch g.LinkKind() {
	case "gre", "gretap":
	case "ip6gre", "ip6gretap":
		v6 = true
	default:
		return fmt.Errorf("rtnl: gre kind %q unknown (gre, gretap, ip6gre or ip6gretap)", g.Kind)
	}
	for _, a := range [...]netip.Addr{g.Local, g.Remote} {
		if a.IsValid() && a.Is6() != v6 {
			return fmt.Errorf("rtnl: %s tunnel with address %v of the wrong family", g.LinkKind(), a)
		}
	}
	iflags, oflags := g.IFlags, g.OFlags
	if g.IKey != 0 {
		iflags |= GREKey
	}
	if g.OKey != 0 {
		oflags |= GREKey
	}
	if g.Link != 0 {
		e.Uint32(greAttrLink, g.Link)
	}
	e.Uint16BE(greAttrIFlags, iflags)
	e.Uint16BE(greAttrOFlags, oflags)
	e.Uint32BE(greAttrIKey, g.IKey)
	e.Uint32BE(greAttrOKey, g.OKey)
	if g.Local.IsValid() {
		e.Addr(greAttrLocal, g.Local)
	}
	if g.Remote.IsValid() {
		e.Addr(greAttrRemote, g.Remote)
	}
	e.Uint8(greAttrTTL, g.TTL)
	if v6 {
		e.Uint8(greAttrEncapLimit, g.EncapLimit)
		e.Uint32BE(greAttrFlowInfo, g.FlowInfo)
		e.Uint32(greAttrFlags, g.Flags)
	} else {
		e.Uint8(greAttrTOS, g.TOS)
		e.Uint8(greAttrPMTUDisc, b2u8(!g.NoPMTUDisc))
		if g.IgnoreDF {
			e.Uint8(greAttrIgnoreDF, 1)
		}
	}
	g.Encap.put(e, greAttrEncapType)
	e.Uint32(greAttrFWMark, g.FWMark)
	if g.External {
		e.Flag(greAttrCollectMetadata)
	}
	return nil
}

func (g *GRE) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		if g.Encap.decode(d, greAttrEncapType) {
			continue
		}
		switch d.Type() {
		case greAttrLink:
			g.Link = d.Uint32()
		case greAttrIFlags:
			g.IFlags = d.Uint16BE()
		case greAttrOFlags:
			g.OFlags = d.Uint16BE()
		case greAttrIKey:
			g.IKey = d.Uint32BE()
		case greAttrOKey:
			g.OKey = d.Uint32BE()
		case greAttrLocal:
			g.Local = tunnelAddr(d)
		case greAttrRemote:
			g.Remote = tunnelAddr(d)
		case greAttrTTL:
			g.TTL = d.Uint8()
		case greAttrTOS:
			g.TOS = d.Uint8()
		case greAttrPMTUDisc:
			g.NoPMTUDisc = d.Uint8() == 0
		case greAttrIgnoreDF:
			g.IgnoreDF = d.Uint8() != 0
		case greAttrEncapLimit:
			g.EncapLimit = d.Uint8()
		case greAttrFlowInfo:
			g.FlowInfo = d.Uint32BE()
		case greAttrFlags:
			g.Flags = d.Uint32()
		case greAttrFWMark:
			g.FWMark = d.Uint32()
		case greAttrCollectMetadata:
			g.External = true
		}
	}
}

// NetkitPolicy is what a netkit device does with a packet its BPF
// program does not decide on (IFLA_NETKIT_POLICY, NETKIT_*).
type NetkitPolicy int32

// netkit policies.
const (
	NetkitPass     NetkitPolicy = 0 // NETKIT_PASS: "forward", the default
	NetkitDrop     NetkitPolicy = 2 // NETKIT_DROP: "blackhole"
	NetkitRedirect NetkitPolicy = 7 // NETKIT_REDIRECT
)

// Netkit is a netkit device pair (`ip link add NAME type netkit peer …`,
// Linux 6.7), a veth whose traffic BPF programs steer. The link given to
// AddLink is the primary end; Peer describes the other. The kernel's
// netkit module must be present. Zero fields send nothing and leave the
// kernel's defaults: L3 mode, NetkitPass both ways, scrubbing on.
type Netkit struct {
	// Peer is the other end, as Veth.Peer. Sent (IFLA_NETKIT_PEER_INFO)
	// when it or PeerNamespace is set.
	Peer          Link
	PeerNamespace Namespace
	L2            bool         // IFLA_NETKIT_MODE NETKIT_L2 (`mode l2`) instead of L3, with MAC addresses
	Policy        NetkitPolicy // IFLA_NETKIT_POLICY of the primary
	PeerPolicy    NetkitPolicy // IFLA_NETKIT_PEER_POLICY
	// NoScrub and PeerNoScrub send IFLA_NETKIT_SCRUB and
	// IFLA_NETKIT_PEER_SCRUB as NETKIT_SCRUB_NONE: the packet's mark
	// and priority survive the crossing.
	NoScrub, PeerNoScrub bool
	Headroom, Tailroom   uint16 // IFLA_NETKIT_HEADROOM, IFLA_NETKIT_TAILROOM
	// Primary is IFLA_NETKIT_PRIMARY, which the kernel reports and
	// refuses in requests: whether this end is the primary one.
	Primary bool
}

// LinkKind returns "netkit".
func (Netkit) LinkKind() string { return "netkit" }

// AppendLinkData appends the options that are set, and the peer as Veth
// does.
func (n Netkit) AppendLinkData(e *nl.AttributeEncoder) error {
	if n.Peer != (Link{}) || !n.PeerNamespace.IsZero() {
		b, err := peerInfo(n.Peer, n.PeerNamespace)
		if err != nil {
			return err
		}
		e.Nested(netkitAttrPeerInfo, func(e *nl.AttributeEncoder) { e.Append(b) })
	}
	if n.Policy != 0 {
		e.Uint32(netkitAttrPolicy, uint32(n.Policy))
	}
	if n.PeerPolicy != 0 {
		e.Uint32(netkitAttrPeerPolicy, uint32(n.PeerPolicy))
	}
	if n.L2 {
		e.Uint32(netkitAttrMode, netkitL2)
	}
	if n.NoScrub {
		e.Uint32(netkitAttrScrub, 0)
	}
	if n.PeerNoScrub {
		e.Uint32(netkitAttrPeerScrub, 0)
	}
	if n.Headroom != 0 {
		e.Uint16(netkitAttrHeadroom, n.Headroom)
	}
	if n.Tailroom != 0 {
		e.Uint16(netkitAttrTailroom, n.Tailroom)
	}
	return nil
}

func (n *Netkit) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case netkitAttrPrimary:
			n.Primary = d.Uint8() != 0
		case netkitAttrPolicy:
			n.Policy = NetkitPolicy(d.Uint32())
		case netkitAttrPeerPolicy:
			n.PeerPolicy = NetkitPolicy(d.Uint32())
		case netkitAttrMode:
			n.L2 = d.Uint32() == netkitL2
		case netkitAttrScrub:
			n.NoScrub = d.Uint32() == 0
		case netkitAttrPeerScrub:
			n.PeerNoScrub = d.Uint32() == 0
		case netkitAttrHeadroom:
			n.Headroom = d.Uint16()
		case netkitAttrTailroom:
			n.Tailroom = d.Uint16()
		}
	}
}

// Tun is a tun (layer 3) or, with Tap, tap (Ethernet) device, kind "tun".
// The kernel makes these only through /dev/net/tun (AddTun, OpenTun) and
// refuses them in RTM_NEWLINK: AddLink and NewLinkRequest return an error
// for a Tun. Link.Info decodes the kernel's IFLA_TUN_* attributes into one.
type Tun struct {
	Tap        bool // IFF_TAP, IFLA_TUN_TYPE 2; otherwise IFF_TUN, 1
	PI         bool // packets carry a struct tun_pi (without IFF_NO_PI); IFLA_TUN_PI
	VNetHdr    bool // IFF_VNET_HDR; IFLA_TUN_VNET_HDR
	MultiQueue bool // IFF_MULTI_QUEUE; IFLA_TUN_MULTI_QUEUE
	Persist    bool // the device outlives its file descriptors (TUNSETPERSIST); IFLA_TUN_PERSIST
	// Owner and Group, when HasOwner and HasGroup, are the user and group
	// allowed to attach besides CAP_NET_ADMIN (TUNSETOWNER,
	// TUNSETGROUP; IFLA_TUN_OWNER, IFLA_TUN_GROUP).
	Owner, Group       uint32
	HasOwner, HasGroup bool
	NumQueues          uint32 // IFLA_TUN_NUM_QUEUES: attached queues; reported, not set
	NumDisabledQueues  uint32 // IFLA_TUN_NUM_DISABLED_QUEUES; reported, not set
}

// LinkKind returns "tun", for tap devices too.
func (Tun) LinkKind() string { return "tun" }

// AppendLinkData appends the IFLA_TUN_* attributes the kernel reports,
// so that a Link holding them (Link.SetInfo) encodes as the kernel sends
// it. The kernel refuses them in requests.
func (t Tun) AppendLinkData(e *nl.AttributeEncoder) error {
	if t.HasOwner {
		e.Uint32(tunAttrOwner, t.Owner)
	}
	if t.HasGroup {
		e.Uint32(tunAttrGroup, t.Group)
	}
	typ := uint8(1)
	if t.Tap {
		typ = 2
	}
	e.Uint8(tunAttrType, typ)
	e.Uint8(tunAttrPI, b2u8(t.PI))
	e.Uint8(tunAttrVNetHdr, b2u8(t.VNetHdr))
	e.Uint8(tunAttrPersist, b2u8(t.Persist))
	e.Uint8(tunAttrMultiQueue, b2u8(t.MultiQueue))
	if t.MultiQueue {
		e.Uint32(tunAttrNumQueues, t.NumQueues)
		e.Uint32(tunAttrNumDisabledQueues, t.NumDisabledQueues)
	}
	return nil
}

func (t *Tun) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case tunAttrOwner:
			t.Owner, t.HasOwner = d.Uint32(), true
		case tunAttrGroup:
			t.Group, t.HasGroup = d.Uint32(), true
		case tunAttrType:
			t.Tap = d.Uint8() == 2
		case tunAttrPI:
			t.PI = d.Uint8() != 0
		case tunAttrVNetHdr:
			t.VNetHdr = d.Uint8() != 0
		case tunAttrPersist:
			t.Persist = d.Uint8() != 0
		case tunAttrMultiQueue:
			t.MultiQueue = d.Uint8() != 0
		case tunAttrNumQueues:
			t.NumQueues = d.Uint32()
		case tunAttrNumDisabledQueues:
			t.NumDisabledQueues = d.Uint32()
		}
	}
}

// RawLinkInfo is the kind and IFLA_INFO_DATA of a link of a kind this
// package does not decode, as Link.Info returns it; as a LinkInfo it
// sends Data as it is.
type RawLinkInfo struct {
	Kind string
	Data []byte // the attributes of IFLA_INFO_DATA, undecoded
}

// LinkKind returns Kind.
func (r RawLinkInfo) LinkKind() string { return r.Kind }

// AppendLinkData appends Data as it is.
func (r RawLinkInfo) AppendLinkData(e *nl.AttributeEncoder) error {
	e.Append(r.Data)
	return nil
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// putAddr46 appends a as attribute v4 or v6 by its family, if it is valid.
func putAddr46(e *nl.AttributeEncoder, v4, v6 uint16, a netip.Addr) {
	switch {
	case a.Is4():
		e.Addr(v4, a)
	case a.IsValid():
		e.Addr(v6, a)
	}
}
