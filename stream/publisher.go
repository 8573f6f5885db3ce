package stream

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Policy says what a hot source does when a subscriber's buffer is full.
// The subscriber chooses it (WithBuffer); the producer never has to know.
type Policy uint8

const (
	// Block makes the producer wait for the subscriber. With a buffer of
	// size 0 (the default) the subscriber runs inline on the producer's
	// goroutine: no copy, no handoff, and items that alias the producer's
	// buffers stay valid for the whole call.
	Block Policy = iota
	// DropNewest discards the items that do not fit, counts them, and puts
	// a Gap where they would have been.
	DropNewest
	// DropOldest discards the oldest queued items to make room, counts
	// them, and puts a Gap where they were.
	DropOldest
	// Fail ends the subscription with an error wrapping ErrOverflow once
	// the buffer overflows, after the items queued before the overflow.
	Fail
)

func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case DropNewest:
		return "drop-newest"
	case DropOldest:
		return "drop-oldest"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// DefaultBuffer is the buffer size WithBuffer uses for DropNewest,
// DropOldest and Fail when given a size below 1.
const DefaultBuffer = 1024

// SubscribeOption configures one subscription to a Publisher.
type SubscribeOption func(*subConfig)

type subConfig struct {
	size        int
	policy      Policy
	onSubscribe []func()
}

// WithBuffer gives the subscription a queue of size items between the
// producer and the subscriber, and the policy for a full queue. The
// subscriber then runs on its own goroutine (the one that called
// Subscribe), draining the queue in batches of up to BatchSize. Items are
// copied into the queue with the Publisher's copy function (WithCopy), so
// items that alias the producer's buffers must have one. WithBuffer(0,
// Block) is the default inline delivery; a size below 1 with another policy
// means DefaultBuffer.
func WithBuffer(size int, policy Policy) SubscribeOption {
	return func(c *subConfig) {
		if size < 1 && policy != Block {
			size = DefaultBuffer
		}
		c.size = max(size, 0)
		c.policy = policy
	}
}

// OnSubscribe calls fn once the subscription is registered with the
// Publisher, before anything can be delivered to it, on the subscribing
// goroutine. It lets a caller that runs Subscribe on another goroutine know
// when publishing may begin. Several OnSubscribe options all run, in order:
// a library (a watcher starting its dump, Share connecting) and its caller
// may both need one.
func OnSubscribe(fn func()) SubscribeOption {
	return func(c *subConfig) {
		if fn != nil {
			c.onSubscribe = append(c.onSubscribe, fn)
		}
	}
}

// PublisherOption configures a Publisher.
type PublisherOption[T any] func(*Publisher[T])

// WithCopy sets how items are copied into a buffered subscriber's queue:
// fn must fill dst (as long as src) with items that stay valid after the
// producer's call returns. The default is the built-in copy, right for
// items without references to reused memory. For nl.Message from a
// poller, use CopyMessages.
func WithCopy[T any](fn func(dst, src []T)) PublisherOption[T] {
	return func(p *Publisher[T]) { p.copyFn = fn }
}

// Publisher is a hot source: a producer pushes items into it and every
// attached subscriber receives them according to its own backpressure
// policy. It is the meeting point between a netlink poller's handler and
// the stream operators.
//
// Producer side: Push, PushBatch, Gap, Error and Complete may be called
// from any goroutine; they are serialised, so items keep the order in which
// the calls took the producer lock. Error and Complete end the stream; what
// follows them is ignored. Do not call them from inside a subscriber's
// Observer: an inline subscriber runs under the producer lock, and a
// Block-buffered one may be the subscriber the producer is waiting for.
//
// Ownership: inline subscribers (the default) see the producer's items
// during the call only, exactly as the producer passed them: a poller's
// messages alias its buffers, so an inline subscriber must copy what it
// keeps. Buffered subscribers (WithBuffer) receive copies made by the
// Publisher's copy function (WithCopy).
//
// Cost: a PushBatch takes one mutex and, per inline subscriber, one more
// mutex and one NextBatch call; per buffered subscriber one mutex, one copy
// of the items and a non-blocking channel send. Nothing is allocated per
// item. The zero value is not usable; use NewPublisher.
type Publisher[T any] struct {
	copyFn func(dst, src []T)

	// pushMu serialises the producer side. Lock order: pushMu, then a
	// subscriber's mu, or pushMu then p.mu; p.mu and a subscriber's mu are
	// never held together.
	pushMu sync.Mutex
	one    [1]T // Push's one-item batch, guarded by pushMu

	mu      sync.Mutex // guards subs, done, err, changed
	subs    []*subscriber[T]
	done    bool
	err     error
	changed chan struct{} // closed and replaced whenever subs changes

	// snap is subs for the producer side, replaced (never modified) under
	// mu so that pushing needs no p.mu.
	snap    atomic.Pointer[[]*subscriber[T]]
	nsubs   atomic.Int64 // len(subs), readable without mu
	dropped atomic.Uint64
}

// NewPublisher returns a Publisher with no subscriber.
func NewPublisher[T any](opts ...PublisherOption[T]) *Publisher[T] {
	p := &Publisher[T]{changed: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Push publishes one item to every subscriber. With inline subscribers it
// returns after each has handled it; with Block-buffered ones it may wait
// for queue space.
func (p *Publisher[T]) Push(v T) {
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	subs := p.snap.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		if s.inline {
			s.deliverInline(v, nil, false)
		} else {
			p.one[0] = v
			s.enqueue(p.one[:])
		}
	}
	clear(p.one[:])
}

// PushBatch publishes items, in order, to every subscriber as one batch
// (an inline subscriber gets one NextBatch call). The Publisher does not
// keep items after it returns.
func (p *Publisher[T]) PushBatch(items []T) {
	if len(items) == 0 {
		return
	}
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	subs := p.snap.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		if s.inline {
			var zero T
			s.deliverInline(zero, items, true)
		} else {
			s.enqueue(items)
		}
	}
}

// Gap publishes an in-band loss marker (a kernel overrun, say) to every
// subscriber, in order with the items.
func (p *Publisher[T]) Gap(g Gap) {
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	subs := p.snap.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		s.gap(g)
	}
}

// Complete ends the stream: each subscriber's Subscribe returns nil once it
// has received what was queued for it. Later subscribers return nil at once.
func (p *Publisher[T]) Complete() { p.terminate(nil) }

// Error ends the stream with err (nil means Complete): each subscriber's
// Subscribe returns err after what was queued for it. Later subscribers
// return err at once.
func (p *Publisher[T]) Error(err error) { p.terminate(err) }

func (p *Publisher[T]) terminate(err error) {
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	p.done, p.err = true, err
	subs := p.subs
	p.subs = nil
	p.snap.Store(nil)
	p.nsubs.Store(0)
	p.notifyLocked()
	p.mu.Unlock()
	for _, s := range subs {
		s.terminate(err)
	}
}

// Subscribers returns how many subscribers are attached. A subscriber that
// ends on the producer side (its Observer returned an error, its context
// ended) is detached before the producer's call returns, so a producer can
// use this to stop when nobody listens. One atomic load.
func (p *Publisher[T]) Subscribers() int { return int(p.nsubs.Load()) }

// WaitSubscribers blocks until at least n subscribers are attached, the
// stream has ended (it then returns nil), or ctx is done (its error).
func (p *Publisher[T]) WaitSubscribers(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		ok := len(p.subs) >= n || p.done
		ch := p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Dropped returns how many items the Publisher has dropped, over all
// subscribers, under DropNewest and DropOldest.
func (p *Publisher[T]) Dropped() uint64 { return p.dropped.Load() }

// Observable returns the Publisher as an Observable: each Subscribe
// attaches a subscriber with the given options and blocks until the stream
// ends, the subscriber stops, or ctx is done; it then detaches. Inline
// subscribers wait idle while their Observer runs on the producer's
// goroutine; buffered ones run their Observer on the subscribing goroutine.
// Cost per subscription: one subscriber record, and for a buffered one its
// queue and a delivery buffer.
func (p *Publisher[T]) Observable(opts ...SubscribeOption) Observable[T] {
	var cfg subConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return Create(func(ctx context.Context, o Observer[T]) error {
		return p.subscribe(ctx, o, cfg)
	})
}

// Connect feeds the Publisher from src: it subscribes to src on a new
// goroutine, publishes what src emits, and ends the Publisher with src's
// result (Complete, or Error with src's error, ctx's included). Cancel ctx
// to stop src; the returned wait blocks until the goroutine has exited and
// returns src's result. Cost: one goroutine for the life of src.
func (p *Publisher[T]) Connect(ctx context.Context, src Observable[T]) (wait func() error) {
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = src.Subscribe(ctx, publisherObserver[T]{p})
		p.Error(err)
	}()
	return func() error {
		<-done
		return err
	}
}

// AsObserver returns an Observer that publishes what it receives (Next as
// Push, NextBatch as PushBatch, Gap as Gap) and never fails: subscribing it
// to a source feeds the Publisher on the source's goroutine.
func (p *Publisher[T]) AsObserver() Observer[T] { return publisherObserver[T]{p} }

type publisherObserver[T any] struct{ p *Publisher[T] }

func (o publisherObserver[T]) Next(v T) error            { o.p.Push(v); return nil }
func (o publisherObserver[T]) NextBatch(items []T) error { o.p.PushBatch(items); return nil }
func (o publisherObserver[T]) Gap(g Gap) error           { o.p.Gap(g); return nil }

// publishLocked makes the current subscriber list the producers'
// snapshot. The list is never modified in place, so the snapshot (a header
// of its own) stays valid for a producer still ranging over it.
func (p *Publisher[T]) publishLocked() {
	snap := p.subs
	p.snap.Store(&snap)
}

func (p *Publisher[T]) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Publisher[T]) subscribe(ctx context.Context, o Observer[T], cfg subConfig) error {
	s := &subscriber[T]{p: p, ctx: ctx, o: o, inline: cfg.size == 0, policy: cfg.policy}
	if s.inline {
		s.end = make(chan struct{})
	} else {
		s.ring = make([]T, cfg.size)
		s.ready = make(chan struct{}, 1)
		s.space = make(chan struct{}, 1)
		s.gone = make(chan struct{})
	}
	p.mu.Lock()
	if p.done {
		err := p.err
		p.mu.Unlock()
		return err
	}
	subs := make([]*subscriber[T], len(p.subs), len(p.subs)+1)
	copy(subs, p.subs)
	p.subs = append(subs, s)
	p.publishLocked()
	p.nsubs.Store(int64(len(p.subs)))
	p.notifyLocked()
	p.mu.Unlock()
	for _, fn := range cfg.onSubscribe {
		fn()
	}
	if s.inline {
		return s.waitInline()
	}
	return s.consume()
}

func (p *Publisher[T]) remove(s *subscriber[T]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.subs {
		if x == s {
			subs := make([]*subscriber[T], 0, len(p.subs)-1)
			subs = append(subs, p.subs[:i]...)
			p.subs = append(subs, p.subs[i+1:]...)
			p.publishLocked()
			p.nsubs.Store(int64(len(p.subs)))
			p.notifyLocked()
			return
		}
	}
}

// subscriber is one attachment to a Publisher.
type subscriber[T any] struct {
	p      *Publisher[T]
	ctx    context.Context
	o      Observer[T]
	inline bool
	policy Policy

	// mu: for an inline subscriber it is held while o runs, so that
	// detaching waits for a delivery in progress; for a buffered one it
	// guards the queue.
	mu     sync.Mutex
	closed bool // nothing more is delivered or queued

	// inline: end is closed (once, under mu) when the producer side ended
	// the subscription, with the reason in endErr.
	end    chan struct{}
	ended  bool
	endErr error

	// buffered: a ring of positions head ≤ pos < tail, with gap markers at
	// positions; term/termErr record the end of the stream.
	ring       []T
	head, tail uint64
	gaps       []gapMark
	term       bool
	termErr    error
	ready      chan struct{} // producer → consumer, capacity 1
	space      chan struct{} // consumer → producer, capacity 1
	gone       chan struct{} // closed when the consumer has left
}

type gapMark struct {
	pos uint64 // the gap comes before the item at pos
	gap Gap
}

func (s *subscriber[T]) deliverInline(v T, items []T, batch bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.ctx.Err() != nil {
		// The subscribing goroutine sees ctx too and returns; deliver
		// nothing more, and detach now so that Subscribers is current.
		s.closed = true
		s.mu.Unlock()
		s.p.remove(s)
		return
	}
	var err error
	if batch {
		err = s.o.NextBatch(items)
	} else {
		err = s.o.Next(v)
	}
	if err != nil {
		s.closed = true
		s.finishLocked(err)
	}
	s.mu.Unlock()
	if err != nil {
		s.p.remove(s)
	}
}

func (s *subscriber[T]) finishLocked(err error) {
	if !s.ended {
		s.ended, s.endErr = true, err
		close(s.end)
	}
}

func (s *subscriber[T]) waitInline() error {
	select {
	case <-s.end:
	case <-s.ctx.Done():
	}
	s.mu.Lock() // waits for a delivery in progress
	s.closed = true
	ended, err := s.ended, s.endErr
	s.mu.Unlock()
	s.p.remove(s)
	if !ended {
		return s.ctx.Err()
	}
	return err
}

func (s *subscriber[T]) gap(g Gap) {
	if s.inline {
		s.mu.Lock()
		if s.closed || s.ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		err := s.o.Gap(g)
		if err != nil {
			s.closed = true
			s.finishLocked(err)
		}
		s.mu.Unlock()
		if err != nil {
			s.p.remove(s)
		}
		return
	}
	s.mu.Lock()
	if s.closed || s.term {
		s.mu.Unlock()
		return
	}
	s.addGapLocked(s.tail, g)
	s.mu.Unlock()
	signal(s.ready)
}

func (s *subscriber[T]) terminate(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inline {
		if !s.closed {
			s.closed = true
			s.finishLocked(err)
		}
		return
	}
	if !s.term {
		s.term, s.termErr = true, err
		signal(s.ready)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// enqueue queues items according to the policy. It runs on the producer
// side, under the Publisher's pushMu.
func (s *subscriber[T]) enqueue(items []T) {
	size := uint64(len(s.ring))
	for len(items) > 0 {
		s.mu.Lock()
		if s.closed || s.term {
			s.mu.Unlock()
			return
		}
		free := size - (s.tail - s.head)
		n := uint64(len(items))
		switch s.policy {
		case Block:
			k := min(free, n)
			s.putLocked(items[:k])
			items = items[k:]
			s.mu.Unlock()
			signal(s.ready)
			if len(items) > 0 {
				select {
				case <-s.space:
				case <-s.gone:
					return
				}
			}
			continue
		case DropNewest:
			k := min(free, n)
			s.putLocked(items[:k])
			if lost := n - k; lost > 0 {
				s.p.dropped.Add(lost)
				s.addGapLocked(s.tail, Gap{Dropped: lost, Cause: ErrOverflow})
			}
		case DropOldest:
			var lost uint64
			if n > size {
				lost = n - size
				items = items[lost:]
				n = size
			}
			if n > free {
				k := n - free
				s.discardLocked(k)
				lost += k
			}
			s.putLocked(items)
			if lost > 0 {
				s.p.dropped.Add(lost)
				s.addGapLocked(s.head, Gap{Dropped: lost, Cause: ErrOverflow})
			}
		default: // Fail
			if n > free {
				s.putLocked(items[:free])
				s.term = true
				s.termErr = fmt.Errorf("stream: subscriber queue of %d items overflowed: %w", size, ErrOverflow)
			} else {
				s.putLocked(items)
			}
		}
		s.mu.Unlock()
		signal(s.ready)
		return
	}
}

// putLocked copies items (which fit) to the tail of the ring.
func (s *subscriber[T]) putLocked(items []T) {
	size := uint64(len(s.ring))
	for len(items) > 0 {
		i := s.tail % size
		k := min(uint64(len(items)), size-i)
		if s.p.copyFn != nil {
			s.p.copyFn(s.ring[i:i+k], items[:k])
		} else {
			copy(s.ring[i:i+k], items[:k])
		}
		items = items[k:]
		s.tail += k
	}
}

// takeLocked moves n queued items from the head of the ring to dst.
func (s *subscriber[T]) takeLocked(dst []T, n uint64) []T {
	size := uint64(len(s.ring))
	for n > 0 {
		i := s.head % size
		k := min(n, size-i)
		dst = append(dst, s.ring[i:i+k]...)
		clear(s.ring[i : i+k])
		s.head += k
		n -= k
	}
	return dst
}

// discardLocked drops the n oldest queued items, moving gap markers that
// fell before the new head onto it.
func (s *subscriber[T]) discardLocked(n uint64) {
	size := uint64(len(s.ring))
	for k := n; k > 0; {
		i := s.head % size
		m := min(k, size-i)
		clear(s.ring[i : i+m])
		s.head += m
		k -= m
	}
	var merged Gap
	var any bool
	j := 0
	for _, g := range s.gaps {
		if g.pos <= s.head {
			merged = merged.merge(g.gap)
			any = true
			continue
		}
		s.gaps[j] = g
		j++
	}
	s.gaps = s.gaps[:j]
	if any {
		s.addGapLocked(s.head, merged)
	}
}

// addGapLocked records g before position pos, merging with a marker
// already there. Markers are kept in position order.
func (s *subscriber[T]) addGapLocked(pos uint64, g Gap) {
	for i := range s.gaps {
		if s.gaps[i].pos == pos {
			s.gaps[i].gap = s.gaps[i].gap.merge(g)
			return
		}
		if s.gaps[i].pos > pos {
			s.gaps = append(s.gaps, gapMark{})
			copy(s.gaps[i+1:], s.gaps[i:])
			s.gaps[i] = gapMark{pos: pos, gap: g}
			return
		}
	}
	s.gaps = append(s.gaps, gapMark{pos: pos, gap: g})
}

// consume is a buffered subscriber's delivery loop, run on the subscribing
// goroutine.
func (s *subscriber[T]) consume() error {
	out := make([]T, 0, min(len(s.ring), BatchSize))
	for {
		s.mu.Lock()
		for s.head == s.tail && len(s.gaps) == 0 && !s.term {
			s.mu.Unlock()
			select {
			case <-s.ready:
			case <-s.ctx.Done():
				return s.leave(s.ctx.Err())
			}
			s.mu.Lock()
		}
		if len(s.gaps) > 0 && s.gaps[0].pos == s.head {
			g := s.gaps[0].gap
			s.gaps = append(s.gaps[:0], s.gaps[1:]...)
			s.mu.Unlock()
			if err := s.ctx.Err(); err != nil {
				return s.leave(err)
			}
			if err := s.o.Gap(g); err != nil {
				return s.leave(err)
			}
			continue
		}
		if s.head == s.tail { // the stream ended and the queue is empty
			err := s.termErr
			s.mu.Unlock()
			return s.leave(err)
		}
		limit := s.tail
		if len(s.gaps) > 0 {
			limit = s.gaps[0].pos
		}
		out = s.takeLocked(out[:0], min(limit-s.head, uint64(cap(out))))
		s.mu.Unlock()
		signal(s.space)
		if err := s.ctx.Err(); err != nil {
			return s.leave(err)
		}
		err := s.o.NextBatch(out)
		clear(out)
		if err != nil {
			return s.leave(err)
		}
	}
}

func (s *subscriber[T]) leave(err error) error {
	s.mu.Lock()
	s.closed = true
	clear(s.ring)
	s.gaps = nil
	s.mu.Unlock()
	close(s.gone)
	s.p.remove(s)
	return err
}
