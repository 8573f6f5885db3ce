//go:build linux

package poller

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// mmsghdr is struct mmsghdr: a msghdr and the length the kernel received
// into it. Go pads the struct to pointer alignment as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// arena is a poller's reusable receive storage: one buffer of slots×size
// bytes cut into per-datagram iovecs, and the headers recvmmsg fills.
//
// Only the loop goroutine touches it. Its memory is taken fresh from the
// runtime, which leaves large spans untouched, so pages a 52-byte event
// never reaches are never made resident.
type arena struct {
	size  int // bytes per datagram slot
	buf   []byte
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrNetlink

	// ctl holds a control-data buffer of ctlSpace bytes per slot, made on
	// the first read of a registration with WithNSID; nsids holds what
	// that read found in each. Reads without WithNSID pass no control
	// buffer at all.
	ctl   []byte
	nsids []int32
}

// ctlSpace is the control data kept per datagram: room for the
// NETLINK_LISTEN_ALL_NSID message and the others a netlink socket can ask
// for (NETLINK_PKTINFO, SCM_CREDENTIALS with SO_PASSCRED), with some to
// spare, so that the namespace id is not cut off (MSG_CTRUNC) whatever
// else is set.
const ctlSpace = 128

func newArena(slots, size int) *arena {
	a := &arena{
		size:  size,
		buf:   make([]byte, slots*size),
		hdrs:  make([]mmsghdr, slots),
		iovs:  make([]unix.Iovec, slots),
		names: make([]unix.RawSockaddrNetlink, slots),
	}
	for i := range a.hdrs {
		a.iovs[i].Base = &a.buf[i*size]
		a.iovs[i].SetLen(size)
		h := &a.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&a.names[i]))
		h.Iov = &a.iovs[i]
		h.Iovlen = 1
	}
	return a
}

// slots is how many datagrams one recvmmsg can take.
func (a *arena) slots() int { return len(a.hdrs) }

// datagram returns the bytes received into slot i, n of them.
func (a *arena) datagram(i, n int) []byte {
	off := i * a.size
	return a.buf[off : off+n : off+a.size]
}

// recvmmsg reads up to n datagrams from fd without waiting, with MSG_TRUNC
// so that a datagram longer than its slot reports its real length. x/sys has
// no wrapper (golang/go#45886), hence the raw syscall.
func (a *arena) recvmmsg(fd, n int) (int, unix.Errno) {
	for i := range n {
		// The kernel overwrites these on every call.
		a.hdrs[i].hdr.Namelen = unix.SizeofSockaddrNetlink
		a.hdrs[i].hdr.Flags = 0
	}
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&a.hdrs[0])), uintptr(n),
		unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
	return int(r), e
}

// recvmmsgNSID is recvmmsg with a control buffer per datagram, for a
// socket with NETLINK_LISTEN_ALL_NSID: on return a.nsids[i] is the
// namespace id of datagram i, or nl.NSIDNotAssigned. The headers are left
// without control buffers, as recvmmsg expects them.
func (a *arena) recvmmsgNSID(fd, n int) (int, unix.Errno) {
	if a.ctl == nil {
		a.ctl = make([]byte, len(a.hdrs)*ctlSpace)
		a.nsids = make([]int32, len(a.hdrs))
	}
	for i := range n {
		h := &a.hdrs[i].hdr
		h.Namelen = unix.SizeofSockaddrNetlink
		h.Flags = 0
		h.Control = &a.ctl[i*ctlSpace]
		h.SetControllen(ctlSpace)
	}
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&a.hdrs[0])), uintptr(n),
		unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
	k := int(r)
	if e != 0 {
		k = 0
	}
	for i := range n {
		h := &a.hdrs[i].hdr
		if i < k {
			off := i * ctlSpace
			a.nsids[i] = nl.ControlNSID(a.ctl[off : off+min(int(h.Controllen), ctlSpace)])
		}
		h.Control = nil
		h.SetControllen(0)
	}
	return int(r), e
}

// epollPoll is epoll_wait with a zero timeout. It never blocks, so it is
// made as a raw syscall, without telling the scheduler.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
