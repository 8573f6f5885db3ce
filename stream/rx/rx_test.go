package rx_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
)

const wait = 10 * time.Second

var errBoom = errors.New("boom")

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// endless emits 0, 1, 2 … until stopped, counting what it produced.
func endless(produced *atomic.Int64) stream.Observable[int] {
	return stream.FromFunc(func(ctx context.Context, emit func(int) error) error {
		for i := 0; ; i++ {
			produced.Add(1)
			if err := emit(i); err != nil {
				return err
			}
		}
	})
}

// gappy emits 0, 1, a Gap, 2, then fails with errBoom.
var gappy = stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
	if err := o.NextBatch([]int{0, 1}); err != nil {
		return err
	}
	if err := o.Gap(stream.Gap{Dropped: 3, Cause: stream.ErrOverflow}); err != nil {
		return err
	}
	if err := o.Next(2); err != nil {
		return err
	}
	return errBoom
})

// drain reads an rxgo channel to its end, bounded by the test's wait.
func drain(t *testing.T, ch <-chan rxgo.Item) (vs []any, errs []error) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case it, ok := <-ch:
			if !ok {
				return vs, errs
			}
			if it.E != nil {
				errs = append(errs, it.E)
			} else {
				vs = append(vs, it.V)
			}
		case <-deadline:
			t.Fatal("rxgo channel not closed")
		}
	}
}

func TestToRxDeliversItemsThenCompletes(t *testing.T) {
	obs := rx.ToRx(testContext(t), stream.FromSlice(seq(1000)))
	for range 2 { // cold: each Observe subscribes anew
		vs, errs := drain(t, obs.Observe())
		if len(errs) != 0 || len(vs) != 1000 {
			t.Fatalf("got %d items and errors %v", len(vs), errs)
		}
		for i, v := range vs {
			if v.(int) != i {
				t.Fatalf("item %d is %v", i, v)
			}
		}
	}
}

func TestToRxSendsGapsAndTheErrorAsErrorItems(t *testing.T) {
	vs, errs := drain(t, rx.ToRx(testContext(t), gappy).Observe())
	if !slices.Equal(vs, []any{0, 1, 2}) || len(errs) != 2 {
		t.Fatalf("items %v errors %v", vs, errs)
	}
	if !errors.Is(errs[0], stream.ErrGap) || !errors.Is(errs[1], errBoom) {
		t.Fatalf("errors %v", errs)
	}
}

func TestToRxHonoursRxgosContext(t *testing.T) {
	var produced atomic.Int64
	rctx, cancel := context.WithCancel(testContext(t))
	ch := rx.ToRx(context.Background(), endless(&produced)).Observe(rxgo.WithContext(rctx))
	for range 5 {
		<-ch
	}
	cancel() // the only way rxgo's consumer tells its producer to stop
	drain(t, ch)
	if p := produced.Load(); p > 10 {
		t.Fatalf("the source made %d items for 5 read", p)
	}
	goleak.VerifyNone(t)
}

// TestToRxLeaksNothingWhenRxgosConsumerStopsEarly: rxgo's own producers and
// operators stay blocked for ever when a consumer stops reading without an
// rxgo context (research/reactive.md §4.4). With ToRx, cancelling the
// context given to ToRx is enough, whatever rxgo operators sit downstream.
func TestToRxLeaksNothingWhenRxgosConsumerStopsEarly(t *testing.T) {
	t.Run("break out of range", func(t *testing.T) {
		var produced atomic.Int64
		ctx, cancel := context.WithCancel(testContext(t))
		n := 0
		for it := range rx.ToRx(ctx, endless(&produced)).Observe() {
			if it.V.(int) != n {
				t.Fatalf("item %d is %v", n, it.V)
			}
			n++
			if n == 5 {
				break
			}
		}
		cancel()
		goleak.VerifyNone(t)
		if p := produced.Load(); p > 8 {
			t.Fatalf("the source made %d items for 5 read", p)
		}
	})
	t.Run("rxgo Take", func(t *testing.T) {
		var produced atomic.Int64
		ctx, cancel := context.WithCancel(testContext(t))
		vs, errs := drain(t, rx.ToRx(ctx, endless(&produced)).Take(3).Observe())
		if !slices.Equal(vs, []any{0, 1, 2}) || len(errs) != 0 {
			t.Fatalf("got %v %v", vs, errs)
		}
		cancel() // rxgo's Take stopped reading but did not tell its source
		goleak.VerifyNone(t)
	})
	t.Run("batched, rxgo First", func(t *testing.T) {
		var produced atomic.Int64
		ctx, cancel := context.WithCancel(testContext(t))
		first, err := rx.ToRxBatched(ctx, endless(&produced)).First().Get()
		if err != nil || first.V.([]int)[0] != 0 {
			t.Fatalf("got %v %v", first, err)
		}
		cancel()
		goleak.VerifyNone(t)
	})
}

func TestToRxStopsTheSourceWhenItsContextEnds(t *testing.T) {
	var produced atomic.Int64
	ctx, cancel := context.WithCancel(testContext(t))
	ch := rx.ToRx(ctx, endless(&produced)).Observe()
	<-ch
	cancel()
	drain(t, ch) // closes once the producer has returned
	if p := produced.Load(); p > 4 {
		t.Fatalf("the source made %d items", p)
	}
}

func TestToRxBatchedCarriesOwnedSlicesInOrder(t *testing.T) {
	for _, src := range []stream.Observable[int]{
		stream.FromSlice(seq(3000)),
		stream.FromSeq(slices.Values(seq(3000))), // one item per call
	} {
		vs, errs := drain(t, rx.ToRxBatched(testContext(t), src).Observe())
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		var all []int
		for _, v := range vs {
			b := v.([]int)
			if len(b) == 0 || len(b) > stream.BatchSize {
				t.Fatalf("batch of %d", len(b))
			}
			all = append(all, b...)
		}
		if !slices.Equal(all, seq(3000)) {
			t.Fatalf("got %d items out of order or lost", len(all))
		}
	}
	vs, errs := drain(t, rx.ToRxBatched(testContext(t), gappy).Observe())
	if len(vs) != 2 || len(errs) != 2 || !errors.Is(errs[0], stream.ErrGap) || !errors.Is(errs[1], errBoom) {
		t.Fatalf("over a gap: %v %v", vs, errs)
	}
	if !slices.Equal(vs[0].([]int), []int{0, 1}) || !slices.Equal(vs[1].([]int), []int{2}) {
		t.Fatalf("batches %v", vs)
	}
}

func TestFromRxConvertsItemsAndErrors(t *testing.T) {
	ctx := testContext(t)
	got, err := stream.Collect(ctx, rx.FromRx[int](rxgo.Just(1, 2, 3)()))
	if err != nil || !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("got %v %v", got, err)
	}
	got, err = stream.Collect(ctx, rx.FromRx[int](rxgo.Just(1, "two", 3)()))
	if !errors.Is(err, rx.ErrType) || !slices.Equal(got, []int{1}) {
		t.Fatalf("wrong type: %v %v", got, err)
	}
	got, err = stream.Collect(ctx, rx.FromRx[int](rxgo.Just(1, errBoom, 3)()))
	if !errors.Is(err, errBoom) || !slices.Equal(got, []int{1}) {
		t.Fatalf("error item: %v %v", got, err)
	}
	got, err = stream.Collect(ctx, rx.FromRx[int](rx.ToRx(ctx, stream.FromSlice(seq(5000)))))
	if err != nil || !slices.Equal(got, seq(5000)) {
		t.Fatalf("round trip: %d items, %v", len(got), err)
	}
}

func TestFromRxStopsRxgosProducerWhenTheSubscriberStops(t *testing.T) {
	var produced atomic.Int64
	src := rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		for i := 0; ; i++ {
			produced.Add(1)
			if !rxgo.Of(i).SendContext(ctx, next) {
				return
			}
		}
	}})
	var got []int
	err := rx.FromRx[int](src).Subscribe(testContext(t), stream.ObserverFuncs[int]{OnNext: func(v int) error {
		got = append(got, v)
		if len(got) == 5 {
			return stream.ErrStop
		}
		return nil
	}})
	if err != nil || !slices.Equal(got, seq(5)) {
		t.Fatalf("got %v %v", got, err)
	}
	goleak.VerifyNone(t) // the rxgo producer saw the cancelled context and returned
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if err := rx.FromRx[int](src).Subscribe(ctx, stream.ObserverFuncs[int]{}); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestToRxBatchedSendsTheLastItemsOfAHotSourceWithoutWaitingForMore(t *testing.T) {
	// Items that arrive while rxgo is busy are gathered; they must reach
	// rxgo as soon as it reads again, not when the next item comes (a
	// watcher's last change could otherwise wait for the next one).
	pub := stream.NewPublisher[int]()
	subscribed := make(chan struct{})
	ctx := testContext(t)
	ch := rx.ToRxBatched(ctx, pub.Observable(stream.OnSubscribe(func() { close(subscribed) }))).Observe(rxgo.WithContext(ctx))
	select {
	case <-subscribed:
	case <-ctx.Done():
		t.Fatal("never subscribed")
	}
	read := func() []int {
		t.Helper()
		select {
		case it := <-ch:
			if it.E != nil {
				t.Fatal(it.E)
			}
			return it.V.([]int)
		case <-ctx.Done():
			t.Fatal("timed out waiting for a batch")
			return nil
		}
	}
	pub.Push(1)
	if got := read(); !slices.Equal(got, []int{1}) {
		t.Fatalf("first batch %v, want [1]", got)
	}
	// Nobody reads now: 2 waits in the send, 3 and 4 are gathered.
	pub.Push(2)
	pub.Push(3)
	pub.Push(4)
	var got []int
	for len(got) < 3 {
		got = append(got, read()...)
	}
	if !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("got %v, want [2 3 4]", got)
	}
	pub.Complete()
	for range ch {
	}
}
