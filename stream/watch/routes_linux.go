//go:build linux

package watch

import (
	"context"
	"net/netip"
	"slices"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// RouteWatcher watches a routing table.
type RouteWatcher = Watcher[rtnl.RouteKey, rtnl.Route]

// Routes watches the routes of the IPv4 and IPv6 routing tables (or of
// one family, WithFamily; of one table, WithTable). Cached (cloned)
// routes are left out, as in `ip route show`.
//
// The kernel changes IPv4 routes without a notification per route when
// a link changes, so the watcher also follows the links:
//   - a link that goes down or away takes its routes with it (those whose
//     every next hop is on the link or already dead, but not the host-scope
//     local routes of a link that is only down); multipath routes that keep
//     other next hops get this one flagged dead and linkdown. The watcher
//     applies the same rule itself, at once, and emits synthetic Deleted or
//     Changed events: it cannot dump instead, because the kernel announces
//     the link before it flushes the routes, and a dump can run in between.
//   - a change of carrier (linkdown flags) makes it dump the routes again:
//     the kernel flags them before it announces the carrier. A link that
//     comes up revives dead next hops just after announcing it, so the
//     watcher dumps then and again at the link's next notification (its
//     carrier's, as a rule).
//
// Routes flushed because their preferred source address was removed are
// not followed yet: an overrun or the next resync repairs them.
func Routes(opts ...Option) (*RouteWatcher, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	filter := rtnl.RouteFilter{Family: rtnl.Family(cfg.family), Table: cfg.table}
	groups := []uint32{rtnl.GroupLink}
	if cfg.family != uint8(rtnl.FamilyInet6) {
		groups = append(groups, rtnl.GroupIPv4Route)
	}
	if cfg.family != uint8(rtnl.FamilyInet) {
		groups = append(groups, rtnl.GroupIPv6Route)
	}
	return newWatcher(spec[rtnl.RouteKey, rtnl.Route]{
		name:   "routes",
		groups: groups,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Route) error) error {
			return rtnl.ForEachRoute(ctx, c, filter, fn)
		},
		decode: func(m nl.Message, r *rtnl.Route) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewRoute, rtnl.TypeDelRoute:
				*r, err = rtnl.DecodeRoute(m)
				return m.Header.Type == rtnl.TypeDelRoute, true, err
			}
			return false, false, nil
		},
		key:   func(r *rtnl.Route) rtnl.RouteKey { return r.Key() },
		equal: func(a, b *rtnl.Route) bool { return a.Equal(b) },
		keep: func(r *rtnl.Route) bool {
			return r.Flags&rtnl.RouteFlagCloned == 0 && filter.Match(r)
		},
		side: &routeSide{state: make(map[uint32]linkState), pending: make(map[uint32]bool)},
	}, opts)
}

// routeSide follows the links for a route watcher, and the way IPv6 groups
// routes into multipath routes.
type routeSide struct {
	state map[uint32]linkState
	// pending holds the links that went down (false) or away (true) since
	// the last settle.
	pending map[uint32]bool
}

type linkState struct {
	up, lower bool
	// settling: the link came up; the kernel may revive next hops after
	// announcing it, so its next notification (the carrier's, as a rule)
	// is dumped after too.
	settling bool
}

func (r *routeSide) load(ctx context.Context, c *nl.Conn) error {
	return rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		r.state[l.Index] = linkState{up: l.Up(), lower: l.Flags&rtnl.LinkLowerUp != 0}
		return nil
	})
}

func (r *routeSide) observe(m nl.Message) bool {
	switch m.Header.Type {
	case rtnl.TypeDelLink, rtnl.TypeNewLink:
	default:
		return false
	}
	l, err := rtnl.DecodeLink(m)
	if err != nil {
		return true // cannot tell what changed: dump
	}
	if m.Header.Type == rtnl.TypeDelLink {
		delete(r.state, l.Index)
		r.pending[l.Index] = true
		return false
	}
	cur := linkState{up: l.Up(), lower: l.Flags&rtnl.LinkLowerUp != 0}
	prev, known := r.state[l.Index]
	r.state[l.Index] = cur
	if gone, ok := r.pending[l.Index]; ok && !gone && cur.up {
		// Down and up again before a settle (both read in one drain or
		// after a loss): the flush is over, and a dump taken now shows
		// the routes added through the link since; none may be removed.
		delete(r.pending, l.Index)
	}
	switch {
	case !cur.up:
		if !known || prev.up {
			if _, gone := r.pending[l.Index]; !gone {
				r.pending[l.Index] = false
			}
		}
		return false
	case !known:
		return !cur.lower
	case !prev.up:
		cur.settling = true
		r.state[l.Index] = cur
		return true
	}
	return prev.lower != cur.lower || prev.settling
}

// settle removes or marks the IPv4 routes of the links that went down or
// away, as fib_sync_down_dev and fib_flush do in the kernel.
func (r *routeSide) settle(t map[rtnl.RouteKey]rtnl.Route, fn func(old, cur *rtnl.Route)) {
	if len(r.pending) == 0 {
		return
	}
	// A hop on a link that is down dies unless it belongs to a host-scope
	// route (the local address of a link that is only down).
	hit := func(rt *rtnl.Route, oif uint32) bool {
		gone, ok := r.pending[oif]
		return ok && (gone || rt.Scope != rtnl.ScopeHost)
	}
	for k, rt := range t {
		if rt.Family != rtnl.FamilyInet {
			continue // IPv6 notifies its deletions
		}
		if len(rt.Multipath) == 0 {
			if hit(&rt, rt.OIF) {
				delete(t, k)
				fn(&rt, nil)
			}
			continue
		}
		dead, hits := 0, 0
		for _, h := range rt.Multipath {
			switch {
			case hit(&rt, h.OIF):
				hits++
				dead++
			case uint32(h.Flags)&rtnl.RouteFlagDead != 0:
				dead++
			}
		}
		switch {
		case hits == 0:
		case dead == len(rt.Multipath):
			delete(t, k)
			fn(&rt, nil)
		default:
			nr := rt
			nr.Multipath = slices.Clone(rt.Multipath)
			for i := range nr.Multipath {
				if hit(&rt, nr.Multipath[i].OIF) {
					nr.Multipath[i].Flags |= uint8(rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown)
				}
			}
			t[k] = nr
			fn(&rt, &nr)
		}
	}
	clear(r.pending)
}

// entry mirrors IPv6's multipath groups. IPv6 joins the routes with a
// gateway that share a destination, table and metric into one multipath
// route, and notifies the whole group when one joins it, but a next hop
// that leaves the group only as a deleted single-path route. The table
// keys single-path IPv6 routes by interface and gateway, so: a group
// absorbs the single-path routes of its hops, and a single-path deletion
// that matches no entry removes the hop from its group (which becomes a
// single-path route when one hop is left).
func (r *routeSide) entry(t map[rtnl.RouteKey]rtnl.Route, v *rtnl.Route, del bool, fn func(old, cur *rtnl.Route)) bool {
	if v.Family != rtnl.FamilyInet6 {
		return false
	}
	group := v.Key()
	group.OIF, group.Gateway = 0, netip.Addr{}
	if len(v.Multipath) > 0 {
		if !del {
			for _, h := range v.Multipath {
				k := group
				k.OIF, k.Gateway = h.OIF, h.Gateway
				if old, ok := t[k]; ok {
					delete(t, k)
					fn(&old, nil)
				}
			}
		}
		return false
	}
	if !del || !v.Gateway.IsValid() {
		return false
	}
	if _, ok := t[v.Key()]; ok {
		return false
	}
	g, ok := t[group]
	if !ok {
		return false
	}
	i := slices.IndexFunc(g.Multipath, func(h rtnl.NextHop) bool { return h.OIF == v.OIF && h.Gateway == v.Gateway })
	if i < 0 {
		return false
	}
	rest := slices.Delete(slices.Clone(g.Multipath), i, i+1)
	switch len(rest) {
	case 0:
		delete(t, group)
		fn(&g, nil)
	case 1:
		delete(t, group)
		fn(&g, nil)
		one := g
		one.Multipath = nil
		one.OIF, one.Gateway = rest[0].OIF, rest[0].Gateway
		one.Flags |= uint32(rest[0].Flags)
		t[one.Key()] = one
		fn(nil, &one)
	default:
		ng := g
		ng.Multipath = rest
		t[group] = ng
		fn(&g, &ng)
	}
	return true
}
