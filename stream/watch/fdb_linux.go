//go:build linux

package watch

import (
	"context"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// FDBKey identifies a forwarding entry as the kernel does.
//
// A bridge keys its entries by MAC and VLAN (fdb_find_rcu looks up
// {addr, vlan_id} in the bridge's hash table): the port is the entry's
// value, not its identity, and a station that moves to another port
// changes an entry rather than adding one. So a bridge entry's key is
// Master, MAC and VLAN, with Index 0.
//
// A VXLAN device keys its entries by MAC (and source VNI on a
// collect-metadata device: vxlan_find_mac), and holds a list of remotes
// under each, told apart by address, port, VNI and interface
// (vxlan_fdb_find_rdst); each remote is a message of its own. So a VXLAN
// entry's key is Index, MAC, SrcVNI and the remote, with Master 0.
type FDBKey struct {
	Master uint32 // the bridge, for a bridge's entry
	Index  uint32 // the VXLAN device, for its own entry
	MAC    rtnl.HardwareAddr
	VLAN   uint16
	SrcVNI uint32
	// The remote of a VXLAN entry.
	Dst  netip.Addr
	Port uint16
	VNI  uint32
	Via  uint32
}

// FDBKeyOf returns the key of e. It does not allocate.
func FDBKeyOf(e *rtnl.FDBEntry) FDBKey {
	if e.IsBridgeEntry() {
		return FDBKey{Master: e.Master, MAC: e.MAC, VLAN: e.VLAN}
	}
	return FDBKey{Index: e.Index, MAC: e.MAC, VLAN: e.VLAN, SrcVNI: e.SrcVNI, Dst: e.Dst, Port: e.Port, VNI: e.VNI, Via: e.Via}
}

// entryOf returns the key of the entry under which the kernel keeps k's
// remote: k itself for a bridge's entry.
func (k FDBKey) entryOf() FDBKey {
	if k.Master != 0 {
		return k
	}
	return FDBKey{Index: k.Index, MAC: k.MAC, VLAN: k.VLAN, SrcVNI: k.SrcVNI}
}

// FDBWatcher watches forwarding entries.
type FDBWatcher = Watcher[FDBKey, rtnl.FDBEntry]

// FDB watches the forwarding entries of the bridges and of the VXLAN
// devices, as `bridge fdb show` lists them, keyed by FDBKey. Left out
// are the addresses of the devices' unicast and multicast lists, which
// bridge fdb show lists as self permanent entries (ndo_dflt_fdb_dump;
// they carry no NDA_CACHEINFO): the kernel changes those without a
// notification whenever an address joins a multicast group. An entry's
// ages (Used, Updated) are zero in the table, and an entry past the
// bridge's ageing time that turns stale (NeighStale, which the kernel
// computes on each dump and never announces) is the same entry as the
// reachable one: no event. WithFamily and WithTable do not apply.
//
// The kernel announces almost every change: what a port learns and
// forgets, the entries a port loses when it goes down or leaves its
// bridge (br_fdb_delete_by_port), those of a deleted bridge, a port's new
// address when it joins or changes its MAC (fdb_add_local), the bridge's
// (br_fdb_change_mac_address). It changes two things silently, and the
// watcher applies its rules for them from the link notifications:
//
//   - a local (permanent) entry that a port stops holding, because the
//     port left the bridge (del_nbp → br_fdb_delete_by_port) or changed
//     its MAC (br_fdb_changeaddr), stays if another port of the bridge, or
//     the bridge itself, has that address: it moves to that port, or to the
//     bridge, without a notification (fdb_delete_local). The watcher moves
//     it on the bridge's AF_BRIDGE RTM_DELLINK for the port, or the port's
//     RTM_NEWLINK with its new address (Synthetic Changed events);
//   - the bridge's own entry for its old address, when its address
//     changes, likewise moves to a port that has the address
//     (br_fdb_change_mac_address → fdb_delete_local).
//
// A port given the address it has already runs br_fdb_changeaddr all the
// same, which moves its local entry to another port, or the bridge, with
// that address; its RTM_NEWLINK cannot be told from another that changes
// no flag (an MTU's), so where another port or the bridge shares the
// port's address such a notification costs a verification, whose
// repair of that entry is not counted in Repairs. Entries of a link that
// goes are deleted with it (Synthetic Deleted events, if the kernel sent
// none). Not followed: the offload flag that switchdev drivers set
// without a notification (br_fdb_offloaded_set). With VLAN filtering the bridge keeps
// a local entry per VLAN of a port, which these rules would have to check
// against the port's VLANs: there the watcher verifies instead (a dump
// after the link notification), and does not count what it repairs there
// as Repairs.
//
// A VXLAN device's entry holds state and flags for all its remotes, and
// its notifications carry one remote each: a change of state or flags
// changes every remote of the entry (Changed events, one per remote). A
// new remote of an entry that had others was either appended
// (NLM_F_APPEND) or replaced the first (NLM_F_REPLACE, vxlan_fdb_replace,
// which announces the new remote only); the notification does not say
// which, so the watcher verifies that entry.
func FDB(opts ...Option) (*FDBWatcher, error) {
	side := &fdbSide{links: make(map[uint32]fdbLink), unsureOf: make(map[FDBKey]bool)}
	return newWatcher(spec[FDBKey, rtnl.FDBEntry]{
		name:     "fdb",
		groups:   []uint32{rtnl.GroupNeighbor, rtnl.GroupLink},
		noFamily: true, noTable: true,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.FDBEntry) error) error {
			return rtnl.ForEachFDB(ctx, c, rtnl.FDBFilter{}, func(e *rtnl.FDBEntry) error {
				e.Used, e.Updated = 0, 0
				return fn(e)
			})
		},
		decode: func(m nl.Message, e *rtnl.FDBEntry) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewNeighbor, rtnl.TypeDelNeighbor:
				if len(m.Data) > 0 && rtnl.Family(m.Data[0]) != rtnl.FamilyBridge {
					*e = rtnl.FDBEntry{} // an ARP or NDP entry: not held
					return false, true, nil
				}
				*e, err = rtnl.DecodeFDBEntry(m)
				e.Used, e.Updated = 0, 0
				return m.Header.Type == rtnl.TypeDelNeighbor, true, err
			}
			return false, false, nil
		},
		key: FDBKeyOf,
		equal: func(a, b *rtnl.FDBEntry) bool {
			x, y := *a, *b
			x.State, y.State = aged(x.State), aged(y.State)
			return x == y
		},
		keep:    fdbHeld,
		compare: compareFDBKeys,
		group:   FDBKey.entryOf,
		side:    side,
	}, opts)
}

// fdbHeld reports whether the watcher holds e: a bridge's entry, or a
// device's own with cache information (a VXLAN device's), not an address
// list's.
func fdbHeld(e *rtnl.FDBEntry) bool {
	return e.IsBridgeEntry() || e.Flags&rtnl.NeighFlagSelf != 0 && e.HasCacheInfo
}

// aged maps a stale state to reachable: the kernel computes staleness on
// each dump from the entry's age (fdb_to_nud), without a notification.
func aged(s rtnl.NeighState) rtnl.NeighState {
	if s == rtnl.NeighStale {
		return rtnl.NeighReachable
	}
	return s
}

func compareFDBKeys(a, b FDBKey) int {
	for _, d := range [...]int{
		cmpU(a.Master, b.Master), cmpU(a.Index, b.Index), bytesCompare(a.MAC, b.MAC), cmpU(uint32(a.VLAN), uint32(b.VLAN)),
		cmpU(a.SrcVNI, b.SrcVNI), a.Dst.Compare(b.Dst), cmpU(uint32(a.Port), uint32(b.Port)), cmpU(a.VNI, b.VNI), cmpU(a.Via, b.Via),
	} {
		if d != 0 {
			return d
		}
	}
	return 0
}

func cmpU(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func bytesCompare(a, b rtnl.HardwareAddr) int {
	x, y := a.Bytes(), b.Bytes()
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return cmpU(uint32(x[i]), uint32(y[i]))
		}
	}
	return cmpU(uint32(len(x)), uint32(len(y)))
}

// fdbLink is what the FDB rules need of a link.
type fdbLink struct {
	mac    rtnl.HardwareAddr
	master uint32 // its bridge, if it is a port
	bridge bool
	// joined orders the ports of a bridge as the kernel lists them
	// (br_add_if puts a new port first): the larger, the later it joined.
	// The links of a dump, whose order is unknown, take their index.
	joined uint64
}

type fdbChangeKind uint8

const (
	fdbPortLeft  fdbChangeKind = iota // a port left its bridge (AF_BRIDGE RTM_DELLINK)
	fdbPortMAC                        // a port's address changed
	fdbBridgeMAC                      // a bridge's address changed
	fdbLinkGone                       // a link was unregistered
)

type fdbChange struct {
	kind   fdbChangeKind
	index  uint32
	bridge uint32
	old    rtnl.HardwareAddr
}

// fdbSide follows the links (their addresses and bridges) and applies the
// kernel's silent FDB rules.
type fdbSide struct {
	links   map[uint32]fdbLink
	joins   uint64 // the last fdbLink.joined given out
	pending []fdbChange
	// vlans counts the bridge entries with a VLAN: where there are some,
	// the bridges filter VLANs, and the local-entry rules depend on the
	// ports' VLANs, which the watcher does not follow.
	vlans int
	// unsureOf lists the VXLAN entries, and with VLANs the bridges, whose
	// state a verification must tell.
	unsureOf map[FDBKey]bool
	old, cur rtnl.FDBEntry
	buf      []FDBKey
}

func (s *fdbSide) load(ctx context.Context, c *nl.Conn) error {
	clear(s.links)
	s.joins = 1 << 32 // past every index
	return rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		s.links[l.Index] = fdbLink{mac: l.Address, master: l.Master, bridge: l.Kind == bridgeKind, joined: uint64(l.Index)}
		return nil
	})
}

var bridgeKind = rtnl.MakeName("bridge")

// observe follows the links and queues what the kernel's rules change in
// the table: a port leaving (the bridge's AF_BRIDGE RTM_DELLINK for it,
// sent before its entries go), a MAC change, a link going.
func (s *fdbSide) observe(m nl.Message) bool {
	if m.Header.Type != rtnl.TypeNewLink && m.Header.Type != rtnl.TypeDelLink {
		return false
	}
	l, err := rtnl.DecodeLink(m)
	if err != nil {
		return true // what changed is unknown: a dump will tell
	}
	prev, known := s.links[l.Index]
	if l.Family == rtnl.FamilyBridge {
		if m.Header.Type == rtnl.TypeDelLink && known {
			b := l.Master
			if b == 0 {
				b = prev.master
			}
			s.pending = append(s.pending, fdbChange{kind: fdbPortLeft, index: l.Index, bridge: b})
			// del_nbp takes the port off the bridge's list before it
			// deletes the port's entries. (The bridge sends AF_BRIDGE
			// RTM_DELLINK for that alone: a VLAN deleted from a port is
			// an RTM_NEWLINK, br_dellink.)
			prev.master = 0
			s.links[l.Index] = prev
			return s.vlans > 0
		}
		return false
	}
	if m.Header.Type == rtnl.TypeDelLink {
		// A port whose AF_BRIDGE RTM_DELLINK was not seen (it is sent
		// first) leaves its bridge as it goes.
		if known && prev.master != 0 {
			s.pending = append(s.pending, fdbChange{kind: fdbPortLeft, index: l.Index, bridge: prev.master})
		}
		delete(s.links, l.Index)
		s.pending = append(s.pending, fdbChange{kind: fdbLinkGone, index: l.Index})
		return false
	}
	cur := fdbLink{mac: l.Address, master: l.Master, bridge: l.Kind == bridgeKind, joined: prev.joined}
	if cur.master != 0 && cur.master != prev.master {
		s.joins++
		cur.joined = s.joins
	}
	s.links[l.Index] = cur
	if known && prev.master != 0 && cur.master != prev.master {
		// Likewise for a port that left (or moved to another bridge)
		// without one.
		s.pending = append(s.pending, fdbChange{kind: fdbPortLeft, index: l.Index, bridge: prev.master})
	}
	if known && prev.mac == cur.mac && cur.master != 0 && cur.master == prev.master && l.Change == 0 {
		// Setting a port's address to the one it has still runs
		// br_fdb_changeaddr (dev_set_mac_address announces
		// NETDEV_CHANGEADDR all the same), which moves its local entry
		// to another port with that address; the notification cannot be
		// told from others with no flag change (an MTU's, say). Where
		// another port or the bridge shares the address, a verification
		// tells (one dump per such notification).
		if _, shared := s.holder(cur.master, l.Index, cur.mac, true); shared {
			s.unsureOf[FDBKey{Master: cur.master, MAC: cur.mac}] = true
			return true
		}
		return false
	}
	if !known || prev.mac == cur.mac {
		return false
	}
	switch {
	case cur.bridge:
		s.pending = append(s.pending, fdbChange{kind: fdbBridgeMAC, index: l.Index, bridge: l.Index, old: prev.mac})
	case cur.master != 0:
		s.pending = append(s.pending, fdbChange{kind: fdbPortMAC, index: l.Index, bridge: cur.master, old: prev.mac})
	default:
		return false
	}
	return s.vlans > 0
}

// holder returns the port of bridge b other than not whose address is mac,
// or b itself if withBridge and b's address is mac: where the kernel moves
// a local entry that not stops holding (fdb_delete_local); ok is false if
// none has the address, and the kernel deletes the entry, with a
// notification.
func (s *fdbSide) holder(b, not uint32, mac rtnl.HardwareAddr, withBridge bool) (uint32, bool) {
	// The kernel takes the first port on the bridge's list: the one that
	// joined last.
	best, found := uint32(0), false
	var last uint64
	for i, l := range s.links {
		if i != not && l.master == b && l.mac == mac && (!found || l.joined > last) {
			best, found, last = i, true, l.joined
		}
	}
	if found {
		return best, true
	}
	if withBridge && s.links[b].mac == mac {
		return b, true
	}
	return 0, false
}

// settle applies the rules queued by observe.
func (s *fdbSide) settle(t *store[FDBKey, rtnl.FDBEntry], fn func(old, cur *rtnl.FDBEntry)) {
	for _, c := range s.pending {
		switch c.kind {
		case fdbLinkGone:
			var gone []FDBKey
			for k, e := range t.all() {
				if k.Master == c.index || k.Index == c.index || e.Index == c.index {
					gone = append(gone, k)
				}
			}
			for _, k := range gone {
				s.old = t.val(k)
				t.del(k)
				s.count(&s.old, -1)
				fn(&s.old, nil)
			}
			continue
		case fdbPortLeft, fdbPortMAC, fdbBridgeMAC:
		default:
			continue
		}
		for _, ep := range t.all() {
			e := *ep
			if e.Master != c.bridge || e.Index != c.index || e.State&rtnl.NeighPermanent == 0 || e.VLAN != 0 {
				continue
			}
			if c.kind != fdbPortLeft && e.MAC != c.old {
				continue // br_fdb_changeaddr: the port's own address only
			}
			to, ok := s.holder(c.bridge, c.index, e.MAC, c.kind != fdbBridgeMAC)
			if !ok {
				continue // deleted, and announced
			}
			s.old, s.cur = e, e
			s.cur.Index = to
			*ep = s.cur
			fn(&s.old, &s.cur)
		}
		if s.vlans > 0 {
			s.unsureOf[FDBKey{Master: c.bridge}] = true
		}
	}
	s.pending = s.pending[:0]
}

func (s *fdbSide) discard() { s.pending = s.pending[:0] }

func (s *fdbSide) count(e *rtnl.FDBEntry, d int) {
	if e.IsBridgeEntry() && e.VLAN != 0 {
		s.vlans += d
	}
}

// entry applies a VXLAN notification to the other remotes of its entry:
// state and flags are the entry's (vxlan_fdb_update_existing), and a new
// remote of an entry that has others may have replaced its first.
func (s *fdbSide) entry(t *store[FDBKey, rtnl.FDBEntry], e *rtnl.FDBEntry, _ uint16, del bool, fn func(old, cur *rtnl.FDBEntry)) (bool, bool) {
	k := FDBKeyOf(e)
	if del {
		if old, ok := t.get(k); ok {
			s.count(&old, -1)
		}
		return false, false
	}
	if !t.has(k) {
		s.count(e, 1)
	}
	if k.Master != 0 {
		return false, false
	}
	g := k.entryOf()
	s.buf = t.keys(g, s.buf[:0])
	isNew := !t.has(k)
	others := 0
	for _, m := range s.buf {
		if m == k {
			continue
		}
		others++
		p := t.ref(m)
		if p.State == e.State && p.Flags == e.Flags && p.FlagsExt == e.FlagsExt {
			continue
		}
		s.old, s.cur = *p, *p
		s.cur.State, s.cur.Flags, s.cur.FlagsExt = e.State, e.Flags, e.FlagsExt
		*p = s.cur
		fn(&s.old, &s.cur)
	}
	if isNew && others > 0 {
		s.unsureOf[g] = true
		return false, true
	}
	return false, false
}

func (s *fdbSide) unsure(g FDBKey) bool {
	return s.unsureOf[g] || g.Master != 0 && g.VLAN != 0 && s.unsureOf[FDBKey{Master: g.Master}]
}

func (s *fdbSide) reindex(t *store[FDBKey, rtnl.FDBEntry], _ []FDBKey, _ func(FDBKey) bool) {
	clear(s.unsureOf)
	s.vlans = 0
	for _, e := range t.all() {
		s.count(e, 1)
	}
}

func (*fdbSide) awaiting() bool { return false }

func (*fdbSide) members(t *store[FDBKey, rtnl.FDBEntry], g FDBKey, buf []FDBKey) []FDBKey {
	return t.keys(g, buf)
}
