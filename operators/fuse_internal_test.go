package operators

import (
	"testing"

	"github.com/nlrx/nlrx/stream"
)

// TestFusionWiring: which operators take selections from the one upstream,
// so that the tests comparing fused and unfused chains compare something.
func TestFusionWiring(t *testing.T) {
	user := stream.ObserverFuncs[int]{}
	pred := func(int) bool { return true }
	m := &mapper[int, int]{fn: func(v int) int { return v }, down: user}
	cases := []struct {
		name string
		o    stream.Observer[int]
		want bool
	}{
		{"user Observer", user, false},
		{"Map", m, true},
		{"Filter", &filter[int]{pred: pred, down: user}, true},
		{"Decode", &decoder[int, int]{down: user}, true},
		{"Reduce", &reducer[int, int]{down: user}, true},
		{"Take before a user Observer", &take[int]{left: 1, down: user, sdown: selOf[int](user)}, false},
		{"Take before Map", &take[int]{left: 1, down: m, sdown: selOf[int](m)}, true},
		{"Skip before Map", &skip[int]{left: 1, down: m, sdown: selOf[int](m)}, true},
		{"Tap before Map", &tap[int]{down: m, sdown: selOf[int](m)}, true},
		{"TakeWhile before Map", &takeWhile[int]{down: m, sdown: selOf[int](m)}, true},
		{"MapBatch", &mapBatch[int, int]{down: user}, false},
	}
	for _, c := range cases {
		if got := selOf(c.o) != nil; got != c.want {
			t.Errorf("%s takes selections: %v, want %v", c.name, got, c.want)
		}
	}
	var f filter[int]
	f.init(pred, m)
	if f.wdown == nil {
		t.Error("Filter before Map does not run its predicate in Map's loop")
	}
	f = filter[int]{}
	f.init(pred, &take[int]{left: 1, down: m, sdown: selOf[int](m)})
	if f.sdown == nil || f.wdown != nil {
		t.Error("Filter before Take before Map does not pass selections")
	}
}
