package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
)

// Address is one interface address: a struct ifaddrmsg and the attributes of
// RTM_NEWADDR. Decoding does not allocate.
//
// The kernel's two address attributes mean different things per family and
// per link type; Address resolves them: Prefix is always the interface's own
// address (IFA_LOCAL, or IFA_ADDRESS when IFA_LOCAL is absent, as for most
// IPv6 addresses) with ifa_prefixlen, and Peer is the other end of a
// point-to-point link (IFA_ADDRESS when it differs from IFA_LOCAL).
type Address struct {
	Family    Family       // ifa_family
	Scope     Scope        // ifa_scope
	Protocol  uint8        // IFA_PROTO: who added the address (IFAPROT_*)
	Index     uint32       // ifa_index: the interface
	Flags     uint32       // IFA_FLAGS, or ifa_flags when absent: Addr* (IFA_F_*)
	Prefix    netip.Prefix // local address and prefix length, e.g. 10.0.0.1/24
	Peer      netip.Addr   // point-to-point peer, or the zero Addr
	Broadcast netip.Addr   // IFA_BROADCAST (IPv4)
	Label     Name         // IFA_LABEL (IPv4): "eth0", "eth0:1"…

	// Lifetimes in seconds (IFA_CACHEINFO); LifetimeForever for permanent
	// addresses. Both zero means none was given (in a request: forever).
	PreferredLifetime uint32
	ValidLifetime     uint32
	// Created and Updated are the kernel's timestamps (cstamp, tstamp), in
	// hundredths of a second since boot; ignored in requests.
	Created, Updated uint32

	RoutePriority uint32 // IFA_RT_PRIORITY: metric of the prefix route the address adds
}

// DecodeAddress decodes an RTM_NEWADDR, RTM_DELADDR or RTM_GETADDR message.
// It does not allocate.
func DecodeAddress(m nl.Message) (Address, error) {
	var a Address
	switch m.Header.Type {
	case TypeNewAddress, TypeDelAddress, TypeGetAddress:
	default:
		return a, fmt.Errorf("%w: %d is not an address message", ErrMessageType, m.Header.Type)
	}
	err := a.decode(m.Data)
	return a, err
}

// UnmarshalBinary decodes the payload of an address message (struct
// ifaddrmsg and attributes) into a, replacing all of a. It does not allocate.
func (a *Address) UnmarshalBinary(b []byte) error {
	*a = Address{}
	return a.decode(b)
}

func (a *Address) decode(b []byte) error {
	if len(b) < sizeofIfaddrmsg {
		return shortErr("address", len(b), sizeofIfaddrmsg)
	}
	a.Family = Family(b[0])
	plen := int(b[1])
	a.Flags = uint32(b[2])
	a.Scope = Scope(b[3])
	a.Index = binary.NativeEndian.Uint32(b[4:8])
	alen := a.Family.addrLen()
	if alen != 0 && plen > alen*8 {
		return fmt.Errorf("rtnl: address: prefix length /%d too long for family %v", plen, a.Family)
	}
	var local, addr netip.Addr
	d := nl.NewAttributeDecoder(b[sizeofIfaddrmsg:])
	for d.Next() {
		switch d.Type() {
		case ifaAddress:
			addr = addrAttr(&d, alen)
		case ifaLocal:
			local = addrAttr(&d, alen)
		case ifaBroadcast:
			a.Broadcast = addrAttr(&d, alen)
		case ifaLabel:
			a.Label = nameFrom(d.Bytes())
		case ifaFlags:
			a.Flags = d.Uint32()
		case ifaRTPriority:
			a.RoutePriority = d.Uint32()
		case ifaProto:
			a.Protocol = d.Uint8()
		case ifaCacheInfo:
			if v := d.Bytes(); len(v) >= sizeofIfaCache {
				a.PreferredLifetime = binary.NativeEndian.Uint32(v[0:4])
				a.ValidLifetime = binary.NativeEndian.Uint32(v[4:8])
				a.Created = binary.NativeEndian.Uint32(v[8:12])
				a.Updated = binary.NativeEndian.Uint32(v[12:16])
			}
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: address: %w", err)
	}
	switch {
	case local.IsValid():
		a.Prefix = netip.PrefixFrom(local, plen)
		if addr.IsValid() && addr != local {
			a.Peer = addr
		}
	case addr.IsValid():
		a.Prefix = netip.PrefixFrom(addr, plen)
	}
	return nil
}

// AppendBinary appends the payload of an address message to b
// (encoding.BinaryAppender): IFA_LOCAL and IFA_ADDRESS (the peer if set,
// else the local address again, as iproute2 sends them), and the attributes
// of the other non-zero fields. A zero Family is taken from Prefix. It
// allocates only if b lacks capacity.
func (a *Address) AppendBinary(b []byte) ([]byte, error) {
	fam := a.Family
	if fam == 0 {
		fam = familyOf(a.Prefix.Addr())
	}
	alen := fam.addrLen()
	if alen == 0 && (a.Prefix.IsValid() || a.Peer.IsValid() || a.Broadcast.IsValid()) {
		return b, fmt.Errorf("rtnl: address: family %v does not carry IP addresses", fam)
	}
	for _, c := range [...]struct {
		what string
		v    netip.Addr
	}{{"address", a.Prefix.Addr()}, {"peer", a.Peer}, {"broadcast", a.Broadcast}} {
		if c.v.IsValid() && !fits(c.v, alen) {
			return b, fmt.Errorf("rtnl: address: %s %v is not an %v address", c.what, c.v, fam)
		}
	}
	var plen uint8
	if a.Prefix.IsValid() {
		plen = uint8(a.Prefix.Bits())
	}
	b = append(b, byte(fam), plen, byte(a.Flags), byte(a.Scope))
	b = binary.NativeEndian.AppendUint32(b, a.Index)
	e := nl.NewAttributeEncoder(b)
	if a.Prefix.IsValid() {
		putAddr(e, ifaLocal, a.Prefix.Addr())
		if a.Peer.IsValid() {
			putAddr(e, ifaAddress, a.Peer)
		} else {
			putAddr(e, ifaAddress, a.Prefix.Addr())
		}
	} else if a.Peer.IsValid() {
		putAddr(e, ifaAddress, a.Peer)
	}
	if a.Broadcast.IsValid() {
		putAddr(e, ifaBroadcast, a.Broadcast)
	}
	if !a.Label.IsZero() {
		putName(e, ifaLabel, a.Label)
	}
	if a.Flags > 0xff {
		e.Uint32(ifaFlags, a.Flags)
	}
	if a.RoutePriority != 0 {
		e.Uint32(ifaRTPriority, a.RoutePriority)
	}
	if a.Protocol != 0 {
		e.Uint8(ifaProto, a.Protocol)
	}
	if a.PreferredLifetime != 0 || a.ValidLifetime != 0 || a.Created != 0 || a.Updated != 0 {
		var ci [sizeofIfaCache]byte
		binary.NativeEndian.PutUint32(ci[0:], a.PreferredLifetime)
		binary.NativeEndian.PutUint32(ci[4:], a.ValidLifetime)
		binary.NativeEndian.PutUint32(ci[8:], a.Created)
		binary.NativeEndian.PutUint32(ci[12:], a.Updated)
		e.Raw(ifaCacheInfo, ci[:])
	}
	return e.Bytes()
}

// MarshalBinary returns the payload of an address message
// (encoding.BinaryMarshaler). One allocation.
func (a *Address) MarshalBinary() ([]byte, error) { return a.AppendBinary(make([]byte, 0, 64)) }

// Message returns a as a request of type typ (TypeNewAddress,
// TypeDelAddress) with the given header flags. One allocation for the
// payload.
func (a *Address) Message(typ, flags uint16) (nl.Message, error) {
	b, err := a.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
