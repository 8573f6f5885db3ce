//go:build linux

package watch_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

const wait = 30 * time.Second // bound on any wait in these tests

// recorder subscribes to a watcher's events and lets a test wait for a
// condition on what arrived, without sleeping.
type recorder[V any] struct {
	mu     sync.Mutex
	events []watch.Event[V]
	kick   chan struct{}
	done   chan error
	cancel context.CancelFunc
	gate   chan struct{} // if not nil, the first live event blocks until it is closed
	gated  bool
	ns     *nstest.NS // for converges
}

func record[K comparable, V any](t *testing.T, w *watch.Watcher[K, V], gate chan struct{}) *recorder[V] {
	t.Helper()
	r := &recorder[V]{kick: make(chan struct{}, 1), done: make(chan error, 1), gate: gate}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	subscribed := make(chan struct{})
	go func() {
		r.done <- w.Events(stream.OnSubscribe(func() { close(subscribed) })).Subscribe(ctx, stream.ObserverFuncs[watch.Event[V]]{
			OnNext: r.add,
		})
	}()
	select {
	case <-subscribed:
	case <-time.After(wait):
		t.Fatal("subscription never attached")
	}
	t.Cleanup(func() {
		cancel()
		w.Close()
		select {
		case <-r.done:
		case <-time.After(wait):
			t.Error("subscriber did not return after Close")
		}
	})
	return r
}

func (r *recorder[V]) add(e watch.Event[V]) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	block := r.gate != nil && !r.gated && e.Kind != watch.SnapshotComplete && !e.Synthetic
	if block {
		r.gated = true
	}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	if block {
		<-r.gate // stall the poller's goroutine: the kernel queue fills up
	}
	return nil
}

// waitFor waits until an event for which cond holds has arrived. Each
// event is looked at once per call, so a wait over a long burst stays
// linear.
func (r *recorder[V]) waitFor(t *testing.T, what string, cond func(watch.Event[V]) bool) {
	t.Helper()
	deadline := time.After(wait)
	for seen := 0; ; {
		r.mu.Lock()
		for ; seen < len(r.events); seen++ {
			if cond(r.events[seen]) {
				r.mu.Unlock()
				return
			}
		}
		r.mu.Unlock()
		select {
		case <-r.kick:
		case err := <-r.done:
			t.Fatalf("waiting for %s: stream ended: %v", what, err)
		case <-deadline:
			t.Fatalf("waiting for %s: timed out", what)
		}
	}
}

// snapshot returns a copy of the events recorded so far.
func (r *recorder[V]) snapshot() []watch.Event[V] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitChange returns when an event arrives, or after d: a poll interval
// for comparisons that re-check their condition.
func (r *recorder[V]) waitChange(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-r.kick:
	case <-time.After(d):
	}
}

func (r *recorder[V]) count(k watch.Kind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func has[V any](k watch.Kind, match func(V) bool) func(watch.Event[V]) bool {
	return func(e watch.Event[V]) bool {
		return e.Kind == k && (match == nil || match(e.Value))
	}
}

func dst(p string) func(rtnl.Route) bool {
	want := netip.MustParsePrefix(p)
	return func(r rtnl.Route) bool { return r.Dst == want }
}

// kernelRoutes dumps the kernel's routes the way the watcher keeps them.
func kernelRoutes(t *testing.T, ns *nstest.NS) map[rtnl.RouteKey]rtnl.Route {
	return kernelRoutesOf(t, ns, rtnl.FamilyAll)
}

func kernelRoutesOf(t *testing.T, ns *nstest.NS, family rtnl.Family) map[rtnl.RouteKey]rtnl.Route {
	t.Helper()
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m := map[rtnl.RouteKey]rtnl.Route{}
	err := rtnl.ForEachRoute(ctx, c, rtnl.RouteFilter{Family: family}, func(r *rtnl.Route) error {
		if r.Flags&rtnl.RouteFlagCloned == 0 {
			m[r.Key()] = *r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameRoutes(t *testing.T, got, want map[rtnl.RouteKey]rtnl.Route) {
	t.Helper()
	if maps.EqualFunc(got, want, func(a, b rtnl.Route) bool { return a.Equal(&b) }) {
		return
	}
	n := 0
	for k, w := range want {
		if g, ok := got[k]; !ok || !g.Equal(&w) {
			if n++; n <= 5 {
				t.Errorf("kernel has %v, watcher has %v (present %v)", &w, &g, ok)
			}
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			if n++; n <= 10 {
				t.Errorf("watcher has %v, the kernel does not", &g)
			}
		}
	}
	t.Fatalf("watcher's table (%d routes) differs from the kernel's (%d routes)", len(got), len(want))
}

func routeLines(verb string, from, n int) []string {
	lines := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		lines = append(lines, fmt.Sprintf("route %s 10.%d.%d.0/24 dev v0", verb, i/256%256, i%256))
	}
	return lines
}

func newRouteWatcher(t *testing.T, ns *nstest.NS, opts ...watch.Option) *watch.RouteWatcher {
	t.Helper()
	w, err := watch.Routes(append([]watch.Option{watch.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestRoutesSnapshotThenLiveEventsMatchTheKernel(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "192.0.2.1/24", "dev", "v0")
	ns.Batch(routeLines("add", 0, 200))
	w := newRouteWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	before := kernelRoutes(t, ns)
	if got := r.count(watch.Added); got != len(before) {
		t.Errorf("snapshot: %d Added events, kernel has %d routes", got, len(before))
	}

	ns.IP("route", "add", "198.51.100.0/24", "via", "192.0.2.2")
	r.waitFor(t, "the added route", has(watch.Added, dst("198.51.100.0/24")))
	ns.IP("route", "replace", "198.51.100.0/24", "via", "192.0.2.3")
	r.waitFor(t, "the replaced route", has(watch.Changed, dst("198.51.100.0/24")))
	ns.IP("route", "del", "198.51.100.0/24")
	r.waitFor(t, "the deleted route", has(watch.Deleted, dst("198.51.100.0/24")))
	ns.Batch(routeLines("del", 0, 100))
	ns.IP("route", "add", "203.0.113.0/24", "dev", "v0") // sentinel: all before it is applied
	r.waitFor(t, "the sentinel", has(watch.Added, dst("203.0.113.0/24")))

	got, _ := w.Table().Snapshot()
	sameRoutes(t, got, kernelRoutes(t, ns))
	if r.count(watch.Overrun) != 0 {
		t.Errorf("%d overruns with the default buffer", r.count(watch.Overrun))
	}
}

func TestRoutesResyncAfterOverrunConvergesWithTheKernel(t *testing.T) {
	for run := range 10 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			ns.Batch(routeLines("add", 0, 500))
			w := newRouteWatcher(t, ns, watch.WithReadBuffer(4096), watch.WithFamily(rtnl.FamilyInet))
			gate := make(chan struct{})
			r := record(t, w, gate)
			r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))

			ns.IP("route", "add", "198.51.100.0/24", "dev", "v0") // the consumer stalls on this one
			r.waitFor(t, "the stalled event", has(watch.Added, dst("198.51.100.0/24")))
			ns.Batch(routeLines("del", 0, 250))     // queued behind the stall: overruns
			ns.Batch(routeLines("add", 1000, 1000)) // more lost changes
			ns.IP("route", "replace", "10.1.1.0/24", "dev", "v1")
			close(gate)
			r.waitFor(t, "the resync", has[rtnl.Route](watch.ResyncComplete, nil))
			ns.IP("route", "add", "203.0.113.0/24", "dev", "v0")
			r.waitFor(t, "the sentinel", has(watch.Added, dst("203.0.113.0/24")))

			if r.count(watch.Overrun) == 0 || w.Stats().Resyncs == 0 {
				t.Fatalf("no overrun with a 4 KiB buffer and a stalled consumer: %+v", w.Stats())
			}
			got, _ := w.Table().Snapshot()
			sameRoutes(t, got, kernelRoutesOf(t, ns, rtnl.FamilyInet))
		})
	}
}

func TestRoutesFollowLinkDeletionThatIPv4DoesNotReport(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.Veth("v2", "v3")
	ns.Batch(routeLines("add", 0, 50))
	w := newRouteWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	r.ns = ns
	ns.IP("link", "del", "v0") // takes v1 and 50 routes with it
	// IPv6 adds the link-local routes of v2 and v3 when their carrier
	// comes up, which can be later than anything ip waits for: converge.
	converges(t, w, r, rtnl.FamilyAll)
	if got, _ := w.Table().Snapshot(); len(got) > 10 {
		t.Fatalf("%d routes left after v0 was deleted", len(got))
	}
}

func TestLinksAddressesAndNeighborsConverge(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	lw, err := watch.Links(watch.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	aw, err := watch.Addresses(watch.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	nw, err := watch.Neighbors(watch.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	lr, ar, nr := record(t, lw, nil), record(t, aw, nil), record(t, nw, nil)
	lr.waitFor(t, "links", has[rtnl.Link](watch.SnapshotComplete, nil))
	ar.waitFor(t, "addresses", has[rtnl.Address](watch.SnapshotComplete, nil))
	nr.waitFor(t, "neighbours", has[rtnl.Neighbor](watch.SnapshotComplete, nil))

	ns.Veth("v2", "v3")
	ns.IP("link", "set", "v0", "mtu", "1400")
	ns.IP("addr", "add", "192.0.2.1/24", "dev", "v0")
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
	ns.IP("neigh", "add", "192.0.2.9", "lladdr", "02:00:00:00:00:09", "dev", "v0", "nud", "permanent")
	ns.IP("link", "del", "v2")
	ns.IP("addr", "del", "192.0.2.1/24", "dev", "v0")
	ns.IP("addr", "add", "198.51.100.1/24", "dev", "v1") // sentinels
	ns.IP("neigh", "add", "198.51.100.9", "lladdr", "02:00:00:00:00:0a", "dev", "v1", "nud", "permanent")
	ns.IP("link", "set", "v1", "mtu", "1300")

	lr.waitFor(t, "the last link change", has(watch.Changed, func(l rtnl.Link) bool { return l.Name.String() == "v1" && l.MTU == 1300 }))
	ar.waitFor(t, "the last address", has(watch.Added, func(a rtnl.Address) bool { return a.Prefix.String() == "198.51.100.1/24" }))
	nr.waitFor(t, "the last neighbour", has(watch.Added, func(n rtnl.Neighbor) bool { return n.Dst.String() == "198.51.100.9" }))

	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	links, err := rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	gotLinks, _ := lw.Table().Snapshot()
	if len(gotLinks) != len(links) {
		t.Errorf("watcher has %d links, kernel %d", len(gotLinks), len(links))
	}
	for _, l := range links {
		if g, ok := gotLinks[l.Index]; !ok || !g.Equal(&l) || g.HasStats {
			t.Errorf("link %s: watcher has %+v", l.Name, g)
		}
	}
	// The kernel dumps an IPv6 address while it is still tentative and
	// notifies it once duplicate address detection is over (about a
	// second for the links' fe80:: addresses): compare until the two
	// agree, within the bound.
	deadline := time.Now().Add(wait)
	for {
		addrs, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{})
		if err != nil {
			t.Fatal(err)
		}
		gotAddrs, _ := aw.Table().Snapshot()
		var missing []string
		for _, a := range addrs {
			if _, ok := gotAddrs[watch.AddressKey{Index: a.Index, Prefix: a.Prefix, Peer: a.Peer}]; !ok {
				missing = append(missing, a.Prefix.String())
			}
		}
		if len(gotAddrs) == len(addrs) && len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("watcher has %d addresses, kernel %d; missing from the watcher: %v", len(gotAddrs), len(addrs), missing)
			break
		}
		ar.waitChange(t, 100*time.Millisecond)
	}
	neighs, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{})
	if err != nil {
		t.Fatal(err)
	}
	gotNeighs, _ := nw.Table().Snapshot()
	want := 0
	for _, n := range neighs {
		if n.Family != rtnl.FamilyInet && n.Family != rtnl.FamilyInet6 || n.State&rtnl.NeighNoARP != 0 {
			continue
		}
		want++
		if g, ok := gotNeighs[watch.NeighborKey{Index: n.Index, Dst: n.Dst}]; !ok || g.State != n.State {
			t.Errorf("neighbour %v: watcher has %+v (present %v)", n.Dst, g, ok)
		}
	}
	if len(gotNeighs) != want {
		t.Errorf("watcher has %d neighbours, kernel %d", len(gotNeighs), want)
	}
}

func TestManyNamespacesOnOnePollerConverge(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 64
	type one struct {
		ns *nstest.NS
		w  *watch.RouteWatcher
		r  *recorder[rtnl.Route]
	}
	all := make([]one, n)
	for i := range all {
		ns := nstest.New(t)
		ns.Veth("v0", "v1")
		w := newRouteWatcher(t, ns, watch.WithPoller(p), watch.WithLabel(fmt.Sprint("ns", i)),
			watch.WithReadBuffer(1<<20))
		all[i] = one{ns, w, record(t, w, nil)}
	}
	for i, o := range all {
		o.r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
		o.ns.Batch(routeLines("add", i*10, 10+i))
		o.ns.IP("route", "add", "203.0.113.0/24", "dev", "v0")
	}
	for i, o := range all {
		o.r.waitFor(t, "the sentinel", has(watch.Added, dst("203.0.113.0/24")))
		// The kernel adds the links' IPv6 link-local routes on its own
		// time (after DAD): compare until the two agree, within the bound.
		convergesWithDump(t, o.ns, o.w, o.r, "the sentinel")
		o.r.mu.Lock()
		for _, e := range o.r.events {
			if e.Namespace != fmt.Sprint("ns", i) {
				t.Fatalf("event labelled %q in namespace ns%d", e.Namespace, i)
			}
		}
		o.r.mu.Unlock()
	}
}

func TestCloseStopsTheWatcherAndReleasesEverything(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	before := nstest.OpenFDs(t)
	w, err := watch.Routes(watch.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- stream.ForEach(ctx, w.Events(), func(watch.Event[rtnl.Route]) error { return nil }) }()
	ns.Batch(routeLines("add", 0, 1000)) // close while events flow
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stream ended with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("subscriber still running after Close")
	}
	if after := nstest.OpenFDs(t); after != before {
		t.Errorf("%d descriptors open after Close, %d before", after, before)
	}
	if w.Close() != nil {
		t.Error("second Close failed")
	}
	_ = nl.ErrTruncated
}

// TestRoutesDeliverEveryEventOfABurst adds 100,000 routes as fast as ip(8)
// can, ten times, and checks that the watcher, with its default options,
// reports every one as a live event without an overrun.
func TestRoutesDeliverEveryEventOfABurst(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000-route bursts skipped in -short mode")
	}
	const n = 100_000
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.%d/32 dev v0", i>>16, i>>8&255, i&255))
	}
	for run := range 10 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			w := newRouteWatcher(t, ns, watch.WithFamily(rtnl.FamilyInet))
			var live, overruns int
			r := record(t, w, nil)
			r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
			ns.Batch(lines)
			ns.IP("route", "add", "203.0.113.0/24", "dev", "v0")
			r.waitFor(t, "the sentinel", has(watch.Added, dst("203.0.113.0/24")))
			r.mu.Lock()
			for _, e := range r.events {
				switch {
				case e.Kind == watch.Added && !e.Synthetic:
					live++
				case e.Kind == watch.Overrun:
					overruns++
				}
			}
			r.mu.Unlock()
			if overruns > 0 || live != n+1 {
				msg := fmt.Sprintf("%d live Added events of %d, %d overruns (receive buffer %d bytes)", live, n+1, overruns, w.Stats().ReadBuffer)
				if nstest.InUserNS() {
					// Without CAP_NET_ADMIN the buffer is capped at 2×rmem_max;
					// the table must still converge through the resync.
					t.Log(msg + "; SO_RCVBUFFORCE needs CAP_NET_ADMIN in the initial namespace")
				} else {
					t.Fatal(msg)
				}
			}
			got, _ := w.Table().Snapshot()
			sameRoutes(t, got, kernelRoutesOf(t, ns, rtnl.FamilyInet))
		})
	}
}

// converges waits until the watcher's table equals the kernel's, checking
// after every event and at least every 50 ms, and fails with the
// difference if they still differ when the wait is over.
func converges(t *testing.T, w *watch.RouteWatcher, r *recorder[rtnl.Route], family rtnl.Family) {
	t.Helper()
	deadline := time.After(wait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		got, _ := w.Table().Snapshot()
		want := kernelRoutesOf(t, r.ns, family)
		if maps.EqualFunc(got, want, func(a, b rtnl.Route) bool { return a.Equal(&b) }) {
			return
		}
		select {
		case <-r.kick:
		case <-tick.C:
		case <-deadline:
			sameRoutes(t, got, want)
		}
	}
}

func TestRoutesResyncDoesNotReplayNotificationsOlderThanItsDump(t *testing.T) {
	// With a buffer that holds hundreds of notifications, the overrun is
	// reported ahead of a long queue of older ones: adds whose deletes were
	// lost. Applied after the dump, they would bring the routes back.
	for run := range 3 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			w := newRouteWatcher(t, ns, watch.WithReadBuffer(256<<10), watch.WithFamily(rtnl.FamilyInet))
			gate := make(chan struct{})
			r := record(t, w, gate)
			r.ns = ns
			r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
			ns.IP("route", "add", "198.51.100.0/24", "dev", "v0") // the consumer stalls on this one
			r.waitFor(t, "the stalled event", has(watch.Added, dst("198.51.100.0/24")))
			ns.Batch(routeLines("add", 0, 3000))
			ns.Batch(routeLines("del", 0, 3000))
			close(gate)
			r.waitFor(t, "the resync", has[rtnl.Route](watch.ResyncComplete, nil))
			ns.IP("route", "add", "203.0.113.0/24", "dev", "v0")
			r.waitFor(t, "the sentinel", has(watch.Added, dst("203.0.113.0/24")))
			if w.Stats().Overruns == 0 {
				t.Fatalf("no overrun: %+v", w.Stats())
			}
			got, _ := w.Table().Snapshot()
			sameRoutes(t, got, kernelRoutesOf(t, ns, rtnl.FamilyInet))
		})
	}
}

// After a loss the socket's queue holds the older notifications and the
// newer ones are gone: here v0's loss of carrier is queued and its return
// is lost. A resync that read the links first and then applied the queue
// would take v0 for down while it is up, and follow its next loss of
// carrier as no change: its routes would miss their linkdown flags until a
// verification repaired them.
func TestRoutesResyncTakesLinksFromTheDumpNotFromOlderNotifications(t *testing.T) {
	waitCarrier := func(t *testing.T, ns *nstest.NS, dev string, on bool) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			out := ns.IP("-o", "link", "show", "dev", dev)
			if strings.Contains(out, "LOWER_UP") == on {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: carrier not %v after %v: %s", dev, on, wait, out)
			}
			time.Sleep(time.Millisecond) // polls the kernel's state; linkwatch runs when it will
		}
	}
	for run := range 3 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			ns.IP("addr", "add", "192.0.2.1/24", "dev", "v0")
			ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
			ns.Batch([]string{
				"route add 172.16.0.0/24 via 192.0.2.2",
				"route add 172.16.1.0/24 nexthop via 192.0.2.2 dev v0 nexthop via 192.0.2.3 dev v0",
				"route add 2001:db8:9::/64 via 2001:db8::2",
			})
			w := newRouteWatcher(t, ns, watch.WithReadBuffer(512<<10))
			gate := make(chan struct{})
			open := sync.OnceFunc(func() { close(gate) })
			t.Cleanup(open) // a failure before the gate opens must not hang Close
			r := record(t, w, gate)
			r.ns = ns
			r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
			ns.IP("route", "add", "198.51.100.0/24", "dev", "v0") // the consumer stalls on this one
			r.waitFor(t, "the stalled event", has(watch.Added, dst("198.51.100.0/24")))
			// More than the poller reads in one go after the loss, so that
			// the resync finds v0's message in the queue.
			ns.Batch(routeLines("add", 0, 600))
			ns.IP("link", "set", "v1", "down")
			waitCarrier(t, ns, "v0", false)        // linkwatch has run: v0's message is queued
			ns.Batch(routeLines("add", 600, 3000)) // the queue overflows
			ns.IP("link", "set", "v1", "up")
			waitCarrier(t, ns, "v0", true) // v0's message is lost
			ns.Batch(routeLines("del", 0, 3600))
			open()
			r.waitFor(t, "the resync", has[rtnl.Route](watch.ResyncComplete, nil))
			converges(t, w, r, rtnl.FamilyAll)
			if w.Stats().Overruns == 0 {
				t.Fatalf("no overrun: %+v", w.Stats())
			}
			before := w.Stats().Repairs
			ns.IP("link", "set", "v1", "down") // v0 loses its carrier: linkdown flags, silently
			converges(t, w, r, rtnl.FamilyAll)
			ns.IP("link", "set", "v1", "up")
			converges(t, w, r, rtnl.FamilyAll)
			if st := w.Stats(); st.Repairs != before {
				t.Fatalf("%d repairs after the resync: the watcher took v0's carrier from a notification older than its dump", st.Repairs-before)
			}
		})
	}
}

func TestRoutesFollowLinkDownAndUpThatIPv4DoesNotReport(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.Veth("v2", "v3")
	ns.IP("addr", "add", "192.0.2.1/24", "dev", "v0")
	ns.IP("addr", "add", "198.51.100.1/24", "dev", "v1")
	ns.IP("addr", "add", "203.0.113.1/24", "dev", "v2")
	ns.Batch(routeLines("add", 0, 200)) // dev v0
	ns.Batch([]string{
		"route add 10.200.0.0/24 via 192.0.2.2",
		"route add 10.200.1.0/24 nexthop via 192.0.2.2 dev v0 nexthop via 192.0.2.3 dev v0",
		"route add 10.200.2.0/24 nexthop via 192.0.2.2 dev v0 nexthop via 198.51.100.2 dev v1",
		"route add 10.200.3.0/24 nexthop via 192.0.2.2 dev v0 nexthop via 203.0.113.2 dev v2",
		"route add 10.200.4.0/24 via 203.0.113.2 table 100",
	})
	w := newRouteWatcher(t, ns, watch.WithFamily(rtnl.FamilyInet))
	r := record(t, w, nil)
	r.ns = ns
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	for cycle := range 5 {
		// Down: the routes through v0 are flushed, the local address's
		// host route stays, the multipath hops on v0 die; v1 loses its
		// carrier (linkdown flags).
		ns.IP("link", "set", "v0", "down")
		converges(t, w, r, rtnl.FamilyInet)
		if cycle == 0 {
			got, _ := w.Table().Snapshot()
			if n := len(got); n > 20 {
				t.Fatalf("%d routes left after v0 went down", n)
			}
		}
		ns.IP("link", "set", "v0", "up")
		ns.Batch(routeLines("add", 0, 200))
		ns.IP("route", "replace", "10.200.1.0/24", "nexthop", "via", "192.0.2.2", "dev", "v0", "nexthop", "via", "192.0.2.3", "dev", "v0")
		ns.IP("route", "replace", "10.200.0.0/24", "via", "192.0.2.2")
		converges(t, w, r, rtnl.FamilyInet)
	}
	if st := w.Stats(); st.Overruns != 0 {
		t.Errorf("overruns: %+v", st)
	}
}

func TestRoutesFollowIPv6MultipathGroups(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	w := newRouteWatcher(t, ns, watch.WithFamily(rtnl.FamilyInet6))
	r := record(t, w, nil)
	r.ns = ns
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	const p = "2001:db8:1::/64"
	for _, step := range [][]string{
		{"-6", "route", "add", p, "via", "fe80::1", "dev", "v0"},
		{"-6", "route", "append", p, "via", "fe80::2", "dev", "v1"}, // notified as the whole group
		{"-6", "route", "append", p, "via", "fe80::3", "dev", "v0"},
		{"-6", "route", "del", p, "via", "fe80::1", "dev", "v0"}, // notified as one deleted route
		{"-6", "route", "del", p, "via", "fe80::2", "dev", "v1"}, // one hop left: a single-path route
		{"-6", "route", "append", p, "via", "fe80::4", "dev", "v1"},
		{"-6", "route", "del", p}, // the whole group
		{"-6", "route", "add", "2001:db8:2::/64", "dev", "v0"},
		{"-6", "route", "append", "2001:db8:2::/64", "dev", "v1"}, // same key but for the interface
		{"-6", "route", "del", "2001:db8:2::/64", "dev", "v0"},
	} {
		ns.IP(step...)
		converges(t, w, r, rtnl.FamilyInet6)
	}
	if st := w.Stats(); st.Resyncs != 0 {
		t.Errorf("%d resyncs: the groups should be followed from the notifications", st.Resyncs)
	}
}
