package stream_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// wait bounds every wait in these tests: reaching it is a failure, never
// a synchronisation.
const wait = 10 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// recorder is an Observer that records what it receives. It is safe to
// read from another goroutine while deliveries happen.
type recorder[T any] struct {
	mu      sync.Mutex
	items   []T
	calls   int // Next and NextBatch calls
	batches int // NextBatch calls
	gaps    []stream.Gap
	events  []string // "item", "gap" in order
	// stopAfter, if > 0, returns ErrStop once that many items arrived.
	stopAfter int
	// fail, if not nil, is returned once failAfter items arrived.
	fail      error
	failAfter int
	// onItem runs (without the lock) after each item with the count so far.
	onItem func(n int)
	// gapErr is returned from Gap (nil: accept gaps).
	gapErr error
	// arrived is signalled (non-blocking) after each call.
	arrived chan struct{}
}

func newRecorder[T any]() *recorder[T] { return &recorder[T]{arrived: make(chan struct{}, 1)} }

func (r *recorder[T]) add(v T) error {
	r.mu.Lock()
	r.items = append(r.items, v)
	r.events = append(r.events, "item")
	n := len(r.items)
	r.mu.Unlock()
	if r.onItem != nil {
		r.onItem(n)
	}
	if r.fail != nil && n >= r.failAfter {
		return r.fail
	}
	if r.stopAfter > 0 && n >= r.stopAfter {
		return stream.ErrStop
	}
	return nil
}

func (r *recorder[T]) signal() {
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

func (r *recorder[T]) Next(v T) error {
	defer r.signal()
	r.mu.Lock()
	r.calls++
	r.mu.Unlock()
	return r.add(v)
}

func (r *recorder[T]) NextBatch(items []T) error {
	defer r.signal()
	r.mu.Lock()
	r.calls++
	r.batches++
	r.mu.Unlock()
	for _, v := range items {
		if err := r.add(v); err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder[T]) Gap(g stream.Gap) error {
	defer r.signal()
	r.mu.Lock()
	r.gaps = append(r.gaps, g)
	r.events = append(r.events, "gap")
	r.mu.Unlock()
	return r.gapErr
}

func (r *recorder[T]) snapshot() ([]T, []stream.Gap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...), append([]stream.Gap(nil), r.gaps...)
}

func (r *recorder[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// waitFor blocks until cond holds after some delivery, failing the test
// after the bound.
func (r *recorder[T]) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.arrived:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// within is waitFor bounded by d, reporting whether cond came to hold.
func (r *recorder[T]) within(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.arrived:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// seq returns 0..n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// subscribeAsync runs s.Subscribe(ctx, o) on a new goroutine; the returned
// function waits (bounded) for it to return and reports its result.
func subscribeAsync[T any](t *testing.T, ctx context.Context, s stream.Observable[T], o stream.Observer[T]) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, o) }()
	return func() error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(wait):
			t.Fatal("Subscribe did not return")
			return nil
		}
	}
}

// buffered runs pushes to a buffered subscriber whose observer is gated,
// which return at once; delivered inline instead, they would block on the
// gate, which the bound reports.
func buffered(t *testing.T, push func()) {
	t.Helper()
	returns(t, "a push to a buffered subscriber", push)
}

// waitClosed fails the test if ch is not closed within the bound.
func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
	}
}
