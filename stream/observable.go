package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Observer receives a stream's items, in order, one call at a time.
//
// A source calls the methods of one Observer serially (never two at once)
// and never after its Subscribe has returned, but not necessarily on the
// goroutine that called Subscribe: a hot source delivers on its producer's
// goroutine, Merge on its sources' goroutines.
//
// A non-nil error from any method ends the subscription: the source stops
// producing and Subscribe returns that error, or nil if it is ErrStop. That
// is how a consumer stops early and how an operator fails a stream.
//
// Ownership: the slice passed to NextBatch belongs to the caller and is
// valid only during the call; copy the items out to keep them. Whether an
// item's own references (the Data of an nl.Message) outlive the call is up
// to the source, which documents it; sources fed from reusable buffers say
// their items are valid only during the call.
type Observer[T any] interface {
	// Next receives one item.
	Next(item T) error
	// NextBatch receives several items at once, in order (a whole
	// datagram's messages, say). It must behave as Next called on each.
	NextBatch(items []T) error
	// Gap receives an in-band loss marker: items were lost at this point of
	// the stream (a subscriber's buffer overflowed, the kernel reported an
	// overrun). Returning g itself fails the stream with it.
	Gap(g Gap) error
}

// ErrStop ends a subscription early without failing it: an Observer returns
// it to stop the source, and Subscribe then returns nil.
var ErrStop = errors.New("stream: stop")

// ErrGap is matched (errors.Is) by every Gap used as an error.
var ErrGap = errors.New("stream: items lost")

// ErrOverflow is the cause of a Gap made by a subscriber's buffer policy,
// and the error of a subscription with the Fail policy whose buffer filled.
var ErrOverflow = errors.New("stream: subscriber buffer full")

// ErrNilObservable is returned by Subscribe on the zero Observable.
var ErrNilObservable = errors.New("stream: zero Observable")

// Gap marks, in order with the items, that items were lost at this point of
// the stream. It is an error value, so an Observer that cannot handle loss
// can return it and fail the stream; errors.Is(g, ErrGap) holds, and so does
// errors.Is(g, cause) for its Cause (unix.ENOBUFS for a netlink overrun).
type Gap struct {
	// Dropped counts the items known to be lost; 0 when the source could
	// not count them (a kernel overrun loses an unknown number).
	Dropped uint64
	// Cause says why: ErrOverflow for a subscriber's buffer policy, or the
	// source's error, such as an overrun wrapping unix.ENOBUFS.
	Cause error
}

func (g Gap) Error() string {
	var b strings.Builder
	b.WriteString("stream: ")
	if g.Dropped > 0 {
		fmt.Fprintf(&b, "%d items lost", g.Dropped)
	} else {
		b.WriteString("items lost")
	}
	if g.Cause != nil {
		b.WriteString(": ")
		b.WriteString(g.Cause.Error())
	}
	return b.String()
}

// Unwrap returns ErrGap and the cause, for errors.Is and errors.As.
func (g Gap) Unwrap() []error {
	if g.Cause == nil {
		return []error{ErrGap}
	}
	return []error{ErrGap, g.Cause}
}

// merge combines two gaps that happened at the same point of the stream.
func (g Gap) merge(h Gap) Gap {
	g.Dropped += h.Dropped
	switch {
	case g.Cause == nil:
		g.Cause = h.Cause
	case h.Cause != nil && g.Cause != h.Cause && !errors.Is(g.Cause, h.Cause):
		g.Cause = errors.Join(g.Cause, h.Cause)
	}
	return g
}

// Observable is a typed, push-based stream. Subscribing runs it: a cold
// Observable (a slice, a dump request) produces from the start for each
// subscriber; a hot one (a Publisher) delivers what is published while the
// subscriber is attached.
//
// The zero value is not usable: Subscribe returns ErrNilObservable. Make
// Observables with Create, the source functions of this package, or the
// operators package. An Observable is a small value; copying it is cheap and
// every copy subscribes to the same source.
type Observable[T any] struct {
	subscribe func(ctx context.Context, o Observer[T]) error
}

// Create makes an Observable whose Subscribe runs fn.
//
// fn must follow the Observer contract: call o serially and never after it
// returns, stop as soon as a method of o returns an error and return that
// error, return nil when the stream is complete or an error when it failed,
// and return ctx.Err() soon after ctx is done (checking ctx at least once
// per batch). Create itself allocates one closure; the cost of a
// subscription is fn's.
func Create[T any](fn func(ctx context.Context, o Observer[T]) error) Observable[T] {
	return Observable[T]{subscribe: fn}
}

// Subscribe runs the stream into o and blocks until it ends. It returns
// nil when the stream completed (or o stopped it with ErrStop), the stream's
// error, the error o returned, or ctx.Err() when ctx ended first. It returns
// exactly once, and no method of o is called after it has returned.
//
// A ctx that is already done returns its error without starting the
// source. Subscribe adds no goroutine and no allocation of its own.
func (s Observable[T]) Subscribe(ctx context.Context, o Observer[T]) error {
	if s.subscribe == nil {
		return ErrNilObservable
	}
	if o == nil {
		return errors.New("stream: nil Observer")
	}
	if ctx == nil {
		return errors.New("stream: nil context")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.subscribe(ctx, o)
	if err != nil && errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// ObserverFuncs is an Observer made of functions. A nil OnNext with a
// non-nil OnBatch passes each single item as a one-item batch (one
// allocation per item); a nil OnBatch calls OnNext for each item; with both
// nil items are discarded. A nil OnGap fails the stream with the Gap, so
// that loss is never silent.
type ObserverFuncs[T any] struct {
	OnNext  func(item T) error
	OnBatch func(items []T) error
	OnGap   func(g Gap) error
}

// Next calls OnNext (or OnBatch).
func (f ObserverFuncs[T]) Next(item T) error {
	if f.OnNext != nil {
		return f.OnNext(item)
	}
	if f.OnBatch != nil {
		return f.OnBatch([]T{item})
	}
	return nil
}

// NextBatch calls OnBatch, or OnNext for each item.
func (f ObserverFuncs[T]) NextBatch(items []T) error {
	if f.OnBatch != nil {
		return f.OnBatch(items)
	}
	if f.OnNext == nil {
		return nil
	}
	for _, v := range items {
		if err := f.OnNext(v); err != nil {
			return err
		}
	}
	return nil
}

// Gap calls OnGap, or returns g.
func (f ObserverFuncs[T]) Gap(g Gap) error {
	if f.OnGap != nil {
		return f.OnGap(g)
	}
	return g
}
