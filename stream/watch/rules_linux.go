//go:build linux

package watch

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// RuleWatcher watches policy-routing rules.
type RuleWatcher = Watcher[rtnl.RuleKey, rtnl.Rule]

// Rules watches the policy-routing rules (ip rule) of IPv4 and IPv6, or
// of one family (WithFamily), as `ip -4 rule show` and `ip -6 rule show`
// list them; the rules of the multicast routing tables are left out.
// WithTable does not apply.
//
// The kernel keeps its rules in a list in which identical rules may
// coexist (added without NLM_F_EXCL; see rtnl.RuleKey): the table holds
// each copy under its own key (rtnl.RuleKey.Copy), a notification of a new
// rule adds a copy, and one of a deleted rule removes the last copy. So a
// rule added while the watcher dumps (at the start, or in a resync), which
// the dump may show already, can stand as two copies until the
// verification that follows such a dump removes one (a Synthetic Deleted
// event, not counted as a repair).
//
// Two flags of a rule change without a notification, and the watcher
// applies the kernel's rule for them: a rule naming an input or output
// device that does not exist is detached (rtnl.RuleIIFDetached,
// rtnl.RuleOIFDetached) until a device of that name appears, so the
// watcher follows the links as well (Synthetic Changed events after the
// link's notification); a goto rule is unresolved (rtnl.RuleUnresolved)
// while no rule of its family has its target priority (Changed events
// after the event of the rule added or deleted at that priority).
func Rules(opts ...Option) (*RuleWatcher, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	family := rtnl.Family(cfg.family)
	groups := []uint32{rtnl.GroupLink}
	if family != rtnl.FamilyInet6 {
		groups = append(groups, rtnl.GroupIPv4Rule)
	}
	if family != rtnl.FamilyInet {
		groups = append(groups, rtnl.GroupIPv6Rule)
	}
	return newWatcher(spec[rtnl.RuleKey, rtnl.Rule]{
		name:    "rules",
		groups:  groups,
		noTable: true,
		dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Rule) error) error {
			return rtnl.ForEachRule(ctx, c, rtnl.RuleFilter{Family: family}, fn)
		},
		decode: func(m nl.Message, r *rtnl.Rule) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewRule, rtnl.TypeDelRule:
				*r, err = rtnl.DecodeRule(m)
				return m.Header.Type == rtnl.TypeDelRule, true, err
			}
			return false, false, nil
		},
		key:   func(r *rtnl.Rule) rtnl.RuleKey { return r.Key() },
		equal: func(a, b *rtnl.Rule) bool { return *a == *b },
		keep: func(r *rtnl.Rule) bool {
			if family != rtnl.FamilyAll {
				return r.Family == family
			}
			return r.Family == rtnl.FamilyInet || r.Family == rtnl.FamilyInet6
		},
		compare: rtnl.RuleKey.Compare,
		group:   func(k rtnl.RuleKey) rtnl.RuleKey { return k.WithCopy(0) },
		copyOf:  func(k rtnl.RuleKey, n uint8) (rtnl.RuleKey, bool) { return k.WithCopy(n), true },
		side:    &ruleSide{links: make(map[uint32]linkNames), prios: make(map[famPrio]int), gotos: make(map[famPrio]int)},
	}, opts)
}

// ruleSide follows the links of a rule watcher (their names and
// alternative names, for the detached flags), keeps the copies of
// identical rules, and resolves goto rules.
type ruleSide struct {
	links map[uint32]linkNames
	// pending lists, in order, the names whose rules a link attached (a
	// link came or took the name) or detached (it went or was renamed)
	// since the last settle.
	pending []nameChange
	// prios counts the table's rules by family and priority, gotos its
	// goto rules by family and target, so that a notification costs a
	// walk of the table only when goto rules target its priority.
	prios, gotos map[famPrio]int
	// old and cur are scratch values handed to the callbacks: locals
	// would escape to the heap through them, one allocation per change.
	old, cur rtnl.Rule
}

type famPrio struct {
	fam  rtnl.Family
	prio uint32
}

// count adds d to the counts of r.
func (s *ruleSide) count(r *rtnl.Rule, d int) {
	add := func(m map[famPrio]int, k famPrio) {
		if m[k] += d; m[k] <= 0 {
			delete(m, k)
		}
	}
	add(s.prios, famPrio{r.Family, r.Priority})
	if r.Action == rtnl.RuleActionGoto {
		add(s.gotos, famPrio{r.Family, r.Goto})
	}
}

// linkNames are a link's name and alternative names (IFLA_PROP_LIST).
type linkNames struct {
	name rtnl.Name
	alts []rtnl.Name
}

type nameChange struct {
	name   rtnl.Name
	attach bool
}

// Link attributes the side reads itself: rtnl.Link does not hold the
// alternative names.
const (
	iflaIfname     = 3  // IFLA_IFNAME
	iflaExtMask    = 29 // IFLA_EXT_MASK
	iflaPropList   = 52 // IFLA_PROP_LIST
	iflaAltIfname  = 53 // IFLA_ALT_IFNAME
	sizeofIfinfo   = 16 // struct ifinfomsg
	rtextSkipStats = 1 << 3
)

// parseLinkNames reads the index, name and alternative names of a link
// message; ok is false if the message is too short to be one.
func parseLinkNames(b []byte, prev []rtnl.Name) (index uint32, n linkNames, ok bool) {
	if len(b) < sizeofIfinfo {
		return 0, n, false
	}
	index = binary.NativeEndian.Uint32(b[4:8])
	n.alts = prev[:0]
	d := nl.NewAttributeDecoder(b[sizeofIfinfo:])
	for d.Next() {
		switch d.Type() {
		case iflaIfname:
			n.name = nameOf(d.Bytes())
		case iflaPropList:
			nd := d.Nested()
			for nd.Next() {
				if nd.Type() == iflaAltIfname {
					n.alts = append(n.alts, nameOf(nd.Bytes()))
				}
			}
		}
	}
	return index, n, d.Err() == nil
}

func nameOf(b []byte) rtnl.Name {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return rtnl.MakeName(string(b))
}

func (s *ruleSide) load(ctx context.Context, c *nl.Conn) error {
	clear(s.links)
	req := make([]byte, sizeofIfinfo, sizeofIfinfo+8)
	e := nl.NewAttributeEncoder(req)
	e.Uint32(iflaExtMask, rtextSkipStats)
	req, _ = e.Bytes()
	return c.ExecuteFunc(ctx, nl.Message{Header: nl.Header{Type: rtnl.TypeGetLink, Flags: nl.FlagRequest | nl.FlagDump}, Data: req},
		func(m nl.Message) error {
			if m.Header.Type == rtnl.TypeNewLink {
				if index, n, ok := parseLinkNames(m.Data, nil); ok {
					s.links[index] = n
				}
			}
			return nil
		})
}

// observe follows the names of the links. The kernel attaches the rules
// naming a link when it registers or takes a new name (by its name only),
// and detaches the rules it resolved to the link (by its name or an
// alternative name, when the rule was added) when it unregisters or
// changes its name.
func (s *ruleSide) observe(m nl.Message) bool {
	if m.Header.Type != rtnl.TypeNewLink && m.Header.Type != rtnl.TypeDelLink || len(m.Data) > 0 && m.Data[0] == afBridge {
		return false
	}
	prev, known := s.links[binaryIndex(m.Data)]
	index, cur, ok := parseLinkNames(m.Data, nil)
	if !ok {
		return true // what changed is unknown: a dump will tell
	}
	renamed := known && prev.name != cur.name
	if known && (m.Header.Type == rtnl.TypeDelLink || renamed) {
		s.pending = append(s.pending, nameChange{prev.name, false})
		for _, a := range prev.alts {
			s.pending = append(s.pending, nameChange{a, false})
		}
	}
	if m.Header.Type == rtnl.TypeDelLink {
		delete(s.links, index)
		return false
	}
	if !known || renamed {
		s.pending = append(s.pending, nameChange{cur.name, true})
	}
	if len(cur.alts) == 0 {
		cur.alts = nil
	}
	s.links[index] = cur
	return false
}

func binaryIndex(b []byte) uint32 {
	if len(b) < sizeofIfinfo {
		return 0
	}
	return binary.NativeEndian.Uint32(b[4:8])
}

// settle sets the detached flags of the rules that name a device that
// came, went or was renamed, as the kernel's attach_rules and detach_rules
// do when a device registers, unregisters or changes its name.
func (s *ruleSide) settle(t *store[rtnl.RuleKey, rtnl.Rule], fn func(old, cur *rtnl.Rule)) {
	if len(s.pending) == 0 {
		return
	}
	for _, rp := range t.all() {
		r := *rp
		if r.IIFName.IsZero() && r.OIFName.IsZero() {
			continue
		}
		flags := r.Flags
		for _, c := range s.pending {
			if r.IIFName == c.name {
				flags = setFlag(flags, rtnl.RuleIIFDetached, !c.attach)
			}
			if r.OIFName == c.name {
				flags = setFlag(flags, rtnl.RuleOIFDetached, !c.attach)
			}
		}
		if flags != r.Flags {
			s.old, s.cur = r, r
			s.cur.Flags = flags
			*rp = s.cur
			fn(&s.old, &s.cur)
		}
	}
	s.pending = s.pending[:0]
}

func setFlag(flags, f uint32, on bool) uint32 {
	if on {
		return flags | f
	}
	return flags &^ f
}

func (s *ruleSide) discard() { s.pending = s.pending[:0] }

// entry applies a rule notification: a new rule is one more copy (the
// kernel has no replace for rules), a deleted one takes the last copy
// away. Then the goto rules of the family that target the priority of the
// rule added or deleted are resolved again.
func (s *ruleSide) entry(t *store[rtnl.RuleKey, rtnl.Rule], r *rtnl.Rule, _ uint16, del bool, fn func(old, cur *rtnl.Rule)) (bool, bool) {
	k := r.Key()
	n := uint8(0)
	for ; n < 255; n++ {
		if !t.has(k.WithCopy(n)) {
			break
		}
	}
	switch {
	case del && n == 0:
		return true, false // not there: nothing changes
	case del:
		c := k.WithCopy(n - 1)
		s.old = t.val(c)
		t.del(c)
		s.count(&s.old, -1)
		fn(&s.old, nil)
	default:
		// The copy past 255 would collide: the last one is overwritten, and
		// a verification sees to it.
		c := k.WithCopy(n)
		var had bool
		s.old, had = t.get(c)
		t.set(c, r)
		if had {
			fn(&s.old, r)
		} else {
			s.count(r, 1)
			fn(nil, r)
		}
	}
	s.resolve(t, r.Family, r.Priority, fn)
	return true, false
}

// resolve sets the unresolved flag of the goto rules of family fam that
// target priority p: set while no rule of the family has that priority.
func (s *ruleSide) resolve(t *store[rtnl.RuleKey, rtnl.Rule], fam rtnl.Family, p uint32, fn func(old, cur *rtnl.Rule)) {
	if s.gotos[famPrio{fam, p}] == 0 {
		return
	}
	target := s.prios[famPrio{fam, p}] > 0
	for _, rp := range t.all() {
		r := *rp
		if r.Family != fam || r.Action != rtnl.RuleActionGoto || r.Goto != p {
			continue
		}
		want := r.Flags | rtnl.RuleUnresolved
		if target {
			want &^= rtnl.RuleUnresolved
		}
		if want != r.Flags {
			s.old, s.cur = r, r
			s.cur.Flags = want
			*rp = s.cur
			fn(&s.old, &s.cur)
		}
	}
}

func (*ruleSide) unsure(rtnl.RuleKey) bool { return false }

// reindex counts the rules of a table a dump has replaced or repaired.
func (s *ruleSide) reindex(t *store[rtnl.RuleKey, rtnl.Rule], _ []rtnl.RuleKey, _ func(rtnl.RuleKey) bool) {
	clear(s.prios)
	clear(s.gotos)
	for _, r := range t.all() {
		s.count(r, 1)
	}
}
func (*ruleSide) awaiting() bool { return false }

// members lists the copies of group g, copy 0 first.
func (*ruleSide) members(t *store[rtnl.RuleKey, rtnl.Rule], g rtnl.RuleKey, buf []rtnl.RuleKey) []rtnl.RuleKey {
	for n := 0; n < 256; n++ {
		k := g.WithCopy(uint8(n))
		if !t.has(k) {
			break
		}
		buf = append(buf, k)
	}
	return buf
}
