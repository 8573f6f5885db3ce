package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func init() {
	register(&scenario{
		name:  "watch",
		title: "Route watch during 100,000 additions at full speed",
		run:   runWatch,
		full:  size{routes: 100_000, rounds: 5, warmup: 1},
		quick: size{routes: 10_000, rounds: 2, warmup: 0},
	})
}

// Watch metric names.
const (
	mEvents       = "events"
	mOverruns     = "overruns"
	mDead         = "dead"
	mComplete     = "complete"
	mCPUPerEvent  = "cpu_us_per_event"
	mBytesPerEv   = "bytes_per_event"
	mAllocsPerEv  = "allocs_per_event"
	mAddMs        = "add_ms"
	mRate         = "add_events_per_s"
	mProcCPU      = "proc_cpu_ms"
	mRcvbuf       = "rcvbuf"
	mLossFraction = "lost_fraction"
)

// The child protocol: the harness starts itself with envChild=watch and the
// subscriber's name; the namespace is descriptor 3. The child subscribes,
// prints "ready RCVBUF", and counts events; the parent adds the routes and
// writes "done" to the child's stdin; the child then waits until it has
// every event, its subscription died, or no event came for the idle time,
// and prints one JSON line (watchChildResult) before exiting.
const (
	envWatchSub    = "NLRX_BENCH_WATCH_SUB"
	envWatchN      = "NLRX_BENCH_WATCH_N"
	envWatchRcvbuf = "NLRX_BENCH_WATCH_RCVBUF"
	envWatchIdle   = "NLRX_BENCH_WATCH_IDLE_MS"
	childNSPath    = "/proc/self/fd/3"
)

type watchChildResult struct {
	Events   int64   `json:"events"`
	Overruns int64   `json:"overruns"`
	Dead     bool    `json:"dead"`
	DeadErr  string  `json:"dead_err,omitempty"`
	CPUms    float64 `json:"cpu_ms"`
	Allocs   uint64  `json:"allocs"`
	Bytes    uint64  `json:"bytes"`
}

// bigRcvbuf is the receive buffer the "large buffer" subscribers ask for.
// The kernel doubles it; without CAP_NET_ADMIN it is capped at twice
// net.core.rmem_max.
const bigRcvbuf = 32 << 20

// watchParams is one round's set-up, shared by every subscriber.
type watchParams struct {
	ns      *benchNS
	adder   *routeAdder
	ifindex int
	n       int
	idle    time.Duration
}

func runWatch(env *runEnv, sz size) ([]*ScenarioResult, error) {
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
	adder.buildRoutes(firstRoute, sz.routes, ifindex)
	p := &watchParams{ns: ns, adder: adder, ifindex: ifindex, n: sz.routes, idle: 300 * time.Millisecond}
	if env.quick {
		p.idle = 200 * time.Millisecond
	}

	var ims []impl
	for _, s := range watchSubs {
		ims = append(ims, impl{name: s.name, api: s.api, floor: s.floor, run: func() (sample, error) {
			return watchOnce(p, s)
		}})
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)

	metrics := []string{mEvents, mOverruns, mCPUPerEvent, mBytesPerEv, mAllocsPerEv, mAddMs, mRate, mCPU, mProcCPU, mRcvbuf, mLossFraction}
	rows := buildRows(ss, metrics, mCPUPerEvent, nil)
	for i, s := range ss {
		rows[i].Counts = map[string]int{
			"complete": countRounds(s, mComplete),
			"dead":     countRounds(s, mDead),
		}
		for _, w := range watchSubs {
			if w.name != s.impl.name {
				continue
			}
			txt := w.rcvbufText
			if txt == "" {
				txt = rcvbufText(w.rcvbuf) + " → " + fmtBytes(rows[i].Metrics[mRcvbuf])
			}
			rows[i].Text = map[string]string{"rcvbuf": txt}
		}
	}
	res := &ScenarioResult{
		Name:    "watch",
		Title:   "Route watch (RTNLGRP_IPV4_ROUTE) during route additions at full speed",
		Primary: mCPUPerEvent,
		Setup: []string{
			fmt.Sprintf("Each run adds %s IPv4 /32 routes to a private namespace as fast as the kernel takes them: pipelined RTM_NEWROUTE from this process, %d per datagram, no per-route ACK. The kernel emits one RTM_NEWROUTE notification per route; only IPv4 RTM_NEWROUTE events are counted (IPv6 link-local routes appear as the veth comes up).", count(sz.routes), routeBatch),
			"Each subscriber runs in its own child process (so its CPU and allocations are its own, not the adder's), subscribes, signals ready, and counts RTM_NEWROUTE events until it has all of them, its subscription died, or none came for " + p.idle.String() + " after the last addition while its receive queue was empty (Rmem in /proc/net/netlink, so a reader the scheduler left waiting is not cut short). Between runs v0 is deleted and re-made, which drops the routes at once.",
			fmt.Sprintf("%d rounds after %d warm-up rounds; each round runs every subscriber once, each round starting one subscriber further down the table. CPU per event is the child's user+system CPU from subscription to the end of the run divided by the events it received; the ratio is to `raw` (recvfrom, 32 MiB buffer) in the same round.", sz.rounds, sz.warmup),
			"`ip -4 monitor route` runs as a process; readiness is detected with probe routes (10.98.0.x, not counted); its CPU is the whole process's (start-up included) from wait4.",
		},
		Rows: rows,
		Notes: []string{
			"Receive buffers: the kernel doubles what is asked for; `default` is net.core.rmem_default. As an unprivileged user SO_RCVBUFFORCE is refused and 32 MiB is capped at 2 × net.core.rmem_max.",
			"vishvananda/netlink joins the IPv4 and IPv6 route groups, decodes each event into a Route and sends it on a channel (capacity 1024 here); any receive error, ENOBUFS included, ends the subscription (\"survived\" counts runs where it did not).",
			"A run is complete when every added route was seen. ENOBUFS is counted as reported to the subscriber (once per overrun, not once per lost event).",
		},
		columns: watchColumns,
	}
	res.Targets = []Target{
		{What: "every event delivered, default options", Impl: "nlrx-watcher", Metric: "complete", Limit: 1, AtLeast: true},
		{What: "CPU µs per event", Impl: "nlrx-watcher", Metric: mCPUPerEvent, Limit: 4},
		{What: "bytes allocated per event (~0)", Impl: "nlrx-watcher", Metric: mBytesPerEv, Limit: 64},
		{What: "every event delivered (32 MiB buffer)", Impl: "nlrx-poller", Metric: "complete", Limit: 1, AtLeast: true},
		{What: "CPU µs per event", Impl: "nlrx-poller", Metric: mCPUPerEvent, Limit: 4},
		{What: "bytes allocated per event (~0)", Impl: "nlrx-poller", Metric: mBytesPerEv, Limit: 64},
	}
	res.charts = []chartSpec{
		{file: "watch.svg", title: fmt.Sprintf("Route watch, %s events: CPU per event ÷ floor (median, min–max)", count(sz.routes)), metric: "ratio"},
		{file: "watch-delivered.svg", title: fmt.Sprintf("Route watch, %s events: events received, %% (median, min–max)", count(sz.routes)), metric: mEvents, scale: 100 / float64(sz.routes), unit: "%", ref: 100},
	}
	return []*ScenarioResult{res}, nil
}

func countRounds(s *series, k string) int {
	n := 0
	for _, r := range s.rounds {
		if r.get(k) == 1 {
			n++
		}
	}
	return n
}

func rcvbufText(n int) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// watchOnce runs one subscriber through one batch of additions, then
// resets the namespace for the next run.
func watchOnce(p *watchParams, s watchSub) (smp sample, err error) {
	runtime.GC()
	if s.open == nil {
		smp, err = watchIPMonitor(p)
	} else {
		smp, err = watchChild(p, s)
	}
	// Reset even after a failure, so the next subscriber starts clean.
	idx, rerr := p.ns.resetVeth()
	if rerr != nil {
		return nil, errors.Join(err, fmt.Errorf("resetting the namespace: %w", rerr))
	}
	p.ifindex = idx
	p.adder.buildRoutes(firstRoute, p.n, idx)
	if err != nil {
		return nil, err
	}
	smp[mLossFraction] = 1 - smp[mEvents]/float64(p.n)
	smp[mComplete] = b2f(smp[mEvents] >= float64(p.n))
	return smp, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// lineReader delivers a reader's lines on a channel.
func lineReader(r io.Reader) <-chan string {
	ch := make(chan string, 4)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

func readLine(ch <-chan string, within time.Duration, what string) (string, error) {
	select {
	case l, ok := <-ch:
		if !ok {
			return "", fmt.Errorf("%s: the child exited", what)
		}
		return l, nil
	case <-time.After(within):
		return "", fmt.Errorf("%s: nothing within %s", what, within)
	}
}

func watchChild(p *watchParams, s watchSub) (sample, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		envChild+"=watch",
		envWatchSub+"="+s.name,
		envWatchN+"="+strconv.Itoa(p.n),
		envWatchRcvbuf+"="+strconv.Itoa(s.rcvbuf),
		envWatchIdle+"="+strconv.FormatInt(p.idle.Milliseconds(), 10),
	)
	cmd.ExtraFiles = []*os.File{p.ns.file}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := lineReader(stdout)
	fail := func(err error) (sample, error) {
		cmd.Process.Kill()
		cmd.Wait()
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	l, err := readLine(lines, 20*time.Second, "subscribing")
	if err != nil {
		return fail(err)
	}
	rcvbuf, ok := strings.CutPrefix(l, "ready ")
	if !ok {
		return fail(fmt.Errorf("child said %q, not ready", l))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	took, err := p.adder.add(ctx, p.ifindex)
	if err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(stdin, "done\n"); err != nil {
		return fail(err)
	}
	l, err = readLine(lines, 60*time.Second, "waiting for the count")
	if err != nil {
		return fail(err)
	}
	var r watchChildResult
	if err := json.Unmarshal([]byte(l), &r); err != nil {
		return fail(fmt.Errorf("child result %q: %w", l, err))
	}
	stdin.Close()
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("child: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	smp := sample{
		mEvents:   float64(r.Events),
		mOverruns: float64(r.Overruns),
		mDead:     b2f(r.Dead),
		mCPU:      r.CPUms,
		mAddMs:    ms(took),
		mRate:     float64(p.n) / took.Seconds(),
		mRcvbuf:   math.NaN(),
	}
	if v, err := strconv.Atoi(rcvbuf); err == nil && v > 0 {
		smp[mRcvbuf] = float64(v)
	}
	if r.Events > 0 {
		smp[mCPUPerEvent] = r.CPUms * 1000 / float64(r.Events)
		smp[mBytesPerEv] = float64(r.Bytes) / float64(r.Events)
		smp[mAllocsPerEv] = float64(r.Allocs) / float64(r.Events)
	}
	if pu := procUsage(cmd.ProcessState); !math.IsNaN(pu.get(mCPU)) {
		smp[mProcCPU] = pu[mCPU]
	}
	return smp, nil
}

// probeNet holds the probe routes that tell when ip monitor listens.
var probeNet = netip.MustParseAddr("10.98.0.0")

// watchIPMonitor runs `ip monitor route` in the namespace and counts the
// lines it prints. It cannot say when it has subscribed, so probe routes
// are added one by one until one shows up in its output.
func watchIPMonitor(p *watchParams) (sample, error) {
	cmd := p.ns.cmd("ip", "-4", "monitor", "route")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var events, overruns atomic.Int64
	probeSeen := make(chan struct{}, 1)
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l := sc.Text()
			if strings.Contains(l, "10.98.") {
				select {
				case probeSeen <- struct{}{}:
				default:
				}
				continue
			}
			if strings.HasPrefix(l, "Deleted") {
				continue
			}
			events.Add(1)
		}
	}()
	var errText strings.Builder
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "No buffer space") {
				overruns.Add(1)
			} else if errText.Len() < 1000 {
				errText.WriteString(sc.Text() + "\n")
			}
		}
	}()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-outDone
		<-errDone
		cmd.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := false
	for i := 0; i < 100 && !ready; i++ {
		if err := p.adder.addOne(ctx, routeAddr(probeNet, i), p.ifindex); err != nil {
			stop()
			return nil, fmt.Errorf("probe route: %w", err)
		}
		select {
		case <-probeSeen:
			ready = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !ready {
		stop()
		return nil, fmt.Errorf("ip monitor route printed nothing for 100 probe routes: %s", strings.TrimSpace(errText.String()))
	}
	took, err := p.adder.add(ctx, p.ifindex)
	if err != nil {
		stop()
		return nil, err
	}
	waitQuiet(func() int64 { return events.Load() }, int64(p.n), p.idle, nil, func() int64 {
		q, err := queuedEventBytes(p.ns.NetNS)
		if err != nil {
			return 0
		}
		return q
	})
	exited := false
	select {
	case <-outDone: // its output ended before it was told to stop: it died
		exited = true
	default:
	}
	stop()
	smp := procUsage(cmd.ProcessState)
	smp[mProcCPU] = smp.get(mCPU)
	smp[mEvents] = float64(events.Load())
	smp[mOverruns] = float64(overruns.Load())
	smp[mDead] = b2f(exited)
	smp[mAddMs] = ms(took)
	smp[mRate] = float64(p.n) / took.Seconds()
	smp[mRcvbuf] = math.NaN()
	if ev := events.Load(); ev > 0 {
		smp[mCPUPerEvent] = smp[mCPU] * 1000 / float64(ev)
	}
	return smp, nil
}

// waitQuiet returns once count() reaches n, dead() is true, or count()
// has not moved for idle while nothing is left in the subscribers' receive
// queues (queued, nil to skip that check). It is how a run decides that
// every event that will ever arrive has arrived: the kernel queues
// notifications before the adding sendmsg returns, so once the adder is
// done, a reader that has stopped and has an empty queue has everything it
// will get. The queue check keeps a reader that the scheduler left
// waiting on a busy machine from being judged finished; a stuck one is
// given up on after maxWait.
func waitQuiet(count func() int64, n int64, idle time.Duration, dead func() bool, queued func() int64) {
	const maxWait = 60 * time.Second
	start := time.Now()
	last, since := count(), time.Now()
	var lastQueueCheck time.Time
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		c := count()
		if c >= n || (dead != nil && dead()) || time.Since(start) > maxWait {
			return
		}
		if c != last {
			last, since = c, time.Now()
			continue
		}
		if time.Since(since) < idle {
			continue
		}
		if queued == nil {
			return
		}
		if time.Since(lastQueueCheck) >= 50*time.Millisecond {
			lastQueueCheck = time.Now()
			if queued() == 0 {
				return
			}
		}
	}
}

var watchColumns = []column{
	{"subscriber", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"rcvbuf asked → effective", func(r *Row) string { return r.Text["rcvbuf"] }},
	{"events received, median (min–max)", func(r *Row) string { return fmtStatCount(r.Metrics[mEvents]) }},
	{"complete runs", func(r *Row) string { return fmt.Sprintf("%d/%d", r.Counts["complete"], r.Rounds) }},
	{"ENOBUFS per run", func(r *Row) string { return fmtStatCount(r.Metrics[mOverruns]) }},
	{"survived", func(r *Row) string { return fmt.Sprintf("%d/%d", r.Rounds-r.Counts["dead"], r.Rounds) }},
	{"CPU µs/event", func(r *Row) string { return fmtStat(r.Metrics[mCPUPerEvent], 2) }},
	{"× floor (min–max)", func(r *Row) string { return fmtRatio(r) }},
	{"B alloc/event", func(r *Row) string { return fmtStat(r.Metrics[mBytesPerEv], 0) }},
	{"allocs/event", func(r *Row) string { return fmtStat(r.Metrics[mAllocsPerEv], 2) }},
	{"adds/s (k)", func(r *Row) string {
		s := r.Metrics[mRate]
		return fmtStat(Stat{Median: s.Median / 1000, Min: s.Min / 1000, Max: s.Max / 1000, N: s.N}, 0)
	}},
	{"API", func(r *Row) string { return r.API }},
}
