//go:build linux

package rtnl

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// neighRequest prepares n for RTM_NEWNEIGH: a zero State becomes
// NeighPermanent, as ip neigh add does, except for proxy entries, which
// have no state, and managed ones, which the kernel resolves itself (it
// refuses them permanent); the probe count is the kernel's to keep.
func neighRequest(n Neighbor) Neighbor {
	if n.State == NeighNone && n.Flags&NeighFlagProxy == 0 && !n.Managed() {
		n.State = NeighPermanent
	}
	n.Probes = 0
	return n
}

func neighName(n *Neighbor) string {
	what := "neighbour"
	if n.Flags&NeighFlagProxy != 0 {
		what = "proxy neighbour"
	}
	return fmt.Sprintf("%s %v on link %d", what, n.Dst, n.Index)
}

// AddNeighbor adds the neighbour entry n (RTM_NEWNEIGH with
// NLM_F_CREATE|NLM_F_EXCL; `ip neigh add`): Dst, Index, LLAddr and State
// (NeighPermanent if zero; NeighReachable, NeighStale, NeighNoARP …). With
// NeighFlagProxy in Flags it adds a proxy entry instead (`ip neigh add
// proxy`), which needs only Dst and Index. With NeighExtManaged in FlagsExt
// it adds a managed entry (`ip neigh add … managed`), which the kernel
// resolves and keeps resolved itself: Dst and Index suffice, and a zero
// State stays zero (the kernel refuses a permanent managed entry). An existing entry fails with an
// error matching unix.EEXIST, except a proxy entry: the kernel updates
// those in place. One request and its ACK.
func AddNeighbor(ctx context.Context, c *nl.Conn, n Neighbor) error {
	n = neighRequest(n)
	m, err := n.Message(TypeNewNeighbor, nl.FlagRequest|nl.FlagCreate|nl.FlagExcl)
	return execute(ctx, c, m, err, "add "+neighName(&n))
}

// ReplaceNeighbor adds n or overwrites the entry for the same Dst and
// Index (NLM_F_CREATE|NLM_F_REPLACE; `ip neigh replace`), with the defaults
// of AddNeighbor. One request and its ACK.
func ReplaceNeighbor(ctx context.Context, c *nl.Conn, n Neighbor) error {
	n = neighRequest(n)
	m, err := n.Message(TypeNewNeighbor, nl.FlagRequest|nl.FlagCreate|nl.FlagReplace)
	return execute(ctx, c, m, err, "replace "+neighName(&n))
}

// DeleteNeighbor deletes the entry for n.Dst on n.Index (RTM_DELNEIGH;
// `ip neigh del`), or the proxy entry if n.Flags has NeighFlagProxy. A
// missing entry fails with an error matching unix.ENOENT. One request and
// its ACK.
func DeleteNeighbor(ctx context.Context, c *nl.Conn, n Neighbor) error {
	d := Neighbor{Family: n.Family, Index: n.Index, Dst: n.Dst, Flags: n.Flags & NeighFlagProxy, LLAddr: n.LLAddr,
		VLAN: n.VLAN, Master: n.Master}
	m, err := d.Message(TypeDelNeighbor, nl.FlagRequest)
	return execute(ctx, c, m, err, "delete "+neighName(&d))
}
