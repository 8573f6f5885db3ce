//go:build linux

package sockdiag_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/sockdiag"
	"golang.org/x/sys/unix"
)

// fixture is the set of sockets the tests open in their namespace.
type fixture struct {
	client, server *net.TCPConn // 127.0.0.1 → 127.0.0.1:8080, accepted
	client6        *net.TCPConn // [::1] → [::]:9092 (IPv6 only), accepted
	pending        *net.TCPConn // 127.0.0.1 → [::]:9090 (dual stack), not accepted
	udp4           net.PacketConn
	udp6           *net.UDPConn // [::1] → [::1]:5353, connected
	bound          net.PacketConn
	unixPath       string
}

// openFixture opens, in ns: TCP listeners on 127.0.0.1:8080, [::]:9090
// (dual stack) and [::]:9092 (IPv6 only), an accepted connection to each
// of the first and last, one left in the dual-stack listener's queue; a
// UDP socket on 0.0.0.0:5353, one connected over IPv6, one bound to lo on
// 127.0.0.1:53; a Unix stream listener on a path with an accepted
// connection, an abstract datagram socket, an unnamed one, and a
// seqpacket pair.
func openFixture(t *testing.T, ns *nstest.NS) *fixture {
	t.Helper()
	var f fixture
	l := listenTCP(t, ns, "tcp4", "127.0.0.1:8080")
	f.client = dialTCP(t, ns, "tcp4", "127.0.0.1:8080")
	f.server = accept(t, l)
	listenTCP(t, ns, "tcp", "[::]:9090")
	f.pending = dialTCP(t, ns, "tcp4", "127.0.0.1:9090")
	l6 := listenTCP(t, ns, "tcp6", "[::]:9092")
	f.client6 = dialTCP(t, ns, "tcp6", "[::1]:9092")
	accept(t, l6)

	in(t, ns, func() (err error) {
		if f.udp4, err = net.ListenPacket("udp4", "0.0.0.0:5353"); err != nil {
			return err
		}
		c, err := net.Dial("udp6", "[::1]:5353")
		if err != nil {
			return err
		}
		f.udp6 = c.(*net.UDPConn)
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), "lo") })
			return errors.Join(err, serr)
		}}
		f.bound, err = lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:53")
		return err
	})
	closeLater(t, f.udp4)
	closeLater(t, f.udp6)
	closeLater(t, f.bound)

	f.unixPath = filepath.Join(t.TempDir(), "s.sock")
	in(t, ns, func() error {
		ul, err := net.Listen("unix", f.unixPath)
		if err != nil {
			return err
		}
		closeLater(t, ul)
		uc, err := net.Dial("unix", f.unixPath)
		if err != nil {
			return err
		}
		closeLater(t, uc)
		us, err := ul.Accept()
		if err != nil {
			return err
		}
		closeLater(t, us)
		abs, err := net.ListenPacket("unixgram", "@sockdiag-test")
		if err != nil {
			return err
		}
		closeLater(t, abs)
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		t.Cleanup(func() { unix.Close(fd) })
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		t.Cleanup(func() { unix.Close(pair[0]); unix.Close(pair[1]) })
		return nil
	})
	return &f
}

// ssInet returns ss's lines for args with the interface lo written as
// this package writes it (its index), and the netid column that ss leaves
// out when it lists one protocol.
func ssInet(t *testing.T, ns *nstest.NS, args ...string) []string {
	t.Helper()
	netid := ""
	if opts := args[0]; strings.Contains(opts, "t") != strings.Contains(opts, "u") {
		netid = "udp "
		if strings.Contains(opts, "t") {
			netid = "tcp "
		}
	}
	// With a single state, ss leaves out the state column too.
	state := ""
	if i := slices.Index(args, "state"); i >= 0 && i+1 < len(args) {
		state = map[string]string{"listening": "LISTEN ", "established": "ESTAB ", "closed": "UNCONN "}[args[i+1]]
	}
	lines := ssLines(t, ns, args...)
	for i, l := range lines {
		l = strings.ReplaceAll(l, "%lo:", "%1:")
		if state != "" {
			if id, rest, ok := strings.Cut(l, " "); ok && netid == "" {
				l = id + " " + state + rest
			} else {
				l = state + l
			}
		}
		lines[i] = netid + l
	}
	slices.Sort(lines)
	return lines
}

func TestListMatchesSS(t *testing.T) {
	needSS(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	openFixture(t, ns)
	ctx := testCtx(t)

	all, err := sockdiag.List(ctx, c, sockdiag.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "List against ss -tuan", socketLines(all), ssInet(t, ns, "-tuan"))
	if len(all) != 12 {
		t.Errorf("listed %d inet sockets, opened 12", len(all))
	}
	for _, tc := range []struct {
		f    sockdiag.Filter
		args []string
	}{
		{sockdiag.Filter{Protocol: sockdiag.ProtoTCP}, []string{"-tan"}},
		{sockdiag.Filter{Protocol: sockdiag.ProtoUDP}, []string{"-uan"}},
		{sockdiag.Filter{Family: sockdiag.FamilyIPv4}, []string{"-tuan4"}},
		{sockdiag.Filter{Family: sockdiag.FamilyIPv6, Protocol: sockdiag.ProtoTCP}, []string{"-tan6"}},
		{sockdiag.Filter{Protocol: sockdiag.ProtoTCP, States: sockdiag.StatesOf(sockdiag.StateListen)}, []string{"-tan", "state", "listening"}},
		{sockdiag.Filter{Protocol: sockdiag.ProtoTCP, States: sockdiag.StatesOf(sockdiag.StateEstablished)}, []string{"-tan", "state", "established"}},
		{sockdiag.Filter{Protocol: sockdiag.ProtoUDP, States: sockdiag.StatesOf(sockdiag.StateClose)}, []string{"-uan", "state", "closed"}},
		{sockdiag.Filter{States: sockdiag.StatesConnected}, []string{"-tuan", "state", "connected"}},
	} {
		got, err := sockdiag.List(ctx, c, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		sameLines(t, fmt.Sprintf("List(%+v) against ss %s", tc.f, strings.Join(tc.args, " ")), socketLines(got), ssInet(t, ns, tc.args...))
	}

	us, err := sockdiag.ListUnix(ctx, c, sockdiag.UnixFilter{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "ListUnix against ss -xan", unixLines(us), ssLines(t, ns, "-xan"))
	if len(us) != 7 {
		t.Errorf("listed %d Unix sockets, opened 7", len(us))
	}
	listening, err := sockdiag.ListUnix(ctx, c, sockdiag.UnixFilter{States: sockdiag.StatesListening})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "ListUnix(listening) against ss -xln", unixLines(listening), ssLines(t, ns, "-xln"))
	seq, err := sockdiag.ListUnix(ctx, c, sockdiag.UnixFilter{Types: []sockdiag.UnixType{sockdiag.UnixSeqPacket}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seq) != 2 || seq[0].Peer != seq[1].Inode || seq[1].Peer != seq[0].Inode {
		t.Errorf("seqpacket pair: %v, want two sockets, each the other's peer", unixLines(seq))
	}
}

func TestPortFiltersMatchSS(t *testing.T) {
	needSS(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	openFixture(t, ns)
	ctx := testCtx(t)
	for _, expr := range []string{
		"sport = :8080",
		"dport = :8080",
		"sport == :5353 or dport == :5353",
		"dport >= :1024",
		"sport <= :9090",
		"sport > :8080 and sport < :9092",
		"sport != :8080",
		"not dport = :0",
		"( sport = :8080 or sport = :9090 ) and dport = :0",
		"sport = :9092 or dport = :9092 or sport = :53",
		"! ( sport >= :1 && sport <= :9000 ) || dport = :8080",
		"sport ge :9000 sport le :9100", // side by side: and
		"sport = :1",                    // nothing
	} {
		e, err := sockdiag.ParseExpr(expr)
		if err != nil {
			t.Fatalf("ParseExpr(%q): %v", expr, err)
		}
		got, err := sockdiag.List(ctx, c, sockdiag.Filter{Ports: e})
		if err != nil {
			t.Fatalf("List with %q: %v", expr, err)
		}
		want := ssInet(t, ns, "-tuan", expr)
		sameLines(t, fmt.Sprintf("List with %q against ss", expr), socketLines(got), want)
		// The String form is ss syntax too, and means the same.
		sameLines(t, fmt.Sprintf("ss with %q (from %q)", e, expr), want, ssInet(t, ns, "-tuan", e.String()))
	}
}

// TestKernelAppliesTheBytecode checks that the filtering is the kernel's:
// a raw request with the bytecode and no local check returns only the
// matching sockets.
func TestKernelAppliesTheBytecode(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	openFixture(t, ns)
	f := sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Family: sockdiag.FamilyIPv4, Ports: sockdiag.SrcPort(sockdiag.Eq, 8080)}
	reqs, err := f.Requests()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Execute(testCtx(t), reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 { // the listener and the accepted connection
		t.Fatalf("kernel returned %d messages for sport = :8080, want 2", len(ms))
	}
	for _, m := range ms {
		s, err := sockdiag.DecodeSocket(m, sockdiag.ProtoTCP)
		if err != nil {
			t.Fatal(err)
		}
		if s.Src.Port() != 8080 {
			t.Errorf("kernel returned %v", &s)
		}
	}
}

func TestSocketFieldsMatchTheSocket(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	f := openFixture(t, ns)
	ctx := testCtx(t)
	cfd := fdOf(t, f.client)
	if err := unix.SetsockoptInt(cfd, unix.SOL_SOCKET, unix.SO_MARK, 0x1234); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(cfd, unix.IPPROTO_IP, unix.IP_TOS, 0x10); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptInt(fdOf(t, f.client6), unix.IPPROTO_IPV6, unix.IPV6_TCLASS, 0x20); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 10000)
	if _, err := f.client.Write(payload); err != nil {
		t.Fatal(err)
	}
	if _, err := f.server.Read(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	cookie, err := unix.GetsockoptUint64(cfd, unix.SOL_SOCKET, unix.SO_COOKIE)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(cfd, &st); err != nil {
		t.Fatal(err)
	}
	local := f.client.LocalAddr().(*net.TCPAddr).AddrPort()

	all, err := sockdiag.List(ctx, c, sockdiag.Filter{Ext: sockdiag.ExtAll})
	if err != nil {
		t.Fatal(err)
	}
	find := func(src netip.AddrPort, p sockdiag.Protocol, st sockdiag.State) *sockdiag.Socket {
		t.Helper()
		for i := range all {
			if s := &all[i]; s.Src == src && s.Protocol == p && s.State == st {
				return s
			}
		}
		t.Fatalf("no %v %v socket from %v in %v", p, st, src, socketLines(all))
		return nil
	}
	s := find(local, sockdiag.ProtoTCP, sockdiag.StateEstablished)
	if s.Family != sockdiag.FamilyIPv4 || s.Dst != netip.MustParseAddrPort("127.0.0.1:8080") {
		t.Errorf("client: %v", s)
	}
	if s.Cookie != cookie || uint64(s.Inode) != st.Ino || s.UID != uint32(os.Geteuid()) {
		t.Errorf("client: cookie %d, inode %d, uid %d; want %d, %d, %d", s.Cookie, s.Inode, s.UID, cookie, st.Ino, os.Geteuid())
	}
	if s.Mark != 0x1234 || s.TOS != 0x10 {
		t.Errorf("client: mark %#x, tos %#x; want 0x1234, 0x10", s.Mark, s.TOS)
	}
	ti := &s.TCPInfo
	if ti.State != sockdiag.StateEstablished || ti.RTT == 0 || ti.SndCwnd == 0 || ti.BytesAcked < 10000 || ti.BytesSent < 10000 || ti.SndMSS == 0 {
		t.Errorf("client tcp_info: %+v; want ESTAB, an RTT, a cwnd, 10000 bytes sent and acked", *ti)
	}
	if s.Congestion == "" || s.SkMemInfo.RcvBuf == 0 || s.SkMemInfo.SndBuf == 0 {
		t.Errorf("client: congestion %q, skmem %+v", s.Congestion, s.SkMemInfo)
	}
	if sv := find(netip.MustParseAddrPort("127.0.0.1:8080"), sockdiag.ProtoTCP, sockdiag.StateEstablished); sv.TCPInfo.BytesReceived < 10000 || sv.RQueue != 10000-100 {
		t.Errorf("server: bytes received %d, receive queue %d; want 10000, 9900", sv.TCPInfo.BytesReceived, sv.RQueue)
	}
	c6 := find(f.client6.LocalAddr().(*net.TCPAddr).AddrPort(), sockdiag.ProtoTCP, sockdiag.StateEstablished)
	if c6.Family != sockdiag.FamilyIPv6 || c6.TClass != 0x20 {
		t.Errorf("IPv6 client: %v, tclass %#x", c6, c6.TClass)
	}
	if l := find(netip.MustParseAddrPort("[::]:9092"), sockdiag.ProtoTCP, sockdiag.StateListen); !l.V6Only {
		t.Errorf("[::]:9092 listener: V6Only false")
	}
	if l := find(netip.MustParseAddrPort("[::]:9090"), sockdiag.ProtoTCP, sockdiag.StateListen); l.V6Only || l.RQueue != 1 {
		t.Errorf("[::]:9090 listener: V6Only %v, queue %d; want false, 1", l.V6Only, l.RQueue)
	}
	if b := find(netip.MustParseAddrPort("127.0.0.1:53"), sockdiag.ProtoUDP, sockdiag.StateClose); b.Interface != 1 {
		t.Errorf("UDP socket bound to lo: interface %d", b.Interface)
	}
	if cg, err := os.ReadFile("/proc/self/cgroup"); err == nil && strings.HasPrefix(string(cg), "0::") && s.CgroupID == 0 {
		t.Errorf("client: no cgroup id on a cgroup v2 system")
	}
	f.client.CloseWrite()
	for _, s := range mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, local.Port())}) {
		if s.Shutdown != 2 {
			t.Errorf("after CloseWrite: shutdown %d, want 2 (SEND_SHUTDOWN)", s.Shutdown)
		}
	}

	us, err := sockdiag.ListUnix(ctx, c, sockdiag.UnixFilter{MemInfo: true})
	if err != nil {
		t.Fatal(err)
	}
	var named int
	for _, u := range us {
		switch u.Path {
		case f.unixPath: // the listener, and the connection it accepted
			named++
			var vst unix.Stat_t
			if err := unix.Stat(f.unixPath, &vst); err != nil {
				t.Fatal(err)
			}
			if u.State == sockdiag.StateListen && uint64(u.VFS.Inode) != vst.Ino || u.Type != sockdiag.UnixStream {
				t.Errorf("%v: vfs %+v, want inode %d", &u, u.VFS, vst.Ino)
			}
		case "@sockdiag-test":
			named++
			if u.Type != sockdiag.UnixDgram || u.State != sockdiag.StateClose {
				t.Errorf("abstract socket: %v", &u)
			}
		}
		if u.SkMemInfo.RcvBuf == 0 || u.UID != uint32(os.Geteuid()) {
			t.Errorf("%v: skmem %+v, uid %d", &u, u.SkMemInfo, u.UID)
		}
	}
	if named != 3 {
		t.Errorf("found %d of the 3 named Unix sockets in %v", named, unixLines(us))
	}
}

func mustList(t *testing.T, c *nl.Conn, f sockdiag.Filter) []sockdiag.Socket {
	t.Helper()
	ss, err := sockdiag.List(testCtx(t), c, f)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestIteratorsStopAndTheConnStaysUsable(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	openFixture(t, ns)
	ctx := testCtx(t)
	n := 0
	for s, err := range sockdiag.Sockets(ctx, c, sockdiag.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if s.Family == 0 {
			t.Fatalf("zero socket yielded")
		}
		if n++; n == 2 {
			break
		}
	}
	u := 0
	for _, err := range sockdiag.UnixSockets(ctx, c, sockdiag.UnixFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		u++
	}
	if u != 7 {
		t.Errorf("UnixSockets after a break: %d sockets, want 7", u)
	}
	all, err := sockdiag.Append(ctx, c, make([]sockdiag.Socket, 0, 64), sockdiag.Filter{})
	if err != nil || len(all) != 12 {
		t.Fatalf("Append after a break: %d sockets, %v; want 12", len(all), err)
	}
	stop := errors.New("stop")
	if err := sockdiag.ForEach(ctx, c, sockdiag.Filter{}, func(*sockdiag.Socket) error { return stop }); err != stop {
		t.Fatalf("ForEach returned %v, want fn's error", err)
	}
}

func TestDestroy(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	f := openFixture(t, ns)
	ctx := testCtx(t)
	local := f.client.LocalAddr().(*net.TCPAddr).AddrPort()
	byPort := sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, local.Port())}
	ss := mustList(t, c, byPort)
	if len(ss) != 1 {
		t.Fatalf("client socket: %v", socketLines(ss))
	}
	err := sockdiag.Destroy(ctx, c, ss[0])
	if errors.Is(err, sockdiag.ErrNoDestroy) {
		if !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "CONFIG_INET_DIAG_DESTROY") {
			t.Fatalf("error %v does not name CONFIG_INET_DIAG_DESTROY", err)
		}
		t.Skipf("the kernel lacks CONFIG_INET_DIAG_DESTROY: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.Read(make([]byte, 1)); !errors.Is(err, unix.ECONNABORTED) {
		t.Errorf("read from the destroyed socket: %v, want ECONNABORTED", err)
	}
	if _, err := f.server.Read(make([]byte, 1)); !errors.Is(err, unix.ECONNRESET) {
		t.Errorf("read from its peer: %v, want ECONNRESET", err)
	}
	if left := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, States: sockdiag.StatesOf(sockdiag.StateEstablished), Ports: sockdiag.SrcPort(sockdiag.Eq, local.Port())}); len(left) != 0 {
		t.Errorf("after destroy: %v", socketLines(left))
	}
	if err := sockdiag.Destroy(ctx, c, ss[0]); !errors.Is(err, unix.ENOENT) {
		t.Errorf("destroying it again: %v, want ENOENT", err)
	}
	// A stale cookie names another socket: nothing is destroyed.
	s6 := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, f.client6.LocalAddr().(*net.TCPAddr).AddrPort().Port())})
	if len(s6) != 1 {
		t.Fatalf("IPv6 client: %v", socketLines(s6))
	}
	stale := s6[0]
	stale.Cookie++
	if err := sockdiag.Destroy(ctx, c, stale); !errors.Is(err, unix.ENOENT) {
		t.Errorf("destroy with a stale cookie: %v, want ENOENT", err)
	}
	// UDP, and the listener on 8080, through DestroyMatching.
	n, err := sockdiag.DestroyMatching(ctx, c, sockdiag.Filter{Ports: sockdiag.Or(sockdiag.SrcPort(sockdiag.Eq, 5353), sockdiag.SrcPort(sockdiag.Eq, 8080))},
		func(s *sockdiag.Socket) bool { return s.State != sockdiag.StateEstablished })
	if err != nil || n != 2 {
		t.Fatalf("DestroyMatching: %d, %v; want 2 (the UDP socket on 5353, the listener on 8080)", n, err)
	}
	if _, _, err := f.udp4.ReadFrom(make([]byte, 1)); !errors.Is(err, unix.ECONNABORTED) {
		t.Errorf("read from the destroyed UDP socket: %v, want ECONNABORTED", err)
	}
	// The listener is gone; the UDP socket, bound to its port, stays (the
	// kernel disconnects it, which leaves an explicit bind alone).
	left := mustList(t, c, sockdiag.Filter{Ports: sockdiag.Or(sockdiag.SrcPort(sockdiag.Eq, 5353), sockdiag.SrcPort(sockdiag.Eq, 8080))})
	for _, s := range left {
		if s.State != sockdiag.StateEstablished && s.Protocol != sockdiag.ProtoUDP {
			t.Errorf("after DestroyMatching: %v", &s)
		}
	}
}

func TestBadRequestsAreErrors(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	if _, err := sockdiag.List(ctx, c, sockdiag.Filter{Family: sockdiag.FamilyUnix}); !errors.Is(err, sockdiag.ErrFamily) {
		t.Errorf("List with the Unix family: %v, want ErrFamily", err)
	}
	if _, err := sockdiag.List(ctx, c, sockdiag.Filter{Protocol: 1}); err == nil {
		t.Errorf("List of ICMP sockets: no error")
	}
	for _, s := range []sockdiag.Socket{
		{},
		{Family: sockdiag.FamilyIPv4},
		{Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoTCP, Src: netip.MustParseAddrPort("[::1]:1")},
		{Family: sockdiag.FamilyIPv6, Protocol: sockdiag.ProtoUDP, Dst: netip.MustParseAddrPort("10.0.0.1:1")},
	} {
		if err := sockdiag.Destroy(ctx, c, s); err == nil {
			t.Errorf("Destroy(%+v): no error", s)
		}
	}
	if err := sockdiag.Destroy(ctx, c, sockdiag.Socket{Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoTCP,
		Src: netip.MustParseAddrPort("127.0.0.1:1"), Dst: netip.MustParseAddrPort("127.0.0.1:2")}); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Destroy of a socket that does not exist: %v, want ENOENT", err)
	}
	// Bytecode the kernel refuses comes back as its EINVAL, not a panic:
	// sent raw, past the package's own check.
	req, _ := sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Family: sockdiag.FamilyIPv4, Ports: sockdiag.SrcPort(sockdiag.Eq, 1)}.Requests()
	m := req[0]
	m.Data = append([]byte(nil), m.Data...)
	m.Data[len(m.Data)-8+1] = 6 // the comparison's "yes" jump: not a multiple of 4
	if err := c.ExecuteFunc(ctx, m, func(nl.Message) error { return nil }); !errors.Is(err, unix.EINVAL) {
		t.Errorf("kernel on bad bytecode: %v, want EINVAL", err)
	}
}

// TestCheckBytecodeAgreesWithTheKernel sends programs, raw, to the
// kernel: it refuses (EINVAL) exactly those CheckBytecode refuses, and
// accepts compiled ones.
func TestCheckBytecodeAgreesWithTheKernel(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	req, err := sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Family: sockdiag.FamilyIPv4}.Requests()
	if err != nil {
		t.Fatal(err)
	}
	send := func(b []byte) error {
		m := req[0]
		e := nl.NewAttributeEncoder(append([]byte(nil), m.Data...))
		e.Raw(1, b) // INET_DIAG_REQ_BYTECODE
		m.Data, _ = e.Bytes()
		return c.ExecuteFunc(ctx, m, func(nl.Message) error { return nil })
	}
	for _, tc := range auditCases {
		if len(tc.b) == 0 {
			continue // no attribute payload: the kernel skips an empty filter attribute differently
		}
		err := send(tc.b)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, unix.EINVAL) {
			t.Errorf("%s (% x): kernel says %v, CheckBytecode ok=%v", tc.name, tc.b, err, tc.ok)
		}
	}
	for _, s := range []string{"sport = :1 or ( dport >= :2 and not sport < :3 ) or dport != :4", "not ( sport = :1 or sport = :2 ) and dport > :5"} {
		e, _ := sockdiag.ParseExpr(s)
		b, err := e.Bytecode()
		if err != nil {
			t.Fatal(err)
		}
		if err := send(b); err != nil {
			t.Errorf("%s: kernel refuses the compiled program: %v", s, err)
		}
	}
}

func TestTimersAndTimeWait(t *testing.T) {
	needSS(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	l := listenTCP(t, ns, "tcp4", "127.0.0.1:7000")
	ka := dialTCP(t, ns, "tcp4", "127.0.0.1:7000")
	accept(t, l)
	if err := ka.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 3600 * 1e9, Interval: 1e9, Count: 3}); err != nil {
		t.Fatal(err)
	}
	tw := dialTCP(t, ns, "tcp4", "127.0.0.1:7000")
	twPort := tw.LocalAddr().(*net.TCPAddr).AddrPort().Port()
	peer := accept(t, l)
	tw.Close() // the active close: this side ends in TIME-WAIT
	if _, err := peer.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after the peer's close: no EOF")
	}
	peer.Close()

	var got []sockdiag.Socket
	for range 100 { // the last ACK may still be on its way
		got = mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, twPort)})
		if len(got) == 1 && got[0].State == sockdiag.StateTimeWait {
			break
		}
	}
	if len(got) != 1 || got[0].State != sockdiag.StateTimeWait || got[0].Timer != sockdiag.TimerTimeWait ||
		got[0].Expires == 0 || got[0].Expires > 60000 || got[0].Inode != 0 {
		t.Fatalf("after an active close: %v (timer %v, expires %d ms, inode %d); want TIME-WAIT with its timer", socketLines(got), got[0].Timer, got[0].Expires, got[0].Inode)
	}
	kap := ka.LocalAddr().(*net.TCPAddr).AddrPort().Port()
	k := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, kap)})
	if len(k) != 1 || k[0].Timer != sockdiag.TimerKeepalive || k[0].ExpiresIn() < 3500e9 || k[0].ExpiresIn() > 3600e9 {
		t.Fatalf("keepalive connection: %v, timer %v in %v; want keepalive in about an hour", socketLines(k), k[0].Timer, k[0].ExpiresIn())
	}
	all := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP})
	sameLines(t, "with TIME-WAIT, against ss -tan", socketLines(all), ssInet(t, ns, "-tan"))
	// The keepalive timer prints as ss -o prints it (in minutes, so the
	// two reads agree but across a minute's boundary).
	for try := 0; ; try++ {
		k = mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, kap)})
		want := ssLines(t, ns, "-tno", "sport = :"+fmt.Sprint(kap))
		got := k[0].String() + " " + string(k[0].AppendTimer(nil))
		if len(want) == 1 && "tcp "+want[0] == got {
			break
		}
		if try == 2 {
			t.Fatalf("ss -o: %q, want %q", got, want)
		}
	}
}

// TestBoundInactive lists a TCP socket that is bound and neither listens
// nor connects: only when asked for (TCP_BOUND_INACTIVE, Linux 6.8).
func TestBoundInactive(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	in(t, ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		t.Cleanup(func() { unix.Close(fd) })
		return unix.Bind(fd, &unix.SockaddrInet4{Port: 7001, Addr: [4]byte{127, 0, 0, 1}})
	})
	if got := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP}); len(got) != 0 {
		t.Fatalf("StatesAll lists %v", socketLines(got))
	}
	got := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, States: sockdiag.StatesOf(sockdiag.StateBoundInactive)})
	if len(got) == 0 {
		t.Skip("the kernel does not dump bound, inactive TCP sockets (TCP_BOUND_INACTIVE is Linux 6.8)")
	}
	if len(got) != 1 || got[0].Src != netip.MustParseAddrPort("127.0.0.1:7001") || got[0].State != sockdiag.StateClose {
		t.Fatalf("bound socket: %v", socketLines(got))
	}
}

func TestGetLooksUpOneSocket(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	f := openFixture(t, ns)
	ctx := testCtx(t)
	local := f.client.LocalAddr().(*net.TCPAddr).AddrPort()
	ss := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.SrcPort(sockdiag.Eq, local.Port())})
	if len(ss) != 1 {
		t.Fatalf("client: %v", socketLines(ss))
	}
	got, err := sockdiag.Get(ctx, c, ss[0], sockdiag.ExtInfo)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cookie != ss[0].Cookie || got.Src != local || got.Protocol != sockdiag.ProtoTCP || got.TCPInfo.State != sockdiag.StateEstablished {
		t.Fatalf("Get: %v (cookie %d, tcp_info state %v); want the client, with its tcp_info", &got, got.Cookie, got.TCPInfo.State)
	}
	stale := ss[0]
	stale.Cookie++
	if _, err := sockdiag.Get(ctx, c, stale, 0); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Get with a stale cookie: %v, want ENOENT", err)
	}
	u := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoUDP, Ports: sockdiag.SrcPort(sockdiag.Eq, 5353)})
	if len(u) != 1 {
		t.Fatalf("UDP socket: %v", socketLines(u))
	}
	if got, err := sockdiag.Get(ctx, c, u[0], 0); err != nil || got.Cookie != u[0].Cookie {
		t.Fatalf("Get of the UDP socket: %v, %v", &got, err)
	}
	u6 := mustList(t, c, sockdiag.Filter{Protocol: sockdiag.ProtoUDP, Family: sockdiag.FamilyIPv6, Ports: sockdiag.DstPort(sockdiag.Eq, 5353)})
	if len(u6) != 1 {
		t.Fatalf("connected UDP socket: %v", socketLines(u6))
	}
	if got, err := sockdiag.Get(ctx, c, u6[0], 0); err != nil || got.Cookie != u6[0].Cookie || got.Src != u6[0].Src {
		t.Fatalf("Get of the connected UDP socket: %v, %v", &got, err)
	}
	if _, err := sockdiag.Get(ctx, c, sockdiag.Socket{Family: sockdiag.FamilyUnix}, 0); !errors.Is(err, sockdiag.ErrFamily) {
		t.Fatalf("Get of a Unix socket: %v, want ErrFamily", err)
	}
}

// TestLargeDumpMatchesSS lists enough sockets for the dump to span many
// datagrams, with every extension (the longest messages).
func TestLargeDumpMatchesSS(t *testing.T) {
	needSS(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	udpSockets(t, ns, 3000)
	got := mustList(t, c, sockdiag.Filter{Ext: sockdiag.ExtAll})
	if len(got) != 3000 {
		t.Fatalf("listed %d sockets, opened 3000", len(got))
	}
	sameLines(t, "3000 UDP sockets against ss -uan", socketLines(got), ssInet(t, ns, "-uan"))
	st := c.Stats()
	if st.Datagrams < 10 {
		t.Errorf("the dump came in %d datagrams; the test wants many", st.Datagrams)
	}
}
