//go:build linux

package rtnl

import (
	"context"
	"fmt"
	"strings"

	"github.com/nlrx/nlrx/nl"
)

// GetLinkStats asks the kernel for the counters of the link with the given
// index (RTM_GETSTATS with IFLA_STATS_LINK_64): the cheapest way to poll
// one link, as the kernel fills nothing else. A missing link fails with an
// error matching unix.ENODEV. One request and its reply; no allocation
// but the request's.
func GetLinkStats(ctx context.Context, c *nl.Conn, index uint32) (LinkStats, error) {
	var s IfStats
	found := false
	err := c.ExecuteFunc(ctx, StatsRequest(index, StatsLink64), func(m nl.Message) error {
		if m.Header.Type != TypeNewStats || found {
			return nil
		}
		found = true
		return s.UnmarshalBinary(m.Data)
	})
	if err == nil && (!found || !s.HasLink64) {
		err = fmt.Errorf("%w: no IFLA_STATS_LINK_64 in the reply", ErrMessageType)
	}
	if err != nil {
		return LinkStats{}, fmt.Errorf("rtnl: get statistics of link %d: %w", index, err)
	}
	return s.Link64, nil
}

// ForEachLinkStats dumps the counters of every link (RTM_GETSTATS with
// IFLA_STATS_LINK_64; `ip -s link` without the rest of each link) and
// calls fn for each; *s is valid only until fn returns. A dump of 10,000
// links is a few datagrams; no allocation per link. An interrupted dump is
// reported, not retried, as ForEachRoute says.
func ForEachLinkStats(ctx context.Context, c *nl.Conn, fn func(s *IfStats) error) error {
	return forEachLinkStats(ctx, c, false, fn)
}

func forEachLinkStats(ctx context.Context, c *nl.Conn, restart bool, fn func(s *IfStats) error) error {
	var s IfStats
	var decErr, fnErr error
	err := c.ExecuteFunc(ctx, StatsRequest(0, StatsLink64), func(m nl.Message) error {
		if m.Header.Type != TypeNewStats {
			return nil
		}
		if interrupted(restart, m) {
			return errRestart
		}
		if err := s.UnmarshalBinary(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		fnErr = fn(&s)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dumpErr("dump link statistics", err, decErr)
}

// ListLinkStats returns the counters of every link, in the kernel's order
// (by index). It allocates the slice (216 bytes per link). An interrupted
// dump is retried as AppendRoutes says.
func ListLinkStats(ctx context.Context, c *nl.Conn, opts ...DumpOption) ([]IfStats, error) {
	return collect[IfStats](nil, opts, func(restart bool, fn func(*IfStats) error) error {
		return forEachLinkStats(ctx, c, restart, fn)
	})
}

// AddAltNames gives the link with the given index the alternative names
// (RTM_NEWLINKPROP; `ip link property add dev DEV altname NAME`): names
// of 1 to AltNameLen-1 bytes that the kernel resolves as it does the
// link's name. A name that any link already has, as a name or an
// alternative name, fails with an error matching unix.EEXIST. One request
// and its ACK.
func AddAltNames(ctx context.Context, c *nl.Conn, index uint32, names ...string) error {
	m, err := altNamesRequest(TypeNewLinkProp, index, names)
	return execute(ctx, c, m, err, fmt.Sprintf("add alternative names %s to link %d", strings.Join(names, ", "), index))
}

// DeleteAltNames removes alternative names from the link with the given
// index (RTM_DELLINKPROP; `ip link property del dev DEV altname NAME`). A
// name the link does not have fails with an error matching unix.ENOENT.
// One request and its ACK.
func DeleteAltNames(ctx context.Context, c *nl.Conn, index uint32, names ...string) error {
	m, err := altNamesRequest(TypeDelLinkProp, index, names)
	return execute(ctx, c, m, err, fmt.Sprintf("delete alternative names %s from link %d", strings.Join(names, ", "), index))
}
