package rtnl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/nlrx/nlrx/nl"
)

// Link is one network interface: a struct ifinfomsg and the attributes of
// RTM_NEWLINK that most programs need, the details `ip -details` shows and
// the counters of `ip -stats` among them. Decoding does not allocate (names
// and addresses are held inline), except for an alias, the alternative
// names, the parent device's names and the kind's attributes
// (IFLA_INFO_DATA), which are kept undecoded, in one string, until Info
// decodes them. Link is comparable with ==; Equal compares all but the
// traffic counters.
//
// A bridge also sends RTM_NEWLINK and RTM_DELLINK messages of its own
// about each of its ports, with ifi_family AF_BRIDGE (Family is
// FamilyBridge): they carry the port's bridge state (IFLA_MASTER,
// IFLA_PROTINFO) and a few of the link's attributes, but not its kind,
// queue length or broadcast address, and such an RTM_DELLINK means that
// the link left its bridge (`ip link set DEV nomaster`, or the bridge was
// deleted), not that the link is gone. The messages about the link itself
// have Family FamilyAll (AF_UNSPEC).
type Link struct {
	Family Family // ifi_family: FamilyAll for the link itself, FamilyBridge for a bridge's message about its port
	Index  uint32 // ifi_index
	Type   uint16 // ifi_type: ARPHRD_* (1 Ethernet, 772 loopback, …)
	Flags  uint32 // ifi_flags: Link* (IFF_*)
	// Change is ifi_change: in requests, the flags to change; in the
	// kernel's notifications, the flags that changed (all ones for a link
	// created or deleted); 0 in dumps.
	Change    uint32
	Name      Name      // IFLA_IFNAME
	Kind      Name      // IFLA_LINKINFO/IFLA_INFO_KIND: "veth", "bridge", "vxlan"…; empty for physical devices
	MTU       uint32    // IFLA_MTU
	TxQLen    uint32    // IFLA_TXQLEN
	Master    uint32    // IFLA_MASTER: index of the bridge or bond this link is enslaved to
	Link      uint32    // IFLA_LINK: index of the parent or peer link (a veth's peer), in the namespace LinkNetNSID names
	Group     uint32    // IFLA_GROUP: device group, 0 is "default"
	OperState OperState // IFLA_OPERSTATE
	Address   HardwareAddr
	Broadcast HardwareAddr
	// Alias is IFLA_IFALIAS (`ip link set DEV alias TEXT`). Decoding
	// allocates it when the link has one. The kernel ignores it in a
	// request that creates a link: set it afterwards with WithAlias.
	Alias string

	// PermAddress is IFLA_PERM_ADDRESS: the address the device came
	// with (from its hardware), when it has one; Address may since have
	// been changed.
	PermAddress HardwareAddr
	// ParentDev and ParentBus are IFLA_PARENT_DEV_NAME and
	// IFLA_PARENT_DEV_BUS_NAME: the device the link belongs to and its
	// bus ("0000:01:00.0" on "pci"), for links of hardware. Decoding
	// allocates them when present.
	ParentDev, ParentBus string

	MinMTU uint32 // IFLA_MIN_MTU: the smallest MTU the device takes
	MaxMTU uint32 // IFLA_MAX_MTU: the largest

	// The carrier counters: how often the link's carrier changed
	// (IFLA_CARRIER_CHANGES), came up (IFLA_CARRIER_UP_COUNT) and went
	// down (IFLA_CARRIER_DOWN_COUNT). Each change is announced, so they
	// are state, not traffic counters.
	CarrierChanges, CarrierUpCount, CarrierDownCount uint32

	NumTxQueues uint32 // IFLA_NUM_TX_QUEUES
	NumRxQueues uint32 // IFLA_NUM_RX_QUEUES

	// Segmentation offload limits: IFLA_GSO_MAX_SIZE, IFLA_GSO_MAX_SEGS,
	// IFLA_GRO_MAX_SIZE, IFLA_TSO_MAX_SIZE, IFLA_TSO_MAX_SEGS (what the
	// device can do), and the IPv4 sizes IFLA_GSO_IPV4_MAX_SIZE and
	// IFLA_GRO_IPV4_MAX_SIZE (Linux 6.3).
	GSOMaxSize, GSOMaxSegs, GROMaxSize uint32
	TSOMaxSize, TSOMaxSegs             uint32
	GSOIPv4MaxSize, GROIPv4MaxSize     uint32

	// NumVF is IFLA_NUM_VF, the SR-IOV virtual functions of the device;
	// the kernel sends it only to a dump that asks for them
	// (LinkFilter.VF). The VFs' own attributes (IFLA_VFINFO_LIST) are
	// not decoded.
	NumVF uint32

	// Stats holds the counters of IFLA_STATS64 when HasStats is set,
	// as they were when the kernel wrote the message: it sends them in
	// every message about a link (dumps, RTM_GETLINK, notifications),
	// but not in a bridge's about its ports. They move with every packet
	// and the kernel announces none of their changes, so Equal leaves
	// them out and a table kept from notifications (package watch) holds
	// none. Poll them with ListLinks, or, cheaper, with GetLinkStats or
	// ListLinkStats, which make the kernel fill nothing else.
	Stats    LinkStats
	HasStats bool

	altNames       string // IFLA_PROP_LIST's IFLA_ALT_IFNAMEs, each ended by a NUL
	infoData       string // IFLA_LINKINFO's IFLA_INFO_DATA, undecoded (see keptInfoData)
	zeros          uint16 // the counts (linkCounts) the kernel sent as 0, a bit each
	linkNetNSID    int32  // IFLA_LINK_NETNSID, if hasLinkNetNSID
	hasLinkNetNSID bool
}

// Attribute types of link messages that only this file uses.
const (
	iflaIfAlias     = 20  // IFLA_IFALIAS
	ifAliasLen      = 256 // IFALIASZ: the longest alias and its NUL
	iflaLinkNetNSID = 37  // IFLA_LINK_NETNSID: s32
	iflaNewNetNSID  = 45  // IFLA_NEW_NETNSID: s32, in the RTM_DELLINK of a link moved away
	iflaNewIfindex  = 49  // IFLA_NEW_IFINDEX: s32, likewise
)

// LinkNetNSID returns IFLA_LINK_NETNSID and true when the link that Link
// names lives in another network namespace (a veth whose peer was moved
// or made elsewhere, a tunnel whose underlay is elsewhere): the id under
// which this link's namespace knows that one, as `ip link` shows it in
// link_netnsid (-1 if the kernel has none to give). It returns 0 and false
// when Link is an index of the link's own namespace.
func (l *Link) LinkNetNSID() (id int32, ok bool) { return l.linkNetNSID, l.hasLinkNetNSID }

// SetLinkNetNSID sets what LinkNetNSID returns: with ok false, Link is an
// index of the link's own namespace (and id is ignored).
func (l *Link) SetLinkNetNSID(id int32, ok bool) {
	if !ok {
		id = 0
	}
	l.linkNetNSID, l.hasLinkNetNSID = id, ok
}

// LinkMovedTo reports where the link went when m is the RTM_DELLINK with
// which the kernel announces its move to another network namespace (`ip
// link set DEV netns NS`): nsid is the id under which the old namespace
// knows the new one (IFLA_NEW_NETNSID) and index the link's index there
// (IFLA_NEW_IFINDEX). moved is false for any other message, a deletion
// included. It does not allocate.
func LinkMovedTo(m nl.Message) (nsid int32, index uint32, moved bool) {
	if m.Header.Type != TypeDelLink || len(m.Data) < sizeofIfinfomsg {
		return 0, 0, false
	}
	var hasNSID, hasIndex bool
	d := nl.NewAttributeDecoder(m.Data[sizeofIfinfomsg:])
	for d.Next() {
		switch d.Type() {
		case iflaNewNetNSID:
			nsid, hasNSID = d.Int32(), true
		case iflaNewIfindex:
			index, hasIndex = uint32(d.Int32()), true
		}
	}
	if d.Err() != nil || !hasNSID || !hasIndex {
		return 0, 0, false
	}
	return nsid, index, true
}

// AltNames returns the link's alternative names (IFLA_PROP_LIST; `ip link
// property add dev DEV altname NAME`), in the kernel's order. It allocates
// the slice, not the names.
func (l *Link) AltNames() []string {
	var out []string
	for s := l.altNames; s != ""; {
		i := strings.IndexByte(s, 0)
		out, s = append(out, s[:i]), s[i+1:]
	}
	return out
}

// HasAltName reports whether name is one of the link's alternative names.
// It does not allocate.
func (l *Link) HasAltName(name string) bool {
	for s := l.altNames; s != ""; {
		i := strings.IndexByte(s, 0)
		if s[:i] == name {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// SetAltNames sets what AltNames returns (names with a NUL, or empty, are
// left out). It allocates one string for them all. AppendBinary encodes
// them as the kernel sends them (IFLA_PROP_LIST), but NewLinkRequest
// leaves them out: the kernel adds and removes them with AddAltNames and
// DeleteAltNames.
func (l *Link) SetAltNames(names ...string) {
	var b []byte
	for _, n := range names {
		if n != "" && strings.IndexByte(n, 0) < 0 {
			b = append(append(b, n...), 0)
		}
	}
	l.altNames = string(b)
}

// Equal reports whether l and o are the same link in the same state:
// every field but the traffic counters (Stats and HasStats), which move
// without notice. It does not allocate.
func (l *Link) Equal(o *Link) bool {
	x, y := *l, *o
	x.Stats, y.Stats, x.HasStats, y.HasStats = LinkStats{}, LinkStats{}, false, false
	return x == y
}

// Up reports whether the link is administratively up (IFF_UP).
func (l *Link) Up() bool { return l.Flags&LinkUp != 0 }

// DecodeLink decodes an RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK or
// RTM_SETLINK message. It allocates only for an alias, alternative names,
// the parent device's names and the kind's attributes.
func DecodeLink(m nl.Message) (Link, error) {
	var l Link
	switch m.Header.Type {
	case TypeNewLink, TypeDelLink, TypeGetLink, TypeSetLink:
	default:
		return l, fmt.Errorf("%w: %d is not a link message", ErrMessageType, m.Header.Type)
	}
	err := l.decode(m.Data)
	return l, err
}

// UnmarshalBinary decodes the payload of a link message (struct ifinfomsg
// and attributes) into l, replacing all of l. It allocates only for an
// alias, alternative names, the parent device's names and the kind's
// attributes.
func (l *Link) UnmarshalBinary(b []byte) error {
	*l = Link{}
	return l.decode(b)
}

func (l *Link) decode(b []byte) error {
	if len(b) < sizeofIfinfomsg {
		return shortErr("link", len(b), sizeofIfinfomsg)
	}
	l.Family = Family(b[0])
	l.Type = binary.NativeEndian.Uint16(b[2:4])
	l.Index = binary.NativeEndian.Uint32(b[4:8])
	l.Flags = binary.NativeEndian.Uint32(b[8:12])
	l.Change = binary.NativeEndian.Uint32(b[12:16])
	d := nl.NewAttributeDecoder(b[sizeofIfinfomsg:])
	for d.Next() {
		switch d.Type() {
		case iflaIfname:
			l.Name = nameFrom(d.Bytes())
		case iflaMTU:
			l.MTU = d.Uint32()
		case iflaTxQLen:
			l.TxQLen = d.Uint32()
		case iflaMaster:
			l.Master = d.Uint32()
		case iflaLink:
			l.Link = d.Uint32()
		case iflaGroup:
			l.Group = d.Uint32()
		case iflaOperState:
			l.OperState = OperState(d.Uint8())
		case iflaAddress:
			l.Address = hwAttr(&d)
		case iflaBroadcast:
			l.Broadcast = hwAttr(&d)
		case iflaIfAlias:
			l.Alias = d.String()
		case iflaLinkNetNSID:
			l.SetLinkNetNSID(d.Int32(), true)
		case iflaPermAddress:
			l.PermAddress = hwAttr(&d)
		case iflaParentDevName:
			l.ParentDev = d.String()
		case iflaParentDevBusName:
			l.ParentBus = d.String()
		case iflaMinMTU:
			l.MinMTU = l.count(&d, 0)
		case iflaMaxMTU:
			l.MaxMTU = l.count(&d, 1)
		case iflaNumTxQueues:
			l.NumTxQueues = l.count(&d, 2)
		case iflaNumRxQueues:
			l.NumRxQueues = l.count(&d, 3)
		case iflaGSOMaxSize:
			l.GSOMaxSize = l.count(&d, 4)
		case iflaGSOMaxSegs:
			l.GSOMaxSegs = l.count(&d, 5)
		case iflaTSOMaxSize:
			l.TSOMaxSize = l.count(&d, 6)
		case iflaTSOMaxSegs:
			l.TSOMaxSegs = l.count(&d, 7)
		case iflaGROMaxSize:
			l.GROMaxSize = l.count(&d, 8)
		case iflaGSOIPv4MaxSize:
			l.GSOIPv4MaxSize = l.count(&d, 9)
		case iflaGROIPv4MaxSize:
			l.GROIPv4MaxSize = l.count(&d, 10)
		case iflaNumVF:
			l.NumVF = l.count(&d, 11)
		case iflaCarrierChanges:
			l.CarrierChanges = l.count(&d, countCarrierChanges)
		case iflaCarrierUpCount:
			l.CarrierUpCount = l.count(&d, 13)
		case iflaCarrierDownCount:
			l.CarrierDownCount = l.count(&d, 14)
		case iflaStats64:
			l.Stats.decode(d.Bytes())
			l.HasStats = true
		case iflaPropList:
			l.altNames = altNamesFrom(&d)
		case iflaLinkInfo:
			l.decodeLinkInfo(&d)
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: link: %w", err)
	}
	return nil
}

// decodeLinkInfo reads IFLA_LINKINFO: the kind, and the kind's attributes
// kept as they are for Info.
func (l *Link) decodeLinkInfo(d *nl.AttributeDecoder) {
	info := d.Nested()
	var data []byte
	for info.Next() {
		switch info.Type() {
		case iflaInfoKind:
			l.Kind = nameFrom(info.Bytes())
		case iflaInfoData:
			data = info.Bytes()
		}
	}
	d.Propagate(info.Err())
	l.infoData = keptInfoData(l.Kind, data)
}

// altNamesFrom reads the IFLA_ALT_IFNAMEs of IFLA_PROP_LIST, each with a
// NUL after it, into one string: one allocation.
func altNamesFrom(d *nl.AttributeDecoder) string {
	var buf [256]byte
	b := buf[:0]
	p := d.Nested()
	for p.Next() {
		if p.Type() != iflaAltIfname {
			continue
		}
		n := p.Bytes()
		if i := bytes.IndexByte(n, 0); i >= 0 {
			n = n[:i]
		}
		if len(n) > 0 {
			b = append(append(b, n...), 0)
		}
	}
	d.Propagate(p.Err())
	return string(b)
}

func hwAttr(d *nl.AttributeDecoder) HardwareAddr {
	a, err := HardwareAddrFrom(d.Bytes())
	if err != nil {
		d.Propagate(err)
	}
	return a
}

// AppendBinary appends the payload of a link message (struct ifinfomsg and
// the attributes of the non-zero fields, IFLA_LINK_NETNSID if
// SetLinkNetNSID set one, IFLA_STATS64 if HasStats, the counts the kernel
// sent as 0) to b (encoding.BinaryAppender): the message the kernel would
// send, which decodes to l again.
// Kind and the kind's attributes (SetInfo, or as decoded) go in
// IFLA_LINKINFO; to create links that need IFLA_INFO_DATA (a veth's peer, a
// VLAN id) use NewLinkRequest. It allocates only if b lacks capacity, or
// for a long alias.
func (l *Link) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(l.Family), 0)
	b = binary.NativeEndian.AppendUint16(b, l.Type)
	b = binary.NativeEndian.AppendUint32(b, l.Index)
	b = binary.NativeEndian.AppendUint32(b, l.Flags)
	b = binary.NativeEndian.AppendUint32(b, l.Change)
	e := nl.NewAttributeEncoder(b)
	if !l.Name.IsZero() {
		putName(e, iflaIfname, l.Name)
	}
	if l.MTU != 0 {
		e.Uint32(iflaMTU, l.MTU)
	}
	if l.TxQLen != 0 {
		e.Uint32(iflaTxQLen, l.TxQLen)
	}
	if l.Master != 0 {
		e.Uint32(iflaMaster, l.Master)
	}
	if l.Link != 0 {
		e.Uint32(iflaLink, l.Link)
	}
	if l.Group != 0 {
		e.Uint32(iflaGroup, l.Group)
	}
	if l.OperState != 0 {
		e.Uint8(iflaOperState, uint8(l.OperState))
	}
	if !l.Address.IsZero() {
		e.Raw(iflaAddress, l.Address.Bytes())
	}
	if !l.Broadcast.IsZero() {
		e.Raw(iflaBroadcast, l.Broadcast.Bytes())
	}
	if l.Alias != "" {
		e.Raw(iflaIfAlias, []byte(l.Alias)) // without a NUL, as WithAlias sends it
	}
	if l.hasLinkNetNSID {
		e.Int32(iflaLinkNetNSID, l.linkNetNSID)
	}
	l.appendState(e)
	if !l.Kind.IsZero() || l.infoData != "" {
		m := e.BeginNested(iflaLinkInfo)
		if !l.Kind.IsZero() {
			putName(e, iflaInfoKind, l.Kind)
		}
		if l.infoData != "" {
			e.Raw(iflaInfoData|nl.AttrNested, stringBytes(l.infoData))
		}
		e.EndNested(m)
	}
	return e.Bytes()
}

// appendState appends the attributes of what the kernel reports about a
// link but does not take in a request (or takes only at creation, as the
// offload limits): NewLinkRequest and the other requests leave them out.
func (l *Link) appendState(e *nl.AttributeEncoder) {
	if !l.PermAddress.IsZero() {
		e.Raw(iflaPermAddress, l.PermAddress.Bytes())
	}
	if l.ParentDev != "" {
		e.String(iflaParentDevName, l.ParentDev)
	}
	if l.ParentBus != "" {
		e.String(iflaParentDevBusName, l.ParentBus)
	}
	for i, f := range l.counts() {
		if l.hasCount(i) {
			e.Uint32(linkCounts[i].attr, *f)
		}
	}
	if l.HasStats {
		var buf [sizeofLinkStats64]byte
		e.Raw(iflaStats64, l.Stats.append(buf[:0]))
	}
	if l.altNames != "" {
		m := e.BeginNested(iflaPropList)
		for s := l.altNames; s != ""; {
			i := strings.IndexByte(s, 0)
			e.String(iflaAltIfname, s[:i])
			s = s[i+1:]
		}
		e.EndNested(m)
	}
}

// linkCounts are the u32 attributes of Link's counts (see counts), in
// the order in which ip -details prints them, with the names it gives
// them in JSON (or, for those it does not print, ours).
var linkCounts = [...]struct {
	attr uint16
	json string
}{
	{iflaMinMTU, "min_mtu"}, {iflaMaxMTU, "max_mtu"},
	{iflaNumTxQueues, "num_tx_queues"}, {iflaNumRxQueues, "num_rx_queues"},
	{iflaGSOMaxSize, "gso_max_size"}, {iflaGSOMaxSegs, "gso_max_segs"},
	{iflaTSOMaxSize, "tso_max_size"}, {iflaTSOMaxSegs, "tso_max_segs"},
	{iflaGROMaxSize, "gro_max_size"},
	{iflaGSOIPv4MaxSize, "gso_ipv4_max_size"}, {iflaGROIPv4MaxSize, "gro_ipv4_max_size"},
	{iflaNumVF, "num_vf"},
	{iflaCarrierChanges, "carrier_changes"}, {iflaCarrierUpCount, "carrier_up_count"},
	{iflaCarrierDownCount, "carrier_down_count"},
}

// countCarrierChanges is the index of IFLA_CARRIER_CHANGES in linkCounts.
const countCarrierChanges = 12

// counts returns the fields of linkCounts, in its order.
func (l *Link) counts() [len(linkCounts)]*uint32 {
	return [...]*uint32{&l.MinMTU, &l.MaxMTU, &l.NumTxQueues, &l.NumRxQueues,
		&l.GSOMaxSize, &l.GSOMaxSegs, &l.TSOMaxSize, &l.TSOMaxSegs, &l.GROMaxSize,
		&l.GSOIPv4MaxSize, &l.GROIPv4MaxSize, &l.NumVF,
		&l.CarrierChanges, &l.CarrierUpCount, &l.CarrierDownCount}
}

// count reads the u32 of count i (of linkCounts), marking it if 0.
func (l *Link) count(d *nl.AttributeDecoder, i int) uint32 {
	v := d.Uint32()
	if v == 0 {
		l.zeros |= 1 << i
	} else {
		l.zeros &^= 1 << i
	}
	return v
}

// hasCount reports whether count i (of linkCounts) is to be encoded and
// printed: it is not 0, or the kernel sent it as 0. ip prints what the
// kernel sent, zeros included (a loopback's min_mtu 0). Only the zeros are
// marked, so that a Link built with the kernel's values equals the
// decoded one.
func (l *Link) hasCount(i int) bool { return l.zeros&(1<<i) != 0 || *l.counts()[i] != 0 }

// withoutState returns l without what appendState encodes but the
// offload limits that rtnl_create_link takes (the GSO and GRO sizes and
// GSO segments), and without the kind's attributes as the kernel reported
// them (a request sends its LinkInfo's instead).
func (l Link) withoutState() Link {
	l.PermAddress, l.ParentDev, l.ParentBus = HardwareAddr{}, "", ""
	l.MinMTU, l.MaxMTU, l.CarrierChanges, l.CarrierUpCount, l.CarrierDownCount = 0, 0, 0, 0, 0
	l.NumTxQueues, l.NumRxQueues, l.NumVF = 0, 0, 0
	l.TSOMaxSize, l.TSOMaxSegs = 0, 0
	const offload = 1<<4 | 1<<5 | 1<<8 | 1<<9 | 1<<10 // GSO and GRO sizes, GSO segments
	l.zeros &= offload
	l.Stats, l.HasStats, l.altNames, l.infoData = LinkStats{}, false, "", ""
	return l
}

// MarshalBinary returns the payload of a link message
// (encoding.BinaryMarshaler). One allocation.
func (l *Link) MarshalBinary() ([]byte, error) { return l.AppendBinary(make([]byte, 0, 64)) }

// Message returns l as a request of type typ (TypeNewLink, TypeSetLink,
// TypeDelLink, TypeGetLink) with the given header flags. One allocation for
// the payload.
func (l *Link) Message(typ, flags uint16) (nl.Message, error) {
	b, err := l.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
