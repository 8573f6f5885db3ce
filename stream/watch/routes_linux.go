//go:build linux

package watch

import (
	"context"
	"maps"
	"net/netip"
	"slices"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// RouteWatcher watches a routing table.
type RouteWatcher = Watcher[rtnl.RouteKey, rtnl.Route]

// Routes watches the routes of the IPv4 and IPv6 routing tables (or of
// one family, WithFamily; of one table, WithTable). Cached (cloned)
// routes are left out, as in `ip route show`; so are the other families of
// an all-family dump (multicast forwarding entries, MPLS).
//
// The table holds what `ip route show table all` lists, entry for entry:
// routes are keyed by rtnl.RouteKey, the kernel's own identity, so routes
// that share a destination, table and metric (ip route append and prepend,
// the prefix routes of two links in one subnet) stay apart, and each
// notification is applied by the kernel's rule for its flags (NLM_F_REPLACE
// replaces the first route of its group, NLM_F_APPEND adds at the end…).
//
// The kernel also changes routes without a notification per route: when a
// link goes down or away or loses its last IPv4 address, when an address
// that routes use as their source goes, when an IPv6 MTU changes, when a
// nexthop object goes. The watcher follows the links, addresses and nexthop
// objects for that: it applies the kernel's rule at once (Synthetic
// events), then verifies with a dump that follows the kernel's work
// (coalesced: a burst of changes costs one dump), and repairs and counts in
// Stats.Repairs whatever the rule missed. See the fib type's doc in the
// source for each rule and the kernel function it mirrors.
func Routes(opts ...Option) (*RouteWatcher, error) {
	return newWatcher(routeSpec(opts), opts)
}

// routeSpec is the route watcher's spec.
func routeSpec(opts []Option) spec[rtnl.RouteKey, rtnl.Route] {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	filter := rtnl.RouteFilter{Family: rtnl.Family(cfg.family), Table: cfg.table}
	groups := []uint32{rtnl.GroupLink, rtnl.GroupNexthop}
	if cfg.family != uint8(rtnl.FamilyInet6) {
		groups = append(groups, rtnl.GroupIPv4Route, rtnl.GroupIPv4Address)
	}
	if cfg.family != uint8(rtnl.FamilyInet) {
		groups = append(groups, rtnl.GroupIPv6Route, rtnl.GroupIPv6Address)
	}
	return spec[rtnl.RouteKey, rtnl.Route]{
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
		equal: sameRoute,
		keep: func(r *rtnl.Route) bool {
			return (r.Family == rtnl.FamilyInet || r.Family == rtnl.FamilyInet6) &&
				r.Flags&rtnl.RouteFlagCloned == 0 && filter.Match(r)
		},
		compare: compareRouteKeys,
		group:   rtnl.RouteKey.Group,
		copyOf: func(k rtnl.RouteKey, n uint8) (rtnl.RouteKey, bool) {
			return k.WithCopy(n), k.Family() == rtnl.FamilyInet6
		},
		side:      newRouteSide(),
		disturbed: routesDisturbed,
		unsteady:  routeUnsteady,
	}
}

func newRouteSide() *routeSide {
	return &routeSide{
		fib: newFIB(), links: make(map[uint32]linkState),
		addrs4: make(map[uint32]int), locals4: make(map[netip.Addr]int), v4: make(map[AddressKey]struct{}),
		locals6: make(map[netip.Addr]int), v6: make(map[AddressKey]bool),
		nh: make(nexthops),
	}
}

// routeSide applies route notifications by the kernel's rules (fib) and
// follows the links, addresses and nexthop objects that change routes
// silently.
type routeSide struct {
	fib   *fib
	links map[uint32]linkState
	// addrs4 counts each link's IPv4 addresses; locals4 counts the links
	// that have each IPv4 local address.
	addrs4  map[uint32]int
	locals4 map[netip.Addr]int
	v4      map[AddressKey]struct{} // the IPv4 addresses counted
	// locals6 counts the links that have each IPv6 address; v6 lists
	// the addresses counted, true for those added while their link was
	// down (which the link's going away deletes, not its going down).
	locals6 map[netip.Addr]int
	v6      map[AddressKey]bool
	nh      nexthops
	// pending holds the silent changes observed since the last settle.
	pending []silent
	// replaced lists, right after a nexthop object was replaced, the IDs
	// of the nexthops whose routes the kernel notifies next, each with
	// NLM_F_REPLACE (nexthop_replace_notify, under
	// net.ipv4.nexthop_compat_mode 1): updates of the routes in place, not
	// replaces by the IPv6 rule, which would take the first route of the
	// group that cannot join a multipath route (fib6_rt_update). Any other
	// message ends the burst.
	replaced map[uint32]bool
	// addrUp, right after an IPv4 address was added to a link that is
	// up, is that link and the flags fib_sync_up clears on it: the
	// address's routes, notified next (fib_add_ifaddr), lose them once
	// notified (see addrRoute). Any other message ends the burst.
	addrUp silent
}

type linkState struct {
	up, lower bool
	running   bool // IFF_RUNNING: the operational state is up
	// changed4 is the IPv4 carrier (carrier4) as of the kernel's last
	// NETDEV_CHANGE of the link: what its routes were last brought in
	// line with (see after).
	changed4 bool
	mtu      uint32
	// carrier is the link's carrier bit (netif_carrier_ok) as far as the
	// messages tell: IFF_LOWER_UP in its own, until a message of its veth
	// peer (peer, in this namespace) says that the peer went up or down,
	// which sets both ends' carrier bits at once (veth_open, veth_close)
	// while the link's own message waits for linkwatch.
	carrier bool
	peer    uint32
	// flapped says that the carrier bit changed, by the peer's messages,
	// since the link's own last message, whose next one with no flags
	// changed is then linkwatch's, after a NETDEV_CHANGE (see observeLink).
	flapped bool
}

func linkStateOf(l *rtnl.Link) linkState {
	s := linkState{up: l.Up(), lower: l.Flags&rtnl.LinkLowerUp != 0, running: l.Flags&rtnl.LinkRunning != 0, mtu: l.MTU}
	s.changed4 = s.carrier4()
	s.carrier = s.lower
	if _, other := l.LinkNetNSID(); l.Kind.String() == "veth" && !other {
		s.peer = l.Link
	}
	return s
}

// syncUpCarrier reports whether fib_sync_up(dev, RTNH_F_DEAD), run now,
// would clear RTNH_F_LINKDOWN too: whether dev_get_flags shows
// IFF_RUNNING (the operational state, which changes with linkwatch's
// message) or IFF_LOWER_UP (the carrier bit, which may change first).
func (s linkState) syncUpCarrier() bool { return s.running || s.carrier }

// after returns the state link l's message shows, coming after prev (the
// link's state before, if known). A carrier change reaches the routes
// when linkwatch runs (netdev_state_change: NETDEV_CHANGE, then the
// link's message), up to a second after the carrier bit flips; in between
// the link may send messages of its own (a bridge gaining a port does)
// that already show IFF_LOWER_UP. linkwatch sets the operational state
// (rfc2863_policy) before it notifies, so a link that is up with a carrier
// and yet operationally down, or down for its lower layer, is such a
// message: its routes have not followed the carrier yet, and will when
// linkwatch's own message comes.
func after(prev linkState, known bool, l *rtnl.Link) linkState {
	cur := linkStateOf(l)
	if known && prev.up && cur.up && cur.lower && !cur.running {
		switch l.OperState {
		case rtnl.OperDown, rtnl.OperLowerLayerDown:
			// (with a carrier, rfc2863_policy sets neither)
			cur.changed4 = prev.changed4
		}
	}
	return cur
}

// carrier4 is what IPv4 and nexthop objects take for a carrier
// (dev_get_flags in fib_netdev_event, fib_sync_up and nh_netdev_event:
// IFF_RUNNING or IFF_LOWER_UP, at the moment they run); carrier6 what
// IPv6 does (addrconf_link_ready: the operational state, which only
// linkwatch changes).
func (s linkState) carrier4() bool { return s.running || s.lower }
func (s linkState) carrier6() bool { return s.running }

// silent is a change the kernel makes to routes without notifying each.
type silent struct {
	kind   silentKind
	index  uint32
	down   downKind
	addr   netip.Addr
	old    uint32 // the previous MTU
	mtu    uint32
	id     uint32 // nexthop object
	flags  uint32
	family rtnl.Family // for silentUp and silentCarrierDown
	ids    map[uint32]bool
}

type silentKind uint8

const (
	silentDown silentKind = iota + 1
	silentAddr4
	silentAddr6
	silentMTU
	silentNexthop
	silentNexthopChanged // ids: the nexthop objects whose next hops changed
	silentUp             // flags: the next-hop flags the link's coming up clears
	silentCarrierDown    // the link lost its carrier
	silentAddr6Unsure    // addr: an IPv6 address went, maybe with its source routes' preferred source
)

func (r *routeSide) load(ctx context.Context, c *nl.Conn) error {
	clear(r.links)
	clear(r.addrs4)
	clear(r.locals4)
	clear(r.v4)
	clear(r.nh)
	err := rtnl.ForEachNexthop(ctx, c, rtnl.NexthopFilter{}, func(n *rtnl.Nexthop) error {
		r.nh[n.ID] = *n
		return nil
	})
	if err != nil && ctx.Err() != nil {
		return err // a kernel without nexthop objects refuses the dump: none to follow
	}
	err = rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		r.links[l.Index] = linkStateOf(l)
		return nil
	})
	if err != nil {
		return err
	}
	clear(r.locals6)
	clear(r.v6)
	return rtnl.ForEachAddress(ctx, c, rtnl.AddressFilter{}, func(a *rtnl.Address) error {
		ak := AddressKey{Index: a.Index, Prefix: a.Prefix, Peer: a.Peer}
		if a.Family == rtnl.FamilyInet6 {
			r.addAddr6(ak)
			return nil
		}
		if a.Family != rtnl.FamilyInet {
			return nil
		}
		if _, dup := r.v4[ak]; !dup {
			r.v4[ak] = struct{}{}
			r.addrs4[a.Index]++
			r.locals4[a.Prefix.Addr()]++
		}
		return nil
	})
}

func (r *routeSide) discard() { r.pending = r.pending[:0] }

func (r *routeSide) observe(m nl.Message) (verify bool) {
	r.replaced = nil
	r.addrUp = silent{}
	switch m.Header.Type {
	case rtnl.TypeNewLink, rtnl.TypeDelLink:
		return r.observeLink(m)
	case rtnl.TypeNewAddress, rtnl.TypeDelAddress:
		return r.observeAddress(m)
	case rtnl.TypeNewNexthop, rtnl.TypeDelNexthop:
		r.observeNexthop(m)
		return true
	}
	return false
}

// observeNexthop follows the nexthop objects. Their changes are notified,
// but the changes they make to routes are only in part: a replaced nexthop
// comes with a notification per route through it, a deleted one takes its
// routes silently, and so does a group that loses a member.
func (r *routeSide) observeNexthop(m nl.Message) {
	n, err := rtnl.DecodeNexthop(m)
	if err != nil || n.ID == 0 {
		return // the verification that follows repairs what it did
	}
	if m.Header.Type == rtnl.TypeDelNexthop {
		if _, known := r.nh[n.ID]; known {
			r.dropNexthop(n.ID)
		}
		return
	}
	r.nh[n.ID] = n
	ids := r.nh.users(n.ID)
	r.pending = append(r.pending, silent{kind: silentNexthopChanged, ids: ids})
	r.replaced = ids
}

// dropNexthop removes nexthop id, with what goes with it.
func (r *routeSide) dropNexthop(id uint32) {
	gone, changed := r.nh.drop(id)
	for _, g := range gone {
		r.pending = append(r.pending, silent{kind: silentNexthop, id: g})
	}
	if len(changed) > 0 {
		ids := map[uint32]bool{}
		for _, c := range changed {
			ids[c] = true
		}
		r.pending = append(r.pending, silent{kind: silentNexthopChanged, ids: ids})
	}
}

func (r *routeSide) observeLink(m nl.Message) bool {
	if len(m.Data) > 0 && m.Data[0] == afBridge {
		// A bridge port's own message (IFLA_PROTINFO and the like), not
		// a change of the link.
		return false
	}
	l, err := rtnl.DecodeLink(m)
	if err != nil {
		return true // cannot tell what changed: verify
	}
	if m.Header.Type == rtnl.TypeDelLink {
		if _, known := r.links[l.Index]; !known {
			return false
		}
		delete(r.links, l.Index)
		delete(r.addrs4, l.Index)
		for ak := range r.v4 {
			if ak.Index == l.Index {
				delete(r.v4, ak)
				if local := ak.Prefix.Addr(); r.locals4[local] > 1 {
					r.locals4[local]--
				} else {
					delete(r.locals4, local)
				}
			}
		}
		r.dropNexthopsOn(l.Index)
		r.pending = append(r.pending, silent{kind: silentDown, index: l.Index, down: linkGone})
		return true
	}
	prev, known := r.links[l.Index]
	cur := after(prev, known, &l)
	r.links[l.Index] = cur
	if p, ok := r.links[cur.peer]; ok && p.peer == l.Index && cur.up != (known && prev.up) {
		// veth_open and veth_close set the carrier bits of both ends
		// (veth_open: if the peer is up), before this message.
		if c := p.up && cur.up; c != p.carrier {
			p.carrier, p.flapped = c, true
		}
		r.links[cur.peer] = p
	}
	if !known {
		return false // a new link has no routes yet
	}
	if (prev.up && prev.changed4) && !(cur.up && cur.changed4) {
		r.dropNexthopsOn(l.Index)
	}
	add := func(sl silent) { r.pending = append(r.pending, sl) }
	switch {
	case prev.up && !cur.up:
		add(silent{kind: silentDown, index: l.Index, down: linkDown})
	case !prev.up && cur.up:
		// fib_sync_up and rt6_sync_up with RTNH_F_DEAD, which clear
		// linkdown too when the link has a carrier.
		flags := rtnl.RouteFlagDead
		if cur.carrier4() {
			flags |= rtnl.RouteFlagLinkDown
		}
		add(silent{kind: silentUp, index: l.Index, flags: flags, family: rtnl.FamilyInet})
		// fib_netdev_event adds the routes of the link's addresses
		// first (fib_add_ifaddr), notified next: they take the
		// sync-up too (addrRoute).
		r.addrUp = silent{kind: silentUp, index: l.Index, flags: flags}
		// IPv6 (addrconf_notify, NETDEV_UP) revives its hops only if
		// the link is ready (addrconf_link_ready: operationally up);
		// if not, they stay dead until it is (NETDEV_CHANGE, below).
		if cur.carrier6() {
			flags = rtnl.RouteFlagDead
			if cur.lower {
				flags |= rtnl.RouteFlagLinkDown
			}
			add(silent{kind: silentUp, index: l.Index, flags: flags, family: rtnl.FamilyInet6})
		}
		// Its addresses are no longer the ones added while it was
		// down: its next going down takes them (addrconf_ifdown).
		for ak, late := range r.v6 {
			if late && ak.Index == l.Index {
				r.v6[ak] = false
			}
		}
	case cur.up:
		// A carrier change (NETDEV_CHANGE), seen by each family its way.
		// The message follows a NETDEV_CHANGE too when the operational
		// state changed, or when the carrier bit went and came back
		// (or came and went) before linkwatch ran, which then changes
		// nothing the message shows: linkwatch_do_dev notifies all the
		// same (netdev_state_change), and fib_netdev_event and
		// addrconf_notify bring the routes in line with the carrier,
		// those made meanwhile included (linkdown while it was off).
		flap := prev.flapped && l.Change == 0
		switch {
		case prev.changed4 && !cur.changed4:
			add(silent{kind: silentCarrierDown, index: l.Index, family: rtnl.FamilyInet})
		case !prev.changed4 && cur.changed4:
			add(silent{kind: silentUp, index: l.Index, flags: rtnl.RouteFlagLinkDown, family: rtnl.FamilyInet})
		case prev.running != cur.running || flap:
			// linkwatch's message (or set_operstate's), after a
			// NETDEV_CHANGE, which fib_netdev_event takes whether or
			// not the carrier changed since the last one:
			// fib_sync_up(dev, RTNH_F_LINKDOWN) with a carrier,
			// fib_sync_down_dev without. It matters when something
			// flagged a hop in between, such as the last address's
			// going (DEAD and LINKDOWN) on a link whose carrier came
			// back before (LINKDOWN goes, DEAD stays), or made a
			// route while the carrier was off.
			if cur.changed4 {
				add(silent{kind: silentUp, index: l.Index, flags: rtnl.RouteFlagLinkDown, family: rtnl.FamilyInet})
			} else {
				add(silent{kind: silentCarrierDown, index: l.Index, family: rtnl.FamilyInet})
			}
		}
		switch {
		case prev.carrier6() && !cur.carrier6():
			add(silent{kind: silentCarrierDown, index: l.Index, family: rtnl.FamilyInet6})
		case !prev.carrier6() && cur.carrier6():
			// The link becomes ready: the first time since it came
			// up, rt6_sync_up with RTNH_F_DEAD (and linkdown, with
			// a carrier) revives the hops its going down killed;
			// later, with RTNH_F_LINKDOWN only, but then no hop on
			// it is dead (its going down cleared IF_READY).
			flags := rtnl.RouteFlagDead | rtnl.RouteFlagLinkDown
			add(silent{kind: silentUp, index: l.Index, flags: flags, family: rtnl.FamilyInet6})
		case flap && cur.carrier6():
			// addrconf_notify (NETDEV_CHANGE) on a ready link:
			// rt6_sync_up(dev, RTNH_F_LINKDOWN).
			add(silent{kind: silentUp, index: l.Index, flags: rtnl.RouteFlagLinkDown, family: rtnl.FamilyInet6})
		case flap:
			// Not ready: rt6_sync_down_dev(dev, NETDEV_CHANGE).
			add(silent{kind: silentCarrierDown, index: l.Index, family: rtnl.FamilyInet6})
		}
	}
	if cur.mtu != prev.mtu && prev.mtu != 0 && cur.mtu != 0 {
		r.pending = append(r.pending, silent{kind: silentMTU, index: l.Index, old: prev.mtu, mtu: cur.mtu})
	}
	// Coming up revives dead next hops; a carrier change flags routes
	// linkdown: both silently.
	return prev != cur
}

// dropNexthopsOn removes the nexthop objects on link index, which the
// kernel deletes when the link goes down, away or loses its carrier
// (nexthop_flush_dev).
func (r *routeSide) dropNexthopsOn(index uint32) {
	for _, id := range slices.Sorted(maps.Keys(r.nh)) {
		if n, ok := r.nh[id]; ok && !n.IsGroup() && n.OIF == index {
			r.dropNexthop(id)
		}
	}
}

func (r *routeSide) observeAddress(m nl.Message) bool {
	a, err := rtnl.DecodeAddress(m)
	if err != nil {
		return true
	}
	local := a.Prefix.Addr()
	ak := AddressKey{Index: a.Index, Prefix: a.Prefix, Peer: a.Peer}
	if m.Header.Type == rtnl.TypeNewAddress {
		if a.Family == rtnl.FamilyInet6 {
			r.addAddr6(ak)
		}
		if a.Family != rtnl.FamilyInet {
			return false
		}
		if _, known := r.v4[ak]; !known {
			r.v4[ak] = struct{}{}
			r.addrs4[a.Index]++
			r.locals4[local]++
		}
		// An address revives the dead next hops of its link
		// (fib_inetaddr_event: fib_sync_up with RTNH_F_DEAD).
		if st, ok := r.links[a.Index]; ok && st.up {
			flags := rtnl.RouteFlagDead
			if st.syncUpCarrier() {
				flags |= rtnl.RouteFlagLinkDown
			}
			r.pending = append(r.pending, silent{kind: silentUp, index: a.Index, flags: flags, family: rtnl.FamilyInet})
			r.addrUp = silent{kind: silentUp, index: a.Index, flags: flags}
		}
		return true
	}
	switch a.Family {
	case rtnl.FamilyInet:
		if _, known := r.v4[ak]; !known {
			return true
		}
		delete(r.v4, ak)
		if r.addrs4[a.Index] > 0 {
			r.addrs4[a.Index]--
		}
		if r.locals4[local] > 1 {
			r.locals4[local]--
		} else {
			delete(r.locals4, local)
			r.pending = append(r.pending, silent{kind: silentAddr4, index: a.Index, addr: local})
		}
		if r.addrs4[a.Index] == 0 {
			delete(r.addrs4, a.Index)
			r.pending = append(r.pending, silent{kind: silentDown, index: a.Index, down: lastAddrGone})
		}
	case rtnl.FamilyInet6:
		late, known := r.v6[ak]
		if !known {
			return true
		}
		delete(r.v6, ak)
		everywhere := false
		if r.locals6[local] > 1 {
			r.locals6[local]--
		} else {
			delete(r.locals6, local)
			everywhere = true
		}
		// fib6_remove_prefsrc: routes lose a preferred source that no
		// link has any more (a link-local one: that their own link has
		// not), whatever their link. Only ipv6_del_addr does that (ip
		// address del, DAD failure, expiry): the addresses that a link's
		// going down or away deletes (addrconf_ifdown) stay the source
		// of their routes. Those come after the link's message saying it
		// is down; on a link that is down, an address added since goes
		// either way (deleted by hand, or by the link going away, whose
		// RTM_DELLINK comes after): a dump tells.
		if !everywhere && !local.IsLinkLocalUnicast() {
			break
		}
		st, ok := r.links[a.Index]
		switch {
		case ok && st.up:
			r.pending = append(r.pending, silent{kind: silentAddr6, index: a.Index, addr: local})
		case late:
			r.pending = append(r.pending, silent{kind: silentAddr6Unsure, index: a.Index, addr: local})
		}
	}
	return true
}

func (r *routeSide) addAddr6(ak AddressKey) {
	if _, known := r.v6[ak]; !known {
		st, ok := r.links[ak.Index]
		r.v6[ak] = ok && !st.up
		r.locals6[ak.Prefix.Addr()]++
	}
}

// settle applies the silent changes observed since the last call, in the
// order the kernel made them.
func (r *routeSide) settle(t *store[rtnl.RouteKey, rtnl.Route], fn func(old, cur *rtnl.Route)) {
	for _, p := range r.pending {
		switch p.kind {
		case silentDown:
			r.fib.down(t, p.index, p.down, fn)
		case silentAddr4:
			r.fib.addrGone4(t, p.index, p.addr, fn)
		case silentAddr6:
			r.fib.addrGone6(t, p.index, p.addr, fn)
		case silentMTU:
			r.fib.mtu6(t, r.nh, p.index, p.old, p.mtu, fn)
		case silentNexthop:
			r.fib.nexthopGone(t, p.id, fn)
		case silentNexthopChanged:
			r.fib.nexthopChanged(t, r.nh, p.ids, fn)
		case silentUp:
			r.fib.up(t, p.index, p.flags, p.family, fn)
		case silentCarrierDown:
			r.fib.carrierDown(t, p.index, p.family, fn)
		case silentAddr6Unsure:
			r.fib.addrUnsure6(t, p.index, p.addr)
		}
	}
	r.pending = r.pending[:0]
}

func (r *routeSide) entry(t *store[rtnl.RouteKey, rtnl.Route], v *rtnl.Route, flags uint16, del bool, fn func(old, cur *rtnl.Route)) (bool, bool) {
	if r.addrUp.index != 0 && (del || !addrRoute(v, r.addrUp.index, r.addrUp.flags)) {
		r.addrUp = silent{}
	}
	if r.replaced != nil {
		k := v.Key()
		if t.has(k) && !del && flags&nl.FlagReplace != 0 && r.replaced[v.NexthopID] {
			r.fib.put(t, k, v, fn) // the route through a replaced nexthop, updated
			return true, false
		}
		r.replaced = nil
	}
	r.fib.apply(t, v, flags, del, fn)
	verify := len(r.fib.guessed) > 0 && !r.fib.checking
	r.fib.checking = r.fib.checking || verify
	return true, verify
}

func (r *routeSide) unsure(g rtnl.RouteKey) bool { return r.fib.guessed[g] || r.fib.mixed[g] }

func (r *routeSide) reindex(t *store[rtnl.RouteKey, rtnl.Route], keys []rtnl.RouteKey, kept func(rtnl.RouteKey) bool) {
	r.fib.reindex(t, keys, kept)
	for g := range r.fib.guessed {
		if kept == nil || !kept(g) {
			delete(r.fib.guessed, g)
		}
	}
	r.fib.checking = len(r.fib.guessed) > 0
}

func (r *routeSide) members(t *store[rtnl.RouteKey, rtnl.Route], g rtnl.RouteKey, buf []rtnl.RouteKey) []rtnl.RouteKey {
	return t.keys(g, buf)
}

func (r *routeSide) awaiting() bool { return len(r.fib.guessed) > 0 }

// afBridge is AF_BRIDGE: the family of a bridge port's link messages.
const afBridge = 7
