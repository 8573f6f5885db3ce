//go:build linux

package nl

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/nlrx/nlrx/nl/internal/frame"
	"golang.org/x/sys/unix"
)

// NewFramedConn returns a Conn that talks to a fake kernel instead of the
// real one: fd is one end of a nonblocking SOCK_SEQPACKET socket pair whose
// other end speaks the framing of package nltest (which is what you want to
// use; this is its hook). Everything above the datagram — sender checks,
// truncation, sequence matching, Execute, contexts, Close — is the same code
// as for a netlink socket. The Conn owns fd. local is the address the Conn
// reports as its own.
func NewFramedConn(fd int, local Addr, opts ...Option) (*Conn, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.datagramSize == 0 {
		cfg.datagramSize = DefaultDatagramSize
	}
	f := os.NewFile(uintptr(fd), "netlink-framed")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("nl: %w", err)
	}
	c := &Conn{f: f, rc: rc, protocol: -1, local: local, cfg: cfg, rbuf: make([]byte, cfg.datagramSize)}
	c.seq.Store(1)
	var hdr [frame.Len]byte
	c.read = func(fd uintptr) bool {
		rd := &c.rd
		iov := [2]unix.Iovec{{Base: &hdr[0]}, {Base: &c.rbuf[0]}}
		iov[0].SetLen(frame.Len)
		iov[1].SetLen(len(c.rbuf))
		var msg unix.Msghdr
		msg.Iov = &iov[0]
		msg.Iovlen = 2
		r, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
		if e != 0 {
			rd.err = e
			return e != unix.EAGAIN
		}
		if int(r) < frame.Len {
			rd.err = unix.ECONNRESET // the fake kernel went away
			return true
		}
		h := frame.Get(hdr[:])
		*rd = readState{n: int(r) - frame.Len}
		rd.from.Pid = h.PortID
		rd.from.Groups = h.Groups
		if h.Errno != 0 {
			rd.err = syscall.Errno(h.Errno)
		}
		if h.Flags&frame.Trunc != 0 {
			rd.flags |= unix.MSG_TRUNC // what arrived is the head of a larger datagram
		}
		if h.NSID != 0 && c.oob != nil {
			rd.nsid = int32(h.NSID - 1)
		}
		return true
	}
	c.readNow = func(fd uintptr) bool {
		c.read(fd)
		return true
	}
	c.sendTo = func(fd int, b []byte, to Addr) error {
		p := make([]byte, frame.Len+len(b))
		frame.Put(p, frame.Header{PortID: to.PortID, Groups: to.Groups})
		copy(p[frame.Len:], b)
		_, err := unix.Write(fd, p)
		return err
	}
	if cfg.listenAllNSID {
		c.oob = []byte{} // non-nil: report namespace ids
	}
	return c, nil
}
