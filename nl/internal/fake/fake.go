// Package fake is what package nl and package nltest share to run a Conn
// against a fake kernel: the addresses the fake kernel sends from, and the
// hook through which nl makes a Conn on the fake kernel's socket.
//
// The two talk over AF_UNIX datagram sockets bound to abstract addresses:
// whole datagrams, as netlink delivers them, each with its sender's
// address. A sender's address is laid out so that a reader that expects a
// sockaddr_nl (an nl.Conn, or the poller's recvmmsg, which read the first
// 12 bytes) finds the sender's port id and groups where nl_pid and
// nl_groups are:
//
//	offset         0           2        4       8          12      16        20        24
//	sockaddr_un    sun_family  path[0:2] [2:6]  [6:10]     [10:14] [14:18]   [18:22]   [22:38]
//	meaning        AF_UNIX     0 'N'    port id groups     errno   nsid + 1  truncate  kernel id
//	sockaddr_nl    nl_family   nl_pad   nl_pid  nl_groups
//
// The fields past nl_groups tell nl's fake-kernel reader what the real
// kernel would have done to the read (fail it with errno, tag it with a
// namespace id, cut it with MSG_TRUNC); a poller does not see them.
package fake

import (
	"encoding/binary"
	"sync/atomic"
)

// Sender is what a fake-kernel sender's address says about the datagrams it
// sends.
type Sender struct {
	PortID, Groups uint32 // the sender's netlink address: port 0 is the kernel
	Errno          uint32 // if not 0, the read fails with this errno and the datagram is dropped
	NSID           uint32 // the namespace id plus one; 0: none
	Truncate       uint32 // if not 0, only this many bytes arrive, with MSG_TRUNC
}

// ID tells one fake kernel's addresses from another's.
type ID [16]byte

// pathLen is the length of the address's sun_path.
const pathLen = 38

// Addr returns the abstract socket name (sun_path, NUL first) of the sender
// s of the fake kernel id.
func Addr(id ID, s Sender) string {
	var b [pathLen]byte
	b[1] = 'N'
	binary.NativeEndian.PutUint32(b[2:], s.PortID)
	binary.NativeEndian.PutUint32(b[6:], s.Groups)
	binary.NativeEndian.PutUint32(b[10:], s.Errno)
	binary.NativeEndian.PutUint32(b[14:], s.NSID)
	binary.NativeEndian.PutUint32(b[18:], s.Truncate)
	copy(b[22:], id[:])
	return string(b[:])
}

// ConnAddr returns the abstract socket name of the Conn of fake kernel id.
func ConnAddr(id ID) string {
	var b [pathLen]byte
	b[1] = 'C'
	copy(b[22:], id[:])
	return string(b[:])
}

// Parse decodes a sender's sun_path. ok is false for an address that is not
// a fake-kernel sender's.
func Parse(path []byte) (s Sender, ok bool) {
	if len(path) < pathLen || path[0] != 0 || path[1] != 'N' {
		return Sender{}, false
	}
	return Sender{
		PortID:   binary.NativeEndian.Uint32(path[2:]),
		Groups:   binary.NativeEndian.Uint32(path[6:]),
		Errno:    binary.NativeEndian.Uint32(path[10:]),
		NSID:     binary.NativeEndian.Uint32(path[14:]),
		Truncate: binary.NativeEndian.Uint32(path[18:]),
	}, true
}

// NewConn is set by package nl. It returns an *nl.Conn (as any) that owns
// fd, a nonblocking AF_UNIX datagram socket bound to ConnAddr, sends its
// requests to the abstract address kernel, reports portID as its own, and
// is configured by opts ([]nl.Option). Once gone is set, a receive that
// finds nothing queued fails with ECONNRESET: the fake kernel went away.
var NewConn func(fd int, portID uint32, kernel string, gone *atomic.Bool, opts any) (any, error)
