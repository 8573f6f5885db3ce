package operators_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

func TestMergeKeepsEachSourcesOrderAndEmitsEverything(t *testing.T) {
	const k, n = 8, 5000
	var srcs []stream.Observable[int]
	for i := range k {
		items := make([]int, n)
		for j := range items {
			items[j] = i*n + j
		}
		if i%2 == 0 {
			srcs = append(srcs, stream.FromSlice(items))
		} else {
			srcs = append(srcs, emitter(items, nil, nil, 1))
		}
	}
	got, err := stream.Collect(testContext(t), operators.Merge(srcs...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != k*n {
		t.Fatalf("got %d items, want %d", len(got), k*n)
	}
	last := make([]int, k)
	for i := range last {
		last[i] = -1
	}
	for _, v := range got {
		if v <= last[v/n] {
			t.Fatalf("source %d out of order", v/n)
		}
		last[v/n] = v
	}
}

func TestMergeOfNoneOrOneSource(t *testing.T) {
	if got, err := trace(testContext(t), operators.Merge[int]()); err != nil || got != "[]" {
		t.Fatalf("no source: %s %v", got, err)
	}
	if got, err := trace(testContext(t), operators.Merge(stream.Just(1, 2))); err != nil || got != "[1 2]" {
		t.Fatalf("one source: %s %v", got, err)
	}
}

func TestMergeErrorCancelsTheOtherSources(t *testing.T) {
	var produced atomic.Int64
	s := operators.Merge(endless(&produced), stream.Error[int](errBoom), endless(&produced))
	if _, err := trace(testContext(t), s); !errors.Is(err, errBoom) {
		t.Fatalf("got %v", err)
	}
}

func TestMergeStopsEverySourceWhenTheSubscriberStops(t *testing.T) {
	var a, b atomic.Int64
	r := newRecorder[int]()
	r.stopAfter = 10
	if err := operators.Merge(endless(&a), endless(&b)).Subscribe(testContext(t), r); err != nil {
		t.Fatal(err)
	}
	if len(r.got()) != 10 {
		t.Fatalf("got %d items after stopping at 10", len(r.got()))
	}
}

func TestMergeOfHotSourcesOnTwoProducers(t *testing.T) {
	ctx := testContext(t)
	p1, p2 := stream.NewPublisher[int](), stream.NewPublisher[int]()
	r := newRecorder[int]()
	done := async(t, ctx, operators.Merge(p1.Observable(), p2.Observable()), stream.Observer[int](r))
	if err := p1.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := p2.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	finished := make(chan struct{})
	go func() {
		for i := range 1000 {
			p1.Push(i)
		}
		p1.Complete()
		close(finished)
	}()
	for i := range 1000 {
		p2.PushBatch([]int{10000 + i})
	}
	p2.Complete()
	<-finished
	if err := done(); err != nil {
		t.Fatal(err)
	}
	got := r.got()
	sort.Ints(got)
	if len(got) != 2000 || got[0] != 0 || got[1999] != 10999 {
		t.Fatalf("got %d items", len(got))
	}
}

func TestConcatRunsSourcesInTurn(t *testing.T) {
	var subscribed []string
	src := func(name string, items ...int) stream.Observable[int] {
		return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
			subscribed = append(subscribed, name)
			return stream.Just(items...).Subscribe(ctx, o)
		})
	}
	got, err := trace(testContext(t), operators.Concat(src("a", 1, 2), src("b"), src("c", 3)))
	if err != nil || got != "[1 2 3]" || !slices.Equal(subscribed, []string{"a", "b", "c"}) {
		t.Fatalf("got %s %v, subscribed %v", got, err, subscribed)
	}
	subscribed = nil
	got, err = trace(testContext(t), operators.Concat(src("a", 1), stream.Error[int](errBoom), src("c", 3)))
	if !errors.Is(err, errBoom) || got != "[1]" || slices.Contains(subscribed, "c") {
		t.Fatalf("after an error: %s %v, subscribed %v", got, err, subscribed)
	}
	subscribed = nil
	r := newRecorder[int]()
	r.stopAfter = 1
	if err := operators.Concat(src("a", 1, 2), src("b", 3)).Subscribe(testContext(t), r); err != nil || slices.Contains(subscribed, "b") {
		t.Fatalf("stopped subscriber: %v, subscribed %v", err, subscribed)
	}
}

func TestFlatMapSequentialKeepsOuterOrder(t *testing.T) {
	s := operators.FlatMap(stream.Just(1, 2, 3), func(v int) stream.Observable[int] {
		return stream.FromSlice(slices.Repeat([]int{v}, v))
	})
	if got, err := trace(testContext(t), s); err != nil || got != "[1 2 2 3 3 3]" {
		t.Fatalf("got %s %v", got, err)
	}
	// An inner error ends everything.
	s = operators.FlatMap(stream.Just(1, 2, 3), func(v int) stream.Observable[int] {
		if v == 2 {
			return stream.Error[int](errBoom)
		}
		return stream.Just(v)
	})
	if got, err := trace(testContext(t), s); !errors.Is(err, errBoom) || got != "[1]" {
		t.Fatalf("inner error: %s %v", got, err)
	}
	// A subscriber stop ends the outer source too.
	var outer atomic.Int64
	r := newRecorder[int]()
	r.stopAfter = 3
	s = operators.FlatMap(endless(&outer), func(v int) stream.Observable[int] { return stream.Just(v, v) })
	if err := s.Subscribe(testContext(t), r); err != nil || outer.Load() != 2 {
		t.Fatalf("stop: %v, outer produced %d, want 2", err, outer.Load())
	}
}

func TestFlatMapConcurrentRunsUpToNInnersAtOnce(t *testing.T) {
	var running, peak atomic.Int64
	four := make(chan struct{}) // closed once four inners run at once
	var once sync.Once
	s := operators.FlatMap(stream.FromSlice(seq(20)), func(v int) stream.Observable[int] {
		return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			if n == 4 {
				once.Do(func() { close(four) })
			}
			if v < 4 { // the first four can only finish together
				select {
				case <-four:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return stream.Just(v*10, v*10+1).Subscribe(ctx, o)
		})
	}, operators.Concurrency(4))
	got, err := stream.Collect(testContext(t), s)
	if err != nil {
		t.Fatal(err)
	}
	sort.Ints(got)
	if len(got) != 40 || got[39] != 191 || peak.Load() != 4 {
		t.Fatalf("got %d items, peak concurrency %d", len(got), peak.Load())
	}
	s = operators.FlatMap(stream.FromSlice(seq(20)), func(v int) stream.Observable[int] {
		if v == 7 {
			return stream.Error[int](errBoom)
		}
		return stream.Just(v)
	}, operators.Concurrency(3))
	if _, err := stream.Collect(testContext(t), s); !errors.Is(err, errBoom) {
		t.Fatalf("inner error: %v", err)
	}
}

func TestFlatMapConcurrentOuterErrorCancelsRunningInners(t *testing.T) {
	outer := operators.Concat(stream.Just(1), stream.Error[int](errBoom))
	s := operators.FlatMap(outer, func(int) stream.Observable[int] { return stream.Never[int]() }, operators.Concurrency(2))
	if _, err := stream.Collect(testContext(t), s); !errors.Is(err, errBoom) {
		t.Fatalf("got %v", err)
	}
	g := operators.GroupBy(outer, func(v int) int { return v }, func(_ int, g stream.Observable[int]) stream.Observable[int] {
		return operators.Merge(g, stream.Never[int]()) // a group that would never end by itself
	})
	if _, err := stream.Collect(testContext(t), g); !errors.Is(err, errBoom) {
		t.Fatalf("GroupBy: got %v", err)
	}
}
