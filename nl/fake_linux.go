//go:build linux

package nl

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/nlrx/nlrx/nl/internal/fake"
	"golang.org/x/sys/unix"
)

// The fake kernel's Conn (package nltest) is an ordinary Conn whose read
// and send functions are the two below: everything above the datagram is
// the same code as for a netlink socket, and nothing on the real socket's
// path tests for the fake.
func init() { fake.NewConn = newFakeConn }

func newFakeConn(fd int, portID uint32, kernel string, gone *atomic.Bool, opts any) (any, error) {
	var cfg config
	list, _ := opts.([]Option)
	for _, o := range list {
		o(&cfg)
	}
	if cfg.datagramSize == 0 {
		cfg.datagramSize = DefaultDatagramSize
	}
	f := os.NewFile(uintptr(fd), "nltest")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("nl: %w", err)
	}
	c := &Conn{f: f, rc: rc, protocol: -1, local: Addr{PortID: portID}, cfg: cfg}
	var from unix.RawSockaddrUnix
	c.read = func(fd uintptr) bool {
		rd := &c.rd
		n, _, flags, namelen, err := recvmsgName(int(fd), c.rbuf, nil, unsafe.Pointer(&from), unix.SizeofSockaddrUnix, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
		if err == unix.EAGAIN && gone.Load() {
			err = unix.ECONNRESET
		}
		*rd = readState{n: n, flags: flags, err: err}
		if err != nil {
			return err != unix.EAGAIN
		}
		path := unsafe.Slice((*byte)(unsafe.Pointer(&from.Path[0])), max(0, min(namelen-2, len(from.Path))))
		s, ok := fake.Parse(path)
		if !ok {
			s.PortID = ^uint32(0) // not the fake kernel: a stranger
		}
		rd.from.Pid, rd.from.Groups = s.PortID, s.Groups
		if s.Errno != 0 {
			rd.err = syscall.Errno(s.Errno)
		}
		if s.Truncate > 0 && int(s.Truncate) < n {
			rd.n = int(s.Truncate) // the head of a larger datagram
			rd.flags |= unix.MSG_TRUNC
		}
		if s.NSID != 0 && c.oob != nil {
			rd.oobn = putNSIDControl(c.oob, int32(s.NSID-1))
		}
		return true
	}
	to := &unix.SockaddrUnix{Name: kernel}
	c.sendTo = func(fd int, b []byte, _ Addr) error { return unix.Sendto(fd, b, 0, to) }
	c.init()
	c.seq.Store(1)
	return c, nil
}

// putNSIDControl writes the control message NETLINK_LISTEN_ALL_NSID
// attaches to a datagram into oob and returns its length.
func putNSIDControl(oob []byte, nsid int32) int {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_NETLINK, unix.NETLINK_LISTEN_ALL_NSID
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(oob[unix.CmsgLen(0):], uint32(nsid))
	return unix.CmsgSpace(4)
}
