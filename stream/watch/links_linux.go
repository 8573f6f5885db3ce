//go:build linux

package watch

import (
	"context"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// LinkWatcher watches the network interfaces.
type LinkWatcher = Watcher[uint32, rtnl.Link]

// Links watches the network interfaces, keyed by index. Its table holds
// each link as a dump shows it:
//   - the messages a bridge sends about each of its ports (AF_BRIDGE,
//     Link.Family FamilyBridge) are left out (counted as Ignored): they
//     lack most of the link's attributes, and their RTM_DELLINK means the
//     port left its bridge, not that the link is gone;
//   - Change is 0, as in a dump: in a notification it says what that
//     notification changed;
//   - a veth's Link names its peer (with LinkNetNSID when the peer is in
//     another namespace), and a macvlan's or ipvlan's its lower device,
//     though the kernel announces the first end of a new veth pair before
//     the pair is joined (with Link 0), and says nothing to the links that
//     stay when the link they name moves to another namespace or comes
//     back. The watcher completes them from the other link's notification
//     (the second end's; the RTM_DELLINK of a move, which says where the
//     link goes; a returning veth's, which names its peer), with a Changed
//     event for each just before that notification's own.
//
// Not followed, because the kernel says nothing the watcher can use: the
// first end of a veth pair made in another namespace (`ip link add … peer
// … netns NS`; a watcher of NS holds its Link 0), a link other than a veth
// coming back to the namespace of its macvlans (they keep naming it
// elsewhere), a link moving on from one other namespace to another, and a
// change of alias, group or alternative names while the link is down
// (netdev_state_change announces it only while the link is up). The
// link's next notification or a resync sets such an entry right.
//
// The links hold no traffic counters (Stats is zero, HasStats false): the
// kernel announces none of their changes. Poll them with
// rtnl.ListLinkStats or rtnl.GetLinkStats. The carrier counters
// (CarrierChanges …) are held: each of their changes is announced.
func Links(opts ...Option) (*LinkWatcher, error) {
	side := &linkSide{}
	return newWatcher(spec[uint32, rtnl.Link]{
		name:     "links",
		groups:   []uint32{rtnl.GroupLink},
		noFamily: true, noTable: true,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Link) error) error {
			return rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
				noCounters(l)
				return fn(l)
			})
		},
		decode: func(m nl.Message, l *rtnl.Link) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewLink, rtnl.TypeDelLink:
				*l, err = rtnl.DecodeLink(m)
				// What this notification changed, not the link's state:
				// a dump says 0.
				l.Change = 0
				noCounters(l)
				side.decoded(m, l)
				return m.Header.Type == rtnl.TypeDelLink, true, err
			}
			return false, false, nil
		},
		key:   func(l *rtnl.Link) uint32 { return l.Index },
		equal: func(a, b *rtnl.Link) bool { return *a == *b },
		// A bridge's AF_BRIDGE messages about its ports are not the
		// link's state, and their RTM_DELLINK only means the port left.
		keep: func(l *rtnl.Link) bool { return l.Family == rtnl.FamilyAll },
		side: side,
	}, opts)
}

// noCounters clears a link's traffic counters (IFLA_STATS64): the kernel
// sends them in every message about the link but announces none of their
// changes, so a table would hold them as of the link's last notification
// or the last resync, and a resync would find every link changed.
func noCounters(l *rtnl.Link) { l.Stats, l.HasStats = rtnl.LinkStats{}, false }

// linkSide keeps the links that point at others (a veth's peer, a
// macvlan's lower device) in step when the kernel changes them silently.
type linkSide struct {
	// moved says where the link of the last notification decoded went,
	// when that was the RTM_DELLINK of a move to another namespace: decode
	// sets it, and apply calls entry right after decode, on one goroutine.
	moved struct {
		from  uint32 // the link's index here
		nsid  int32  // IFLA_NEW_NETNSID
		index uint32 // IFLA_NEW_IFINDEX
		ok    bool
	}
}

func (s *linkSide) decoded(m nl.Message, l *rtnl.Link) {
	s.moved.nsid, s.moved.index, s.moved.ok = rtnl.LinkMovedTo(m)
	s.moved.from = l.Index
}

func (*linkSide) load(context.Context, *nl.Conn) error                           { return nil }
func (*linkSide) observe(nl.Message) bool                                        { return false }
func (*linkSide) settle(*store[uint32, rtnl.Link], func(old, cur *rtnl.Link))    {}
func (*linkSide) discard()                                                       {}
func (*linkSide) reindex(*store[uint32, rtnl.Link], []uint32, func(uint32) bool) {}
func (*linkSide) awaiting() bool                                                 { return false }
func (*linkSide) members(t *store[uint32, rtnl.Link], g uint32, buf []uint32) []uint32 {
	return soleMember(t, g, buf)
}

var veth = rtnl.MakeName("veth")

// pointers are the kinds whose Link is a reference the kernel keeps to
// another device, which follows that device to another namespace: a veth's
// peer, and the lower device of the kinds whose links survive its move
// (macvlan_device_event and ipvlan's leave them in place). Other kinds
// (tunnels, VXLAN) hold an index that does not follow; a VLAN is deleted
// with its lower device's move, and a VXLAN with its device's.
var pointers = [...]rtnl.Name{veth, rtnl.MakeName("macvlan"), rtnl.MakeName("macvtap"),
	rtnl.MakeName("ipvlan"), rtnl.MakeName("ipvtap")}

func pointsAt(l *rtnl.Link) bool {
	for _, k := range pointers {
		if l.Kind == k {
			return true
		}
	}
	return false
}

// entry mirrors what the kernel changes, without a notification, in the
// links that point at the link of the notification l (see pointsAt):
//   - the second end of a new veth pair completes the first;
//   - a link leaving for another namespace is named there by those that
//     stay (its RTM_DELLINK says where it goes);
//   - a veth coming back names its peer here, which named it there: the
//     links that named it there name it here again.
func (*linkSide) unsure(uint32) bool { return false }

func (s *linkSide) entry(t *store[uint32, rtnl.Link], l *rtnl.Link, _ uint16, del bool, fn func(old, cur *rtnl.Link)) (bool, bool) {
	if del {
		if s.moved.ok && s.moved.from == l.Index {
			repoint(t, l.Index, 0, false, s.moved.index, s.moved.nsid, true, fn)
		}
		return false, false
	}
	if l.Kind != veth || l.Link == 0 || l.Link == l.Index {
		return false, false
	}
	if _, elsewhere := l.LinkNetNSID(); elsewhere {
		return false, false // the peer is not in this table
	}
	p, ok := t.get(l.Link)
	if !ok || p.Kind != veth {
		return false, false
	}
	if id, elsewhere := p.LinkNetNSID(); elsewhere && p.Link != 0 {
		// l comes back from where p named it: p and the links that
		// named it there with p (its macvlans) name it here.
		repoint(t, p.Link, id, true, l.Index, 0, false, fn)
		return false, false
	}
	if p.Link != l.Index {
		old := p
		p.Link = l.Index
		t.set(old.Index, &p)
		fn(&old, &p)
	}
	return false, false
}

// repoint makes the links that point at index (in the namespace with the
// id nsid, if elsewhere) point at to (likewise) instead. It walks the
// table: it runs only when a link moves between namespaces.
func repoint(t *store[uint32, rtnl.Link], index uint32, nsid int32, elsewhere bool, to uint32, toNSID int32, toElsewhere bool, fn func(old, cur *rtnl.Link)) {
	for _, ep := range t.all() {
		e := *ep
		id, in := e.LinkNetNSID()
		if e.Link != index || in != elsewhere || in && id != nsid || !pointsAt(&e) {
			continue
		}
		old := e
		e.Link = to
		e.SetLinkNetNSID(toNSID, toElsewhere)
		*ep = e
		fn(&old, &e)
	}
}

// AddressKey identifies an interface address as the kernel does.
type AddressKey struct {
	Index  uint32
	Prefix netip.Prefix
	Peer   netip.Addr
}

// AddressWatcher watches interface addresses.
type AddressWatcher = Watcher[AddressKey, rtnl.Address]

// Addresses watches the interface addresses (IPv4 and IPv6, or one family
// with WithFamily). The kernel's timestamps are not compared: a refresh of
// an address's lifetimes that changes nothing else is not an event.
func Addresses(opts ...Option) (*AddressWatcher, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	filter := rtnl.AddressFilter{Family: rtnl.Family(cfg.family)}
	var groups []uint32
	if cfg.family != uint8(rtnl.FamilyInet6) {
		groups = append(groups, rtnl.GroupIPv4Address)
	}
	if cfg.family != uint8(rtnl.FamilyInet) {
		groups = append(groups, rtnl.GroupIPv6Address)
	}
	return newWatcher(spec[AddressKey, rtnl.Address]{
		name:    "addresses",
		groups:  groups,
		noTable: true,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Address) error) error {
			return rtnl.ForEachAddress(ctx, c, filter, fn)
		},
		decode: func(m nl.Message, a *rtnl.Address) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewAddress, rtnl.TypeDelAddress:
				*a, err = rtnl.DecodeAddress(m)
				return m.Header.Type == rtnl.TypeDelAddress, true, err
			}
			return false, false, nil
		},
		key: func(a *rtnl.Address) AddressKey { return AddressKey{a.Index, a.Prefix, a.Peer} },
		equal: func(a, b *rtnl.Address) bool {
			x, y := *a, *b
			x.Created, x.Updated, y.Created, y.Updated = 0, 0, 0, 0
			x.PreferredLifetime, x.ValidLifetime, y.PreferredLifetime, y.ValidLifetime = 0, 0, 0, 0
			return x == y
		},
		keep: func(a *rtnl.Address) bool {
			return filter.Family == rtnl.FamilyAll || a.Family == filter.Family
		},
	}, opts)
}

// NeighborKey identifies a neighbour entry.
type NeighborKey struct {
	Index uint32
	Dst   netip.Addr
}

// NeighborWatcher watches the neighbour tables.
type NeighborWatcher = Watcher[NeighborKey, rtnl.Neighbor]

// Neighbors watches the ARP and NDP neighbour tables (IPv4 and IPv6, or one
// family with WithFamily): the entries whose state the kernel announces.
// Left out are bridge forwarding entries, proxy entries, NOARP entries
// (multicast and the like: the kernel makes them without a notification,
// and ip neigh show leaves them out too), and the entries that are not
// resolved: NONE and INCOMPLETE, which the kernel enters without a
// notification (a new entry, a user's `nud incomplete`), and FAILED, which
// it leaves without one when it tries the entry again (on traffic, and
// every few seconds for a managed entry). A notification that takes an
// entry into one of those states removes it from the table (a Deleted
// event with its last state); ip neigh show still lists INCOMPLETE and
// FAILED entries.
func Neighbors(opts ...Option) (*NeighborWatcher, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	filter := rtnl.NeighborFilter{Family: rtnl.Family(cfg.family)}
	return newWatcher(spec[NeighborKey, rtnl.Neighbor]{
		name:    "neighbours",
		groups:  []uint32{rtnl.GroupNeighbor},
		noTable: true,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Neighbor) error) error {
			return rtnl.ForEachNeighbor(ctx, c, filter, func(n *rtnl.Neighbor) error {
				if !neighborHeld(n) {
					return nil
				}
				return fn(n)
			})
		},
		decode: func(m nl.Message, n *rtnl.Neighbor) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewNeighbor, rtnl.TypeDelNeighbor:
				*n, err = rtnl.DecodeNeighbor(m)
				// An entry that leaves the held states leaves the table.
				return m.Header.Type == rtnl.TypeDelNeighbor || !neighborHeld(n), true, err
			}
			return false, false, nil
		},
		key: func(n *rtnl.Neighbor) NeighborKey { return NeighborKey{n.Index, n.Dst} },
		equal: func(a, b *rtnl.Neighbor) bool {
			x, y := *a, *b
			x.Probes, y.Probes = 0, 0
			return x == y
		},
		keep: func(n *rtnl.Neighbor) bool {
			if n.Family != rtnl.FamilyInet && n.Family != rtnl.FamilyInet6 || n.Flags&rtnl.NeighFlagProxy != 0 {
				return false
			}
			return filter.Family == rtnl.FamilyAll || n.Family == filter.Family
		},
	}, opts)
}

// neighborHeld reports whether a neighbours watcher holds an entry in n's
// state (see Neighbors).
func neighborHeld(n *rtnl.Neighbor) bool {
	const unheld = rtnl.NeighNoARP | rtnl.NeighIncomplete | rtnl.NeighFailed
	return n.State != rtnl.NeighNone && n.State&unheld == 0
}
