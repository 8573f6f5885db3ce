package operators

import (
	"context"
	"slices"
	"sync"

	"github.com/nlrx/nlrx/stream"
)

// Merge emits the items of all sources as they arrive and completes when
// all have completed; the first error (a source's, or the subscriber's)
// cancels the others and is the result.
//
// Ordering: the items of one source keep their order; items of different
// sources interleave in the order their deliveries take Merge's lock, a
// batch at a time (a batch is never split or interleaved).
//
// Concurrency and backpressure: every source is subscribed at once, each on
// its own goroutine (the subscriber's goroutine runs the first), because a
// hot source or a blocking one must not hold up the others. Deliveries are
// serialised by a mutex held while the downstream Observer runs, so a slow
// subscriber blocks every source (policy Block). Cost: len(sources)-1
// goroutines per subscription, all joined before Subscribe returns, and one
// uncontended lock per delivered batch or single item.
func Merge[T any](sources ...stream.Observable[T]) stream.Observable[T] {
	srcs := slices.Clone(sources)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		switch len(srcs) {
		case 0:
			return nil
		case 1:
			return srcs[0].Subscribe(ctx, o)
		}
		mctx, cancel := context.WithCancel(ctx)
		defer cancel()
		m := &merger[T]{ctx: mctx, down: o, cancel: cancel}
		var wg sync.WaitGroup
		for _, s := range srcs[1:] {
			wg.Go(func() { m.run(mctx, s) })
		}
		m.run(mctx, srcs[0])
		wg.Wait()
		return m.result(ctx)
	})
}

// merger serialises several concurrent producers into one Observer.
type merger[T any] struct {
	ctx     context.Context // nothing is delivered once it is done
	mu      sync.Mutex      // held while down runs
	down    stream.Observer[T]
	err     error // first error: the subscriber's or a source's
	stopped bool
	cancel  context.CancelFunc
}

func (m *merger[T]) run(ctx context.Context, s stream.Observable[T]) {
	if err := s.Subscribe(ctx, m); err != nil {
		m.fail(err)
	}
}

func (m *merger[T]) fail(err error) {
	m.mu.Lock()
	if !m.stopped {
		m.stopped, m.err = true, err
	}
	m.mu.Unlock()
	m.cancel()
}

func (m *merger[T]) result(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	return ctx.Err()
}

func (m *merger[T]) deliver(call func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return stream.ErrStop
	}
	if err := m.ctx.Err(); err != nil {
		return err
	}
	err := call()
	if err != nil {
		m.stopped, m.err = true, err
		m.cancel()
	}
	return err
}

func (m *merger[T]) Next(v T) error {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return stream.ErrStop
	}
	if err := m.ctx.Err(); err != nil {
		m.mu.Unlock()
		return err
	}
	err := m.down.Next(v)
	if err != nil {
		m.stopped, m.err = true, err
		m.cancel()
	}
	m.mu.Unlock()
	return err
}

func (m *merger[T]) NextBatch(items []T) error {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return stream.ErrStop
	}
	if err := m.ctx.Err(); err != nil {
		m.mu.Unlock()
		return err
	}
	err := m.down.NextBatch(items)
	if err != nil {
		m.stopped, m.err = true, err
		m.cancel()
	}
	m.mu.Unlock()
	return err
}

func (m *merger[T]) Gap(g stream.Gap) error {
	return m.deliver(func() error { return m.down.Gap(g) })
}

// Concat emits all items of each source in turn: it subscribes to the next
// source only when the previous one has completed. An error ends it. No
// goroutine.
func Concat[T any](sources ...stream.Observable[T]) stream.Observable[T] {
	srcs := slices.Clone(sources)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		g := &guard[T]{down: o}
		for _, s := range srcs {
			err := s.Subscribe(ctx, g)
			if g.err != nil {
				return g.err
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// FlatMap subscribes to fn(item) for each item and emits the items of those
// inner Observables.
//
// By default the inner Observables run one at a time, inline, on the
// goroutine that delivered the outer item, which waits for each to
// complete: the output keeps the outer order, and no goroutine is started
// (for a hot inner source this holds up the outer one). With
// Concurrency(n), up to n inner Observables run at once, each on its own
// goroutine, their items merged as Merge does (each inner's order kept);
// the outer source waits (Block) while n are running. An inner error, or the
// subscriber's, ends the whole stream; gaps of the outer source pass
// through.
func FlatMap[T, R any](src stream.Observable[T], fn func(T) stream.Observable[R], opts ...Option) stream.Observable[R] {
	if fn == nil {
		return nilFunc[R]("FlatMap")
	}
	cfg := newConfig(opts)
	if cfg.concurrent > 1 {
		return flatMapConcurrent(src, fn, cfg.concurrent)
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		return src.Subscribe(ctx, &flatMap[T, R]{ctx: ctx, fn: fn, g: guard[R]{down: o}})
	})
}

type flatMap[T, R any] struct {
	ctx context.Context
	fn  func(T) stream.Observable[R]
	g   guard[R]
}

func (f *flatMap[T, R]) Next(v T) error {
	err := f.fn(v).Subscribe(f.ctx, &f.g)
	if f.g.err != nil {
		return f.g.err
	}
	return err
}

func (f *flatMap[T, R]) NextBatch(items []T) error {
	for i := range items {
		if err := f.Next(items[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *flatMap[T, R]) Gap(g stream.Gap) error { return f.g.Gap(g) }

func flatMapConcurrent[T, R any](src stream.Observable[T], fn func(T) stream.Observable[R], n int) stream.Observable[R] {
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		mctx, cancel := context.WithCancel(ctx)
		defer cancel()
		m := &merger[R]{ctx: mctx, down: o, cancel: cancel}
		f := &flatMapConc[T, R]{ctx: mctx, fn: fn, m: m, sem: make(chan struct{}, n)}
		err := src.Subscribe(mctx, f)
		if err != nil {
			m.fail(err) // cancels the inners before waiting for them
		}
		f.wg.Wait()
		return m.result(ctx)
	})
}

type flatMapConc[T, R any] struct {
	ctx context.Context
	fn  func(T) stream.Observable[R]
	m   *merger[R]
	sem chan struct{}
	wg  sync.WaitGroup
}

func (f *flatMapConc[T, R]) Next(v T) error {
	select {
	case f.sem <- struct{}{}:
	case <-f.ctx.Done():
		return f.ctx.Err()
	}
	inner := f.fn(v)
	f.wg.Go(func() {
		defer func() { <-f.sem }()
		f.m.run(f.ctx, inner)
	})
	return nil
}

func (f *flatMapConc[T, R]) NextBatch(items []T) error {
	for i := range items {
		if err := f.Next(items[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *flatMapConc[T, R]) Gap(g stream.Gap) error { return f.m.Gap(g) }
