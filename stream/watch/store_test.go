package watch

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// checkStore fails unless s is consistent: every live slot is in exactly
// one chain, its group's; the chains hold no free slot; the count of
// entries and the free list add up.
func checkStore[K comparable, V any](t interface {
	Helper()
	Fatalf(string, ...any)
	Fatal(...any)
}, s *store[K, V]) {
	t.Helper()
	seen := make(map[int32]bool)
	for g, h := range s.head {
		if h < 0 {
			t.Fatalf("group %v has head %d", g, h)
		}
		for i := h; i >= 0; i = s.at(i).next {
			e := s.at(i)
			switch {
			case !e.live:
				t.Fatalf("group %v chains free slot %d", g, i)
			case seen[i]:
				t.Fatalf("slot %d chained twice (group %v)", i, g)
			case s.hash(s.groupOf(s.key(i))) != g:
				t.Fatalf("slot %d (%v) chained under hash %#x, its group's is %#x", i, s.key(i), g, s.hash(s.groupOf(s.key(i))))
			}
			seen[i] = true
		}
	}
	if len(seen) != s.n {
		t.Fatalf("chains hold %d entries, the count is %d", len(seen), s.n)
	}
	live, free := 0, 0
	for i := int32(0); i < s.used; i++ {
		if s.at(i).live {
			live++
		}
	}
	for i := s.free; i >= 0; i = s.at(i).next {
		if s.at(i).live {
			t.Fatalf("free list holds live slot %d", i)
		}
		if free++; free > int(s.used) {
			t.Fatal("free list loops")
		}
	}
	if live != s.n || live+free != int(s.used) {
		t.Fatalf("%d live and %d free slots of %d used, count %d", live, free, s.used, s.n)
	}
}

// A key of the tests: its group is its tens.
type tk int

func tkGroup(k tk) tk { return k / 10 * 10 }

func keysOf(s *store[tk, string], g tk) []tk { return s.keys(g, nil) }

// hashes are the stores the tests run on: with the real hash, and with one
// that makes groups collide (three chains for all), which only costs time.
var hashes = []struct {
	name string
	hash func(tk) uint32
}{
	{"maphash", nil},
	{"colliding", func(k tk) uint32 { return uint32(k/10) % 3 }},
}

func newTestStore(hash func(tk) uint32) *store[tk, string] {
	s := newStore[tk, string](tkGroup)
	if hash != nil {
		s.hash = hash
	}
	return s
}

// Each group keeps its order through inserts at any position, removals,
// renames and reordering.
func TestStoreKeepsEachGroupsOrder(t *testing.T) {
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) { testStoreOrder(t, newTestStore(h.hash)) })
	}
}

func testStoreOrder(t *testing.T, s *store[tk, string]) {
	v := "x"
	s.insert(12, &v, -1) // [12]
	s.insert(11, &v, 0)  // [11 12]
	s.insert(14, &v, -1) // [11 12 14]
	s.insert(13, &v, 2)  // [11 12 13 14]
	s.insert(10, &v, 0)  // [10 11 12 13 14]
	s.insert(15, &v, 99) // [10 11 12 13 14 15]
	s.set(21, &v)        // another group
	if got := keysOf(s, 10); !slices.Equal(got, []tk{10, 11, 12, 13, 14, 15}) {
		t.Fatalf("order %v", got)
	}
	if i := s.del(12); i != 2 {
		t.Errorf("removed at %d, want 2", i)
	}
	if i := s.del(10); i != 0 {
		t.Errorf("removed at %d, want 0", i)
	}
	if i := s.del(10); i != -1 {
		t.Errorf("removed a missing key at %d", i)
	}
	if !s.rename(13, 17) || s.rename(19, 18) || s.rename(11, 14) || s.rename(11, 25) {
		t.Error("rename: a missing key, a taken key or another group's key renamed, or a free one not")
	}
	if got := keysOf(s, 10); !slices.Equal(got, []tk{11, 17, 14, 15}) {
		t.Errorf("order %v, want [11 17 14 15]", got)
	}
	if k, ok := s.first(10); !ok || k != 11 {
		t.Errorf("first %v %v", k, ok)
	}
	s.order([]tk{15, 21, 11, 15, 99})
	if got := keysOf(s, 10); !slices.Equal(got, []tk{15, 11, 17, 14}) {
		t.Errorf("after order: %v, want [15 11 17 14]", got)
	}
	checkStore(t, s)
	for _, k := range []tk{11, 17, 14, 15, 21} {
		s.del(k)
	}
	if len(s.head) != 0 || s.Len() != 0 {
		t.Errorf("left %v, %d entries", s.head, s.Len())
	}
	checkStore(t, s)
}

// A store of steady size allocates nothing: freed slots serve the next
// entries.
func TestStoreSteadySizeAllocatesNothing(t *testing.T) {
	s := newStore[tk, string](tkGroup)
	v := "x"
	for k := range tk(3000) {
		s.set(k, &v)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for k := range tk(100) {
			s.del(k * 7)
		}
		for k := range tk(100) {
			s.add(k*7, &v, k%2 == 0)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round", allocs)
	}
	checkStore(t, s)
}

// Random operations on a store and on a plain model (a map of groups, each
// an ordered list) agree.
func TestStoreMatchesAModel(t *testing.T) {
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) { rapid.Check(t, func(t *rapid.T) { testStoreModel(t, newTestStore(h.hash)) }) })
	}
}

func testStoreModel(t *rapid.T, s *store[tk, string]) {
	{
		model := map[tk][]tk{} // group → keys in order
		vals := map[tk]string{}
		key := rapid.Custom(func(t *rapid.T) tk { return tk(rapid.IntRange(0, 59).Draw(t, "key")) })
		pos := func(g tk, k tk) int { return slices.Index(model[g], k) }
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			k := key.Draw(t, "k")
			g := tkGroup(k)
			v := rapid.StringN(0, 3, -1).Draw(t, "v")
			switch op := rapid.IntRange(0, 6).Draw(t, "op"); op {
			case 0: // set
				s.set(k, &v)
				if pos(g, k) < 0 {
					model[g] = append(model[g], k)
				}
				vals[k] = v
			case 1: // insert at
				if pos(g, k) >= 0 {
					continue
				}
				at := rapid.IntRange(-1, 6).Draw(t, "at")
				s.insert(k, &v, at)
				if at < 0 || at > len(model[g]) {
					at = len(model[g])
				}
				model[g] = slices.Insert(model[g], at, k)
				vals[k] = v
			case 2: // add front or back
				if pos(g, k) >= 0 {
					continue
				}
				front := rapid.Bool().Draw(t, "front")
				alone := s.add(k, &v, front)
				if alone != (len(model[g]) == 0) {
					t.Fatalf("add %v: alone %v, model's group %v", k, alone, model[g])
				}
				if front {
					model[g] = slices.Insert(model[g], 0, k)
				} else {
					model[g] = append(model[g], k)
				}
				vals[k] = v
			case 3: // del
				if got, want := s.del(k), pos(g, k); got != want {
					t.Fatalf("del %v at %d, want %d", k, got, want)
				}
				if i := pos(g, k); i >= 0 {
					model[g] = slices.Delete(model[g], i, i+1)
					if len(model[g]) == 0 {
						delete(model, g)
					}
					delete(vals, k)
				}
			case 4: // rename
				to := key.Draw(t, "to")
				want := pos(g, k) >= 0 && tkGroup(to) == g && pos(g, to) < 0
				if got := s.rename(k, to); got != want {
					t.Fatalf("rename %v → %v: %v, want %v", k, to, got, want)
				}
				if want {
					model[g][pos(g, k)] = to
					vals[to] = vals[k]
					delete(vals, k)
				}
			case 5: // order
				keys := rapid.SliceOfN(key, 0, 8).Draw(t, "keys")
				s.order(keys)
				placed := map[tk]int{}
				for _, k := range keys {
					g := tkGroup(k)
					i := pos(g, k)
					if i < 0 || i < placed[g] {
						continue // missing, or placed already
					}
					model[g] = slices.Insert(slices.Delete(model[g], i, i+1), placed[g], k)
					placed[g]++
				}
			case 6: // reset
				if rapid.IntRange(0, 9).Draw(t, "reset") == 0 {
					s.reset()
					clear(model)
					clear(vals)
				}
			}
			checkStore(t, s)
			if s.Len() != len(vals) {
				t.Fatalf("%d entries, model %d", s.Len(), len(vals))
			}
			for g, keys := range model {
				if got := s.keys(g, nil); !slices.Equal(got, keys) {
					t.Fatalf("group %v: %v, model %v", g, got, keys)
				}
			}
			for k, v := range vals {
				if got, ok := s.get(k); !ok || got != v {
					t.Fatalf("get %v: %q %v, model %q", k, got, ok, v)
				}
			}
			n := 0
			for k, v := range s.all() {
				if vals[k] != *v {
					t.Fatalf("all: %v %q, model %q", k, *v, vals[k])
				}
				n++
			}
			if n != len(vals) {
				t.Fatalf("all yields %d entries, model %d", n, len(vals))
			}
		}
	}
}
