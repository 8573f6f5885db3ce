package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "batch",
		title: "recvmmsg vlen × datagram-buffer grid (package poller)",
		run:   runBatch,
		full:  size{routes: 100_000, rounds: 7, warmup: 1},
		quick: size{routes: 10_000, rounds: 2, warmup: 1},
	})
}

var (
	batchVlens = []int{1, 8, 32, 64}
	batchSizes = []int{8 << 10, 32 << 10, 64 << 10}
)

// maxBurst bounds the events queued per socket in the burst half: 13
// sockets each holding N events at about 832 bytes of kernel memory per
// event would take over a gigabyte at N = 100,000.
const maxBurst = 20_000

// gridCell is one poller configuration with its socket.
type gridCell struct {
	name string
	vlen int
	size int
	c    *nl.Conn
	p    *poller.Poller
	reg  *poller.Registration
	done chan error
	n    int
}

func gridName(vlen, size int) string { return fmt.Sprintf("poller vlen=%d buf=%dK", vlen, size>>10) }

func runBatch(env *runEnv, sz size) ([]*ScenarioResult, error) {
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
	adder, err := newRouteAdder(ns)
	if err != nil {
		return nil, err
	}
	defer adder.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	cells := len(batchVlens) * len(batchSizes)
	burst, err := burstSize(ns, sz.routes)
	if err != nil {
		return nil, err
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * (cells + 1) * 2)

	t0 := time.Now()
	dumpRes, err := batchDump(ctx, env, sz, ns, adder, ifindex)
	if err != nil {
		return nil, err
	}
	dumpRes.Seconds = time.Since(t0).Seconds()
	if ifindex, err = ns.resetVeth(); err != nil {
		return nil, err
	}
	t0 = time.Now()
	burstRes, err := batchBurst(ctx, env, sz, ns, adder, ifindex, burst)
	if err != nil {
		return nil, err
	}
	burstRes.Seconds = time.Since(t0).Seconds()
	return []*ScenarioResult{dumpRes, burstRes}, nil
}

// burstSize is how many events the burst half queues per socket: the
// scenario's size, bounded by maxBurst and by what a socket's receive
// buffer can hold without SO_RCVBUFFORCE.
func burstSize(ns *benchNS, routes int) (int, error) {
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(bigRcvbuf))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	rb, err := c.ReadBufferSize()
	if err != nil {
		return 0, err
	}
	return min(routes, maxBurst, rb/1000), nil
}

// batchDump dumps the routes through a poller for every cell of the grid,
// against the raw recvfrom floor.
func batchDump(ctx context.Context, env *runEnv, sz size, ns *benchNS, adder *routeAdder, ifindex int) (*ScenarioResult, error) {
	adder.buildRoutes(firstRoute, sz.routes, ifindex)
	if _, err := adder.add(ctx, ifindex); err != nil {
		return nil, err
	}
	var raw *rawSocket
	if err := ns.Do(func() (err error) { raw, err = openRawSocket(0); return err }); err != nil {
		return nil, err
	}
	defer raw.close()
	ims := []impl{{name: "raw", api: "x/sys/unix recvfrom loop, 64 KiB buffer (the dump scenario's floor)", run: func() (sample, error) {
		return measureInProc(func() (runResult, error) {
			n := 0
			recvs, err := raw.dump(func([]byte) { n++ })
			if err == nil && n < sz.routes {
				err = fmt.Errorf("raw dump returned %d of %d routes", n, sz.routes)
			}
			return runResult{items: n, recvs: recvs}, err
		})
	}}}
	var cs []*gridCell
	defer func() {
		for _, g := range cs {
			g.p.Close()
			<-g.p.Done()
			g.c.Close()
		}
	}()
	req := nl.Message{Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagRequest | nl.FlagDump}, Data: rtmsgINET}
	for _, vlen := range batchVlens {
		for _, size := range batchSizes {
			g := &gridCell{name: gridName(vlen, size), vlen: vlen, size: size, done: make(chan error, 1)}
			var err error
			if g.c, err = nl.DialRoute(nl.WithNetNS(ns.Path())); err != nil {
				return nil, err
			}
			if g.p, err = poller.New(poller.WithBatchSize(vlen), poller.WithDatagramSize(size)); err != nil {
				g.c.Close()
				return nil, err
			}
			cs = append(cs, g)
			if g.reg, err = g.p.Add(g.c, g.dumpHandler); err != nil {
				return nil, err
			}
			ims = append(ims, impl{name: g.name, api: fmt.Sprintf("nl.Conn.Send(dump) read by poller.New(WithBatchSize(%d), WithDatagramSize(%d KiB)); handler counts", vlen, size>>10), floor: "raw", run: func() (sample, error) {
				s0 := g.reg.Stats()
				smp, err := measureInProc(func() (runResult, error) {
					g.n = 0
					if _, err := g.c.Send(req); err != nil {
						return runResult{}, err
					}
					select {
					case err := <-g.done:
						if err == nil && g.n < sz.routes {
							err = fmt.Errorf("dump returned %d of %d routes", g.n, sz.routes)
						}
						return runResult{items: g.n, recvs: -1}, err
					case <-time.After(time.Minute):
						return runResult{}, errors.New("dump did not end within a minute")
					}
				})
				if err != nil {
					return nil, err
				}
				s1 := g.reg.Stats()
				smp[mRecvs] = float64(s1.Syscalls - s0.Syscalls)
				smp[mDatagrams] = float64(s1.Datagrams - s0.Datagrams)
				return smp, nil
			}})
		}
	}
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	// CPU is the primary figure here: the reading thread builds the dump
	// inside its syscalls, so CPU is the cost, while wall time also holds
	// however long the poller's goroutine waited for a CPU on a busy
	// machine (seconds, at times, in the shared runs).
	rows := buildRows(ss, []string{mWall, mCPU, mAllocs, mBytes, mItems, mRecvs, mDatagrams}, mCPU, []string{mWall})
	for _, r := range rows {
		if r.Impl == "raw" {
			r.Metrics[mDatagrams] = r.Metrics[mRecvs]
		}
	}
	return &ScenarioResult{
		Name:    "batch-dump",
		Title:   fmt.Sprintf("Route dump (%s routes) read by a poller: recvmmsg vlen × datagram buffer", count(sz.routes)),
		Primary: mCPU,
		Setup: []string{
			fmt.Sprintf("%s IPv4 /32 routes in a private namespace; each grid cell has its own socket and poller (poller.WithBatchSize = vlen, WithDatagramSize = buffer per datagram), registered once; a dump is nl.Conn.Send of the request and a wait for the handler to see NLMSG_DONE.", count(sz.routes)),
			fmt.Sprintf("%d rounds after %d warm-up rounds (the kernel sizes dump datagrams from the socket's earlier reads, so the warm-up matters), interleaved with the raw floor, each round starting one cell further down.", sz.rounds, sz.warmup),
			"Syscalls and datagrams from poller Registration.Stats (recvmmsg calls, including those that found the socket empty). The ratio is of CPU time (getrusage(RUSAGE_SELF), which includes the kernel's work of building the dump in the reading syscall); wall time is shown too but also holds scheduling delays on a busy machine.",
		},
		Rows:    rows,
		columns: batchDumpColumns,
		charts:  []chartSpec{{file: "batch-dump.svg", title: fmt.Sprintf("Dump of %s routes through a poller: CPU time ÷ raw floor", count(sz.routes)), metric: "ratio"}},
	}, nil
}

const mDatagrams = "datagrams"

func (g *gridCell) dumpHandler(b *poller.Batch) {
	var err error
	end := false
	for _, ev := range b.Events {
		end, err = true, ev.Err
	}
	for i := range b.Messages {
		switch b.Messages[i].Header.Type {
		case unix.RTM_NEWROUTE:
			g.n++
		case nl.TypeDone, nl.TypeError:
			end = true
			if err == nil {
				err = nl.CheckMessage(b.Messages[i])
			}
		}
	}
	if end {
		select {
		case g.done <- err:
		default:
		}
	}
}

// batchBurst queues `burst` route events in one socket per grid cell (and
// one for the floor), unread, then drains each socket in turn: a backlog
// is where batching pays.
func batchBurst(ctx context.Context, env *runEnv, sz size, ns *benchNS, adder *routeAdder, ifindex, burst int) (*ScenarioResult, error) {
	tl := newTally()
	var cs []*gridCell
	var raw *rawSocket
	closeSockets := func() {
		for _, g := range cs {
			if g.c != nil {
				g.c.Close()
				g.c = nil
			}
		}
		if raw != nil {
			raw.close()
			raw = nil
		}
	}
	defer func() {
		closeSockets()
		for _, g := range cs {
			g.p.Close()
			<-g.p.Done()
		}
	}()
	for _, vlen := range batchVlens {
		for _, size := range batchSizes {
			p, err := poller.New(poller.WithBatchSize(vlen), poller.WithDatagramSize(size))
			if err != nil {
				return nil, err
			}
			cs = append(cs, &gridCell{name: gridName(vlen, size), vlen: vlen, size: size, p: p})
		}
	}
	// Before each round: fresh sockets join the group, the routes are added
	// (each socket queues every event), and the sockets leave the group so
	// that nothing else arrives while they are drained one by one.
	before := func(round int) error {
		closeSockets()
		idx, err := ns.resetVeth()
		if err != nil {
			return err
		}
		for _, g := range cs {
			if g.c, err = nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(bigRcvbuf), nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE)); err != nil {
				return err
			}
		}
		if err := ns.Do(func() (err error) { raw, err = openRawSocket(unix.RTMGRP_IPV4_ROUTE); return err }); err != nil {
			return err
		}
		if _, err := raw.setReadBuffer(bigRcvbuf); err != nil {
			return err
		}
		adder.buildRoutes(firstRoute, burst, idx)
		if _, err := adder.add(ctx, idx); err != nil {
			return err
		}
		for _, g := range cs {
			if err := g.c.LeaveGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
				return err
			}
		}
		return nil
	}
	ims := []impl{{name: "raw", api: "x/sys/unix blocking recvfrom loop, 64 KiB buffer, until every queued event is read", run: func() (sample, error) {
		return measureInProc(func() (runResult, error) {
			n, recvs := 0, 0
			for n < burst {
				k, err := raw.recv()
				if err != nil {
					return runResult{}, err
				}
				recvs++
				n += int(countRouteMsgs(raw.buf[:k]))
			}
			return runResult{items: n, recvs: recvs}, nil
		})
	}}}
	for _, g := range cs {
		ims = append(ims, impl{name: g.name, api: fmt.Sprintf("poller.New(WithBatchSize(%d), WithDatagramSize(%d KiB)).Add(conn): drain the queue", g.vlen, g.size>>10), floor: "raw", run: func() (sample, error) {
			tl.reset()
			var reg *poller.Registration
			var overruns int
			smp, err := measureInProc(func() (runResult, error) {
				var err error
				reg, err = g.p.Add(g.c, func(b *poller.Batch) {
					for _, ev := range b.Events {
						if ev.Kind != poller.Closed {
							overruns++
						}
					}
					tl.add(len(b.Messages))
				})
				if err != nil {
					return runResult{}, err
				}
				if err := tl.waitFor(int64(burst), time.Minute, nil); err != nil {
					return runResult{}, err
				}
				return runResult{items: int(tl.n.Load()), recvs: -1}, nil
			})
			if err != nil {
				return nil, err
			}
			st := reg.Stats()
			if err := reg.Remove(); err != nil {
				return nil, err
			}
			if overruns > 0 {
				return nil, fmt.Errorf("%d events (overruns) while draining a queue that should have held everything", overruns)
			}
			smp[mRecvs] = float64(st.Syscalls)
			return smp, nil
		}})
	}
	ss, err := runRounds(env.progress, sz.warmup, sz.rounds, ims, before)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		for _, r := range s.rounds {
			items := r.get(mItems)
			r[mCPUnsPerEvent] = r.get(mCPU) * 1e6 / items // ns per event
			r[mAllocsPerEv] = r.get(mAllocs) / items
			r[mBytesPerEv] = r.get(mBytes) / items
			r[mPerSyscall] = items / r.get(mRecvs)
		}
	}
	rows := buildRows(ss, []string{mWall, mCPU, mCPUnsPerEvent, mAllocsPerEv, mBytesPerEv, mItems, mRecvs, mPerSyscall}, mCPUnsPerEvent, []string{mWall})
	return &ScenarioResult{
		Name:    "batch-burst",
		Title:   fmt.Sprintf("Draining a backlog of %s route events: recvmmsg vlen × datagram buffer", count(burst)),
		Primary: mCPUnsPerEvent,
		Setup: []string{
			fmt.Sprintf("Before each round %d sockets (one per grid cell, one for the floor; 32 MiB receive buffers) join RTNLGRP_IPV4_ROUTE, %s routes are added (pipelined), and the sockets leave the group: each holds %s queued events, one per datagram. Then each socket is drained in turn: registered with its cell's poller and read until every event has arrived.", len(cs)+1, count(burst), count(burst)),
			fmt.Sprintf("%s events per socket: the scenario size bounded by %s (kernel memory for 13 full queues) and by what the effective receive buffer holds.", count(burst), count(maxBurst)),
			fmt.Sprintf("%d rounds after %d warm-up rounds, each round starting one cell further down. CPU per event is getrusage(RUSAGE_SELF) over the drain divided by the events; the ratio is to the raw recvfrom drain of the same round.", sz.rounds, sz.warmup),
		},
		Rows:    rows,
		columns: batchBurstColumns,
		charts:  []chartSpec{{file: "batch-burst.svg", title: fmt.Sprintf("Draining %s queued events: CPU per event ÷ raw floor", count(burst)), metric: "ratio"}},
	}, nil
}

const (
	mPerSyscall    = "per_syscall"
	mCPUnsPerEvent = "cpu_ns_per_event"
)

var batchDumpColumns = []column{
	{"reader", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"CPU ms, median (min–max)", func(r *Row) string { return fmtStat(r.Metrics[mCPU], 1) }},
	{"CPU × floor (min–max)", fmtRatio},
	{"wall ms", func(r *Row) string { return fmtStat(r.Metrics[mWall], 1) }},
	{"wall × floor", func(r *Row) string { return fmtRatioStat(r.Ratios[mWall], r.Floor) }},
	{"recv syscalls", func(r *Row) string { return fmtCount(r.Metrics[mRecvs]) }},
	{"datagrams", func(r *Row) string { return fmtCount(r.Metrics[mDatagrams]) }},
	{"allocs", func(r *Row) string { return fmtCount(r.Metrics[mAllocs]) }},
}

var batchBurstColumns = []column{
	{"reader", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"CPU ns/event, median (min–max)", func(r *Row) string { return fmtStat(r.Metrics[mCPUnsPerEvent], 0) }},
	{"× floor (min–max)", fmtRatio},
	{"wall ms", func(r *Row) string { return fmtStat(r.Metrics[mWall], 1) }},
	{"recv syscalls", func(r *Row) string { return fmtCount(r.Metrics[mRecvs]) }},
	{"events/syscall", func(r *Row) string { return fmtStat(r.Metrics[mPerSyscall], 1) }},
	{"allocs/event", func(r *Row) string { return fmtStat(r.Metrics[mAllocsPerEv], 3) }},
	{"B alloc/event", func(r *Row) string { return fmtStat(r.Metrics[mBytesPerEv], 1) }},
}
