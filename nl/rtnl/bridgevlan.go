package rtnl

import (
	"encoding/binary"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// BridgeVLAN is one VLAN of a bridge port, or of the bridge itself, as
// `bridge vlan show` lists it (struct bridge_vlan_info in the IFLA_AF_SPEC
// of an AF_BRIDGE link message). In a request, LastVID > VID makes it the
// range VID-LastVID. It is a small value: decoding does not allocate.
type BridgeVLAN struct {
	Index  uint32 // ifi_index: the port, or the bridge
	Master uint32 // IFLA_MASTER of the message: the port's bridge
	VID    uint16 // 1-4094
	// LastVID, in a request, ends the range that starts at VID
	// (BRIDGE_VLAN_INFO_RANGE_BEGIN and _END); 0 for VID alone.
	LastVID uint16
	Flags   uint16 // BridgeVLANPVID, BridgeVLANUntagged …
	// Self, in a request, is for the bridge device's own VLANs
	// (IFLA_BRIDGE_FLAGS BRIDGE_FLAGS_SELF; `bridge vlan add … self`),
	// rather than for a port's in its bridge (the default).
	Self bool
}

// Bridge VLAN flags (bridge_vlan_info.flags, BRIDGE_VLAN_INFO_*).
const (
	BridgeVLANMaster     uint16 = 1 << 0 // BRIDGE_VLAN_INFO_MASTER: operate on the bridge's VLAN entry
	BridgeVLANPVID       uint16 = 1 << 1 // BRIDGE_VLAN_INFO_PVID: untagged ingress frames get this VLAN
	BridgeVLANUntagged   uint16 = 1 << 2 // BRIDGE_VLAN_INFO_UNTAGGED: egress frames leave untagged
	BridgeVLANRangeBegin uint16 = 1 << 3 // BRIDGE_VLAN_INFO_RANGE_BEGIN
	BridgeVLANRangeEnd   uint16 = 1 << 4 // BRIDGE_VLAN_INFO_RANGE_END
	BridgeVLANBrEntry    uint16 = 1 << 5 // BRIDGE_VLAN_INFO_BRENTRY: a global bridge VLAN context
	BridgeVLANOnlink     uint16 = 1 << 6 // BRIDGE_VLAN_INFO_ONLINK
)

const (
	iflaAFSpec          = 26 // IFLA_AF_SPEC
	iflaBridgeFlags     = 0  // IFLA_BRIDGE_FLAGS: u16
	iflaBridgeVLANInfo  = 2  // IFLA_BRIDGE_VLAN_INFO: struct bridge_vlan_info
	bridgeFlagsSelf     = 2  // BRIDGE_FLAGS_SELF
	rtextFilterBrVLAN   = 1 << 1
	sizeofBridgeVLANInf = 4
)

// AppendBridgeVLANs decodes the VLANs of an AF_BRIDGE RTM_NEWLINK payload
// (struct ifinfomsg and attributes) and appends them to dst, one per VID
// (a range the kernel sends compressed is expanded). A message of another
// family appends nothing. It allocates only if dst lacks capacity.
func AppendBridgeVLANs(dst []BridgeVLAN, b []byte) ([]BridgeVLAN, error) {
	if len(b) < sizeofIfinfomsg {
		return dst, shortErr("bridge vlan", len(b), sizeofIfinfomsg)
	}
	if Family(b[0]) != FamilyBridge {
		return dst, nil
	}
	index := binary.NativeEndian.Uint32(b[4:8])
	base := len(dst)
	var master uint32
	d := nl.NewAttributeDecoder(b[sizeofIfinfomsg:])
	for d.Next() {
		switch d.Type() {
		case iflaMaster:
			master = d.Uint32()
		case iflaAFSpec:
			nd := d.Nested()
			begin := -1
			for nd.Next() {
				if nd.Type() != iflaBridgeVLANInfo {
					continue
				}
				v := nd.Bytes()
				if len(v) < sizeofBridgeVLANInf {
					return dst, fmt.Errorf("rtnl: bridge vlan: %w: IFLA_BRIDGE_VLAN_INFO of %d bytes", nl.ErrShortMessage, len(v))
				}
				flags := binary.NativeEndian.Uint16(v[0:2])
				vid := binary.NativeEndian.Uint16(v[2:4])
				switch {
				case flags&BridgeVLANRangeBegin != 0:
					begin = int(vid)
				case flags&BridgeVLANRangeEnd != 0:
					if begin < 0 || int(vid) < begin || vid > 4095 {
						return dst, fmt.Errorf("rtnl: bridge vlan: range end %d without a begin at or below it", vid)
					}
					f := flags &^ BridgeVLANRangeEnd
					for id := begin; id <= int(vid); id++ {
						dst = append(dst, BridgeVLAN{Index: index, VID: uint16(id), Flags: f})
					}
					begin = -1
				default:
					dst = append(dst, BridgeVLAN{Index: index, VID: vid, Flags: flags})
				}
			}
			if err := nd.Err(); err != nil {
				return dst, fmt.Errorf("rtnl: bridge vlan: %w", err)
			}
		}
	}
	if err := d.Err(); err != nil {
		return dst, fmt.Errorf("rtnl: bridge vlan: %w", err)
	}
	for i := base; i < len(dst); i++ {
		dst[i].Master = master
	}
	return dst, nil
}

// BridgeVLANRequest returns the request that adds (typ TypeSetLink) or
// deletes (TypeDelLink) the VLAN or range v, as `bridge vlan add` and
// `bridge vlan del` send it: an AF_BRIDGE ifinfomsg for v.Index whose
// IFLA_AF_SPEC holds IFLA_BRIDGE_FLAGS (if v.Self) and one
// IFLA_BRIDGE_VLAN_INFO, or two for a range. VIDs outside 1-4094, a range
// that ends before it starts, and a range with BridgeVLANPVID (which the
// kernel refuses) are errors. One allocation.
func BridgeVLANRequest(typ uint16, v BridgeVLAN) (nl.Message, error) {
	switch {
	case typ != TypeSetLink && typ != TypeDelLink:
		return nl.Message{}, fmt.Errorf("%w: bridge vlan request of type %d", ErrMessageType, typ)
	case v.Index == 0:
		return nl.Message{}, fmt.Errorf("rtnl: bridge vlan %d: no link index", v.VID)
	case v.VID < 1 || v.VID > 4094:
		return nl.Message{}, fmt.Errorf("rtnl: bridge vlan %d on link %d: VID out of range 1-4094", v.VID, v.Index)
	case v.LastVID != 0 && (v.LastVID < v.VID || v.LastVID > 4094):
		return nl.Message{}, fmt.Errorf("rtnl: bridge vlan %d-%d on link %d: bad range", v.VID, v.LastVID, v.Index)
	case v.LastVID > v.VID && v.Flags&BridgeVLANPVID != 0:
		return nl.Message{}, fmt.Errorf("rtnl: bridge vlan %d-%d on link %d: a range cannot be the PVID", v.VID, v.LastVID, v.Index)
	}
	b := make([]byte, sizeofIfinfomsg, sizeofIfinfomsg+32)
	b[0] = byte(FamilyBridge)
	binary.NativeEndian.PutUint32(b[4:8], v.Index)
	e := nl.NewAttributeEncoder(b)
	mark := e.BeginNested(iflaAFSpec)
	if v.Self {
		e.Uint16(iflaBridgeFlags, bridgeFlagsSelf)
	}
	flags := v.Flags &^ (BridgeVLANRangeBegin | BridgeVLANRangeEnd)
	info := func(f, vid uint16) {
		var x [sizeofBridgeVLANInf]byte
		binary.NativeEndian.PutUint16(x[0:2], f)
		binary.NativeEndian.PutUint16(x[2:4], vid)
		e.Raw(iflaBridgeVLANInfo, x[:])
	}
	if v.LastVID > v.VID {
		info(flags|BridgeVLANRangeBegin, v.VID)
		info(flags|BridgeVLANRangeEnd, v.LastVID)
	} else {
		info(flags, v.VID)
	}
	e.EndNested(mark)
	b, err := e.Bytes()
	return nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagRequest}, Data: b}, err
}

// BridgeVLANDumpRequest returns the RTM_GETLINK AF_BRIDGE dump request
// with IFLA_EXT_MASK RTEXT_FILTER_BRVLAN that `bridge vlan show` sends.
// One allocation.
func BridgeVLANDumpRequest() nl.Message {
	b := make([]byte, sizeofIfinfomsg, sizeofIfinfomsg+8)
	b[0] = byte(FamilyBridge)
	e := nl.NewAttributeEncoder(b)
	e.Uint32(iflaExtMask, rtextFilterBrVLAN)
	b, _ = e.Bytes()
	return nl.Message{Header: nl.Header{Type: TypeGetLink, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}
