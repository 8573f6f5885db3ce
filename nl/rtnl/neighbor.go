package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
)

// Neighbor is one neighbour-table entry (ARP, NDP, or a bridge forwarding
// entry): a struct ndmsg and the attributes of RTM_NEWNEIGH. Decoding does
// not allocate.
type Neighbor struct {
	Family Family     // ndm_family: FamilyInet, FamilyInet6, FamilyBridge
	Index  uint32     // ndm_ifindex: the interface
	State  NeighState // ndm_state: NUD_*
	Flags  uint8      // ndm_flags: NeighFlag* (NTF_*)
	// FlagsExt is NDA_FLAGS_EXT, the flags that did not fit in ndm_flags:
	// NeighExt* (NTF_EXT_*).
	FlagsExt uint32
	Type     RouteType  // ndm_type
	Dst      netip.Addr // NDA_DST: the neighbour's IP address
	LLAddr   HardwareAddr
	Probes   uint32 // NDA_PROBES: unanswered probes so far
	VLAN     uint16 // NDA_VLAN (bridge entries)
	Master   uint32 // NDA_MASTER: the bridge of a forwarding entry
}

// Extended neighbour flags (NDA_FLAGS_EXT, NTF_EXT_*).
const (
	// NeighExtManaged: the kernel keeps the entry resolved on its own,
	// probing it even while unused (NTF_EXT_MANAGED; `ip neigh add … managed`,
	// Linux 5.16).
	NeighExtManaged uint32 = 1 << 0
	// NeighExtLocked: a bridge forwarding entry learnt on a locked port,
	// which forwards nothing until user space approves it (NTF_EXT_LOCKED).
	NeighExtLocked uint32 = 1 << 1
)

const ndaFlagsExt = 15 // NDA_FLAGS_EXT: u32

// Managed reports whether the entry is managed (NeighExtManaged).
func (n *Neighbor) Managed() bool { return n.FlagsExt&NeighExtManaged != 0 }

// DecodeNeighbor decodes an RTM_NEWNEIGH, RTM_DELNEIGH or RTM_GETNEIGH
// message. It does not allocate.
func DecodeNeighbor(m nl.Message) (Neighbor, error) {
	var n Neighbor
	switch m.Header.Type {
	case TypeNewNeighbor, TypeDelNeighbor, TypeGetNeighbor:
	default:
		return n, fmt.Errorf("%w: %d is not a neighbour message", ErrMessageType, m.Header.Type)
	}
	err := n.decode(m.Data)
	return n, err
}

// UnmarshalBinary decodes the payload of a neighbour message (struct ndmsg
// and attributes) into n, replacing all of n. It does not allocate.
func (n *Neighbor) UnmarshalBinary(b []byte) error {
	*n = Neighbor{}
	return n.decode(b)
}

func (n *Neighbor) decode(b []byte) error {
	if len(b) < sizeofNdmsg {
		return shortErr("neighbour", len(b), sizeofNdmsg)
	}
	n.Family = Family(b[0])
	n.Index = binary.NativeEndian.Uint32(b[4:8])
	n.State = NeighState(binary.NativeEndian.Uint16(b[8:10]))
	n.Flags = b[10]
	n.Type = RouteType(b[11])
	alen := n.Family.addrLen()
	d := nl.NewAttributeDecoder(b[sizeofNdmsg:])
	for d.Next() {
		switch d.Type() {
		case ndaDst:
			if n.Family == FamilyBridge {
				// A bridge or VXLAN forwarding entry: the remote's IP
				// address, of either family.
				n.Dst = d.Addr()
			} else {
				n.Dst = addrAttr(&d, alen)
			}
		case ndaLLAddr:
			n.LLAddr = hwAttr(&d)
		case ndaProbes:
			n.Probes = d.Uint32()
		case ndaVLAN:
			n.VLAN = d.Uint16()
		case ndaMaster:
			n.Master = d.Uint32()
		case ndaFlagsExt:
			n.FlagsExt = d.Uint32()
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: neighbour: %w", err)
	}
	return nil
}

// AppendBinary appends the payload of a neighbour message to b
// (encoding.BinaryAppender). A zero Family is taken from Dst. It allocates
// only if b lacks capacity.
func (n *Neighbor) AppendBinary(b []byte) ([]byte, error) {
	fam := n.Family
	if fam == 0 {
		fam = familyOf(n.Dst)
	}
	if alen := fam.addrLen(); alen != 0 && n.Dst.IsValid() && !fits(n.Dst, alen) {
		return b, fmt.Errorf("rtnl: neighbour: %v is not an %v address", n.Dst, fam)
	}
	b = append(b, byte(fam), 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, n.Index)
	b = binary.NativeEndian.AppendUint16(b, uint16(n.State))
	b = append(b, n.Flags, byte(n.Type))
	e := nl.NewAttributeEncoder(b)
	if n.Dst.IsValid() {
		putAddr(e, ndaDst, n.Dst)
	}
	if !n.LLAddr.IsZero() {
		e.Raw(ndaLLAddr, n.LLAddr.Bytes())
	}
	if n.Probes != 0 {
		e.Uint32(ndaProbes, n.Probes)
	}
	if n.VLAN != 0 {
		e.Uint16(ndaVLAN, n.VLAN)
	}
	if n.Master != 0 {
		e.Uint32(ndaMaster, n.Master)
	}
	if n.FlagsExt != 0 {
		e.Uint32(ndaFlagsExt, n.FlagsExt)
	}
	return e.Bytes()
}

// MarshalBinary returns the payload of a neighbour message
// (encoding.BinaryMarshaler). One allocation.
func (n *Neighbor) MarshalBinary() ([]byte, error) { return n.AppendBinary(make([]byte, 0, 48)) }

// Message returns n as a request of type typ (TypeNewNeighbor,
// TypeDelNeighbor) with the given header flags. One allocation for the
// payload.
func (n *Neighbor) Message(typ, flags uint16) (nl.Message, error) {
	b, err := n.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
