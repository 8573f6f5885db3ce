package stream

import (
	"context"
	"errors"
	"iter"
)

// collector appends items to a slice. Its header lives in a struct padded
// to a cache line: a bare slice header captured by a closure was measured
// to straddle cache lines and triple the cost of each append.
type collector[T any] struct {
	dst []T
	_   [40]byte
}

func (c *collector[T]) Next(v T) error            { c.dst = append(c.dst, v); return nil }
func (c *collector[T]) NextBatch(items []T) error { c.dst = append(c.dst, items...); return nil }
func (c *collector[T]) Gap(g Gap) error           { return g }

// Collect subscribes to s and returns every item, in order. On failure it
// returns the items received before the error, and the error; a Gap fails
// the collection (loss is never silent). Items are kept as received: for a
// source whose items alias reusable buffers (FromExecute), copy or decode
// them first. Cost: the slice's growth; use AppendTo with a presized slice
// to allocate nothing.
func Collect[T any](ctx context.Context, s Observable[T]) ([]T, error) {
	return AppendTo(ctx, nil, s)
}

// AppendTo is Collect appending to dst. With enough capacity in dst it
// allocates only the one collector per call.
func AppendTo[T any](ctx context.Context, dst []T, s Observable[T]) ([]T, error) {
	c := &collector[T]{dst: dst}
	err := s.Subscribe(ctx, c)
	return c.dst, err
}

// ForEach subscribes to s and calls fn for each item, in order, on the
// goroutine that delivers it. fn returning an error ends the stream with
// that error (ErrStop ends it without one). A Gap fails the stream; use
// Subscribe with ObserverFuncs to handle gaps. ForEach returns the stream's
// result as Subscribe does.
func ForEach[T any](ctx context.Context, s Observable[T], fn func(T) error) error {
	return s.Subscribe(ctx, ObserverFuncs[T]{OnNext: fn})
}

// Item is one notification on the channel of ToChan: an item (Err nil), a
// Gap (Err is a Gap; more items follow), or the stream's error (the last
// value before the channel closes).
type Item[T any] struct {
	V   T
	Err error
}

// ToChan subscribes to s on a new goroutine and sends its notifications to
// the returned channel (buffered to size), closing it when the stream ends.
// A failed stream sends its error as the last Item; a completed one just
// closes. The goroutine exits when the stream ends or ctx is done: a
// consumer that stops reading early must cancel ctx, or the goroutine
// blocks on its next send. Cost: one goroutine, one channel send per item.
// Items are sent as received; see Collect about aliasing sources.
func ToChan[T any](ctx context.Context, s Observable[T], size int) <-chan Item[T] {
	ch := make(chan Item[T], max(size, 0))
	go func() {
		defer close(ch)
		send := func(it Item[T]) error {
			select {
			case ch <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := s.Subscribe(ctx, ObserverFuncs[T]{
			OnNext: func(v T) error { return send(Item[T]{V: v}) },
			OnGap:  func(g Gap) error { return send(Item[T]{Err: g}) },
		})
		if err != nil && ctx.Err() == nil {
			send(Item[T]{Err: err})
		}
	}()
	return ch
}

// Seq returns a range-over-func view of s and a function reporting how the
// last range over it ended. Each range subscribes to s; breaking out of the
// loop stops the source. The loop body runs on the goroutine that delivers
// the items: the ranging goroutine for cold sources and buffered
// subscriptions, a producer's goroutine for an inline hot subscription.
// A Gap ends the range and is reported as its error. No goroutine, no
// iter.Pull.
func Seq[T any](ctx context.Context, s Observable[T]) (seq iter.Seq[T], errf func() error) {
	var last error
	seq = func(yield func(T) bool) {
		last = s.Subscribe(ctx, ObserverFuncs[T]{
			OnNext: func(v T) error {
				if !yield(v) {
					return ErrStop
				}
				return nil
			},
		})
	}
	return seq, func() error { return last }
}

// Seq2 returns a range-over-func view of s that yields each item with a nil
// error, each Gap as (zero, Gap) without ending the range, and a failed
// stream's error as a last (zero, err). Each range subscribes to s; breaking
// out stops the source. See Seq about the goroutine running the loop body.
func Seq2[T any](ctx context.Context, s Observable[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		stopped := false
		err := s.Subscribe(ctx, ObserverFuncs[T]{
			OnNext: func(v T) error {
				if !yield(v, nil) {
					stopped = true
					return ErrStop
				}
				return nil
			},
			OnGap: func(g Gap) error {
				if !yield(zero, g) {
					stopped = true
					return ErrStop
				}
				return nil
			},
		})
		if err != nil && !stopped && !errors.Is(err, ErrStop) {
			yield(zero, err)
		}
	}
}
