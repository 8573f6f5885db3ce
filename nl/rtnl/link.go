package rtnl

import (
	"encoding/binary"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// Link is one network interface: a struct ifinfomsg and the attributes of
// RTM_NEWLINK that most programs need. Decoding does not allocate (names and
// addresses are held inline).
type Link struct {
	Index     uint32    // ifi_index
	Type      uint16    // ifi_type: ARPHRD_* (1 Ethernet, 772 loopback, …)
	Flags     uint32    // ifi_flags: Link* (IFF_*)
	Change    uint32    // ifi_change: in requests, the flags to change; 0 in the kernel's messages
	Name      Name      // IFLA_IFNAME
	Kind      Name      // IFLA_LINKINFO/IFLA_INFO_KIND: "veth", "bridge", "vxlan"…; empty for physical devices
	MTU       uint32    // IFLA_MTU
	TxQLen    uint32    // IFLA_TXQLEN
	Master    uint32    // IFLA_MASTER: index of the bridge or bond this link is enslaved to
	Link      uint32    // IFLA_LINK: index of the parent or peer link (a veth's peer)
	Group     uint32    // IFLA_GROUP: device group, 0 is "default"
	OperState OperState // IFLA_OPERSTATE
	Address   HardwareAddr
	Broadcast HardwareAddr
}

// Up reports whether the link is administratively up (IFF_UP).
func (l *Link) Up() bool { return l.Flags&LinkUp != 0 }

// DecodeLink decodes an RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK or
// RTM_SETLINK message. It does not allocate.
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
// and attributes) into l, replacing all of l. It does not allocate.
func (l *Link) UnmarshalBinary(b []byte) error {
	*l = Link{}
	return l.decode(b)
}

func (l *Link) decode(b []byte) error {
	if len(b) < sizeofIfinfomsg {
		return shortErr("link", len(b), sizeofIfinfomsg)
	}
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
// the attributes of the non-zero fields) to b (encoding.BinaryAppender).
// Kind goes in IFLA_LINKINFO; for links that need IFLA_INFO_DATA (a veth's
// peer, a VLAN id) use NewLinkRequest. It allocates only if b lacks
// capacity.
func (l *Link) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, 0, 0)
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
