package watch

import (
	"fmt"
	"hash/maphash"
	"iter"
)

// store holds a table's entries. Entries live in slots, allocated in
// chunks that never move, and each group of entries (spec.group: the
// routes one notification can change) is a chain of slots in the kernel's
// order, found through one map keyed by the group's 32-bit hash. So a
// route that joins, leaves or changes its group costs one lookup of a
// small, pointer-free map entry (8 bytes: a 64-bit hash would make it 16,
// with the padding, for fewer collisions that cost little), and no
// allocation once the table has
// reached its size. (A map of routes would store each route, 184 bytes,
// more than a Go map keeps inline, in an allocation of its own; a map keyed
// by an 80-byte rtnl.RouteKey costs several times a map keyed by its hash,
// in probing and comparing wide slots.)
//
// Groups whose hashes collide share a chain: every walk of a chain looks
// at the entries of its group only, in their order, so a collision costs
// time, never a wrong answer.
//
// A store without a group function makes each key its own group.
//
// A store whose keys follow from its values (keyOf: a route's key is
// rtnl.Route.Key but for its copy number, which the slot keeps as a tag)
// keeps no keys: an 80-byte RouteKey beside each 184-byte Route would be
// 30% of a route table. Its values must then always be stored under
// their own keys.
type store[K comparable, V any] struct {
	head  map[uint32]int32 // a group's hash → the first slot of its chain
	group func(K) K
	hash  func(K) uint32
	// keyOf, if set, gives the key of the value v whose slot has the tag
	// tagOf(key); keyChunks is nil then. Else keyChunks holds the keys, in chunks
	// parallel to chunks.
	keyOf     func(v *V, tag uint8) K
	tagOf     func(K) uint8
	chunks    [][]slot[V]
	keyChunks [][]K
	free      int32 // the first free slot, chained through next; -1: none
	used      int32 // slots handed out so far (free ones included)
	n         int   // live entries
}

type slot[V any] struct {
	val  V
	next int32 // the next slot of the chain, or of the free list; -1: none
	tag  uint8 // with keyOf: what of the key the value does not tell
	live bool
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
)

func newStore[K comparable, V any](group func(K) K) *store[K, V] {
	seed := maphash.MakeSeed()
	return &store[K, V]{head: make(map[uint32]int32), group: group, free: -1,
		hash: func(k K) uint32 {
			h := maphash.Comparable(seed, k)
			return uint32(h ^ h>>32)
		}}
}

// newDerivedStore is newStore for values that tell their keys (see
// store.keyOf).
func newDerivedStore[K comparable, V any](group func(K) K, keyOf func(v *V, tag uint8) K, tagOf func(K) uint8) *store[K, V] {
	s := newStore[K, V](group)
	s.keyOf, s.tagOf = keyOf, tagOf
	return s
}

// reset empties s, keeping its memory.
func (s *store[K, V]) reset() {
	clear(s.head)
	for _, c := range s.chunks {
		clear(c)
	}
	for _, c := range s.keyChunks {
		clear(c)
	}
	s.free, s.used, s.n = -1, 0, 0
}

func (s *store[K, V]) at(i int32) *slot[V] {
	return &s.chunks[i>>chunkBits][i&(chunkSize-1)]
}

// key returns the key of slot i.
func (s *store[K, V]) key(i int32) K {
	if s.keyOf != nil {
		e := s.at(i)
		return s.keyOf(&e.val, e.tag)
	}
	return s.keyChunks[i>>chunkBits][i&(chunkSize-1)]
}

// checkDerivedKeys, set by the tests, makes a store with keyOf check that
// each value stored has the key it is stored under.
var checkDerivedKeys bool

// setKey gives slot i the key k (with keyOf, the value must have it).
func (s *store[K, V]) setKey(i int32, k K) {
	if s.keyOf != nil {
		e := s.at(i)
		e.tag = s.tagOf(k)
		if checkDerivedKeys && s.keyOf(&e.val, e.tag) != k {
			panic(fmt.Sprintf("watch: a value stored under %v has the key %v", k, s.keyOf(&e.val, e.tag)))
		}
		return
	}
	s.keyChunks[i>>chunkBits][i&(chunkSize-1)] = k
}

func (s *store[K, V]) groupOf(k K) K {
	if s.group == nil {
		return k
	}
	return s.group(k)
}

func (s *store[K, V]) alloc(k K, v *V) int32 {
	i := s.free
	if i >= 0 {
		s.free = s.at(i).next
	} else {
		i = s.used
		s.used++
		if int(i>>chunkBits) == len(s.chunks) {
			s.chunks = append(s.chunks, make([]slot[V], chunkSize))
			if s.keyOf == nil {
				s.keyChunks = append(s.keyChunks, make([]K, chunkSize))
			}
		}
	}
	e := s.at(i)
	e.val, e.next, e.live = *v, -1, true
	s.setKey(i, k)
	s.n++
	return i
}

func (s *store[K, V]) release(i int32) {
	e := s.at(i)
	*e = slot[V]{next: s.free}
	if s.keyOf == nil {
		var zero K
		s.setKey(i, zero)
	}
	s.free = i
	s.n--
}

// in reports whether slot i holds an entry of group g.
func (s *store[K, V]) in(i int32, g K) bool { return s.groupOf(s.key(i)) == g }

// find returns the slot of k and the slot before it in the chain of k's
// group g (-1: first), or -1 and the chain's last slot (-1: no chain).
func (s *store[K, V]) find(h uint32, k K) (i, prev int32) {
	i, ok := s.head[h]
	if !ok {
		return -1, -1
	}
	prev = -1
	for i >= 0 {
		if s.key(i) == k {
			return i, prev
		}
		prev, i = i, s.at(i).next
	}
	return -1, prev
}

// findFirst is find that also returns the first slot of k's group g in
// the chain (-1: none) when k is not there, in one walk that derives each
// slot's key once.
func (s *store[K, V]) findFirst(h uint32, k, g K) (i, prev, first int32) {
	i, ok := s.head[h]
	if !ok {
		return -1, -1, -1
	}
	prev, first = -1, -1
	for i >= 0 {
		ki := s.key(i)
		if ki == k {
			return i, prev, first
		}
		if first < 0 && s.groupOf(ki) == g {
			first = i
		}
		prev, i = i, s.at(i).next
	}
	return -1, prev, first
}

// firstOf returns the first slot of group g in chain h, or -1.
func (s *store[K, V]) firstOf(h uint32, g K) int32 {
	i, ok := s.head[h]
	if !ok {
		return -1
	}
	for ; i >= 0 && !s.in(i, g); i = s.at(i).next {
	}
	return i
}

// Len returns the number of entries.
func (s *store[K, V]) Len() int { return s.n }

// get returns the entry under k.
func (s *store[K, V]) get(k K) (V, bool) {
	if i, _ := s.find(s.hash(s.groupOf(k)), k); i >= 0 {
		return s.at(i).val, true
	}
	var zero V
	return zero, false
}

// val returns the entry under k, or the zero V.
func (s *store[K, V]) val(k K) V {
	v, _ := s.get(k)
	return v
}

// ref returns the entry under k in place, valid until it is removed; nil
// if there is none.
func (s *store[K, V]) ref(k K) *V {
	if i, _ := s.find(s.hash(s.groupOf(k)), k); i >= 0 {
		return &s.at(i).val
	}
	return nil
}

// has reports whether there is an entry under k.
func (s *store[K, V]) has(k K) bool {
	i, _ := s.find(s.hash(s.groupOf(k)), k)
	return i >= 0
}

// set stores v under k: in place if k is there, else at the end of its
// group.
func (s *store[K, V]) set(k K, v *V) {
	h := s.hash(s.groupOf(k))
	i, last := s.find(h, k)
	if i >= 0 {
		s.at(i).val = *v
		if checkDerivedKeys {
			s.setKey(i, k)
		}
		return
	}
	s.link(h, s.alloc(k, v), last)
}

// put stores v under k at the end of its group if k is not there and
// returns its slot and true; if k is there it changes nothing and returns
// k's slot and false. One lookup.
func (s *store[K, V]) put(k K, v *V) (int32, bool) {
	h := s.hash(s.groupOf(k))
	i, last := s.find(h, k)
	if i >= 0 {
		return i, false
	}
	i = s.alloc(k, v)
	s.link(h, i, last)
	return i, true
}

// link puts slot i after slot prev of chain h (-1: at the front).
func (s *store[K, V]) link(h uint32, i, prev int32) {
	if prev < 0 {
		if first, ok := s.head[h]; ok {
			s.at(i).next = first
		}
		s.head[h] = i
		return
	}
	p := s.at(prev)
	s.at(i).next = p.next
	p.next = i
}

// unlink takes slot i, after slot prev (-1: first), out of chain h, which
// it leaves non-empty or not there.
func (s *store[K, V]) unlink(h uint32, i, prev int32) {
	e := s.at(i)
	switch {
	case prev >= 0:
		s.at(prev).next = e.next
	case e.next >= 0:
		s.head[h] = e.next
	default:
		delete(s.head, h)
	}
	e.next = -1
}

// insert adds v under k, which must not be there, at position pos of its
// group (0 first; -1 or past the end: last).
func (s *store[K, V]) insert(k K, v *V, pos int) {
	g := s.groupOf(k)
	h := s.hash(g)
	i := s.alloc(k, v)
	if pos == 0 {
		s.link(h, i, -1)
		return
	}
	// After the entry of g at pos-1, or the chain's last.
	after, n := int32(-1), 0
	for j, ok := s.head[h]; ok && j >= 0; j = s.at(j).next {
		after = j
		if s.in(j, g) {
			if n++; n == pos {
				break
			}
		}
	}
	s.link(h, i, after)
}

// add stores v under k, which must not be there, as its group's first
// entry if front, else its last; it reports whether the group was empty.
// It is insert for the hot path: one walk of the chain, if any.
func (s *store[K, V]) add(k K, v *V, front bool) (alone bool) {
	g := s.groupOf(k)
	h := s.hash(g)
	first, ok := s.head[h]
	i := s.alloc(k, v)
	if !ok {
		s.head[h] = i
		return true
	}
	alone = true
	last := first
	for j := first; j >= 0; j = s.at(j).next {
		last = j
		if alone && s.in(j, g) {
			alone = false
		}
	}
	if front {
		s.link(h, i, -1)
	} else {
		s.link(h, i, last)
	}
	return alone
}

// del removes the entry under k and returns its position in its group,
// or -1 if there is none.
func (s *store[K, V]) del(k K) int {
	g := s.groupOf(k)
	h := s.hash(g)
	first, ok := s.head[h]
	if !ok {
		return -1
	}
	prev, pos := int32(-1), 0
	for i := first; i >= 0; i = s.at(i).next {
		if s.key(i) == k {
			s.unlink(h, i, prev)
			s.release(i)
			return pos
		}
		if s.in(i, g) {
			pos++
		}
		prev = i
	}
	return -1
}

// rename gives the entry under old the key k, in old's place in its group,
// if k is not taken and belongs to the same group; else it reports false.
func (s *store[K, V]) rename(old, k K) bool {
	g := s.groupOf(old)
	if s.groupOf(k) != g {
		return false
	}
	h := s.hash(g)
	i, _ := s.find(h, old)
	if i < 0 {
		return false
	}
	if j, _ := s.find(h, k); j >= 0 {
		return false
	}
	s.setKey(i, k)
	return true
}

// move stores v under k in place of the entry under old, at old's
// position in its group, if k is not taken and belongs to the same group
// (or is old); else it reports false.
func (s *store[K, V]) move(old, k K, v *V) bool {
	g := s.groupOf(old)
	if s.groupOf(k) != g {
		return false
	}
	h := s.hash(g)
	i, _ := s.find(h, old)
	if i < 0 {
		return false
	}
	if k != old {
		if j, _ := s.find(h, k); j >= 0 {
			return false
		}
	}
	s.at(i).val = *v
	s.setKey(i, k)
	return true
}

// first returns the key of group g's first entry.
func (s *store[K, V]) first(g K) (K, bool) {
	if i := s.firstOf(s.hash(g), g); i >= 0 {
		return s.key(i), true
	}
	var zero K
	return zero, false
}

// keys appends the keys of group g to buf, in order.
func (s *store[K, V]) keys(g K, buf []K) []K {
	i, ok := s.head[s.hash(g)]
	if !ok {
		return buf
	}
	for ; i >= 0; i = s.at(i).next {
		if k := s.key(i); s.groupOf(k) == g {
			buf = append(buf, k)
		}
	}
	return buf
}

// order puts the entries of keys first in their groups, in keys's order;
// the other entries of those groups follow, in the order they had. Keys
// that are not in s, or that came before in keys, are skipped.
func (s *store[K, V]) order(keys []K) {
	if len(keys) == 0 {
		return
	}
	tails := make(map[K]int32)     // group → the last slot placed so far
	placed := make(map[int32]bool) // the slots placed
	for _, k := range keys {
		g := s.groupOf(k)
		h := s.hash(g)
		i, prev := s.find(h, k)
		if i < 0 || placed[i] {
			continue
		}
		placed[i] = true
		tail, ok := tails[g]
		if !ok {
			tail = -1
		}
		if prev != tail {
			s.unlink(h, i, prev)
			s.link(h, i, tail)
		}
		tails[g] = i
	}
}

// all yields the entries, in the order of their slots (deterministic for a
// given history, though no order a user can rely on).
func (s *store[K, V]) all() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		for i := int32(0); i < s.used; i++ {
			e := s.at(i)
			if e.live && !yield(s.key(i), &e.val) {
				return
			}
		}
	}
}

// toMap copies the entries into a map.
func (s *store[K, V]) toMap() map[K]V {
	m := make(map[K]V, s.n)
	for k, v := range s.all() {
		m[k] = *v
	}
	return m
}
