package operators_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

// hotSource is a Publisher the test pushes into, wrapped so that it counts
// the subscriptions made to it.
type hotSource struct {
	pub           *stream.Publisher[int]
	subscriptions atomic.Int64
}

func (h *hotSource) observable() stream.Observable[int] {
	return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
		h.subscriptions.Add(1)
		return h.pub.Observable().Subscribe(ctx, o)
	})
}

// join subscribes to s on a new goroutine and returns once registered.
func join(t *testing.T, ctx context.Context, s *operators.Shared[int], r *recorder[int], opts ...stream.SubscribeOption) func() error {
	t.Helper()
	registered := make(chan struct{})
	done := async(t, ctx, s.Observable(append(opts, stream.OnSubscribe(func() { close(registered) }))...), stream.Observer[int](r))
	select {
	case <-registered:
	case <-ctx.Done():
		t.Fatal("not registered")
	}
	return done
}

func TestShareSubscribesOnceForManySubscribers(t *testing.T) {
	ctx := testContext(t)
	h := &hotSource{pub: stream.NewPublisher[int]()}
	s := operators.Share(h.observable())
	a, b := newRecorder[int](), newRecorder[int]()
	doneA := join(t, ctx, s, a)
	doneB := join(t, ctx, s, b, stream.WithBuffer(16, stream.Block))
	if err := h.pub.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.pub.PushBatch(seq(100))
	h.pub.Complete()
	for _, done := range []func() error{doneA, doneB} {
		if err := done(); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(a.got(), seq(100)) || !slices.Equal(b.got(), seq(100)) {
		t.Fatalf("a got %d, b got %d items", len(a.got()), len(b.got()))
	}
	if n := h.subscriptions.Load(); n != 1 {
		t.Fatalf("%d subscriptions to the source, want 1", n)
	}
}

func TestShareLastSubscriberLeavingStopsTheSource(t *testing.T) {
	ctx := testContext(t)
	h := &hotSource{pub: stream.NewPublisher[int]()}
	s := operators.Share(h.observable())
	ctxA, cancelA := context.WithCancel(ctx)
	ctxB, cancelB := context.WithCancel(ctx)
	a, b := newRecorder[int](), newRecorder[int]()
	doneA := join(t, ctxA, s, a)
	doneB := join(t, ctxB, s, b)
	if err := h.pub.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.pub.Push(1)
	cancelA()
	if err := doneA(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	h.pub.Push(2) // b is still there: the source too
	if h.pub.Subscribers() != 1 {
		t.Fatal("the source lost its subscription while b remains")
	}
	cancelB()
	if err := doneB(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// The last one out has cancelled the source and waited for it.
	if h.pub.Subscribers() != 0 {
		t.Fatal("the source is still subscribed after the last subscriber left")
	}
	if got := b.trace(); got != "[1 2]" {
		t.Fatalf("b got %s", got)
	}
	// A new subscriber connects again.
	c := newRecorder[int]()
	ctxC, cancelC := context.WithCancel(ctx)
	doneC := join(t, ctxC, s, c)
	if err := h.pub.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.pub.Push(3)
	cancelC()
	if err := doneC(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if n := h.subscriptions.Load(); n != 2 || c.trace() != "[3]" {
		t.Fatalf("%d subscriptions, c got %s", n, c.trace())
	}
}

func TestShareStopsAnIdleSourceAtOnce(t *testing.T) {
	var produced atomic.Int64
	s := operators.Share(endless(&produced))
	r := newRecorder[int]()
	r.stopAfter = 5
	if err := s.Observable().Subscribe(testContext(t), r); err != nil {
		t.Fatal(err)
	}
	if p := produced.Load(); p > 6 {
		t.Fatalf("the shared source made %d items for one subscriber that stopped at 5", p)
	}
}

func TestShareSourceErrorReachesEverySubscriberAndReconnects(t *testing.T) {
	ctx := testContext(t)
	h := &hotSource{pub: stream.NewPublisher[int]()}
	s := operators.Share(h.observable())
	a, b := newRecorder[int](), newRecorder[int]()
	doneA := join(t, ctx, s, a)
	doneB := join(t, ctx, s, b)
	if err := h.pub.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	h.pub.Error(errBoom)
	for _, done := range []func() error{doneA, doneB} {
		if err := done(); !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
	}
	// The next subscriber starts a new connection to a (cold) source.
	s2 := operators.Share(stream.Just(1, 2))
	if got, err := trace(ctx, s2.Observable()); err != nil || got != "[1 2]" {
		t.Fatalf("%s %v", got, err)
	}
	if got, err := trace(ctx, s2.Observable()); err != nil || got != "[1 2]" {
		t.Fatalf("second connection: %s %v", got, err)
	}
}
