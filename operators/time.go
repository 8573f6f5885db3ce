package operators

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// ErrTimeout is the error of a stream ended by Timeout.
var ErrTimeout = errors.New("operators: timeout")

// Debounce emits an item only once quiet has passed without a newer one
// (the last of a burst of route changes, say). The item still pending when
// the source completes is emitted; on a source error it is dropped. A Gap
// first emits the pending item, then passes through. A quiet period of 0 or
// less returns src unchanged.
//
// Concurrency and backpressure: one goroutine per subscription waits on a
// timer and emits; arrivals only record the item and its deadline under a
// mutex, which is also held while the downstream runs (policy Block: a slow
// subscriber delays the source). Newer items replace older ones, which is
// the point. Cost: one clock read per call (Next or NextBatch) and a timer
// reset when the timer is idle. The goroutine is stopped before Subscribe
// returns; nothing is emitted once ctx is done.
func Debounce[T any](src stream.Observable[T], quiet time.Duration, opts ...Option) stream.Observable[T] {
	if quiet <= 0 {
		return src
	}
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		d := &debounce[T]{ctx: dctx, cancel: cancel, quiet: quiet, clock: cfg.clock, down: o}
		d.timer = cfg.clock.NewTimer(time.Hour)
		d.timer.Stop()
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-d.timer.C():
					d.fire()
				case <-done:
					return
				}
			}
		})
		err := src.Subscribe(dctx, d)
		close(done)
		wg.Wait()
		d.timer.Stop()
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.err != nil {
			return d.err
		}
		if err != nil {
			return err
		}
		if d.has {
			return o.Next(d.pending)
		}
		return nil
	})
}

type debounce[T any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	quiet  time.Duration
	clock  Clock
	timer  Timer

	mu      sync.Mutex // guards the fields below; held while down runs
	down    stream.Observer[T]
	pending T
	has     bool
	due     time.Time
	armed   bool
	err     error
}

func (d *debounce[T]) arrive(v T) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.pending, d.has = v, true
	d.due = d.clock.Now().Add(d.quiet)
	if !d.armed {
		d.armed = true
		d.timer.Reset(d.quiet)
	}
	return nil
}

func (d *debounce[T]) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed = false
	if !d.has || d.err != nil || d.ctx.Err() != nil {
		return
	}
	if wait := d.due.Sub(d.clock.Now()); wait > 0 {
		// A newer item arrived since the timer was armed.
		d.armed = true
		d.timer.Reset(wait)
		return
	}
	d.emitLocked()
}

func (d *debounce[T]) emitLocked() {
	v := d.pending
	var zero T
	d.pending, d.has = zero, false
	if err := d.down.Next(v); err != nil {
		d.err = err
		d.cancel()
	}
}

func (d *debounce[T]) Next(v T) error { return d.arrive(v) }

func (d *debounce[T]) NextBatch(items []T) error {
	if len(items) == 0 {
		return nil
	}
	return d.arrive(items[len(items)-1])
}

func (d *debounce[T]) Gap(g stream.Gap) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.has && d.err == nil {
		d.emitLocked()
	}
	if d.err != nil {
		return d.err
	}
	if err := d.down.Gap(g); err != nil {
		d.err = err
		d.cancel()
	}
	return d.err
}

// Throttle emits an item, then drops the items that follow for window
// (throttle-first); the next item after the window is emitted and opens a
// new one. Items of one batch arrive at the same instant. Runs inline with
// one clock read per call; no goroutine.
func Throttle[T any](src stream.Observable[T], window time.Duration, opts ...Option) stream.Observable[T] {
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		return src.Subscribe(ctx, &throttle[T]{window: window, clock: cfg.clock, down: o})
	})
}

type throttle[T any] struct {
	window time.Duration
	clock  Clock
	down   stream.Observer[T]
	until  time.Time
	open   bool // an item has been emitted and until is set
}

func (t *throttle[T]) pass() bool {
	now := t.clock.Now()
	if t.open && now.Before(t.until) {
		return false
	}
	t.open, t.until = true, now.Add(t.window)
	return true
}

func (t *throttle[T]) Next(v T) error {
	if t.pass() {
		return t.down.Next(v)
	}
	return nil
}

func (t *throttle[T]) NextBatch(items []T) error {
	if len(items) > 0 && t.pass() {
		return t.down.Next(items[0])
	}
	return nil
}

func (t *throttle[T]) Gap(g stream.Gap) error { return t.down.Gap(g) }

// Sample emits, every period, the latest item that arrived during it
// (nothing if none did), and when the source completes, the latest item not
// yet emitted. Gaps pass through at once.
//
// Concurrency and backpressure: one goroutine per subscription waits on a
// ticker and emits; arrivals only replace the latest item under a mutex,
// which is also held while the downstream runs (Block). The goroutine is
// stopped before Subscribe returns; nothing is emitted once ctx is done.
func Sample[T any](src stream.Observable[T], period time.Duration, opts ...Option) stream.Observable[T] {
	if period <= 0 {
		return src
	}
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s := &sample[T]{ctx: sctx, cancel: cancel, down: o}
		tick := cfg.clock.NewTicker(period)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-tick.C():
					s.mu.Lock()
					if s.has && s.err == nil && sctx.Err() == nil {
						s.emitLocked()
					}
					s.mu.Unlock()
				case <-done:
					return
				}
			}
		})
		err := src.Subscribe(sctx, s)
		close(done)
		wg.Wait()
		tick.Stop()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.err != nil {
			return s.err
		}
		if err != nil {
			return err
		}
		if s.has {
			return o.Next(s.latest)
		}
		return nil
	})
}

type sample[T any] struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	down   stream.Observer[T]
	latest T
	has    bool
	err    error
}

func (s *sample[T]) emitLocked() {
	v := s.latest
	var zero T
	s.latest, s.has = zero, false
	if err := s.down.Next(v); err != nil {
		s.err = err
		s.cancel()
	}
}

func (s *sample[T]) Next(v T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.latest, s.has = v, true
	return nil
}

func (s *sample[T]) NextBatch(items []T) error {
	if len(items) == 0 {
		return nil
	}
	return s.Next(items[len(items)-1])
}

func (s *sample[T]) Gap(g stream.Gap) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := s.down.Gap(g); err != nil {
		s.err = err
		s.cancel()
	}
	return s.err
}

// Timeout fails the stream with an error wrapping ErrTimeout when nothing
// (no item, no gap) arrives for d: between subscribing and the first
// delivery, or between two deliveries. The source is cancelled through its
// context. An item racing with the deadline may be delivered just before
// the error. A d of 0 or less means no timeout: src is returned.
//
// Concurrency: one goroutine per subscription waits on a timer; arrivals
// only store the clock reading (one clock read and an atomic store per call,
// no lock, no timer reset). The goroutine is stopped before Subscribe
// returns.
func Timeout[T any](src stream.Observable[T], d time.Duration, opts ...Option) stream.Observable[T] {
	if d <= 0 {
		return src
	}
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		t := &timeout[T]{clock: cfg.clock, down: o}
		t.last.Store(cfg.clock.Now().UnixNano())
		timer := cfg.clock.NewTimer(d)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-timer.C():
					wait := time.Duration(t.last.Load()) + d - time.Duration(cfg.clock.Now().UnixNano())
					if wait > 0 {
						timer.Reset(wait)
						continue
					}
					t.expired.Store(true)
					cancel()
					return
				case <-done:
					return
				}
			}
		})
		err := src.Subscribe(tctx, t)
		close(done)
		wg.Wait()
		timer.Stop()
		// A source that completed (nil) did so before noticing the
		// deadline: it is not a timeout.
		if t.expired.Load() && err != nil && ctx.Err() == nil {
			return fmt.Errorf("operators: nothing for %v: %w", d, ErrTimeout)
		}
		return err
	})
}

type timeout[T any] struct {
	clock   Clock
	down    stream.Observer[T]
	last    atomic.Int64 // UnixNano of the last arrival
	expired atomic.Bool
}

func (t *timeout[T]) arrive() error {
	if t.expired.Load() {
		return ErrTimeout
	}
	t.last.Store(t.clock.Now().UnixNano())
	return nil
}

func (t *timeout[T]) Next(v T) error {
	if err := t.arrive(); err != nil {
		return err
	}
	return t.down.Next(v)
}

func (t *timeout[T]) NextBatch(items []T) error {
	if err := t.arrive(); err != nil {
		return err
	}
	return t.down.NextBatch(items)
}

func (t *timeout[T]) Gap(g stream.Gap) error {
	if err := t.arrive(); err != nil {
		return err
	}
	return t.down.Gap(g)
}
