package rtnl

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/nlrx/nlrx/nl"
)

// Info decodes the link's kind-specific attributes (IFLA_INFO_DATA, which
// decoding keeps undecoded) into the LinkInfo of its Kind, as a value:
// Veth, VLAN, Bridge, Bond, Dummy, IFB, VRF, MACVLAN (for "macvlan" and
// "macvtap"), IPVLAN ("ipvlan", "ipvtap"), VXLAN, Geneve, IPTunnel
// ("ipip", "sit", "ip6tnl"), GRE ("gre", "gretap", "ip6gre", "ip6gretap"),
// Netkit, WireGuard or Tun ("tun", tap devices included). The Parent of a
// VLAN, MACVLAN or IPVLAN is l.Link. Only the fields each type has are
// read: a Bridge or Bond gets two of the dozens of options the kernel
// reports, a Veth or Netkit nothing of its peer (l.Link is the peer's
// index). A kind not in this list, or attributes without a kind, give a
// RawLinkInfo with the attributes undecoded; a link with neither gives
// nil.
//
// A malformed attribute is an error, not a panic. Costs: one pass over
// the attributes, and one allocation for the value the interface holds
// (two more for a RawLinkInfo).
func (l *Link) Info() (LinkInfo, error) {
	if l.Kind.IsZero() && l.infoData == "" {
		return nil, nil
	}
	d := nl.NewAttributeDecoder(stringBytes(l.infoData))
	var info LinkInfo
	switch string(l.Kind.b[:l.Kind.Len()]) {
	case "veth":
		info = Veth{}
	case "vlan":
		v := VLAN{Parent: l.Link}
		v.decodeLinkData(&d)
		info = v
	case "bridge":
		v := Bridge{}
		v.decodeLinkData(&d)
		info = v
	case "bond":
		v := Bond{}
		v.decodeLinkData(&d)
		info = v
	case "dummy":
		info = Dummy{}
	case "ifb":
		info = IFB{}
	case "wireguard":
		info = WireGuard{}
	case "vrf":
		v := VRF{}
		v.decodeLinkData(&d)
		info = v
	case "macvlan":
		v := MACVLAN{Parent: l.Link}
		v.decodeLinkData(&d)
		info = v
	case "macvtap":
		v := MACVLAN{Parent: l.Link, Tap: true}
		v.decodeLinkData(&d)
		info = v
	case "ipvlan":
		v := IPVLAN{Parent: l.Link}
		v.decodeLinkData(&d)
		info = v
	case "ipvtap":
		v := IPVLAN{Parent: l.Link, Tap: true}
		v.decodeLinkData(&d)
		info = v
	case "vxlan":
		v := VXLAN{}
		v.decodeLinkData(&d)
		info = v
	case "geneve":
		v := Geneve{}
		v.decodeLinkData(&d)
		info = v
	case "ipip":
		v := IPTunnel{Kind: "ipip"}
		v.decodeLinkData(&d)
		info = v
	case "sit":
		v := IPTunnel{Kind: "sit"}
		v.decodeLinkData(&d)
		info = v
	case "ip6tnl":
		v := IPTunnel{Kind: "ip6tnl"}
		v.decodeLinkData(&d)
		info = v
	case "gre":
		v := GRE{Kind: "gre"}
		v.decodeLinkData(&d)
		info = v
	case "gretap":
		v := GRE{Kind: "gretap"}
		v.decodeLinkData(&d)
		info = v
	case "ip6gre":
		v := GRE{Kind: "ip6gre"}
		v.decodeLinkData(&d)
		info = v
	case "ip6gretap":
		v := GRE{Kind: "ip6gretap"}
		v.decodeLinkData(&d)
		info = v
	case "netkit":
		v := Netkit{}
		v.decodeLinkData(&d)
		info = v
	case "tun":
		v := Tun{}
		v.decodeLinkData(&d)
		info = v
	default:
		return RawLinkInfo{Kind: l.Kind.String(), Data: l.InfoData()}, nil
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("rtnl: link %s: %s attributes: %w", l.Name, l.Kind, err)
	}
	return info, nil
}

func (v *VRF) decodeLinkData(d *nl.AttributeDecoder) {
	for d.Next() {
		if d.Type() == vrfAttrTable {
			v.Table = d.Uint32()
		}
	}
}

// InfoData returns the link's kind-specific attributes (IFLA_INFO_DATA)
// undecoded, as the kernel sent them but for a bridge's running timers,
// querier state and count of learned entries;
// nil if it sent none. It allocates the copy.
func (l *Link) InfoData() []byte {
	if l.infoData == "" {
		return nil
	}
	return []byte(l.infoData)
}

// SetInfo sets Kind and the kind's attributes to info's, as AppendBinary
// will encode them and Info decode them; a nil info clears both. For a
// VLAN, MACVLAN or IPVLAN with a Parent it sets l.Link too. It fails if
// info's AppendLinkData does or its kind is too long for a Name. One
// allocation for the attributes.
func (l *Link) SetInfo(info LinkInfo) error {
	if info == nil {
		l.Kind, l.infoData = Name{}, ""
		return nil
	}
	kind := info.LinkKind()
	if kind == "" || len(kind) >= NameLen {
		return fmt.Errorf("rtnl: link kind %q empty or longer than %d bytes", kind, NameLen-1)
	}
	var buf [256]byte
	e := nl.NewAttributeEncoder(buf[:0])
	if err := info.AppendLinkData(e); err != nil {
		return err
	}
	b, err := e.Bytes()
	if err != nil {
		return err
	}
	l.Kind = MakeName(kind)
	l.infoData = keptInfoData(l.Kind, b)
	if p, ok := info.(parented); ok && p.linkParent() != 0 {
		l.Link = p.linkParent()
	}
	return nil
}

// keptInfoData returns the IFLA_INFO_DATA a Link keeps: data as it is,
// but without a bridge's running timers (IFLA_BR_HELLO_TIMER …
// IFLA_BR_GC_TIMER), its multicast querier's state and its count of
// learned entries (IFLA_BR_MCAST_QUERIER_STATE, IFLA_BR_FDB_N_LEARNED),
// which change from one dump to the next without a notification, so that
// == still tells whether the bridge changed. A
// malformed list is kept whole, for Info to report. It allocates the
// string, unless data is empty.
func keptInfoData(kind Name, data []byte) string {
	if len(data) == 0 {
		return ""
	}
	if !kind.Is("bridge") {
		return string(data)
	}
	var buf [1024]byte
	b := buf[:0]
	for rest := data; len(rest) > 0; {
		if len(rest) < nl.AttrHeaderLen {
			return string(data)
		}
		n := int(binary.NativeEndian.Uint16(rest))
		if n < nl.AttrHeaderLen || n > len(rest) {
			return string(data)
		}
		next := min(nl.Align(n), len(rest))
		switch t := binary.NativeEndian.Uint16(rest[2:]) & nl.AttrTypeMask; {
		case t >= bridgeAttrFirstTimer && t <= bridgeAttrLastTimer, t == bridgeAttrQuerierState, t == bridgeAttrFDBLearned:
		default:
			b = append(b, rest[:next]...)
		}
		rest = rest[next:]
	}
	return string(b)
}

// stringBytes returns the bytes of s without copying them. They must not
// be written to: the decoder and the encoder only read them.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
