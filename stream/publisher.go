package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Policy says what a hot source does when a subscriber's buffer is full.
// The subscriber chooses it (WithBuffer); the producer never has to know.
type Policy uint8

const (
	// Block makes the producer wait for the subscriber. With a buffer of
	// size 0 (the default) the subscriber runs inline on the goroutine of
	// the producer's call (see Publisher for calls made while another is
	// delivering): no copy, no handoff, and items that alias the
	// producer's buffers stay valid for the whole call.
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

// WithCopy sets how the Publisher copies items it keeps beyond the
// producer's call: into a buffered subscriber's queue, and into its own
// queue of operations that arrive while a delivery is in progress (see
// Publisher). fn must fill dst (as long as src) with items that stay valid
// after the producer's call returns, and do nothing else: it runs with
// one of the Publisher's locks held. The default is the built-in copy,
// right for items without references to reused memory. For nl.Message from
// a poller, use CopyMessages.
func WithCopy[T any](fn func(dst, src []T)) PublisherOption[T] {
	return func(p *Publisher[T]) { p.copyFn = fn }
}

// Publisher is a hot source: a producer pushes items into it and every
// attached subscriber receives them according to its own backpressure
// policy. It is the meeting point between a netlink poller's handler and
// the stream operators.
//
// Delivery: the Publisher is a serializing executor. A call (Push,
// PushBatch, Gap, Error, Complete) that finds no delivery in progress
// delivers on the calling goroutine: inline subscribers run there, and it
// waits for room in Block-buffered queues. A call that finds a delivery in
// progress (on another goroutine, or because it comes from inside a
// subscriber's callback) queues the operation, with a copy of its items
// (WithCopy), and returns at once; the goroutine already delivering runs it
// after the callback in progress returns and before its own call returns.
// So operations take effect in the order in which they were called, each
// subscriber's callbacks run one at a time and never nested, and nothing
// of the Publisher waits for user code while holding a lock. The price of
// never waiting for a delivery in progress is that concurrent producers do
// not hold each other back: only the goroutine delivering waits for slow
// subscribers, and what the others push meanwhile waits in the Publisher's
// queue, which grows as needed.
//
// Producer side: the calls above may be made from any goroutine,
// subscribers' callbacks included. Error and Complete end the stream:
// later calls are ignored at once, and each subscriber gets the end after
// what was published before it. A subscriber may also cancel its own
// context from its callback (Subscribers stops counting it at once, and
// nothing more is delivered to it) and subscribe other Observers (on a
// goroutine of their own: Subscribe blocks until the stream ends). A
// callback must not wait for its own Subscribe to return (Subscribe waits
// for the callback in progress), and a Block-buffered subscriber that
// pushes to its own Publisher waits, like any producer, for room in its
// own queue.
//
// Ownership: inline subscribers (the default) see the producer's items
// during the call only, exactly as the producer passed them (a poller's
// messages alias its buffers, so an inline subscriber must copy what it
// keeps), except for items queued as above, which they see as copies.
// Buffered subscribers (WithBuffer) receive copies made by the Publisher's
// copy function.
//
// Cost: a call that finds the Publisher idle takes and releases it with
// one atomic compare-and-swap each and, per inline subscriber, checks its
// context and makes two more around one Observer call; per buffered
// subscriber it takes one mutex, copies the items and makes a
// non-blocking channel send. A queued call takes one mutex and copies its
// items into a reused buffer. Nothing is allocated per item. The zero
// value is not usable; use NewPublisher.
type Publisher[T any] struct {
	copyFn func(dst, src []T)

	// state is the executor: idle, or running (one goroutine delivers)
	// with pending set while operations wait in queue. Only the goroutine
	// that moved it from idle to running delivers, until it moves it back;
	// the fields marked "executor" belong to it.
	state atomic.Uint32

	// qmu guards the queue (queue, qitems, qrare, qone), and pending is
	// set and cleared under it. It is never held while user code runs
	// (apart from copyFn).
	qmu    sync.Mutex
	queue  []op[T]      // operations in call order
	qitems []T          // the items of the queued operations, back to back
	qrare  []opRare[T]  // the gaps and ends of the queued operations
	qone   [1]T         // a queued Push's item, guarded by qmu
	spare  opBuffers[T] // executor: emptied buffers, swapped in for the queue
	one    [1]T         // executor: Push's one-item batch for queues

	mu      sync.Mutex // guards subs, done, err, changed
	subs    []*subscriber[T]
	done    bool
	err     error
	changed chan struct{} // closed and replaced whenever subs changes

	// snap is subs for the producer side, replaced (never modified) under
	// mu so that pushing needs no p.mu.
	snap    atomic.Pointer[[]*subscriber[T]]
	dropped atomic.Uint64
}

// Executor states.
const (
	idle    uint32 = 0
	running uint32 = 1
	pending uint32 = 2 // with running: operations are queued
)

// maxSpare bounds the queue buffers kept after a burst of queued
// operations, so that one burst does not pin its memory for good.
const maxSpare = 4 * BatchSize

type opKind uint8

const (
	opNext opKind = iota
	opBatch
	opGap
	opEnd
)

// op is a queued operation, with the subscribers attached when it was
// called: it reaches them and no later ones. Consecutive item operations
// for the same subscribers are queued as one batch of up to BatchSize.
type op[T any] struct {
	kind opKind
	subs *[]*subscriber[T] // the snapshot (not for opEnd)
	off  int               // its items in qitems (opNext, opBatch), or its opRare
	n    int               // how many items
}

// opRare holds what a Gap or an end carries.
type opRare[T any] struct {
	gap  Gap
	err  error
	subs []*subscriber[T] // an end's subscribers (they are no snapshot)
}

type opBuffers[T any] struct {
	ops   []op[T]
	items []T
	rare  []opRare[T]
}

// NewPublisher returns a Publisher with no subscriber.
func NewPublisher[T any](opts ...PublisherOption[T]) *Publisher[T] {
	p := &Publisher[T]{changed: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Push publishes one item to every subscriber. On a Publisher with no
// delivery in progress it returns after each inline subscriber has handled
// the item and it is in each buffered subscriber's queue (waiting for room
// under Block); otherwise it queues a copy of the item and returns at once
// (see Publisher).
func (p *Publisher[T]) Push(v T) {
	subs := p.snap.Load()
	if subs == nil {
		return
	}
	if !p.state.CompareAndSwap(idle, running) {
		p.pushQueued(v)
		return
	}
	p.next(*subs, v)
	p.release()
}

// pushQueued is Push when a delivery is in progress (or was a moment ago).
func (p *Publisher[T]) pushQueued(v T) {
	for {
		subs := p.snap.Load()
		if subs == nil {
			return
		}
		p.qmu.Lock()
		if p.markPendingLocked() {
			p.qone[0] = v
			p.queueLocked(op[T]{kind: opNext, subs: subs}, p.qone[:], opRare[T]{})
			clear(p.qone[:])
			p.qmu.Unlock()
			return
		}
		p.qmu.Unlock()
		if p.state.CompareAndSwap(idle, running) {
			p.next(*subs, v)
			p.release()
			return
		}
	}
}

// PushBatch publishes items, in order, to every subscriber as one batch
// (an inline subscriber gets one NextBatch call; a queued batch may share
// its call with the items queued next to it, up to BatchSize). The
// Publisher does not keep items after it returns. It delivers or queues as
// Push does.
func (p *Publisher[T]) PushBatch(items []T) {
	if len(items) == 0 {
		return
	}
	subs := p.snap.Load()
	if subs == nil {
		return
	}
	if !p.state.CompareAndSwap(idle, running) {
		p.postLoop(opBatch, items, opRare[T]{})
		return
	}
	p.batch(*subs, items)
	p.release()
}

// Gap publishes an in-band loss marker (a kernel overrun, say) to every
// subscriber, in order with the items.
func (p *Publisher[T]) Gap(g Gap) {
	subs := p.snap.Load()
	if subs == nil {
		return
	}
	if !p.state.CompareAndSwap(idle, running) {
		p.postLoop(opGap, nil, opRare[T]{gap: g})
		return
	}
	p.gap(*subs, g)
	p.release()
}

// Complete ends the stream: each subscriber's Subscribe returns nil once it
// has received what was published before. Later subscribers return nil at
// once. Complete never waits for a subscriber: called while a delivery is
// in progress (from a subscriber's callback, say), it is queued like the
// other calls and takes effect after what was published before it.
func (p *Publisher[T]) Complete() { p.terminate(nil) }

// Error ends the stream with err (nil means Complete): each subscriber's
// Subscribe returns err after what was published before it. Later
// subscribers return err at once. Like Complete, it never waits.
func (p *Publisher[T]) Error(err error) { p.terminate(err) }

func (p *Publisher[T]) terminate(err error) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	p.done, p.err = true, err
	subs := p.subs
	p.subs = nil
	p.snap.Store(nil)
	p.notifyLocked()
	p.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	for {
		if p.state.CompareAndSwap(idle, running) {
			p.end(subs, err)
			p.release()
			return
		}
		if p.post(op[T]{kind: opEnd}, nil, opRare[T]{err: err, subs: subs}) {
			return
		}
	}
}

// postLoop is PushBatch (items) or Gap (r.gap) when a delivery is in
// progress, or was a moment ago: it queues the operation for the
// subscribers attached now, or delivers it if the executor went idle.
func (p *Publisher[T]) postLoop(kind opKind, items []T, r opRare[T]) {
	for {
		subs := p.snap.Load()
		if subs == nil {
			return
		}
		if p.post(op[T]{kind: kind, subs: subs}, items, r) {
			return
		}
		if p.state.CompareAndSwap(idle, running) {
			if kind == opBatch {
				p.batch(*subs, items)
			} else {
				p.gap(*subs, r.gap)
			}
			p.release()
			return
		}
	}
}

// markPendingLocked records that an operation is about to be queued and
// reports true, or reports false if the executor has gone idle meanwhile
// (the caller then tries to take it). It runs under qmu, and wins or loses
// against release's compare-and-swap from running to idle.
func (p *Publisher[T]) markPendingLocked() bool {
	for {
		switch p.state.Load() {
		case idle:
			return false
		case running | pending:
			return true
		}
		if p.state.CompareAndSwap(running, running|pending) {
			return true
		}
	}
}

// post queues o with a copy of items for the goroutine delivering, and
// reports false if there is none (the caller then delivers itself).
func (p *Publisher[T]) post(o op[T], items []T, r opRare[T]) bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	if !p.markPendingLocked() {
		return false
	}
	p.queueLocked(o, items, r)
	return true
}

func (p *Publisher[T]) queueLocked(o op[T], items []T, r opRare[T]) {
	switch o.kind {
	case opNext, opBatch:
		off := len(p.qitems)
		p.qitems = slices.Grow(p.qitems, len(items))[:off+len(items)]
		if p.copyFn != nil {
			p.copyFn(p.qitems[off:], items)
		} else {
			copy(p.qitems[off:], items)
		}
		if k := len(p.queue) - 1; k >= 0 {
			if last := &p.queue[k]; (last.kind == opNext || last.kind == opBatch) && last.subs == o.subs && last.n+len(items) <= BatchSize {
				last.kind = opBatch
				last.n += len(items)
				return
			}
		}
		o.off, o.n = off, len(items)
	default:
		o.off = len(p.qrare)
		p.qrare = append(p.qrare, r)
	}
	p.queue = append(p.queue, o)
}

// release hands the executor back, first running what was queued while
// it delivered (drain): the trampoline that lets a callback call the
// Publisher.
func (p *Publisher[T]) release() {
	if !p.state.CompareAndSwap(running, idle) {
		p.drain()
	}
}

func (p *Publisher[T]) drain() {
	for !p.state.CompareAndSwap(running, idle) {
		p.qmu.Lock()
		b := opBuffers[T]{p.queue, p.qitems, p.qrare}
		p.queue, p.qitems, p.qrare = p.spare.ops, p.spare.items, p.spare.rare
		p.state.Store(running)
		p.qmu.Unlock()
		for i := range b.ops {
			o := &b.ops[i]
			switch o.kind {
			case opNext:
				p.next(*o.subs, b.items[o.off])
			case opBatch:
				p.batch(*o.subs, b.items[o.off:o.off+o.n])
			case opGap:
				p.gap(*o.subs, b.rare[o.off].gap)
			case opEnd:
				p.end(b.rare[o.off].subs, b.rare[o.off].err)
			}
		}
		p.spare = opBuffers[T]{recycle(b.ops), recycle(b.items), recycle(b.rare)}
	}
}

// recycle empties a drained queue buffer for reuse, or drops it if a
// burst made it large.
func recycle[E any](s []E) []E {
	if cap(s) > maxSpare {
		return nil
	}
	clear(s)
	return s[:0]
}

// next, batch, gap and end deliver one operation; they run on the
// executor. For an inline subscriber each call of its Observer is
// bracketed by its sBusy bit, after a check of its context: nothing is
// delivered once it has ended. This is the hot path, written out three
// times so that it makes no call per subscriber but the Observer's and its
// context's.

func (p *Publisher[T]) next(subs []*subscriber[T], v T) {
	for _, s := range subs {
		if !s.inline {
			p.one[0] = v
			s.enqueue(p.one[:])
			continue
		}
		if s.cancelled() {
			s.drop()
			continue
		}
		if !s.st.CompareAndSwap(0, sBusy) {
			continue // closed
		}
		err := s.o.Next(v)
		if err != nil || !s.st.CompareAndSwap(sBusy, 0) {
			s.after(err)
		}
	}
	clear(p.one[:])
}

func (p *Publisher[T]) batch(subs []*subscriber[T], items []T) {
	for _, s := range subs {
		if !s.inline {
			s.enqueue(items)
			continue
		}
		if s.cancelled() {
			s.drop()
			continue
		}
		if !s.st.CompareAndSwap(0, sBusy) {
			continue // closed
		}
		err := s.o.NextBatch(items)
		if err != nil || !s.st.CompareAndSwap(sBusy, 0) {
			s.after(err)
		}
	}
}

func (p *Publisher[T]) gap(subs []*subscriber[T], g Gap) {
	for _, s := range subs {
		if !s.inline {
			s.queueGap(g)
			continue
		}
		if s.cancelled() {
			s.drop()
			continue
		}
		if !s.st.CompareAndSwap(0, sBusy) {
			continue // closed
		}
		err := s.o.Gap(g)
		if err != nil || !s.st.CompareAndSwap(sBusy, 0) {
			s.after(err)
		}
	}
}

func (p *Publisher[T]) end(subs []*subscriber[T], err error) {
	for _, s := range subs {
		s.terminate(err)
	}
}

// Subscribers returns how many subscribers are attached, not counting
// those that are leaving: a subscriber whose context has ended (even from
// inside its own callback) counts no more from then on, and one whose
// Observer returned an error is detached before the call that delivered to
// it returns. So a producer can use this to stop when nobody listens.
// Cost: one atomic load, and a context check per subscriber.
func (p *Publisher[T]) Subscribers() int {
	subs := p.snap.Load()
	if subs == nil {
		return 0
	}
	n := 0
	for _, s := range *subs {
		if !s.cancelled() && (!s.inline || s.st.Load()&sClosed == 0) {
			n++
		}
	}
	return n
}

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
// ends, the subscriber stops, or ctx is done; it then detaches, after the
// callback in progress, if any, has returned. Inline subscribers wait idle
// while their Observer runs on a producer's goroutine; buffered ones run
// their Observer on the subscribing goroutine. Cost per subscription: one
// subscriber record and a channel, and for a buffered one its queue
// and a delivery buffer.
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
// of its own) stays valid for a producer still ranging over it, and for
// the operations queued with it.
func (p *Publisher[T]) publishLocked() {
	snap := p.subs
	p.snap.Store(&snap)
}

func (p *Publisher[T]) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Publisher[T]) subscribe(ctx context.Context, o Observer[T], cfg subConfig) error {
	s := &subscriber[T]{p: p, ctx: ctx, done: ctx.Done(), o: o, inline: cfg.size == 0, policy: cfg.policy}
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
			p.notifyLocked()
			return
		}
	}
}

// subscriber is one attachment to a Publisher.
type subscriber[T any] struct {
	p      *Publisher[T]
	ctx    context.Context
	done   <-chan struct{} // ctx.Done(): nil if ctx cannot end
	o      Observer[T]
	inline bool
	policy Policy

	// inline: st holds the sBusy, sClosed and sWaiting bits. The executor
	// sets sBusy around each call of o, and only if sClosed is clear; the
	// subscribing goroutine sets sClosed when it leaves and, if a call is
	// in progress, makes left and sets sWaiting, and then waits for left,
	// which the executor closes when that call returns. No lock is held
	// while o runs.
	st   atomic.Uint32
	left chan struct{}
	// inline, executor: end is closed (once) when the producer side ended
	// the subscription, with the reason in endErr.
	end    chan struct{}
	ended  bool
	endErr error

	// buffered: mu guards the queue: a ring of positions head ≤ pos <
	// tail, with gap markers at positions; closed says nothing more is
	// queued; term/termErr record the end of the stream.
	mu         sync.Mutex
	closed     bool
	ring       []T
	head, tail uint64
	gaps       []gapMark
	term       bool
	termErr    error
	ready      chan struct{} // producer → consumer, capacity 1
	space      chan struct{} // consumer → producer, capacity 1
	gone       chan struct{} // closed when the consumer has left
}

// Inline subscriber states.
const (
	sBusy uint32 = 1 << iota
	sClosed
	sWaiting
)

type gapMark struct {
	pos uint64 // the gap comes before the item at pos
	gap Gap
}

// cancelled reports whether the subscriber's context has ended; a
// context that cannot end costs a nil check.
func (s *subscriber[T]) cancelled() bool {
	return s.done != nil && s.ctx.Err() != nil
}

// drop closes an inline subscriber whose context has ended: nothing more
// is delivered, and it is detached now rather than when its subscribing
// goroutine, which sees ctx too, gets to run.
func (s *subscriber[T]) drop() {
	if s.st.Or(sClosed)&sClosed == 0 {
		s.p.remove(s)
	}
}

// after ends a call of o that returned err, when that is not simply
// clearing sBusy: o failed, or the subscribing goroutine is leaving and
// waits for the call.
func (s *subscriber[T]) after(err error) {
	if err == nil {
		s.idle(false)
		return
	}
	s.finish(err)
	s.idle(true)
	s.p.remove(s)
}

// idle clears sBusy after a call of o (setting sClosed if stop), and lets
// a subscribing goroutine waiting for that call go.
func (s *subscriber[T]) idle(stop bool) {
	for {
		st := s.st.Load()
		next := st &^ sBusy
		if stop {
			next |= sClosed
		}
		if s.st.CompareAndSwap(st, next) {
			if st&sWaiting != 0 {
				close(s.left)
			}
			return
		}
	}
}

// finish ends an inline subscription from the producer side with err. It
// runs on the executor.
func (s *subscriber[T]) finish(err error) {
	if !s.ended {
		s.ended, s.endErr = true, err
		close(s.end)
	}
}

// waitInline is the subscribing goroutine of an inline subscriber: it
// waits for the end, closes the subscription, and waits for a call of o in
// progress to return.
func (s *subscriber[T]) waitInline() error {
	select {
	case <-s.end:
	case <-s.ctx.Done():
	}
	for {
		st := s.st.Load()
		if st&sBusy == 0 {
			if s.st.CompareAndSwap(st, st|sClosed) {
				break
			}
		} else {
			// Made before sWaiting is set, which publishes it to the
			// executor.
			if s.left == nil {
				s.left = make(chan struct{})
			}
			if s.st.CompareAndSwap(st, st|sClosed|sWaiting) {
				<-s.left
				break
			}
		}
	}
	s.p.remove(s)
	select {
	case <-s.end:
		return s.endErr
	default:
		return s.ctx.Err()
	}
}

// queueGap queues a gap marker for a buffered subscriber.
func (s *subscriber[T]) queueGap(g Gap) {
	s.mu.Lock()
	if s.closed || s.term {
		s.mu.Unlock()
		return
	}
	s.addGapLocked(s.tail, g)
	s.mu.Unlock()
	signal(s.ready)
}

// terminate ends the subscription with the stream's end. It runs on the
// executor.
func (s *subscriber[T]) terminate(err error) {
	if s.inline {
		s.st.Or(sClosed)
		s.finish(err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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

// enqueue queues items for a buffered subscriber according to its policy.
// It runs on the executor; under Block it waits for room, which only the
// consumer makes (no lock is held meanwhile).
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
