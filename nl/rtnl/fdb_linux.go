//go:build linux

package rtnl

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// FDBFilter selects the forwarding entries of a dump, as `bridge fdb show
// br BRIDGE brport PORT` does. The kernel applies it (rtnl_fdb_dump; the
// strict check that nl.Conn turns on by default reads NDA_MASTER and
// ndm_ifindex). The zero value selects every entry of every device.
type FDBFilter struct {
	// Bridge selects the bridge's entries and those of its ports' own
	// tables (their address lists, a VXLAN port's remotes). An index that
	// is not a device fails with an error matching unix.ENODEV.
	Bridge uint32
	// Port selects the entries of one device: a bridge port's entries in
	// its bridge and the device's own.
	Port uint32
}

// Request returns the RTM_GETNEIGH AF_BRIDGE dump request for the filter,
// as bridge fdb show sends it (the port in ndm_ifindex, the bridge in
// NDA_MASTER). One allocation.
func (f FDBFilter) Request() nl.Message {
	b := make([]byte, sizeofNdmsg, sizeofNdmsg+8)
	b[0] = byte(FamilyBridge)
	binary.NativeEndian.PutUint32(b[4:8], f.Port)
	if f.Bridge != 0 {
		e := nl.NewAttributeEncoder(b)
		e.Uint32(ndaMaster, f.Bridge)
		b, _ = e.Bytes()
	}
	return nl.Message{Header: nl.Header{Type: TypeGetNeighbor, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// ForEachFDB dumps the forwarding entries that pass f and calls fn for
// each; *e is valid only until fn returns. No allocation per entry. An
// interrupted dump is reported, not retried, as ForEachRoute says.
func ForEachFDB(ctx context.Context, c *nl.Conn, f FDBFilter, fn func(e *FDBEntry) error) error {
	return forEachFDB(ctx, c, f, false, fn)
}

func forEachFDB(ctx context.Context, c *nl.Conn, f FDBFilter, restart bool, fn func(e *FDBEntry) error) error {
	return walk(ctx, c, f.Request(), TypeNewNeighbor, "dump fdb", restart, (*FDBEntry).UnmarshalBinary, nil, fn)
}

// ListFDB returns the forwarding entries that pass f, in the kernel's
// order (`bridge fdb show`). It allocates the slice. An interrupted dump
// is retried as AppendRoutes says.
func ListFDB(ctx context.Context, c *nl.Conn, f FDBFilter, opts ...DumpOption) ([]FDBEntry, error) {
	return collect[FDBEntry](nil, opts, func(restart bool, fn func(*FDBEntry) error) error {
		return forEachFDB(ctx, c, f, restart, fn)
	})
}

// fdbRequest prepares e as bridge fdb add sends it: with neither
// NeighFlagMaster nor NeighFlagSelf it is for the device's own table
// (self), and a zero State is permanent (NUD_PERMANENT|NUD_NOARP). Master,
// the cache information and the state flags the kernel reports but does
// not take (offloaded) are left out.
func fdbRequest(e FDBEntry) FDBEntry {
	if e.Flags&(NeighFlagMaster|NeighFlagSelf) == 0 {
		e.Flags |= NeighFlagSelf
	}
	if e.State == NeighNone {
		e.State = NeighPermanent | NeighNoARP
	}
	e.Flags &^= NeighFlagOffloaded
	e.Master, e.HasCacheInfo, e.Used, e.Updated = 0, false, 0, 0
	return e
}

func fdbName(e *FDBEntry) string {
	where := "self"
	switch e.Flags & (NeighFlagMaster | NeighFlagSelf) {
	case NeighFlagMaster:
		where = "master"
	case NeighFlagMaster | NeighFlagSelf:
		where = "master and self"
	}
	s := fmt.Sprintf("fdb entry %v on link %d (%s", e.MAC, e.Index, where)
	if e.VLAN != 0 {
		s += fmt.Sprintf(", vlan %d", e.VLAN)
	}
	if e.Dst.IsValid() {
		s += fmt.Sprintf(", dst %v", e.Dst)
	}
	return s + ")"
}

func checkFDB(e *FDBEntry) error {
	switch {
	case e.Index == 0:
		return fmt.Errorf("rtnl: %s: no link index", fdbName(e))
	case e.MAC.Len() != 6:
		return fmt.Errorf("rtnl: %s: MAC of %d bytes, want 6", fdbName(e), e.MAC.Len())
	case e.VLAN >= 4095:
		return fmt.Errorf("rtnl: %s: VLAN %d out of range 1-4094", fdbName(e), e.VLAN)
	}
	return nil
}

func modifyFDB(ctx context.Context, c *nl.Conn, e FDBEntry, typ, flags uint16, verb string) error {
	if err := checkFDB(&e); err != nil {
		return err
	}
	m, err := e.Message(typ, nl.FlagRequest|flags)
	return execute(ctx, c, m, err, verb+" "+fdbName(&e))
}

// Message returns e as a request of type typ (TypeNewNeighbor,
// TypeDelNeighbor) with the given header flags, as it is: AddFDB and the
// others fill in the defaults first. One allocation for the payload.
func (e *FDBEntry) Message(typ, flags uint16) (nl.Message, error) {
	b, err := e.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}

// FDBRequest returns the request AddFDB (typ TypeNewNeighbor, flags
// nl.FlagCreate|nl.FlagExcl), ReplaceFDB (nl.FlagCreate|nl.FlagReplace),
// AppendFDB (nl.FlagCreate|nl.FlagAppend) or DeleteFDB (TypeDelNeighbor,
// no flags) sends for e, with their defaults applied. One allocation.
func FDBRequest(typ, flags uint16, e FDBEntry) (nl.Message, error) {
	if typ == TypeDelNeighbor {
		e = fdbDelRequest(e)
	} else {
		e = fdbRequest(e)
	}
	if err := checkFDB(&e); err != nil {
		return nl.Message{}, err
	}
	return e.Message(typ, nl.FlagRequest|flags)
}

// AddFDB adds the forwarding entry e (RTM_NEWNEIGH AF_BRIDGE with
// NLM_F_CREATE|NLM_F_EXCL; `bridge fdb add`): e.MAC on e.Index, in the
// table of the bridge e.Index is a port of (NeighFlagMaster in Flags), in
// the device's own table (NeighFlagSelf, the default: a VXLAN device's
// remotes, or another device's unicast and multicast address lists), or
// both. State says what kind of bridge entry it is: NeighPermanent (a
// local address; the default is NeighPermanent|NeighNoARP, as bridge fdb
// add sends it), NeighNoARP (static; bridge sends
// NeighNoARP|NeighReachable), NeighReachable (dynamic: it ages). The
// address lists take permanent entries only. VLAN needs a bridge with VLAN filtering; Flags may
// add NeighFlagSticky or NeighFlagExtLearned. A VXLAN entry names its
// remote: Dst, and optionally Port, VNI, Via and SrcVNI, or NHID for a
// nexthop group. An existing entry fails with an error matching
// unix.EEXIST. One request and its ACK.
func AddFDB(ctx context.Context, c *nl.Conn, e FDBEntry) error {
	return modifyFDB(ctx, c, fdbRequest(e), TypeNewNeighbor, nl.FlagCreate|nl.FlagExcl, "add")
}

// ReplaceFDB adds e or overwrites the entry for the same MAC (and VLAN)
// (NLM_F_CREATE|NLM_F_REPLACE; `bridge fdb replace`), with AddFDB's
// defaults. A bridge entry moves to e.Index if it was on another port; a
// VXLAN entry's first remote becomes e's. One request and its ACK.
func ReplaceFDB(ctx context.Context, c *nl.Conn, e FDBEntry) error {
	return modifyFDB(ctx, c, fdbRequest(e), TypeNewNeighbor, nl.FlagCreate|nl.FlagReplace, "replace")
}

// AppendFDB adds a remote to a VXLAN device's entry for e.MAC, creating
// it if needed (NLM_F_CREATE|NLM_F_APPEND; `bridge fdb append`), with
// AddFDB's defaults. One request and its ACK.
func AppendFDB(ctx context.Context, c *nl.Conn, e FDBEntry) error {
	return modifyFDB(ctx, c, fdbRequest(e), TypeNewNeighbor, nl.FlagCreate|nl.FlagAppend, "append")
}

// fdbDelRequest keeps what identifies an entry for RTM_DELNEIGH: the
// device, MAC, VLAN, which table (NeighFlagSelf if neither), and a VXLAN
// remote (Dst, Port, VNI, Via; with none, every remote of the MAC goes).
// The state is the one bridge fdb del sends, NUD_PERMANENT|NUD_NOARP,
// whatever the entry's: the address lists refuse a delete without
// NUD_PERMANENT (ndo_dflt_fdb_del), the tables of bridges and VXLAN
// devices do not read it.
func fdbDelRequest(e FDBEntry) FDBEntry {
	which := e.Flags & (NeighFlagMaster | NeighFlagSelf)
	if which == 0 {
		which = NeighFlagSelf
	}
	return FDBEntry{Index: e.Index, MAC: e.MAC, VLAN: e.VLAN, Flags: which, State: NeighPermanent | NeighNoARP,
		Dst: e.Dst, Port: e.Port, VNI: e.VNI, Via: e.Via, SrcVNI: e.SrcVNI}
}

// DeleteFDB deletes the forwarding entry e.MAC (and e.VLAN) on e.Index
// (RTM_DELNEIGH AF_BRIDGE; `bridge fdb del`), from the bridge's table
// (NeighFlagMaster), the device's own (NeighFlagSelf, the default) or
// both. For a VXLAN device, a Dst (with Port, VNI and Via if the remote
// has them) deletes that remote only. A missing entry fails with an error
// matching unix.ENOENT. One request and its ACK.
func DeleteFDB(ctx context.Context, c *nl.Conn, e FDBEntry) error {
	return modifyFDB(ctx, c, fdbDelRequest(e), TypeDelNeighbor, 0, "delete")
}
