//go:build linux

// Package nltest is a fake netlink kernel for tests: a real *nl.Conn whose
// requests are answered by a function you write, and into which you can
// inject any datagram the real kernel could send, and some it would not.
//
// The Conn is the library's own code from the datagram up (sender checks,
// truncation, sequence matching, Execute, contexts, Close); only the socket
// underneath is a SOCK_SEQPACKET pair instead of AF_NETLINK. No privilege is
// needed.
package nltest

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/internal/frame"
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
	f       *os.File
	handler Handler
	done    chan struct{}

	mu       sync.Mutex // guards requests and sends
	requests []nl.Message
}

// Dial returns a Conn whose requests h answers, and the Kernel behind it.
// Close the Conn, then the Kernel. Cost: one socket pair and one goroutine.
func Dial(h Handler, opts ...nl.Option) (*nl.Conn, *Kernel, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("nltest: %w", os.NewSyscallError("socketpair", err))
	}
	for _, fd := range fds {
		// Room for a burst of injected datagrams without blocking the test.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	}
	c, err := nl.NewFramedConn(fds[0], nl.Addr{PortID: PortID}, opts...)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	k := &Kernel{f: os.NewFile(uintptr(fds[1]), "nltest-kernel"), handler: h, done: make(chan struct{})}
	go k.serve()
	return c, k, nil
}

// Close stops the fake kernel; the Conn's pending and later receives fail.
func (k *Kernel) Close() error {
	err := k.f.Close()
	<-k.done
	return err
}

// Requests returns copies of the request messages received so far.
func (k *Kernel) Requests() []nl.Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]nl.Message(nil), k.requests...)
}

// Inject delivers datagrams to the Conn as if the kernel had sent them
// unprompted (multicast events, say).
func (k *Kernel) Inject(ds ...Datagram) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range ds {
		if err := k.send(d); err != nil {
			return err
		}
	}
	return nil
}

func (k *Kernel) serve() {
	defer close(k.done)
	rc, err := k.f.SyscallConn()
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
		if err != nil || rerr != nil || n < frame.Len {
			return // closed
		}
		ms, _ := nl.AppendMessages(nil, append([]byte(nil), buf[frame.Len:n]...))
		for _, m := range ms {
			k.mu.Lock()
			k.requests = append(k.requests, m)
			k.mu.Unlock()
			if k.handler == nil {
				continue
			}
			for _, d := range k.handler(m) {
				k.mu.Lock()
				err := k.send(d)
				k.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}
}

// send writes one framed datagram. k.mu must be held.
func (k *Kernel) send(d Datagram) error {
	b := d.Raw
	if b == nil {
		for _, m := range d.Messages {
			b = nl.AppendMessage(b, m)
		}
	}
	h := frame.Header{PortID: d.Sender, Errno: uint32(d.Errno)}
	if d.Truncate > 0 && d.Truncate < len(b) {
		b = b[:d.Truncate]
		h.Flags |= frame.Trunc
	}
	if d.NSID != nil {
		h.NSID = uint32(*d.NSID) + 1
	}
	p := make([]byte, frame.Len+len(b))
	frame.Put(p, h)
	copy(p[frame.Len:], b)
	rc, err := k.f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		_, werr = unix.Write(int(fd), p)
		return werr != unix.EAGAIN
	}); err != nil {
		return err
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
