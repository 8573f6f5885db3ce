//go:build linux

package nl

import (
	"context"
	"errors"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// This file holds how a Conn shares its socket: the read turn, the requests
// in flight and the replies set aside for them, the spare receive buffers,
// and the read deadline (the caller's, and the past one that wakes a read
// when a context ends).
//
// One goroutine at a time reads the socket: the holder of the read turn. A
// request holds the turn only while it reads; while its callback runs it
// has let the turn go, so another request, nested in that callback or from
// another goroutine, can run meanwhile. Replies are told apart by sequence
// number: a reader that meets replies of another request in flight copies
// them into that request's queue, which the request reads before the
// socket. The kernel runs one dump per socket at a time (a second one fails
// with EBUSY), so a dump request first reads what is left of the dump in
// progress, setting it aside for its request. Plain receives (Receive,
// ReceiveFunc, Drain, ReceiveAndDecode) do not match sequence numbers: they
// take the turn only while no request is in flight, so that they never
// take a request's replies.
//
// No lock is held across a syscall that waits or across user code; the
// waits for the turn honour the caller's context.

// request is one request in flight (Execute, ExecuteFunc, ExecuteBatch), or
// the token of a ReceiveAndDecode, whose context wakes its reads.
type request struct {
	ctx    context.Context
	lo, hi uint32   // its sequence numbers; guarded by c.mu
	queue  []queued // replies another reader set aside for it; guarded by the turn
	buf    []byte   // its receive buffer
	stop   func() bool
}

// queued is a datagram, or the part of one, set aside for a request.
type queued struct {
	b     []byte
	trunc bool
}

// owns reports whether h is a reply to r: one of its sequence numbers,
// addressed to this socket.
func (r *request) owns(h Header, port uint32) bool {
	return r.hasSeq(h.Seq) && h.PortID == port
}

// hasSeq reports whether seq is one of r's (wrapping like the numbers).
func (r *request) hasSeq(seq uint32) bool { return seq-r.lo <= r.hi-r.lo }

// newRequest makes a request whose context interrupts its reads. The caller
// must call c.done.
func (c *Conn) newRequest(ctx context.Context) *request {
	r := &request{ctx: ctx}
	if ctx.Done() != nil {
		r.stop = context.AfterFunc(ctx, func() { c.interrupt(r) })
	}
	return r
}

// stopWatch stops r's context from interrupting reads.
func (r *request) stopWatch() {
	if r.stop != nil {
		r.stop()
	}
}

// lock takes the read turn for r (nil for a receive without a context),
// waiting while another goroutine holds it. A plain receive (plain) also
// waits while any request is in flight. It returns ctx's error if ctx ends
// first.
func (c *Conn) lock(ctx context.Context, r *request, plain bool) error {
	c.mu.Lock()
	for c.held || (plain && len(c.inflight) > 0) {
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		w := c.wake
		c.waiting++
		c.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			c.mu.Lock()
			c.waiting--
			c.mu.Unlock()
			return ctx.Err()
		}
		c.mu.Lock()
		c.waiting--
	}
	c.held, c.owner = true, r
	c.mu.Unlock()
	// Checked with the turn held: a context that ends from now on finds
	// r the owner and interrupts its read (interrupt).
	if err := ctx.Err(); err != nil {
		c.unlock()
		return err
	}
	return nil
}

// unlock gives the turn up, putting back the deadline if the owner's
// context had moved it.
func (c *Conn) unlock() {
	c.mu.Lock()
	c.releaseLocked()
	c.mu.Unlock()
}

func (c *Conn) releaseLocked() {
	c.held, c.owner = false, nil
	if c.cut {
		c.cut = false
		c.applyDeadlineLocked()
	}
	c.signalLocked()
}

// signalLocked wakes the goroutines waiting for the turn to check again.
func (c *Conn) signalLocked() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// interrupt wakes r's read, if r holds the turn, by moving the deadline
// into the past; the deadline comes back when r lets the turn go.
func (c *Conn) interrupt(r *request) {
	c.mu.Lock()
	if c.held && c.owner == r && !c.cut {
		c.cut = true
		c.applyDeadlineLocked()
	}
	c.mu.Unlock()
}

// applyDeadlineLocked sets the socket's read deadline: in the past while a
// context wants the read woken, the caller's otherwise.
func (c *Conn) applyDeadlineLocked() {
	if c.cut || c.spans > 0 {
		c.f.SetReadDeadline(time.Unix(1, 0))
		return
	}
	c.f.SetReadDeadline(c.userDeadline)
}

// SetReadDeadline sets a deadline for Receive and for the receives of
// Execute and the other requests; the zero time removes it. Requests leave
// it as it was: a context that ends moves the socket's deadline for a
// moment to wake a read, then puts the caller's back.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.userDeadline = t
	if c.cut || c.spans > 0 {
		return nil // applied when the wake-up is over
	}
	return c.f.SetReadDeadline(t)
}

// InterruptOnDone makes every receive on c, in progress or to come, fail
// with an error matching os.ErrDeadlineExceeded once ctx is done, until
// stop is called; stop then puts back the deadline set with
// SetReadDeadline. It is how a loop of Receive or ReceiveFunc calls honours
// a context without a context per call (a request takes its own). Call
// stop once. Cost: one context.AfterFunc.
func (c *Conn) InterruptOnDone(ctx context.Context) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	fired := make(chan struct{})
	after := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.spans++
		c.applyDeadlineLocked()
		c.mu.Unlock()
		close(fired)
	})
	return func() {
		if after() {
			return
		}
		<-fired // it runs no user code: this is short
		c.mu.Lock()
		c.spans--
		c.applyDeadlineLocked()
		c.mu.Unlock()
	}
}

// begin starts request r: it takes the turn and a receive buffer and, for a
// dump, reads the rest of the dump the kernel is running on the socket (so
// that r's does not fail with EBUSY). r holds the turn if and only if begin
// succeeds; either way the caller ends r with c.done.
func (c *Conn) begin(r *request, dump bool) error {
	if err := c.lock(r.ctx, r, false); err != nil {
		return err
	}
	c.mu.Lock()
	r.buf = c.takeBufLocked()
	c.mu.Unlock()
	if dump {
		return c.settle(r)
	}
	return nil
}

// register puts r, which holds the turn and has just sent its messages
// lo…hi, in flight; dump marks the kernel busy with r's dump.
func (c *Conn) register(r *request, lo, hi uint32, dump bool) {
	c.mu.Lock()
	r.lo, r.hi = lo, hi
	if !slices.Contains(c.inflight, r) {
		c.inflight = append(c.inflight, r)
	}
	if dump {
		c.running = lo
	}
	c.mu.Unlock()
}

// done ends r, which does not hold the turn: it leaves the requests in
// flight (its later replies, if any, are skipped by whoever reads them),
// and its buffer goes back to the spares. ended reports that r's last reply
// (DONE or ERROR) came; if r was a dump that did not end, the kernel may
// still be running it and the next dump request reads what is left.
func (c *Conn) done(r *request, ended bool) {
	r.stopWatch()
	c.mu.Lock()
	if i := slices.Index(c.inflight, r); i >= 0 {
		c.inflight = slices.Delete(c.inflight, i, i+1)
	}
	if ended && c.running != 0 && r.hasSeq(c.running) {
		c.running = 0
	}
	if r.buf != nil {
		c.bufs = append(c.bufs, r.buf)
		r.buf = nil
	}
	r.queue = nil
	c.signalLocked()
	c.mu.Unlock()
}

// takeBufLocked returns a spare receive buffer, or a new one when a request
// runs inside another's callback.
func (c *Conn) takeBufLocked() []byte {
	if n := len(c.bufs); n > 0 {
		b := c.bufs[n-1]
		c.bufs[n-1] = nil
		c.bufs = c.bufs[:n-1]
		return b
	}
	return make([]byte, c.cfg.datagramSize)
}

// lockPlain takes the turn for a plain receive and a buffer.
func (c *Conn) lockPlain(ctx context.Context, r *request) ([]byte, error) {
	if err := c.lock(ctx, r, true); err != nil {
		return nil, err
	}
	c.mu.Lock()
	b := c.takeBufLocked()
	c.mu.Unlock()
	return b, nil
}

// unlockPlain gives up the turn and, unless it is nil, the buffer.
func (c *Conn) unlockPlain(b []byte) {
	c.mu.Lock()
	if b != nil {
		c.bufs = append(c.bufs, b)
	}
	c.releaseLocked()
	c.mu.Unlock()
}

// putBuf returns a buffer kept past the turn (during callbacks).
func (c *Conn) putBuf(b []byte) {
	c.mu.Lock()
	c.bufs = append(c.bufs, b)
	c.mu.Unlock()
}

// next returns r's next datagram: one set aside for it, or one read from
// the socket into r's buffer. r holds the turn.
func (c *Conn) next(r *request, nowait bool) (datagram, error) {
	if len(r.queue) > 0 {
		q := r.queue[0]
		r.queue[0] = queued{}
		r.queue = r.queue[1:]
		return datagram{b: q.b, trunc: q.trunc, nsid: -1, queued: true}, nil
	}
	c.rbuf = r.buf
	d, err := c.receiveMode(nowait)
	r.buf = c.rbuf // it may have grown
	return d, err
}

// route sets aside the messages of d that are replies to requests in flight
// other than r (nil: to any), and reports whether it looked: then the
// messages it found no request for are counted as unmatched here. It also
// notes the end of an abandoned dump. yield reports that another goroutine
// waits for the turn. r holds the turn; with unlock it gives the turn up in
// the same critical section.
func (c *Conn) route(r *request, d datagram, unlock bool) (routed, yield bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case d.queued:
		// Set aside by a reader that routed it already.
	case r == nil || len(c.inflight) > 1:
		routed = true
		c.routeLocked(r, d)
	case c.running != 0 && !r.hasSeq(c.running):
		// Only r is in flight, but the end of an abandoned dump may be
		// here. (The end of r's own dump is r's to see.)
		c.noteEndLocked(d)
	}
	yield = c.waiting > 0
	if unlock {
		c.releaseLocked()
	}
	return routed, yield
}

func (c *Conn) routeLocked(r *request, d datagram) {
	port := c.local.PortID
	var last *request // the owner of the previous message, for runs
	it := NewMessageIter(d.b)
	for it.Next() {
		m := it.Message()
		if r != nil && r.owns(m.Header, port) {
			continue
		}
		if m.Header.Seq == c.running && (m.Header.Type == TypeDone || m.Header.Type == TypeError) {
			c.running = 0
		}
		o := last
		if o == nil || !o.owns(m.Header, port) {
			o = nil
			for _, x := range c.inflight {
				if x != r && x.owns(m.Header, port) {
					o = x
					break
				}
			}
		}
		if o == nil {
			c.stats.unmatched.Add(1)
			last = nil
			continue
		}
		if o != last || len(o.queue) == 0 {
			o.queue = append(o.queue, queued{trunc: d.trunc})
		}
		q := &o.queue[len(o.queue)-1]
		q.b = AppendMessage(q.b, m)
		last = o
	}
}

// noteEndLocked clears c.running when d holds the end of that dump.
func (c *Conn) noteEndLocked(d datagram) {
	it := NewMessageIter(d.b)
	for it.Next() {
		h := it.Message().Header
		if h.Seq == c.running && (h.Type == TypeDone || h.Type == TypeError) {
			c.running = 0
			return
		}
	}
}

// settle reads, for r, which holds the turn and is not in flight, what is
// left of the dump the kernel runs on the socket, setting aside what
// belongs to requests in flight. It stops at that dump's DONE or ERROR, or
// when nothing is queued: the kernel queues a request's replies before
// sendmsg returns and builds each further dump batch during the read that
// drains the previous one, so an empty queue means the dump is over. When
// another goroutine waits for the turn (the dump's own request, say), it
// lets it go first. On error r no longer holds the turn.
func (c *Conn) settle(r *request) error {
	for {
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if running == 0 {
			return nil
		}
		d, err := c.next(r, true)
		if errors.Is(err, unix.EAGAIN) {
			c.mu.Lock()
			c.running = 0
			c.mu.Unlock()
			return nil
		}
		if err != nil {
			c.unlock()
			return err
		}
		c.stats.messages.Add(uint64(countMessages(d.b)))
		if _, yield := c.route(nil, d, false); yield {
			c.unlock()
			if err := c.lock(r.ctx, r, false); err != nil {
				return err
			}
		}
	}
}

func countMessages(b []byte) int {
	n := 0
	it := NewMessageIter(b)
	for it.Next() {
		n++
	}
	return n
}
