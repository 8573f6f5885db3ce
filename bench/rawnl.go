package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw floor: what a dump costs with nothing but x/sys/unix, a blocking
// socket, one reused 64 KiB buffer and a loop over the headers. It does the
// checks a correct reader must (sender port 0, MSG_TRUNC, sequence number,
// errno in NLMSG_DONE or NLMSG_ERROR, NLM_F_DUMP_INTR) and nothing else.

const rawBufSize = 64 << 10

// rawSocket is a blocking rtnetlink socket with a reused receive buffer.
type rawSocket struct {
	fd  int
	buf []byte
	seq uint32
}

// openRawSocket opens and binds a blocking NETLINK_ROUTE socket in the
// calling thread's network namespace, joined to groups (a bind-time mask).
func openRawSocket(groups uint32) (*rawSocket, error) {
	fd, err := openRawFD(groups)
	if err != nil {
		return nil, err
	}
	return &rawSocket{fd: fd, buf: make([]byte, rawBufSize), seq: 1}, nil
}

// openRawFD opens and binds a blocking NETLINK_ROUTE socket.
func openRawFD(groups uint32) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return -1, fmt.Errorf("raw socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("raw bind: %w", err)
	}
	return fd, nil
}

func (s *rawSocket) close() { unix.Close(s.fd) }

// setReadBuffer sets SO_RCVBUFFORCE, falling back to SO_RCVBUF (capped by
// net.core.rmem_max) where that is refused, and returns the effective size.
func (s *rawSocket) setReadBuffer(n int) (int, error) {
	if n > 0 {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n); err != nil {
			if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n); err != nil {
				return 0, fmt.Errorf("SO_RCVBUF: %w", err)
			}
		}
	}
	return unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
}

// recv reads one datagram into s.buf without allocating (unix.Recvfrom
// would allocate the sender's Sockaddr) and returns its length. MSG_TRUNC
// makes the kernel return the datagram's real length, so a datagram larger
// than the buffer is detected instead of silently cut.
func (s *rawSocket) recv() (int, error) {
	var sa unix.RawSockaddrNetlink
	salen := uint32(unix.SizeofSockaddrNetlink)
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd),
			uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)), unix.MSG_TRUNC,
			uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		if int(n) > len(s.buf) {
			return 0, fmt.Errorf("raw: datagram of %d bytes truncated to %d (MSG_TRUNC)", n, len(s.buf))
		}
		if sa.Pid != 0 {
			continue // not from the kernel: anyone could have sent it
		}
		return int(n), nil
	}
}

// rawMsg is one message header and payload inside s.buf.
type rawMsg struct {
	typ, flags uint16
	seq        uint32
	data       []byte
}

// walk calls fn for every message in the first n bytes of s.buf.
func (s *rawSocket) walk(n int, fn func(m rawMsg) error) error {
	return walkMessages(s.buf[:n], fn)
}

// walkMessages calls fn for every message in the datagram b.
func walkMessages(b []byte, fn func(m rawMsg) error) error {
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return errors.New("raw: message length out of bounds")
		}
		m := rawMsg{
			typ:   binary.NativeEndian.Uint16(b[4:6]),
			flags: binary.NativeEndian.Uint16(b[6:8]),
			seq:   binary.NativeEndian.Uint32(b[8:12]),
			data:  b[unix.NLMSG_HDRLEN:l],
		}
		if err := fn(m); err != nil {
			return err
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return nil
}

// errDone ends a walk at NLMSG_DONE.
var errDone = errors.New("done")

// dump sends an RTM_GETROUTE dump for AF_INET and calls fn with each route
// message's payload (valid only during the call). It returns the number of
// datagrams received, which is the number of receive syscalls.
func (s *rawSocket) dump(fn func(payload []byte)) (recvs int, err error) {
	var rtm [unix.SizeofRtMsg]byte
	rtm[0] = unix.AF_INET
	return s.dumpOf(unix.RTM_GETROUTE, rtm[:], unix.RTM_NEWROUTE, fn)
}

// dumpOf is the raw floor's dump loop: it sends a typ request with
// NLM_F_DUMP and the family header hdr, and calls fn with the payload of
// each reply message of type want (valid only during the call). It
// returns the number of datagrams received, which is the number of receive
// syscalls, and an error if the kernel failed or flagged the dump
// interrupted.
func (s *rawSocket) dumpOf(typ uint16, hdr []byte, want uint16, fn func(payload []byte)) (recvs int, err error) {
	s.seq++
	var buf [unix.NLMSG_HDRLEN + 64]byte
	req := buf[:unix.NLMSG_HDRLEN+len(hdr)]
	binary.NativeEndian.PutUint32(req[0:4], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:6], typ)
	binary.NativeEndian.PutUint16(req[6:8], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:12], s.seq)
	copy(req[unix.NLMSG_HDRLEN:], hdr)
	if _, err := unix.Write(s.fd, req); err != nil {
		return 0, fmt.Errorf("raw send: %w", err)
	}
	intr := false
	for {
		n, err := s.recv()
		if err != nil {
			return recvs, err
		}
		recvs++
		err = s.walk(n, func(m rawMsg) error {
			if m.seq != s.seq {
				return nil
			}
			if m.flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch m.typ {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				if len(m.data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.data)); e != 0 {
						return fmt.Errorf("raw dump: %w", unix.Errno(-e))
					}
				}
				return errDone
			case want:
				fn(m.data)
			}
			return nil
		})
		if err == errDone {
			if intr {
				return recvs, errors.New("raw dump: interrupted (NLM_F_DUMP_INTR)")
			}
			return recvs, nil
		}
		if err != nil {
			return recvs, err
		}
	}
}

// rawRoute is the compact decoded route of the raw-decode floor: netip
// values, no pointers to separate allocations (104 bytes).
type rawRoute struct {
	Dst      netip.Prefix
	Gateway  netip.Addr
	PrefSrc  netip.Addr
	OIF      uint32
	Table    uint32
	Priority uint32
	Protocol uint8
	Scope    uint8
	Type     uint8
}

// decodeRawRoute decodes an RTM_NEWROUTE payload (rtmsg and attributes)
// with a hand-written attribute walk.
func decodeRawRoute(p []byte) (rawRoute, bool) {
	var r rawRoute
	if len(p) < unix.SizeofRtMsg {
		return r, false
	}
	family, dstLen := p[0], int(p[1])
	r.Table, r.Protocol, r.Scope, r.Type = uint32(p[4]), p[5], p[6], p[7]
	var dst netip.Addr
	for a := p[unix.SizeofRtMsg:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a[0:2]))
		t := binary.NativeEndian.Uint16(a[2:4]) & nlaTypeMask
		if l < 4 || l > len(a) {
			return r, false
		}
		v := a[4:l]
		switch t {
		case unix.RTA_DST:
			dst, _ = netip.AddrFromSlice(v)
		case unix.RTA_GATEWAY:
			r.Gateway, _ = netip.AddrFromSlice(v)
		case unix.RTA_PREFSRC:
			r.PrefSrc, _ = netip.AddrFromSlice(v)
		case unix.RTA_OIF:
			if len(v) == 4 {
				r.OIF = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_PRIORITY:
			if len(v) == 4 {
				r.Priority = binary.NativeEndian.Uint32(v)
			}
		case unix.RTA_TABLE:
			if len(v) == 4 {
				r.Table = binary.NativeEndian.Uint32(v)
			}
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	if !dst.IsValid() {
		if family == unix.AF_INET6 {
			dst = netip.IPv6Unspecified()
		} else {
			dst = netip.IPv4Unspecified()
		}
	}
	r.Dst = netip.PrefixFrom(dst, dstLen)
	return r, true
}

// nlaTypeMask is NLA_TYPE_MASK: the attribute type without NLA_F_NESTED
// and NLA_F_NET_BYTEORDER.
const nlaTypeMask = 0x3fff
