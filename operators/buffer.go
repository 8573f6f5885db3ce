package operators

import (
	"context"
	"sync"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// BufferCount emits the items in slices of n (n < 1 means 1), the last one
// shorter if the source completes between two. Each emitted slice is newly
// allocated and belongs to the receiver (one allocation per slice). A Gap
// first emits the partial slice, then passes through, so that a slice never
// spans a loss. On a source error the partial slice is dropped. Runs inline;
// no goroutine.
func BufferCount[T any](src stream.Observable[T], n int) stream.Observable[[]T] {
	n = max(n, 1)
	return stream.Create(func(ctx context.Context, o stream.Observer[[]T]) error {
		b := &bufferCount[T]{n: n, down: o}
		err := src.Subscribe(ctx, b)
		if err != nil || b.stopped || len(b.buf) == 0 {
			return err
		}
		return o.Next(b.buf)
	})
}

type bufferCount[T any] struct {
	n       int
	buf     []T
	down    stream.Observer[[]T]
	stopped bool // the downstream returned an error
}

func (b *bufferCount[T]) emit() error {
	out := b.buf
	b.buf = nil
	if err := b.down.Next(out); err != nil {
		b.stopped = true
		return err
	}
	return nil
}

func (b *bufferCount[T]) Next(v T) error {
	if b.buf == nil {
		b.buf = make([]T, 0, b.n)
	}
	b.buf = append(b.buf, v)
	if len(b.buf) == b.n {
		return b.emit()
	}
	return nil
}

func (b *bufferCount[T]) NextBatch(items []T) error {
	for len(items) > 0 {
		if b.buf == nil {
			b.buf = make([]T, 0, b.n)
		}
		k := min(b.n-len(b.buf), len(items))
		b.buf = append(b.buf, items[:k]...)
		items = items[k:]
		if len(b.buf) == b.n {
			if err := b.emit(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *bufferCount[T]) Gap(g stream.Gap) error {
	if len(b.buf) > 0 {
		if err := b.emit(); err != nil {
			return err
		}
	}
	if err := b.down.Gap(g); err != nil {
		b.stopped = true
		return err
	}
	return nil
}

// BufferTime emits, every period, a slice of the items that arrived during
// it (empty periods emit nothing), and early when maxSize items are waiting
// (maxSize < 1: no limit). The slice still pending when the source
// completes is emitted; on a source error it is dropped. Emitted slices are
// newly allocated and belong to the receiver. A Gap emits the pending slice,
// then passes through.
//
// Concurrency and backpressure: one goroutine per subscription waits on a
// ticker and emits the periodic slices; items are added under a mutex that
// is also held while the downstream runs, so a slow subscriber blocks the
// source (policy Block). The goroutine is stopped before Subscribe returns,
// and nothing is emitted once ctx is done. Cost: one append per item, one
// allocation per emitted slice.
func BufferTime[T any](src stream.Observable[T], period time.Duration, maxSize int, opts ...Option) stream.Observable[[]T] {
	if period <= 0 {
		return BufferCount(src, max(maxSize, 1))
	}
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[[]T]) error {
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b := &bufferTime[T]{ctx: bctx, max: maxSize, down: o, cancel: cancel}
		tick := cfg.clock.NewTicker(period)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-tick.C():
					b.mu.Lock()
					b.flushLocked()
					b.mu.Unlock()
				case <-done:
					return
				}
			}
		})
		err := src.Subscribe(bctx, b)
		close(done)
		wg.Wait()
		tick.Stop()
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.err != nil {
			return b.err
		}
		if err != nil {
			return err
		}
		if len(b.buf) > 0 {
			return o.Next(b.buf)
		}
		return nil
	})
}

type bufferTime[T any] struct {
	ctx    context.Context
	max    int
	cancel context.CancelFunc

	mu   sync.Mutex // guards the fields below and is held while down runs
	buf  []T
	down stream.Observer[[]T]
	err  error // the downstream's first error
}

// flushLocked emits the pending slice, if any.
func (b *bufferTime[T]) flushLocked() {
	if len(b.buf) == 0 || b.err != nil || b.ctx.Err() != nil {
		return
	}
	out := b.buf
	b.buf = nil
	if err := b.down.Next(out); err != nil {
		b.err = err
		b.cancel()
	}
}

func (b *bufferTime[T]) Next(v T) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.buf = append(b.buf, v)
	if b.max > 0 && len(b.buf) >= b.max {
		b.flushLocked()
	}
	return b.err
}

func (b *bufferTime[T]) NextBatch(items []T) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(items) > 0 && b.err == nil {
		k := len(items)
		if b.max > 0 {
			k = min(k, b.max-len(b.buf))
		}
		b.buf = append(b.buf, items[:k]...)
		items = items[k:]
		if b.max > 0 && len(b.buf) >= b.max {
			b.flushLocked()
		}
	}
	return b.err
}

func (b *bufferTime[T]) Gap(g stream.Gap) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	if b.err != nil {
		return b.err
	}
	if err := b.down.Gap(g); err != nil {
		b.err = err
		b.cancel()
	}
	return b.err
}
