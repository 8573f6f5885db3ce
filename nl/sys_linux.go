//go:build linux

package nl

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvmsg is recvmsg(2) with the sender address and control data written
// into caller-owned storage, so a receive allocates nothing (unix.Recvmsg
// allocates a Sockaddr per call).
func recvmsg(fd int, p, oob []byte, from *unix.RawSockaddrNetlink, flags int) (n, oobn, rflags int, err error) {
	n, oobn, rflags, _, err = recvmsgName(fd, p, oob, unsafe.Pointer(from), unix.SizeofSockaddrNetlink, flags)
	return n, oobn, rflags, err
}

// recvmsgName is recvmsg with a sender address buffer of any type; it also
// returns the address's length.
func recvmsgName(fd int, p, oob []byte, name unsafe.Pointer, namelen uint32, flags int) (n, oobn, rflags, rnamelen int, err error) {
	var iov unix.Iovec
	iov.Base = &p[0]
	iov.SetLen(len(p))
	var msg unix.Msghdr
	msg.Name = (*byte)(name)
	msg.Namelen = namelen
	msg.Iov = &iov
	msg.Iovlen = 1
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, 0, 0, 0, e
	}
	return int(r), int(msg.Controllen), int(msg.Flags), int(msg.Namelen), nil
}

// ControlNSID returns the namespace id carried by the (SOL_NETLINK,
// NETLINK_LISTEN_ALL_NSID) control message in oob, the control data of one
// received datagram, or NSIDNotAssigned if there is none: the datagram
// came from the socket's own namespace, or the socket does not listen to
// all namespaces (WithListenAllNSID). Other control messages are skipped;
// a malformed one ends the search. For code that calls recvmsg itself on a
// socket it registered elsewhere; Conn.ReceiveFrom and the poller's
// WithNSID use it. It does not allocate.
func ControlNSID(oob []byte) int32 {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		n := int(h.Len)
		if n < unix.SizeofCmsghdr || n > len(oob) {
			return NSIDNotAssigned
		}
		if h.Level == unix.SOL_NETLINK && h.Type == unix.NETLINK_LISTEN_ALL_NSID && n >= unix.CmsgLen(4) {
			return int32(binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]))
		}
		oob = oob[min(unix.CmsgSpace(n-unix.CmsgLen(0)), len(oob)):]
	}
	return NSIDNotAssigned
}

// getsockoptBytes reads a socket option of variable length.
func getsockoptBytes(fd, level, opt int, b []byte) (int, error) {
	n := uint32(len(b))
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
