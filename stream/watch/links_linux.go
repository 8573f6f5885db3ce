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

// Links watches the network interfaces, keyed by index.
func Links(opts ...Option) (*LinkWatcher, error) {
	return newWatcher(spec[uint32, rtnl.Link]{
		name:   "links",
		groups: []uint32{rtnl.GroupLink},
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Link) error) error {
			return rtnl.ForEachLink(ctx, c, fn)
		},
		decode: func(m nl.Message, l *rtnl.Link) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewLink, rtnl.TypeDelLink:
				*l, err = rtnl.DecodeLink(m)
				return m.Header.Type == rtnl.TypeDelLink, true, err
			}
			return false, false, nil
		},
		key:   func(l *rtnl.Link) uint32 { return l.Index },
		equal: func(a, b *rtnl.Link) bool { return *a == *b },
		keep:  func(*rtnl.Link) bool { return true },
	}, opts)
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
		name:   "addresses",
		groups: groups,
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
// family with WithFamily). Bridge forwarding entries are left out, and so
// are NOARP entries (multicast and the like), as `ip neigh` leaves them
// out: the kernel makes them without a notification.
func Neighbors(opts ...Option) (*NeighborWatcher, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	filter := rtnl.NeighborFilter{Family: rtnl.Family(cfg.family)}
	return newWatcher(spec[NeighborKey, rtnl.Neighbor]{
		name:   "neighbours",
		groups: []uint32{rtnl.GroupNeighbor},
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Neighbor) error) error {
			return rtnl.ForEachNeighbor(ctx, c, filter, fn)
		},
		decode: func(m nl.Message, n *rtnl.Neighbor) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewNeighbor, rtnl.TypeDelNeighbor:
				*n, err = rtnl.DecodeNeighbor(m)
				return m.Header.Type == rtnl.TypeDelNeighbor, true, err
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
			if n.Family != rtnl.FamilyInet && n.Family != rtnl.FamilyInet6 || n.State&rtnl.NeighNoARP != 0 {
				return false
			}
			return filter.Family == rtnl.FamilyAll || n.Family == filter.Family
		},
	}, opts)
}
