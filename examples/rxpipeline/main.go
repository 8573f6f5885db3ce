//go:build linux

// Command rxpipeline composes a route watcher's events with rxgo operators,
// through the nlrx rxgo bridge (stream/rx): typed filtering happens in nlrx,
// on the poller's goroutine, and only what rxgo needs crosses into it.
//
//	rxpipeline [-routes N]
//
// It makes a private network namespace, watches its routes, adds N routes
// (5,000 by default) with prefix lengths /24 to /32 and deletes half of
// them, while an rxgo pipeline counts the live additions per prefix length
// and the deletions, in windows of 1,000 events. As a normal user it re-runs
// itself inside a new user and network namespace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
	"github.com/nlrx/nlrx/stream/watch"
	"github.com/reactivex/rxgo/v2"
)

func main() {
	routes := flag.Int("routes", 5000, "routes to add (half are deleted again)")
	flag.Parse()
	if err := run(*routes); err != nil {
		fmt.Fprintln(os.Stderr, "rxpipeline:", err)
		os.Exit(1)
	}
}

// change is what crosses into rxgo: small, no pointers into nlrx buffers.
type change struct {
	kind watch.Kind
	bits int
}

func run(n int) error {
	if n < 2 || n > 60000 {
		return errors.New("-routes: want 2 to 60,000")
	}
	if os.Geteuid() != 0 && !userns.Inside() {
		code, err := userns.Reexec()
		if err != nil {
			return fmt.Errorf("needs root or unprivileged user namespaces: %w", err)
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		return err
	}
	v0, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		return err
	}
	if err := rtnl.SetLinkUp(ctx, c, v0.Index); err != nil {
		return err
	}

	w, err := watch.Routes(watch.WithNetNS(ns.Path()), watch.WithFamily(rtnl.FamilyInet))
	if err != nil {
		return err
	}
	defer w.Close()

	// nlrx side: keep the additions and deletions of our routes, reduced to
	// a small value. Synthetic ones count too: after a resync (an overrun,
	// a carrier change) the changes it caught up with arrive as synthetic
	// events, and each still happened once.
	ours := netip.MustParsePrefix("10.0.0.0/8")
	attached := make(chan struct{}) // the watcher's events are hot: add routes once rxgo listens
	changes := operators.Map(
		operators.Filter(w.Events(stream.OnSubscribe(func() { close(attached) })), func(e watch.Event[rtnl.Route]) bool {
			return (e.Kind == watch.Added || e.Kind == watch.Deleted) && ours.Contains(e.Value.Dst.Addr())
		}),
		func(e watch.Event[rtnl.Route]) change { return change{e.Kind, e.Value.Dst.Bits()} })

	// rxgo side: batches of changes in, windows of 1,000 counted out.
	// Every rxgo operator runs goroutines of its own that send with the
	// context of its own options (context.Background unless told): each
	// gets pctx, or one blocked on a send outlives the pipeline.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	onCtx := rxgo.WithContext(pctx)
	windows := rx.ToRxBatched(pctx, changes).
		FlatMap(func(i rxgo.Item) rxgo.Observable {
			if i.E != nil {
				return rxgo.Thrown(i.E)
			}
			items := make([]any, 0, len(i.V.([]change)))
			for _, ch := range i.V.([]change) {
				items = append(items, ch)
			}
			return rxgo.Just(items...)()
		}, onCtx).
		BufferWithCount(1000, onCtx).
		Map(func(_ context.Context, v any) (any, error) {
			var added [33]int
			deleted := 0
			for _, x := range v.([]any) {
				ch := x.(change)
				if ch.kind == watch.Deleted {
					deleted++
				} else {
					added[ch.bits]++
				}
			}
			return fmt.Sprintf("added /24:%d /28:%d /32:%d  deleted:%d", added[24], added[28], added[32], deleted), nil
		}, onCtx)

	expected := n + n/2
	results := windows.Observe(onCtx)
	if err := w.WaitReady(ctx); err != nil {
		return err
	}
	select {
	case <-attached:
	case <-ctx.Done():
		return fmt.Errorf("waiting for rxgo to subscribe: %w", ctx.Err())
	}

	rs := make([]rtnl.Route, n)
	for i := range rs {
		bits := []int{24, 28, 32}[i%3]
		a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		if bits == 32 {
			a = netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)})
		} else if bits == 28 {
			a = netip.AddrFrom4([4]byte{10, 100 + byte(i>>12), byte(i >> 4), byte(i << 4)})
		}
		rs[i] = rtnl.Route{Dst: netip.PrefixFrom(a, bits).Masked(), OIF: v0.Index, Scope: rtnl.ScopeLink, Table: rtnl.TableMain}
	}
	produced := make(chan struct{})
	defer func() { <-produced }() // before c is closed
	go func() {
		defer close(produced)
		if err := rtnl.AddRoutes(ctx, c, rs); err != nil {
			fmt.Fprintln(os.Stderr, "add:", err)
			stop()
			return
		}
		if err := rtnl.DeleteRoutes(ctx, c, rs[:n/2]); err != nil {
			fmt.Fprintln(os.Stderr, "delete:", err)
			stop()
		}
	}()

	seen := 0
	for item := range results {
		if item.E != nil {
			return item.E
		}
		fmt.Println(item.V)
		if seen += 1000; seen >= expected-expected%1000 {
			break
		}
	}
	stop() // ends the bridge and rxgo's goroutines
	if seen < expected-expected%1000 {
		return fmt.Errorf("saw %d of %d changes (watcher %+v)", seen, expected, w.Stats())
	}
	fmt.Printf("OK: %d changes counted through rxgo, in %d windows\n", seen, seen/1000)
	return nil
}
