//go:build linux

package nl_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

const wait = 10 * time.Second // bound on any single wait in these tests

func linkDump() nl.Message {
	return nl.Message{
		Header: nl.Header{Type: unix.RTM_GETLINK, Flags: nl.FlagDump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	}
}

func routeDump(family byte) nl.Message {
	d := make([]byte, unix.SizeofRtMsg)
	d[0] = family
	return nl.Message{Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagDump}, Data: d}
}

// newRoute builds an RTM_NEWROUTE for an IPv4 host route out of oif.
func newRoute(dst string, oif uint32) nl.Message {
	rtm := []byte{unix.AF_INET, 32, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_LINK, unix.RTN_UNICAST, 0, 0, 0, 0}
	e := nl.NewAttributeEncoder(rtm)
	e.Addr(unix.RTA_DST, netip.MustParseAddr(dst))
	e.Uint32(unix.RTA_OIF, oif)
	b, _ := e.Bytes()
	return nl.Message{Header: nl.Header{Type: unix.RTM_NEWROUTE, Flags: nl.FlagCreate | nl.FlagExcl}, Data: b}
}

func ifindex(t *testing.T, ns *nstest.NS, name string) uint32 {
	t.Helper()
	var idx uint32
	err := ns.Do(func() error {
		i, err := netInterfaceIndex(name)
		idx = i
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func netInterfaceIndex(name string) (uint32, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("ifindex of %s: %w", name, err)
	}
	return ifr.Uint32(), nil
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

func TestExecuteDumpsLinks(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ms, err := c.Execute(ctx(t), linkDump())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d links, want 3 (lo, v0, v1)", len(ms))
	}
	for _, m := range ms {
		if m.Header.Type != unix.RTM_NEWLINK {
			t.Errorf("message type %d, want RTM_NEWLINK", m.Header.Type)
		}
	}
}

func TestExecuteAddsRouteAndReturnsNoReplies(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ms, err := c.Execute(ctx(t), newRoute("192.0.2.1", ifindex(t, ns, "v0")))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 0 {
		t.Errorf("ACKed request returned %d messages, want 0", len(ms))
	}
	if out := ns.IP("-4", "route", "show", "192.0.2.1"); out == "" {
		t.Error("kernel does not have the route")
	}
	_, err = c.Execute(ctx(t), newRoute("192.0.2.1", ifindex(t, ns, "v0")))
	if !errors.Is(err, unix.EEXIST) {
		t.Errorf("second add: err = %v, want EEXIST", err)
	}
}

func TestExecuteReturnsErrnoForMissingDevice(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	_, err := c.Execute(ctx(t), newRoute("192.0.2.1", 999))
	if !errors.Is(err, unix.ENODEV) {
		t.Fatalf("err = %v, want ENODEV", err)
	}
	var ne *nl.Error
	if !errors.As(err, &ne) {
		t.Fatalf("err = %T, want *nl.Error", err)
	}
	if ne.Request.Type != unix.RTM_NEWROUTE {
		t.Errorf("echoed request type %d, want RTM_NEWROUTE", ne.Request.Type)
	}
}

func TestExecuteReturnsExtendedAckText(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	req := newRoute("192.0.2.1", ifindex(t, ns, "v0"))
	e := nl.NewAttributeEncoder(req.Data)
	e.Addr(unix.RTA_GATEWAY, netip.MustParseAddr("203.0.113.1")) // not on any link
	req.Data, _ = e.Bytes()
	req.Data[6] = unix.RT_SCOPE_UNIVERSE
	_, err := c.Execute(ctx(t), req)
	var ne *nl.Error
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want *nl.Error", err)
	}
	if ne.Errno != unix.ENETUNREACH || ne.Message == "" {
		t.Errorf("err = %v, want ENETUNREACH with extended-ACK text (NETLINK_EXT_ACK not set?)", err)
	}
	t.Logf("kernel said: %v", err)
}

func TestExecuteReturnsErrnoFromDone(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	// Strict checking rejects an address dump whose header has a prefix
	// length set; the error arrives in NLMSG_DONE.
	req := nl.Message{Header: nl.Header{Type: unix.RTM_GETADDR, Flags: nl.FlagDump}, Data: []byte{unix.AF_INET, 8, 0, 0, 0, 0, 0, 0}}
	_, err := c.Execute(ctx(t), req)
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("err = %v, want EINVAL", err)
	}
	var ne *nl.Error
	if errors.As(err, &ne) && ne.Message == "" {
		t.Error("DONE error without extended-ACK text")
	}
}

func addRoutes(t *testing.T, ns *nstest.NS, n int) {
	t.Helper()
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.0/24 dev v0", i/256, i%256))
	}
	ns.Batch(lines)
}

func TestExecuteFollowsMultipartDumpToDone(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(t, ns, 3000)
	c := ns.Dial()
	ms, err := c.Execute(ctx(t), routeDump(unix.AF_INET))
	if err != nil {
		t.Fatal(err)
	}
	main := 0
	for _, m := range ms {
		if m.Data[4] == unix.RT_TABLE_MAIN {
			main++
		}
	}
	if main != 3000 {
		t.Errorf("dump has %d main-table routes, want 3000", main)
	}
	if s := c.Stats(); s.Datagrams < 3 {
		t.Errorf("dump came in %d datagrams; expected a multipart reply", s.Datagrams)
	}
}

func TestExecuteDrainsAnAbandonedDump(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(t, ns, 3000)
	c := ns.Dial()
	stop := errors.New("stop")
	err := c.ExecuteFunc(ctx(t), routeDump(unix.AF_INET), func(nl.Message) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	ms, err := c.Execute(ctx(t), routeDump(unix.AF_INET))
	if err != nil {
		t.Fatalf("dump after an abandoned one: %v", err)
	}
	if len(ms) < 3000 {
		t.Errorf("second dump has %d routes, want ≥ 3000", len(ms))
	}
}

func TestExecuteReportsTruncationAndRecovers(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(t, ns, 500)
	c := ns.Dial()
	nl.SetDatagramSizeForTest(c, 1024)
	_, err := c.Execute(ctx(t), routeDump(unix.AF_INET))
	if !errors.Is(err, nl.ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if c.Stats().Truncated == 0 {
		t.Error("truncation not counted")
	}
	ms, err := c.Execute(ctx(t), routeDump(unix.AF_INET))
	if err != nil {
		t.Fatalf("dump after truncation: %v", err)
	}
	if len(ms) < 500 {
		t.Errorf("dump after truncation has %d routes, want ≥ 500", len(ms))
	}
}

func TestExecuteHonoursCancelledContext(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	cx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Execute(cx, linkDump()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := c.Execute(ctx(t), linkDump()); err != nil {
		t.Errorf("socket unusable after a cancelled request: %v", err)
	}
}

func TestReceiveAndDecodeReturnsWholeMultipartReplyWithDone(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(t, ns, 2000)
	c := ns.Dial()
	req := routeDump(unix.AF_INET)
	req.Header.Flags |= nl.FlagRequest // Send, like Guile's send-msg, sends the flags as given
	if _, err := c.Send(req); err != nil {
		t.Fatal(err)
	}
	ms, err := c.ReceiveAndDecode(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if last := ms[len(ms)-1]; last.Header.Type != nl.TypeDone {
		t.Errorf("last message type %d, want NLMSG_DONE", last.Header.Type)
	}
	if len(ms) < 2001 {
		t.Errorf("got %d messages, want ≥ 2001", len(ms))
	}
}

func TestReceiveAndDecodeStopsWhenContextEnds(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_LINK))
	cx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var err error
	within(t, "ReceiveAndDecode after its context ended", func() { _, err = c.ReceiveAndDecode(cx) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

// receiveEvent waits for the next datagram and returns its first message.
func receiveEvent(t *testing.T, c *nl.Conn) nl.Message {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	defer c.SetReadDeadline(time.Time{})
	ms, err := c.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("empty datagram")
	}
	return ms[0]
}

func TestJoinAndLeaveGroups(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	for _, g := range []uint32{unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_LINK, 33} {
		if err := c.JoinGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	groups, err := c.Groups()
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{unix.RTNLGRP_LINK, unix.RTNLGRP_IPV4_ROUTE, 33}; !slices.Equal(groups, want) {
		t.Errorf("groups = %v, want %v", groups, want)
	}

	// Link events (carrier, operstate) may come at any time in between.
	ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
	for m := receiveEvent(t, c); m.Header.Type != unix.RTM_NEWROUTE; m = receiveEvent(t, c) {
		if m.Header.Type != unix.RTM_NEWLINK {
			t.Fatalf("event type %d, want RTM_NEWROUTE or RTM_NEWLINK", m.Header.Type)
		}
	}
	if err := c.LeaveGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
		t.Fatal(err)
	}
	// Still in the link group: between a route change and a link change
	// only link events may arrive.
	ns.IP("route", "add", "198.51.100.0/24", "dev", "v0")
	ns.IP("link", "set", "v1", "mtu", "1400")
	for {
		m := receiveEvent(t, c)
		if m.Header.Type != unix.RTM_NEWLINK {
			t.Fatalf("after leaving the route group: event type %d, want RTM_NEWLINK", m.Header.Type)
		}
		if linkMTU(m) == 1400 {
			break
		}
	}
}

func linkMTU(m nl.Message) uint32 {
	d := nl.NewAttributeDecoder(m.Data[unix.SizeofIfInfomsg:])
	for d.Next() {
		if d.Type() == unix.IFLA_MTU {
			return d.Uint32()
		}
	}
	return 0
}

func TestDialJoinsGroupsAbove32(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE, 36))
	groups, err := c.Groups()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(groups, []uint32{unix.RTNLGRP_IPV4_ROUTE, 36}) {
		t.Errorf("groups = %v", groups)
	}
}

func TestReceiveDropsAndCountsSpoofedDatagrams(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	victim := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
	attacker := ns.Dial()
	forged := newRoute("203.0.113.9", 1)
	forged.Header.PortID = 0 // claims to be the kernel
	if _, err := attacker.SendTo(forged, nl.Addr{PortID: victim.PortID()}); err != nil {
		t.Fatalf("forging (needs CAP_NET_ADMIN in the namespace): %v", err)
	}
	ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
	m := receiveEvent(t, victim)
	if m.Header.Type != unix.RTM_NEWROUTE || m.Data[1] != 24 {
		t.Errorf("received type %d /%d, want the genuine /24 RTM_NEWROUTE", m.Header.Type, m.Data[1])
	}
	if got := victim.Stats().Spoofed; got != 1 {
		t.Errorf("Stats.Spoofed = %d, want 1", got)
	}
}

func TestSendToHonoursTheAddress(t *testing.T) {
	ns := nstest.New(t)
	peer := ns.Dial(nl.WithAnySender())
	sender := ns.Dial()
	msg := nl.Message{Header: nl.Header{Type: 0x99}, Data: []byte("hello")}
	if _, err := sender.SendTo(msg, nl.Addr{PortID: peer.PortID()}); err != nil {
		t.Fatal(err)
	}
	m := receiveEvent(t, peer)
	if m.Header.Type != 0x99 || string(m.Data) != "hello" {
		t.Errorf("peer got %+v %q", m.Header, m.Data)
	}
}

func TestCloseUnblocksReceive(t *testing.T) {
	ns := nstest.New(t)
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithGroups(unix.RTNLGRP_LINK))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Receive()
		done <- err
	}()
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("err = %v, want os.ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Receive still blocked after Close")
	}
	if err := c.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: err = %v, want os.ErrClosed", err)
	}
}

func TestCloseReleasesDescriptors(t *testing.T) {
	ns := nstest.New(t)
	before := nstest.OpenFDs(t)
	for range 20 {
		c, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithGroups(unix.RTNLGRP_LINK))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Execute(ctx(t), linkDump()); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if after := nstest.OpenFDs(t); after != before {
		es, _ := os.ReadDir("/proc/self/fd")
		for _, e := range es {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			t.Log(e.Name(), l)
		}
		t.Errorf("%d descriptors open after Close, %d before", after, before)
	}
}

func TestWithReadBufferSetsEffectiveSize(t *testing.T) {
	ns := nstest.New(t)
	const want = 8 << 20
	c := ns.Dial(nl.WithReadBuffer(want))
	got, err := c.ReadBufferSize()
	if err != nil {
		t.Fatal(err)
	}
	floor := 2 * want // SO_RCVBUFFORCE, doubled by the kernel
	if nstest.InUserNS() {
		b, _ := os.ReadFile("/proc/sys/net/core/rmem_max")
		var rmemMax int
		fmt.Sscan(string(b), &rmemMax)
		floor = 2 * min(want, rmemMax) // SO_RCVBUF fallback, capped
	}
	if got < floor {
		t.Errorf("effective receive buffer %d, want ≥ %d", got, floor)
	}
}

func TestDialRejectsBadNamespacePaths(t *testing.T) {
	for _, path := range []string{"/nonexistent/netns", "/proc/self/status"} {
		if _, err := nl.DialRoute(nl.WithNetNS(path)); err == nil {
			t.Errorf("Dial in %s succeeded", path)
		}
	}
}

func TestReceiveReportsOverrunAsENOBUFS(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE), nl.WithReadBuffer(4096))
	addRoutes(t, ns, 2000) // nobody reads meanwhile: the socket overruns
	var overrun bool
	for range 10000 {
		c.SetReadDeadline(time.Now().Add(wait))
		_, err := c.Receive()
		if errors.Is(err, unix.ENOBUFS) {
			overrun = true
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !overrun {
		t.Fatal("no ENOBUFS after overrunning a 4 KiB buffer")
	}
	if c.Stats().Overruns != 1 {
		t.Errorf("Stats.Overruns = %d, want 1", c.Stats().Overruns)
	}
	ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
	for {
		m := receiveEvent(t, c)
		if m.Header.Type == unix.RTM_NEWROUTE && m.Data[1] == 24 && binary.BigEndian.Uint32(m.Data[len(m.Data)-8:]) != 0 {
			break // the socket works after the overrun
		}
	}
}

func TestReceiveFuncDoesNotAllocate(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
	const n = 20
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("route add 192.0.2.%d dev v0", i)
	}
	ns.Batch(lines) // n events queued before we read
	c.SetReadDeadline(time.Now().Add(wait))
	var got int
	allocs := testing.AllocsPerRun(n-1, func() {
		if err := c.ReceiveFunc(func(nl.Message, int32) error { got++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if got != n {
		t.Fatalf("received %d events, want %d", got, n)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per receive, want 0", allocs)
	}
}

func TestExecuteBatchReportsEachRequestsOutcome(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	oif := ifindex(t, ns, "v0")
	const n = 3000
	reqs := make([]nl.Message, n)
	for i := range reqs {
		reqs[i] = newRoute(fmt.Sprintf("10.%d.%d.1", i/256, i%256), oif)
	}
	reqs[1234] = reqs[17]                    // a duplicate: EEXIST
	reqs[2000] = newRoute("10.200.0.1", 999) // no such device
	c := ns.Dial()                           // default buffer: several windows
	outcome := make([]error, n)
	seen := make([]bool, n)
	err := c.ExecuteBatch(ctx(t), reqs, func(i int, err error) {
		if seen[i] {
			t.Errorf("request %d reported twice", i)
		}
		seen[i], outcome[i] = true, err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range reqs {
		switch {
		case !seen[i]:
			t.Fatalf("request %d: no outcome", i)
		case i == 1234:
			if !errors.Is(outcome[i], unix.EEXIST) {
				t.Errorf("duplicate: %v, want EEXIST", outcome[i])
			}
		case i == 2000:
			if !errors.Is(outcome[i], unix.ENODEV) {
				t.Errorf("missing device: %v, want ENODEV", outcome[i])
			}
		case outcome[i] != nil:
			t.Errorf("request %d: %v", i, outcome[i])
		}
	}
	ms, err := c.Execute(ctx(t), routeDump(unix.AF_INET))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ms); got < n-2 {
		t.Errorf("kernel has %d routes after the batch, want ≥ %d", got, n-2)
	}
}

func TestDialReportsDescriptorExhaustion(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(nstest.OpenFDs(t) + 3)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var conns []*nl.Conn
	var err error
	for range 10 {
		var c *nl.Conn
		if c, err = nl.DialRoute(); err != nil {
			break
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
	unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	if !errors.Is(err, unix.EMFILE) {
		t.Fatalf("err = %v, want EMFILE once descriptors run out", err)
	}
	if !strings.Contains(err.Error(), "socket") {
		t.Errorf("error %q does not say what failed", err)
	}
}

func TestListenAllNSIDReportsTheSourceNamespace(t *testing.T) {
	l := nstest.New(t)
	x := nstest.New(t)
	x.Veth("v0", "v1")
	l.Veth("w0", "w1")
	// Give x the id 42 in l (ip netns set), so l's listeners hear from it.
	const rtmNewNSID, netnsaNSID, netnsaFD = 88, 1, 3
	req := nl.Message{Header: nl.Header{Type: rtmNewNSID}, Data: make([]byte, 4)}
	e := nl.NewAttributeEncoder(req.Data)
	e.Uint32(netnsaNSID, 42)
	e.Uint32(netnsaFD, uint32(x.FD()))
	req.Data, _ = e.Bytes()
	if _, err := l.Dial().Execute(ctx(t), req); err != nil {
		t.Fatalf("assigning a namespace id: %v", err)
	}

	c := l.Dial(nl.WithListenAllNSID(), nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
	for _, tc := range []struct {
		ns   *nstest.NS
		dev  string
		want int32
	}{{x, "v0", 42}, {l, "w0", -1}} {
		tc.ns.IP("route", "add", "192.0.2.0/24", "dev", tc.dev)
		c.SetReadDeadline(time.Now().Add(wait))
		ms, nsid, err := c.ReceiveFrom()
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].Header.Type != unix.RTM_NEWROUTE || nsid != tc.want {
			t.Errorf("route added via %s: type %d from nsid %d, want RTM_NEWROUTE from %d", tc.dev, ms[0].Header.Type, nsid, tc.want)
		}
	}
}

func TestDrainEmptiesTheQueueWithoutWaitingAndPassesOverAnOverrun(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocking=%v", blocking), func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			opts := []nl.Option{nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE), nl.WithReadBuffer(4096)}
			if blocking {
				opts = append(opts, nl.WithBlocking())
			}
			c := ns.Dial(opts...)
			addRoutes(t, ns, 2000) // nobody reads meanwhile: the socket overruns
			var routes int
			n, err := c.Drain(func(m nl.Message) {
				if m.Header.Type == unix.RTM_NEWROUTE {
					routes++
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 || routes == 0 || routes >= 2000 {
				t.Fatalf("drained %d datagrams holding %d route messages; want some, fewer than the 2,000 made", n, routes)
			}
			if got := c.Stats().Overruns; got != 1 {
				t.Errorf("Stats.Overruns = %d, want 1", got)
			}
			// The queue is empty: a second Drain returns at once with nothing.
			if n, err := c.Drain(nil); n != 0 || err != nil {
				t.Fatalf("second Drain: %d datagrams, %v; want 0, nil", n, err)
			}
			// And the socket still delivers.
			ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
			c.SetReadDeadline(time.Now().Add(wait))
			ms, err := c.Receive()
			if err != nil || len(ms) == 0 || ms[0].Header.Type != unix.RTM_NEWROUTE {
				t.Fatalf("after Drain: %v, %v; want the new route", ms, err)
			}
		})
	}
}

func TestDrainOnAClosedConnFails(t *testing.T) {
	c, err := nl.DialRoute()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Drain(nil); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Drain after Close: %v, want os.ErrClosed", err)
	}
}
