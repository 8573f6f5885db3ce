//go:build linux

// Package nltest is a fake netlink kernel for tests: a real *nl.Conn whose
// requests are answered by a function you write, and into which you can
// inject any datagram the real kernel could send, and some it would not.
//
// The Conn is the library's own code from the datagram up (sender checks,
// truncation, sequence matching, Execute, contexts, Close); only the socket
// underneath is an AF_UNIX datagram socket instead of AF_NETLINK. Its
// datagrams arrive whole, each with a sender address laid out like a
// sockaddr_nl, so a poller can read the Conn too (poller.Add) and sees what
// it would see on a netlink socket: the messages, and the sender's port id
// for its spoofing check. No privilege is needed.
//
// What a poller does not see: Datagram.Errno (the datagram reaches it
// empty), Datagram.NSID, and Datagram.Truncate (the cut is the Conn
// reader's; a poller, whose buffers are its own, gets the datagram whole,
// and cuts for real one longer than its buffer). The socket queues at most
// net.unix.max_dgram_qlen (10 by default) datagrams that nobody has read:
// Inject and the replies wait for room, so inject more than that only while
// something reads the Conn.
package nltest

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/internal/fake"
	"golang.org/x/sys/unix"
)

// PortID is the port id of every Conn made by Dial.
const PortID = 4242

// Handler answers one request message with the datagrams to deliver, in
// order. It runs on the fake kernel's goroutine, one request at a time.
type Handler func(req nl.Message) []Datagram

// Datagram is one datagram for the Conn to receive.
type Datagram struct {
	// Messages are packed into the datagram; a zero Header.Length is
	// filled in.
	Messages []nl.Message
	// Raw, if not nil, is delivered instead of Messages: for malformed input.
	Raw []byte
	// Sender is the sender's port id. 0 is the kernel; anything else is a
	// user-space process, which the Conn must drop and count.
	Sender uint32
	// Truncate, if positive, delivers only the first Truncate bytes with
	// MSG_TRUNC set, as the kernel does when the reader's buffer is short.
	Truncate int
	// Errno, if set, makes the receive fail with it instead: ENOBUFS is a
	// multicast overrun.
	Errno syscall.Errno
	// NSID, if not nil, is the namespace id to report (NETLINK_LISTEN_ALL_NSID).
	NSID *int32
}

// Kernel is the fake kernel behind a Conn made by Dial.
type Kernel struct {
	id      fake.ID
	conn    *unix.SockaddrUnix // the Conn's address
	sock    *os.File           // the kernel's address: requests come in here, replies go out
	handler Handler
	done    chan struct{}
	gone    atomic.Bool // shared with the Conn: the kernel went away

	sendMu sync.Mutex // keeps the datagrams of one Inject or reply together, in order

	mu       sync.Mutex // guards the fields below
	closed   bool
	requests []nl.Message
	senders  map[fake.Sender]*os.File // connected to the Conn; the kernel's own is sock
}

// Dial returns a Conn whose requests h answers, and the Kernel behind it.
// Close the Conn, then the Kernel. Cost: two sockets (one more per other
// kind of sender injected) and one goroutine.
func Dial(h Handler, opts ...nl.Option) (*nl.Conn, *Kernel, error) {
	k := &Kernel{handler: h, done: make(chan struct{}), senders: make(map[fake.Sender]*os.File)}
	rand.Read(k.id[:])
	k.conn = &unix.SockaddrUnix{Name: fake.ConnAddr(k.id)}
	cfd, err := dgramSocket(k.conn, nil)
	if err != nil {
		return nil, nil, err
	}
	kfd, err := dgramSocket(&unix.SockaddrUnix{Name: fake.Addr(k.id, fake.Sender{})}, k.conn)
	if err != nil {
		unix.Close(cfd)
		return nil, nil, err
	}
	v, err := fake.NewConn(cfd, PortID, fake.Addr(k.id, fake.Sender{}), &k.gone, opts)
	if err != nil {
		unix.Close(kfd)
		return nil, nil, err
	}
	k.sock = os.NewFile(uintptr(kfd), "nltest-kernel")
	k.senders[fake.Sender{}] = k.sock
	go k.serve()
	return v.(*nl.Conn), k, nil
}

// dgramSocket opens a nonblocking AF_UNIX datagram socket bound to addr
// and, if to is not nil, connected to it: a connected sender waits for
// room in the receiver's queue in the netpoller instead of spinning.
func dgramSocket(addr, to *unix.SockaddrUnix) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("nltest: %w", os.NewSyscallError("socket", err))
	}
	// Room for large datagrams and bursts of injected ones.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	if err := unix.Bind(fd, addr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("nltest: %w", os.NewSyscallError("bind", err))
	}
	if to != nil {
		if err := unix.Connect(fd, to); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("nltest: %w", os.NewSyscallError("connect", err))
		}
	}
	return fd, nil
}

// Close stops the fake kernel; the Conn's pending and later receives fail
// with ECONNRESET once it has read what was sent before.
func (k *Kernel) Close() error {
	k.gone.Store(true)
	// Wake a receive blocked on the Conn; if the queue is full, nothing
	// is blocked and the reader meets the end after the queue.
	if f, err := k.sender(fake.Sender{Errno: uint32(unix.ECONNRESET)}); err == nil {
		if rc, err := f.SyscallConn(); err == nil {
			rc.Write(func(fd uintptr) bool {
				unix.Write(int(fd), nil)
				return true
			})
		}
	}
	k.mu.Lock()
	k.closed = true
	var errs []error
	for _, f := range k.senders {
		errs = append(errs, f.Close())
	}
	k.mu.Unlock()
	<-k.done
	return errors.Join(errs...)
}

// Requests returns copies of the request messages received so far.
func (k *Kernel) Requests() []nl.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]nl.Message(nil), k.requests...)
}

// Inject delivers datagrams to the Conn as if the kernel had sent them
// unprompted (multicast events, say). It waits while the Conn's queue is
// full.
func (k *Kernel) Inject(ds ...Datagram) error {
	k.sendMu.Lock()
	defer k.sendMu.Unlock()
	for _, d := range ds {
		if err := k.send(d); err != nil {
			return err
		}
	}
	return nil
}

func (k *Kernel) serve() {
	defer close(k.done)
	rc, err := k.sock.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 1<<20)
	for {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), buf)
			return rerr != unix.EAGAIN
		})
		if err != nil || rerr != nil {
			return // closed
		}
		ms, _ := nl.AppendMessages(nil, append([]byte(nil), buf[:n]...))
		for _, m := range ms {
			k.mu.Lock()
			k.requests = append(k.requests, m)
			k.mu.Unlock()
			if k.handler == nil {
				continue
			}
			ds := k.handler(m)
			k.sendMu.Lock()
			for _, d := range ds {
				if err := k.send(d); err != nil {
					k.sendMu.Unlock()
					return
				}
			}
			k.sendMu.Unlock()
		}
	}
}

// sender returns the socket that sends as s, opening it on first use.
func (k *Kernel) sender(s fake.Sender) (*os.File, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("nltest: %w", os.ErrClosed)
	}
	if f := k.senders[s]; f != nil {
		return f, nil
	}
	fd, err := dgramSocket(&unix.SockaddrUnix{Name: fake.Addr(k.id, s)}, k.conn)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "nltest-sender")
	k.senders[s] = f
	return f, nil
}

// send writes one datagram from the sender it names, waiting for room in
// the Conn's queue. k.sendMu must be held.
func (k *Kernel) send(d Datagram) error {
	b := d.Raw
	if b == nil {
		for _, m := range d.Messages {
			b = nl.AppendMessage(b, m)
		}
	}
	s := fake.Sender{PortID: d.Sender, Errno: uint32(d.Errno)}
	if d.Errno != 0 {
		b = nil // the read fails instead
	}
	if d.Truncate > 0 && d.Truncate < len(b) {
		s.Truncate = uint32(d.Truncate)
	}
	if d.NSID != nil {
		s.NSID = uint32(*d.NSID) + 1
	}
	f, err := k.sender(s)
	if err != nil {
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), b)
		return werr != unix.EAGAIN
	}); err != nil {
		return fmt.Errorf("nltest: inject: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("nltest: inject: %w", werr)
	}
	return nil
}

// Reply returns a message answering req: same sequence number, addressed to
// the requesting port.
func Reply(req nl.Message, typ, flags uint16, data []byte) nl.Message {
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags, Seq: req.Header.Seq, PortID: PortID}, Data: data}
}

// Ack is the datagram acknowledging req (NLMSG_ERROR with errno 0).
func Ack(req nl.Message) Datagram { return Error(req, 0, "", 0) }

// Error is the datagram failing req with errno, an extended-ACK text and
// the offset of the offending attribute (both optional), as a kernel with
// NETLINK_EXT_ACK and NETLINK_CAP_ACK sends it.
func Error(req nl.Message, errno syscall.Errno, text string, offset uint32) Datagram {
	b := make([]byte, 4+nl.HeaderLen)
	putErrno(b, errno)
	h := req.Header
	h.Length = uint32(req.Len())
	nl.PutHeader(b[4:], h)
	flags := nl.FlagCapped
	if text != "" || offset != 0 {
		flags |= nl.FlagAckTLVs
		e := nl.NewAttributeEncoder(b)
		if text != "" {
			e.String(1, text) // NLMSGERR_ATTR_MSG
		}
		if offset != 0 {
			e.Uint32(2, offset) // NLMSGERR_ATTR_OFFS
		}
		b, _ = e.Bytes()
	}
	return Datagram{Messages: []nl.Message{Reply(req, nl.TypeError, flags, b)}}
}

// Done is the NLMSG_DONE ending a dump of req, carrying errno (0 for
// success) and an optional extended-ACK text.
func Done(req nl.Message, errno syscall.Errno, text string) nl.Message {
	b := make([]byte, 4)
	putErrno(b, errno)
	flags := nl.FlagMulti
	if text != "" {
		flags |= nl.FlagAckTLVs
		e := nl.NewAttributeEncoder(b)
		e.String(1, text)
		b, _ = e.Bytes()
	}
	return Reply(req, nl.TypeDone, flags, b)
}

// Multipart answers req with a dump: one message of type typ per payload,
// perDatagram messages to a datagram (at least 1), each flagged NLM_F_MULTI,
// then NLMSG_DONE in a datagram of its own — so the Conn must loop over
// several reads, as with the real kernel.
func Multipart(req nl.Message, typ uint16, payloads [][]byte, perDatagram int) []Datagram {
	perDatagram = max(perDatagram, 1)
	var ds []Datagram
	for i := 0; i < len(payloads); i += perDatagram {
		var d Datagram
		for _, p := range payloads[i:min(i+perDatagram, len(payloads))] {
			d.Messages = append(d.Messages, Reply(req, typ, nl.FlagMulti, p))
		}
		ds = append(ds, d)
	}
	return append(ds, Datagram{Messages: []nl.Message{Done(req, 0, "")}})
}

// WithFlags returns ds with flags added to every message; for example
// nl.FlagDumpIntr to mark a dump inconsistent.
func WithFlags(ds []Datagram, flags uint16) []Datagram {
	out := make([]Datagram, len(ds))
	for i, d := range ds {
		out[i] = d
		out[i].Messages = make([]nl.Message, len(d.Messages))
		for j, m := range d.Messages {
			m.Header.Flags |= flags
			out[i].Messages[j] = m
		}
	}
	return out
}

func putErrno(b []byte, errno syscall.Errno) {
	binary.NativeEndian.PutUint32(b, uint32(-int32(errno)))
}
