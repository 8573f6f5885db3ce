package watch

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// fib mirrors how the kernel keeps routes, so that a table built from
// notifications equals the one the kernel dumps. It holds no sockets: it
// applies route notifications and the changes the kernel makes without one
// (a link going down or away, an address going, an MTU change, a nexthop
// object deleted) to a map keyed by rtnl.RouteKey, and reports each change.
//
// The rules, with the kernel functions they mirror:
//
//   - IPv4 (fib_table_insert, fib_table_delete): the routes of one
//     destination, table, TOS and metric form an ordered list; a
//     notification with NLM_F_REPLACE replaced the first of the list, one
//     with NLM_F_APPEND was added at its end, any other NLM_F_CREATE at its
//     front; a deletion removed the route it describes.
//   - IPv6 (fib6_add_rt2node, fib6_del): the routes of one destination,
//     source, table and metric are kept per next hop, except that those with
//     a gateway (and no nexthop object, and not learnt from a router
//     advertisement) join into one multipath route, which the kernel
//     notifies whole when a hop joins it and hop by hop when one leaves it.
//     NLM_F_REPLACE replaced the first route that is as able to join a
//     multipath route as the new one, siblings included.
//   - A link that goes down (fib_sync_down_dev, NETDEV_DOWN) kills the
//     IPv4 next hops on it, except those of host-scope routes; a route whose
//     hops are all dead is flushed (fib_flush), a multipath route that keeps
//     a live hop gets the dead ones flagged dead and linkdown. Removing a
//     link's last IPv4 address does the same to host-scope routes too
//     (fib_disable_ip with force). A link that goes away (NETDEV_UNREGISTER,
//     a move to another namespace included) takes every IPv4 route with a
//     hop on it, multipath or not.
//   - IPv6 multipath routes get the hops on a link that goes down flagged
//     dead and linkdown (rt6_multipath_nh_flags_set); those on a link that
//     goes away leave the group (fib6_ifdown). Single-path IPv6 routes are
//     deleted with notifications.
//   - An IPv4 address that goes from the namespace flushes the main table's
//     routes that use it as preferred source (fib_sync_down_addr); an IPv6
//     address deleted (ipv6_del_addr) clears it as the preferred source of
//     the routes (rt6_remove_prefsrc), but not one that its link's going
//     down or away deletes (addrconf_ifdown).
//   - A lower IPv6 MTU lowers the mtu metric of the IPv6 routes on the link
//     that have one at or above it, and raises those that had the old MTU
//     (rt6_mtu_change), unless the metric is locked: each sibling of a
//     multipath route on its own, and the routes through nexthop objects
//     with a next hop on the link.
//   - An IPv4 address added to a link that is up revives the dead next
//     hops on it (fib_inetaddr_event: fib_sync_up with RTNH_F_DEAD, and
//     RTNH_F_LINKDOWN while the link shows a carrier), the address's own
//     routes included, which are notified before (addrRoute).
//   - A deleted nexthop object takes the routes that use it (remove_nexthop).
//
// Whatever else the kernel does silently is found by the watcher's
// verification dumps and counted (Stats.Repairs).
type fib struct {
	buf []rtnl.RouteKey // scratch for a group's keys
	// Scratch routes for the changes reported on the hot path: the
	// reporting function is a func value, so a local passed to it by
	// address would escape, one allocation per notification.
	prev, dup rtnl.Route
	// sib holds, for the IPv6 multipath routes that notifications built,
	// the attributes of each sibling (protocol, metrics, source…: in the
	// kernel each hop of such a route is a route of its own), in the
	// group's order. The table shows the first sibling's; when a hop
	// leaves, the next one's show. A group without an entry here has the
	// table's attributes on every hop.
	sib map[rtnl.RouteKey][]rtnl.Route
	// guessed lists the groups whose route the model had to make up (a
	// hop left a multipath route whose siblings' own attributes it never
	// saw: a dump shows only the first's), until a dump shows them;
	// checking says a verification was asked for them.
	guessed  map[rtnl.RouteKey]bool
	checking bool
	// mixed lists the IPv6 groups that have held a multipath route and
	// routes that cannot join one at once. The kernel's dumps of such a
	// group skip the routes that sit between the first and the last
	// sibling of the multipath route (fib6_dump_node jumps to the last
	// sibling), so the dump, and ip route show, may not list routes the
	// kernel holds; the watcher follows the dumps there, verifying after
	// every change of the group.
	mixed map[rtnl.RouteKey]bool
}

// routes is a route table: a store whose groups are the routes' lookup
// groups (rtnl.RouteKey.Group), each in the kernel's order.
type routes = store[rtnl.RouteKey, rtnl.Route]

func newRoutes() *routes {
	return newDerivedStore(rtnl.RouteKey.Group, routeKeyOf, rtnl.RouteKey.Copy)
}

// routeKeyOf is the key of r, copy n of its twins.
func routeKeyOf(r *rtnl.Route, n uint8) rtnl.RouteKey { return r.Key().WithCopy(n) }

func newFIB() *fib {
	return &fib{sib: make(map[rtnl.RouteKey][]rtnl.Route), guessed: make(map[rtnl.RouteKey]bool), mixed: make(map[rtnl.RouteKey]bool)}
}

// change reports a change of the table: old nil for an added route, cur nil
// for a deleted one.
type change func(old, cur *rtnl.Route)

// reindex puts t's groups in the order of keys, the order of a dump. The
// groups kept reports true for hold the model's routes, not the dump's:
// what it knows of their siblings stays.
func (f *fib) reindex(t *routes, keys []rtnl.RouteKey, kept func(rtnl.RouteKey) bool) {
	for k := range f.sib {
		if !t.has(k) || kept == nil || !kept(k.Group()) {
			delete(f.sib, k)
		}
	}
	t.order(keys)
}

// insert adds v under k at position i of its group's list (-1: the end).
func (f *fib) insert(t *routes, k rtnl.RouteKey, v *rtnl.Route, i int) {
	t.insert(k, v, i)
}

// remove deletes k and returns its position in its group's list.
func (f *fib) remove(t *routes, k rtnl.RouteKey) int {
	delete(f.sib, k)
	return t.del(k)
}

// put stores cur in place of the route under old (which may have another
// key: a replace), keeping its position, and reports the change.
func (f *fib) put(t *routes, old rtnl.RouteKey, cur *rtnl.Route, fn change) {
	f.prev = t.val(old)
	prev := &f.prev
	k := cur.Key()
	if k == old.WithCopy(0) {
		k = old // a twin replaced by its like stays where it is
	}
	if k == old {
		if sameRoute(prev, cur) {
			return
		}
		t.set(k, cur)
		fn(prev, cur)
		return
	}
	if t.has(k) && cur.Family == rtnl.FamilyInet6 {
		// IPv6 replaces without looking for a route like the new one:
		// the group holds twins (see rtnl.RouteKey.Copy).
		n := uint8(1)
		for ; n < 255; n++ {
			if !t.has(k.WithCopy(n)) {
				break
			}
		}
		tk := k.WithCopy(n)
		delete(f.sib, old)
		f.move(t, old, tk, cur)
		f.renumber(t, k)
		fn(prev, cur)
		return
	}
	if dup := t.ref(k); dup != nil {
		// The new route was there already (a notification older than
		// the table): the replaced one goes, the other stays.
		f.dup = *dup
		f.remove(t, old)
		fn(prev, nil)
		if !sameRoute(&f.dup, cur) {
			t.set(k, cur)
			fn(&f.dup, cur)
		}
		return
	}
	delete(f.sib, old)
	f.move(t, old, k, cur)
	fn(prev, cur)
}

// move stores v under k in place of the route under old, at old's
// position in its group (k's group may be another).
func (f *fib) move(t *routes, old, k rtnl.RouteKey, v *rtnl.Route) {
	if t.move(old, k, v) {
		return
	}
	i := t.del(old)
	t.insert(k, v, i)
}

// renumber keys the twins of base (rtnl.RouteKey.Copy) 0, 1, … in their
// group's order, as a dump does.
func (f *fib) renumber(t *routes, base rtnl.RouteKey) {
	g := base.Group()
	keys := t.keys(g, nil)
	n := uint8(0)
	var moved []int // the positions of the twins to rename
	for i, k := range keys {
		if k.WithCopy(0) != base {
			continue
		}
		if k.Copy() != n {
			moved = append(moved, i)
		}
		n++
	}
	if len(moved) == 0 {
		return
	}
	// Rename through copies no twin has (n and above are free once the
	// twins are numbered 0 to n-1), then to their places.
	n = 0
	var tmp []rtnl.RouteKey
	for i, k := range keys {
		if k.WithCopy(0) != base {
			continue
		}
		want := base.WithCopy(n)
		n++
		if k == want {
			continue
		}
		free := k
		for c := uint8(254); c > 0; c-- {
			if !t.has(base.WithCopy(c)) {
				free = base.WithCopy(c)
				break
			}
		}
		t.rename(k, free)
		keys[i] = free
		tmp = append(tmp, free, want)
	}
	for j := 0; j < len(tmp); j += 2 {
		t.rename(tmp[j], tmp[j+1])
	}
}

// twin returns, of the twins of k (k itself included), the first in its
// group's order that equals v, or failing that the first; false if k is not
// in t.
func (f *fib) twin(t *routes, k rtnl.RouteKey, v *rtnl.Route) (rtnl.RouteKey, bool) {
	if !t.has(k) {
		return k, false
	}
	if !t.has(k.WithCopy(1)) {
		return k, true
	}
	first, found := k, false
	for _, o := range t.keys(k.Group(), f.buf[:0]) {
		if o.WithCopy(0) != k {
			continue
		}
		if !found {
			first, found = o, true
		}
		if r := t.ref(o); sameRoute(r, v) {
			return o, true
		}
	}
	return first, true
}

// sameRoute reports whether a and b hold the same route: Equal, except
// that the remaining lifetime of an expiring route is no change.
func sameRoute(a, b *rtnl.Route) bool {
	if (a.Expires == 0) != (b.Expires == 0) {
		return false
	}
	x := *a
	x.Expires = b.Expires
	return x.Equal(b)
}

// apply applies a route notification whose header carried flags; del is
// true for RTM_DELROUTE.
func (f *fib) apply(t *routes, v *rtnl.Route, flags uint16, del bool, fn change) {
	if v.Family == rtnl.FamilyInet6 {
		f.apply6(t, v, flags, del, fn)
		return
	}
	// One walk of the group's chain says where k is, or where it goes.
	k := v.Key()
	g := k.Group()
	h := t.hash(g)
	i, prev, first := t.findFirst(h, k, g)
	if i >= 0 {
		e := t.at(i)
		if del {
			f.prev = e.val
			delete(f.sib, k)
			t.unlink(h, i, prev)
			t.release(i)
			fn(&f.prev, nil)
			return
		}
		// The route itself changed: same key, same place in its group.
		if !sameRoute(&e.val, v) {
			f.prev = e.val
			e.val = *v
			fn(&f.prev, v)
		}
		return
	}
	if del {
		return
	}
	switch {
	case flags&nl.FlagReplace != 0 && first >= 0:
		// It replaces the group's first route, whose key differs (a
		// replace that changed the next hop, say): it takes its place.
		e := t.at(first)
		f.prev = e.val
		if len(f.sib) > 0 { // the IPv6 siblings; none in a table of IPv4 routes alone
			delete(f.sib, t.key(first))
		}
		e.val = *v
		t.setKey(first, k)
		fn(&f.prev, v)
	case flags&nl.FlagAppend != 0 || first < 0:
		t.link(h, t.alloc(k, v), prev) // prev: the chain's last
		fn(nil, v)
	default:
		t.link(h, t.alloc(k, v), -1)
		fn(nil, v)
	}
}

// ecmp reports whether an IPv6 route may join a multipath route
// (rt6_qualify_for_ecmp).
func ecmp(r *rtnl.Route) bool {
	return r.NexthopID == 0 && r.Protocol != rtnl.ProtoRA && (len(r.Multipath) > 0 || r.Gateway.IsValid())
}

func (f *fib) apply6(t *routes, v *rtnl.Route, flags uint16, del bool, fn change) {
	k := v.Key()
	g := k.Group()
	f.checkMixed(t, g)
	defer f.checkMixed(t, g)
	if del {
		f.delete6(t, v, k, fn)
		return
	}
	if flags&nl.FlagReplace != 0 {
		// The first route as able to join a multipath route as v, or
		// failing that the first route of the group.
		can := ecmp(v)
		f.buf = t.keys(g, f.buf[:0])
		target := -1
		for i, o := range f.buf {
			if old := t.val(o); ecmp(&old) == can {
				target = i
				break
			}
		}
		if target < 0 && len(f.buf) > 0 {
			target = 0
		}
		if target >= 0 {
			f.put(t, f.buf[target], v, fn)
			f.absorb(t, v, fn)
			return
		}
	}
	if len(v.Multipath) > 0 && v.NexthopID == 0 {
		// A multipath route takes the place of the route it grew from
		// and absorbs the single-path routes of its hops. The kernel
		// lists a group from the hop a message is about, and adds a hop
		// at the end of the group: its dumps list the hops in the order
		// they joined.
		f.buf = t.keys(g, f.buf[:0])
		for _, o := range f.buf {
			if old := t.val(o); ecmp(&old) {
				// The route it grew from stays first: its attributes
				// (protocol, metrics, source…) are the group's in the
				// kernel's dumps, whichever hop a message is about; the
				// hop the message is about, listed first, is a sibling
				// with the message's attributes.
				sibs := f.siblings(o, &old)
				hops := joinHops(&old, v.Multipath)
				for _, h := range hops {
					if slices.IndexFunc(sibs, func(r rtnl.Route) bool { return r.OIF == h.OIF && r.Gateway == h.Gateway }) < 0 {
						sibs = append(sibs, sibling(v, h))
					}
				}
				nv := f.groupOf(sibs, hops)
				gk := nv.Key()
				f.put(t, o, &nv, fn)
				f.sib[gk] = sibs
				f.absorb(t, v, fn)
				return
			}
		}
	} else if ecmp(v) {
		if r := t.ref(groupKey6(g)); r != nil && r.Multipath != nil && hopIndex(r.Multipath, v.OIF, v.Gateway) >= 0 {
			return // already a hop of the multipath route
		}
	}
	if t.has(k) {
		f.put(t, k, v, fn)
	} else {
		f.insert(t, k, v, -1)
		fn(nil, v)
	}
	f.absorb(t, v, fn)
}

// checkMixed marks group g for verification if it holds, or has held, an
// IPv6 multipath route beside routes that cannot join one (see mixed).
func (f *fib) checkMixed(t *routes, g rtnl.RouteKey) {
	if !f.mixed[g] {
		var multi, other bool
		f.buf = t.keys(g, f.buf[:0])
		for _, o := range f.buf {
			r := t.val(o)
			switch {
			case len(r.Multipath) > 0:
				multi = true
			case !ecmp(&r):
				other = true
			}
		}
		if !multi || !other {
			return
		}
		f.mixed[g] = true
	}
	f.guessed[g] = true
}

// joinHops orders hops, the hops of a multipath route that grew from old,
// as the kernel keeps them: old's hops first, in their order, then the new
// ones. It returns hops itself when the order is already that.
func joinHops(old *rtnl.Route, hops []rtnl.NextHop) []rtnl.NextHop {
	prev := old.Multipath
	if len(prev) == 0 {
		prev = []rtnl.NextHop{{OIF: old.OIF, Gateway: old.Gateway}}
	}
	out := make([]rtnl.NextHop, 0, len(hops))
	for _, p := range prev {
		if i := hopIndex(hops, p.OIF, p.Gateway); i >= 0 {
			out = append(out, hops[i])
		}
	}
	for _, h := range hops {
		if hopIndex(prev, h.OIF, h.Gateway) < 0 {
			out = append(out, h)
		}
	}
	if slices.Equal(out, hops) {
		return hops
	}
	return out
}

// absorb removes the single-path routes that are hops of the multipath
// route v.
func (f *fib) absorb(t *routes, v *rtnl.Route, fn change) {
	if len(v.Multipath) == 0 || v.NexthopID != 0 {
		return
	}
	for _, h := range v.Multipath {
		hr := sibling(v, h)
		hk := hr.Key()
		if old, ok := t.get(hk); ok {
			f.prev = old
			f.remove(t, hk)
			fn(&f.prev, nil)
		}
	}
}

// groupKey6 is the key of the IPv6 multipath route of group g.
func groupKey6(g rtnl.RouteKey) rtnl.RouteKey { return g }

func hopIndex(hops []rtnl.NextHop, oif uint32, gw netip.Addr) int {
	return slices.IndexFunc(hops, func(h rtnl.NextHop) bool { return h.OIF == oif && h.Gateway == gw })
}

// delete6 applies an IPv6 deletion: of a route, or of hops of the
// multipath route of its group.
func (f *fib) delete6(t *routes, v *rtnl.Route, k rtnl.RouteKey, fn change) {
	if tk, ok := f.twin(t, k, v); ok && (len(v.Multipath) == 0 || len(t.val(tk).Multipath) == len(v.Multipath)) {
		f.prev = t.val(tk)
		f.remove(t, tk)
		if tk != k || t.has(k.WithCopy(1)) {
			f.renumber(t, k)
		}
		fn(&f.prev, nil)
		return
	}
	if v.NexthopID != 0 {
		return
	}
	hops := v.Multipath
	if len(hops) == 0 {
		if !v.Gateway.IsValid() {
			return
		}
		hops = []rtnl.NextHop{{OIF: v.OIF, Gateway: v.Gateway}}
	}
	gk := groupKey6(k.Group())
	for _, h := range hops {
		if !t.has(gk) {
			return
		}
		f.dropHop(t, gk, h.OIF, h.Gateway, fn)
	}
}

// dropHop removes one hop from the multipath route under gk; a multipath
// route left with one hop becomes a single-path route, as in the kernel.
func (f *fib) dropHop(t *routes, gk rtnl.RouteKey, oif uint32, gw netip.Addr, fn change) {
	g := t.val(gk)
	i := hopIndex(g.Multipath, oif, gw)
	if i < 0 {
		return
	}
	_, known := f.sib[gk]
	sibs := f.siblings(gk, &g)
	if !known && i == 0 {
		// The next sibling's attributes show now, and they were never
		// seen: a dump must tell them.
		f.guessed[gk.Group()] = true
	}
	rest := slices.Delete(slices.Clone(g.Multipath), i, i+1)
	sibs = slices.DeleteFunc(sibs, func(r rtnl.Route) bool { return r.OIF == oif && r.Gateway == gw })
	switch len(rest) {
	case 0:
		f.remove(t, gk)
		fn(&g, nil)
	case 1:
		one := sibs[0]
		one.Flags |= uint32(rest[0].Flags)
		f.put(t, gk, &one, fn)
	default:
		ng := f.groupOf(sibs, rest)
		f.sib[gk] = sibs
		t.set(gk, &ng)
		fn(&g, &ng)
	}
}

// siblings returns the siblings of the IPv6 multipath route g under gk,
// one single-path route per hop, in g's order.
func (f *fib) siblings(gk rtnl.RouteKey, g *rtnl.Route) []rtnl.Route {
	if s, ok := f.sib[gk]; ok && len(s) == len(g.Multipath) {
		return slices.Clone(s)
	}
	if len(g.Multipath) == 0 {
		one := *g
		one.Flags &^= rtnl.RouteFlagOnlink | deadFlags
		return []rtnl.Route{one}
	}
	sibs := make([]rtnl.Route, 0, len(g.Multipath))
	for _, h := range g.Multipath {
		sibs = append(sibs, sibling(g, h))
	}
	return sibs
}

// sibling is hop h of r as a single-path route with r's attributes.
func sibling(r *rtnl.Route, h rtnl.NextHop) rtnl.Route {
	s := *r
	s.Multipath = nil
	s.OIF, s.Gateway = h.OIF, h.Gateway
	s.Flags &^= rtnl.RouteFlagOnlink | deadFlags
	s.Flags |= uint32(h.Flags) & rtnl.RouteFlagOnlink
	return s
}

// groupOf is the multipath route of sibs, whose hops are hops (weights and
// flags as the table had them): the first sibling's attributes.
func (f *fib) groupOf(sibs []rtnl.Route, hops []rtnl.NextHop) rtnl.Route {
	g := sibs[0]
	g.OIF, g.Gateway = 0, netip.Addr{}
	g.Flags &^= rtnl.RouteFlagOnlink | deadFlags
	ordered := make([]rtnl.NextHop, 0, len(hops))
	for _, s := range sibs {
		if i := hopIndex(hops, s.OIF, s.Gateway); i >= 0 {
			ordered = append(ordered, hops[i])
		}
	}
	g.Multipath = ordered
	return g
}

// downKind says how a link stopped carrying routes.
type downKind uint8

const (
	linkDown     downKind = iota + 1 // NETDEV_DOWN
	lastAddrGone                     // its last IPv4 address went: NETDEV_DOWN, forced
	linkGone                         // NETDEV_UNREGISTER: deleted or moved to another namespace
)

const deadFlags = rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown

// down applies what the kernel does to the routes of a link that goes down
// or away, or loses its last IPv4 address.
func (f *fib) down(t *routes, index uint32, how downKind, fn change) {
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return usesLink(&r, index) }) {
		r, ok := t.get(k)
		if !ok || r.NexthopID != 0 {
			continue // gone already, or the nexthop object's rules apply
		}
		switch r.Family {
		case rtnl.FamilyInet:
			f.down4(t, k, &r, index, how, fn)
		case rtnl.FamilyInet6:
			if how != lastAddrGone {
				f.down6(t, k, &r, index, how, fn)
			}
		}
	}
}

func (f *fib) down4(t *routes, k rtnl.RouteKey, r *rtnl.Route, index uint32, how downKind, fn change) {
	// Host-scope routes have a next hop of scope nowhere, which only a
	// forced flush kills.
	kills := how != linkDown || r.Scope != rtnl.ScopeHost
	if len(r.Multipath) == 0 {
		if r.OIF == index && kills {
			f.remove(t, k)
			fn(r, nil)
		}
		return
	}
	dead, hits := 0, 0
	for _, h := range r.Multipath {
		switch {
		case h.OIF == index && kills:
			hits++
			dead++
		case uint32(h.Flags)&rtnl.RouteFlagDead != 0:
			dead++
		}
	}
	switch {
	case hits == 0:
	case dead == len(r.Multipath) || how == linkGone:
		f.remove(t, k)
		fn(r, nil)
	default:
		// fib_sync_down_dev counts a hop that is dead already and
		// leaves its flags alone: one the last address's going killed
		// (dead and linkdown), whose linkdown the carrier's coming back
		// then cleared (fib_sync_up), stays dead only.
		nr := *r
		nr.Multipath = slices.Clone(r.Multipath)
		for i := range nr.Multipath {
			if h := &nr.Multipath[i]; h.OIF == index && uint32(h.Flags)&rtnl.RouteFlagDead == 0 {
				h.Flags |= uint8(deadFlags)
			}
		}
		if sameRoute(r, &nr) {
			return
		}
		t.set(k, &nr)
		fn(r, &nr)
	}
}

func (f *fib) down6(t *routes, k rtnl.RouteKey, r *rtnl.Route, index uint32, how downKind, fn change) {
	if len(r.Multipath) == 0 || hopIndexOIF(r.Multipath, index) < 0 {
		return
	}
	if how == linkGone {
		for _, h := range slices.Clone(r.Multipath) {
			if h.OIF == index {
				if !t.has(k) {
					return
				}
				f.dropHop(t, k, h.OIF, h.Gateway, fn)
			}
		}
		return
	}
	dead := 0
	for _, h := range r.Multipath {
		if h.OIF == index || uint32(h.Flags)&rtnl.RouteFlagDead != 0 {
			dead++
		}
	}
	if dead == len(r.Multipath) {
		f.remove(t, k)
		fn(r, nil)
		return
	}
	nr := *r
	nr.Multipath = slices.Clone(r.Multipath)
	changed := false
	for i := range nr.Multipath {
		if h := &nr.Multipath[i]; h.OIF == index && uint32(h.Flags)&deadFlags != deadFlags {
			h.Flags |= uint8(deadFlags)
			changed = true
		}
	}
	if changed {
		t.set(k, &nr)
		fn(r, &nr)
	}
}

// up clears flags (RouteFlagDead, RouteFlagLinkDown) from the next hops on
// link index, as fib_sync_up and rt6_sync_up do when a link comes up or
// gets its carrier back, for the routes of one family. A route's own flags
// lose them once one of its hops is free of them.
func (f *fib) up(t *routes, index uint32, flags uint32, family rtnl.Family, fn change) {
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.Family == family && usesLink(&r, index) }) {
		r := t.val(k)
		if r.NexthopID != 0 {
			continue
		}
		nr := r
		if len(r.Multipath) == 0 {
			if r.OIF != index || r.Flags&flags == 0 {
				continue
			}
			nr.Flags &^= flags
		} else {
			if hopIndexOIF(r.Multipath, index) < 0 {
				continue
			}
			// fib_sync_up: a hop free of the flags, or on the link, is
			// alive; one alive hop frees the route.
			nr.Multipath = slices.Clone(r.Multipath)
			alive := 0
			for i := range nr.Multipath {
				h := &nr.Multipath[i]
				switch {
				case uint32(h.Flags)&flags == 0:
					alive++
				case h.OIF == index:
					h.Flags &^= uint8(flags)
					alive++
				}
			}
			if alive > 0 {
				nr.Flags &^= flags
			}
		}
		if sameRoute(&r, &nr) {
			continue
		}
		t.set(k, &nr)
		fn(&r, &nr)
	}
}

// addrRoute applies to v, a route notified right after an IPv4 address
// was added to link index, what fib_inetaddr_event (NETDEV_UP) does once
// fib_add_ifaddr has made and notified the address's routes:
// fib_sync_up(dev, RTNH_F_DEAD), which clears flags (RTNH_F_DEAD, and
// RTNH_F_LINKDOWN when dev_get_flags shows IFF_RUNNING or IFF_LOWER_UP)
// from every next hop on the link, those routes' included. It matters
// when the carrier has just gone and linkwatch has not run yet: the new
// route is made linkdown (fib_check_nh_nongw reads the carrier bit), and
// cleared at once, since the link is still operationally up. It reports
// whether v is such a route (a kernel route on the link, as fib_magic
// makes them); the up rule has cleared the other routes already.
func addrRoute(v *rtnl.Route, index, flags uint32) bool {
	if v.Family != rtnl.FamilyInet || v.Protocol != rtnl.ProtoKernel || v.OIF != index ||
		len(v.Multipath) > 0 || v.NexthopID != 0 {
		return false
	}
	v.Flags &^= flags
	return true
}

// carrierDown flags linkdown the next hops on link index, whose carrier
// went (fib_sync_down_dev and fib6_ifdown for NETDEV_CHANGE): IPv4 hops
// but those of host-scope routes, IPv6 hops but those of local and anycast
// routes; for one family, since each has its own idea of a carrier. An
// IPv4 route is flagged linkdown itself when each of its hops is dead or
// on the link.
func (f *fib) carrierDown(t *routes, index uint32, family rtnl.Family, fn change) {
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.Family == family && usesLink(&r, index) }) {
		r := t.val(k)
		if r.NexthopID != 0 {
			continue
		}
		switch {
		case r.Family == rtnl.FamilyInet && r.Scope == rtnl.ScopeHost:
			continue
		case r.Family == rtnl.FamilyInet6 && (r.Type == rtnl.RouteLocal || r.Type == rtnl.RouteAnycast):
			continue
		}
		nr := r
		if len(r.Multipath) == 0 {
			if r.OIF != index || r.Flags&rtnl.RouteFlagLinkDown != 0 {
				continue
			}
			nr.Flags |= rtnl.RouteFlagLinkDown
		} else {
			if hopIndexOIF(r.Multipath, index) < 0 {
				continue
			}
			nr.Multipath = slices.Clone(r.Multipath)
			// fib_sync_down_dev counts the hops already dead and the
			// hops on the link (a hop only linkdown on another link is
			// not counted): all of them flag the route itself.
			dead := 0
			for i := range nr.Multipath {
				h := &nr.Multipath[i]
				switch {
				case uint32(h.Flags)&rtnl.RouteFlagDead != 0:
					dead++
				case h.OIF == index:
					h.Flags |= uint8(rtnl.RouteFlagLinkDown)
					dead++
				}
			}
			if dead == len(nr.Multipath) && r.Family == rtnl.FamilyInet {
				nr.Flags |= rtnl.RouteFlagLinkDown
			}
		}
		if sameRoute(&r, &nr) {
			continue
		}
		t.set(k, &nr)
		fn(&r, &nr)
	}
}

func hopIndexOIF(hops []rtnl.NextHop, oif uint32) int {
	return slices.IndexFunc(hops, func(h rtnl.NextHop) bool { return h.OIF == oif })
}

// addrGone4 flushes the main table's IPv4 routes whose preferred source
// was local, an address no link of the namespace has any more, that went
// from link index (fib_del_ifaddr, fib_sync_down_addr): unless the local
// table still makes it local (inet_addr_type_dev_table), through a local
// route that covers it, such as `ip route add local default dev X`.
func (f *fib) addrGone4(t *routes, index uint32, local netip.Addr, fn change) {
	if stillLocal4(t, index, local) {
		return
	}
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.PrefSrc == local }) {
		if r := t.val(k); r.Family == rtnl.FamilyInet && r.Table == rtnl.TableMain && r.PrefSrc == local {
			f.remove(t, k)
			fn(&r, nil)
		}
	}
}

// stillLocal4 reports whether a lookup of a in the local table finds a
// local route, once the local route of a on link index, which the kernel
// deletes first (its notification comes after the address's), is gone: the
// most specific TOS 0 route that covers a, the lowest metric first.
func stillLocal4(t *routes, index uint32, a netip.Addr) bool {
	bits, prio, typ := -1, uint32(0), rtnl.RouteType(0)
	for _, r := range t.all() {
		if r.Family != rtnl.FamilyInet || r.Table != rtnl.TableLocal || r.TOS != 0 || !r.Dst.Contains(a) {
			continue
		}
		if r.Type == rtnl.RouteLocal && r.Dst.Bits() == 32 && r.OIF == index {
			continue // a's own, going
		}
		if r.Flags&rtnl.RouteFlagDead != 0 {
			continue
		}
		if b := r.Dst.Bits(); b > bits || b == bits && r.Priority < prio {
			bits, prio, typ = b, r.Priority, r.Type
		}
	}
	return bits >= 0 && typ == rtnl.RouteLocal
}

// addrGone6 clears a, an IPv6 address that went from link index and that
// no link has any more, as the preferred source of the IPv6 routes that
// use it, on any link (rt6_remove_prefsrc, as Linux 6.18 does it: while
// another link has the address, the routes keep it). A link-local address
// leaves only the routes on its link.
func (f *fib) addrGone6(t *routes, index uint32, a netip.Addr, fn change) {
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.PrefSrc == a }) {
		r := t.val(k)
		if r.Family != rtnl.FamilyInet6 || r.PrefSrc != a || r.NexthopID != 0 {
			continue
		}
		if a.IsLinkLocalUnicast() && r.OIF != index {
			continue
		}
		nr := r
		nr.PrefSrc = netip.Addr{}
		if s, ok := f.sib[k]; ok {
			for i := range s {
				if s[i].PrefSrc == a {
					s[i].PrefSrc = netip.Addr{}
				}
			}
		}
		f.put(t, k, &nr, fn)
	}
}

// addrUnsure6 marks for a dump the groups of the IPv6 routes that have a,
// an IPv6 address that went from link index and that no link has any more,
// as preferred source, when the model cannot tell whether the kernel
// cleared it (see routeSide.observeAddress).
func (f *fib) addrUnsure6(t *routes, index uint32, a netip.Addr) {
	for k, r := range t.all() {
		if r.Family != rtnl.FamilyInet6 || r.PrefSrc != a || r.NexthopID != 0 {
			continue
		}
		if a.IsLinkLocalUnicast() && r.OIF != index {
			continue
		}
		f.guessed[k.Group()] = true
	}
}

// mtu6 follows an MTU change of link index, from old to mtu, on the IPv6
// routes through it (rt6_mtu_change_route, fib6_nh_mtu_change): a route
// whose mtu metric is at or above the new MTU, or was the old one, takes
// the new one, unless the metric is locked. That holds for a route through
// a nexthop object with a next hop on the link (a member of its group
// included), and for each sibling of a multipath route on its own: the
// table shows the first sibling's metric, the others' show when it leaves.
func (f *fib) mtu6(t *routes, n nexthops, index, old, mtu uint32, fn change) {
	const lockMTU = 1 << 2 // 1 << RTAX_MTU
	// follow gives *mp the new MTU if it follows; a new Metrics, since
	// a route's may be shared.
	follow := func(mp **rtnl.Metrics) bool {
		m := *mp
		if m == nil || m.MTU == 0 || m.MTU == mtu || m.Lock&lockMTU != 0 || m.MTU < mtu && m.MTU != old {
			return false
		}
		nm := *m
		nm.MTU = mtu
		*mp = &nm
		return true
	}
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.Family == rtnl.FamilyInet6 }) {
		r := t.val(k)
		nr := r
		switch {
		case r.NexthopID != 0:
			if !n.on(r.NexthopID, index) || !follow(&nr.Metrics) {
				continue
			}
		case len(r.Multipath) > 0:
			if hopIndexOIF(r.Multipath, index) < 0 {
				continue
			}
			sibs := f.siblings(k, &r)
			changed := false
			for i := range sibs {
				if sibs[i].OIF == index && follow(&sibs[i].Metrics) {
					changed = true
				}
			}
			if !changed {
				continue
			}
			f.sib[k] = sibs
			nr.Metrics = sibs[0].Metrics
			if sameRoute(&r, &nr) {
				continue
			}
		default:
			if r.OIF != index || !follow(&nr.Metrics) {
				continue
			}
		}
		t.set(k, &nr)
		fn(&r, &nr)
	}
}

// nexthopGone removes the routes through nexthop object id.
func (f *fib) nexthopGone(t *routes, id uint32, fn change) {
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.NexthopID == id }) {
		if r := t.val(k); r.NexthopID == id {
			f.remove(t, k)
			fn(&r, nil)
		}
	}
}

// nexthops are the nexthop objects of the namespace, by ID, as a route
// watcher follows them.
type nexthops map[uint32]rtnl.Nexthop

// users returns the IDs of id and of the groups that have it as a member.
func (n nexthops) users(id uint32) map[uint32]bool {
	ids := map[uint32]bool{id: true}
	for gid, g := range n {
		for _, m := range g.Group {
			if m.ID == id {
				ids[gid] = true
			}
		}
	}
	return ids
}

// on reports whether nexthop id, or a member of group id, has its next hop
// on link index.
func (n nexthops) on(id, index uint32) bool {
	nh, ok := n[id]
	if !ok {
		return false
	}
	if !nh.IsGroup() {
		return nh.OIF == index
	}
	for _, m := range nh.Group {
		if n[m.ID].OIF == index {
			return true
		}
	}
	return false
}

// drop removes nexthop id and takes it out of the groups it was in, as
// remove_nexthop does; it returns the IDs of the nexthops that went (id,
// and groups left empty) and of the groups that changed.
func (n nexthops) drop(id uint32) (gone, changed []uint32) {
	delete(n, id)
	gone = append(gone, id)
	for _, gid := range slices.Sorted(maps.Keys(n)) {
		g := n[gid]
		i := slices.IndexFunc(g.Group, func(m rtnl.NexthopGroupMember) bool { return m.ID == id })
		if i < 0 {
			continue
		}
		g.Group = slices.Delete(slices.Clone(g.Group), i, i+1)
		if len(g.Group) == 0 {
			delete(n, gid)
			gone = append(gone, gid)
			continue
		}
		n[gid] = g
		changed = append(changed, gid)
	}
	return gone, changed
}

// expand fills in r the next hops that nexthop object r.NexthopID resolves
// to, as the kernel reports them in a route's messages: a single nexthop as
// the route's gateway and interface, a group as multipath hops. It reports
// false if the object is unknown.
func (n nexthops) expand(r *rtnl.Route) bool {
	nh, ok := n[r.NexthopID]
	if !ok {
		return false
	}
	const hopFlags = rtnl.RouteFlagOnlink | rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown
	r.Gateway, r.OIF, r.Multipath = netip.Addr{}, 0, nil
	r.Flags &^= hopFlags
	if !nh.IsGroup() {
		r.Gateway, r.OIF = nh.Gateway, nh.OIF
		r.Flags |= nh.Flags & hopFlags
		return true
	}
	if len(nh.Group) == 1 && r.Family == rtnl.FamilyInet {
		// IPv4 reports a group of one as a single path, IPv6 as a
		// multipath route of one hop.
		m := n[nh.Group[0].ID]
		r.Gateway, r.OIF = m.Gateway, m.OIF
		r.Flags |= m.Flags & hopFlags
		return true
	}
	r.Multipath = make([]rtnl.NextHop, 0, len(nh.Group))
	for _, g := range nh.Group {
		m := n[g.ID]
		r.Multipath = append(r.Multipath, rtnl.NextHop{Gateway: m.Gateway, OIF: m.OIF, Weight: max(g.Weight, 1),
			Flags: uint8(m.Flags & hopFlags)})
	}
	return true
}

// nexthopChanged re-resolves the routes through the nexthop objects in
// ids, whose next hops changed: the kernel notifies the routes when a
// nexthop is replaced, but not when a group loses a member.
func (f *fib) nexthopChanged(t *routes, n nexthops, ids map[uint32]bool, fn change) {
	for _, k := range sortedKeys(t, func(r rtnl.Route) bool { return r.NexthopID != 0 && ids[r.NexthopID] }) {
		r := t.val(k)
		if r.NexthopID == 0 || !ids[r.NexthopID] {
			continue
		}
		nr := r
		if b, ok := n.blackhole(r.NexthopID); ok && (r.Type == rtnl.RouteUnicast || r.Type == rtnl.RouteBlackhole) {
			// fib_dump_info and rt6_fill_node report the type of a
			// route through a blackhole nexthop as blackhole.
			nr.Type = rtnl.RouteUnicast
			if b {
				nr.Type = rtnl.RouteBlackhole
			}
		}
		// With net.ipv4.nexthop_compat_mode 0 routes carry the ID alone.
		if r.Gateway.IsValid() || r.OIF != 0 || len(r.Multipath) > 0 {
			if !n.expand(&nr) {
				continue
			}
		}
		if sameRoute(&r, &nr) {
			continue
		}
		f.put(t, k, &nr, fn)
	}
}

// blackhole reports whether nexthop id is a blackhole, as
// nexthop_is_blackhole tells: a blackhole, or a group of one blackhole.
func (n nexthops) blackhole(id uint32) (bool, bool) {
	nh, ok := n[id]
	if !ok {
		return false, false
	}
	if nh.IsGroup() {
		if len(nh.Group) != 1 {
			return false, true
		}
		if nh, ok = n[nh.Group[0].ID]; !ok {
			return false, false
		}
	}
	return nh.Blackhole, true
}

// sortedKeys returns the keys of the routes of t for which match holds, in
// a fixed order, so that the changes a rule makes are reported in the same
// order on every run.
func sortedKeys(t *routes, match func(rtnl.Route) bool) []rtnl.RouteKey {
	var keys []rtnl.RouteKey
	for k, r := range t.all() {
		if match(*r) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareRouteKeys)
	return keys
}

// usesLink reports whether a next hop of r is on link index.
func usesLink(r *rtnl.Route, index uint32) bool {
	return r.OIF == index || hopIndexOIF(r.Multipath, index) >= 0
}

// compareRouteKeys orders route keys by family, table, destination,
// metric and the rest.
func compareRouteKeys(a, b rtnl.RouteKey) int { return a.Compare(b) }
