//go:build linux

// Command multins watches the routing tables of many network namespaces on
// one poller: one epoll instance and one goroutine read every namespace's
// event socket, and the watchers' streams are merged into one, each event
// labelled with its namespace.
//
//	multins [-namespaces N] [-routes M]
//
// It makes N private namespaces (16 by default), starts a route watcher in
// each on a shared poller, adds M routes (1,000 by default) to every
// namespace at once, and checks that each watched table equals a fresh dump
// of its namespace. As a normal user it re-runs itself inside a new user and
// network namespace.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sync/errgroup"
)

func main() {
	n := flag.Int("namespaces", 16, "namespaces to make and watch")
	routes := flag.Int("routes", 1000, "routes to add in each namespace")
	flag.Parse()
	if err := run(*n, *routes); err != nil {
		fmt.Fprintln(os.Stderr, "multins:", err)
		os.Exit(1)
	}
}

// space is one namespace with its request socket and watcher.
type space struct {
	label string
	ns    *nl.NetNS
	c     *nl.Conn
	oif   uint32
	w     *watch.RouteWatcher
}

func run(n, routes int) error {
	if n < 1 || n > 1024 || routes < 1 || routes > 65000 {
		return errors.New("want 1–1024 namespaces and 1–65,000 routes each")
	}
	if os.Geteuid() != 0 && !userns.Inside() {
		code, err := userns.Reexec()
		if err != nil {
			return fmt.Errorf("needs root or unprivileged user namespaces: %w", err)
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// One loop on a thread of its own serves every namespace: the
	// watchers' event sockets are outside the Go runtime's netpoller, so
	// this is the cheapest wait (bench/poller/RESULTS.md).
	p, err := poller.New(poller.WithDedicatedThread())
	if err != nil {
		return err
	}
	defer p.Close()

	spaces := make([]*space, n)
	for i := range spaces {
		s, err := newSpace(ctx, fmt.Sprintf("ns%03d", i), p)
		if err != nil {
			return err
		}
		defer s.close()
		spaces[i] = s
	}

	// One merged stream of every namespace's events.
	// Events are hot: a subscriber sees the changes from when it is
	// attached, and Merge attaches to its sources on goroutines of its own,
	// so the routes are added only once every source has a subscriber.
	sources := make([]stream.Observable[watch.Event[rtnl.Route]], n)
	var attached sync.WaitGroup
	attached.Add(n)
	for i, s := range spaces {
		sources[i] = s.w.Events(stream.OnSubscribe(attached.Done))
	}
	sentinel := netip.MustParsePrefix("203.0.113.0/24")
	var mu sync.Mutex
	live := map[string]int{}
	waiting := n
	allSeen := make(chan struct{})
	go stream.ForEach(ctx, operators.Merge(sources...), func(e watch.Event[rtnl.Route]) error {
		if e.Kind != watch.Added || e.Synthetic {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		live[e.Namespace]++
		if e.Value.Dst == sentinel {
			if waiting--; waiting == 0 {
				close(allSeen)
			}
		}
		return nil
	})
	for _, s := range spaces {
		if err := s.w.WaitReady(ctx); err != nil {
			return err
		}
	}
	allAttached := make(chan struct{})
	go func() { attached.Wait(); close(allAttached) }()
	select {
	case <-allAttached:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the merged stream to attach: %w", ctx.Err())
	}

	start := time.Now()
	var g errgroup.Group
	for _, s := range spaces {
		g.Go(func() error { return s.addRoutes(ctx, routes, sentinel) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	select {
	case <-allSeen:
	case <-ctx.Done():
		for _, s := range spaces {
			fmt.Printf("%s: watcher %+v\n", s.label, s.w.Stats())
		}
		return fmt.Errorf("waiting for every namespace's events: %w", ctx.Err())
	}
	took := time.Since(start)

	bad := 0
	for _, s := range spaces {
		if err := s.check(ctx); err != nil {
			fmt.Printf("%s: %v\n", s.label, err)
			bad++
		}
	}
	st := p.Stats()
	mu.Lock()
	labels := make([]string, 0, len(live))
	total := 0
	for l, c := range live {
		labels = append(labels, l)
		total += c
	}
	mu.Unlock()
	sort.Strings(labels)
	fmt.Printf("%d namespaces, one poller: %d live route events in %v (%.0f events/s), %d wake-ups, %d receive syscalls, %d overruns\n",
		n, total, took.Round(time.Millisecond), float64(total)/took.Seconds(), st.Wakeups, st.Syscalls, st.Overruns)
	fmt.Printf("first namespaces: ")
	for _, l := range labels[:min(4, len(labels))] {
		fmt.Printf("%s %d events  ", l, live[l])
	}
	fmt.Println()
	if bad > 0 {
		return fmt.Errorf("%d of %d watched tables differ from the kernel's", bad, n)
	}
	fmt.Printf("OK: all %d watched tables equal fresh dumps of their namespaces\n", n)
	return nil
}

func newSpace(ctx context.Context, label string, p *poller.Poller) (*space, error) {
	ns, err := nl.NewNetNS()
	if err != nil {
		return nil, fmt.Errorf("make a network namespace: %w", err)
	}
	s := &space{label: label, ns: ns}
	if s.c, err = nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(1<<20)); err != nil {
		ns.Close()
		return nil, err
	}
	if err := rtnl.AddVeth(ctx, s.c, "v0", "v1"); err != nil {
		s.close()
		return nil, err
	}
	l, err := rtnl.LinkByName(ctx, s.c, "v0")
	if err == nil {
		err = rtnl.SetLinkUp(ctx, s.c, l.Index)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	s.oif = l.Index
	s.w, err = watch.Routes(watch.WithNetNS(ns.Path()), watch.WithPoller(p), watch.WithLabel(label),
		watch.WithFamily(rtnl.FamilyInet), watch.WithReadBuffer(4<<20))
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *space) addRoutes(ctx context.Context, n int, sentinel netip.Prefix) error {
	rs := make([]rtnl.Route, n)
	for i := range rs {
		rs[i] = rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32),
			OIF: s.oif, Scope: rtnl.ScopeLink, Table: rtnl.TableMain}
	}
	rs = append(rs, rtnl.Route{Dst: sentinel, OIF: s.oif, Scope: rtnl.ScopeLink, Table: rtnl.TableMain})
	if err := rtnl.AddRoutes(ctx, s.c, rs); err != nil {
		return fmt.Errorf("%s: %w", s.label, err)
	}
	return nil
}

// check compares the watched table with a fresh dump.
func (s *space) check(ctx context.Context) error {
	kernel, err := rtnl.ListRoutes(ctx, s.c, rtnl.RouteFilter{Family: rtnl.FamilyInet})
	if err != nil {
		return err
	}
	watched, _ := s.w.Table().Snapshot()
	if len(watched) != len(kernel) {
		return fmt.Errorf("watcher has %d routes, the kernel %d", len(watched), len(kernel))
	}
	for i := range kernel {
		if w, ok := watched[kernel[i].Key()]; !ok || !w.Equal(&kernel[i]) {
			return fmt.Errorf("route %v differs", &kernel[i])
		}
	}
	return nil
}

func (s *space) close() {
	if s.w != nil {
		s.w.Close()
	}
	if s.c != nil {
		s.c.Close()
	}
	s.ns.Close()
}
