package operators

import (
	"context"
	"sync"

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

type connection[T any] struct {
	pub     *stream.Publisher[T]
	refs    int
	started bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the upstream goroutine exits
}

// Share makes src multicast: the first subscriber (of Shared.Observable)
// connects to src, later ones join the same connection, and when the last
// one leaves the connection is cancelled. When src ends, its subscribers
// end with it, and the next subscriber connects anew. Subscribers attached
// while src runs see what it emits from then on (a hot stream). Each picks
// its own backpressure policy; opts configure the Publisher in between (use
// stream.WithCopy for items that alias reusable buffers).
//
// Concurrency: while connected, one goroutine runs the subscription to src
// and delivers inline to inline subscribers; the last subscriber to leave
// cancels it and waits for it to exit. The connection's context keeps the
// first subscriber's values but not its cancellation.
func Share[T any](src stream.Observable[T], opts ...stream.PublisherOption[T]) *Shared[T] {
	return &Shared[T]{src: src, opts: opts}
}

// Observable returns the shared stream, subscribed with the given options
// (stream.WithBuffer for a policy; the default is inline delivery on the
// upstream goroutine).
func (s *Shared[T]) Observable(opts ...stream.SubscribeOption) stream.Observable[T] {
	opts = append([]stream.SubscribeOption(nil), opts...)
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		s.mu.Lock()
		c := s.conn
		if c == nil {
			c = &connection[T]{pub: stream.NewPublisher(s.opts...), done: make(chan struct{})}
			s.conn = c
		}
		c.refs++
		s.mu.Unlock()

		connect := func() { s.connect(ctx, c) }
		err := c.pub.Observable(append(opts, stream.OnSubscribe(connect))...).Subscribe(ctx, o)

		s.mu.Lock()
		c.refs--
		last := c.refs == 0
		if last && s.conn == c {
			s.conn = nil
		}
		started := c.started
		s.mu.Unlock()
		if last && started {
			c.cancel()
			<-c.done
		}
		return err
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
		err := s.src.Subscribe(cctx, c.pub.AsObserver())
		s.mu.Lock()
		if s.conn == c {
			s.conn = nil // the next subscriber connects anew
		}
		s.mu.Unlock()
		c.pub.Error(err)
	}()
}
