//go:build linux

package rtnl

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// NexthopFilter selects the nexthop objects of a dump (`ip nexthop show
// dev … | groups | master … | fdb`). The zero value selects every nexthop.
//
// The filter goes to the kernel as its dump attributes (NHA_OIF,
// NHA_GROUPS, NHA_MASTER, NHA_FDB), which it applies whether or not the
// socket has NETLINK_GET_STRICT_CHK, and the helpers check each nexthop
// again for all but Master, which depends on the links. That matters for
// FDB: the kernel (6.18 included) accepts NHA_FDB in a dump request but
// does not apply it, so `ip nexthop show fdb` lists every nexthop, while
// the helpers return only FDB nexthops and groups.
type NexthopFilter struct {
	// Family is FamilyAll, FamilyInet or FamilyInet6 (nh_family). Groups
	// have no family: a Family other than FamilyAll leaves them out, as
	// the kernel does.
	Family Family
	// OIF selects the nexthops through this device (groups never match; a
	// blackhole counts as the loopback device's, index 1, as in the
	// kernel). A missing device selects nothing, without an error.
	OIF    uint32
	Groups bool   // NHA_GROUPS: only groups
	Master uint32 // NHA_MASTER: only nexthops through a device enslaved to this one (a VRF or a bridge)
	FDB    bool   // NHA_FDB: only FDB nexthops and groups (applied by the helpers; see above)
}

// loopbackIndex is the interface index of the loopback device in every
// network namespace (LOOPBACK_IFINDEX); the kernel attaches blackhole
// nexthops to it.
const loopbackIndex = 1

// Request returns the RTM_GETNEXTHOP dump request for the filter: the
// family in the header, the rest as attributes. One allocation.
func (f NexthopFilter) Request() nl.Message {
	b := make([]byte, sizeofNhmsg, sizeofNhmsg+24)
	b[0] = byte(f.Family)
	e := nl.NewAttributeEncoder(b)
	if f.OIF != 0 {
		e.Uint32(nhaOIF, f.OIF)
	}
	if f.Groups {
		e.Flag(nhaGroups)
	}
	if f.Master != 0 {
		e.Uint32(nhaMaster, f.Master)
	}
	if f.FDB {
		e.Flag(nhaFDB)
	}
	b, _ = e.Bytes()
	return nl.Message{Header: nl.Header{Type: TypeGetNexthop, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// Match reports whether n passes the filter. Master is not checked (it
// depends on the links); the kernel checks it. It does not allocate.
func (f NexthopFilter) Match(n *Nexthop) bool {
	oif := n.OIF
	if n.Blackhole {
		oif = loopbackIndex
	}
	return (f.Family == FamilyAll || f.Family == n.Family) &&
		(f.OIF == 0 || !n.IsGroup() && f.OIF == oif) &&
		(!f.Groups || n.IsGroup()) &&
		(!f.FDB || n.FDB)
}

// ForEachNexthop dumps the nexthops that pass f (RTM_GETNEXTHOP; `ip
// nexthop show`) and calls fn for each, decoding straight from the socket's
// receive buffer: *n is reused for the next nexthop and is valid only until
// fn returns (copy it to keep it; its Group slice is not reused). If fn
// returns an error the walk stops and that error is returned; the rest of
// the dump is drained by the next request on c.
//
// Costs: one send, one receive per datagram of up to 32 KiB, no allocation
// per single nexthop, one per group. Nexthops that fail to decode are
// skipped and reported, joined, after the dump. If the kernel flags the
// dump as interrupted, every nexthop is still handed to fn and the error
// matches nl.ErrDumpInterrupted; it is not retried (see ForEachRoute).
func ForEachNexthop(ctx context.Context, c *nl.Conn, f NexthopFilter, fn func(n *Nexthop) error) error {
	return forEachNexthop(ctx, c, f, false, fn)
}

func forEachNexthop(ctx context.Context, c *nl.Conn, f NexthopFilter, restart bool, fn func(n *Nexthop) error) error {
	decode := func(n *Nexthop, b []byte) error {
		*n = Nexthop{}
		return n.decode(b)
	}
	return walk(ctx, c, f.Request(), TypeNewNexthop, "dump nexthops", restart, decode, f.Match, fn)
}

// ListNexthops returns the nexthops that pass f, in the kernel's order (by
// ID). It allocates the slice (112 bytes per nexthop) and each group's
// members. An interrupted dump is retried as AppendRoutes says.
func ListNexthops(ctx context.Context, c *nl.Conn, f NexthopFilter, opts ...DumpOption) ([]Nexthop, error) {
	return collect[Nexthop](nil, opts, func(restart bool, fn func(*Nexthop) error) error {
		return forEachNexthop(ctx, c, f, restart, fn)
	})
}

// nexthopIDRequest is the RTM_GETNEXTHOP or RTM_DELNEXTHOP request for one
// ID: an empty nhmsg (the kernel refuses anything else in it) and NHA_ID.
func nexthopIDRequest(typ uint16, id uint32) nl.Message {
	b := make([]byte, sizeofNhmsg, sizeofNhmsg+8)
	e := nl.NewAttributeEncoder(b)
	e.Uint32(nhaID, id)
	b, _ = e.Bytes()
	return nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagRequest}, Data: b}
}

// NexthopByID asks the kernel for the nexthop with the given ID
// (RTM_GETNEXTHOP; `ip nexthop get id …`). A missing nexthop gives an error
// matching unix.ENOENT. One request and its reply.
func NexthopByID(ctx context.Context, c *nl.Conn, id uint32) (Nexthop, error) {
	var n Nexthop
	found := false
	err := c.ExecuteFunc(ctx, nexthopIDRequest(TypeGetNexthop, id), func(m nl.Message) error {
		if m.Header.Type != TypeNewNexthop || found {
			return nil
		}
		found = true
		return n.UnmarshalBinary(m.Data)
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: no RTM_NEWNEXTHOP in the reply", ErrMessageType)
	}
	if err != nil {
		return Nexthop{}, fmt.Errorf("rtnl: get nexthop %d: %w", id, err)
	}
	return n, nil
}

// nexthopRequest prepares n for RTM_NEWNEXTHOP: what only the kernel sets
// is dropped (the scope, which it refuses in a request; the flags other
// than RTNH_F_ONLINK; the unbalanced time of a resilient group), a group
// goes as AF_UNSPEC (the kernel refuses another family for one), and a
// single nexthop without a gateway (a device, or a blackhole) as AF_INET,
// as ip nexthop add sends it.
func nexthopRequest(n Nexthop) Nexthop {
	n.Scope = ScopeUniverse
	n.Flags &= RouteFlagOnlink
	n.Resilient.UnbalancedTime = 0
	switch {
	case n.IsGroup():
		n.Family = FamilyAll
	case n.Family == FamilyAll && n.Gateway.IsValid():
		n.Family = familyOf(n.Gateway)
	case n.Family == FamilyAll:
		n.Family = FamilyInet
	}
	return n
}

// AddNexthop adds the nexthop n (RTM_NEWNEXTHOP with
// NLM_F_CREATE|NLM_F_EXCL; `ip nexthop add`): a gateway and or a device
// (Gateway, OIF, with RouteFlagOnlink in Flags for an on-link gateway), a
// blackhole, an FDB nexthop (FDB with a Gateway), or a group (Group, with
// GroupType and, for a resilient group, Resilient, whose Buckets the
// kernel requires; FDB for a group of FDB nexthops). Protocol is sent as it is (ip sends ProtoUnspec too). An ID
// already in use fails with an error matching unix.EEXIST; an ID of 0 lets
// the kernel choose one. Kernel errors come back as *nl.Error with the
// errno and the extended-ACK text. One request and its ACK.
func AddNexthop(ctx context.Context, c *nl.Conn, n Nexthop) error {
	n = nexthopRequest(n)
	m, err := n.Message(TypeNewNexthop, nl.FlagRequest|nl.FlagCreate|nl.FlagExcl)
	return execute(ctx, c, m, err, fmt.Sprintf("add nexthop %d", n.ID))
}

// ReplaceNexthop adds n or replaces the nexthop with the same ID
// (NLM_F_CREATE|NLM_F_REPLACE; `ip nexthop replace`), with the defaults of
// AddNexthop. Routes and groups using the nexthop follow the replacement.
// The kernel refuses to turn a single nexthop into a group or a group into
// a single nexthop, to change a group's type, or to change the bucket
// count of a resilient group; Resilient fields left zero keep their
// values. One request and its ACK.
func ReplaceNexthop(ctx context.Context, c *nl.Conn, n Nexthop) error {
	n = nexthopRequest(n)
	m, err := n.Message(TypeNewNexthop, nl.FlagRequest|nl.FlagCreate|nl.FlagReplace)
	return execute(ctx, c, m, err, fmt.Sprintf("replace nexthop %d", n.ID))
}

// DeleteNexthop deletes the nexthop with the given ID (RTM_DELNEXTHOP; `ip
// nexthop del id …`). The kernel also deletes the routes that use it and
// takes it out of the groups it belongs to, deleting a group it leaves
// empty (with the routes using that group). A missing nexthop fails with an
// error matching unix.ENOENT. One request and its ACK.
func DeleteNexthop(ctx context.Context, c *nl.Conn, id uint32) error {
	return execute(ctx, c, nexthopIDRequest(TypeDelNexthop, id), nil, fmt.Sprintf("delete nexthop %d", id))
}
