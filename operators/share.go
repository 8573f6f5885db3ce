package operators

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/nlrx/nlrx/stream"
)

// Shared is one subscription to a source shared by many subscribers; see
// Share.
type Shared[T any] struct {
	src  stream.Observable[T]
	opts []stream.PublisherOption[T]

	mu   sync.Mutex
	conn *connection[T] // the current connection, nil when none
}

// connection is one subscription to the source and the Publisher that
// fans it out.
type connection[T any] struct {
	pub     *stream.Publisher[T]
	started bool // guarded by Shared.mu
	cancel  context.CancelFunc
	done    chan struct{} // closed when the upstream goroutine has exited
	idle    atomic.Bool   // ended for lack of subscribers, not by the source
}

// errIdle ends a connection's subscribers when it stopped because it had
// none left just as one more joined: that one connects anew.
var errIdle = errors.New("operators: shared connection idle")

// Share makes src multicast: the first subscriber (of Shared.Observable)
// connects to src, later ones join the same connection, and when the last
// one leaves the connection is cancelled. When src ends, its subscribers
// end with it, and the next subscriber connects anew. Subscribers attached
// while src runs see what it emits from then on (a hot stream). Each picks
// its own backpressure policy; opts configure the Publisher in between (use
// stream.WithCopy for items that alias reusable buffers).
//
// Concurrency: while connected, one goroutine runs the subscription to src
// and delivers inline to inline subscribers. It stops as soon as a delivery
// finds no subscriber left (an inline subscriber that stopped or was
// cancelled is detached at once), and the last subscriber to leave cancels
// it and waits for it to exit. The connection's context keeps the values of
// the subscriber that connected, not its cancellation.
func Share[T any](src stream.Observable[T], opts ...stream.PublisherOption[T]) *Shared[T] {
	return &Shared[T]{src: src, opts: opts}
}

// Observable returns the shared stream, subscribed with the given options
// (stream.WithBuffer for a policy; the default is inline delivery on the
// upstream goroutine).
func (s *Shared[T]) Observable(opts ...stream.SubscribeOption) stream.Observable[T] {
	opts = append([]stream.SubscribeOption(nil), opts...)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		for {
			s.mu.Lock()
			c := s.conn
			if c == nil {
				c = &connection[T]{pub: stream.NewPublisher(s.opts...), done: make(chan struct{})}
				s.conn = c
			}
			s.mu.Unlock()
			connect := stream.OnSubscribe(func() { s.connect(ctx, c) })
			err := c.pub.Observable(append(opts, connect)...).Subscribe(ctx, o)
			s.leave(c)
			if errors.Is(err, errIdle) && ctx.Err() == nil {
				continue
			}
			return err
		}
	})
}

// connect starts the upstream subscription of c once its first subscriber
// is attached.
func (s *Shared[T]) connect(ctx context.Context, c *connection[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.started || s.conn != c {
		return
	}
	c.started = true
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	go func() {
		defer close(c.done)
		err := s.src.Subscribe(cctx, shareObserver[T]{c})
		s.mu.Lock()
		if s.conn == c {
			s.conn = nil // the next subscriber connects anew
		}
		s.mu.Unlock()
		if c.idle.Load() {
			err = errIdle
		}
		c.pub.Error(err)
	}()
}

// leave runs after a subscriber of c has returned: if c has no subscriber
// left, it stops c's upstream and waits for its goroutine.
func (s *Shared[T]) leave(c *connection[T]) {
	if c.pub.Subscribers() > 0 {
		return
	}
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
	}
	started := c.started
	s.mu.Unlock()
	if started {
		c.idle.Store(true)
		c.cancel()
		<-c.done
	}
}

// shareObserver feeds a connection's Publisher and stops the upstream when
// nobody is left to receive.
type shareObserver[T any] struct{ c *connection[T] }

func (o shareObserver[T]) check() error {
	if o.c.pub.Subscribers() == 0 {
		o.c.idle.Store(true)
		return stream.ErrStop
	}
	return nil
}

func (o shareObserver[T]) Next(v T) error {
	o.c.pub.Push(v)
	return o.check()
}

func (o shareObserver[T]) NextBatch(items []T) error {
	o.c.pub.PushBatch(items)
	return o.check()
}

func (o shareObserver[T]) Gap(g stream.Gap) error {
	o.c.pub.Gap(g)
	return o.check()
}
