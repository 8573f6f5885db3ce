//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// demoCounts is what the demo's subscriber saw; the progress line reads it.
type demoCounts struct {
	live, synthetic, overruns, resyncs atomic.Int64
}

func runDemo(ctx context.Context, changes int) error {
	if changes < 10 || changes > 3_000_000 {
		return fmt.Errorf("-changes %d: want 10 to 3,000,000", changes)
	}
	if os.Geteuid() != 0 && !userns.Inside() {
		code, err := userns.Reexec()
		if err != nil {
			return fmt.Errorf("the demo needs root or unprivileged user namespaces: %w", err)
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	ns, err := nl.NewNetNS()
	if err != nil {
		return fmt.Errorf("make a network namespace: %w", err)
	}
	defer ns.Close()
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(4<<20))
	if err != nil {
		return err
	}
	defer c.Close()
	v0, v1, err := vethUp(ctx, c)
	if err != nil {
		return err
	}

	w, err := watch.Routes(watch.WithNetNS(ns.Path()), watch.WithFamily(rtnl.FamilyInet))
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Printf("watching routes in a private namespace (receive buffer %d bytes)\n", w.Stats().ReadBuffer)

	sentinel := netip.MustParsePrefix("203.0.113.0/24")
	var n demoCounts
	seen := make(chan struct{})
	subscribed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- stream.ForEach(ctx, w.Events(stream.OnSubscribe(func() { close(subscribed) })), func(e watch.Event[rtnl.Route]) error {
			switch e.Kind {
			case watch.Added, watch.Changed, watch.Deleted:
				if e.Synthetic {
					n.synthetic.Add(1)
				} else {
					n.live.Add(1)
				}
				if e.Kind == watch.Added && e.Value.Dst == sentinel {
					close(seen)
				}
			case watch.Overrun:
				n.overruns.Add(1)
			case watch.ResyncStarted:
				n.resyncs.Add(1)
			}
			return nil
		})
	}()
	<-subscribed
	if err := w.WaitReady(ctx); err != nil {
		return err
	}

	stopProgress := progress(w, &n)
	start := time.Now()
	made, err := churn(ctx, c, changes, v0, v1)
	if err == nil {
		err = rtnl.AddRoute(ctx, c, rtnl.Route{Dst: sentinel, OIF: v0, Scope: rtnl.ScopeLink, Table: rtnl.TableMain})
	}
	if err == nil {
		select {
		case <-seen:
		case err = <-done:
			err = fmt.Errorf("event stream ended: %v", err)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	took := time.Since(start)
	stopProgress()
	if err != nil {
		return err
	}

	fmt.Printf("made %d route changes in %v; the watcher reported %d live events and %d from resyncs (%.0f events/s), %d overruns, %d resyncs\n",
		made+1, took.Round(time.Millisecond), n.live.Load(), n.synthetic.Load(),
		float64(n.live.Load()+n.synthetic.Load())/took.Seconds(), n.overruns.Load(), n.resyncs.Load())
	return compare(ctx, c, w)
}

// vethUp adds the veth pair v0–v1 and sets both up.
func vethUp(ctx context.Context, c *nl.Conn) (v0, v1 uint32, err error) {
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		return 0, 0, err
	}
	var idx [2]uint32
	for i, name := range []string{"v0", "v1"} {
		l, err := rtnl.LinkByName(ctx, c, name)
		if err != nil {
			return 0, 0, err
		}
		if err := rtnl.SetLinkUp(ctx, c, l.Index); err != nil {
			return 0, 0, err
		}
		idx[i] = l.Index
	}
	return idx[0], idx[1], nil
}

// churn makes changes route changes in bursts: 40 % adds, then 30 %
// replaces (to the other link), then 30 % deletes.
func churn(ctx context.Context, c *nl.Conn, changes int, v0, v1 uint32) (int, error) {
	adds := changes * 4 / 10
	replaces := changes * 3 / 10
	deletes := changes - adds - replaces
	route := func(i int, oif uint32) rtnl.Route {
		dst := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		return rtnl.Route{Dst: netip.PrefixFrom(dst, 32), OIF: oif, Scope: rtnl.ScopeLink,
			Protocol: rtnl.ProtoStatic, Table: rtnl.TableMain}
	}
	const burst = 1000
	batch := make([]rtnl.Route, 0, burst)
	made := 0
	phase := func(n int, oif uint32, op func(context.Context, *nl.Conn, []rtnl.Route) error) error {
		for i := 0; i < n; i += burst {
			batch = batch[:0]
			for j := i; j < min(i+burst, n); j++ {
				batch = append(batch, route(j, oif))
			}
			if err := op(ctx, c, batch); err != nil {
				return err
			}
			made += len(batch)
		}
		return nil
	}
	if err := phase(adds, v0, rtnl.AddRoutes); err != nil {
		return made, err
	}
	if err := phase(min(replaces, adds), v1, rtnl.ReplaceRoutes); err != nil {
		return made, err
	}
	if err := phase(min(deletes, adds), v1, rtnl.DeleteRoutes); err != nil {
		return made, err
	}
	return made, nil
}

// progress prints a status line on standard error four times a second
// until the returned function is called.
func progress(w *watch.RouteWatcher, n *demoCounts) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start, last, lastEvents := time.Now(), time.Now(), int64(0)
		for {
			select {
			case <-quit:
				fmt.Fprintln(os.Stderr)
				return
			case now := <-t.C:
				events := n.live.Load() + n.synthetic.Load()
				rate := float64(events-lastEvents) / now.Sub(last).Seconds()
				last, lastEvents = now, events
				fmt.Fprintf(os.Stderr, "\r%5.1fs  %8d events  %8.0f events/s  table %7d  overruns %d  resyncs %d   ",
					now.Sub(start).Seconds(), events, rate, w.Table().Len(), n.overruns.Load(), n.resyncs.Load())
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// compare checks the watched table against a fresh dump.
func compare(ctx context.Context, c *nl.Conn, w *watch.RouteWatcher) error {
	kernel := map[rtnl.RouteKey]rtnl.Route{}
	err := rtnl.ForEachRoute(ctx, c, rtnl.RouteFilter{Family: rtnl.FamilyInet}, func(r *rtnl.Route) error {
		if r.Flags&rtnl.RouteFlagCloned == 0 {
			kernel[r.Key()] = *r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fresh dump: %w", err)
	}
	watched, _ := w.Table().Snapshot()
	bad := 0
	for k, kr := range kernel {
		if wr, ok := watched[k]; !ok || !wr.Equal(&kr) {
			if bad++; bad <= 5 {
				fmt.Printf("  kernel has %v; watcher has %v\n", &kr, map[bool]string{true: wr.String(), false: "nothing"}[ok])
			}
		}
	}
	for k, wr := range watched {
		if _, ok := kernel[k]; !ok {
			if bad++; bad <= 10 {
				fmt.Printf("  watcher has %v; the kernel does not\n", &wr)
			}
		}
	}
	if bad > 0 {
		fmt.Printf("MISMATCH: the watched table (%d routes) differs from a fresh dump (%d routes) in %d routes\n", len(watched), len(kernel), bad)
		return errors.New("the watched table does not match the kernel")
	}
	fmt.Printf("OK: the watched table equals a fresh dump of the kernel's (%d routes)\n", len(kernel))
	return nil
}
