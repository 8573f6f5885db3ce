package stream

import (
	"context"
	"iter"
)

// BatchSize is the largest batch the sources of this package emit in one
// NextBatch call, and the largest reusable buffer an operator of the
// operators package keeps (buffers grow to the batches they see, so a
// stream of single events keeps small ones). 1024 route-sized items are
// 64 KiB, within L2; larger batches amortise per-batch costs such as a
// goroutine handoff at an asynchronous boundary.
const BatchSize = 1024

// Empty returns an Observable that completes at once.
func Empty[T any]() Observable[T] {
	return Create(func(context.Context, Observer[T]) error { return nil })
}

// Error returns an Observable that fails at once with err.
func Error[T any](err error) Observable[T] {
	return Create(func(context.Context, Observer[T]) error { return err })
}

// Never returns an Observable that emits nothing and ends only when its
// subscriber's context does, with ctx.Err(). It starts no goroutine.
func Never[T any]() Observable[T] {
	return Create(func(ctx context.Context, _ Observer[T]) error {
		<-ctx.Done()
		return ctx.Err()
	})
}

// Just returns a cold Observable of the given items; see FromSlice.
func Just[T any](items ...T) Observable[T] { return FromSlice(items) }

// FromSlice returns a cold Observable that emits the items of s in order,
// in batches of at most BatchSize, checking ctx before each batch. It
// neither copies s nor allocates per subscription beyond the Observer's
// own needs; s must not change while a subscription runs.
func FromSlice[T any](s []T) Observable[T] {
	return Create(func(ctx context.Context, o Observer[T]) error {
		rest := s
		for len(rest) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(len(rest), BatchSize)
			if err := o.NextBatch(rest[:n:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
}

// FromChan returns an Observable that receives from ch until it is closed
// (completion) or ctx ends. Items already queued in ch when one arrives are
// passed along with it as one batch of at most BatchSize. Each subscriber
// drains the same channel, so concurrent subscribers share its items. It
// allocates one batch buffer per subscription and starts no goroutine.
func FromChan[T any](ch <-chan T) Observable[T] {
	return Create(func(ctx context.Context, o Observer[T]) error {
		var buf []T
		for {
			var v T
			var ok bool
			select {
			case <-ctx.Done():
				return ctx.Err()
			case v, ok = <-ch:
			}
			if !ok {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err // both were ready: no item once ctx is done
			}
			if len(ch) == 0 {
				if err := o.Next(v); err != nil {
					return err
				}
				continue
			}
			buf = append(buf[:0], v)
			closed := false
		drain:
			for len(buf) < BatchSize {
				select {
				case v, ok := <-ch:
					if !ok {
						closed = true
						break drain
					}
					buf = append(buf, v)
				default:
					break drain
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			err := o.NextBatch(buf)
			clear(buf)
			if err != nil {
				return err
			}
			if closed {
				return nil
			}
		}
	})
}

// FromSeq returns a cold Observable that ranges over seq for each
// subscriber, passing each item to Next (items are not batched, since an
// iterator may reuse the memory of the item it yielded last). ctx is checked
// before each item, so no item is emitted once ctx is done.
func FromSeq[T any](seq iter.Seq[T]) Observable[T] {
	return Create(func(ctx context.Context, o Observer[T]) error {
		var err error
		for v := range seq {
			if err = ctx.Err(); err != nil {
				break
			}
			if err = o.Next(v); err != nil {
				break
			}
		}
		return err
	})
}

// FromSeq2 is FromSeq for an iterator of items and errors: the first
// non-nil error ends the stream with that error.
func FromSeq2[T any](seq iter.Seq2[T, error]) Observable[T] {
	return Create(func(ctx context.Context, o Observer[T]) error {
		var err error
		for v, e := range seq {
			if e != nil {
				err = e
				break
			}
			if err = ctx.Err(); err != nil {
				break
			}
			if err = o.Next(v); err != nil {
				break
			}
		}
		return err
	})
}

// FromFunc returns a cold Observable that runs fn for each subscriber.
// fn calls emit for each item; emit returns an error once the subscription
// is over (ctx done, or the observer stopped or failed), and fn must then
// return that error. fn returns nil to complete the stream or an error to
// fail it. emit checks ctx before each item.
func FromFunc[T any](fn func(ctx context.Context, emit func(T) error) error) Observable[T] {
	return Create(func(ctx context.Context, o Observer[T]) error {
		var stop error
		err := fn(ctx, func(v T) error {
			if stop != nil {
				return stop
			}
			if stop = ctx.Err(); stop != nil {
				return stop
			}
			stop = o.Next(v)
			return stop
		})
		if stop != nil {
			return stop
		}
		return err
	})
}
