//go:build linux

package watch

import (
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// routesDisturbed tells which routes a dump may have missed or listed
// twice, from the notifications that arrived while it ran. The kernel
// dumps an IPv6 table by walking its tree and, when the table changed
// between two datagrams of the dump, starts the walk again from the root,
// skipping as many routes as it had sent (fib6_dump_table): a route added
// before that point makes it send one twice (and, measured on 6.18, miss
// another); one deleted would make it skip one it never sent, where the
// deletion renews the tree's serial number (a deleted leaf does not on
// 6.18; deletions count here all the same). It does not flag the dump
// interrupted. A verification keeps its model where a dump may be wrong;
// a resync dumps again (Stats.DisturbedDumps). The
// table changes with every IPv6 route notified in it, and every IPv6
// table with an IPv6 address added or deleted (rt_genid_bump_ipv6 gives
// every node a new serial number). IPv4 dumps resume by key
// (fib_table_dump): what they show of the routes a change did not touch is
// right.
func routesDisturbed(inflight []drained) func(rtnl.RouteKey) bool {
	var tables map[uint32]bool
	all := false
	for _, m := range inflight {
		if len(m.data) == 0 || m.data[0] != byte(rtnl.FamilyInet6) {
			continue
		}
		switch m.h.Type {
		case rtnl.TypeNewAddress, rtnl.TypeDelAddress:
			all = true
		case rtnl.TypeNewRoute, rtnl.TypeDelRoute:
			r, err := rtnl.DecodeRoute(nl.Message{Header: m.h, Data: m.data})
			if err != nil {
				all = true
				continue
			}
			if tables == nil {
				tables = make(map[uint32]bool)
			}
			tables[r.Table] = true
		}
	}
	if !all && tables == nil {
		return nil
	}
	return func(k rtnl.RouteKey) bool {
		return k.Family() == rtnl.FamilyInet6 && (all || tables[k.Table()])
	}
}

// routeUnsteady tells the route groups whose dump may be wrong with no
// sign of it in the notifications: the IPv6 ones. fib6_dump_table restarts
// its walk by count whenever the tree's serial number changed between two
// datagrams, and the kernel renews it without a route notification too:
// its cleaners (fib6_clean_all, run by rt6_sync_up, rt6_sync_down_dev,
// rt6_mtu_change and the like) and nexthop changes mark every node they
// visit. A verification that finds such a group different from the model
// leaves it as the model has it and verifies again; only a second dump
// that differs too repairs it. (The soak of 797e836 saw a verification's
// dump miss an IPv6 route that the next one listed again: the watcher
// deleted it and added it back, and counted both as repairs.)
func routeUnsteady(g rtnl.RouteKey) bool { return g.Family() == rtnl.FamilyInet6 }
