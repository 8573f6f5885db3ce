//go:build linux

package nl

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a netlink socket.
//
// It is safe for concurrent use, and its callbacks may use it again: a
// request (Execute, ExecuteFunc, ExecuteBatch, and the rtnl helpers built
// on them) made inside another request's callback, or from another
// goroutine while one is in progress, runs at once; replies are told apart
// by sequence number, and those of the other request are set aside for it
// (copied). A goroutine that finds the socket being read by another waits
// for it, for as long as its context allows. See the package documentation
// for the whole contract and its costs. A socket that watches multicast
// groups should not also carry requests: the kernel's notifications about
// the caller's own changes carry the request's sequence number.
type Conn struct {
	f        *os.File
	rc       syscall.RawConn
	protocol int
	framing  Framing
	local    Addr
	cfg      config
	seq      atomic.Uint32
	closed   atomic.Bool

	// mu guards the fields below it (turn_linux.go). It is held only for
	// short sections: never across a syscall that waits, never while user
	// code runs.
	mu           sync.Mutex
	held         bool          // someone holds the read turn
	owner        *request      // who holds it, if it has a context to honour
	waiting      int           // goroutines waiting for the turn
	wake         chan struct{} // closed when the turn may be free; nil until someone waits
	inflight     []*request    // requests whose replies may still come
	running      uint32        // sequence number of a dump the kernel may still run here; 0 if none
	bufs         [][]byte      // spare receive buffers
	userDeadline time.Time     // the deadline set with SetReadDeadline
	cut          bool          // the owner's context ended: the deadline is in the past
	spans        int           // InterruptOnDone contexts that have ended

	// The receive state, used by the holder of the read turn only.
	rbuf    []byte // the buffer the next read fills: the reader's own
	oob     []byte
	rd      readState
	read    func(fd uintptr) bool // reads into rd; made once so receives do not allocate
	readNow func(fd uintptr) bool // the same, never waiting

	wmu    sync.Mutex // guards wbuf
	wbuf   []byte
	sendTo func(fd int, b []byte, to Addr) error // nil: sendto(2); set for the fake kernel

	stats stats
}

type readState struct {
	n, oobn, flags int
	from           unix.RawSockaddrNetlink
	err            error
}

// Stats counts what a Conn received. All counters only grow.
type Stats struct {
	Datagrams uint64 // datagrams received from the kernel
	Messages  uint64 // messages in them
	Bytes     uint64 // bytes in them
	Spoofed   uint64 // datagrams dropped because the sender was not the kernel
	Truncated uint64 // datagrams cut short by MSG_TRUNC
	Overruns  uint64 // ENOBUFS: multicast messages were lost
	Unmatched uint64 // messages skipped by Execute: wrong sequence or port id
}

type stats struct {
	datagrams, messages, bytes, spoofed, truncated, overruns, unmatched atomic.Uint64
}

// Dial opens a netlink socket for protocol (unix.NETLINK_ROUTE,
// NETLINK_GENERIC, NETLINK_KOBJECT_UEVENT …) and binds it to local. It is the
// counterpart of Guile-Netlink's connect. The protocol decides how
// datagrams are read (ProtocolFraming, Conn.Framing): uevents are not
// netlink-framed and the connector's messages all have the type
// NLMSG_DONE, and every receive path follows that.
//
// The socket is close-on-exec and nonblocking (it parks in the Go runtime's
// netpoller), NETLINK_EXT_ACK and NETLINK_CAP_ACK are set, and for
// NETLINK_ROUTE NETLINK_GET_STRICT_CHK too; kernels that lack an option
// (ENOPROTOOPT) are tolerated. Cost: a handful of syscalls, one receive
// buffer (64 KiB by default).
func Dial(protocol int, local Addr, opts ...Option) (*Conn, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.datagramSize == 0 {
		cfg.datagramSize = DefaultDatagramSize
	}
	var fd int
	var err error
	if cfg.netns != "" {
		err = inNetNS(cfg.netns, func() error {
			fd, err = socket(protocol, cfg)
			return err
		})
	} else {
		fd, err = socket(protocol, cfg)
	}
	if err != nil {
		return nil, err
	}
	c, err := newConn(fd, protocol, local, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialRoute opens an rtnetlink (NETLINK_ROUTE) socket bound to a port the
// kernel picks, joined to the groups given with WithGroups. It is the
// counterpart of Guile-Netlink's connect-route.
func DialRoute(opts ...Option) (*Conn, error) {
	return Dial(unix.NETLINK_ROUTE, Addr{}, opts...)
}

func socket(protocol int, cfg config) (int, error) {
	typ := unix.SOCK_RAW | unix.SOCK_CLOEXEC | cfg.sockFlags
	if !cfg.blocking {
		typ |= unix.SOCK_NONBLOCK
	}
	fd, err := unix.Socket(unix.AF_NETLINK, typ, protocol)
	if err != nil {
		return -1, fmt.Errorf("nl: socket(AF_NETLINK, %d): %w", protocol, os.NewSyscallError("socket", err))
	}
	return fd, nil
}

func newConn(fd, protocol int, local Addr, cfg config) (*Conn, error) {
	fail := func(what string, err error) (*Conn, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("nl: %s: %w", what, os.NewSyscallError(what, err))
	}
	if cfg.readBuffer > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.readBuffer); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, cfg.readBuffer); err != nil {
				return fail("setsockopt SO_RCVBUF", err)
			}
		}
	}
	if cfg.writeBuffer > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, cfg.writeBuffer); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, cfg.writeBuffer); err != nil {
				return fail("setsockopt SO_SNDBUF", err)
			}
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: local.PortID, Groups: local.Groups}); err != nil {
		return fail("bind", err)
	}
	for _, opt := range []struct {
		opt int
		on  bool
	}{
		{unix.NETLINK_EXT_ACK, true},
		{unix.NETLINK_CAP_ACK, true},
		{unix.NETLINK_GET_STRICT_CHK, protocol == unix.NETLINK_ROUTE && !cfg.noStrict},
		{unix.NETLINK_LISTEN_ALL_NSID, cfg.listenAllNSID},
	} {
		if !opt.on {
			continue
		}
		err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, opt.opt, 1)
		if err != nil && !errors.Is(err, unix.ENOPROTOOPT) {
			return fail("setsockopt SOL_NETLINK", err)
		}
	}
	for _, g := range cfg.groups {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(g)); err != nil {
			return fail(fmt.Sprintf("join group %d", g), err)
		}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	nsa, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		return fail("getsockname", unix.EAFNOSUPPORT)
	}
	f := os.NewFile(uintptr(fd), "netlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("nl: %w", err)
	}
	c := &Conn{
		f:        f,
		rc:       rc,
		protocol: protocol,
		framing:  ProtocolFraming(protocol),
		local:    Addr{PortID: nsa.Pid, Groups: nsa.Groups},
		cfg:      cfg,
	}
	c.read = func(fd uintptr) bool {
		rd := &c.rd
		rd.n, rd.oobn, rd.flags, rd.err = recvmsg(int(fd), c.rbuf, c.oob, &rd.from, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		return rd.err != unix.EAGAIN
	}
	c.init()
	return c, nil
}

// init sets up what every Conn has once c.read is set: the first receive
// buffer, the control buffer, the sequence numbers.
func (c *Conn) init() {
	if c.cfg.framingSet {
		c.framing = c.cfg.framing
	}
	c.bufs = append(c.bufs, make([]byte, c.cfg.datagramSize))
	if c.cfg.listenAllNSID {
		c.oob = make([]byte, unix.CmsgSpace(4)*2)
	}
	c.seq.Store(rand.Uint32())
	c.readNow = func(fd uintptr) bool {
		c.read(fd)
		return true
	}
}

// Protocol returns the netlink protocol the socket was opened for.
func (c *Conn) Protocol() int { return c.protocol }

// Framing returns how the socket's datagrams are read: the protocol's
// framing (ProtocolFraming) unless WithFraming gave another.
func (c *Conn) Framing() Framing { return c.framing }

// LocalAddr returns the socket's bound address; PortID is the one the
// kernel assigned.
func (c *Conn) LocalAddr() Addr { return c.local }

// PortID returns the socket's port id (nl_pid).
func (c *Conn) PortID() uint32 { return c.local.PortID }

// SyscallConn gives access to the file descriptor, for socket options this
// package does not wrap and for pollers that read the socket themselves.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// Stats returns a snapshot of the socket's counters. It does not allocate.
func (c *Conn) Stats() Stats {
	s := &c.stats
	return Stats{
		Datagrams: s.datagrams.Load(), Messages: s.messages.Load(), Bytes: s.bytes.Load(),
		Spoofed: s.spoofed.Load(), Truncated: s.truncated.Load(), Overruns: s.overruns.Load(),
		Unmatched: s.unmatched.Load(),
	}
}

// Close closes the socket. A Receive or Execute blocked on it returns an
// error wrapping os.ErrClosed. Closing twice returns an error wrapping
// os.ErrClosed.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return fmt.Errorf("nl: close: %w", os.ErrClosed)
	}
	return c.f.Close()
}

func (c *Conn) control(what string, fn func(fd int) error) error {
	var err error
	if cerr := c.rc.Control(func(fd uintptr) { err = fn(int(fd)) }); cerr != nil {
		return fmt.Errorf("nl: %s: %w", what, cerr)
	}
	if err != nil {
		return fmt.Errorf("nl: %s: %w", what, os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// JoinGroup subscribes the socket to a multicast group (NETLINK_ADD_MEMBERSHIP,
// any group number). It is the counterpart of Guile-Netlink's
// add-socket-membership. One syscall.
func (c *Conn) JoinGroup(group uint32) error {
	return c.control(fmt.Sprintf("join group %d", group), func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(group))
	})
}

// LeaveGroup unsubscribes the socket from a multicast group
// (NETLINK_DROP_MEMBERSHIP). One syscall.
func (c *Conn) LeaveGroup(group uint32) error {
	return c.control(fmt.Sprintf("leave group %d", group), func(fd int) error {
		return unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_DROP_MEMBERSHIP, int(group))
	})
}

// Groups returns the multicast groups the socket has joined, in increasing
// order (NETLINK_LIST_MEMBERSHIPS).
func (c *Conn) Groups() ([]uint32, error) {
	var groups []uint32
	err := c.control("list groups", func(fd int) error {
		b := make([]byte, 64)
		n, err := getsockoptBytes(fd, unix.SOL_NETLINK, unix.NETLINK_LIST_MEMBERSHIPS, b)
		if err != nil {
			return err
		}
		if n > len(b) {
			b = make([]byte, n)
			if n, err = getsockoptBytes(fd, unix.SOL_NETLINK, unix.NETLINK_LIST_MEMBERSHIPS, b); err != nil {
				return err
			}
		}
		for i := 0; i < n*8; i++ {
			if b[i/8]&(1<<(i%8)) != 0 {
				groups = append(groups, uint32(i+1))
			}
		}
		return nil
	})
	return groups, err
}

// ReadBufferSize returns the effective kernel receive buffer (SO_RCVBUF as
// the kernel reports it, that is doubled).
func (c *Conn) ReadBufferSize() (int, error) {
	var n int
	err := c.control("get SO_RCVBUF", func(fd int) (err error) {
		n, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		return err
	})
	return n, err
}

// NextSeq returns a fresh sequence number. Sequence numbers start at a
// random value and increase by one per request.
func (c *Conn) NextSeq() uint32 { return c.seq.Add(1) }

// Send sends m to the kernel and returns its sequence number. Length is
// filled in, and a zero Seq is replaced by NextSeq(); flags are sent as
// given. It is the counterpart of Guile-Netlink's send-msg. One syscall;
// it waits (in the netpoller) while the socket's send buffer is full.
func (c *Conn) Send(m Message) (uint32, error) { return c.SendTo(m, Addr{}) }

// SendTo sends m to the netlink address to: the kernel (the zero Addr), a
// user-space port, or multicast groups (to.Groups, which needs privilege).
// Unlike Guile-Netlink's send-msg, the address is honoured.
func (c *Conn) SendTo(m Message, to Addr) (uint32, error) {
	if m.Header.Seq == 0 {
		m.Header.Seq = c.NextSeq()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = AppendMessage(c.wbuf[:0], m)
	return m.Header.Seq, c.sendRaw(c.wbuf, to)
}

// SendMessages sends several messages in one datagram (the kernel handles
// them in order; the libmnl batch pattern) and returns their sequence
// numbers. Zero sequence numbers are assigned consecutively. A datagram must
// fit the socket's send buffer minus 32 bytes.
func (c *Conn) SendMessages(ms []Message) ([]uint32, error) {
	seqs := make([]uint32, len(ms))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = c.wbuf[:0]
	for i, m := range ms {
		if m.Header.Seq == 0 {
			m.Header.Seq = c.NextSeq()
		}
		seqs[i] = m.Header.Seq
		c.wbuf = AppendMessage(c.wbuf, m)
	}
	return seqs, c.sendRaw(c.wbuf, Addr{})
}

func (c *Conn) sendRaw(b []byte, to Addr) error {
	sa := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: to.PortID, Groups: to.Groups}
	var err error
	werr := c.rc.Write(func(fd uintptr) bool {
		if c.sendTo != nil {
			err = c.sendTo(int(fd), b, to)
		} else {
			err = unix.Sendto(int(fd), b, 0, sa)
		}
		return err != unix.EAGAIN
	})
	if werr != nil {
		return fmt.Errorf("nl: send: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("nl: send: %w", os.NewSyscallError("sendto", err))
	}
	return nil
}

// datagram is one received datagram; b aliases the reader's receive buffer
// and is valid until its next receive, or it is a copy set aside for a
// request (queued).
type datagram struct {
	b       []byte
	nsid    int32
	trunc   bool
	queued  bool
	fromPid uint32
}

// receive reads one datagram from the kernel into c.rbuf, dropping (and
// counting) datagrams from other senders. The caller holds the read turn.
func (c *Conn) receive() (datagram, error) { return c.receiveMode(false) }

// receiveMode is receive; with nowait it does not wait for data and
// returns an error matching unix.EAGAIN when none is queued.
func (c *Conn) receiveMode(nowait bool) (datagram, error) {
	for {
		var err error
		if nowait {
			err = c.rc.Read(c.readNow)
		} else {
			err = c.rc.Read(c.read)
		}
		if err != nil {
			return datagram{}, c.readErr(err)
		}
		rd := &c.rd
		if rd.err != nil {
			if rd.err == unix.ENOBUFS {
				c.stats.overruns.Add(1)
			}
			return datagram{}, fmt.Errorf("nl: receive: %w", os.NewSyscallError("recvmsg", rd.err))
		}
		if rd.from.Pid != 0 && !c.cfg.anySender {
			c.stats.spoofed.Add(1)
			continue
		}
		d := datagram{nsid: NSIDNotAssigned, fromPid: rd.from.Pid}
		n := min(rd.n, len(c.rbuf)) // with MSG_TRUNC, rd.n is the datagram's full size
		if rd.flags&unix.MSG_TRUNC != 0 || rd.n > len(c.rbuf) {
			c.stats.truncated.Add(1)
			d.trunc = true
			if rd.n > len(c.rbuf) && rd.n <= MaxDatagramSize {
				// Room for this size and for the kernel's 32 KiB dump
				// batches, which follow the largest buffer offered. The
				// truncated head moves along so callers can still read it.
				old := c.rbuf
				c.rbuf = make([]byte, max(Align(rd.n), DefaultDatagramSize))
				copy(c.rbuf, old)
			}
		}
		d.b = c.rbuf[:n]
		if c.oob != nil {
			d.nsid = ControlNSID(c.oob[:rd.oobn])
		}
		c.stats.datagrams.Add(1)
		c.stats.bytes.Add(uint64(n))
		return d, nil
	}
}

func (c *Conn) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("nl: receive: %w", err)
	}
	if errors.Is(err, os.ErrClosed) || c.closed.Load() {
		return fmt.Errorf("nl: receive: %w", os.ErrClosed)
	}
	return fmt.Errorf("nl: receive: %w", err)
}

// Receive blocks until one datagram from the kernel arrives and returns its
// messages. It is the counterpart of Guile-Netlink's receive-msg. On a
// socket whose datagrams are not netlink-framed (FramingRaw: uevents) the
// datagram is one message, made by RawMessage.
//
// Datagrams from senders other than the kernel are dropped and counted in
// Stats.Spoofed. A truncated datagram returns ErrTruncated (and the buffer
// grows). A multicast overrun returns an error matching unix.ENOBUFS; the
// socket stays usable. Receive waits while a request is in progress on c
// (it would take the request's replies), so do not call it from a
// request's callback. The read deadline (SetReadDeadline) bounds it, and
// InterruptOnDone ties it to a context. Cost: one syscall, and one
// allocation holding a copy of the datagram plus the message slice.
func (c *Conn) Receive() ([]Message, error) {
	ms, _, err := c.ReceiveFrom()
	return ms, err
}

// ReceiveFrom is Receive that also returns the namespace id the datagram
// came from, with WithListenAllNSID, or NSIDNotAssigned (-1) for the
// socket's own namespace.
func (c *Conn) ReceiveFrom() ([]Message, int32, error) {
	buf, err := c.lockPlain(context.Background(), nil)
	if err != nil {
		return nil, -1, err
	}
	c.rbuf = buf
	d, err := c.receive()
	buf = c.rbuf
	var b []byte
	if err == nil && !d.trunc {
		b = append([]byte(nil), d.b...)
	}
	c.unlockPlain(buf)
	if err != nil {
		return nil, -1, err
	}
	if d.trunc {
		return nil, d.nsid, fmt.Errorf("nl: receive: %w", ErrTruncated)
	}
	if c.framing == FramingRaw {
		c.stats.messages.Add(1)
		return []Message{RawMessage(b, d.fromPid)}, d.nsid, nil
	}
	ms, err := AppendMessages(nil, b)
	c.stats.messages.Add(uint64(len(ms)))
	if err != nil {
		return ms, d.nsid, fmt.Errorf("nl: receive: %w", err)
	}
	return ms, d.nsid, nil
}

// ReceiveFunc blocks until one datagram from the kernel arrives and calls fn
// for each of its messages, with the namespace id as ReceiveFrom reports
// it. m.Data aliases a receive buffer and is valid only until fn returns.
// It stops at fn's first error and returns it. Checks, errors and waiting
// are those of Receive; fn may make requests on c. It allocates nothing:
// this is the receive loop for event sockets that do not go through a
// poller.
func (c *Conn) ReceiveFunc(fn func(m Message, nsid int32) error) error {
	buf, err := c.lockPlain(context.Background(), nil)
	if err != nil {
		return err
	}
	c.rbuf = buf
	d, err := c.receive()
	buf = c.rbuf
	if err != nil || d.trunc {
		c.unlockPlain(buf)
		if err != nil {
			return err
		}
		return fmt.Errorf("nl: receive: %w", ErrTruncated)
	}
	c.unlockPlain(nil) // fn may use c; buf stays ours
	defer c.putBuf(buf)
	if c.framing == FramingRaw {
		c.stats.messages.Add(1)
		return fn(RawMessage(d.b, d.fromPid), d.nsid)
	}
	it := NewMessageIter(d.b)
	for it.Next() {
		c.stats.messages.Add(1)
		if err := fn(it.Message(), d.nsid); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("nl: receive: %w", err)
	}
	return nil
}

// Drain reads every datagram queued on the socket, without waiting for
// more, and returns how many it read. With fn, fn sees each message (m.Data
// is valid only until fn returns); a truncated or malformed datagram is
// skipped. An overrun reported while draining is counted in Stats.Overruns
// and passed over: draining is what a subscriber does after a loss, before
// it reads the whole state again, because every notification queued before
// that new dump is older than it, and applying them afterwards would bring
// back changes the dump has superseded. It waits as Receive does, and fn
// may make requests on c. Cost: one syscall per datagram.
func (c *Conn) Drain(fn func(m Message)) (int, error) {
	n := 0
	for {
		buf, err := c.lockPlain(context.Background(), nil)
		if err != nil {
			return n, err
		}
		c.rbuf = buf
		d, err := c.receiveMode(true)
		buf = c.rbuf
		switch {
		case errors.Is(err, unix.EAGAIN):
			c.unlockPlain(buf)
			return n, nil
		case errors.Is(err, unix.ENOBUFS):
			c.unlockPlain(buf)
			continue
		case err != nil:
			c.unlockPlain(buf)
			return n, err
		}
		n++
		if fn == nil || d.trunc {
			c.unlockPlain(buf)
			continue
		}
		c.unlockPlain(nil)
		if c.framing == FramingRaw {
			c.stats.messages.Add(1)
			fn(RawMessage(d.b, d.fromPid))
		} else {
			it := NewMessageIter(d.b)
			for it.Next() {
				c.stats.messages.Add(1)
				fn(it.Message())
			}
		}
		c.putBuf(buf)
	}
}

// ReceiveAndDecode receives datagrams until the reply in progress ends: when
// the last message of a datagram is a multipart part (NLM_F_MULTI) it reads
// on, up to and including NLMSG_DONE. It returns every message, DONE
// included, and, if one of them is NLMSG_ERROR or DONE carrying an errno,
// that kernel error as an *Error. It is the counterpart of Guile-Netlink's
// receive-and-decode-msg; unlike it, it honours ctx and checks the sender.
// It does not match sequence numbers: use Execute for request/reply. It
// waits as Receive does, for as long as ctx allows.
//
// The socket's Framing decides what ends a reply and carries an error
// (Framing.EndsReply, Framing.CheckMessage): on a connector socket DONE is
// an ordinary message, and on a raw one (uevents) each datagram is one
// message and the whole reply.
func (c *Conn) ReceiveAndDecode(ctx context.Context) ([]Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tok := c.newRequest(ctx)
	defer tok.stopWatch()
	buf, err := c.lockPlain(ctx, tok)
	if err != nil {
		return nil, err
	}
	c.rbuf = buf
	defer func() { c.unlockPlain(c.rbuf) }()
	var out []Message
	var kerr error
	for {
		d, err := c.receive()
		if err != nil {
			return out, c.ctxErr(ctx, err)
		}
		if d.trunc {
			return out, fmt.Errorf("nl: receive: %w", ErrTruncated)
		}
		b := append([]byte(nil), d.b...)
		if c.framing == FramingRaw {
			c.stats.messages.Add(1)
			return append(out, RawMessage(b, d.fromPid)), nil
		}
		n := len(out)
		out, err = AppendMessages(out, b)
		c.stats.messages.Add(uint64(len(out) - n))
		if err != nil {
			return out, fmt.Errorf("nl: receive: %w", err)
		}
		if len(out) == n {
			continue
		}
		for _, m := range out[n:] {
			if e := c.framing.CheckMessage(m); e != nil && kerr == nil {
				kerr = e
			}
		}
		last := out[len(out)-1]
		if last.Header.Flags&FlagMulti == 0 || c.framing.EndsReply(last) {
			return out, kerr
		}
	}
}

// ctxErr turns a read woken by the end of ctx into ctx's error.
func (c *Conn) ctxErr(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("nl: receive: %w", cerr)
		}
	}
	return err
}
