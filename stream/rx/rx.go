package rx

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nlrx/nlrx/stream"
	"github.com/reactivex/rxgo/v2"
)

// ErrType is matched by the error of FromRx when an rxgo item does not hold
// the expected type.
var ErrType = errors.New("rx: item of unexpected type")

// ToRx returns a cold rxgo.Observable of src's items: each Observe
// subscribes to src on the goroutine rxgo starts for the producer and sends
// each item as rxgo.Of(item). A Gap is sent as an error item (rxgo.Error
// with the stream.Gap; with rxgo's default StopOnError strategy it ends
// rxgo's pipeline) and src's error as a last error item.
//
// Lifetime: the subscription ends when src ends, when ctx is done, or when
// the context rxgo passes to the producer (rxgo.WithContext on Observe or
// on the operators observing it) is done; a blocked send is abandoned then,
// and the goroutine exits. An rxgo consumer that stops reading early
// without a context (break out of range, First, Take) is invisible to the
// producer, as to any rxgo producer, so the caller must then cancel ctx:
// rxgo itself leaks its goroutines in that case, ToRx does not once ctx is
// cancelled.
//
// Cost: rxgo's goroutine and channel hop, and the boxing of each item into
// an interface (one allocation per item for most T). Filter and map in the
// stream operators first and cross into rxgo as late as possible; use
// ToRxBatched for throughput.
func ToRx[T any](ctx context.Context, src stream.Observable[T], opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(rctx context.Context, next chan<- rxgo.Item) {
		sctx, cancel := bind(ctx, rctx)
		defer cancel()
		send := func(it rxgo.Item) error { return sendItem(sctx, rctx, next, it) }
		err := src.Subscribe(sctx, stream.ObserverFuncs[T]{
			OnNext: func(v T) error { return send(rxgo.Of(v)) },
			OnGap:  func(g stream.Gap) error { return send(rxgo.Error(g)) },
		})
		if err != nil && sctx.Err() == nil && (rctx == nil || rctx.Err() == nil) {
			send(rxgo.Error(err))
		}
	}}, opts...)
}

// ToRxBatched is ToRx with each rxgo item holding a []T of up to
// stream.BatchSize items, in order: a batch from src (a datagram's
// messages, a slice chunk) crosses into rxgo as one item. A goroutine per
// subscription hands the batches to rxgo: an item goes at once when rxgo
// is waiting for one, and the items that arrive while rxgo is busy are
// gathered into the next batch, so batching adds no latency and nothing
// waits for a later item to be sent. src is held back (backpressure) once
// a full batch waits. Each []T is newly allocated and belongs to the rxgo
// consumer. Cost: a mutex per item, two allocations (the slice and its
// boxing) and one channel hop per batch instead of per item.
func ToRxBatched[T any](ctx context.Context, src stream.Observable[T], opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(rctx context.Context, next chan<- rxgo.Item) {
		sctx, cancel := bind(ctx, rctx)
		defer cancel()
		b := &batcher[T]{ctx: sctx, rctx: rctx, next: next,
			kick: make(chan struct{}, 1), progress: make(chan struct{}, 1),
			quit: make(chan struct{}), stopped: make(chan struct{})}
		go b.run()
		err := src.Subscribe(sctx, b)
		ferr := b.drain() // the items gathered come before the end
		close(b.quit)
		<-b.stopped
		if err == nil {
			err = ferr
		}
		if err != nil && sctx.Err() == nil && (rctx == nil || rctx.Err() == nil) {
			b.send(rxgo.Error(err))
		}
	}}, opts...)
}

// bind returns a context that ends with ctx or with rctx, rxgo's.
func bind(ctx, rctx context.Context) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(ctx)
	if rctx == nil || rctx.Done() == nil {
		return sctx, cancel
	}
	stop := context.AfterFunc(rctx, cancel)
	return sctx, func() {
		stop()
		cancel()
	}
}

// batcher gathers src's items for ToRxBatched. The observer methods run on
// src's goroutine, one at a time; run, on its own goroutine, is the only
// one that sends batches to rxgo, so they keep their order.
type batcher[T any] struct {
	ctx      context.Context
	rctx     context.Context
	next     chan<- rxgo.Item
	kick     chan struct{} // wakes run: pending was empty and run idle
	progress chan struct{} // run sent a batch or went idle
	quit     chan struct{} // closed when src is done and drained
	stopped  chan struct{} // closed when run returns

	mu      sync.Mutex
	pending []T   // gathered, not yet taken by run
	sending bool  // run holds a batch it has not sent yet
	err     error // why run stopped sending
}

func (b *batcher[T]) send(it rxgo.Item) error { return sendItem(b.ctx, b.rctx, b.next, it) }

// sendItem sends it to rxgo unless ctx or rxgo's context rctx is done. It
// looks at rctx itself rather than waiting for bind to propagate it, so
// that nothing more is sent once rxgo's consumer has cancelled.
func sendItem(ctx, rctx context.Context, next chan<- rxgo.Item, it rxgo.Item) error {
	var rdone <-chan struct{}
	if rctx != nil {
		rdone = rctx.Done()
		if err := rctx.Err(); err != nil {
			return err
		}
	}
	select {
	case next <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-rdone:
		return rctx.Err()
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run sends what is gathered, batch after batch, until quit.
func (b *batcher[T]) run() {
	defer close(b.stopped)
	for {
		select {
		case <-b.kick:
		case <-b.quit:
			return
		case <-b.ctx.Done():
			return
		}
		for {
			b.mu.Lock()
			out := b.pending
			b.pending = nil
			b.sending = len(out) > 0
			b.mu.Unlock()
			if len(out) == 0 {
				signal(b.progress)
				break
			}
			err := b.send(rxgo.Of(out))
			b.mu.Lock()
			b.sending = false
			if err != nil {
				b.err = err
			}
			b.mu.Unlock()
			signal(b.progress)
			if err != nil {
				return
			}
		}
	}
}

// add gathers vs and wakes run if it is idle; it waits while a full batch
// is already waiting.
func (b *batcher[T]) add(vs ...T) error {
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return err
	}
	wake := len(b.pending) == 0 && !b.sending
	b.pending = append(b.pending, vs...)
	full := len(b.pending) >= stream.BatchSize
	b.mu.Unlock()
	if wake {
		signal(b.kick)
	}
	if full {
		return b.wait(func() bool { return len(b.pending) < stream.BatchSize })
	}
	if err := b.ctx.Err(); err != nil {
		return err
	}
	if b.rctx != nil {
		return b.rctx.Err()
	}
	return nil
}

// wait waits until ready holds (under mu), run fails, or a context ends.
func (b *batcher[T]) wait(ready func() bool) error {
	var rdone <-chan struct{}
	if b.rctx != nil {
		rdone = b.rctx.Done()
	}
	for {
		b.mu.Lock()
		ok, err := ready(), b.err
		b.mu.Unlock()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-b.progress:
		case <-b.ctx.Done():
			return b.ctx.Err()
		case <-rdone:
			return b.rctx.Err()
		}
	}
}

// drain waits until run has sent everything gathered.
func (b *batcher[T]) drain() error {
	return b.wait(func() bool { return len(b.pending) == 0 && !b.sending })
}

func (b *batcher[T]) Next(v T) error { return b.add(v) }

func (b *batcher[T]) NextBatch(items []T) error {
	for len(items) > 0 {
		n := min(len(items), stream.BatchSize)
		if err := b.add(items[:n]...); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

// Gap goes after everything gathered before it; run is idle while it is
// sent, since only the observer methods wake it.
func (b *batcher[T]) Gap(g stream.Gap) error {
	if err := b.drain(); err != nil {
		return err
	}
	return b.send(rxgo.Error(g))
}

// FromRx returns an Observable of an rxgo.Observable's items, which must
// hold values of type T: each Subscribe calls src.Observe with opts and
// rxgo.WithContext of a context that ends with the subscription, so rxgo's
// producers and operators observing it stop when the subscriber stops or
// its ctx ends. An rxgo error item fails the stream with its error; an item
// of another type fails it with an error wrapping ErrType. Items already
// waiting in rxgo's channel are passed on together as one batch (up to
// stream.BatchSize). An rxgo source that ignores its context (FromChannel
// over a channel nobody closes) keeps its own goroutine; that is rxgo's
// behaviour, not a goroutine of this package, which starts none.
func FromRx[T any](src rxgo.Observable, opts ...rxgo.Option) stream.Observable[T] {
	opts = append([]rxgo.Option(nil), opts...)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := src.Observe(append(opts, rxgo.WithContext(rctx))...)
		var buf []T
		for {
			var it rxgo.Item
			var ok bool
			select {
			case <-ctx.Done():
				return ctx.Err()
			case it, ok = <-ch:
			}
			if !ok {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err // both were ready: no item once ctx is done
			}
			v, err := value[T](it)
			if err != nil {
				return err
			}
			if len(ch) == 0 {
				if err := o.Next(v); err != nil {
					return err
				}
				continue
			}
			buf = append(buf[:0], v)
			var ierr error
			closed := false
		gather:
			for len(buf) < stream.BatchSize {
				select {
				case it, ok := <-ch:
					if !ok {
						closed = true
						break gather
					}
					v, err := value[T](it)
					if err != nil {
						ierr = err
						break gather
					}
					buf = append(buf, v)
				default:
					break gather
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			err = o.NextBatch(buf)
			clear(buf)
			switch {
			case err != nil:
				return err
			case ierr != nil:
				return ierr
			case closed:
				return nil
			}
		}
	})
}

func value[T any](it rxgo.Item) (T, error) {
	var zero T
	if it.E != nil {
		return zero, it.E
	}
	v, ok := it.V.(T)
	if !ok {
		return zero, fmt.Errorf("rx: got %T, want %T: %w", it.V, zero, ErrType)
	}
	return v, nil
}
