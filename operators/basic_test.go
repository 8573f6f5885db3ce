package operators_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/operators/internal/fakeclock"
	"github.com/nlrx/nlrx/stream"
)

func even(v int) bool { return v%2 == 0 }

// asInts turns any stream into one of ints (its items' fmt form parsed, or
// a slice's length), so that the type-changing operators fit one table.
func lens[T any](s stream.Observable[[]T]) stream.Observable[int] {
	return operators.Map(s, func(b []T) int { return len(b) })
}

// opCases are operators applied to a source of ints, with their expected
// trace over inputs with a gap (-2 stands for a Gap of 2 items).
var opCases = []struct {
	name string
	op   func(stream.Observable[int]) stream.Observable[int]
	in   []int
	want string
}{
	{"Filter", func(s stream.Observable[int]) stream.Observable[int] { return operators.Filter(s, even) },
		[]int{0, 1, 2, -2, 3, 4}, "[0 2 gap 4]"},
	{"Map", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Map(s, func(v int) int { return v * 10 })
	}, []int{0, 1, -2, 2}, "[0 10 gap 20]"},
	{"MapBatch", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.MapBatch(s, func(dst, src []int) []int {
			for _, v := range src {
				if v%2 == 0 {
					dst = append(dst, v*10, v*10+1) // filters and expands
				}
			}
			return dst
		})
	}, []int{0, 1, 2, -2, 3, 4}, "[0 1 20 21 gap 40 41]"},
	{"Decode", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Decode(s, func(v int) (int, error) { return v + 1, nil })
	}, []int{0, 1, -2, 2}, "[1 2 gap 3]"},
	{"Tap", func(s stream.Observable[int]) stream.Observable[int] { return operators.Tap(s, func(int) {}) },
		[]int{0, -2, 1}, "[0 gap 1]"},
	{"OnGap", func(s stream.Observable[int]) stream.Observable[int] { return operators.OnGap(s, nil) },
		[]int{0, -2, 1}, "[0 1]"},
	{"Take", func(s stream.Observable[int]) stream.Observable[int] { return operators.Take(s, 3) },
		[]int{0, -2, 1, 2, 3, 4}, "[0 gap 1 2]"},
	{"TakeWhile", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.TakeWhile(s, func(v int) bool { return v < 3 })
	}, []int{0, 1, -2, 2, 3, 1}, "[0 1 gap 2]"},
	{"TakeUntil", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.TakeUntil(s, func(v int) bool { return v == 3 })
	}, []int{0, 1, -2, 2, 3, 1}, "[0 1 gap 2 3]"},
	{"Skip", func(s stream.Observable[int]) stream.Observable[int] { return operators.Skip(s, 2) },
		[]int{0, -2, 1, 2, 3}, "[gap 2 3]"},
	{"Distinct", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Distinct(s, func(v int) int { return v % 3 })
	}, []int{0, 1, 3, 4, 2, -2, 5}, "[0 1 2 gap]"},
	{"DistinctUntilChanged", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.DistinctUntilChanged(s, func(v int) int { return v })
	}, []int{1, 1, 2, 2, 2, -2, 2, 3, 3}, "[1 2 gap 2 3]"},
	{"Scan", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Scan(s, 100, func(acc, v int) int { return acc + v })
	}, []int{1, 2, -2, 3}, "[101 103 gap 106]"},
	{"Reduce", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Reduce(s, 100, func(acc, v int) int { return acc + v })
	}, []int{1, 2, -2, 3}, "[gap 106]"},
	{"BufferCount", func(s stream.Observable[int]) stream.Observable[int] { return lens(operators.BufferCount(s, 2)) },
		[]int{0, 1, 2, -2, 3, 4, 5, 6, 7}, "[2 1 gap 2 2 1]"},
	{"BufferTime", func(s stream.Observable[int]) stream.Observable[int] {
		return lens(operators.BufferTime(s, time.Second, 3, operators.WithClock(fakeclock.New(epoch))))
	}, []int{0, 1, 2, 3, -2, 4}, "[3 1 gap 1]"},
	{"Debounce", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Debounce(s, time.Second, operators.WithClock(fakeclock.New(epoch)))
	}, []int{0, 1, -2, 2, 3}, "[1 gap 3]"},
	{"Throttle", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Throttle(s, time.Second, operators.WithClock(fakeclock.New(epoch)))
	}, []int{5, 1, -2, 2}, "[5 gap]"},
	{"Sample", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Sample(s, time.Second, operators.WithClock(fakeclock.New(epoch)))
	}, []int{0, 1, -2, 2, 3}, "[gap 3]"},
	{"Timeout", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Timeout(s, time.Second, operators.WithClock(fakeclock.New(epoch)))
	}, []int{0, -2, 1}, "[0 gap 1]"},
	{"Retry", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.Retry(s, operators.RetryPolicy{MaxAttempts: 1})
	}, []int{0, -2, 1}, "[0 gap 1]"},
	{"Merge", func(s stream.Observable[int]) stream.Observable[int] { return operators.Merge(s, stream.Empty[int]()) },
		[]int{0, -2, 1}, "[0 gap 1]"},
	{"Concat", func(s stream.Observable[int]) stream.Observable[int] { return operators.Concat(s, stream.Just(9)) },
		[]int{0, -2, 1}, "[0 gap 1 9]"},
	{"FlatMap", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.FlatMap(s, func(v int) stream.Observable[int] { return stream.Just(v, v) })
	}, []int{0, -2, 1}, "[0 0 gap 1 1]"},
	{"FlatMapConcurrent", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.FlatMap(s, func(v int) stream.Observable[int] { return stream.Just(v) }, operators.Concurrency(1))
	}, []int{0, -2, 1}, "[0 gap 1]"},
	{"GroupBy", func(s stream.Observable[int]) stream.Observable[int] {
		return operators.GroupBy(s, func(v int) int { return 0 }, func(_ int, g stream.Observable[int]) stream.Observable[int] { return g })
	}, []int{0, -2, 1}, "[0 gap 1]"},
	{"Share", func(s stream.Observable[int]) stream.Observable[int] { return operators.Share(s).Observable() },
		[]int{0, -2, 1}, "[0 gap 1]"},
}

func TestOperatorsOverEverySourceShape(t *testing.T) {
	for _, c := range opCases {
		for _, sh := range shapes {
			t.Run(c.name+"/"+sh.name, func(t *testing.T) {
				got, err := trace(testContext(t), c.op(sh.make(c.in, nil, nil)))
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Fatalf("got %s, want %s", got, c.want)
				}
			})
		}
	}
}

func TestOperatorsOnAnEmptySourceComplete(t *testing.T) {
	for _, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := trace(testContext(t), c.op(stream.Empty[int]()))
			if err != nil {
				t.Fatal(err)
			}
			want := "[]"
			if c.name == "Reduce" {
				want = "[100]" // the seed
			}
			if c.name == "Concat" {
				want = "[9]"
			}
			if got != want {
				t.Fatalf("got %s, want %s", got, want)
			}
		})
	}
}

func TestOperatorsPassASourceErrorOn(t *testing.T) {
	for _, c := range opCases {
		for _, sh := range shapes {
			t.Run(c.name+"/"+sh.name, func(t *testing.T) {
				_, err := trace(testContext(t), c.op(sh.make([]int{0, 1}, errBoom, nil)))
				if !errors.Is(err, errBoom) {
					t.Fatalf("got %v, want the source's error", err)
				}
			})
		}
	}
}

func TestOperatorsStopTheSourceWhenTheSubscriberStops(t *testing.T) {
	for _, c := range opCases {
		switch c.name {
		case "Reduce", "Debounce", "Sample", "BufferTime", "OnGap", "Skip":
			continue // nothing reaches the subscriber before the end (or the first items are skipped): see the cancel test
		}
		t.Run(c.name, func(t *testing.T) {
			var produced atomic.Int64
			r := newRecorder[int]()
			r.stopAfter = 1
			s := c.op(endless(&produced))
			if c.name == "Distinct" {
				s = c.op(operators.Map(endless(&produced), func(v int) int { return v * 3 }))
			}
			if err := s.Subscribe(testContext(t), r); err != nil {
				t.Fatal(err)
			}
			if p := produced.Load(); p > 1000 {
				t.Fatalf("source made %d items for a subscriber that stopped at its first", p)
			}
		})
	}
}

func TestOperatorsStopTheSourceOnCancel(t *testing.T) {
	for _, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			var produced atomic.Int64
			src := operators.Tap(endless(&produced), func(v int) {
				if v == 100 {
					cancel()
				}
			})
			_, err := trace(ctx, c.op(src))
			switch c.name {
			case "Take", "TakeWhile", "TakeUntil":
				if err != nil {
					t.Fatalf("got %v; it completes before the cancel", err)
				}
			default:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v, want context.Canceled", err)
				}
			}
			if p := produced.Load(); p > 102 {
				t.Fatalf("source made %d items, cancelled at 101", p)
			}
		})
	}
}

func TestFilterAndMapKeepBatchesWithinBatchSize(t *testing.T) {
	var sizes []int
	o := stream.ObserverFuncs[string]{OnBatch: func(vs []string) error { sizes = append(sizes, len(vs)); return nil }}
	s := operators.Map(operators.Filter(stream.FromSlice(seq(3*stream.BatchSize)), func(int) bool { return true }), strconv.Itoa)
	if err := s.Subscribe(testContext(t), o); err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		if n > stream.BatchSize {
			t.Fatalf("batch of %d", n)
		}
	}
	big := make([]int, 3*stream.BatchSize)
	sizes = nil
	p := stream.NewPublisher[int]() // a producer pushing one oversized batch
	done := async(t, testContext(t), operators.Map(operators.Filter(p.Observable(), func(int) bool { return true }), strconv.Itoa), stream.Observer[string](o))
	if err := p.WaitSubscribers(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	p.PushBatch(big)
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != fmt.Sprint([]int{stream.BatchSize, stream.BatchSize, stream.BatchSize}) {
		t.Fatalf("batch sizes %v", sizes)
	}
}

func TestDecodeFailsOrDropsInvalidItems(t *testing.T) {
	dec := func(v int) (int, error) {
		if v == 2 {
			return 0, strconv.ErrSyntax
		}
		return v, nil
	}
	for _, sh := range shapes {
		got, err := trace(testContext(t), operators.Decode(sh.make(seq(5), nil, nil), dec))
		if !errors.Is(err, strconv.ErrSyntax) || got != "[0 1]" {
			t.Fatalf("%s: got %s, %v; want [0 1] then the decoder's error", sh.name, got, err)
		}
		var dropped atomic.Uint64
		got, err = trace(testContext(t), operators.Decode(sh.make(seq(5), nil, nil), dec, operators.DropInvalid(&dropped)))
		if err != nil || got != "[0 1 3 4]" || dropped.Load() != 1 {
			t.Fatalf("%s: got %s, %v, %d dropped", sh.name, got, err, dropped.Load())
		}
	}
}

func TestTakeZeroDoesNotSubscribe(t *testing.T) {
	subscribed := false
	src := stream.Create(func(context.Context, stream.Observer[int]) error { subscribed = true; return nil })
	if got, err := trace(testContext(t), operators.Take(src, 0)); err != nil || got != "[]" || subscribed {
		t.Fatalf("got %s %v, subscribed %v", got, err, subscribed)
	}
}

func TestReduceEmitsNothingOnError(t *testing.T) {
	got, err := trace(testContext(t), operators.Reduce(emitter(seq(5), errBoom, nil, 1), 0, func(a, v int) int { return a + v }))
	if !errors.Is(err, errBoom) || got != "[]" {
		t.Fatalf("got %s %v", got, err)
	}
}

func TestNilFunctionsFailTheStream(t *testing.T) {
	src := stream.Just(1)
	for name, s := range map[string]stream.Observable[int]{
		"Filter":               operators.Filter(src, nil),
		"Map":                  operators.Map[int, int](src, nil),
		"Decode":               operators.Decode[int, int](src, nil),
		"Tap":                  operators.Tap(src, nil),
		"TakeWhile":            operators.TakeWhile(src, nil),
		"TakeUntil":            operators.TakeUntil(src, nil),
		"Distinct":             operators.Distinct[int, int](src, nil),
		"DistinctUntilChanged": operators.DistinctUntilChanged[int, int](src, nil),
		"Scan":                 operators.Scan[int, int](src, 0, nil),
		"Reduce":               operators.Reduce[int, int](src, 0, nil),
		"FlatMap":              operators.FlatMap[int, int](src, nil),
		"MapBatch":             operators.MapBatch[int, int](src, nil),
		"GroupBy":              operators.GroupBy[int, int, int](src, nil, nil),
		"FilterGroupBy":        operators.FilterGroupBy[int](src, nil),
	} {
		if _, err := trace(testContext(t), s); !errors.Is(err, operators.ErrNilFunc) {
			t.Errorf("%s: got %v, want ErrNilFunc", name, err)
		}
	}
}

func TestMapBatchSeesBoundedBatchesAndKeepsItsGrownBuffer(t *testing.T) {
	var sizes []int
	var caps []int
	expand := func(dst []int, src []int) []int {
		sizes = append(sizes, len(src))
		caps = append(caps, cap(dst))
		for _, v := range src {
			dst = append(dst, v, v) // twice as many outputs as inputs
		}
		return dst
	}
	got, err := stream.Collect(testContext(t), operators.MapBatch(stream.FromSlice(seq(3*stream.BatchSize)), expand))
	if err != nil || len(got) != 6*stream.BatchSize {
		t.Fatalf("%d items, %v", len(got), err)
	}
	for _, n := range sizes {
		if n > stream.BatchSize {
			t.Fatalf("fn got a batch of %d", n)
		}
	}
	if caps[len(caps)-1] < 2*stream.BatchSize {
		t.Fatalf("the buffer fn grew was not kept: caps %v", caps)
	}
}
