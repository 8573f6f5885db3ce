package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "internet",
		title: "A full Internet table: 1,000,000 IPv4 and 200,000 IPv6 routes dumped, watched, resynchronised",
		run:   runInternet,
		full:  size{routes: 1_000_000, rounds: 5, warmup: 1},
		quick: size{routes: 20_000, rounds: 2, warmup: 1},
	})
}

// internet6Share is the IPv6 routes added per IPv4 route (a full table has
// about one IPv6 route for five IPv4 ones).
const internet6Share = 5

// buildRoutes6 prepares n RTM_NEWROUTE requests for 2001:db8:X:Y::/64 via
// ifindex, X:Y counting from 0.
func (a *routeAdder) buildRoutes6(n, ifindex int) {
	const payloadLen = unix.SizeofRtMsg + 20 + 8 // rtmsg, RTA_DST (16 B), RTA_OIF
	buf := make([]byte, 0, n*payloadLen)
	a.msgs = a.msgs[:0]
	for i := range n {
		start := len(buf)
		buf = append(buf,
			unix.AF_INET6, 64, 0, 0,
			unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST,
			0, 0, 0, 0,
		)
		a16 := [16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		e := nl.NewAttributeEncoder(buf)
		e.Addr(unix.RTA_DST, netip.AddrFrom16(a16))
		e.Uint32(unix.RTA_OIF, uint32(ifindex))
		buf, _ = e.Bytes()
		a.msgs = append(a.msgs, nl.Message{
			Header: nl.Header{Type: unix.RTM_NEWROUTE, Flags: nl.FlagRequest | nl.FlagCreate | nl.FlagExcl},
			Data:   buf[start:len(buf):len(buf)],
		})
	}
}

// heapAfterGC returns the live heap after two collections.
func heapAfterGC() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// readyRoutes starts a route watcher of ns with opts and waits for its
// snapshot.
func readyRoutes(ns *benchNS, opts ...watch.Option) (*watch.RouteWatcher, error) {
	w, err := watch.Routes(append([]watch.Option{watch.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		return nil, err
	}
	w.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := w.WaitReady(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func runInternet(env *runEnv, sz size) ([]*ScenarioResult, error) {
	if err := needTools("ip", "nsenter"); err != nil {
		return nil, err
	}
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	ifindex, err := ns.setupVeth()
	if err != nil {
		return nil, err
	}
	n6 := sz.routes / internet6Share
	env.progress.status(fmt.Sprintf("adding %d IPv4 and %d IPv6 routes", sz.routes, n6))
	adder, err := newRouteAdder(ns)
	if err != nil {
		return nil, err
	}
	adder.buildRoutes(firstRoute, sz.routes, ifindex)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	add4, err := adder.add(ctx, ifindex)
	if err == nil {
		adder.buildRoutes6(n6, ifindex)
		_, err = adder.add(ctx, ifindex)
	}
	cancel()
	adder.msgs = nil
	adder.close()
	if err != nil {
		return nil, err
	}
	out, err := ns.ip("route", "show")
	if err != nil {
		return nil, err
	}
	ipLines := bytes.Count([]byte(out), []byte("\n"))
	out = ""
	if ipLines < sz.routes {
		return nil, fmt.Errorf("ip route show lists %d routes, fewer than the %d added", ipLines, sz.routes)
	}

	// Table memory: the live heap a watcher's table adds, per route, for
	// both families and for IPv4 alone.
	env.progress.status("measuring the watchers' tables")
	perRoute := func(opts ...watch.Option) (float64, int, time.Duration, error) {
		h0 := heapAfterGC()
		t0 := time.Now()
		w, err := readyRoutes(ns, opts...)
		took := time.Since(t0)
		if err != nil {
			return 0, 0, 0, err
		}
		defer w.Close()
		h1 := heapAfterGC()
		n := w.Table().Len()
		return float64(h1-h0) / float64(n), n, took, nil
	}
	bAll, nAll, tookAll, err := perRoute()
	if err != nil {
		return nil, fmt.Errorf("nlrx: watch.Routes: %w", err)
	}
	b4, n4, _, err := perRoute(watch.WithFamily(rtnl.FamilyInet))
	if err != nil {
		return nil, fmt.Errorf("nlrx: watch.Routes: %w", err)
	}

	e, err := openDumpEnv(ns, sz.routes)
	if err != nil {
		return nil, err
	}
	defer e.close()
	e.ipLines = ipLines
	ims, err := e.impls()
	if err != nil {
		return nil, err
	}
	// The watcher rows: a snapshot from nothing, and a verification (a
	// full dump and diff, what a resync does but for the events) of a
	// ready table, both IPv4 like the floor's dump.
	resyncing, err := readyRoutes(ns, watch.WithFamily(rtnl.FamilyInet))
	if err != nil {
		return nil, fmt.Errorf("nlrx: watch.Routes: %w", err)
	}
	defer resyncing.Close()
	ims = append(ims,
		e.inProc("nlrx-watch-snapshot", "watch.Routes(WithNetNS, WithFamily(FamilyInet)): sockets, links, addresses and nexthops read, the dump into the table, WaitReady, Close", "raw", func() (runResult, error) {
			w, err := readyRoutes(ns, watch.WithFamily(rtnl.FamilyInet))
			if err != nil {
				return runResult{}, err
			}
			defer w.Close()
			return runResult{items: w.Table().Len(), recvs: -1}, nil
		}),
		e.inProc("nlrx-watch-resync", "(*RouteWatcher).Resync(ctx) of a ready IPv4 watcher: a full dump compared with the table, nothing to repair", "raw", func() (runResult, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := resyncing.Resync(ctx); err != nil {
				return runResult{}, err
			}
			return runResult{items: resyncing.Table().Len(), recvs: -1}, nil
		}),
	)
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	res := &ScenarioResult{
		Name:    "internet",
		Title:   fmt.Sprintf("A full Internet table: %s IPv4 and %s IPv6 routes", count(sz.routes), count(n6)),
		Primary: mWall,
		Setup: []string{
			fmt.Sprintf("%s IPv4 /32 routes (added in %.0f ms, pipelined) and %s IPv6 /64 routes via a veth in a private network namespace; the dump rows dump IPv4, as in the dump scenario.", count(sz.routes), ms(add4), count(n6)),
			fmt.Sprintf("A route watcher of both families took %.1f s to its first snapshot of %s routes; its table holds **%.0f bytes per route** of live heap (runtime.MemStats.HeapAlloc after GC, ready watcher minus none; the index, the slots and the side's state included). IPv4 alone: %.0f bytes per route over %s routes.", tookAll.Seconds(), count(nAll), bAll, b4, count(n4)),
			fmt.Sprintf("%d rounds after %d warm-up rounds, interleaved; ratios are medians of per-round ratios to `raw` (in process) or `raw-proc` (whole processes).", sz.rounds, sz.warmup),
		},
		Rows: buildRows(ss, []string{mWall, mCPU, mAllocs, mBytes, mItems, mRecvs, mMaxRSS}, mWall, []string{mCPU}),
		Notes: []string{
			"`nlrx-watch-resync` is `Resync`, a verification: the same dump and diff as the resync after an overrun, without the Overrun and ResyncStarted events; issue 16's goal is ≤ 1.5× a raw dump of the same table.",
			"The sustained notification rate a default watcher takes without overrun is the watch scenario's (100,000 events at full speed).",
		},
		columns: dumpColumns,
	}
	res.Targets = []Target{
		{What: "forced resync of a 1M-route table, wall × raw dump", Impl: "nlrx-watch-resync", Metric: "ratio", Limit: 1.5},
	}
	return []*ScenarioResult{res}, nil
}
