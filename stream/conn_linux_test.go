//go:build linux

package stream_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/stream"
)

func routeDump(family byte) nl.Message {
	d := make([]byte, unix.SizeofRtMsg)
	d[0] = family
	return nl.Message{Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagDump}, Data: d}
}

func addRoutes(ns *nstest.NS, n int) {
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.0/24 dev v0", i/256, i%256))
	}
	ns.Batch(lines)
}

// routeDst returns the destination prefix of an RTM_NEWROUTE/DELROUTE.
func routeDst(m nl.Message) netip.Prefix {
	if len(m.Data) < unix.SizeofRtMsg {
		return netip.Prefix{}
	}
	d := nl.NewAttributeDecoder(m.Data[unix.SizeofRtMsg:])
	for d.Next() {
		if d.Type() == unix.RTA_DST {
			return netip.PrefixFrom(d.Addr(), int(m.Data[1]))
		}
	}
	return netip.Prefix{}
}

// probeAfterOverrun adds routes 198.51.100.i/32 until the event of one
// reaches r, and fails after the test's bound. After an overrun the kernel
// drops every multicast message for the socket until its reader has drained
// what was queued, so a single event sent right after the overrun may be
// lost: the loss is the kernel's, and the stream reported it as a Gap.
func probeAfterOverrun[T any](t *testing.T, ns *nstest.NS, r *recorder[T], seen func() []netip.Prefix) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for i := 1; time.Now().Before(deadline); i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32)
		ns.IP("route", "add", p.String(), "dev", "v0")
		if r.within(200*time.Millisecond, func() bool { return slices.Contains(seen(), p) }) {
			return
		}
	}
	t.Fatal("no event got through after the overrun")
}

func TestFromExecuteMatchesExecute(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(ns, 1500) // a multipart dump of several datagrams
	c := ns.Dial()
	ctx := testContext(t)
	want, err := c.Execute(ctx, routeDump(unix.AF_INET))
	if err != nil {
		t.Fatal(err)
	}
	var got []nl.Message
	err = stream.ForEach(ctx, stream.FromExecute(c, routeDump(unix.AF_INET)), func(m nl.Message) error {
		got = append(got, stream.CloneMessage(m)) // Data is only valid during the call
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) < 1500 {
		t.Fatalf("stream gave %d messages, Execute %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		g.Header.Seq, w.Header.Seq = 0, 0 // each request has its own
		if g.Header != w.Header || !slices.Equal(g.Data, w.Data) {
			t.Fatalf("message %d differs: %+v vs %+v", i, g.Header, w.Header)
		}
	}
}

func TestFromExecuteStoppedEarlyLeavesTheSocketUsable(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	addRoutes(ns, 1500)
	c := ns.Dial()
	ctx := testContext(t)
	r := newRecorder[nl.Message]()
	r.stopAfter = 3
	if err := stream.FromExecute(c, routeDump(unix.AF_INET)).Subscribe(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.len() != 3 {
		t.Fatalf("got %d messages, want 3", r.len())
	}
	ms, err := c.Execute(ctx, routeDump(unix.AF_INET))
	if err != nil || len(ms) < 1500 {
		t.Fatalf("next dump on the socket: %d messages, %v", len(ms), err)
	}
}

func TestFromExecuteSurfacesTheKernelError(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	d := make([]byte, unix.SizeofIfInfomsg)
	d[4] = 0x7f // ifi_index 127: no such link
	req := nl.Message{Header: nl.Header{Type: unix.RTM_GETLINK}, Data: d}
	r := newRecorder[nl.Message]()
	err := stream.FromExecute(c, req).Subscribe(testContext(t), r)
	var ne *nl.Error
	if !errors.Is(err, unix.ENODEV) || !errors.As(err, &ne) {
		t.Fatalf("got %v, want an *nl.Error matching ENODEV", err)
	}
}

func TestListenDeliversRouteEventsToEachSubscriber(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	pub, wait := stream.Listen(ctx, c)
	want := netip.MustParsePrefix("192.0.2.0/24")
	var recs []*recorder[nl.Message]
	var dones []func() error
	for _, opt := range []stream.SubscribeOption{stream.WithBuffer(0, stream.Block), stream.WithBuffer(64, stream.DropOldest)} {
		r := newRecorder[nl.Message]()
		recs = append(recs, r)
		dones = append(dones, attach(t, ctx, pub, r, opt))
	}
	ns.IP("route", "add", want.String(), "dev", "v0")
	for _, r := range recs {
		r.waitFor(t, "the route event", func() bool {
			items, _ := r.snapshot()
			return slices.ContainsFunc(items, func(m nl.Message) bool {
				return m.Header.Type == unix.RTM_NEWROUTE && routeDst(m) == want
			})
		})
	}
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("reader ended with %v", err)
	}
	for _, done := range dones {
		if err := done(); !errors.Is(err, context.Canceled) {
			t.Fatalf("subscriber ended with %v", err)
		}
	}
}

func TestFromReceiveTurnsAnOverrunIntoAGapAndGoesOn(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE), nl.WithReadBuffer(4096))
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	gate := make(chan struct{})
	entered := make(chan struct{})
	r := newRecorder[nl.Message]()
	r.onItem = func(n int) {
		if n == 1 {
			close(entered)
			<-gate // stall the reader while the socket overruns
		}
	}
	done := subscribeAsync(t, ctx, stream.FromReceive(c), stream.Observer[nl.Message](r))
	ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("no first event")
	}
	addRoutes(ns, 2000)
	close(gate)
	r.waitFor(t, "a gap", func() bool { _, gaps := r.snapshot(); return len(gaps) > 0 })
	_, gaps := r.snapshot()
	if !errors.Is(gaps[0], unix.ENOBUFS) {
		t.Fatalf("gap cause %v, want ENOBUFS", gaps[0].Cause)
	}
	probeAfterOverrun(t, ns, r, func() []netip.Prefix {
		items, _ := r.snapshot()
		var ps []netip.Prefix
		for _, m := range items {
			ps = append(ps, routeDst(m))
		}
		return ps
	})
	cancel()
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestFromReceiveReturnsOnCancelAndClearsTheDeadline(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
	ctx, cancel := context.WithCancel(testContext(t))
	done := subscribeAsync(t, ctx, stream.FromReceive(c), stream.Observer[nl.Message](newRecorder[nl.Message]()))
	cancel() // nothing arrives: the blocked receive must wake
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// The socket still works, with no deadline left behind.
	r := newRecorder[nl.Message]()
	r.stopAfter = 1
	done = subscribeAsync(t, testContext(t), stream.FromReceive(c), stream.Observer[nl.Message](r))
	ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
	if err := done(); err != nil {
		t.Fatal(err)
	}
}

func TestFromReceiveLeavesTheCallersDeadline(t *testing.T) {
	c, k, err := nltest.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	r := newRecorder[nl.Message]()
	done := subscribeAsync(t, ctx, stream.FromReceive(c), stream.Observer[nl.Message](r))
	// Once an event is through, the subscription is reading.
	if err := k.Inject(nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: unix.RTM_NEWLINK}}}}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the event", func() bool { return r.len() == 1 })
	cancel()
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// The subscription is over; the deadline set before it still bounds
	// a receive.
	got := make(chan error, 1)
	go func() {
		_, err := c.Receive()
		got <- err
	}()
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Receive: %v, want the caller's deadline", err)
		}
	case <-time.After(wait):
		t.Fatal("Receive blocked past the caller's deadline: FromReceive cleared it")
	}
}
