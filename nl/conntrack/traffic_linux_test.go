//go:build linux

package conntrack_test

import (
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/conntrack"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// trackTraffic makes the kernel track ns's traffic: conntrack's hooks are
// registered only for a ruleset that uses them, here an nftables rule with
// `ct state` (in an inet table: IPv4 and IPv6). It skips the test, naming
// what is missing, if nft or nf_tables is.
func trackTraffic(t *testing.T, ns *nstest.NS) {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("nft (nftables) is not installed: the traffic tests track flows with an nft rule (apt-get install nftables; .ci/run installs it)")
	}
	cmd := ns.Cmd("nft", "-f", "-")
	cmd.Stdin = strings.NewReader("table inet nlrx { chain out { type filter hook output priority 0; ct state new counter\n}\n}\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		for _, missing := range []string{"not supported", "No such file or directory"} {
			if strings.Contains(string(out), missing) {
				t.Skipf("nft: %v: %s (the kernel lacks nf_tables or nft_ct)", err, out)
			}
		}
		t.Fatalf("nft: %v: %s", err, out)
	}
}

// pair makes two namespaces joined by a veth pair: v0 in a with 10.99.0.1
// and 2001:db8:99::1, v1 in b with .2 and ::2.
func pair(t *testing.T) (a, b *nstest.NS) {
	t.Helper()
	a, b = nstest.New(t), nstest.New(t)
	m, err := rtnl.NewLinkRequest(rtnl.Link{Name: rtnl.MakeName("v0")},
		rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("v1")}, PeerNamespace: rtnl.NamespaceFD(b.FD())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Dial().Execute(testCtx(t), m); err != nil {
		t.Fatalf("add veth v0 with its peer in another namespace: %v", err)
	}
	a.IP("addr", "add", "10.99.0.1/24", "dev", "v0")
	a.IP("addr", "add", "2001:db8:99::1/64", "dev", "v0", "nodad")
	a.IP("link", "set", "v0", "up")
	b.IP("addr", "add", "10.99.0.2/24", "dev", "v1")
	b.IP("addr", "add", "2001:db8:99::2/64", "dev", "v1", "nodad")
	b.IP("link", "set", "v1", "up")
	return a, b
}

// echoUDP serves UDP echo on addr in ns until the test ends.
func echoUDP(t *testing.T, ns *nstest.NS, addr string) {
	t.Helper()
	var pc net.PacketConn
	if err := ns.Do(func() (err error) { pc, err = net.ListenPacket("udp", addr); return }); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
}

// udpRoundTrip sends one datagram from ns to addr and waits for its echo.
func udpRoundTrip(t *testing.T, ns *nstest.NS, laddr, addr string) netip.AddrPort {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		d := net.Dialer{LocalAddr: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(laddr))}
		c, err = d.Dial("udp", addr)
		return
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("hello conntrack")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := c.Read(buf); err != nil {
		t.Fatalf("no echo from %s: %v", addr, err)
	}
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestTrafficFlowsMatchConntrackTool(t *testing.T) {
	needConntrackTool(t)
	a, b := pair(t)
	trackTraffic(t, a)
	sysctl(t, a, "nf_conntrack_acct", "1")
	sysctl(t, a, "nf_conntrack_timestamp", "1")
	c := dial(t, a)
	_, events := listen(t, a)
	ctx := testCtx(t)

	echoUDP(t, b, "10.99.0.2:7777")
	echoUDP(t, b, "[2001:db8:99::2]:7777")
	var ln net.Listener
	if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", "10.99.0.2:8080"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()

	before := time.Now()
	u4 := udpRoundTrip(t, a, "10.99.0.1:5001", "10.99.0.2:7777")
	u6 := udpRoundTrip(t, a, "[2001:db8:99::1]:5002", "[2001:db8:99::2]:7777")
	var tc net.Conn
	if err := a.Do(func() (err error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		tc, err = d.DialContext(ctx, "tcp", "10.99.0.2:8080")
		return
	}); err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	srv, ok := <-accepted
	if !ok {
		t.Fatal("no TCP connection accepted")
	}
	defer srv.Close()
	// One exchange, so that the TCP flow is ESTABLISHED both ways.
	go io.Copy(srv, srv)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := tc.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(tc, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	flows, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "List against conntrack -L after traffic", flowLines(flows), conntrackList(t, a))
	want := map[netip.AddrPort]uint8{u4: conntrack.ProtoUDP, u6: conntrack.ProtoUDP,
		tc.LocalAddr().(*net.TCPAddr).AddrPort(): conntrack.ProtoTCP}
	found := 0
	for i := range flows {
		f := &flows[i]
		src := netip.AddrPortFrom(f.Orig.Src, f.Orig.SrcPort)
		proto, ok := want[src]
		if !ok || f.Orig.Proto != proto {
			continue
		}
		found++
		if f.Status&conntrack.StatusSeenReply == 0 {
			t.Errorf("%v: no SEEN_REPLY after a reply", f)
		}
		if f.CountersOrig.Packets == 0 || f.CountersReply.Packets == 0 || f.CountersOrig.Bytes == 0 {
			t.Errorf("%v: counters %+v %+v, want packets both ways (nf_conntrack_acct=1)", f, f.CountersOrig, f.CountersReply)
		}
		if st := f.StartTime(); st.Before(before.Add(-time.Second)) || st.After(after.Add(time.Second)) {
			t.Errorf("%v: start %v, want between %v and %v (nf_conntrack_timestamp=1)", f, st, before, after)
		}
		if proto == conntrack.ProtoTCP && f.TCP.State != conntrack.TCPEstablished {
			t.Errorf("%v: TCP state %v, want ESTABLISHED", f, f.TCP.State)
		}
		if proto == conntrack.ProtoUDP && f.CountersOrig.Packets != 1 {
			t.Errorf("%v: %d packets out, want 1", f, f.CountersOrig.Packets)
		}
	}
	if found != len(want) {
		t.Fatalf("found %d of the %d flows of the traffic in\n%s", found, len(want), strings.Join(flowLines(flows), "\n"))
	}

	// Each flow was announced (NEW) and its reply seen (an UPDATE with
	// SEEN_REPLY).
	seenNew, seenReply := map[netip.AddrPort]bool{}, map[netip.AddrPort]bool{}
	deadline := time.After(10 * time.Second)
	for len(seenNew) < len(want) || len(seenReply) < len(want) {
		var it item
		select {
		case it = <-events:
		case <-deadline:
			t.Fatalf("events: NEW for %v, replies for %v; want all of %v", seenNew, seenReply, want)
		}
		if it.gap != nil {
			t.Fatalf("gap: %v", it.gap)
		}
		src := netip.AddrPortFrom(it.ev.Flow.Orig.Src, it.ev.Flow.Orig.SrcPort)
		if _, ok := want[src]; !ok {
			continue
		}
		switch {
		case it.ev.Type == conntrack.EventNew:
			seenNew[src] = true
		case it.ev.Type == conntrack.EventUpdate && it.ev.Flow.Status&conntrack.StatusSeenReply != 0:
			seenReply[src] = true
		}
	}

	// kube-proxy's cleanup: the UDP flows to the service port go, the
	// rest stays.
	if err := conntrack.Flush(ctx, c, conntrack.Filter{Proto: conntrack.ProtoUDP, Dst: netip.MustParseAddr("10.99.0.2"), DstPort: 7777}); err != nil {
		t.Fatal(err)
	}
	if _, err := conntrack.Get(ctx, c, conntrack.Flow{Orig: conntrack.Tuple{Src: u4.Addr(), Dst: netip.MustParseAddr("10.99.0.2"),
		Proto: conntrack.ProtoUDP, SrcPort: u4.Port(), DstPort: 7777}}); err == nil {
		t.Fatal("the UDP flow to 10.99.0.2:7777 survived the flush")
	}
	left, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "after the flush", flowLines(left), conntrackList(t, a))
	if len(left) != len(flows)-1 {
		t.Fatalf("%d flows after flushing one of %d", len(left), len(flows))
	}
}
