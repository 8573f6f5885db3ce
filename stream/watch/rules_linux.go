//go:build linux

package watch

import (
	"context"

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
// rule adds a copy, and one of a deleted rule removes the last copy.
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
		side:    &ruleSide{names: make(map[uint32]rtnl.Name), devs: make(map[rtnl.Name]uint32)},
	}, opts)
}

// ruleSide follows the links of a rule watcher (which names exist, for
// the detached flags), keeps the copies of identical rules, and resolves
// goto rules.
type ruleSide struct {
	names   map[uint32]rtnl.Name // link index → name
	devs    map[rtnl.Name]uint32 // name → link index
	pending bool                 // a name appeared or went since the last settle
}

func (s *ruleSide) load(ctx context.Context, c *nl.Conn) error {
	clear(s.names)
	clear(s.devs)
	return rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		s.names[l.Index] = l.Name
		s.devs[l.Name] = l.Index
		return nil
	})
}

func (s *ruleSide) observe(m nl.Message) bool {
	if m.Header.Type != rtnl.TypeNewLink && m.Header.Type != rtnl.TypeDelLink || len(m.Data) > 0 && m.Data[0] == afBridge {
		return false
	}
	l, err := rtnl.DecodeLink(m)
	if err != nil {
		return true // what changed is unknown: a dump will tell
	}
	prev, known := s.names[l.Index]
	switch {
	case m.Header.Type == rtnl.TypeDelLink:
		if known {
			delete(s.names, l.Index)
			if s.devs[prev] == l.Index {
				delete(s.devs, prev)
			}
			s.pending = true
		}
	case !known || prev != l.Name:
		if known && s.devs[prev] == l.Index {
			delete(s.devs, prev)
		}
		s.names[l.Index] = l.Name
		s.devs[l.Name] = l.Index
		s.pending = true
	}
	return false
}

// detachedFlags returns the detached flags the kernel reports for r: a
// device name that no link has.
func (s *ruleSide) detachedFlags(r *rtnl.Rule) uint32 {
	var f uint32
	if _, ok := s.devs[r.IIFName]; !r.IIFName.IsZero() && !ok {
		f |= rtnl.RuleIIFDetached
	}
	if _, ok := s.devs[r.OIFName]; !r.OIFName.IsZero() && !ok {
		f |= rtnl.RuleOIFDetached
	}
	return f
}

// settle sets the detached flags of the rules whose device appeared or
// went, as the kernel's attach_rules and detach_rules do.
func (s *ruleSide) settle(t map[rtnl.RuleKey]rtnl.Rule, fn func(old, cur *rtnl.Rule)) {
	if !s.pending {
		return
	}
	s.pending = false
	const detached = rtnl.RuleIIFDetached | rtnl.RuleOIFDetached
	for k, r := range t {
		if r.IIFName.IsZero() && r.OIFName.IsZero() {
			continue
		}
		if f := s.detachedFlags(&r); r.Flags&detached != f {
			old := r
			r.Flags = r.Flags&^detached | f
			t[k] = r
			fn(&old, &r)
		}
	}
}

func (s *ruleSide) discard() { s.pending = false }

// entry applies a rule notification: a new rule is one more copy (the
// kernel has no replace for rules), a deleted one takes the last copy
// away. Then the goto rules of the family that target the priority of the
// rule added or deleted are resolved again.
func (s *ruleSide) entry(t map[rtnl.RuleKey]rtnl.Rule, r *rtnl.Rule, _ uint16, del bool, fn func(old, cur *rtnl.Rule)) (bool, bool) {
	k := r.Key()
	n := uint8(0)
	for ; n < 255; n++ {
		if _, ok := t[k.WithCopy(n)]; !ok {
			break
		}
	}
	switch {
	case del && n == 0:
		return true, false // not there: nothing changes
	case del:
		c := k.WithCopy(n - 1)
		old := t[c]
		delete(t, c)
		fn(&old, nil)
	default:
		// The copy past 255 would collide: the last one is overwritten, and
		// a verification sees to it.
		c := k.WithCopy(n)
		old, had := t[c]
		t[c] = *r
		if had {
			fn(&old, r)
		} else {
			fn(nil, r)
		}
	}
	resolve(t, r.Family, r.Priority, fn)
	return true, false
}

// resolve sets the unresolved flag of the goto rules of family fam that
// target priority p: set while no rule of the family has that priority.
func resolve(t map[rtnl.RuleKey]rtnl.Rule, fam rtnl.Family, p uint32, fn func(old, cur *rtnl.Rule)) {
	target, gotos := false, false
	for _, r := range t {
		if r.Family != fam {
			continue
		}
		target = target || r.Priority == p
		gotos = gotos || r.Action == rtnl.RuleActionGoto && r.Goto == p
	}
	if !gotos {
		return
	}
	for k, r := range t {
		if r.Family != fam || r.Action != rtnl.RuleActionGoto || r.Goto != p {
			continue
		}
		want := r.Flags | rtnl.RuleUnresolved
		if target {
			want &^= rtnl.RuleUnresolved
		}
		if want != r.Flags {
			old := r
			r.Flags = want
			t[k] = r
			fn(&old, &r)
		}
	}
}

func (*ruleSide) unsure(rtnl.RuleKey) bool                                                    { return false }
func (*ruleSide) reindex(map[rtnl.RuleKey]rtnl.Rule, []rtnl.RuleKey, func(rtnl.RuleKey) bool) {}
func (*ruleSide) awaiting() bool                                                              { return false }

// members lists the copies of group g, copy 0 first.
func (*ruleSide) members(t map[rtnl.RuleKey]rtnl.Rule, g rtnl.RuleKey, buf []rtnl.RuleKey) []rtnl.RuleKey {
	for n := 0; n < 256; n++ {
		k := g.WithCopy(uint8(n))
		if _, ok := t[k]; !ok {
			break
		}
		buf = append(buf, k)
	}
	return buf
}
