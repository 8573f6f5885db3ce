package operators_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// wait bounds every wait in these tests: reaching it is a failure, never
// a synchronisation.
const wait = 10 * time.Second

var errBoom = errors.New("boom")

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

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

// recorder records what reaches it; safe to read while deliveries happen.
type recorder[T any] struct {
	mu        sync.Mutex
	items     []T
	events    []string
	gaps      int
	stopAfter int // return ErrStop once this many items arrived
	arrived   chan struct{}
}

func newRecorder[T any]() *recorder[T] { return &recorder[T]{arrived: make(chan struct{}, 1)} }

func (r *recorder[T]) signal() {
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}

func (r *recorder[T]) Next(v T) error {
	defer r.signal()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
	r.events = append(r.events, fmt.Sprint(v))
	if r.stopAfter > 0 && len(r.items) >= r.stopAfter {
		return stream.ErrStop
	}
	return nil
}

func (r *recorder[T]) NextBatch(vs []T) error {
	for _, v := range vs {
		if err := r.Next(v); err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder[T]) Gap(g stream.Gap) error {
	defer r.signal()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps++
	r.events = append(r.events, "gap")
	return nil
}

func (r *recorder[T]) got() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.items...)
}

func (r *recorder[T]) trace() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.events)
}

func (r *recorder[T]) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.arrived:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s (have %s)", what, r.trace())
		}
	}
}

func (r *recorder[T]) waitLen(t *testing.T, n int) {
	t.Helper()
	r.waitFor(t, fmt.Sprintf("%d items", n), func() bool { return len(r.got()) >= n })
}

// async runs s.Subscribe(ctx, o) on a new goroutine; the returned function
// waits (bounded) for its result.
func async[T any](t *testing.T, ctx context.Context, s stream.Observable[T], o stream.Observer[T]) func() error {
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

// trace subscribes and returns the notifications in order, as
// "[0 1 gap 2]", and the result.
func trace[T any](ctx context.Context, s stream.Observable[T]) (string, error) {
	r := newRecorder[T]()
	err := s.Subscribe(ctx, r)
	return r.trace(), err
}

// shapes builds the same input in the ways a source can deliver it: one
// item per call, in batches, and mixed; items may include gaps (a negative
// value -n stands for a Gap of n items) and end with err.
var shapes = []struct {
	name string
	make func(in []int, err error, produced *atomic.Int64) stream.Observable[int]
}{
	{"items", func(in []int, err error, produced *atomic.Int64) stream.Observable[int] {
		return emitter(in, err, produced, 1)
	}},
	{"batches", func(in []int, err error, produced *atomic.Int64) stream.Observable[int] {
		return emitter(in, err, produced, stream.BatchSize)
	}},
	{"mixed", func(in []int, err error, produced *atomic.Int64) stream.Observable[int] {
		return emitter(in, err, produced, 3)
	}},
}

// emitter emits in, batching runs of up to batch items, checking ctx
// before each call as a source must.
func emitter(in []int, err error, produced *atomic.Int64, batch int) stream.Observable[int] {
	return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
		var run []int
		flush := func() error {
			if len(run) == 0 {
				return nil
			}
			if e := ctx.Err(); e != nil {
				return e
			}
			var e error
			if len(run) == 1 {
				e = o.Next(run[0])
			} else {
				e = o.NextBatch(run)
			}
			run = run[:0]
			return e
		}
		for _, v := range in {
			if v < 0 {
				if e := flush(); e != nil {
					return e
				}
				if e := o.Gap(stream.Gap{Dropped: uint64(-v)}); e != nil {
					return e
				}
				continue
			}
			if produced != nil {
				produced.Add(1)
			}
			run = append(run, v)
			if len(run) == batch {
				if e := flush(); e != nil {
					return e
				}
			}
		}
		if e := flush(); e != nil {
			return e
		}
		return err
	})
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
