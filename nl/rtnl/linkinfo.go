package rtnl

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/nlrx/nlrx/nl"
)

// LinkInfo is the kind-specific part of a link: the kind (IFLA_INFO_KIND)
// and its attributes (IFLA_INFO_DATA), both inside IFLA_LINKINFO. Veth,
// VLAN, Bridge, Bond, Dummy, IFB, VRF, MACVLAN, IPVLAN, VXLAN, Geneve,
// IPTunnel, GRE, Netkit, WireGuard and Tun implement it, and Link.Info
// decodes the kernel's report into them; RawLinkInfo carries any other
// kind, and a type of your own can describe one too.
type LinkInfo interface {
	// LinkKind returns the kind's name as the kernel knows it: "veth",
	// "vlan", "bridge", "bond", "macvlan"…
	LinkKind() string
	// AppendLinkData appends the attributes of IFLA_INFO_DATA. If it
	// appends nothing, no IFLA_INFO_DATA is sent.
	AppendLinkData(e *nl.AttributeEncoder) error
}

// parented is implemented by kinds that sit on a parent link (IFLA_LINK).
type parented interface{ linkParent() uint32 }

// Veth is a virtual Ethernet pair (`ip link add NAME type veth peer …`).
// The link given to AddLink is one end; Peer describes the other.
type Veth struct {
	// Peer is the other end: its Name, and any of MTU, Address, TxQLen,
	// Group and Flags (LinkUp) to set on it. Index and Kind are ignored.
	// An empty Name lets the kernel choose one (vethN).
	Peer Link
	// PeerNamespace, if not zero, creates the peer in that network
	// namespace (`peer netns …`).
	PeerNamespace Namespace
}

// LinkKind returns "veth".
func (Veth) LinkKind() string { return "veth" }

// AppendLinkData appends VETH_INFO_PEER: a struct ifinfomsg and the peer's
// attributes.
func (v Veth) AppendLinkData(e *nl.AttributeEncoder) error {
	b, err := peerInfo(v.Peer, v.PeerNamespace)
	if err != nil {
		return err
	}
	e.Nested(vethInfoPeer, func(e *nl.AttributeEncoder) { e.Append(b) })
	return nil
}

// peerInfo returns the payload of VETH_INFO_PEER or IFLA_NETKIT_PEER_INFO:
// the peer's struct ifinfomsg and attributes, and its namespace.
func peerInfo(peer Link, ns Namespace) ([]byte, error) {
	p := peer.withoutState()
	p.Index, p.Kind, p.infoData = 0, Name{}, ""
	if p.Change == 0 {
		p.Change = p.Flags
	}
	b, err := p.AppendBinary(make([]byte, 0, 64))
	if err != nil {
		return nil, err
	}
	pe := nl.NewAttributeEncoder(b)
	ns.put(pe)
	return pe.Bytes()
}

// VLANProtocol is the tag protocol of a VLAN (IFLA_VLAN_PROTOCOL), an
// EtherType.
type VLANProtocol uint16

// VLAN tag protocols.
const (
	VLAN8021Q  VLANProtocol = 0x8100 // ETH_P_8021Q, the default
	VLAN8021AD VLANProtocol = 0x88a8 // ETH_P_8021AD (QinQ service tag)
)

// VLAN is an 802.1Q VLAN on a parent link (`ip link add link PARENT NAME
// type vlan id ID`). The kernel's 8021q module must be present.
type VLAN struct {
	Parent   uint32       // index of the parent link (IFLA_LINK); required
	ID       uint16       // IFLA_VLAN_ID, 0 to 4094
	Protocol VLANProtocol // IFLA_VLAN_PROTOCOL; 0 sends nothing (802.1Q)
}

// LinkKind returns "vlan".
func (VLAN) LinkKind() string { return "vlan" }

func (v VLAN) linkParent() uint32 { return v.Parent }

// AppendLinkData appends IFLA_VLAN_ID and, if set, IFLA_VLAN_PROTOCOL.
func (v VLAN) AppendLinkData(e *nl.AttributeEncoder) error {
	if v.ID > 4094 {
		return fmt.Errorf("rtnl: vlan id %d above 4094", v.ID)
	}
	e.Uint16(vlanAttrID, v.ID)
	if v.Protocol != 0 {
		e.Uint16BE(vlanAttrProtocol, uint16(v.Protocol))
	}
	return nil
}

func (v *VLAN) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case vlanAttrID:
			v.ID = d.Uint16()
		case vlanAttrProtocol:
			v.Protocol = VLANProtocol(d.Uint16BE())
		}
	}
}

// Bridge is an Ethernet bridge (`ip link add NAME type bridge`). Ports join
// it with SetLink(…, WithMaster(bridge index)).
type Bridge struct {
	STP bool // IFLA_BR_STP_STATE: run the spanning tree protocol ("stp_state 1")
	// VLANFiltering is IFLA_BR_VLAN_FILTERING ("vlan_filtering 1"); kernels
	// built without CONFIG_BRIDGE_VLAN_FILTERING refuse it (EOPNOTSUPP).
	VLANFiltering bool
}

// LinkKind returns "bridge".
func (Bridge) LinkKind() string { return "bridge" }

// AppendLinkData appends the options that are set; the kernel's defaults
// (STP and VLAN filtering off) need nothing.
func (b Bridge) AppendLinkData(e *nl.AttributeEncoder) error {
	if b.STP {
		e.Uint32(bridgeAttrSTP, 1)
	}
	if b.VLANFiltering {
		e.Uint8(bridgeAttrVLANs, 1)
	}
	return nil
}

// decodeLinkData reads the two options Bridge holds, of the many the
// kernel reports.
func (b *Bridge) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case bridgeAttrSTP:
			b.STP = d.Uint32() != 0
		case bridgeAttrVLANs:
			b.VLANFiltering = d.Uint8() != 0
		}
	}
}

// BondMode is a bonding policy (IFLA_BOND_MODE, BOND_MODE_*).
type BondMode uint8

// Bonding modes.
const (
	BondBalanceRR    BondMode = 0 // BOND_MODE_ROUNDROBIN: "balance-rr", the kernel's default
	BondActiveBackup BondMode = 1 // BOND_MODE_ACTIVEBACKUP: "active-backup"
	BondBalanceXOR   BondMode = 2 // BOND_MODE_XOR: "balance-xor"
	BondBroadcast    BondMode = 3 // BOND_MODE_BROADCAST: "broadcast"
	Bond8023AD       BondMode = 4 // BOND_MODE_8023AD: "802.3ad" (LACP)
	BondBalanceTLB   BondMode = 5 // BOND_MODE_TLB: "balance-tlb"
	BondBalanceALB   BondMode = 6 // BOND_MODE_ALB: "balance-alb"
)

var bondModeNames = [...]string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}

// String returns the name ip and /sys/class/net/*/bonding/mode use, or the
// number.
func (m BondMode) String() string {
	if int(m) < len(bondModeNames) {
		return bondModeNames[m]
	}
	return strconv.Itoa(int(m))
}

// Bond is a bonding device (`ip link add NAME type bond mode MODE`). The
// kernel's bonding module must be present. Ports join it with SetLink(…,
// WithMaster(bond index)) while they are down.
type Bond struct {
	Mode   BondMode // IFLA_BOND_MODE, always sent
	MIIMon uint32   // IFLA_BOND_MIIMON: link check interval in milliseconds; 0 sends nothing
}

// LinkKind returns "bond".
func (Bond) LinkKind() string { return "bond" }

// AppendLinkData appends IFLA_BOND_MODE and, if set, IFLA_BOND_MIIMON.
func (b Bond) AppendLinkData(e *nl.AttributeEncoder) error {
	if int(b.Mode) >= len(bondModeNames) {
		return fmt.Errorf("rtnl: bond mode %d unknown", b.Mode)
	}
	e.Uint8(bondAttrMode, uint8(b.Mode))
	if b.MIIMon != 0 {
		e.Uint32(bondAttrMIIMon, b.MIIMon)
	}
	return nil
}

// decodeLinkData reads the two options Bond holds, of the many the
// kernel reports.
func (b *Bond) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		switch d.Type() {
		case bondAttrMode:
			b.Mode = BondMode(d.Uint8())
		case bondAttrMIIMon:
			b.MIIMon = d.Uint32()
		}
	}
}

// Namespace names a network namespace in a link request: by a file
// descriptor open on it (IFLA_NET_NS_FD), or by the id of a process that
// lives in it (IFLA_NET_NS_PID). The zero value names none. The descriptor
// must stay open until the request is answered.
type Namespace struct {
	attr uint16
	v    uint32
}

// NamespaceFD names the network namespace that fd is open on (a file such
// as /run/netns/NAME or /proc/PID/ns/net).
func NamespaceFD(fd int) Namespace { return Namespace{attr: iflaNetNSFD, v: uint32(fd)} }

// NamespacePID names the network namespace of process pid.
func NamespacePID(pid int) Namespace { return Namespace{attr: iflaNetNSPID, v: uint32(pid)} }

// IsZero reports whether n names no namespace.
func (n Namespace) IsZero() bool { return n.attr == 0 }

func (n Namespace) put(e *nl.AttributeEncoder) {
	if n.attr != 0 {
		e.Uint32(n.attr, n.v)
	}
}

// NewLinkRequest returns the RTM_NEWLINK request that creates l
// (NLM_F_CREATE|NLM_F_EXCL): l's struct ifinfomsg and attributes, then
// IFLA_LINKINFO with info's kind and data. With a nil info, l.Kind alone is
// sent (enough for kinds that need no options, such as "bridge"). Of what
// the kernel reports about a link, only the offload limits it takes at
// creation are sent (GSOMaxSize, GSOMaxSegs, GROMaxSize, GSOIPv4MaxSize,
// GROIPv4MaxSize); the rest (PermAddress, Stats, alternative names, the
// kind's attributes …) is left out, so a Link from a dump can serve as a
// template (pass its Info as info to copy the kind's options). Flags
// given in l.Flags are applied (LinkUp creates the link up); a zero
// l.Change is taken as l.Flags, so that only those flags change. One
// allocation for the payload, and one for info's data.
func NewLinkRequest(l Link, info LinkInfo) (nl.Message, error) {
	if _, ok := info.(Tun); ok {
		return nl.Message{}, fmt.Errorf("rtnl: tun and tap links are made through /dev/net/tun (AddTun), not RTM_NEWLINK")
	}
	l = l.withoutState()
	kind := l.Kind
	l.Kind = Name{}
	if p, ok := info.(parented); ok {
		if p.linkParent() == 0 && l.Link == 0 {
			return nl.Message{}, fmt.Errorf("rtnl: a %s link needs a parent link", info.LinkKind())
		}
		if p.linkParent() != 0 {
			l.Link = p.linkParent()
		}
	}
	if l.Change == 0 {
		l.Change = l.Flags
	}
	b, err := l.AppendBinary(make([]byte, 0, 128))
	if err != nil {
		return nl.Message{}, err
	}
	e := nl.NewAttributeEncoder(b)
	switch {
	case info != nil:
		mark := e.BeginNested(iflaLinkInfo)
		e.String(iflaInfoKind, info.LinkKind())
		var data nl.AttributeEncoder
		if err := info.AppendLinkData(&data); err != nil {
			return nl.Message{}, err
		}
		d, err := data.Bytes()
		if err != nil {
			return nl.Message{}, err
		}
		if len(d) > 0 {
			e.Raw(iflaInfoData|nl.AttrNested, d)
		}
		e.EndNested(mark)
	case !kind.IsZero():
		mark := e.BeginNested(iflaLinkInfo)
		putName(e, iflaInfoKind, kind)
		e.EndNested(mark)
	}
	b, err = e.Bytes()
	return nl.Message{Header: nl.Header{Type: TypeNewLink, Flags: nl.FlagRequest | nl.FlagCreate | nl.FlagExcl}, Data: b}, err
}

// LinkSetting is one change SetLink makes to a link. Settings are applied
// in order, so a later one overrides an earlier one of the same kind.
type LinkSetting func(*linkChange)

type linkChange struct {
	flags, mask uint32
	name        string
	hw          HardwareAddr
	ns          Namespace
	alias       string
	hasAlias    bool

	mtu, txq, master, group             uint32
	hasMTU, hasTxQ, hasMaster, hasGroup bool
}

func flagSetting(bit uint32, on bool) LinkSetting {
	return func(c *linkChange) {
		c.mask |= bit
		if on {
			c.flags |= bit
		} else {
			c.flags &^= bit
		}
	}
}

// Up sets the link administratively up (IFF_UP; `ip link set DEV up`).
func Up() LinkSetting { return flagSetting(LinkUp, true) }

// Down sets the link administratively down.
func Down() LinkSetting { return flagSetting(LinkUp, false) }

// Promisc turns promiscuous mode on or off (IFF_PROMISC; `promisc on|off`).
func Promisc(on bool) LinkSetting { return flagSetting(LinkPromisc, on) }

// Multicast turns IFF_MULTICAST on or off (`multicast on|off`).
func Multicast(on bool) LinkSetting { return flagSetting(LinkMulticast, on) }

// AllMulticast turns the reception of all multicast on or off
// (IFF_ALLMULTI; `allmulticast on|off`).
func AllMulticast(on bool) LinkSetting { return flagSetting(LinkAllMulti, on) }

// ARP turns address resolution on or off: off sets IFF_NOARP (`arp on|off`).
func ARP(on bool) LinkSetting { return flagSetting(LinkNoARP, !on) }

// WithFlags sets the IFF_* bits in mask to their values in flags
// (ifi_flags and ifi_change), for flags that have no setting of their own.
func WithFlags(flags, mask uint32) LinkSetting {
	return func(c *linkChange) {
		c.flags = c.flags&^mask | flags&mask
		c.mask |= mask
	}
}

// WithMTU sets the MTU (IFLA_MTU; `mtu N`).
func WithMTU(mtu uint32) LinkSetting {
	return func(c *linkChange) { c.mtu, c.hasMTU = mtu, true }
}

// WithName renames the link (IFLA_IFNAME; `name NEW`). A name in use
// fails with EEXIST; kernels before 6.8 also refuse to rename a link that
// is up (EBUSY).
func WithName(name string) LinkSetting { return func(c *linkChange) { c.name = name } }

// WithAlias sets the link's alias (IFLA_IFALIAS; `alias TEXT`), up to 255
// bytes; an empty one removes it. The kernel announces the change only
// while the link is up.
func WithAlias(text string) LinkSetting {
	return func(c *linkChange) { c.alias, c.hasAlias = text, true }
}

// WithHardwareAddr sets the link-layer address (IFLA_ADDRESS; `address LLADDR`).
func WithHardwareAddr(a HardwareAddr) LinkSetting { return func(c *linkChange) { c.hw = a } }

// WithTxQueueLen sets the transmit queue length (IFLA_TXQLEN;
// `txqueuelen N`); 0 is a valid length.
func WithTxQueueLen(n uint32) LinkSetting {
	return func(c *linkChange) { c.txq, c.hasTxQ = n, true }
}

// WithMaster enslaves the link to the bridge, bond or VRF with the given
// index (IFLA_MASTER; `master DEV`).
func WithMaster(index uint32) LinkSetting {
	return func(c *linkChange) { c.master, c.hasMaster = index, true }
}

// NoMaster releases the link from its master (IFLA_MASTER 0; `nomaster`).
func NoMaster() LinkSetting { return WithMaster(0) }

// WithGroup puts the link in a device group (IFLA_GROUP; `group N`); 0 is
// the default group.
func WithGroup(group uint32) LinkSetting {
	return func(c *linkChange) { c.group, c.hasGroup = group, true }
}

// MoveToNamespace moves the link to another network namespace
// (IFLA_NET_NS_FD or IFLA_NET_NS_PID; `netns NAME|PID`). The kernel moves
// it first, then applies the other settings there; its index may change.
func MoveToNamespace(ns Namespace) LinkSetting { return func(c *linkChange) { c.ns = ns } }

// SetLinkRequest returns the request that applies settings to the link
// with the given index: RTM_NEWLINK without NLM_F_CREATE, as ip link set
// sends it, with the flags in ifi_flags and the bits to change in
// ifi_change. One allocation for the payload, and one for an alias.
func SetLinkRequest(index uint32, settings ...LinkSetting) (nl.Message, error) {
	if index == 0 {
		return nl.Message{}, fmt.Errorf("rtnl: set link: no link index")
	}
	var c linkChange
	for _, s := range settings {
		s(&c)
	}
	if len(c.name) >= NameLen {
		return nl.Message{}, fmt.Errorf("rtnl: set link %d: name %q longer than %d bytes", index, c.name, NameLen-1)
	}
	if len(c.alias) >= ifAliasLen {
		return nl.Message{}, fmt.Errorf("rtnl: set link %d: alias longer than %d bytes", index, ifAliasLen-1)
	}
	b := make([]byte, sizeofIfinfomsg, sizeofIfinfomsg+96)
	binary.NativeEndian.PutUint32(b[4:], index)
	binary.NativeEndian.PutUint32(b[8:], c.flags)
	binary.NativeEndian.PutUint32(b[12:], c.mask)
	e := nl.NewAttributeEncoder(b)
	c.ns.put(e)
	if c.name != "" {
		e.String(iflaIfname, c.name)
	}
	if c.hasMTU {
		e.Uint32(iflaMTU, c.mtu)
	}
	if !c.hw.IsZero() {
		e.Raw(iflaAddress, c.hw.Bytes())
	}
	if c.hasTxQ {
		e.Uint32(iflaTxQLen, c.txq)
	}
	if c.hasMaster {
		e.Uint32(iflaMaster, c.master)
	}
	if c.hasGroup {
		e.Uint32(iflaGroup, c.group)
	}
	if c.hasAlias {
		// Without a NUL, as ip sends it: the kernel counts a NUL against
		// the 255 bytes it allows, and an empty attribute removes the alias.
		e.Raw(iflaIfAlias, []byte(c.alias))
	}
	b, err := e.Bytes()
	return nl.Message{Header: nl.Header{Type: TypeNewLink, Flags: nl.FlagRequest}, Data: b}, err
}

// LinkFilter selects links, as the arguments of `ip link show` do. The
// zero value selects every link.
//
// Master and Kind go to the kernel, which filters the dump itself; Name
// asks for one link instead of a dump; the rest is checked on each link.
// A filter that nothing passes (a missing name or master) selects nothing,
// without an error.
type LinkFilter struct {
	Name   string // only the link with this name (`dev NAME`)
	Kind   string // only links of this kind, IFLA_INFO_KIND (`type veth`)
	Master uint32 // only links enslaved to this one (`master DEV`)
	Up     bool   // only links that are up, IFF_UP (`up`)
	// Group selects the links of one device group (`group N`) when
	// MatchGroup is set: group 0 is the default group, so a zero Group
	// alone cannot mean "any".
	Group      uint32
	MatchGroup bool

	// VF asks for the SR-IOV virtual functions of each device
	// (RTEXT_FILTER_VF; Link.NumVF). It is off by default, as in ip
	// without -s -d on a VF-capable device: filling the VFs' attributes
	// costs the kernel much more than the rest of the link and is done
	// holding RTNL, for every link of the dump.
	VF bool
}

// Request returns the request for the filter: an RTM_GETLINK for Name, or
// an RTM_GETLINK dump carrying Master and Kind, with IFLA_EXT_MASK saying
// what else to send: RTEXT_FILTER_SKIP_STATS, which leaves out the
// per-family counters of IFLA_AF_SPEC (IPv6's and ICMPv6's, which Link
// does not hold; IFLA_STATS64 comes regardless), and RTEXT_FILTER_VF if
// VF. One allocation.
func (f LinkFilter) Request() nl.Message {
	b := make([]byte, sizeofIfinfomsg, sizeofIfinfomsg+48)
	e := nl.NewAttributeEncoder(b)
	flags := nl.FlagRequest | nl.FlagDump
	if f.Name != "" {
		flags = nl.FlagRequest
		putName(e, iflaIfname, MakeName(f.Name))
	} else {
		if f.Master != 0 {
			e.Uint32(iflaMaster, f.Master)
		}
		if f.Kind != "" {
			mark := e.BeginNested(iflaLinkInfo)
			e.String(iflaInfoKind, f.Kind)
			e.EndNested(mark)
		}
	}
	mask := uint32(rtextFilterSkipStats)
	if f.VF {
		mask |= rtextFilterVF
	}
	e.Uint32(iflaExtMask, mask)
	b, _ = e.Bytes()
	return nl.Message{Header: nl.Header{Type: TypeGetLink, Flags: flags}, Data: b}
}

// Match reports whether l passes the filter. It does not allocate.
func (f LinkFilter) Match(l *Link) bool {
	return (f.Name == "" || l.Name.Is(f.Name)) &&
		(f.Kind == "" || l.Kind.Is(f.Kind)) &&
		(f.Master == 0 || l.Master == f.Master) &&
		(!f.Up || l.Flags&LinkUp != 0) &&
		(!f.MatchGroup || l.Group == f.Group)
}
