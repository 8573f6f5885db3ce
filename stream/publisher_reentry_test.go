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

	"go.uber.org/goleak"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/stream"
)

// These tests call the Publisher back from its subscribers' callbacks, as
// the package doc allows. Each call that could hang is bounded by
// returns: a hang is reported as a failure, never waited out.

// returns runs fn on a new goroutine and fails the test if it has not
// returned within the bound.
func returns(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("%s did not return: deadlock", what)
	}
}

// journal is an inline-friendly Observer that writes down what it
// receives ("3", "gap") and runs hook after each item with its value. It
// also checks that its calls never overlap or nest. Its fields are read
// after its Subscribe has returned.
type journal struct {
	events []string
	items  []int
	depth  int
	nested bool
	hook   func(v int) error
}

func (j *journal) enter() {
	j.depth++
	if j.depth > 1 {
		j.nested = true
	}
}

func (j *journal) Next(v int) error {
	j.enter()
	defer func() { j.depth-- }()
	j.events = append(j.events, strconv.Itoa(v))
	j.items = append(j.items, v)
	if j.hook != nil {
		return j.hook(v)
	}
	return nil
}

func (j *journal) NextBatch(items []int) error {
	for _, v := range items {
		if err := j.Next(v); err != nil {
			return err
		}
	}
	return nil
}

func (j *journal) Gap(stream.Gap) error {
	j.enter()
	defer func() { j.depth-- }()
	j.events = append(j.events, "gap")
	return nil
}

func TestCompleteFromInsideAnInlineSubscriberEndsTheStreamAfterTheCallback(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	a := &journal{}
	a.hook = func(v int) error {
		if v == 1 {
			p.Push(50)      // published before the end: delivered
			p.Complete()    // must not wait for this callback
			p.Push(99)      // after the end: ignored
			p.Complete()    // ignored
			p.Error(io.EOF) // ignored
		}
		return nil
	}
	b := &journal{} // attached after a: gets item 1 after a's callback
	doneA := attach(t, ctx, p, stream.Observer[int](a))
	doneB := attach(t, ctx, p, stream.Observer[int](b))
	returns(t, "Push of the item whose callback completes", func() {
		p.Push(0)
		p.Push(1)
	})
	p.Push(2) // after the end: ignored
	for name, done := range map[string]func() error{"a": doneA, "b": doneB} {
		if err := done(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, j := range map[string]*journal{"a": a, "b": b} {
		if !slices.Equal(j.items, []int{0, 1, 50}) || j.nested {
			t.Fatalf("%s got %v (nested %v), want the items published before Complete", name, j.items, j.nested)
		}
	}
	if err := p.Observable().Subscribe(ctx, &journal{}); err != nil {
		t.Fatalf("late subscriber: %v", err)
	}
}

func TestErrorFromInsideAnInlineSubscriberEndsEverySubscriberWithIt(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	a := &journal{}
	a.hook = func(v int) error {
		if v == 1 {
			p.Error(io.ErrUnexpectedEOF)
		}
		return nil
	}
	inline := &journal{}
	buffered := newRecorder[int]()
	doneA := attach(t, ctx, p, stream.Observer[int](a))
	doneInline := attach(t, ctx, p, stream.Observer[int](inline))
	doneBuffered := attach(t, ctx, p, buffered, stream.WithBuffer(16, stream.Block))
	returns(t, "PushBatch of the item whose callback fails the stream", func() {
		p.PushBatch([]int{0, 1})
		p.Push(2) // after the end: ignored
	})
	for name, done := range map[string]func() error{"a": doneA, "inline": doneInline, "buffered": doneBuffered} {
		if err := done(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: got %v, want the stream's error", name, err)
		}
	}
	got, _ := buffered.snapshot()
	if !slices.Equal(a.items, []int{0, 1}) || !slices.Equal(inline.items, []int{0, 1}) || !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("a %v, inline %v, buffered %v: want the batch before the error", a.items, inline.items, got)
	}
	if err := p.Observable().Subscribe(ctx, &journal{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("late subscriber: %v", err)
	}
}

func TestReentrantPushIsDeliveredAfterTheCurrentItemInOrder(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	a := &journal{}
	a.hook = func(v int) error {
		switch v {
		case 0:
			p.Push(1)
			p.PushBatch([]int{2, 3})
			p.Gap(stream.Gap{Cause: io.ErrNoProgress})
		case 1:
			p.Push(4) // queued while 2 and 3 still wait: comes after the gap
		}
		return nil
	}
	b := &journal{}
	doneA := attach(t, ctx, p, stream.Observer[int](a))
	doneB := attach(t, ctx, p, stream.Observer[int](b))
	returns(t, "Push whose callback pushes", func() { p.Push(0) })
	// The Push that found the Publisher idle delivers what its callbacks
	// queued before it returns.
	p.Complete()
	if err := doneA(); err != nil {
		t.Fatal(err)
	}
	if err := doneB(); err != nil {
		t.Fatal(err)
	}
	want := []string{"0", "1", "2", "3", "gap", "4"}
	for name, j := range map[string]*journal{"a": a, "b": b} {
		if !slices.Equal(j.events, want) {
			t.Fatalf("%s got %v, want %v", name, j.events, want)
		}
		if j.nested {
			t.Fatalf("%s: a callback ran inside another", name)
		}
	}
}

func TestItemsPushedDuringADeliveryAreCopied(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher(stream.WithCopy(stream.CopyMessages))
	var got []string
	o := stream.ObserverFuncs[nl.Message]{OnNext: func(m nl.Message) error {
		got = append(got, string(m.Data))
		if string(m.Data) == "first" {
			buf := []byte("abcdef")
			p.PushBatch([]nl.Message{{Data: buf[:3]}, {Data: buf[3:]}})
			copy(buf, "XXXXXX") // the callback reuses its buffer at once
		}
		return nil
	}}
	done := attach(t, ctx, p, stream.Observer[nl.Message](o))
	returns(t, "Push whose callback pushes", func() { p.Push(nl.Message{Data: []byte("first")}) })
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"first", "abc", "def"}) {
		t.Fatalf("got %q: queued items must be copies", got)
	}
}

func TestCancellingFromInsideTheCallbackEndsTheSubscriptionAtOnce(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	stays := &journal{}
	doneStays := attach(t, ctx, p, stream.Observer[int](stays))
	var want []int
	for round := range 20 {
		first := 10 * round
		sctx, cancel := context.WithCancel(ctx)
		leaves := &journal{}
		inside := -1
		leaves.hook = func(v int) error {
			if v == first+1 {
				cancel() // unsubscribe itself
				inside = p.Subscribers()
			}
			return nil
		}
		doneLeaves := attach(t, sctx, p, stream.Observer[int](leaves))
		returns(t, "Push whose callback cancels its subscription", func() {
			p.Push(first)
			p.Push(first + 1)
		})
		// A producer that stops when nobody listens must see it gone as
		// soon as the Push returns (Share does), not when its subscribing
		// goroutine gets to run.
		if n := p.Subscribers(); n != 1 || inside != 1 {
			t.Fatalf("round %d: %d subscribers after the Push in which one cancelled itself (%d inside), want 1", round, n, inside)
		}
		p.Push(first + 2)
		if err := doneLeaves(); !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: %v", round, err)
		}
		if !slices.Equal(leaves.items, []int{first, first + 1}) {
			t.Fatalf("round %d: the cancelled subscriber got %v", round, leaves.items)
		}
		want = append(want, first, first+1, first+2)
	}
	p.Complete()
	if err := doneStays(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stays.items, want) {
		t.Fatalf("the other subscriber got %v", stays.items)
	}
}

func TestSubscribingFromInsideTheCallbackGetsWhatIsPublishedFromThen(t *testing.T) {
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	b := &journal{}
	errB := make(chan error, 1)
	registered := make(chan struct{})
	var unregistered bool
	a := &journal{}
	a.hook = func(v int) error {
		if v != 0 {
			return nil
		}
		// Subscribe blocks until the stream ends, so it runs on a
		// goroutine of its own; the callback waits (bounded) until it is
		// registered. Its OnSubscribe publishes, as a watcher's start
		// does.
		hello := stream.OnSubscribe(func() { p.Push(100) })
		signal := stream.OnSubscribe(func() { close(registered) })
		go func() { errB <- p.Observable(hello, signal).Subscribe(ctx, b) }()
		select {
		case <-registered:
		case <-time.After(wait):
			unregistered = true
		}
		return nil
	}
	doneA := attach(t, ctx, p, stream.Observer[int](a))
	returns(t, "Push whose callback subscribes", func() { p.Push(0) })
	if unregistered {
		t.Fatal("the subscription made from the callback was not registered")
	}
	if n := p.Subscribers(); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	p.Push(1)
	p.Complete()
	if err := doneA(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errB:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("the subscription made from the callback did not end")
	}
	if !slices.Equal(a.items, []int{0, 100, 1}) || !slices.Equal(b.items, []int{100, 1}) {
		t.Fatalf("a got %v, b got %v", a.items, b.items)
	}
}

// The producer is inside a PushBatch that cannot fit the queue of a
// Block subscriber, waiting for room, when that subscriber's callback ends
// the stream: the end is queued behind the batch.
func TestEndFromABlockedBufferedSubscriberDoesNotWaitForTheProducer(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(p *stream.Publisher[int])
		want error
	}{
		{"Complete", (*stream.Publisher[int]).Complete, nil},
		{"Error", func(p *stream.Publisher[int]) { p.Error(io.ErrClosedPipe) }, io.ErrClosedPipe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			p := stream.NewPublisher[int]()
			var got []int
			o := stream.ObserverFuncs[int]{OnNext: func(v int) error {
				got = append(got, v)
				if v == 0 {
					tc.end(p)
				}
				return nil
			}}
			done := attach(t, ctx, p, stream.Observer[int](o), stream.WithBuffer(2, stream.Block))
			returns(t, "PushBatch into a full queue whose consumer ends the stream", func() {
				p.PushBatch(seq(100))
			})
			if err := done(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !slices.Equal(got, seq(100)) {
				t.Fatalf("got %d items, want the whole batch published before the end", len(got))
			}
		})
	}
}

// Eight goroutines push to one inline subscriber; with echo, the
// subscriber also pushes an echo (-v-1) of each item from its callback.
// The counters are plain variables: -race reports calls that overlap.
func TestConcurrentPushersNeverRunOneInlineSubscriberConcurrently(t *testing.T) {
	for _, echo := range []bool{false, true} {
		t.Run("echo="+strconv.FormatBool(echo), func(t *testing.T) {
			concurrentPushers(t, echo)
		})
	}
}

func concurrentPushers(t *testing.T, echo bool) {
	const pushers, each = 8, 2000
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	var (
		count   int
		inCall  bool
		overlap bool
		last    [pushers]int
		order   = true
		seen    = make(map[int]bool)
	)
	for i := range last {
		last[i] = -1
	}
	o := stream.ObserverFuncs[int]{OnNext: func(v int) error {
		if inCall {
			overlap = true
		}
		inCall = true
		defer func() { inCall = false }()
		count++
		if v < 0 {
			if !seen[-v-1] {
				order = false // an echo before its item
			}
			return nil
		}
		seen[v] = true
		g, i := v/each, v%each
		if i <= last[g] {
			order = false
		}
		last[g] = i
		if echo {
			p.Push(-v - 1)
		}
		return nil
	}}
	done := attach(t, ctx, p, stream.Observer[int](o))
	var wg sync.WaitGroup
	for g := range pushers {
		wg.Go(func() {
			for i := range each {
				if i%2 == 0 {
					p.Push(g*each + i)
				} else {
					p.PushBatch([]int{g*each + i})
				}
			}
		})
	}
	returns(t, "the pushers", wg.Wait)
	p.Complete()
	if err := done(); err != nil {
		t.Fatal(err)
	}
	want := pushers * each
	if echo {
		want *= 2
	}
	if count != want || overlap || !order {
		t.Fatalf("count %d, want %d; overlapping calls %v; order kept %v", count, want, overlap, order)
	}
}

func TestNoGoroutineIsLeftAfterACompleteFromInside(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := testContext(t)
	p := stream.NewPublisher[int]()
	ender := &journal{}
	ender.hook = func(v int) error {
		if v == 5 {
			p.Complete()
		}
		return nil
	}
	var dones []func() error
	dones = append(dones, attach(t, ctx, p, stream.Observer[int](ender)))
	for _, opt := range []stream.SubscribeOption{
		stream.WithBuffer(0, stream.Block),
		stream.WithBuffer(2, stream.Block),
		stream.WithBuffer(2, stream.DropOldest),
		stream.WithBuffer(2, stream.Fail),
	} {
		dones = append(dones, attach(t, ctx, p, stream.Observer[int](newRecorder[int]()), opt))
	}
	returns(t, "pushes through a Complete from inside", func() {
		for i := range 10 {
			p.Push(i)
		}
	})
	for i, done := range dones {
		if err := done(); err != nil && !errors.Is(err, stream.ErrOverflow) {
			t.Fatalf("subscriber %d: %v", i, err)
		}
	}
	if p.Subscribers() != 0 {
		t.Fatalf("%d subscribers left", p.Subscribers())
	}
}
