package rtnl

import (
	"encoding/binary"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// Link is one network interface: a struct ifinfomsg and the attributes of
// RTM_NEWLINK that most programs need. Decoding does not allocate (names and
// addresses are held inline), except for an alias.
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

	linkNetNSID    int32 // IFLA_LINK_NETNSID, if hasLinkNetNSID
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

// Up reports whether the link is administratively up (IFF_UP).
func (l *Link) Up() bool { return l.Flags&LinkUp != 0 }

// DecodeLink decodes an RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK or
// RTM_SETLINK message. It allocates only for an alias.
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
// alias.
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
		case iflaLinkInfo:
			info := d.Nested()
			for info.Next() {
				if info.Type() == iflaInfoKind {
					l.Kind = nameFrom(info.Bytes())
				}
			}
			d.Propagate(info.Err())
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: link: %w", err)
	}
	return nil
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
// SetLinkNetNSID set one) to b (encoding.BinaryAppender).
// Kind goes in IFLA_LINKINFO; for links that need IFLA_INFO_DATA (a veth's
// peer, a VLAN id) use NewLinkRequest. It allocates only if b lacks
// capacity, or for a long alias.
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
	if !l.Kind.IsZero() {
		m := e.BeginNested(iflaLinkInfo)
		putName(e, iflaInfoKind, l.Kind)
		e.EndNested(m)
	}
	return e.Bytes()
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
