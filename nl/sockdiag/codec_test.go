package sockdiag_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/sockdiag"
)

var socketCases = []struct {
	name string
	s    sockdiag.Socket
	text string
}{
	{"IPv4 listener", sockdiag.Socket{Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoTCP, State: sockdiag.StateListen,
		Src: netip.MustParseAddrPort("127.0.0.1:8080"), Dst: netip.MustParseAddrPort("0.0.0.0:0"), WQueue: 128, Inode: 4711, Cookie: 1 << 40, CgroupID: 9},
		"tcp LISTEN 0 128 127.0.0.1:8080 0.0.0.0:*"},
	{"dual-stack listener", sockdiag.Socket{Family: sockdiag.FamilyIPv6, Protocol: sockdiag.ProtoTCP, State: sockdiag.StateListen,
		Src: netip.MustParseAddrPort("[::]:9090"), Dst: netip.MustParseAddrPort("[::]:0"), RQueue: 1, WQueue: 4096},
		"tcp LISTEN 1 4096 *:9090 *:*"},
	{"IPv6-only listener", sockdiag.Socket{Family: sockdiag.FamilyIPv6, Protocol: sockdiag.ProtoTCP, State: sockdiag.StateListen,
		Src: netip.MustParseAddrPort("[::]:9092"), Dst: netip.MustParseAddrPort("[::]:0"), V6Only: true},
		"tcp LISTEN 0 0 [::]:9092 [::]:*"},
	{"IPv4-mapped connection with extensions", sockdiag.Socket{Family: sockdiag.FamilyIPv6, Protocol: sockdiag.ProtoTCP, State: sockdiag.StateEstablished,
		Src: netip.MustParseAddrPort("[::ffff:127.0.0.1]:9090"), Dst: netip.MustParseAddrPort("[::ffff:127.0.0.1]:5555"),
		Timer: sockdiag.TimerKeepalive, Retrans: 1, Expires: 7000, UID: 1000, Inode: 1, Shutdown: 1, TOS: 0x10, TClass: 0x20, ClassID: 6, Mark: 0x1234,
		Congestion: "cubic", MemInfo: sockdiag.MemInfo{RMem: 1, WMem: 2, FMem: 3, TMem: 4},
		SkMemInfo: sockdiag.SkMemInfo{RcvBuf: 131072, SndBuf: 16384, Drops: 3},
		TCPInfo: sockdiag.TCPInfo{State: sockdiag.StateEstablished, Options: 7, SndWScale: 7, RcvWScale: 9, RTO: 204000, RTT: 31, RTTVar: 15, SndCwnd: 10,
			BytesAcked: 10001, BytesReceived: 5, SegsOut: 9, MinRTT: 20, DeliveryRate: 1 << 33, BytesSent: 10000, RcvWnd: 65536}},
		"tcp ESTAB 0 0 [::ffff:127.0.0.1]:9090 [::ffff:127.0.0.1]:5555"},
	{"UDP bound to an interface", sockdiag.Socket{Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoUDP, State: sockdiag.StateClose,
		Src: netip.MustParseAddrPort("127.0.0.1:53"), Dst: netip.MustParseAddrPort("0.0.0.0:0"), Interface: 1},
		"udp UNCONN 0 0 127.0.0.1%1:53 0.0.0.0:*"},
	{"unknown congestion control", sockdiag.Socket{Family: sockdiag.FamilyIPv6, Protocol: sockdiag.ProtoTCP, State: sockdiag.StateTimeWait,
		Src: netip.MustParseAddrPort("[2001:db8::1]:1"), Dst: netip.MustParseAddrPort("[2001:db8::2]:2"), Timer: sockdiag.TimerTimeWait, Congestion: "mine"},
		"tcp TIME-WAIT 0 0 [2001:db8::1]:1 [2001:db8::2]:2"},
}

func TestSocketRoundTripsAndPrintsAsSS(t *testing.T) {
	for _, tc := range socketCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got := sockdiag.Socket{Protocol: tc.s.Protocol}
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if got != tc.s {
				t.Fatalf("round trip\n%+v\nwant\n%+v", got, tc.s)
			}
			m, err := tc.s.Message()
			if err != nil {
				t.Fatal(err)
			}
			d, err := sockdiag.DecodeSocket(m, tc.s.Protocol)
			if err != nil || !d.Equal(&tc.s) {
				t.Fatalf("DecodeSocket: %+v, %v", d, err)
			}
			if s := tc.s.String(); s != tc.text {
				t.Errorf("String() = %q, want %q", s, tc.text)
			}
		})
	}
}

func TestDecodeSocketDoesNotAllocate(t *testing.T) {
	b, err := socketCases[3].s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var s sockdiag.Socket
	if n := testing.AllocsPerRun(100, func() { s.UnmarshalBinary(b) }); n != 0 {
		t.Fatalf("UnmarshalBinary allocated %v times", n)
	}
}

func TestDecodeRejectsBadMessages(t *testing.T) {
	good, _ := socketCases[0].s.MarshalBinary()
	withAttr := func(a []byte) []byte { return append(append([]byte(nil), good[:72]...), a...) }
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, nl.ErrShortMessage},
		{"short header", good[:71], nl.ErrShortMessage},
		{"Unix family", append([]byte{1}, good[1:]...), sockdiag.ErrFamily},
		{"attribute past the end", withAttr([]byte{40, 0, 8, 0, 1}), nl.ErrBadLength},
		{"shutdown of 4 bytes", withAttr([]byte{8, 0, 8, 0, 1, 0, 0, 0}), nil},
		{"meminfo of 4 bytes", withAttr([]byte{8, 0, 1, 0, 1, 0, 0, 0}), nil},
	} {
		var s sockdiag.Socket
		err := s.UnmarshalBinary(tc.b)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want an error matching %v", tc.name, err, tc.want)
		}
	}
	if _, err := sockdiag.DecodeSocket(nl.Message{Header: nl.Header{Type: 3}, Data: good}, sockdiag.ProtoTCP); !errors.Is(err, sockdiag.ErrMessageType) {
		t.Errorf("DecodeSocket of NLMSG_DONE: %v", err)
	}
	// A short tcp_info (an older kernel) decodes what it holds.
	info := make([]byte, 104)
	info[0] = byte(sockdiag.StateEstablished)
	info[80] = 10 // tcpi_snd_cwnd
	var s sockdiag.Socket
	if err := s.UnmarshalBinary(withAttr(append([]byte{108, 0, 2, 0}, info...))); err != nil || s.TCPInfo.SndCwnd != 10 || s.TCPInfo.BytesAcked != 0 {
		t.Errorf("short tcp_info: %+v, %v", s.TCPInfo, err)
	}
	// Encoding refuses what the kernel could not have sent.
	for _, bad := range []sockdiag.Socket{
		{},
		{Family: sockdiag.FamilyUnix},
		{Family: sockdiag.FamilyIPv4, Src: netip.MustParseAddrPort("[::1]:1")},
		{Family: sockdiag.FamilyIPv6, Dst: netip.MustParseAddrPort("10.0.0.1:1")},
	} {
		if _, err := bad.MarshalBinary(); !errors.Is(err, sockdiag.ErrFamily) {
			t.Errorf("MarshalBinary(%+v): %v, want ErrFamily", bad, err)
		}
	}
}

var unixCases = []struct {
	name string
	u    sockdiag.UnixSocket
	text string
}{
	{"listener", sockdiag.UnixSocket{Type: sockdiag.UnixStream, State: sockdiag.StateListen, Inode: 27439, Cookie: 77, Path: "/run/x.sock",
		VFS: sockdiag.VFS{Inode: 12, Dev: 1 << 20}, RQueue: 1, WQueue: 128, UID: 1000}, "u_str LISTEN 1 128 /run/x.sock 27439 * 0"},
	{"abstract", sockdiag.UnixSocket{Type: sockdiag.UnixDgram, State: sockdiag.StateClose, Inode: 5, Path: "@abs@x",
		SkMemInfo: sockdiag.SkMemInfo{RcvBuf: 212992}}, "u_dgr UNCONN 0 0 @abs@x 5 * 0"},
	{"pair", sockdiag.UnixSocket{Type: sockdiag.UnixSeqPacket, State: sockdiag.StateEstablished, Inode: 7, Peer: 8, Shutdown: 3},
		"u_seq ESTAB 0 0 * 7 * 8"},
}

func TestUnixSocketRoundTripsAndPrintsAsSS(t *testing.T) {
	for _, tc := range unixCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.u.Message()
			if err != nil {
				t.Fatal(err)
			}
			got, err := sockdiag.DecodeUnixSocket(m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.u {
				t.Fatalf("round trip\n%+v\nwant\n%+v", got, tc.u)
			}
			if s := tc.u.String(); s != tc.text {
				t.Errorf("String() = %q, want %q", s, tc.text)
			}
		})
	}
	// The kernel sends a path with its NUL, an abstract name without.
	var u sockdiag.UnixSocket
	b := append([]byte{1, 1, 10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12, 0, 0, 0, '/', 't', 'm', 'p', '/', 's', 0, 0)
	if err := u.UnmarshalBinary(b); err != nil || u.Path != "/tmp/s" {
		t.Errorf("path with NUL: %q, %v", u.Path, err)
	}
	b = append([]byte{1, 2, 7, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 9, 0, 0, 0, 0, 'a', 0, 'b', 'c', 0, 0, 0)
	if err := u.UnmarshalBinary(b); err != nil || u.Path != "@a@bc" {
		t.Errorf("abstract name: %q, %v", u.Path, err)
	}
	for _, bad := range [][]byte{nil, b[:15], append([]byte{2}, b[1:]...), append(b[:16:16], 6, 0, 1, 0, 1, 2, 0, 0)} {
		if err := u.UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%v): no error", bad)
		}
	}
}

func TestStatesAndNames(t *testing.T) {
	if got := sockdiag.StatesOf(sockdiag.StateListen, sockdiag.StateClose); got != sockdiag.StatesListening {
		t.Errorf("StatesOf(LISTEN, CLOSE) = %#x", got)
	}
	if sockdiag.StatesAll != 0xffe || sockdiag.StatesAll.Has(sockdiag.StateBoundInactive) || !sockdiag.StatesAll.Has(sockdiag.StateClosing) {
		t.Errorf("StatesAll = %#x, want ss's all (bits 1 to 11)", uint32(sockdiag.StatesAll))
	}
	if sockdiag.StatesConnected.Has(sockdiag.StateListen) || !sockdiag.StatesConnected.Has(sockdiag.StateTimeWait) {
		t.Errorf("StatesConnected = %#x", uint32(sockdiag.StatesConnected))
	}
	for st, name := range map[sockdiag.State]string{1: "ESTAB", 7: "UNCONN", 10: "LISTEN", 12: "SYN-RECV", 0: "UNKNOWN", 200: "UNKNOWN"} {
		if st.String() != name {
			t.Errorf("State(%d) = %q, want %q", st, st, name)
		}
	}
	f := sockdiag.Filter{States: sockdiag.StatesOf(sockdiag.StateSynRecv)}
	if !f.Match(&sockdiag.Socket{State: sockdiag.StateNewSynRecv}) {
		t.Errorf("a SYN-RECV filter does not pass a request socket")
	}
}

func TestTimerPrintsAsSS(t *testing.T) {
	for _, tc := range []struct {
		kind    sockdiag.TimerKind
		ms      uint32
		retrans uint8
		want    string
	}{
		{sockdiag.TimerNone, 0, 0, ""},
		{sockdiag.TimerKeepalive, 3599_000, 0, "timer:(keepalive,59min,0)"},
		{sockdiag.TimerKeepalive, 90_500, 2, "timer:(keepalive,1min30sec,2)"},
		{sockdiag.TimerTimeWait, 59_999, 0, "timer:(timewait,59sec,0)"},
		{sockdiag.TimerOn, 9_501, 3, "timer:(on,9.501ms,3)"},
		{sockdiag.TimerProbe, 50, 1, "timer:(persist,050ms,1)"},
		{sockdiag.TimerOn, 0, 0, "timer:(on,,0)"},
		{9, 1000, 0, "timer:(unknown,1sec,0)"},
	} {
		s := sockdiag.Socket{Timer: tc.kind, Expires: tc.ms, Retrans: tc.retrans}
		if got := string(s.AppendTimer(nil)); got != tc.want {
			t.Errorf("%v %d ms: %q, want %q", tc.kind, tc.ms, got, tc.want)
		}
	}
}
