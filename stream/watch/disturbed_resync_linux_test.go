//go:build linux

package watch

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
)

// A resync's dump of an IPv6 table that changes while it runs may list a
// route twice or skip one (routesDisturbed). A verification keeps its
// model where that may have happened; a resync has none to keep, so it
// dumps again. Here a route is added mid-dump before the point the
// kernel's walk has reached, as in
// TestKernelIPv6DumpSkipsRoutesWhenTheTableChanges: the kernel then lists
// a route twice and misses another. The resync must report the addition
// and nothing else: no twin added and taken back, no route gone and back.
func TestRoutesResyncDumpsAgainWhenTheKernelMayHaveListedRoutesTwice(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	const n = 3000 // many datagrams of a dump
	dst := func(i int) string { return fmt.Sprintf("2001:db8:%x::/48", i+1) }
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "route add " + dst(i) + " dev v0"
	}
	ns.Batch(lines)

	opts := []Option{WithNetNS(ns.Path()), WithFamily(rtnl.FamilyInet6), WithTable(rtnl.TableMain)}
	sp := routeSpec(opts)
	other := ns.Dial()
	const early = "2001:db8::/48" // walked before the others
	var (
		mu  sync.Mutex
		arm bool // the next dump adds a route before the point it reached
	)
	dump := sp.dump
	sp.dump = func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Route) error) error {
		mu.Lock()
		armed := arm
		arm = false
		mu.Unlock()
		seen := 0
		var first rtnl.Route
		return dump(ctx, c, func(r *rtnl.Route) error {
			if r.Table != rtnl.TableMain {
				return fn(r) // the local table: a few routes
			}
			if seen == 0 {
				first = *r
			}
			seen++
			if armed && seen == 100 {
				// Before the point the walk has reached.
				armed = false
				if err := rtnl.AddRoute(ctx, other, rtnl.Route{Family: rtnl.FamilyInet6, Table: rtnl.TableMain, Dst: netip.MustParsePrefix(early), OIF: first.OIF}); err != nil {
					return err
				}
			}
			return fn(r)
		})
	}
	w, err := newWatcher(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	type ev struct {
		kind Kind
		dst  string
	}
	var (
		evMu sync.Mutex
		evs  []ev
	)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subscribed := make(chan struct{})
	go func() {
		defer close(done)
		w.Events(stream.OnSubscribe(func() { close(subscribed) })).Subscribe(ctx, stream.ObserverFuncs[Event[rtnl.Route]]{
			OnNext: func(e Event[rtnl.Route]) error {
				evMu.Lock()
				evs = append(evs, ev{e.Kind, e.Value.Dst.String()})
				evMu.Unlock()
				return nil
			},
		})
	}()
	<-subscribed
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := w.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	evMu.Lock()
	evs = evs[:0]
	evMu.Unlock()

	mu.Lock()
	arm = true
	mu.Unlock()
	w.pause(modeOverrun) // as after a loss
	for {
		evMu.Lock()
		complete := slices.ContainsFunc(evs, func(e ev) bool { return e.kind == ResyncComplete })
		evMu.Unlock()
		if complete {
			break
		}
		select {
		case <-wctx.Done():
			t.Fatal("no ResyncComplete")
		case <-time.After(time.Millisecond):
		}
	}
	// The sentinel: everything before it has been applied.
	sentinel := dst(n + 1)
	ns.IP("-6", "route", "add", sentinel, "dev", "v0")
	for {
		evMu.Lock()
		seen := slices.Contains(evs, ev{Added, sentinel})
		evMu.Unlock()
		if seen {
			break
		}
		select {
		case <-wctx.Done():
			t.Fatal("the sentinel never came")
		case <-time.After(time.Millisecond):
		}
	}
	if err := w.Resync(wctx); err != nil { // a verification: it counts what is wrong
		t.Fatal(err)
	}

	evMu.Lock()
	defer evMu.Unlock()
	var changes []ev
	for _, e := range evs {
		if e.kind == Added || e.kind == Changed || e.kind == Deleted {
			changes = append(changes, e)
		}
	}
	want := []ev{{Added, early}, {Added, sentinel}}
	if !slices.Equal(changes, want) {
		t.Errorf("the resync and the sentinel reported %v, want %v", changes, want)
	}
	st := w.Stats()
	if st.DisturbedDumps == 0 || st.Repairs != 0 || st.Collisions != 0 {
		t.Errorf("stats %+v: want a disturbed dump taken again, no repairs, no collisions", st)
	}
	k, err := rtnl.ListRoutes(wctx, other, rtnl.RouteFilter{Family: rtnl.FamilyInet6})
	if err != nil {
		t.Fatal(err)
	}
	want6 := 0
	for _, r := range k {
		if sp.keep(&r) {
			want6++
		}
	}
	if got := w.Table().Len(); got != want6 {
		t.Errorf("the table holds %d routes, the kernel %d", got, want6)
	}
}

// A verification's IPv6 dump may miss a route with no sign of it
// (routeUnsteady). Here the first verification's dump leaves one out: the
// watcher must keep it, emit nothing, count no repair, and verify again;
// a route that two dumps in a row leave out is gone, and is repaired.
func TestRoutesVerificationNeedsTwoDumpsToRepairAnIPv6Route(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("-6", "route", "add", "2001:db8:1::/64", "dev", "v0")
	ns.IP("-6", "route", "add", "2001:db8:2::/64", "dev", "v0")
	opts := []Option{WithNetNS(ns.Path()), WithFamily(rtnl.FamilyInet6)}
	sp := routeSpec(opts)
	var (
		mu   sync.Mutex
		skip string // the destination the next skips dumps leave out
		left int
	)
	dump := sp.dump
	sp.dump = func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Route) error) error {
		mu.Lock()
		drop := ""
		if left > 0 {
			drop = skip
			left--
		}
		mu.Unlock()
		return dump(ctx, c, func(r *rtnl.Route) error {
			if r.Dst.String() == drop {
				return nil
			}
			return fn(r)
		})
	}
	w, err := newWatcher(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var (
		evMu sync.Mutex
		evs  []string
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	subscribed := make(chan struct{})
	go w.Events(stream.OnSubscribe(func() { close(subscribed) })).Subscribe(ctx, stream.ObserverFuncs[Event[rtnl.Route]]{
		OnNext: func(e Event[rtnl.Route]) error {
			if e.Kind.IsChange() {
				evMu.Lock()
				evs = append(evs, e.Kind.String()+" "+e.Value.Dst.String())
				evMu.Unlock()
			}
			return nil
		},
	})
	<-subscribed
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	changes := func() []string {
		evMu.Lock()
		defer evMu.Unlock()
		out := slices.Clone(evs)
		evs = evs[:0]
		return out
	}
	changes()

	// Once: a dump that missed the route.
	mu.Lock()
	skip, left = "2001:db8:1::/64", 1
	mu.Unlock()
	v0 := w.Stats().Verifications
	if err := w.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Resync(ctx); err != nil { // the verification asked for has run by now
		t.Fatal(err)
	}
	if got := changes(); len(got) != 0 {
		t.Errorf("a route one dump missed: events %v, want none", got)
	}
	if st := w.Stats(); st.Repairs != 0 || st.Verifications < v0+2 {
		t.Errorf("stats %+v: want no repair and at least two verifications", st)
	}
	if !slices.ContainsFunc(w.Table().Values(), func(r rtnl.Route) bool { return r.Dst.String() == "2001:db8:1::/64" }) {
		t.Error("the route one dump missed is gone from the table")
	}

	// Twice in a row: the kernel has no such route (as far as the dumps
	// say): repaired.
	mu.Lock()
	skip, left = "2001:db8:2::/64", 1<<30
	mu.Unlock()
	for range 3 {
		if err := w.Resync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := changes(); !slices.Equal(got, []string{"deleted 2001:db8:2::/64"}) {
		t.Errorf("a route every dump leaves out: events %v, want it deleted once", got)
	}
}
