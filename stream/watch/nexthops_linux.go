//go:build linux

package watch

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// NexthopWatcher watches nexthop objects.
type NexthopWatcher = Watcher[uint32, rtnl.Nexthop]

// Nexthops watches the nexthop objects (ip nexthop), keyed by ID, as
// `ip nexthop show` lists them (or one family's, WithFamily; groups have
// no family and are always in).
//
// The kernel deletes the nexthops on a link that goes down, away or loses
// its carrier, and takes them out of their groups, without a notification
// (Linux 6.18); the watcher follows the links and applies the same rule
// (Synthetic events), then verifies with a dump, as the route watcher
// does.
func Nexthops(opts ...Option) (*NexthopWatcher, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	family := rtnl.Family(cfg.family)
	return newWatcher(spec[uint32, rtnl.Nexthop]{
		name:    "nexthops",
		groups:  []uint32{rtnl.GroupNexthop, rtnl.GroupLink},
		noTable: true,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Nexthop) error) error {
			return rtnl.ForEachNexthop(ctx, c, rtnl.NexthopFilter{}, fn)
		},
		decode: func(m nl.Message, n *rtnl.Nexthop) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewNexthop, rtnl.TypeDelNexthop:
				*n, err = rtnl.DecodeNexthop(m)
				return m.Header.Type == rtnl.TypeDelNexthop, true, err
			}
			return false, false, nil
		},
		key:     func(n *rtnl.Nexthop) uint32 { return n.ID },
		equal:   func(a, b *rtnl.Nexthop) bool { return a.Equal(b) },
		keep:    func(n *rtnl.Nexthop) bool { return family == rtnl.FamilyAll || n.IsGroup() || n.Family == family },
		compare: cmp.Compare[uint32],
		side:    &nexthopSide{links: make(map[uint32]linkState)},
	}, opts)
}

// nexthopSide follows the links for a nexthop watcher.
type nexthopSide struct {
	links   map[uint32]linkState
	pending []uint32 // links that went down, away or lost their carrier
}

func (s *nexthopSide) load(ctx context.Context, c *nl.Conn) error {
	clear(s.links)
	return rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		s.links[l.Index] = linkStateOf(l)
		return nil
	})
}

func (s *nexthopSide) observe(m nl.Message) bool {
	if m.Header.Type != rtnl.TypeNewLink && m.Header.Type != rtnl.TypeDelLink || len(m.Data) > 0 && m.Data[0] == afBridge {
		return false
	}
	l, err := rtnl.DecodeLink(m)
	if err != nil {
		return true
	}
	prev, known := s.links[l.Index]
	if m.Header.Type == rtnl.TypeDelLink {
		delete(s.links, l.Index)
		s.pending = append(s.pending, l.Index)
		return known
	}
	cur := after(prev, known, &l)
	s.links[l.Index] = cur
	if known && prev.up && prev.changed4 && !(cur.up && cur.changed4) {
		s.pending = append(s.pending, l.Index)
		return true
	}
	return false
}

// settle deletes the nexthops on the links that went, as
// nexthop_flush_dev does, and takes them out of their groups; a group left
// empty goes too.
func (s *nexthopSide) settle(t *store[uint32, rtnl.Nexthop], fn func(old, cur *rtnl.Nexthop)) {
	for _, index := range s.pending {
		n := nexthops(t.toMap())
		for _, id := range slices.Sorted(maps.Keys(n)) {
			nh, ok := n[id]
			if !ok || nh.IsGroup() || nh.OIF != index {
				continue
			}
			before := maps.Clone(n)
			gone, changed := n.drop(id)
			for _, g := range gone {
				old := before[g]
				t.del(g)
				fn(&old, nil)
			}
			for _, c := range changed {
				old, cur := before[c], n[c]
				t.set(c, &cur)
				fn(&old, &cur)
			}
		}
	}
	s.pending = s.pending[:0]
}

func (s *nexthopSide) discard() { s.pending = s.pending[:0] }

func (s *nexthopSide) entry(*store[uint32, rtnl.Nexthop], *rtnl.Nexthop, uint16, bool, func(old, cur *rtnl.Nexthop)) (bool, bool) {
	return false, false
}

func (*nexthopSide) unsure(uint32) bool { return false }

func (s *nexthopSide) reindex(*store[uint32, rtnl.Nexthop], []uint32, func(uint32) bool) {}
func (*nexthopSide) awaiting() bool                                                      { return false }
func (*nexthopSide) members(t *store[uint32, rtnl.Nexthop], g uint32, buf []uint32) []uint32 {
	return soleMember(t, g, buf)
}
