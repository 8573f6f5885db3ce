package rtnl

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/nlrx/nlrx/nl"
)

// Message types of nexthop objects (RTM_*NEXTHOP).
const (
	TypeNewNexthop uint16 = 104 // RTM_NEWNEXTHOP
	TypeDelNexthop uint16 = 105 // RTM_DELNEXTHOP
	TypeGetNexthop uint16 = 106 // RTM_GETNEXTHOP
)

// GroupNexthop is the multicast group of nexthop notifications
// (RTNLGRP_NEXTHOP), for nl.WithGroups and nl.Conn.JoinGroup.
const GroupNexthop uint32 = 32 // RTNLGRP_NEXTHOP

// NexthopGroupType is the kind of a nexthop group (NHA_GROUP_TYPE,
// NEXTHOP_GRP_TYPE_*).
type NexthopGroupType uint16

// Nexthop group types. The zero value is the kernel's default.
const (
	NexthopGroupMultipath NexthopGroupType = 0 // NEXTHOP_GRP_TYPE_MPATH: hash-threshold multipath ("type mpath")
	NexthopGroupResilient NexthopGroupType = 1 // NEXTHOP_GRP_TYPE_RES: resilient hashing over buckets ("type resilient")
)

// String returns the iproute2 name ("mpath", "resilient") or the number.
func (t NexthopGroupType) String() string {
	switch t {
	case NexthopGroupMultipath:
		return "mpath"
	case NexthopGroupResilient:
		return "resilient"
	}
	return strconv.Itoa(int(t))
}

// Attribute types of nexthop messages (NHA_*, NHA_RES_GROUP_*) and sizes of
// their fixed structures. NHA_ENCAP (8) is not decoded; NHA_RES_BUCKET (13)
// belongs to RTM_*NEXTHOPBUCKET messages; NHA_OP_FLAGS (14) and the
// statistics attributes NHA_GROUP_STATS, NHA_HW_STATS_ENABLE and
// NHA_HW_STATS_USED (15 to 17) are skipped.
const (
	nhaID        = 1  // NHA_ID
	nhaGroup     = 2  // NHA_GROUP
	nhaGroupType = 3  // NHA_GROUP_TYPE
	nhaBlackhole = 4  // NHA_BLACKHOLE
	nhaOIF       = 5  // NHA_OIF
	nhaGateway   = 6  // NHA_GATEWAY
	nhaEncapType = 7  // NHA_ENCAP_TYPE
	nhaGroups    = 9  // NHA_GROUPS (dump filter)
	nhaMaster    = 10 // NHA_MASTER (dump filter)
	nhaFDB       = 11 // NHA_FDB
	nhaResGroup  = 12 // NHA_RES_GROUP

	nhaResBuckets         = 1 // NHA_RES_GROUP_BUCKETS
	nhaResIdleTimer       = 2 // NHA_RES_GROUP_IDLE_TIMER
	nhaResUnbalancedTimer = 3 // NHA_RES_GROUP_UNBALANCED_TIMER
	nhaResUnbalancedTime  = 4 // NHA_RES_GROUP_UNBALANCED_TIME

	sizeofNhmsg      = 8 // struct nhmsg
	sizeofNexthopGrp = 8 // struct nexthop_grp
)

// Nexthop is a nexthop object (`ip nexthop`): a struct nhmsg and the NHA_*
// attributes of RTM_NEWNEXTHOP and RTM_DELNEXTHOP. It is either a single
// next hop (a gateway, a device, both, or a blackhole) or a group of other
// nexthops; routes refer to it by ID (Route.NexthopID).
//
// The zero value of each field means "not set". Decoding a single nexthop
// does not allocate; a group allocates its Group slice (one allocation).
type Nexthop struct {
	ID uint32 // NHA_ID; 0 in a request lets the kernel choose

	// Family is nh_family: FamilyInet or FamilyInet6 for a single nexthop
	// (and the family of Gateway), FamilyAll for a group.
	Family   Family
	Protocol Protocol // nh_protocol: who installed it
	Scope    Scope    // nh_scope, set by the kernel: link for a gateway, host for a device alone
	// Flags is nh_flags: RouteFlag* (RTNH_F_ONLINK, and the state flags
	// RTNH_F_DEAD, RTNH_F_LINKDOWN, RTNH_F_OFFLOAD, RTNH_F_TRAP …). The
	// kernel (6.18) deletes a nexthop whose device goes down or loses its
	// carrier rather than flagging it.
	Flags uint32

	OIF       uint32     // NHA_OIF: output interface index
	Gateway   netip.Addr // NHA_GATEWAY, of Family
	Blackhole bool       // NHA_BLACKHOLE: drop the packets
	FDB       bool       // NHA_FDB: used by bridge forwarding entries (VXLAN), not by routes
	EncapType uint16     // NHA_ENCAP_TYPE (LWTUNNEL_ENCAP_*); the NHA_ENCAP nest itself is not decoded

	// Group holds the members of a nexthop group (NHA_GROUP) in the
	// kernel's order; nil for a single nexthop.
	Group     []NexthopGroupMember
	GroupType NexthopGroupType // NHA_GROUP_TYPE
	Resilient NexthopResilient // NHA_RES_GROUP, for a resilient group
}

// NexthopGroupMember is one member of a nexthop group (struct nexthop_grp).
type NexthopGroupMember struct {
	ID uint32 // the member nexthop's ID
	// Weight is the member's share of the traffic: 1 to 256, or up to
	// 65535 on kernels with 16-bit weights (6.18 has them; older ones
	// ignore weight_high). It goes on the wire as weight−1, split into
	// weight and weight_high; 0 encodes as 1.
	Weight uint16
}

// NexthopResilient holds the parameters of a resilient group
// (NHA_RES_GROUP). The kernel counts time in clock ticks (USER_HZ, 10 ms);
// encoding rounds a duration up to a whole tick. A zero field is not set:
// a new group needs Buckets, and gets the kernel's defaults for the timers
// (120 s idle, no unbalanced timer); a replaced group keeps its values.
type NexthopResilient struct {
	Buckets         uint16        // NHA_RES_GROUP_BUCKETS: number of hash buckets
	IdleTimer       time.Duration // NHA_RES_GROUP_IDLE_TIMER: a bucket idle this long may move to another member
	UnbalancedTimer time.Duration // NHA_RES_GROUP_UNBALANCED_TIMER: after this long unbalanced, busy buckets move too
	UnbalancedTime  time.Duration // NHA_RES_GROUP_UNBALANCED_TIME: how long the group has been unbalanced (reported, never sent)
}

// IsZero reports whether no parameter is set.
func (r NexthopResilient) IsZero() bool { return r == NexthopResilient{} }

// IsGroup reports whether n is a group of nexthops.
func (n *Nexthop) IsGroup() bool { return len(n.Group) > 0 }

// Equal reports whether n and o hold the same values, group members in the
// same order. It does not allocate.
func (n *Nexthop) Equal(o *Nexthop) bool {
	return n.ID == o.ID && n.Family == o.Family && n.Protocol == o.Protocol && n.Scope == o.Scope &&
		n.Flags == o.Flags && n.OIF == o.OIF && n.Gateway == o.Gateway && n.Blackhole == o.Blackhole &&
		n.FDB == o.FDB && n.EncapType == o.EncapType && n.GroupType == o.GroupType &&
		n.Resilient == o.Resilient && slices.Equal(n.Group, o.Group)
}

// DecodeNexthop decodes an RTM_NEWNEXTHOP, RTM_DELNEXTHOP or RTM_GETNEXTHOP
// message. The result does not alias m.Data. It does not allocate for a
// single nexthop; a group allocates its member slice once.
func DecodeNexthop(m nl.Message) (Nexthop, error) {
	var n Nexthop
	switch m.Header.Type {
	case TypeNewNexthop, TypeDelNexthop, TypeGetNexthop:
	default:
		return n, fmt.Errorf("%w: %d is not a nexthop message", ErrMessageType, m.Header.Type)
	}
	err := n.decode(m.Data)
	return n, err
}

// UnmarshalBinary decodes the payload of a nexthop message (struct nhmsg
// and attributes) into n, replacing all of n. It does not allocate for a
// single nexthop, and n does not alias b.
func (n *Nexthop) UnmarshalBinary(b []byte) error {
	*n = Nexthop{}
	return n.decode(b)
}

// decode decodes b into n, which must be the zero Nexthop.
func (n *Nexthop) decode(b []byte) error {
	if len(b) < sizeofNhmsg {
		return shortErr("nexthop", len(b), sizeofNhmsg)
	}
	n.Family = Family(b[0])
	n.Scope = Scope(b[1])
	n.Protocol = Protocol(b[2])
	n.Flags = binary.NativeEndian.Uint32(b[4:8])
	alen := n.Family.addrLen()
	d := nl.NewAttributeDecoder(b[sizeofNhmsg:])
	for d.Next() {
		switch d.Type() {
		case nhaID:
			n.ID = d.Uint32()
		case nhaGroup:
			g, err := decodeNexthopGroup(d.Bytes())
			if err != nil {
				d.Propagate(err)
			}
			n.Group = g
		case nhaGroupType:
			n.GroupType = NexthopGroupType(d.Uint16())
		case nhaBlackhole:
			n.Blackhole = true
		case nhaOIF:
			n.OIF = d.Uint32()
		case nhaGateway:
			if alen == 0 {
				d.Propagate(fmt.Errorf("NHA_GATEWAY in a nexthop of family %v", n.Family))
				break
			}
			n.Gateway = addrAttr(&d, alen)
		case nhaEncapType:
			n.EncapType = d.Uint16()
		case nhaFDB:
			n.FDB = true
		case nhaResGroup:
			decodeResilient(&d, &n.Resilient)
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: nexthop: %w", err)
	}
	return nil
}

// decodeNexthopGroup decodes the nexthop_grp array of NHA_GROUP into one
// exactly sized slice.
func decodeNexthopGroup(b []byte) ([]NexthopGroupMember, error) {
	if len(b)%sizeofNexthopGrp != 0 {
		return nil, fmt.Errorf("NHA_GROUP: %w: %d bytes, not a whole number of %d-byte members", nl.ErrBadLength, len(b), sizeofNexthopGrp)
	}
	if len(b) == 0 {
		return nil, nil
	}
	g := make([]NexthopGroupMember, len(b)/sizeofNexthopGrp)
	for i := range g {
		e := b[i*sizeofNexthopGrp:]
		w := 1 + int(e[4]) + int(e[5])<<8
		if w > math.MaxUint16 {
			return nil, fmt.Errorf("NHA_GROUP: member %d: weight %d above %d", i, w, math.MaxUint16)
		}
		g[i] = NexthopGroupMember{ID: binary.NativeEndian.Uint32(e), Weight: uint16(w)}
	}
	return g, nil
}

// clockTick is one clock tick (USER_HZ), the kernel's unit for the timers of a
// resilient group.
const clockTick = time.Second / userHZ

// maxTicks is the largest tick count a time.Duration holds.
const maxTicks = uint64(math.MaxInt64 / int64(clockTick))

// ticksDuration converts clock ticks to a duration, saturating at the
// largest whole number of ticks a Duration holds.
func ticksDuration(t uint64) time.Duration { return time.Duration(min(t, maxTicks)) * clockTick }

// durationTicks converts a duration to clock ticks, rounding up so that a
// non-zero duration stays non-zero; a negative duration is 0.
func durationTicks(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	t := uint64(d / clockTick)
	if d%clockTick != 0 {
		t++
	}
	return t
}

func decodeResilient(d *nl.AttributeDecoder, r *NexthopResilient) {
	rd := d.Nested()
	for rd.Next() {
		switch rd.Type() {
		case nhaResBuckets:
			r.Buckets = rd.Uint16()
		case nhaResIdleTimer:
			r.IdleTimer = ticksDuration(uint64(rd.Uint32()))
		case nhaResUnbalancedTimer:
			r.UnbalancedTimer = ticksDuration(uint64(rd.Uint32()))
		case nhaResUnbalancedTime:
			r.UnbalancedTime = ticksDuration(rd.Uint64())
		}
	}
	d.Propagate(rd.Err())
}

// AppendBinary appends the payload of a nexthop message (struct nhmsg and
// attributes) to b (encoding.BinaryAppender). A zero Family is taken from
// Gateway. Every field that is set is encoded, even in combinations the
// kernel refuses (a group with a gateway, say): its extended ACK says why.
// It allocates only if b lacks capacity.
func (n *Nexthop) AppendBinary(b []byte) ([]byte, error) {
	fam := n.Family
	if fam == 0 {
		fam = familyOf(n.Gateway)
	}
	if n.Gateway.IsValid() && !fits(n.Gateway, fam.addrLen()) {
		return b, fmt.Errorf("rtnl: nexthop %d: gateway %v is not an %v address", n.ID, n.Gateway, fam)
	}
	idle, unbalanced := durationTicks(n.Resilient.IdleTimer), durationTicks(n.Resilient.UnbalancedTimer)
	if idle > math.MaxUint32 || unbalanced > math.MaxUint32 {
		return b, fmt.Errorf("rtnl: nexthop %d: resilient group timer above %v", n.ID, ticksDuration(math.MaxUint32))
	}
	if size := nl.AttrHeaderLen + len(n.Group)*sizeofNexthopGrp; size > nl.MaxAttrLen {
		return b, fmt.Errorf("rtnl: nexthop %d: %w: %d group members need %d bytes, the limit is %d",
			n.ID, nl.ErrBadLength, len(n.Group), size, nl.MaxAttrLen)
	}
	b = append(b, byte(fam), byte(n.Scope), byte(n.Protocol), 0)
	b = binary.NativeEndian.AppendUint32(b, n.Flags)
	e := nl.NewAttributeEncoder(b)
	if n.ID != 0 {
		e.Uint32(nhaID, n.ID)
	}
	if len(n.Group) > 0 {
		var hdr [nl.AttrHeaderLen]byte
		binary.NativeEndian.PutUint16(hdr[:], uint16(nl.AttrHeaderLen+len(n.Group)*sizeofNexthopGrp))
		binary.NativeEndian.PutUint16(hdr[2:], nhaGroup)
		e.Append(hdr[:])
		for _, m := range n.Group {
			var g [sizeofNexthopGrp]byte
			binary.NativeEndian.PutUint32(g[:], m.ID)
			w := max(m.Weight, 1) - 1
			g[4], g[5] = byte(w), byte(w>>8)
			e.Append(g[:])
		}
	}
	if len(n.Group) > 0 || n.GroupType != NexthopGroupMultipath {
		e.Uint16(nhaGroupType, uint16(n.GroupType))
	}
	if r := &n.Resilient; !r.IsZero() {
		mark := e.BeginNested(nhaResGroup)
		if r.Buckets != 0 {
			e.Uint16(nhaResBuckets, r.Buckets)
		}
		if idle != 0 {
			e.Uint32(nhaResIdleTimer, uint32(idle))
		}
		if unbalanced != 0 {
			e.Uint32(nhaResUnbalancedTimer, uint32(unbalanced))
		}
		if t := durationTicks(r.UnbalancedTime); t != 0 {
			e.Uint64(nhaResUnbalancedTime, t)
		}
		e.EndNested(mark)
	}
	if n.Blackhole {
		e.Flag(nhaBlackhole)
	}
	if n.OIF != 0 {
		e.Uint32(nhaOIF, n.OIF)
	}
	if n.Gateway.IsValid() {
		putAddr(e, nhaGateway, n.Gateway)
	}
	if n.EncapType != 0 {
		e.Uint16(nhaEncapType, n.EncapType)
	}
	if n.FDB {
		e.Flag(nhaFDB)
	}
	return e.Bytes()
}

// MarshalBinary returns the payload of a nexthop message
// (encoding.BinaryMarshaler). One allocation.
func (n *Nexthop) MarshalBinary() ([]byte, error) {
	return n.AppendBinary(make([]byte, 0, 64+len(n.Group)*sizeofNexthopGrp))
}

// Message returns n as a request of type typ (TypeNewNexthop,
// TypeDelNexthop, TypeGetNexthop) with the given header flags
// (nl.FlagCreate, nl.FlagReplace …). Sequence number and length are left
// for nl.Conn to fill in. One allocation for the payload.
func (n *Nexthop) Message(typ, flags uint16) (nl.Message, error) {
	b, err := n.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
