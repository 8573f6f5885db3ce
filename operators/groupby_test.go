package operators_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

func mod3(v int) int { return v % 3 }

func TestGroupByRunsAPipelinePerKey(t *testing.T) {
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			s := operators.GroupBy(sh.make(seq(30), nil, nil), mod3, func(k int, g stream.Observable[int]) stream.Observable[string] {
				sum := operators.Reduce(g, 0, func(a, v int) int { return a + v })
				return operators.Map(sum, func(v int) string { return fmt.Sprintf("%d:%d", k, v) })
			})
			got, err := stream.Collect(testContext(t), s)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if fmt.Sprint(got) != "[0:135 1:145 2:155]" {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestGroupByDeliversInlineInSourceOrder(t *testing.T) {
	s := operators.GroupBy(stream.FromSlice(seq(9)), mod3, func(k int, g stream.Observable[int]) stream.Observable[int] {
		return operators.Map(g, func(v int) int { return 10*k + v })
	})
	if got, err := trace(testContext(t), s); err != nil || got != "[0 11 22 3 14 25 6 17 28]" {
		t.Fatalf("got %s %v", got, err)
	}
}

func TestGroupByGapReachesEveryGroup(t *testing.T) {
	s := operators.GroupBy(emitter([]int{0, 1, -2, 3}, nil, nil, 1), func(v int) int { return v % 2 }, func(k int, g stream.Observable[int]) stream.Observable[int] {
		return g
	})
	if got, err := trace(testContext(t), s); err != nil || got != "[0 1 gap gap 3]" {
		t.Fatalf("got %s %v", got, err)
	}
}

func TestGroupByBoundsTheNumberOfGroups(t *testing.T) {
	s := operators.GroupBy(stream.FromSlice(seq(10)), func(v int) int { return v }, func(_ int, g stream.Observable[int]) stream.Observable[int] {
		return g
	}, operators.MaxGroups(4))
	got, err := trace(testContext(t), s)
	if !errors.Is(err, operators.ErrTooManyGroups) || got != "[0 1 2 3]" {
		t.Fatalf("got %s %v", got, err)
	}
}

func TestGroupByGroupErrorEndsTheStream(t *testing.T) {
	var produced atomic.Int64
	s := operators.GroupBy(endless(&produced), mod3, func(k int, g stream.Observable[int]) stream.Observable[int] {
		if k == 2 {
			return operators.Decode(g, func(int) (int, error) { return 0, errBoom })
		}
		return g
	})
	if _, err := trace(testContext(t), s); !errors.Is(err, errBoom) {
		t.Fatalf("got %v", err)
	}
	if produced.Load() > 10 {
		t.Fatalf("source made %d items after the group failed at item 3", produced.Load())
	}
}

func TestGroupByStopsWhenTheSubscriberStops(t *testing.T) {
	var produced atomic.Int64
	r := newRecorder[int]()
	r.stopAfter = 4
	s := operators.GroupBy(endless(&produced), mod3, func(_ int, g stream.Observable[int]) stream.Observable[int] { return g })
	if err := s.Subscribe(testContext(t), r); err != nil {
		t.Fatal(err)
	}
	if produced.Load() > 5 {
		t.Fatalf("source made %d items for a subscriber that stopped at 4", produced.Load())
	}
}

func TestGroupByGroupThatEndsEarlyDropsItsLaterItems(t *testing.T) {
	s := operators.GroupBy(stream.FromSlice(seq(9)), mod3, func(_ int, g stream.Observable[int]) stream.Observable[int] {
		return operators.Take(g, 1)
	})
	got, err := stream.Collect(testContext(t), s)
	sort.Ints(got)
	if err != nil || fmt.Sprint(got) != "[0 1 2]" {
		t.Fatalf("got %v %v", got, err)
	}
}

func TestGroupBySourceErrorEndsTheGroups(t *testing.T) {
	s := operators.GroupBy(emitter(seq(6), errBoom, nil, 2), mod3, func(_ int, g stream.Observable[int]) stream.Observable[int] {
		return operators.Reduce(g, 0, func(a, v int) int { return a + v })
	})
	got, err := trace(testContext(t), s)
	if !errors.Is(err, errBoom) || got != "[]" {
		t.Fatalf("got %s %v: groups must not complete on a source error", got, err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := trace(ctx, s); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
