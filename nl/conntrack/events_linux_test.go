//go:build linux

package conntrack_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"golang.org/x/sys/unix"
)

// item is what a test subscriber saw: an event or a gap.
type item struct {
	ev  conntrack.Event
	gap error
}

// listen starts a Source on an event socket of ns and a buffered
// subscriber that sends what it sees to the returned channel. Both end
// with the test, which waits for them.
func listen(t *testing.T, ns *nstest.NS, opts ...nl.Option) (*conntrack.Source, <-chan item) {
	t.Helper()
	evc, err := conntrack.DialEvents(nil, append([]nl.Option{nl.WithNetNS(ns.Path())}, opts...)...)
	if errors.Is(err, unix.EPERM) {
		t.Skipf("joining the conntrack event groups: %v (needs CAP_NET_ADMIN)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	src, err := conntrack.Listen(nil, evc)
	if err != nil {
		evc.Close()
		t.Fatal(err)
	}
	ch := make(chan item, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	subDone := make(chan error, 1)
	go func() {
		subDone <- src.Events(stream.WithBuffer(4096, stream.Block)).Subscribe(ctx, stream.ObserverFuncs[conntrack.Event]{
			OnNext: func(ev conntrack.Event) error { ch <- item{ev: ev}; return nil },
			OnGap:  func(g stream.Gap) error { ch <- item{gap: g}; return nil },
		})
	}()
	if err := src.Publisher().WaitSubscribers(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		src.Close()
		<-src.Done()
		cancel()
		<-subDone
		evc.Close()
	})
	return src, ch
}

// next returns the next event from ch, failing the test on a gap or after
// 10 s.
func next(t *testing.T, ch <-chan item) conntrack.Event {
	t.Helper()
	select {
	case it := <-ch:
		if it.gap != nil {
			t.Fatalf("gap: %v", it.gap)
		}
		return it.ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	panic("unreachable")
}

func TestEventsForCreateUpdateDeleteAndFlush(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	src, ch := listen(t, ns)
	ctx := testCtx(t)

	fs := testFlows()[:3]
	for _, f := range fs {
		if err := conntrack.Create(ctx, c, f); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[conntrack.Tuple]uint32{}
	for _, f := range fs {
		ev := next(t, ch)
		if ev.Type != conntrack.EventNew || ev.Flow.Orig != f.Orig || ev.Flow.Reply != f.Orig.Reverse() || ev.Flow.ID == 0 {
			t.Fatalf("got %v, want a NEW event for %v", &ev, f.Orig)
		}
		if ev.Flow.Mark != f.Mark || ev.Flow.Zone != f.Zone {
			t.Fatalf("NEW event %v: mark %d zone %d, want %d and %d", &ev, ev.Flow.Mark, ev.Flow.Zone, f.Mark, f.Zone)
		}
		ids[f.Orig] = ev.Flow.ID
	}

	up := fs[0]
	up.Mark = 99
	if err := conntrack.Update(ctx, c, up); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.Type != conntrack.EventUpdate || ev.Flow.Orig != up.Orig || ev.Flow.Mark != 99 || ev.Flow.ID != ids[up.Orig] {
		t.Fatalf("got %v, want an UPDATE event with mark 99 for %v", &ev, up.Orig)
	}

	if err := conntrack.Delete(ctx, c, fs[1]); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch); ev.Type != conntrack.EventDestroy || ev.Flow.Orig != fs[1].Orig || ev.Flow.ID != ids[fs[1].Orig] {
		t.Fatalf("got %v, want a DESTROY event for %v", &ev, fs[1].Orig)
	}

	if err := conntrack.Flush(ctx, c, conntrack.Filter{}); err != nil {
		t.Fatal(err)
	}
	gone := map[conntrack.Tuple]bool{}
	for range 2 {
		ev := next(t, ch)
		if ev.Type != conntrack.EventDestroy {
			t.Fatalf("got %v after a flush, want DESTROY", &ev)
		}
		gone[ev.Flow.Orig] = true
	}
	if !gone[fs[0].Orig] || !gone[fs[2].Orig] {
		t.Fatalf("flush destroyed %v, want %v and %v", gone, fs[0].Orig, fs[2].Orig)
	}
	if st := src.Stats(); st.Events != 7 || st.Overruns != 0 || st.Malformed != 0 {
		t.Fatalf("stats %+v, want 7 events and no loss", st)
	}
}

// marker is flow i of those the overrun test makes after the burst, to
// know the stream goes on.
func marker(i int) conntrack.Flow { return udp("192.0.2.1", "192.0.2.2", uint16(1+i), 1) }

func TestEventsOverrunIsAGapAndTheStreamGoesOn(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns, nl.WithReadBuffer(4<<20))
	evc, err := conntrack.DialEvents([]conntrack.EventType{conntrack.EventNew}, nl.WithNetNS(ns.Path()), nl.WithReadBuffer(16<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer evc.Close()
	src, err := conntrack.Listen(nil, evc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)

	// An inline subscriber holds the poller's loop at the first event
	// until the burst is in, so the socket's queue overflows.
	release := make(chan struct{})
	first := make(chan struct{})
	var events, gaps int
	var sawMarker bool
	var gapErr error
	subDone := make(chan error, 1)
	go func() {
		subDone <- src.Events().Subscribe(ctx, stream.ObserverFuncs[conntrack.Event]{
			OnNext: func(ev conntrack.Event) error {
				if events == 0 {
					close(first)
					<-release
				}
				events++
				if ev.Flow.Orig.Src == marker(0).Orig.Src {
					sawMarker = true
					return stream.ErrStop
				}
				return nil
			},
			OnGap: func(g stream.Gap) error {
				gaps++
				gapErr = g
				return nil
			},
		})
	}()
	if err := src.Publisher().WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	burst := make([]conntrack.Flow, n)
	for i := range burst {
		burst[i] = udp("10.1.0.1", fmt.Sprintf("10.2.%d.%d", i/250, i%250+1), 5000, 53)
	}
	if err := conntrack.Create(ctx, c, burst[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no first event")
	}
	if err := conntrack.CreateFlows(ctx, c, burst[1:]); err != nil {
		t.Fatal(err)
	}
	close(release)
	// The kernel drops every event until the poller has emptied the
	// socket's queue (netlink's congestion state, reported by the one
	// ENOBUFS), so markers are made until one's event comes.
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
wait:
	for i := 0; ; i++ {
		if err := conntrack.Create(ctx, c, marker(i)); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-subDone:
			if err != nil {
				t.Fatal(err)
			}
			break wait
		case <-tick.C:
		case <-deadline:
			t.Fatal("no marker's event came within 20 s")
		}
	}
	src.Close()
	<-src.Done()
	if !sawMarker || gaps == 0 || !errors.Is(gapErr, unix.ENOBUFS) || !errors.Is(gapErr, stream.ErrGap) {
		t.Fatalf("marker seen %v, %d gaps (last %v): want the marker after a gap matching ENOBUFS", sawMarker, gaps, gapErr)
	}
	if events >= n+1 {
		t.Fatalf("%d events of %d with a 16 KiB buffer: no loss, a useless test", events, n+1)
	}
	if st := src.Stats(); st.Overruns == 0 || st.Events < uint64(events) {
		t.Fatalf("stats %+v: want overruns counted and %d events at least", st, events)
	}
	t.Logf("%d of %d events, %d gaps, stats %+v", events, n+1, gaps, src.Stats())
}

func TestSourceEndsWithItsPoller(t *testing.T) {
	ns := nstest.New(t)
	evc, err := conntrack.DialEvents(nil, nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer evc.Close()
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	src, err := conntrack.Listen(p, evc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	subDone := make(chan error, 1)
	go func() { subDone <- src.Events().Subscribe(ctx, stream.ObserverFuncs[conntrack.Event]{}) }()
	if err := src.Publisher().WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	p.Close()
	select {
	case err := <-subDone:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("stream ended with %v, want an error matching os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end when its poller closed")
	}
	<-p.Done()
	src.Close()
	<-src.Done()
}
