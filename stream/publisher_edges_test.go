package stream_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// The edges of the Publisher's promises: buffer sizes at their bounds,
// errors from every Observer method, queued operations kept apart where
// they must be, ring positions that wrap. Each test here failed on a
// mutant of publisher.go that the other tests let live (bench/MUTATION.md).

// batchLog is an Observer that writes down every call, "3" for an item,
// "[n]" before a batch of n, "gap" for a gap, and can run a hook after
// each item. Safe to read once its Subscribe has returned, or under mu.
type batchLog struct {
	mu      sync.Mutex
	events  []string
	items   []int
	batches []int // the size of each NextBatch call
	hook    func(v int) error
	next    error // returned by Next and NextBatch once set
	gap     error // returned by Gap
}

func (l *batchLog) item(v int) error {
	l.mu.Lock()
	l.events = append(l.events, strconv.Itoa(v))
	l.items = append(l.items, v)
	hook, err := l.hook, l.next
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if hook != nil {
		return hook(v)
	}
	return nil
}

func (l *batchLog) Next(v int) error { return l.item(v) }

func (l *batchLog) NextBatch(items []int) error {
	l.mu.Lock()
	l.events = append(l.events, "["+strconv.Itoa(len(items))+"]")
	l.batches = append(l.batches, len(items))
	l.mu.Unlock()
	for _, v := range items {
		if err := l.item(v); err != nil {
			return err
		}
	}
	return nil
}

func (l *batchLog) Gap(stream.Gap) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, "gap")
	return l.gap
}

func (l *batchLog) snapshot() (events []string, items, batches []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events), slices.Clone(l.items), slices.Clone(l.batches)
}

// gated returns a recorder whose first item blocks until the returned
// release is called, and a channel closed once it is blocked.
func gated() (r *recorder[int], entered <-chan struct{}, release func()) {
	gate := make(chan struct{})
	in := make(chan struct{})
	r = newRecorder[int]()
	r.onItem = func(n int) {
		if n == 1 {
			close(in)
			<-gate
		}
	}
	var once sync.Once
	return r, in, func() { once.Do(func() { close(gate) }) }
}

// A queue of one item is a queue of one item, not DefaultBuffer; a size
// below 1 with a dropping policy is DefaultBuffer, not inline delivery.
func TestWithBufferSizesAtTheirBounds(t *testing.T) {
	t.Run("one", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		r, entered, release := gated()
		defer release()
		done := attach(t, ctx, p, r, stream.WithBuffer(1, stream.DropNewest))
		buffered(t, func() { p.Push(0) })
		waitClosed(t, "the first delivery", entered)
		buffered(t, func() { p.PushBatch([]int{1, 2, 3}) }) // 1 fits, 2 and 3 are dropped
		p.Complete()
		release()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		items, gaps := r.snapshot()
		if !slices.Equal(items, []int{0, 1}) || len(gaps) != 1 || gaps[0].Dropped != 2 || p.Dropped() != 2 {
			t.Fatalf("WithBuffer(1, DropNewest): items %v, gaps %+v, dropped %d; want [0 1], one gap of 2", items, gaps, p.Dropped())
		}
	})
	t.Run("zero", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		r, entered, release := gated()
		defer release()
		done := attach(t, ctx, p, r, stream.WithBuffer(0, stream.DropNewest))
		// Inline delivery would run the gated observer on this goroutine
		// and never return: push from another one.
		go p.Push(0)
		waitClosed(t, "the first delivery", entered)
		buffered(t, func() { p.PushBatch(seq(stream.DefaultBuffer + 6)[1:]) })
		p.Complete()
		release()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		items, gaps := r.snapshot()
		if len(items) != stream.DefaultBuffer+1 || len(gaps) != 1 || gaps[0].Dropped != 5 {
			t.Fatalf("WithBuffer(0, DropNewest): %d items, gaps %+v; want %d items and a gap of 5 (a DefaultBuffer queue)",
				len(items), gaps, stream.DefaultBuffer+1)
		}
	})
	t.Run("block zero is inline", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		pushed := []int{7, 8}
		var aliased, called bool
		o := stream.ObserverFuncs[int]{OnBatch: func(items []int) error {
			called, aliased = true, &items[0] == &pushed[0]
			return nil
		}}
		done := attach(t, ctx, p, stream.Observer[int](o), stream.WithBuffer(0, stream.Block))
		p.PushBatch(pushed)
		p.Complete()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		// Inline: the subscriber sees the producer's own slice; a queue
		// would have handed it a copy.
		if !called || !aliased {
			t.Fatalf("WithBuffer(0, Block): delivered %v, the producer's slice %v; want inline delivery of the producer's slice", called, aliased)
		}
	})
}

// An inline subscriber whose Next, NextBatch or Gap fails is detached before the
// call that delivered to it returns, and its Subscribe returns the error.
func TestInlineObserverErrorEndsTheSubscription(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		o       func(l *batchLog)
		publish func(p *stream.Publisher[int])
		want    error
	}{
		{"Next", func(l *batchLog) { l.next = boom }, func(p *stream.Publisher[int]) { p.Push(1) }, boom},
		{"NextBatch", func(l *batchLog) { l.next = boom }, func(p *stream.Publisher[int]) { p.PushBatch([]int{1, 2}) }, boom},
		{"Gap", func(l *batchLog) { l.gap = boom }, func(p *stream.Publisher[int]) { p.Gap(stream.Gap{Cause: io.ErrNoProgress}) }, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			p := stream.NewPublisher[int]()
			l := &batchLog{}
			tc.o(l)
			other := newRecorder[int]()
			done := attach(t, ctx, p, stream.Observer[int](l))
			doneOther := attach(t, ctx, p, other)
			tc.publish(p)
			if n := p.Subscribers(); n != 1 {
				t.Errorf("%d subscribers after the failed %s, want 1: the failing one must be detached at once", n, tc.name)
			}
			p.PushBatch([]int{3})
			p.Complete()
			if err := done(); !errors.Is(err, tc.want) {
				t.Errorf("Subscribe returned %v, want %v", err, tc.want)
			}
			if err := doneOther(); err != nil {
				t.Fatal(err)
			}
			if _, items, _ := l.snapshot(); slices.Contains(items, 3) {
				t.Errorf("the failed subscriber got %v: an item after its error", items)
			}
			if got, _ := other.snapshot(); !slices.Contains(got, 3) {
				t.Errorf("the other subscriber got %v, want 3 among them", got)
			}
		})
	}
	t.Run("Gap without OnGap", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		done := attach(t, ctx, p, stream.Observer[int](stream.ObserverFuncs[int]{OnNext: func(int) error { return nil }}))
		p.Gap(stream.Gap{Dropped: 3, Cause: io.ErrNoProgress})
		if n := p.Subscribers(); n != 0 {
			t.Errorf("%d subscribers after a Gap the observer cannot handle, want 0", n)
		}
		p.Complete()
		var g stream.Gap
		if err := done(); !errors.As(err, &g) || g.Dropped != 3 || !errors.Is(err, io.ErrNoProgress) {
			t.Fatalf("Subscribe returned %v, want the Gap", err)
		}
	})
}

// Operations queued during a delivery keep their kind and their
// subscribers: a queued Gap is not merged into the items queued after it,
// and items queued before a subscriber arrived do not reach it.
func TestQueuedOperationsKeepTheirKindAndSubscribers(t *testing.T) {
	t.Run("gap then items", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		l := &batchLog{}
		l.hook = func(v int) error {
			if v == 0 {
				p.Push(1)
				p.Gap(stream.Gap{Cause: io.ErrNoProgress})
				p.Push(2)
				p.PushBatch([]int{3, 4})
			}
			return nil
		}
		done := attach(t, ctx, p, stream.Observer[int](l))
		returns(t, "Push whose callback queues", func() { p.Push(0) })
		p.Complete()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		events, items, _ := l.snapshot()
		if !slices.Equal(items, seq(5)) || !slices.Equal(slices.DeleteFunc(events, isBatch), []string{"0", "1", "gap", "2", "3", "4"}) {
			t.Fatalf("got %v (items %v), want 0 1 gap 2 3 4", events, items)
		}
	})
	t.Run("items then a new subscriber", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		late := &batchLog{}
		lateErr := make(chan error, 1)
		registered := make(chan struct{})
		var unregistered bool
		l := &batchLog{}
		l.hook = func(v int) error {
			if v != 0 {
				return nil
			}
			p.Push(1) // queued for l alone
			go func() {
				lateErr <- p.Observable(stream.OnSubscribe(func() { close(registered) })).Subscribe(ctx, late)
			}()
			select {
			case <-registered:
			case <-time.After(wait):
				unregistered = true
			}
			p.Push(2) // queued for l and late
			return nil
		}
		done := attach(t, ctx, p, stream.Observer[int](l))
		returns(t, "Push whose callback subscribes", func() { p.Push(0) })
		if unregistered {
			t.Fatal("the subscription made from the callback was not registered")
		}
		p.Complete()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-lateErr:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(wait):
			t.Fatal("the late subscription did not end")
		}
		_, items, _ := l.snapshot()
		_, lateItems, _ := late.snapshot()
		if !slices.Equal(items, []int{0, 1, 2}) || !slices.Equal(lateItems, []int{2}) {
			t.Fatalf("first subscriber got %v, want [0 1 2]; the one subscribed between the pushes got %v, want [2]", items, lateItems)
		}
	})
	t.Run("merged batches stay within BatchSize", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		l := &batchLog{}
		const big = stream.BatchSize - 24
		l.hook = func(v int) error {
			if v == 0 {
				p.PushBatch(seq(1 + big)[1:]) // 1..big
				p.PushBatch(seq(1 + big + 100)[1+big:])
				for i := range 3 * stream.BatchSize {
					p.Push(1 + big + 100 + i)
				}
			}
			return nil
		}
		done := attach(t, ctx, p, stream.Observer[int](l))
		returns(t, "Push whose callback queues", func() { p.Push(0) })
		p.Complete()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		_, items, batches := l.snapshot()
		if want := seq(1 + big + 100 + 3*stream.BatchSize); !slices.Equal(items, want) {
			t.Fatalf("got %d items, want %d in order", len(items), len(want))
		}
		if len(batches) == 0 || batches[0] != big {
			t.Fatalf("batches %v: the first queued PushBatch must arrive whole (%d items)", batches, big)
		}
		for i, n := range batches {
			if n > stream.BatchSize {
				t.Fatalf("queued batch %d holds %d items, more than BatchSize (%d): batches %v", i, n, stream.BatchSize, batches)
			}
		}
	})
}

func isBatch(e string) bool { return e[0] == '[' }

// Under Fail, a queue filled exactly is not an overflow.
func TestFailPolicyAcceptsAnExactlyFullQueue(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	r, entered, release := gated()
	defer release()
	done := attach(t, ctx, p, r, stream.WithBuffer(4, stream.Fail))
	buffered(t, func() { p.Push(0) })
	waitClosed(t, "the first delivery", entered)
	buffered(t, func() { p.PushBatch([]int{1, 2, 3, 4}) }) // exactly the 4 free places
	p.Complete()
	release()
	if err := done(); err != nil {
		t.Fatalf("a queue of 4 given 4 items failed: %v", err)
	}
	if got, _ := r.snapshot(); !slices.Equal(got, seq(5)) {
		t.Fatalf("got %v", got)
	}
}

// DropOldest discarding across the end of its ring, and gap markers
// further down the queue than what it discards staying where they are.
func TestDropOldestAcrossTheRingsEnd(t *testing.T) {
	t.Run("wrap", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		r, entered, release := gated()
		defer release()
		done := attach(t, ctx, p, r, stream.WithBuffer(4, stream.DropOldest))
		buffered(t, func() { p.PushBatch([]int{0, 1, 2}) }) // taken out whole: the ring's head is at 3
		waitClosed(t, "the first delivery", entered)
		buffered(t, func() {
			p.PushBatch([]int{3, 4, 5, 6}) // ring slots 3, 0, 1, 2
			p.PushBatch([]int{7, 8})       // discards 3 (slot 3) and 4 (slot 0)
		})
		p.Complete()
		release()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		items, gaps := r.snapshot()
		if !slices.Equal(items, []int{0, 1, 2, 5, 6, 7, 8}) || len(gaps) != 1 || gaps[0].Dropped != 2 {
			t.Fatalf("items %v gaps %+v, want 0 1 2 5 6 7 8 and a gap of 2", items, gaps)
		}
		if !slices.Equal(r.events, []string{"item", "item", "item", "gap", "item", "item", "item", "item"}) {
			t.Fatalf("order %v", r.events)
		}
	})
	t.Run("a later gap stays", func(t *testing.T) {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		r, entered, release := gated()
		defer release()
		done := attach(t, ctx, p, r, stream.WithBuffer(4, stream.DropOldest))
		buffered(t, func() { p.Push(0) })
		waitClosed(t, "the first delivery", entered)
		buffered(t, func() {
			p.PushBatch([]int{1, 2})
			p.Gap(stream.Gap{Cause: io.ErrNoProgress}) // between 2 and 3
			p.Push(3)
			p.PushBatch([]int{4, 5}) // one free place: discards 1 only
		})
		p.Complete()
		release()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		items, gaps := r.snapshot()
		want := []string{"item", "gap", "item", "gap", "item", "item", "item"}
		if !slices.Equal(items, []int{0, 2, 3, 4, 5}) || !slices.Equal(r.events, want) || len(gaps) != 2 {
			t.Fatalf("items %v, order %v, gaps %+v; want 0 gap(1 lost) 2 gap(producer's) 3 4 5", items, r.events, gaps)
		}
		if gaps[0].Dropped != 1 || !errors.Is(gaps[0], stream.ErrOverflow) || !errors.Is(gaps[1], io.ErrNoProgress) || errors.Is(gaps[1], stream.ErrOverflow) {
			t.Fatalf("gaps %+v: want the overflow of 1 first, then the producer's own", gaps)
		}
	})
}

// A delivery that queues operations reuses the queue's buffers: in steady
// state a re-entrant Push allocates nothing.
func TestReentrantPushAllocatesNothingInSteadyState(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	var reentered int
	o := stream.ObserverFuncs[int]{OnNext: func(v int) error {
		if v == 0 {
			p.Push(1) // queued: a delivery is in progress
			p.Gap(stream.Gap{})
		} else {
			reentered++
		}
		return nil
	}, OnGap: func(stream.Gap) error { return nil }}
	done := attach(t, ctx, p, stream.Observer[int](o))
	p.Push(0) // warm up the buffers
	if allocs := testing.AllocsPerRun(100, func() { p.Push(0) }); allocs != 0 {
		t.Errorf("a Push whose callback queues a Push and a Gap allocates %.1f times, want 0", allocs)
	}
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if reentered != 102 {
		t.Fatalf("%d queued pushes delivered, want 102", reentered)
	}
}

// WaitSubscribers returns at once when n subscribers are attached, not
// only above n: with a context already done it still reports success.
func TestWaitSubscribersCountsExactly(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	done := attach(t, ctx, p, newRecorder[int]())
	ended, cancel := context.WithCancel(ctx)
	cancel()
	for _, n := range []int{0, 1} {
		if err := p.WaitSubscribers(ended, n); err != nil {
			t.Errorf("WaitSubscribers(%d) with one subscriber: %v", n, err)
		}
	}
	if err := p.WaitSubscribers(ended, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitSubscribers(2) with one subscriber and a done context: %v", err)
	}
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
}
