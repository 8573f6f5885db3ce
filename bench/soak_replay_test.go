//go:build soakreplay

package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

// Reproductions of what the soak finds, kept out of the ordinary test run
// (they print rather than assert, and some race by design):
//
//	cd bench && LINES=FILE go test -tags soakreplay -run TestSoakReplay -v
//
// makes the mix's links (soakMix.setup) in a namespace of its own, starts
// a route watcher of both families (FAMILY=4: IPv4 only), runs the ip
// -batch lines of FILE (the mix's lines from an NLRX_SOAK_LOG, cut down),
// all in one ip -force -batch or, with STEP=DURATION, one ip per line that
// long apart; waits WAIT, lets the verifications the lines asked for run,
// compares the table with a dump, then calls Resync. It prints every event
// of a verification that repaired the table, and the watcher's
// Repairs and Collisions: non-zero is a kernel rule the watcher missed.
func TestSoakReplay(t *testing.T) {
	b, err := os.ReadFile(os.Getenv("LINES"))
	if err != nil {
		t.Skip("LINES=FILE names the ip -batch lines to replay")
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	ns, err := newBenchNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	mix := newSoakMix(ns, defaultMixConfig(), 1, nil)
	if err := mix.setup(); err != nil {
		t.Fatal(err)
	}
	defer mix.teardown()
	opts := []watch.Option{watch.WithNetNS(ns.Path())}
	if os.Getenv("FAMILY") == "4" {
		opts = append(opts, watch.WithFamily(unix.AF_INET))
	}
	w, err := watch.Routes(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	// The events of verifications that repaired: those after a rise of
	// Stats.Repairs until the next live event, and those of the Resync.
	var resyncing atomic.Bool
	var seen uint64
	repairing := false
	go stream.ForEach(context.Background(), w.Events(), func(ev watch.Event[rtnl.Route]) error {
		if ev.Kind > watch.Deleted {
			return nil
		}
		if !ev.Synthetic {
			repairing = false
		} else if r := w.Stats().Repairs; r != seen {
			seen, repairing = r, true
		}
		if ev.Synthetic && (resyncing.Load() || repairing) {
			fmt.Printf("repaired: %s %v (flags %#x)\n", ev.Kind, &ev.Value, ev.Value.Flags)
			if ev.Kind == watch.Changed {
				fmt.Printf("     was: %v (flags %#x)\n", &ev.Old, ev.Old.Flags)
			}
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if step := os.Getenv("STEP"); step != "" {
		d, _ := time.ParseDuration(step)
		for _, l := range lines {
			_ = ns.cmd("ip", strings.Fields(l)...).Run() // refusals are part of the sequence
			time.Sleep(d)
		}
	} else {
		cmd := ns.cmd("ip", "-force", "-batch", "-")
		cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		_ = cmd.Run()
	}
	wait, _ := time.ParseDuration(os.Getenv("WAIT"))
	time.Sleep(wait + 200*time.Millisecond)

	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var routes []rtnl.Route
	for _, fam := range []rtnl.Family{rtnl.FamilyInet, rtnl.FamilyInet6} {
		if routes, err = rtnl.AppendRoutes(ctx, c, routes, rtnl.RouteFilter{Family: fam}); err != nil {
			t.Fatal(err)
		}
	}
	k := &soakKernel{byKey: map[rtnl.RouteKey]*rtnl.Route{}}
	for i := range routes {
		r := &routes[i]
		if r.Flags&rtnl.RouteFlagCloned != 0 {
			continue
		}
		k.add(r)
	}
	family := uint8(0)
	if os.Getenv("FAMILY") == "4" {
		family = unix.AF_INET
	}
	table, _ := w.Table().Snapshot()
	before := w.Stats()
	fmt.Printf("after the lines: %d repairs, %d collisions; the table against a dump: %s\n",
		before.Repairs, before.Collisions, diffRoutes(k, table, family))
	resyncing.Store(true)
	if err := w.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	st := w.Stats()
	fmt.Printf("after Resync: %d repairs, %d collisions, %d verifications\n", st.Repairs, st.Collisions, st.Verifications)
}

// TestSoakReplayLossDuringVerification: a watcher with a 4 KiB buffer and
// a slow subscriber verifies (Resync) while 2,000 routes are added and
// 1,000 of them deleted: the notifications its socket loses during the
// verification count as repairs, and may leave the table wrong.
func TestSoakReplayLossDuringVerification(t *testing.T) {
	ns, err := newBenchNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	v0, err := ns.setupVeth()
	if err != nil {
		t.Fatal(err)
	}
	w, err := watch.Routes(watch.WithNetNS(ns.Path()), watch.WithFamily(unix.AF_INET), watch.WithReadBuffer(4096))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	go stream.ForEach(context.Background(), w.Events(), func(watch.Event[rtnl.Route]) error {
		time.Sleep(200 * time.Microsecond)
		return nil
	})
	ctx := context.Background()
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var rs []rtnl.Route
	for i := range 2000 {
		rs = append(rs, rtnl.Route{Family: rtnl.FamilyInet, Table: rtnl.TableMain, OIF: uint32(v0), Scope: rtnl.ScopeLink,
			Dst: netip.PrefixFrom(routeAddr(netip.MustParseAddr("10.96.0.0"), i), 32)})
	}
	for round := range 5 {
		// One verification while the burst floods the socket, then none:
		// what it lost stays lost unless the poller saw the loss.
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = rtnl.AddRoutes(ctx, c, rs)
			_ = rtnl.DeleteRoutes(ctx, c, rs[:1000])
		}()
		time.Sleep(time.Duration(round) * 5 * time.Millisecond)
		_ = w.Resync(ctx)
		<-done
		time.Sleep(3 * time.Second) // the subscriber catches up; nothing changes
		st := w.Stats()
		routes, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet})
		if err != nil {
			t.Fatal(err)
		}
		k := &soakKernel{byKey: map[rtnl.RouteKey]*rtnl.Route{}}
		for i := range routes {
			k.byKey[routes[i].Key()] = &routes[i]
		}
		table, _ := w.Table().Snapshot()
		fmt.Printf("round %d: %d overruns, %d resyncs, %d verifications, %d repairs; 3 s after the last change, the table against a dump: %s\n",
			round, st.Overruns, st.Resyncs, st.Verifications, st.Repairs, diffRoutes(k, table, unix.AF_INET))
		_ = rtnl.DeleteRoutes(ctx, c, rs[1000:])
		_ = w.Resync(ctx)
		time.Sleep(time.Second)
	}
}
