//go:build linux

package poller_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

func TestEverySocketReceivesEveryRouteEvent(t *testing.T) {
	const sockets, routes = 1024, 5000
	leakCheck(t)
	needFDs(t, sockets+64)
	ns := nstest.New(t)
	conns := dialMany(t, ns, sockets)

	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	tl := newTally()
	counters := make([]routeCounter, sockets)
	for i, c := range conns {
		counters[i].tally = tl
		if _, err := p.Add(c, counters[i].handle); err != nil {
			t.Fatal(err)
		}
	}

	addPaced(bound(t, 90*time.Second), t, ns, tl, 0, routes, 200, sockets)

	for i := range counters {
		c := &counters[i]
		if c.routes.Load() != routes || c.other.Load() != 0 || c.overruns.Load() != 0 {
			t.Fatalf("socket %d: %d routes, %d other messages, %d overruns; want %d, 0, 0",
				i, c.routes.Load(), c.other.Load(), c.overruns.Load(), routes)
		}
	}
	closeAndWait(t, p)
	st := p.Stats()
	if want := uint64(sockets * routes); st.Messages != want || st.Datagrams != want {
		t.Errorf("poller stats: %d messages, %d datagrams; want %d each", st.Messages, st.Datagrams, want)
	}
	if st.Syscalls >= st.Datagrams {
		t.Errorf("%d receive syscalls for %d datagrams: recvmmsg did not batch", st.Syscalls, st.Datagrams)
	}
	for i := range counters {
		if n := counters[i].closed.Load(); n != 1 {
			t.Fatalf("socket %d saw %d Closed events after Close, want 1", i, n)
		}
	}
	t.Logf("poller: %+v", st)
}

// needFDs raises the soft RLIMIT_NOFILE to at least n, or skips.
func needFDs(t *testing.T, n uint64) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("needs %d file descriptors, hard limit is %d", n, lim.Max)
	}
	old := lim
	lim.Cur = n
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("raise RLIMIT_NOFILE to %d: %v", n, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

func TestCloseUnderLoadReturnsPromptlyAndLeavesNothing(t *testing.T) {
	t.Run("netpoller", func(t *testing.T) { testCloseUnderLoad(t, nil, nil) })
	// A loop blocked in epoll_wait on its own thread must be woken by
	// Close as promptly, with sockets that are not in the runtime's
	// netpoller (the combination WithDedicatedThread is meant for).
	t.Run("dedicated-thread", func(t *testing.T) {
		testCloseUnderLoad(t, []poller.Option{poller.WithDedicatedThread()}, []nl.Option{nl.WithBlocking()})
	})
}

func testCloseUnderLoad(t *testing.T, popts []poller.Option, copts []nl.Option) {
	leakCheck(t)
	ns := nstest.New(t)
	conns := dialMany(t, ns, 64, copts...)
	p, err := poller.New(popts...)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTally()
	var loopStopped atomic.Bool
	var lateCalls atomic.Int64
	counters := make([]routeCounter, len(conns))
	for i, c := range conns {
		counters[i].tally = tl
		h := func(b *poller.Batch) {
			if loopStopped.Load() {
				lateCalls.Add(1)
			}
			counters[i].handle(b)
		}
		if _, err := p.Add(c, h); err != nil {
			t.Fatal(err)
		}
	}

	// 20,000 routes at ip's full speed, to 64 sockets: far more than the
	// loop can read, so it is busy when Close comes.
	prod := ns.Cmd("ip", "-batch", "-")
	prod.Stdin = strings.NewReader(strings.Join(routeLines("add", 0, 20000), "\n") + "\n")
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		prod.Process.Kill()
		prod.Wait()
	}()
	if err := tl.waitFor(bound(t, 30*time.Second), 20000); err != nil {
		t.Fatal(err)
	}

	ctx := bound(t, 5*time.Second)
	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return within 5 s under load")
	}
	select {
	case <-p.Done():
		loopStopped.Store(true)
	case <-ctx.Done():
		t.Fatal("the loop did not stop within 5 s of Close under load")
	}
	for i := range counters {
		if n := counters[i].closed.Load(); n != 1 {
			t.Errorf("socket %d: %d Closed events, want 1", i, n)
		}
	}
	if err := p.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v, want os.ErrClosed", err)
	}
	if _, err := p.Add(conns[0], counters[0].handle); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Add after Close: %v, want os.ErrClosed", err)
	}
	if n := lateCalls.Load(); n != 0 {
		t.Errorf("%d handler calls after Done", n)
	}
	t.Logf("Close took %v; %d routes delivered; poller %+v", time.Since(start), tl.n.Load(), p.Stats())
}

func TestRegistrationChurnWhileEventsFlow(t *testing.T) {
	const routes, churners = 3000, 16
	leakCheck(t)
	ns := nstest.New(t)
	conns := dialMany(t, ns, 1+churners)
	g, err := poller.NewGroup(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	tl := newTally()
	stable := &routeCounter{tally: tl}
	if _, err := g.Add(conns[0], stable.handle); err != nil {
		t.Fatal(err)
	}

	// Each registration of a churning socket lives until its first batch.
	// Half of them then remove themselves from the handler and check that
	// it is not called again; the others are removed from outside, which
	// returns at once: once Done is closed no call runs or starts.
	type reg struct {
		self     bool
		first    chan struct{}
		in       atomic.Bool // a handler call is running
		removed  atomic.Bool // Done was closed, or the handler removed itself
		removing atomic.Bool // the outside Remove has begun
	}
	var lateCalls, failedSelf, cycles, selfRemovals atomic.Int64
	handler := func(st *reg) poller.Handler {
		return func(b *poller.Batch) {
			st.in.Store(true)
			defer st.in.Store(false)
			if st.removed.Load() {
				lateCalls.Add(1)
			}
			if st.self {
				// The outside Remove, when the test stops, may come
				// first: then this one finds the registration ended.
				if err := b.Source.Remove(); err != nil && !(errors.Is(err, os.ErrClosed) && st.removing.Load()) {
					failedSelf.Add(1)
				}
				st.removed.Store(true)
				selfRemovals.Add(1)
			}
			select {
			case <-st.first:
			default:
				close(st.first)
			}
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range conns[1:] {
		wg.Go(func() {
			for n := 0; ; n++ {
				st := &reg{self: (i+n)%2 == 0, first: make(chan struct{})}
				r, err := g.Add(c, handler(st))
				if err != nil {
					t.Error(err)
					return
				}
				select {
				case <-st.first:
				case <-stop:
				}
				st.removing.Store(true)
				err = r.Remove()
				if err != nil && !(st.self && errors.Is(err, os.ErrClosed)) {
					t.Error(err)
				}
				select {
				case <-r.Done():
				case <-time.After(10 * time.Second):
					t.Error("Done not closed 10 s after Remove")
					return
				}
				if st.in.Load() {
					lateCalls.Add(1)
				}
				st.removed.Store(true)
				cycles.Add(1)
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}

	addPaced(bound(t, 60*time.Second), t, ns, tl, 0, routes, 200, 1)
	close(stop)
	wg.Wait()

	if got := stable.routes.Load(); got != routes || stable.overruns.Load() != 0 {
		t.Errorf("stable socket: %d routes, %d overruns; want %d, 0", got, stable.overruns.Load(), routes)
	}
	if n, f := lateCalls.Load(), failedSelf.Load(); n != 0 || f != 0 {
		t.Errorf("%d handler calls after Done or after a self-removal, %d failed self-removals", n, f)
	}
	if cycles.Load() < 2*churners || selfRemovals.Load() < churners/2 {
		t.Errorf("only %d add/remove cycles, %d self-removals", cycles.Load(), selfRemovals.Load())
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Pollers() {
		if n := p.Len(); n != 0 {
			t.Errorf("%d registrations left on a closed poller", n)
		}
	}
	t.Logf("%d add/remove cycles, %d self-removals; group %+v", cycles.Load(), selfRemovals.Load(), g.Stats())
}

// item is one thing a handler saw, in order.
type item struct {
	typ   uint16 // message type, 0 for an event
	size  int    // message payload length
	dst   netip.Addr
	event poller.EventKind
	err   error
}

func (it item) String() string {
	if it.event != 0 {
		return it.event.String()
	}
	return fmt.Sprintf("type %d (%d bytes)", it.typ, it.size)
}

// recorder is a handler that records items and signals each RTM_NEWROUTE.
type recorder struct {
	mu     sync.Mutex
	items  []item
	routes chan netip.Addr
}

func newRecorder() *recorder { return &recorder{routes: make(chan netip.Addr, 64)} }

func (r *recorder) handle(b *poller.Batch) {
	var routes []netip.Addr
	r.mu.Lock()
	b.Segments(func(ms []nl.Message, ev *poller.Event) {
		if ev != nil {
			r.items = append(r.items, item{event: ev.Kind, err: ev.Err})
			return
		}
		for _, m := range ms {
			it := item{typ: m.Header.Type, size: len(m.Data)}
			if m.Header.Type == unix.RTM_NEWROUTE {
				it.dst = routeDst(m)
				routes = append(routes, it.dst)
			}
			r.items = append(r.items, it)
		}
	})
	r.mu.Unlock()
	for _, a := range routes {
		r.routes <- a
	}
}

// sawRoute reports whether the route to dst arrives within d.
func (r *recorder) sawRoute(dst netip.Addr, d time.Duration) bool {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case a := <-r.routes:
			if a == dst {
				return true
			}
		case <-timeout.C:
			return false
		}
	}
}

// waitRoute waits until the route to dst has been seen, or fails the test.
func (r *recorder) waitRoute(ctx context.Context, t *testing.T, dst netip.Addr) {
	t.Helper()
	for {
		select {
		case a := <-r.routes:
			if a == dst {
				return
			}
		case <-ctx.Done():
			t.Fatalf("route to %v never arrived; seen: %v", dst, r.seen())
		}
	}
}

func (r *recorder) seen() []item {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]item(nil), r.items...)
}

// routeDst returns the RTA_DST of an IPv4 route message.
func routeDst(m nl.Message) netip.Addr {
	if len(m.Data) < unix.SizeofRtMsg {
		return netip.Addr{}
	}
	d := nl.NewAttributeDecoder(m.Data[unix.SizeofRtMsg:])
	for d.Next() {
		if d.Type() == unix.RTA_DST {
			return d.Addr()
		}
	}
	return netip.Addr{}
}

// fence adds the route 10.200.0.n/32, whose notification follows anything
// sent to the socket before, and waits until the recorder has seen it.
func fence(t *testing.T, ns *nstest.NS, rec *recorder, n int) {
	t.Helper()
	dst := netip.AddrFrom4([4]byte{10, 200, 0, byte(n)})
	ns.IP("route", "add", "blackhole", dst.String()+"/32")
	rec.waitRoute(bound(t, 10*time.Second), t, dst)
}

// fenceAfterOverrun is fence for a socket that has just overrun. The kernel
// drops a congested socket's multicast messages until its reader has
// drained the queue, so a fence sent too early is lost (seen under -race on
// a loaded machine); it sends new fences until one arrives, within 10 s.
func fenceAfterOverrun(t *testing.T, ns *nstest.NS, rec *recorder) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n := 1; time.Now().Before(deadline); n++ {
		dst := netip.AddrFrom4([4]byte{10, 200, 0, byte(n)})
		ns.IP("route", "add", "blackhole", dst.String()+"/32")
		if rec.sawRoute(dst, 500*time.Millisecond) {
			return
		}
	}
	t.Fatalf("no fence route arrived within 10 s; seen: %v", rec.seen())
}

// sendRaw sends b as one datagram from the user-space socket from to the
// socket with port id to.
func sendRaw(t *testing.T, from *nl.Conn, to uint32, b []byte) {
	t.Helper()
	rc, err := from.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: to})
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
}

// forged is a route deletion claiming to come from the kernel (header port
// id 0), as any process in the namespace can send it.
func forged(payload int) []byte {
	return nl.AppendMessage(nil, nl.Message{
		Header: nl.Header{Type: unix.RTM_DELROUTE},
		Data:   make([]byte, payload),
	})
}

func TestSenderIsCheckedPerDatagram(t *testing.T) {
	tests := []struct {
		name        string
		opts        []poller.AddOption
		wantItems   []string
		wantSpoofed uint64
	}{
		{
			name:        "forged datagram from a user-space socket is dropped and counted",
			wantItems:   []string{"type 24 (28 bytes)"},
			wantSpoofed: 1,
		},
		{
			name:      "WithAnySender accepts it",
			opts:      []poller.AddOption{poller.WithAnySender()},
			wantItems: []string{"type 25 (12 bytes)", "type 24 (28 bytes)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakCheck(t)
			ns := nstest.New(t)
			target := dialMany(t, ns, 1)[0]
			spoofer := ns.Dial()
			p, err := poller.New()
			if err != nil {
				t.Fatal(err)
			}
			defer closeAndWait(t, p)
			rec := newRecorder()
			r, err := p.Add(target, rec.handle, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			sendRaw(t, spoofer, target.PortID(), forged(12))
			fence(t, ns, rec, 1)
			var got []string
			for _, it := range rec.seen() {
				got = append(got, it.String())
			}
			if strings.Join(got, "; ") != strings.Join(tt.wantItems, "; ") {
				t.Errorf("handler saw %q, want %q", got, tt.wantItems)
			}
			if st := r.Stats(); st.Spoofed != tt.wantSpoofed {
				t.Errorf("Stats.Spoofed = %d, want %d", st.Spoofed, tt.wantSpoofed)
			}
		})
	}
}

func TestTruncatedDatagramIsAnEventAndTheBuffersGrow(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	target := dialMany(t, ns, 1)[0]
	sender := ns.Dial()
	p, err := poller.New(poller.WithDatagramSize(poller.MinDatagramSize))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	rec := newRecorder()
	r, err := p.Add(target, rec.handle, poller.WithAnySender())
	if err != nil {
		t.Fatal(err)
	}
	big := forged(12 << 10) // larger than the 8 KiB buffer

	sendRaw(t, sender, target.PortID(), big)
	fence(t, ns, rec, 1)
	sendRaw(t, sender, target.PortID(), big)
	fence(t, ns, rec, 2)

	items := rec.seen()
	want := []string{"truncated", "type 24 (28 bytes)", "type 25 (12288 bytes)", "type 24 (28 bytes)"}
	var got []string
	for _, it := range items {
		got = append(got, it.String())
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("handler saw %q, want %q", got, want)
	}
	if !errors.Is(items[0].err, nl.ErrTruncated) {
		t.Errorf("truncation error %v does not match nl.ErrTruncated", items[0].err)
	}
	if st := r.Stats(); st.Truncations != 1 {
		t.Errorf("Stats.Truncations = %d, want 1", st.Truncations)
	}
}

func TestMalformedDatagramDeliversItsGoodPrefixThenAnEvent(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	target := dialMany(t, ns, 1)[0]
	sender := ns.Dial()
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	rec := newRecorder()
	r, err := p.Add(target, rec.handle, poller.WithAnySender())
	if err != nil {
		t.Fatal(err)
	}
	b := forged(4)
	b = nl.AppendMessage(b, nl.Message{Header: nl.Header{Length: 1000, Type: unix.RTM_DELROUTE}, Data: make([]byte, 4)})
	sendRaw(t, sender, target.PortID(), b)
	fence(t, ns, rec, 1)

	items := rec.seen()
	want := []string{"type 25 (4 bytes)", "malformed", "type 24 (28 bytes)"}
	var got []string
	for _, it := range items {
		got = append(got, it.String())
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("handler saw %q, want %q", got, want)
	}
	if !errors.Is(items[1].err, nl.ErrBadLength) {
		t.Errorf("malformed error %v does not match nl.ErrBadLength", items[1].err)
	}
	if st := r.Stats(); st.Malformed != 1 {
		t.Errorf("Stats.Malformed = %d, want 1", st.Malformed)
	}
}

func TestOverrunReachesTheHandlerAndTheSocketKeepsDelivering(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	// A tiny receive buffer (the kernel's minimum, about 9 queued events;
	// without privilege SO_RCVBUF gives the same) and a stalled handler.
	target := dialMany(t, ns, 1, nl.WithReadBuffer(4096))[0]
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)

	rec := newRecorder()
	stalled := make(chan struct{})
	release := make(chan struct{})
	ctx := bound(t, 20*time.Second)
	first := true
	r, err := p.Add(target, func(b *poller.Batch) {
		rec.handle(b)
		if first {
			first = false
			close(stalled)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	ns.IP("route", "add", "blackhole", "10.100.0.1/32")
	select {
	case <-stalled:
	case <-ctx.Done():
		t.Fatal("handler never called")
	}
	ns.Batch(routeLines("add", 1000, 200)) // queue overflows while the handler is stuck
	close(release)
	fenceAfterOverrun(t, ns, rec)

	items := rec.seen()
	overrun, overruns, routes, afterOverrun := -1, 0, 0, 0
	for i, it := range items {
		switch {
		case it.event == poller.Overrun:
			overruns++
			if overrun < 0 {
				overrun = i
			}
			if !errors.Is(it.err, unix.ENOBUFS) {
				t.Errorf("overrun error %v does not match ENOBUFS", it.err)
			}
		case it.typ == unix.RTM_NEWROUTE:
			routes++
			if overrun >= 0 {
				afterOverrun++
			}
		}
	}
	if overrun < 0 {
		t.Fatalf("no overrun event among %d items", len(items))
	}
	if afterOverrun == 0 {
		t.Error("nothing delivered after the overrun")
	}
	if routes >= 202 {
		t.Errorf("%d routes delivered, so nothing was lost: the overrun was not induced", routes)
	}
	if st := r.Stats(); st.Overruns != uint64(overruns) {
		t.Errorf("Stats.Overruns = %d, want the %d Overrun events delivered", st.Overruns, overruns)
	}
	t.Logf("%d of 202 route events delivered, overrun at item %d; %+v", routes, overrun, r.Stats())
}

func TestCloseFromAHandlerStopsTheLoopWithoutDeadlock(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	target := dialMany(t, ns, 1)[0]
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	closeErr := make(chan error, 1)
	if _, err := p.Add(target, func(b *poller.Batch) {
		if len(b.Messages) > 0 {
			closeErr <- b.Source.Poller().Close()
		}
	}); err != nil {
		t.Fatal(err)
	}
	ns.IP("route", "add", "blackhole", "10.100.0.1/32")
	ctx := bound(t, 10*time.Second)
	select {
	case err := <-closeErr:
		if err != nil {
			t.Errorf("Close from a handler: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("handler never called")
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		t.Fatal("loop did not stop after Close from a handler")
	}
	if err := p.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v, want os.ErrClosed", err)
	}
}

func TestAddRejectsBadInput(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	c := dialMany(t, ns, 1)[0]
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	nop := func(*poller.Batch) {}
	if _, err := p.Add(c, nop); err != nil {
		t.Fatal(err)
	}
	var fd int
	c.SyscallConn()
	rc, _ := c.SyscallConn()
	rc.Control(func(f uintptr) { fd = int(f) })

	tests := []struct {
		name string
		add  func() (*poller.Registration, error)
		want error // nil: any error
	}{
		{"nil socket", func() (*poller.Registration, error) { return p.Add(nil, nop) }, nil},
		{"nil handler", func() (*poller.Registration, error) { return p.Add(c, nil) }, nil},
		{"negative fd", func() (*poller.Registration, error) { return p.AddFD(-1, nop) }, nil},
		{"socket registered twice", func() (*poller.Registration, error) { return p.AddFD(fd, nop) }, unix.EEXIST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.add()
			if err == nil {
				r.Remove()
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
		})
	}
	if n := p.Len(); n != 1 {
		t.Errorf("Len = %d after failed adds, want 1", n)
	}
}

func TestRemoveTwiceReportsClosed(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	c := dialMany(t, ns, 1)[0]
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	r, err := p.Add(c, func(*poller.Batch) {}, poller.WithData("token"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Data() != "token" || r.Poller() != p {
		t.Errorf("Data() = %v, Poller() = %p; want token, %p", r.Data(), r.Poller(), p)
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Remove: %v, want os.ErrClosed", err)
	}
	if p.Len() != 0 {
		t.Errorf("Len = %d after Remove", p.Len())
	}
	// The socket can be registered again.
	if _, err := p.Add(c, func(*poller.Batch) {}); err != nil {
		t.Errorf("Add after Remove: %v", err)
	}
}

func TestSteadyStateAllocatesAtMostOncePerBatch(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testSteadyState(t, nil, nil) })
	// The namespace ids' buffers grow once, like the others.
	t.Run("WithNSID", func(t *testing.T) {
		testSteadyState(t, []nl.Option{nl.WithListenAllNSID()}, []poller.AddOption{poller.WithNSID()})
	})
}

func testSteadyState(t *testing.T, copts []nl.Option, opts []poller.AddOption) {
	const routes, chunk = 2000, 200
	leakCheck(t)
	ns := nstest.New(t)
	c := dialMany(t, ns, 1, copts...)[0]
	prod := startProducer(t, ns)
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	tl := newTally()
	r, err := p.Add(c, func(b *poller.Batch) { tl.add(len(b.Messages)) }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bound(t, 30*time.Second)
	var chunks [][]string // made beforehand: only the poller may allocate below
	for first := 0; first < routes; first += chunk {
		chunks = append(chunks, routeLines("add", first, chunk))
	}
	send := func(first int) {
		prod.send(t, chunks[first/chunk])
		if err := tl.waitFor(ctx, int64(first+chunk)); err != nil {
			t.Fatal(err)
		}
	}
	send(0) // warm up: the batch slices grow to their working size

	s0 := r.Stats()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for first := chunk; first < routes; first += chunk {
		send(first)
	}
	runtime.ReadMemStats(&m1)
	s1 := r.Stats()

	allocs, batches := m1.Mallocs-m0.Mallocs, s1.Batches-s0.Batches
	t.Logf("%d allocations for %d messages in %d batches", allocs, s1.Messages-s0.Messages, batches)
	if allocs > batches {
		t.Errorf("%d allocations for %d batches, want at most one per batch", allocs, batches)
	}
}
