//go:build linux

package poller

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// wakeToken marks the eventfd in epoll's user data; registrations use
// their slot index, which is never negative.
const wakeToken = -1

// Poller drains many netlink sockets from one epoll instance on one
// goroutine.
//
// The goroutine (the loop) waits for the epoll instance to become readable;
// then it takes the ready sockets with epoll_wait, reads each with recvmmsg
// into the poller's reusable buffers and calls the socket's Handler with the
// result. Add, Remove and Close are safe to call from any goroutine at any
// time, handlers included, and none of them waits for a handler: see the
// package documentation for the contract.
//
// The epoll fd itself is handed to the Go runtime's netpoller (epoll
// instances nest), so an idle loop is a parked goroutine, not a thread held
// in a blocking epoll_wait. That matters for the sockets nl.Dial makes:
// they are nonblocking and so registered in the runtime's netpoller as well,
// and their readiness then reaches the process through the same runtime
// epoll_wait that wakes the loop, instead of waking a second thread per
// event (bench/poller/RESULTS.md has the figures).
type Poller struct {
	cfg  config
	done chan struct{} // closed when the loop has stopped
	err  error         // why the loop stopped, if it failed; set before done closes

	closing     atomic.Bool // the loop stops at its next check
	closeCalled atomic.Bool // Close was called

	// mu guards the fields below it. The loop holds mu only to resolve
	// epoll tokens, never while it reads a socket or runs a handler, so
	// nothing that takes it waits for user code.
	mu     sync.Mutex
	epfd   int      // -1 once the loop has stopped
	epf    *os.File // owns epfd when it is in the runtime's netpoller
	wakefd int      // eventfd in the epoll set; -1 once the loop has stopped
	closed bool
	slots  []*Registration // by slot index; nil entries are free
	free   []int32
	gen    uint32
	count  int

	stats counters

	// Loop-owned state, never touched by other goroutines.
	arena  *arena
	events []unix.EpollEvent
	ready  []*Registration
	batch  Batch
	msgs   []nl.Message
	nsids  []int32 // parallel to msgs for a registration with WithNSID
	// holding is the registration drain is reading and delivering (loop only).
	holding *Registration
	evs     []Event
	grow    int   // largest truncated datagram seen in the current batch
	local   Stats // poller counters not yet published
	want    int   // recvmmsg arguments and results, for Registration.read
	got     int
	errno   unix.Errno
	epc     syscall.RawConn // epf's, to park until epfd is readable
}

// Registration is one socket registered with a Poller. Its Handler is
// called with every batch read from the socket until Remove, the socket's
// failure, or the poller's Close.
type Registration struct {
	p         *Poller
	h         Handler
	data      any
	anySender bool
	nsid      bool // WithNSID
	framing   nl.Framing
	fd        int
	rc        syscall.RawConn // nil for AddFD
	read      func(fd uintptr)

	// state holds the bits below. The loop sets calling around each
	// handler call; Remove (or the loop, when it ends the registration)
	// sets removed, then unregistered once the socket has left the epoll
	// set. Whoever sees unregistered set with calling clear first closes
	// done: Remove if no call was running, else the loop when that call
	// returns. No goroutine identity is needed and nobody waits.
	state atomic.Uint32
	done  chan struct{}
	slot  int32  // guarded by p.mu
	gen   uint32 // fixed at registration

	stats counters
}

// New starts a poller: an epoll instance, an eventfd to interrupt it, the
// batch buffers (batch size × datagram size bytes of address space, see
// WithBatchSize) and one goroutine. Stop it with Close.
func New(opts ...Option) (*Poller, error) {
	p, err := newPoller(newConfig(opts))
	if err != nil {
		return nil, err
	}
	go p.run()
	return p, nil
}

func newPoller(cfg config) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("poller: %w", os.NewSyscallError("epoll_create1", err))
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("poller: %w", os.NewSyscallError("eventfd", err))
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeToken}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("poller: add eventfd: %w", os.NewSyscallError("epoll_ctl", err))
	}
	p := &Poller{
		cfg:    cfg,
		done:   make(chan struct{}),
		epfd:   epfd,
		wakefd: wakefd,
		arena:  newArena(cfg.batch, cfg.datagram),
		events: make([]unix.EpollEvent, cfg.maxEvents),
	}
	if cfg.wait == waitNetpoll {
		if err := p.useNetpoller(); err != nil {
			unix.Close(wakefd)
			if p.epf != nil {
				p.epf.Close()
			} else {
				unix.Close(epfd)
			}
			return nil, err
		}
	}
	return p, nil
}

// useNetpoller hands the epoll fd to the Go runtime's netpoller (epoll
// fds nest), so that an idle loop parks like any goroutine waiting for
// I/O instead of holding a thread in epoll_wait.
func (p *Poller) useNetpoller() error {
	if err := unix.SetNonblock(p.epfd, true); err != nil {
		return fmt.Errorf("poller: %w", os.NewSyscallError("fcntl", err))
	}
	p.epf = os.NewFile(uintptr(p.epfd), "epoll")
	rc, err := p.epf.SyscallConn()
	if err != nil {
		return fmt.Errorf("poller: %w", err)
	}
	p.epc = rc
	return nil
}

// Add registers the socket c and returns its registration; h is called
// with every batch read from it. The poller reads c from now on: do not
// call c's receive methods while it is registered. Remove the registration
// before closing c; a Conn closed while registered gets at most a last
// batch with a Closed event (ErrSocketClosed), and its registration holds
// a slot until Remove or Close. Reads go through c's RawConn.Control, so a
// concurrent c.Close waits for a read in progress instead of freeing the fd
// under it. Add does not wait for the loop. Cost: one epoll_ctl and two
// small allocations.
func (p *Poller) Add(c *nl.Conn, h Handler, opts ...AddOption) (*Registration, error) {
	if c == nil || h == nil {
		return nil, errors.New("poller: add: nil socket or handler")
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("poller: add: %w", err)
	}
	r := p.newRegistration(h, append([]AddOption{WithFraming(c.Framing())}, opts...))
	r.rc = rc
	if r.nsid {
		r.read = func(fd uintptr) { p.got, p.errno = p.arena.recvmmsgNSID(int(fd), p.want) }
	} else {
		r.read = func(fd uintptr) { p.got, p.errno = p.arena.recvmmsg(int(fd), p.want) }
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) { rerr = p.register(r, int(fd)) }); err != nil {
		return nil, fmt.Errorf("poller: add: %w", err)
	}
	if rerr != nil {
		return nil, rerr
	}
	return r, nil
}

// AddFD registers a netlink socket the caller opened itself (for instance
// with unix.Socket, so the Go runtime's netpoller never saw it). Its
// datagrams are read as netlink-framed unless WithFraming says otherwise. The fd
// must be nonblocking or not: reads always pass MSG_DONTWAIT. The caller
// keeps ownership: Remove the registration before closing fd, since the
// poller cannot tell a closed and reused fd number from the original.
func (p *Poller) AddFD(fd int, h Handler, opts ...AddOption) (*Registration, error) {
	if fd < 0 || h == nil {
		return nil, errors.New("poller: add: bad fd or nil handler")
	}
	r := p.newRegistration(h, opts)
	if err := p.register(r, fd); err != nil {
		return nil, err
	}
	return r, nil
}

// Registration.state bits.
const (
	removed      = 1 << iota // Remove was called, or the loop ended the registration
	calling                  // the loop is calling the handler
	unregistered             // the socket is out of the epoll set
)

func (p *Poller) newRegistration(h Handler, opts []AddOption) *Registration {
	r := &Registration{p: p, h: h, done: make(chan struct{})}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

func (p *Poller) register(r *Registration, fd int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("poller: add: %w", ErrPollerClosed)
	}
	var slot int32
	if n := len(p.free); n > 0 {
		slot = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		slot = int32(len(p.slots))
		p.slots = append(p.slots, nil)
	}
	p.gen++
	r.fd, r.slot, r.gen = fd, slot, p.gen
	// Level-triggered: a socket left with data after its budget stays in
	// epoll's ready list, behind the others, so nothing needs re-arming.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: slot, Pad: int32(r.gen)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.free = append(p.free, slot)
		return fmt.Errorf("poller: add fd %d: %w", fd, os.NewSyscallError("epoll_ctl", err))
	}
	p.slots[slot] = r
	p.count++
	return nil
}

// unregister takes r out of the epoll set and frees its slot. r's removed
// bit is already set.
func (p *Poller) unregister(r *Registration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.epfd >= 0 {
		del := func(fd int) { unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil) }
		if r.rc != nil {
			// A closed Conn left the epoll set by itself when its file
			// was released; Control then fails and there is nothing to do.
			r.rc.Control(func(fd uintptr) { del(int(fd)) })
		} else {
			del(r.fd)
		}
	}
	if p.slots != nil && p.slots[r.slot] == r {
		p.slots[r.slot] = nil
		p.free = append(p.free, r.slot)
		p.count--
	}
}

// Len returns the number of registrations.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// Stats returns the poller's counters, the sum over every registration it
// has had plus its wake-ups. They are published once per wake-up, so they
// may lag the registrations' own counters by the current round. It does
// not allocate.
func (p *Poller) Stats() Stats { return p.stats.load() }

// Close stops the poller. It returns at once, without waiting for the loop
// or for any handler, so it may be called from anywhere: a handler of this
// poller or of another, a goroutine a handler waits for, a subscriber fed by
// a handler. The loop then finishes the handler call in progress, if any,
// gives every registration still present a last batch with a Closed event
// (ErrPollerClosed), closes the epoll instance and the eventfd, and exits;
// Done is closed after all of that, and Err tells why the loop stopped. To
// wait, from outside every handler: p.Close(); <-p.Done(). The registered
// sockets are not closed: they belong to the caller.
//
// The first Close returns nil, or the loop's error if it had already
// stopped by itself; later calls return an error wrapping os.ErrClosed.
// Cost: one eventfd write.
func (p *Poller) Close() error {
	if !p.closeCalled.CompareAndSwap(false, true) {
		return fmt.Errorf("poller: close: %w", os.ErrClosed)
	}
	if p.closing.CompareAndSwap(false, true) {
		p.wake()
		return nil
	}
	select {
	case <-p.done:
		return p.err
	default:
		return nil // a Group is stopping it
	}
}

// Done returns a channel closed once the loop has stopped: every
// registration has ended, no handler is running or will run again, and
// the poller's own descriptors are closed.
func (p *Poller) Done() <-chan struct{} { return p.done }

// Err returns why the loop stopped: nil after Close, the epoll_wait failure
// otherwise. It returns nil while the loop runs (before Done is closed).
func (p *Poller) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// wake interrupts epoll_wait through the eventfd. The eventfd is never
// read: the only reason to wake the loop is to stop it.
func (p *Poller) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wakefd < 0 {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(p.wakefd, one[:])
}

// Data returns the value given with WithData, or nil.
func (r *Registration) Data() any { return r.data }

// Framing returns how the poller reads r's datagrams: the Conn's framing
// (nl.Conn.Framing) for Add, the one given with WithFraming for AddFD
// (nl.FramingNetlink by default).
func (r *Registration) Framing() nl.Framing { return r.framing }

// Poller returns the poller r is registered with.
func (r *Registration) Poller() *Poller { return r.p }

// Stats returns the registration's counters, updated before each handler
// call (HandlerTime and Batches after it). It does not allocate.
func (r *Registration) Stats() Stats { return r.stats.load() }

// Remove ends the registration: the poller stops watching the socket and
// the handler is not called again, with one exception: a read the loop
// had already begun when Remove was called is delivered, and a call in
// progress runs to its end (datagrams taken from the socket are never
// dropped). Remove returns at
// once and never waits for a handler, so it may be called from anywhere,
// the registration's own handler included (then that call is the one in
// progress). Done is closed once the last call has returned: wait for it,
// from outside the handler, before releasing what the handler uses. The
// socket itself may be closed as soon as Remove returns: a read in progress
// holds it through its RawConn. Removing an ended registration returns an
// error wrapping os.ErrClosed. Cost: one epoll_ctl, a few atomic operations.
func (r *Registration) Remove() error {
	if r.state.Or(removed)&removed != 0 {
		return fmt.Errorf("poller: remove: %w", os.ErrClosed)
	}
	r.p.unregister(r)
	r.markUnregistered()
	return nil
}

// Done returns a channel closed once the registration has ended (Remove,
// the socket's failure, or the poller's Close) and its handler has returned
// for the last time.
func (r *Registration) Done() <-chan struct{} { return r.done }

// markUnregistered records that r has left the epoll set; r's removed bit
// is set. It closes done if no handler call is running; otherwise the loop
// does when the call returns.
func (r *Registration) markUnregistered() {
	if r.state.Or(unregistered)&calling == 0 {
		close(r.done)
	}
}

// call runs r's handler on b unless r has been removed, and reports whether
// it did. With final the removed bit is the loop's own (it is ending r) and
// the call is made anyway. It runs on the loop only, one call at a time.
func (r *Registration) call(b *Batch, final bool) bool {
	before := r.state.Or(calling)
	if before&removed != 0 && !final {
		r.endCall(before)
		return false
	}
	r.h(b)
	r.endCall(before)
	return true
}

// endCall clears the calling bit; before is the state when it was set. If
// r left the epoll set meanwhile, Remove saw the call running and left
// closing done to the loop.
func (r *Registration) endCall(before uint32) {
	if after := r.state.And(^uint32(calling)); after&unregistered != 0 && before&unregistered == 0 {
		close(r.done)
	}
}

// run is the loop. It returns when Close is called or epoll_wait fails.
func (p *Poller) run() error {
	var err error
	if p.epc != nil {
		err = p.parkedLoop()
	} else {
		err = p.blockingLoop()
	}
	p.shutdown(err)
	close(p.done)
	return err
}

// parkedLoop runs the rounds inside one RawConn.Read on the epoll fd, so
// that the loop parks in the runtime's netpoller. Staying inside one Read
// matters: a new Read forgets readiness that arrived before it, while
// within one Read a readiness edge that arrives during a round is kept and
// ends the next park at once. That lets a round that left nothing behind
// park without first asking epoll again, one syscall less per wake-up.
func (p *Poller) parkedLoop() error {
	var werr error
	err := p.epc.Read(func(fd uintptr) bool {
		for !p.closing.Load() {
			n, err := epollPoll(int(fd), p.events)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				werr = err
				return true
			}
			if n == 0 {
				return false
			}
			// Anything that becomes ready after this epoll_wait wakes the
			// runtime's netpoller through the nested epoll set; only a
			// full event array or a spent budget can leave readiness
			// behind unannounced.
			if !p.round(n) {
				return p.closing.Load()
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("poller: %w", os.NewSyscallError("epoll_wait", err))
	}
	return nil
}

// blockingLoop waits in a blocking epoll_wait, holding a thread.
func (p *Poller) blockingLoop() error {
	for !p.closing.Load() {
		n, err := unix.EpollWait(p.epfd, p.events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("poller: %w", os.NewSyscallError("epoll_wait", err))
		}
		p.round(n)
	}
	return nil
}

// round serves the n events in p.events. It reports whether readiness may
// be left that epoll has not announced again: more events than the array
// held, or a socket whose budget ran out.
func (p *Poller) round(n int) (more bool) {
	p.local.Wakeups++
	p.resolve(p.events[:n])
	more = n == len(p.events)
	for i, r := range p.ready {
		if p.closing.Load() {
			break
		}
		if p.drain(r) {
			more = true
		}
		p.ready[i] = nil
	}
	p.stats.add(&p.local)
	p.local = Stats{}
	return more
}

// resolve turns epoll tokens into registrations. An event for a slot that
// was freed or reused since epoll_wait returned is stale and skipped.
func (p *Poller) resolve(events []unix.EpollEvent) {
	p.ready = p.ready[:0]
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range events {
		if ev.Fd == wakeToken {
			continue // closing is already set
		}
		if int(ev.Fd) >= len(p.slots) {
			continue
		}
		if r := p.slots[ev.Fd]; r != nil && r.gen == uint32(ev.Pad) {
			p.ready = append(p.ready, r)
		}
	}
}

// drain reads r until it is empty, its budget is spent, or it ends, and
// hands each read to its handler. It reports whether r may still hold data
// because its budget ran out.
//
// The registration counts as in a handler call from before the first read
// to after the last delivery: what the loop reads from the socket reaches
// the handler even if Remove comes in between (the datagrams are out of
// the socket: dropping them would lose them for whoever reads it next),
// and Done waits for that delivery.
func (p *Poller) drain(r *Registration) (more bool) {
	before := r.state.Or(calling)
	if before&removed != 0 {
		r.endCall(before)
		return false
	}
	p.holding = r
	defer func() {
		p.holding = nil
		r.endCall(before)
	}()
	var st Stats
	defer func() {
		p.logDrops(r, &st)
		r.stats.add(&st)
		p.local.add(&st)
	}()
	for budget := p.cfg.budget; ; {
		if budget <= 0 {
			p.deliver(r, &st)
			return true
		}
		want := min(p.arena.slots(), budget)
		k, errno, closed := p.receive(r, want)
		st.Syscalls++
		switch {
		case closed:
			p.end(r, &st, ErrSocketClosed)
			return false
		case errno == unix.EINTR:
		case errno == unix.ENOBUFS:
			// Queued datagrams follow the report: read on, so they share
			// its batch.
			st.Overruns++
			p.evs = append(p.evs, Event{At: len(p.msgs), Kind: Overrun, Err: ErrOverrun})
			budget--
		case errno != 0 && errno != unix.EAGAIN:
			p.end(r, &st, fmt.Errorf("poller: %w", os.NewSyscallError("recvmmsg", errno)))
			return false
		case k <= 0: // EAGAIN
			p.deliver(r, &st) // an overrun with nothing after it
			return false
		default:
			p.collect(r, k, &st)
			p.deliver(r, &st)
			if r.state.Load()&removed != 0 || p.closing.Load() {
				return false
			}
			budget -= k
			if k < want {
				// recvmmsg stops short only when the queue ran empty or
				// an overrun interrupted it. Later data, and that
				// overrun (whose wake-up came after epoll_wait handed us
				// this socket), make it ready again: confirming with an
				// EAGAIN read is not worth a syscall.
				return false
			}
		}
	}
}

// receive reads up to want datagrams from r into the arena. closed reports
// that r's Conn has been closed.
func (p *Poller) receive(r *Registration, want int) (k int, errno unix.Errno, closed bool) {
	if r.rc == nil {
		if r.nsid {
			k, errno = p.arena.recvmmsgNSID(r.fd, want)
		} else {
			k, errno = p.arena.recvmmsg(r.fd, want)
		}
		return k, errno, false
	}
	// Control pins the fd, so a concurrent Conn.Close waits for the read
	// instead of freeing the fd number under it.
	p.want = want
	if err := r.rc.Control(r.read); err != nil {
		return 0, 0, true
	}
	return p.got, p.errno, false
}

// collect checks the k datagrams in the arena and appends their messages
// and events to the pending batch.
func (p *Poller) collect(r *Registration, k int, st *Stats) {
	a := p.arena
	for i := range k {
		if a.names[i].Pid != 0 && !r.anySender {
			st.Spoofed++
			continue
		}
		n := int(a.hdrs[i].len)
		st.Datagrams++
		// With WithNSID, control data cut short (MSG_CTRUNC) may have lost
		// the namespace id: the datagram would pass as the socket's own
		// namespace's, so it is reported as truncated instead.
		if a.hdrs[i].hdr.Flags&unix.MSG_TRUNC != 0 || n > a.size || r.nsid && a.hdrs[i].hdr.Flags&unix.MSG_CTRUNC != 0 {
			st.Truncations++
			st.Bytes += uint64(min(n, a.size))
			p.evs = append(p.evs, Event{At: len(p.msgs), Kind: Truncated, Err: ErrTruncated})
			p.grow = max(p.grow, n)
			continue
		}
		st.Bytes += uint64(n)
		if r.framing == nl.FramingRaw {
			p.msgs = append(p.msgs, nl.RawMessage(a.datagram(i, n), a.names[i].Pid))
		} else {
			it := nl.NewMessageIter(a.datagram(i, n))
			for it.Next() {
				p.msgs = append(p.msgs, it.Message())
			}
			if err := it.Err(); err != nil {
				st.Malformed++
				p.evs = append(p.evs, Event{At: len(p.msgs), Kind: Malformed, Err: fmt.Errorf("poller: %w", err)})
			}
		}
		if r.nsid {
			for range len(p.msgs) - len(p.nsids) {
				p.nsids = append(p.nsids, a.nsids[i])
			}
		}
	}
}

// deliver publishes the counters, calls r's handler with the pending batch
// if it holds anything (and r has not been removed), and resets it.
func (p *Poller) deliver(r *Registration, st *Stats) { p.deliverBatch(r, st, false) }

func (p *Poller) deliverBatch(r *Registration, st *Stats, final bool) {
	if len(p.msgs) == 0 && len(p.evs) == 0 {
		return
	}
	p.logDrops(r, st)
	st.Messages += uint64(len(p.msgs))
	r.stats.add(st)
	p.local.add(st)
	*st = Stats{}

	b := &p.batch
	b.Source, b.Messages, b.Events = r, p.msgs, p.evs
	if r.nsid {
		b.NSIDs = p.nsids[:len(p.msgs):len(p.msgs)]
	}
	start := time.Now()
	if p.holding == r {
		r.h(b)
		st.HandlerTime = time.Since(start)
		st.Batches = 1
	} else if r.call(b, final) {
		st.HandlerTime = time.Since(start)
		st.Batches = 1
	}
	*b = Batch{}
	p.msgs, p.evs, p.nsids = p.msgs[:0], p.evs[:0], p.nsids[:0]

	if p.grow > 0 {
		p.growArena()
	}
}

// logDrops logs (WithLogger) what st, counts not yet published, says was
// lost or dropped.
func (p *Poller) logDrops(r *Registration, st *Stats) {
	if l := p.cfg.logger; l != nil && st.Spoofed|st.Truncations|st.Malformed|st.Overruns != 0 {
		l.Warn("poller: datagrams lost or dropped", "fd", r.fd, "overruns", st.Overruns,
			"truncated", st.Truncations, "malformed", st.Malformed, "spoofed", st.Spoofed)
	}
}

// growArena makes every slot large enough for the longest truncated
// datagram, keeping the arena's total size by taking fewer slots.
func (p *Poller) growArena() {
	need := (p.grow + os.Getpagesize() - 1) &^ (os.Getpagesize() - 1)
	p.grow = 0
	if need > MaxDatagramSize || need <= p.arena.size {
		return
	}
	total := p.cfg.batch * p.cfg.datagram
	slots := min(p.cfg.batch, max(1, total/need))
	p.arena = newArena(slots, need)
}

// end finishes r from the loop: a last batch with a Closed event, then out
// of the epoll set. If Remove came first, the batch is dropped.
func (p *Poller) end(r *Registration, st *Stats, err error) {
	p.evs = append(p.evs, Event{At: len(p.msgs), Kind: Closed, Err: err})
	if r.state.Or(removed)&removed != 0 {
		if p.holding == r {
			p.deliverBatch(r, st, true) // what was read before Remove
		}
		p.msgs, p.evs, p.nsids = p.msgs[:0], p.evs[:0], p.nsids[:0] // Remove did the rest
		return
	}
	p.deliverBatch(r, st, true)
	p.unregister(r)
	r.markUnregistered()
}

// shutdown ends every registration left and releases the poller's fds.
func (p *Poller) shutdown(err error) {
	if err == nil {
		err = ErrPollerClosed
	}
	p.closing.Store(true)
	p.mu.Lock()
	p.closed = true
	p.ready = p.ready[:0]
	for _, r := range p.slots {
		if r != nil {
			p.ready = append(p.ready, r)
		}
	}
	p.mu.Unlock()
	for i, r := range p.ready {
		var st Stats
		p.end(r, &st, err)
		r.stats.add(&st)
		p.local.add(&st)
		p.ready[i] = nil
	}
	p.stats.add(&p.local)
	p.local = Stats{}

	p.mu.Lock()
	if p.epf != nil {
		p.epf.Close()
	} else {
		unix.Close(p.epfd)
	}
	unix.Close(p.wakefd)
	p.epfd, p.wakefd = -1, -1
	p.slots, p.free, p.count = nil, nil, 0
	p.mu.Unlock()
	p.err = err
	if errors.Is(err, ErrPollerClosed) {
		p.err = nil
	}
}
