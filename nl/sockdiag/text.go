package sockdiag

import (
	"net/netip"
	"strconv"
)

// String returns the socket as `ss -tuanH` prints it, on one line with
// single spaces: netid, state, receive and send queue, local and peer
// address: "tcp LISTEN 0 128 127.0.0.1:8080 0.0.0.0:*". A port 0 is "*",
// an IPv6 address is bracketed, and the IPv6 any address of a dual-stack
// socket is "*", as ss prints them; a bound interface follows the address
// as "%" and its index (ss prints its name). It allocates the string;
// AppendText appends to a buffer.
func (s *Socket) String() string {
	b, _ := s.AppendText(make([]byte, 0, 96))
	return string(b)
}

// AppendText appends the text of String to b (encoding.TextAppender). It
// allocates only if b lacks capacity.
func (s *Socket) AppendText(b []byte) ([]byte, error) {
	b = append(b, s.Protocol.String()...)
	b = append(b, ' ')
	b = append(b, s.State.String()...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(s.RQueue), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(s.WQueue), 10)
	b = append(b, ' ')
	b = s.appendAddr(b, s.Src, s.Interface)
	b = append(b, ' ')
	b = s.appendAddr(b, s.Dst, 0)
	return b, nil
}

func (s *Socket) appendAddr(b []byte, ap netip.AddrPort, ifindex uint32) []byte {
	a := ap.Addr()
	switch {
	case a.Is4() || !a.IsValid():
		b = a.AppendTo(b)
	case !s.V6Only && a == netip.IPv6Unspecified():
		b = append(b, '*')
	default:
		b = append(b, '[')
		b = a.AppendTo(b)
		b = append(b, ']')
	}
	if ifindex != 0 {
		b = append(b, '%')
		b = strconv.AppendUint(b, uint64(ifindex), 10)
	}
	b = append(b, ':')
	if ap.Port() == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

// String returns the socket as `ss -xanH` prints it, on one line with
// single spaces: netid, state, queues, the local name ("*" for none) and
// inode, "*" and the peer's inode: "u_str LISTEN 0 128 /run/x.sock 4711 *
// 0". It allocates the string.
func (u *UnixSocket) String() string {
	b, _ := u.AppendText(make([]byte, 0, 96))
	return string(b)
}

// AppendText appends the text of String to b (encoding.TextAppender).
func (u *UnixSocket) AppendText(b []byte) ([]byte, error) {
	b = append(b, u.Type.String()...)
	b = append(b, ' ')
	b = append(b, u.State.String()...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(u.RQueue), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(u.WQueue), 10)
	b = append(b, ' ')
	if u.Path == "" {
		b = append(b, '*')
	} else {
		b = append(b, u.Path...)
	}
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(u.Inode), 10)
	b = append(b, " * "...)
	return strconv.AppendUint(b, uint64(u.Peer), 10), nil
}

// AppendTimer appends the socket's timer as `ss -o` prints it,
// "timer:(keepalive,59min,0)": the kind, the time left (minutes, then
// seconds, then milliseconds, coarser as it grows) and the retransmission
// or probe count. A socket without a timer appends nothing.
func (s *Socket) AppendTimer(b []byte) []byte {
	if s.Timer == TimerNone {
		return b
	}
	b = append(b, "timer:("...)
	b = append(b, s.Timer.String()...)
	b = append(b, ',')
	b = appendMS(b, s.Expires)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(s.Retrans), 10)
	return append(b, ')')
}

// appendMS writes a time in milliseconds the way ss (6.1) does: "59min",
// "1min30sec", "12sec", "9.501ms" (for 9.501 s: its historical form),
// "050ms".
func appendMS(b []byte, ms uint32) []byte {
	secs, msecs := ms/1000, ms%1000
	mins := secs / 60
	secs %= 60
	if mins > 0 {
		msecs = 0
		b = strconv.AppendUint(b, uint64(mins), 10)
		b = append(b, "min"...)
		if mins > 9 {
			secs = 0
		}
	}
	if secs > 0 {
		if secs > 9 {
			msecs = 0
		}
		b = strconv.AppendUint(b, uint64(secs), 10)
		if msecs > 0 {
			b = append(b, '.')
		} else {
			b = append(b, "sec"...)
		}
	}
	if msecs > 0 {
		b = append(b, byte('0'+msecs/100), byte('0'+msecs/10%10), byte('0'+msecs%10))
		b = append(b, "ms"...)
	}
	return b
}
