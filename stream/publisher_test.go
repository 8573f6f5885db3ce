package stream_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/stream"
)

// attach subscribes o to p with opts on a new goroutine and returns once
// the subscription is registered; the returned function waits for
// Subscribe to return.
func attach[T any](t *testing.T, ctx context.Context, p *stream.Publisher[T], o stream.Observer[T], opts ...stream.SubscribeOption) func() error {
	t.Helper()
	registered := make(chan struct{})
	opts = append(opts, stream.OnSubscribe(func() { close(registered) }))
	done := subscribeAsync(t, ctx, p.Observable(opts...), o)
	select {
	case <-registered:
	case <-ctx.Done():
		t.Fatal("subscription not registered")
	}
	return done
}

func TestPublisherInlineDeliversDuringThePush(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	r := newRecorder[int]()
	done := attach(t, ctx, p, r)
	p.Push(0)
	p.PushBatch([]int{1, 2, 3})
	// Inline: the observer has run before Push returned, no waiting.
	if got, _ := r.snapshot(); !slices.Equal(got, seq(4)) || r.batches != 1 {
		t.Fatalf("after the pushes: %v (%d batches)", got, r.batches)
	}
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if p.Subscribers() != 0 {
		t.Fatal("subscriber still attached after the end")
	}
}

func TestPublisherFansOutToEverySubscriber(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	var recs []*recorder[int]
	var dones []func() error
	for _, opt := range []stream.SubscribeOption{
		stream.WithBuffer(0, stream.Block),
		stream.WithBuffer(3, stream.Block),
		stream.WithBuffer(1000, stream.DropNewest),
		stream.WithBuffer(1000, stream.DropOldest),
		stream.WithBuffer(1000, stream.Fail),
	} {
		r := newRecorder[int]()
		recs = append(recs, r)
		dones = append(dones, attach(t, ctx, p, r, opt))
	}
	for i := range 500 {
		if i%2 == 0 {
			p.Push(i)
		} else {
			p.PushBatch([]int{i})
		}
	}
	p.Complete()
	for i, r := range recs {
		if err := dones[i](); err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
		if got, gaps := r.snapshot(); !slices.Equal(got, seq(500)) || len(gaps) != 0 {
			t.Fatalf("subscriber %d got %d items and %d gaps", i, len(got), len(gaps))
		}
	}
}

func TestPublisherEndReachesLateSubscribers(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	p.Complete()
	p.Error(io.EOF) // ignored: the stream has ended
	if err := p.Observable().Subscribe(ctx, newRecorder[int]()); err != nil {
		t.Fatalf("after Complete: %v", err)
	}
	q := stream.NewPublisher[int]()
	q.Error(io.EOF)
	q.Push(1) // ignored
	r := newRecorder[int]()
	if err := q.Observable(stream.WithBuffer(4, stream.Block)).Subscribe(ctx, r); !errors.Is(err, io.EOF) || r.len() != 0 {
		t.Fatalf("after Error: %v, %d items", err, r.len())
	}
}

func TestPublisherErrorComesAfterQueuedItems(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	gate := make(chan struct{})
	r := newRecorder[int]()
	entered := make(chan struct{})
	r.onItem = func(n int) {
		if n == 1 {
			close(entered)
			<-gate
		}
	}
	done := attach(t, ctx, p, r, stream.WithBuffer(100, stream.Block))
	buffered(t, func() { p.Push(0) })
	waitClosed(t, "the first delivery", entered)
	buffered(t, func() { p.PushBatch([]int{1, 2, 3}) }) // room for them: no wait
	p.Error(io.ErrUnexpectedEOF)
	close(gate)
	if err := done(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
	if got, _ := r.snapshot(); !slices.Equal(got, seq(4)) {
		t.Fatalf("got %v, want the queued items before the error", got)
	}
}

// overflow subscribes with a queue of 4 under policy, blocks the observer
// in its first delivery (item 0), pushes items 1..10 in one batch, then
// completes and releases the observer. It returns what the subscriber saw.
func overflow(t *testing.T, policy stream.Policy) (events []string, items []int, gaps []stream.Gap, dropped uint64, err error) {
	t.Helper()
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	gate := make(chan struct{})
	entered := make(chan struct{})
	r := newRecorder[int]()
	r.onItem = func(n int) {
		if n == 1 {
			close(entered)
			<-gate
		}
	}
	done := attach(t, ctx, p, r, stream.WithBuffer(4, policy))
	buffered(t, func() { p.Push(0) })
	waitClosed(t, "the first delivery", entered)
	buffered(t, func() { p.PushBatch(seq(11)[1:]) })
	p.Complete()
	close(gate)
	err = done()
	items, gaps = r.snapshot()
	return r.events, items, gaps, p.Dropped(), err
}

func TestDropNewestKeepsTheFirstItemsAndMarksTheLoss(t *testing.T) {
	events, items, gaps, dropped, err := overflow(t, stream.DropNewest)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(items, []int{0, 1, 2, 3, 4}) || len(gaps) != 1 || gaps[0].Dropped != 6 || dropped != 6 {
		t.Fatalf("items %v gaps %+v dropped %d", items, gaps, dropped)
	}
	if !slices.Equal(events, []string{"item", "item", "item", "item", "item", "gap"}) {
		t.Fatalf("order %v: the gap must follow the kept items", events)
	}
	if !errors.Is(gaps[0], stream.ErrOverflow) {
		t.Fatalf("gap cause %v", gaps[0].Cause)
	}
}

func TestDropOldestKeepsTheNewestItemsAndMarksTheLoss(t *testing.T) {
	events, items, gaps, dropped, err := overflow(t, stream.DropOldest)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(items, []int{0, 7, 8, 9, 10}) || len(gaps) != 1 || gaps[0].Dropped != 6 || dropped != 6 {
		t.Fatalf("items %v gaps %+v dropped %d", items, gaps, dropped)
	}
	if !slices.Equal(events, []string{"item", "gap", "item", "item", "item", "item"}) {
		t.Fatalf("order %v: the gap must precede the kept newest items", events)
	}
}

func TestFailPolicyEndsTheSubscriptionAfterQueuedItems(t *testing.T) {
	_, items, gaps, _, err := overflow(t, stream.Fail)
	if !errors.Is(err, stream.ErrOverflow) {
		t.Fatalf("got %v, want ErrOverflow", err)
	}
	if !slices.Equal(items, []int{0, 1, 2, 3, 4}) || len(gaps) != 0 {
		t.Fatalf("items %v gaps %v", items, gaps)
	}
}

func TestDropOldestMergesOlderGapsIntoTheNewOne(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	gate := make(chan struct{})
	entered := make(chan struct{})
	r := newRecorder[int]()
	r.onItem = func(n int) {
		if n == 1 {
			close(entered)
			<-gate
		}
	}
	done := attach(t, ctx, p, r, stream.WithBuffer(4, stream.DropOldest))
	buffered(t, func() { p.Push(0) })
	waitClosed(t, "the first delivery", entered)
	buffered(t, func() {
		p.PushBatch([]int{1, 2})
		p.Gap(stream.Gap{Cause: io.ErrNoProgress}) // a producer overrun between 2 and 3
		p.PushBatch([]int{3, 4, 5, 6, 7})          // drops 1, 2 and 3
	})
	p.Complete()
	close(gate)
	if err := done(); err != nil {
		t.Fatal(err)
	}
	items, gaps := r.snapshot()
	if !slices.Equal(items, []int{0, 4, 5, 6, 7}) || len(gaps) != 1 || gaps[0].Dropped != 3 {
		t.Fatalf("items %v gaps %+v", items, gaps)
	}
	if !errors.Is(gaps[0], io.ErrNoProgress) || !errors.Is(gaps[0], stream.ErrOverflow) {
		t.Fatalf("merged gap lost a cause: %v", gaps[0])
	}
}

func TestBlockPolicyHoldsTheProducerBackWithoutLoss(t *testing.T) {
	const size, n = 4, 2000
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	var pushed atomic.Int64
	r := newRecorder[int]()
	var violation atomic.Value
	r.onItem = func(got int) {
		// The producer can be ahead by at most the queue and one delivery
		// batch (up to size items taken out of the queue) plus the push in
		// progress.
		if ahead := pushed.Load() - int64(got); ahead > 2*size+1 {
			violation.CompareAndSwap(nil, ahead)
		}
	}
	done := attach(t, ctx, p, r, stream.WithBuffer(size, stream.Block))
	for i := range n {
		p.Push(i)
		pushed.Add(1)
	}
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if v := violation.Load(); v != nil {
		t.Fatalf("producer ran %d items ahead of a blocking subscriber with a queue of %d", v, size)
	}
	if got, gaps := r.snapshot(); !slices.Equal(got, seq(n)) || len(gaps) != 0 || p.Dropped() != 0 {
		t.Fatalf("got %d items, %d gaps, %d dropped", len(got), len(gaps), p.Dropped())
	}
}

func TestProducerGapIsInOrder(t *testing.T) {
	for _, opt := range []stream.SubscribeOption{stream.WithBuffer(0, stream.Block), stream.WithBuffer(16, stream.Block)} {
		ctx := testContext(t)
		p := stream.NewPublisher[int]()
		r := newRecorder[int]()
		done := attach(t, ctx, p, r, opt)
		p.Push(0)
		p.Gap(stream.Gap{Cause: io.ErrNoProgress})
		p.Gap(stream.Gap{Dropped: 2, Cause: io.ErrNoProgress}) // merged when queued
		p.PushBatch([]int{1, 2})
		p.Complete()
		if err := done(); err != nil {
			t.Fatal(err)
		}
		var want []string
		if len(r.gaps) == 1 {
			want = []string{"item", "gap", "item", "item"}
		} else {
			want = []string{"item", "gap", "gap", "item", "item"}
		}
		if !slices.Equal(r.events, want) {
			t.Fatalf("events %v", r.events)
		}
	}
}

func TestCancelledSubscriberGetsNothingMore(t *testing.T) {
	for _, opt := range []stream.SubscribeOption{stream.WithBuffer(0, stream.Block), stream.WithBuffer(16, stream.DropNewest)} {
		ctx, cancel := context.WithCancel(testContext(t))
		p := stream.NewPublisher[int]()
		r := newRecorder[int]()
		done := attach(t, ctx, p, r, opt)
		p.Push(0)
		r.waitFor(t, "item 0", func() bool { return r.len() == 1 })
		cancel()
		p.Push(1) // may race with the detach, but must not be delivered after ctx is done
		if err := done(); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		p.PushBatch([]int{2, 3})
		if got := r.len(); got != 1 {
			t.Fatalf("%d items delivered after cancel", got-1)
		}
		if p.Subscribers() != 0 {
			t.Fatal("cancelled subscriber still attached")
		}
		p.Complete()
	}
}

func TestCancelWaitsForTheDeliveryInProgress(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	p := stream.NewPublisher[int]()
	var running atomic.Bool
	gate := make(chan struct{})
	entered := make(chan struct{})
	o := stream.ObserverFuncs[int]{OnNext: func(int) error {
		running.Store(true)
		close(entered)
		<-gate
		running.Store(false)
		return nil
	}}
	done := attach(t, ctx, p, stream.Observer[int](o))
	go p.Push(1)
	waitClosed(t, "the delivery", entered)
	cancel()
	close(gate)
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if running.Load() {
		t.Fatal("Subscribe returned while its Observer was still running")
	}
	p.Complete()
}

func TestBlockedProducerIsReleasedWhenTheSubscriberLeaves(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	p := stream.NewPublisher[int]()
	gate := make(chan struct{})
	r := newRecorder[int]()
	entered := make(chan struct{})
	r.onItem = func(n int) {
		if n == 1 {
			close(entered)
			<-gate
		}
	}
	done := attach(t, ctx, p, r, stream.WithBuffer(2, stream.Block))
	buffered(t, func() { p.Push(0) })
	waitClosed(t, "the first delivery", entered)
	pushed := make(chan struct{})
	go func() {
		p.PushBatch(seq(100)) // cannot fit: waits for the subscriber
		close(pushed)
	}()
	cancel()
	close(gate)
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	select {
	case <-pushed:
	case <-testContext(t).Done():
		t.Fatal("producer still blocked after its only subscriber left")
	}
	p.Complete()
}

func TestObserverErrorDetachesOnlyThatSubscriber(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	bad := newRecorder[int]()
	bad.fail, bad.failAfter = io.ErrClosedPipe, 2
	good := newRecorder[int]()
	badDone := attach(t, ctx, p, bad)
	goodDone := attach(t, ctx, p, good)
	p.PushBatch(seq(5))
	if err := badDone(); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("failing subscriber: %v", err)
	}
	p.Push(5)
	p.Complete()
	if err := goodDone(); err != nil {
		t.Fatal(err)
	}
	if got, _ := good.snapshot(); !slices.Equal(got, seq(6)) || bad.len() != 2 {
		t.Fatalf("good got %v, bad got %d", got, bad.len())
	}
}

func TestConnectFeedsEverySubscriberAndEnds(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	var dones []func() error
	var recs []*recorder[int]
	for range 2 {
		r := newRecorder[int]()
		recs = append(recs, r)
		dones = append(dones, subscribeAsync(t, ctx, p.Observable(stream.WithBuffer(64, stream.Block)), stream.Observer[int](r)))
	}
	if err := p.WaitSubscribers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	wait := p.Connect(ctx, stream.FromSlice(seq(1000)))
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if err := dones[i](); err != nil {
			t.Fatal(err)
		}
		if got, _ := r.snapshot(); !slices.Equal(got, seq(1000)) {
			t.Fatalf("subscriber %d got %d items", i, len(got))
		}
	}
	failed := stream.NewPublisher[int]()
	if err := failed.Connect(ctx, stream.Error[int](io.EOF))(); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if err := failed.Observable().Subscribe(ctx, newRecorder[int]()); !errors.Is(err, io.EOF) {
		t.Fatalf("publisher fed by a failed source: %v", err)
	}
}

func TestConcurrentProducersAreSerialised(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	r := newRecorder[int]()
	done := attach(t, ctx, p, r, stream.WithBuffer(8, stream.Block))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 250 {
				if i%2 == 0 {
					p.Push(g*1000 + i)
				} else {
					p.PushBatch([]int{g*1000 + i})
				}
			}
		})
	}
	wg.Wait()
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	got, _ := r.snapshot()
	if len(got) != 1000 {
		t.Fatalf("got %d items", len(got))
	}
	last := map[int]int{0: -1, 1: 999, 2: 1999, 3: 2999}
	for _, v := range got {
		if v <= last[v/1000] {
			t.Fatalf("producer %d's items out of order", v/1000)
		}
		last[v/1000] = v
	}
}

func TestCopyMessagesDetachesBufferedItemsFromTheProducersBuffer(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher(stream.WithCopy(stream.CopyMessages))
	gate := make(chan struct{})
	var got []string
	o := stream.ObserverFuncs[nl.Message]{OnNext: func(m nl.Message) error {
		<-gate
		got = append(got, string(m.Data))
		return nil
	}}
	done := attach(t, ctx, p, stream.Observer[nl.Message](o), stream.WithBuffer(8, stream.Block))
	buf := []byte("abcdef")
	p.PushBatch([]nl.Message{{Data: buf[:3]}, {Data: buf[3:]}})
	copy(buf, "XXXXXX") // the producer reuses its buffer
	close(gate)
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"abc", "def"}) {
		t.Fatalf("got %q: the queued copies changed with the producer's buffer", got)
	}
	if c := stream.CloneMessage(nl.Message{Data: buf}); &c.Data[0] == &buf[0] || string(c.Data) != "XXXXXX" {
		t.Fatal("CloneMessage did not copy")
	}
}

func TestWaitSubscribersHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if err := stream.NewPublisher[int]().WaitSubscribers(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestPolicyString(t *testing.T) {
	for p, s := range map[stream.Policy]string{stream.Block: "block", stream.DropNewest: "drop-newest", stream.DropOldest: "drop-oldest", stream.Fail: "fail", 9: "Policy(9)"} {
		if p.String() != s {
			t.Errorf("%d: %q", p, p.String())
		}
	}
}

func TestSubscriptionChurnWhilePushing(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	stop := make(chan struct{})
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p.PushBatch([]int{i, i})
		}
	}()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				sctx, cancel := context.WithCancel(ctx)
				r := newRecorder[int]()
				r.stopAfter = 1 + i%3
				var opts []stream.SubscribeOption
				if g%2 == 1 {
					opts = append(opts, stream.WithBuffer(4, stream.DropOldest))
				}
				done := attach(t, sctx, p, r, opts...)
				if i%2 == 0 {
					cancel()
				}
				if err := done(); err != nil && !errors.Is(err, context.Canceled) {
					t.Error(err)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-pushed
	if n := p.Subscribers(); n != 0 {
		t.Fatalf("%d subscribers left", n)
	}
	p.Complete()
}
