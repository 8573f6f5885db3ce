package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/nlrx/nlrx/nl"
)

// ErrMessageType reports a message that is not of the type a decoder reads.
var ErrMessageType = errors.New("sockdiag: unexpected message type")

// ErrFamily reports a socket or request of a family a function does not
// handle (an inet decoder given a Unix message, an address of the other
// family …).
var ErrFamily = errors.New("sockdiag: wrong address family")

// Socket is one TCP or UDP socket as the kernel's inet_diag reports it
// (struct inet_diag_msg and its INET_DIAG_* attributes): what `ss -tanu`
// lists, with what -e, -i, -m, -o, --tos and --cgroup add, and no process
// lookup.
//
// A zero field is "not reported": either zero or absent from the message
// (the extensions come only when asked for, see Extensions). Decoding does
// not allocate, but for a congestion control name this package does not
// know. Socket is comparable with ==.
type Socket struct {
	Family   Family   // idiag_family: FamilyIPv4 or FamilyIPv6
	Protocol Protocol // the protocol dumped (the message does not carry it)
	State    State    // idiag_state

	// Src and Dst are the local and remote address and port (idiag_src,
	// idiag_sport, idiag_dst, idiag_dport). An IPv6 socket's IPv4 peer
	// is an IPv4-mapped IPv6 address, as the kernel has it.
	Src, Dst netip.AddrPort

	Interface uint32 // idiag_if: the interface the socket is bound to (SO_BINDTODEVICE), 0 for none
	Cookie    uint64 // idiag_cookie: the kernel's socket cookie (SO_COOKIE)

	Timer   TimerKind // idiag_timer: the pending timer
	Retrans uint8     // idiag_retrans: retransmissions or probes sent (with Timer)
	Expires uint32    // idiag_expires: milliseconds until the timer fires

	// RQueue and WQueue are idiag_rqueue and idiag_wqueue: for a
	// listening TCP socket, the connections waiting to be accepted and the
	// backlog; for a TCP connection, bytes not yet read and bytes not yet
	// acknowledged; for UDP, bytes in the receive and the send queue.
	RQueue, WQueue uint32

	UID   uint32 // idiag_uid, in the caller's user namespace
	Inode uint32 // idiag_inode: the socket's inode (what /proc/PID/fd links name); 0 for TIME-WAIT and request sockets

	Shutdown uint8  // INET_DIAG_SHUTDOWN: 1 receive side shut down, 2 send side (SHUT_RD+1 bits)
	V6Only   bool   // INET_DIAG_SKV6ONLY: an IPv6 socket that takes no IPv4 (listening and unconnected sockets only)
	TOS      uint8  // INET_DIAG_TOS (ExtTOS)
	TClass   uint8  // INET_DIAG_TCLASS (ExtTClass, IPv6)
	ClassID  uint32 // INET_DIAG_CLASS_ID (ExtTClass): the net_cls class, or the socket's priority
	Mark     uint32 // INET_DIAG_MARK (SO_MARK), sent only to a caller with CAP_NET_ADMIN
	CgroupID uint64 // INET_DIAG_CGROUP_ID: the cgroup v2 id of the socket's cgroup

	// Congestion is INET_DIAG_CONG (ExtCong): the congestion control
	// algorithm ("cubic", "bbr" …).
	Congestion string

	MemInfo   MemInfo   // INET_DIAG_MEMINFO (ExtMemInfo)
	SkMemInfo SkMemInfo // INET_DIAG_SKMEMINFO (ExtSkMemInfo)
	TCPInfo   TCPInfo   // INET_DIAG_INFO (ExtInfo, TCP only): the part of struct tcp_info this package decodes
}

// MemInfo is struct inet_diag_meminfo, in bytes.
type MemInfo struct {
	RMem uint32 // idiag_rmem: receive queue memory
	WMem uint32 // idiag_wmem: queued to send
	FMem uint32 // idiag_fmem: forward-allocated
	TMem uint32 // idiag_tmem: in flight to the device
}

// SkMemInfo is the socket's memory counters (SK_MEMINFO_*, as ss -m prints
// them in skmem:(r…,rb…,t…,tb…,f…,w…,o…,bl…,d…)), in bytes but for Drops.
type SkMemInfo struct {
	RMemAlloc  uint32 // SK_MEMINFO_RMEM_ALLOC (r)
	RcvBuf     uint32 // SK_MEMINFO_RCVBUF (rb)
	WMemAlloc  uint32 // SK_MEMINFO_WMEM_ALLOC (t)
	SndBuf     uint32 // SK_MEMINFO_SNDBUF (tb)
	FwdAlloc   uint32 // SK_MEMINFO_FWD_ALLOC (f)
	WMemQueued uint32 // SK_MEMINFO_WMEM_QUEUED (w)
	OptMem     uint32 // SK_MEMINFO_OPTMEM (o)
	Backlog    uint32 // SK_MEMINFO_BACKLOG (bl)
	Drops      uint32 // SK_MEMINFO_DROPS (d): packets dropped
}

// TCPInfo is the part of struct tcp_info (linux/tcp.h) that ss -i prints
// most: state, timers, windows, RTT, congestion window and byte counts.
// Times are in microseconds where the kernel's are (RTO, ATO, RTT, RTTVar,
// RcvRTT, MinRTT, BusyTime …) and milliseconds for the Last* fields.
// Fields a kernel's shorter tcp_info lacks are zero.
type TCPInfo struct {
	State       State // tcpi_state
	CAState     uint8 // tcpi_ca_state: TCP_CA_Open, _Disorder, _CWR, _Recovery, _Loss
	Retransmits uint8 // tcpi_retransmits
	Probes      uint8 // tcpi_probes
	Backoff     uint8 // tcpi_backoff
	Options     uint8 // tcpi_options: TCPI_OPT_* (timestamps 1, SACK 2, window scaling 4, ECN 8 …)
	SndWScale   uint8 // tcpi_snd_wscale
	RcvWScale   uint8 // tcpi_rcv_wscale

	RTO, ATO       uint32 // tcpi_rto, tcpi_ato (µs)
	SndMSS, RcvMSS uint32 // tcpi_snd_mss, tcpi_rcv_mss

	Unacked, Sacked, Lost, Retrans uint32 // segments: tcpi_unacked, _sacked, _lost, _retrans

	LastDataSent, LastDataRecv, LastAckRecv uint32 // ms since: tcpi_last_data_sent, _last_data_recv, _last_ack_recv

	PMTU        uint32 // tcpi_pmtu
	RcvSsthresh uint32 // tcpi_rcv_ssthresh
	RTT         uint32 // tcpi_rtt: smoothed RTT (µs)
	RTTVar      uint32 // tcpi_rttvar (µs)
	SndSsthresh uint32 // tcpi_snd_ssthresh (segments)
	SndCwnd     uint32 // tcpi_snd_cwnd: the congestion window (segments)
	AdvMSS      uint32 // tcpi_advmss
	Reordering  uint32 // tcpi_reordering
	RcvRTT      uint32 // tcpi_rcv_rtt (µs)
	RcvSpace    uint32 // tcpi_rcv_space

	TotalRetrans uint32 // tcpi_total_retrans

	PacingRate, MaxPacingRate uint64 // tcpi_pacing_rate, tcpi_max_pacing_rate (bytes per second)
	BytesAcked                uint64 // tcpi_bytes_acked
	BytesReceived             uint64 // tcpi_bytes_received
	SegsOut, SegsIn           uint32 // tcpi_segs_out, tcpi_segs_in
	NotSentBytes              uint32 // tcpi_notsent_bytes
	MinRTT                    uint32 // tcpi_min_rtt (µs)
	DataSegsIn, DataSegsOut   uint32 // tcpi_data_segs_in, tcpi_data_segs_out
	DeliveryRate              uint64 // tcpi_delivery_rate (bytes per second)

	BusyTime, RwndLimited, SndbufLimited uint64 // µs: tcpi_busy_time, _rwnd_limited, _sndbuf_limited

	Delivered, DeliveredCE  uint32 // tcpi_delivered, tcpi_delivered_ce
	BytesSent, BytesRetrans uint64 // tcpi_bytes_sent, tcpi_bytes_retrans
	DSACKDups               uint32 // tcpi_dsack_dups
	ReordSeen               uint32 // tcpi_reord_seen
	RcvOOOPack              uint32 // tcpi_rcv_ooopack
	SndWnd, RcvWnd          uint32 // tcpi_snd_wnd, tcpi_rcv_wnd (bytes)
}

// RTTDuration returns RTT as a time.Duration.
func (t *TCPInfo) RTTDuration() time.Duration { return time.Duration(t.RTT) * time.Microsecond }

// Equal reports whether s and o hold the same values (s == o). It does not
// allocate.
func (s *Socket) Equal(o *Socket) bool { return *s == *o }

// ExpiresIn returns Expires as a time.Duration.
func (s *Socket) ExpiresIn() time.Duration { return time.Duration(s.Expires) * time.Millisecond }

// DecodeSocket decodes a SOCK_DIAG_BY_FAMILY reply of an inet dump (struct
// inet_diag_msg and attributes) for protocol p, which the message does not
// carry. The result does not alias m.Data.
func DecodeSocket(m nl.Message, p Protocol) (Socket, error) {
	var s Socket
	if m.Header.Type != TypeByFamily {
		return s, fmt.Errorf("%w: %#x is not SOCK_DIAG_BY_FAMILY", ErrMessageType, m.Header.Type)
	}
	err := s.decode(m.Data)
	s.Protocol = p
	return s, err
}

// UnmarshalBinary decodes the payload of an inet_diag reply (struct
// inet_diag_msg and attributes) into s, replacing all of s but Protocol,
// which the payload does not carry. s does not alias b.
func (s *Socket) UnmarshalBinary(b []byte) error {
	p := s.Protocol
	*s = Socket{Protocol: p}
	return s.decode(b)
}

func (s *Socket) decode(b []byte) error {
	if len(b) < sizeofMsg {
		return fmt.Errorf("sockdiag: inet_diag_msg: %w: %d bytes, want at least %d", nl.ErrShortMessage, len(b), sizeofMsg)
	}
	s.Family = Family(b[0])
	s.State = State(b[1])
	s.Timer = TimerKind(b[2])
	s.Retrans = b[3]
	var err error
	s.Src, s.Dst, s.Interface, s.Cookie, err = decodeSockID(s.Family, b[4:52])
	if err != nil {
		return err
	}
	s.Expires = binary.NativeEndian.Uint32(b[52:])
	s.RQueue = binary.NativeEndian.Uint32(b[56:])
	s.WQueue = binary.NativeEndian.Uint32(b[60:])
	s.UID = binary.NativeEndian.Uint32(b[64:])
	s.Inode = binary.NativeEndian.Uint32(b[68:])
	d := nl.NewAttributeDecoder(b[sizeofMsg:])
	for d.Next() {
		switch d.Type() {
		case attrShutdown:
			s.Shutdown = d.Uint8()
		case attrV6Only:
			s.V6Only = d.Uint8() != 0
		case attrTOS:
			s.TOS = d.Uint8()
		case attrTClass:
			s.TClass = d.Uint8()
		case attrClassID:
			s.ClassID = d.Uint32()
		case attrMark:
			s.Mark = d.Uint32()
		case attrCgroupID:
			s.CgroupID = d.Uint64()
		case attrCong:
			s.Congestion = congName(d.Bytes())
		case attrMemInfo:
			v := d.Bytes()
			if len(v) < sizeofMemInfo {
				d.Propagate(fmt.Errorf("INET_DIAG_MEMINFO: %d bytes, want %d", len(v), sizeofMemInfo))
				break
			}
			ne := binary.NativeEndian
			s.MemInfo = MemInfo{RMem: ne.Uint32(v), WMem: ne.Uint32(v[4:]), FMem: ne.Uint32(v[8:]), TMem: ne.Uint32(v[12:])}
		case attrSkMemInfo:
			s.SkMemInfo = decodeSkMemInfo(d.Bytes())
		case attrInfo:
			s.TCPInfo = decodeTCPInfo(d.Bytes())
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("sockdiag: inet_diag_msg: %w", err)
	}
	return nil
}

// decodeSockID decodes struct inet_diag_sockid (48 bytes).
func decodeSockID(f Family, b []byte) (src, dst netip.AddrPort, ifindex uint32, cookie uint64, err error) {
	sport := binary.BigEndian.Uint16(b[0:])
	dport := binary.BigEndian.Uint16(b[2:])
	var sa, da netip.Addr
	switch f {
	case FamilyIPv4:
		sa = netip.AddrFrom4([4]byte(b[4:8]))
		da = netip.AddrFrom4([4]byte(b[20:24]))
	case FamilyIPv6:
		sa = netip.AddrFrom16([16]byte(b[4:20]))
		da = netip.AddrFrom16([16]byte(b[20:36]))
	default:
		return src, dst, 0, 0, fmt.Errorf("%w: idiag_family %d is neither AF_INET nor AF_INET6", ErrFamily, f)
	}
	ifindex = binary.NativeEndian.Uint32(b[36:])
	cookie = uint64(binary.NativeEndian.Uint32(b[40:])) | uint64(binary.NativeEndian.Uint32(b[44:]))<<32
	return netip.AddrPortFrom(sa, sport), netip.AddrPortFrom(da, dport), ifindex, cookie, nil
}

// appendSockID appends struct inet_diag_sockid. Addresses of the wrong
// family are an error.
func appendSockID(b []byte, f Family, src, dst netip.AddrPort, ifindex uint32, cookie uint64) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	for _, a := range [2]netip.Addr{src.Addr(), dst.Addr()} {
		var raw [16]byte
		switch {
		case !a.IsValid():
		case f == FamilyIPv4 && a.Is4():
			v := a.As4()
			copy(raw[:], v[:])
		case f == FamilyIPv6 && a.Is6():
			raw = a.As16()
		default:
			return b, fmt.Errorf("%w: address %v in a %v socket id", ErrFamily, a, f)
		}
		b = append(b, raw[:]...)
	}
	b = binary.NativeEndian.AppendUint32(b, ifindex)
	b = binary.NativeEndian.AppendUint32(b, uint32(cookie))
	return binary.NativeEndian.AppendUint32(b, uint32(cookie>>32)), nil
}

// knownCong are the congestion controls in Linux, kept so that decoding
// their names does not allocate.
var knownCong = [...]string{"cubic", "reno", "bbr", "bbr3", "dctcp", "bic", "htcp", "vegas", "westwood",
	"hybla", "illinois", "highspeed", "scalable", "lp", "veno", "yeah", "nv", "cdg"}

func congName(b []byte) string {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	for _, n := range knownCong {
		if string(b) == n {
			return n
		}
	}
	return string(b)
}

func decodeSkMemInfo(b []byte) SkMemInfo {
	var v [skMemInfoVars]uint32
	for i := range v {
		if 4*i+4 > len(b) {
			break
		}
		v[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return SkMemInfo{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]}
}

func (m *SkMemInfo) appendBinary(b []byte) []byte {
	for _, v := range [skMemInfoVars]uint32{m.RMemAlloc, m.RcvBuf, m.WMemAlloc, m.SndBuf, m.FwdAlloc, m.WMemQueued, m.OptMem, m.Backlog, m.Drops} {
		b = binary.NativeEndian.AppendUint32(b, v)
	}
	return b
}

// decodeTCPInfo decodes the fields of struct tcp_info that fit in b, at
// the offsets of linux/tcp.h (which only grows at its end); a shorter
// structure (an older kernel) leaves the rest zero.
func decodeTCPInfo(b []byte) TCPInfo {
	var t TCPInfo
	u8 := func(off int) uint8 {
		if off < len(b) {
			return b[off]
		}
		return 0
	}
	u32 := func(off int) uint32 {
		if off+4 <= len(b) {
			return binary.NativeEndian.Uint32(b[off:])
		}
		return 0
	}
	u64 := func(off int) uint64 {
		if off+8 <= len(b) {
			return binary.NativeEndian.Uint64(b[off:])
		}
		return 0
	}
	t.State = State(u8(0))
	t.CAState = u8(1)
	t.Retransmits = u8(2)
	t.Probes = u8(3)
	t.Backoff = u8(4)
	t.Options = u8(5)
	// tcpi_snd_wscale:4, tcpi_rcv_wscale:4: the first bit-field takes the
	// low bits (the ABI of every little-endian Linux target).
	t.SndWScale = u8(6) & 0xf
	t.RcvWScale = u8(6) >> 4
	t.RTO, t.ATO, t.SndMSS, t.RcvMSS = u32(8), u32(12), u32(16), u32(20)
	t.Unacked, t.Sacked, t.Lost, t.Retrans = u32(24), u32(28), u32(32), u32(36)
	// 40 tcpi_fackets, 48 tcpi_last_ack_sent: unused by the kernel.
	t.LastDataSent, t.LastDataRecv, t.LastAckRecv = u32(44), u32(52), u32(56)
	t.PMTU, t.RcvSsthresh, t.RTT, t.RTTVar = u32(60), u32(64), u32(68), u32(72)
	t.SndSsthresh, t.SndCwnd, t.AdvMSS, t.Reordering = u32(76), u32(80), u32(84), u32(88)
	t.RcvRTT, t.RcvSpace, t.TotalRetrans = u32(92), u32(96), u32(100)
	t.PacingRate, t.MaxPacingRate, t.BytesAcked, t.BytesReceived = u64(104), u64(112), u64(120), u64(128)
	t.SegsOut, t.SegsIn, t.NotSentBytes, t.MinRTT = u32(136), u32(140), u32(144), u32(148)
	t.DataSegsIn, t.DataSegsOut = u32(152), u32(156)
	t.DeliveryRate, t.BusyTime, t.RwndLimited, t.SndbufLimited = u64(160), u64(168), u64(176), u64(184)
	t.Delivered, t.DeliveredCE = u32(192), u32(196)
	t.BytesSent, t.BytesRetrans = u64(200), u64(208)
	t.DSACKDups, t.ReordSeen, t.RcvOOOPack = u32(216), u32(220), u32(224)
	t.SndWnd, t.RcvWnd = u32(228), u32(232)
	return t
}

// appendBinary appends the struct tcp_info that decodeTCPInfo reads:
// sizeofTCPInfo bytes, the fields it does not hold zero.
func (t *TCPInfo) appendBinary(b []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, sizeofTCPInfo)...)
	v := b[start:]
	ne := binary.NativeEndian
	v[0], v[1], v[2], v[3], v[4], v[5] = byte(t.State), t.CAState, t.Retransmits, t.Probes, t.Backoff, t.Options
	v[6] = t.SndWScale&0xf | t.RcvWScale<<4
	for _, f := range [...]struct {
		off int
		v   uint32
	}{
		{8, t.RTO}, {12, t.ATO}, {16, t.SndMSS}, {20, t.RcvMSS},
		{24, t.Unacked}, {28, t.Sacked}, {32, t.Lost}, {36, t.Retrans},
		{44, t.LastDataSent}, {52, t.LastDataRecv}, {56, t.LastAckRecv},
		{60, t.PMTU}, {64, t.RcvSsthresh}, {68, t.RTT}, {72, t.RTTVar},
		{76, t.SndSsthresh}, {80, t.SndCwnd}, {84, t.AdvMSS}, {88, t.Reordering},
		{92, t.RcvRTT}, {96, t.RcvSpace}, {100, t.TotalRetrans},
		{136, t.SegsOut}, {140, t.SegsIn}, {144, t.NotSentBytes}, {148, t.MinRTT},
		{152, t.DataSegsIn}, {156, t.DataSegsOut}, {192, t.Delivered}, {196, t.DeliveredCE},
		{216, t.DSACKDups}, {220, t.ReordSeen}, {224, t.RcvOOOPack}, {228, t.SndWnd}, {232, t.RcvWnd},
	} {
		ne.PutUint32(v[f.off:], f.v)
	}
	for _, f := range [...]struct {
		off int
		v   uint64
	}{
		{104, t.PacingRate}, {112, t.MaxPacingRate}, {120, t.BytesAcked}, {128, t.BytesReceived},
		{160, t.DeliveryRate}, {168, t.BusyTime}, {176, t.RwndLimited}, {184, t.SndbufLimited},
		{200, t.BytesSent}, {208, t.BytesRetrans},
	} {
		ne.PutUint64(v[f.off:], f.v)
	}
	return b
}

// AppendBinary appends s as the kernel sends it: struct inet_diag_msg and
// the attributes of the fields that are set (encoding.BinaryAppender).
// Protocol is not encoded. An address of the other family, or a Family
// that is not inet, is an error.
func (s *Socket) AppendBinary(b []byte) ([]byte, error) {
	if s.Family != FamilyIPv4 && s.Family != FamilyIPv6 {
		return b, fmt.Errorf("%w: %v is not an inet family", ErrFamily, s.Family)
	}
	b = append(b, byte(s.Family), byte(s.State), byte(s.Timer), s.Retrans)
	b, err := appendSockID(b, s.Family, s.Src, s.Dst, s.Interface, s.Cookie)
	if err != nil {
		return b, err
	}
	for _, v := range [...]uint32{s.Expires, s.RQueue, s.WQueue, s.UID, s.Inode} {
		b = binary.NativeEndian.AppendUint32(b, v)
	}
	e := nl.NewAttributeEncoder(b)
	if s.Shutdown != 0 {
		e.Uint8(attrShutdown, s.Shutdown)
	}
	if s.TOS != 0 {
		e.Uint8(attrTOS, s.TOS)
	}
	if s.TClass != 0 {
		e.Uint8(attrTClass, s.TClass)
	}
	if s.V6Only {
		e.Uint8(attrV6Only, 1)
	}
	if s.Mark != 0 {
		e.Uint32(attrMark, s.Mark)
	}
	if s.ClassID != 0 {
		e.Uint32(attrClassID, s.ClassID)
	}
	if s.CgroupID != 0 {
		e.Uint64(attrCgroupID, s.CgroupID)
	}
	if s.MemInfo != (MemInfo{}) {
		var v [sizeofMemInfo]byte
		ne := binary.NativeEndian
		ne.PutUint32(v[0:], s.MemInfo.RMem)
		ne.PutUint32(v[4:], s.MemInfo.WMem)
		ne.PutUint32(v[8:], s.MemInfo.FMem)
		ne.PutUint32(v[12:], s.MemInfo.TMem)
		e.Raw(attrMemInfo, v[:])
	}
	if s.SkMemInfo != (SkMemInfo{}) {
		e.Raw(attrSkMemInfo, s.SkMemInfo.appendBinary(make([]byte, 0, 4*skMemInfoVars)))
	}
	if s.TCPInfo != (TCPInfo{}) {
		e.Raw(attrInfo, s.TCPInfo.appendBinary(make([]byte, 0, sizeofTCPInfo)))
	}
	if s.Congestion != "" {
		e.String(attrCong, s.Congestion)
	}
	return e.Bytes()
}

// MarshalBinary returns AppendBinary(nil).
func (s *Socket) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil) }

// Message returns s as the kernel's reply message (SOCK_DIAG_BY_FAMILY,
// NLM_F_MULTI): for tests and fake kernels.
func (s *Socket) Message() (nl.Message, error) {
	b, err := s.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: TypeByFamily, Flags: nl.FlagMulti}, Data: b}, err
}
