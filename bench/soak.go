package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// The soak: route watchers under continuous churn for minutes, their
// tables checked against the kernel at every checkpoint and the process's
// memory, goroutines and descriptors watched for growth. A round is one
// checkpoint period, so -rounds sets the length (-rounds 12 is a minute)
// and -routes the largest window of live routes.
func init() {
	register(&scenario{
		name:  "soak",
		title: "Soak: route and nexthop watchers under continuous churn, checked against the kernel",
		run:   runSoak,
		// 120 periods of 5 s: 10 minutes; quick: 10 of 3 s.
		full:  size{routes: 20_000, rounds: 118, warmup: 2},
		quick: size{routes: 5_000, rounds: 9, warmup: 1},
	})
}

// soakConfig is everything that shapes one soak.
type soakConfig struct {
	maxLive          int           // the largest window of live routes
	period           time.Duration // from one checkpoint to the next
	periods, warmup  int           // checkpoints after the first; of which warm-up
	settle           time.Duration // how long a checkpoint waits for the watchers
	rateMin, rateMax float64       // changes per second, per phase
	phaseMin         time.Duration
	phaseMax         time.Duration
	flapMin, flapMax time.Duration // between link flaps
	mix              soakMixConfig // the second churn (soak_mix.go)
	watchers         []soakWatcherSpec
	seed             uint64
}

// soakWatcherSpec is one watcher of the soak.
type soakWatcherSpec struct {
	name       string
	family     uint8 // unix.AF_INET or AF_INET6; 0: both
	audit      bool  // WithAudit(the checkpoint period)
	readBuffer int   // 0: watch.DefaultReadBuffer
	// Every slowEvery-th event its subscriber sleeps for slowSleep on the
	// delivering goroutine (0: it only counts).
	slowEvery int
	slowSleep time.Duration
}

func (sp soakWatcherSpec) api(period time.Duration) string {
	api := "watch.Routes(WithNetNS"
	switch sp.family {
	case unix.AF_INET:
		api += ", WithFamily(AF_INET)"
	case unix.AF_INET6:
		api += ", WithFamily(AF_INET6)"
	}
	if sp.audit {
		api += fmt.Sprintf(", WithAudit(%s)", period)
	}
	api += ")"
	if sp.readBuffer > 0 {
		api += fmt.Sprintf(", WithReadBuffer(%d)", sp.readBuffer)
	} else {
		api += ", default options"
	}
	if sp.slowEvery > 0 {
		return api + fmt.Sprintf("; the subscriber sleeps %s every %d events", sp.slowSleep, sp.slowEvery)
	}
	return api + "; the subscriber counts"
}

// soakWatchers: the default IPv4 watcher, which should never overrun; one
// with the smallest buffer and a slow consumer, which overruns all the
// time with a queue of a few notifications; one with a 256 KiB buffer
// and the same consumer, which overruns less often but with hundreds of
// notifications queued behind each loss report; and one of both families
// that audits its table every period.
var soakWatchers = []soakWatcherSpec{
	{name: "nlrx-watcher", family: unix.AF_INET},
	{name: "nlrx-watcher-slow", family: unix.AF_INET, readBuffer: 4096, slowEvery: 8, slowSleep: 500 * time.Microsecond},
	{name: "nlrx-watcher-slow-256k", family: unix.AF_INET, readBuffer: 256 << 10, slowEvery: 8, slowSleep: 500 * time.Microsecond},
	{name: "nlrx-watcher-all", audit: true},
}

func soakConfigFor(quick bool, sz size) (soakConfig, error) {
	cfg := soakConfig{
		maxLive:  sz.routes,
		period:   5 * time.Second,
		periods:  sz.warmup + sz.rounds,
		warmup:   sz.warmup,
		settle:   30 * time.Second,
		rateMin:  500,
		rateMax:  40_000,
		phaseMin: 500 * time.Millisecond,
		phaseMax: 3 * time.Second,
		flapMin:  10 * time.Second,
		flapMax:  30 * time.Second,
		mix:      defaultMixConfig(),
		watchers: soakWatchers,
		seed:     1,
	}
	if quick {
		cfg.period, cfg.settle = 3*time.Second, 15*time.Second
		cfg.flapMin, cfg.flapMax = 4*time.Second, 8*time.Second
	}
	if cfg.maxLive < 100 || cfg.maxLive > 1<<17 {
		return cfg, fmt.Errorf("soak: -routes must be between 100 and %s (the pool of destinations is twice the window)", count(1<<17))
	}
	if sz.rounds < 1 {
		return cfg, errors.New("soak: -rounds must be at least 1")
	}
	return cfg, nil
}

func (cfg *soakConfig) duration() time.Duration { return time.Duration(cfg.periods) * cfg.period }

// checkpointLive is the live count at every checkpoint, so that memory
// samples compare equal tables.
func (cfg *soakConfig) checkpointLive() int { return cfg.maxLive / 2 }

func runSoak(env *runEnv, sz size) ([]*ScenarioResult, error) {
	cfg, err := soakConfigFor(env.quick, sz)
	if err != nil {
		return nil, err
	}
	if !env.quick && !slices.Contains(named, "soak") {
		// A full run of every scenario would take ten minutes longer.
		quick, _ := soakConfigFor(true, lookup("soak").quick)
		env.progress.warn("not run: it takes %s; ask for it by name (go run . soak), or run -quick for a %s soak",
			cfg.duration(), quick.duration())
		return nil, nil
	}
	if err := needTools("ip", "nsenter"); err != nil {
		return nil, err
	}
	env.progress.setTotal(cfg.periods + 1)
	return runSoakWith(env.progress, cfg)
}

// soakRun is one soak in progress.
type soakRun struct {
	cfg      soakConfig
	p        *progress
	ns       *benchNS
	conn     *nl.Conn
	churn    *soakChurn
	mix      *soakMix
	log      *soakLog
	dumper   soakDumper
	watchers []*soakWatcher
	nexthops *soakNexthopWatcher
	start    time.Time
	samples  []soakSample
	// churnErr is a failure of the churn itself or of the kernel check of
	// its model; watcher failures are kept by each watcher.
	churnErr    error
	churnOK     int // checkpoints at which the kernel matched the churn's model
	checkpoints int // checkpoints begun
	// collisions counts the routes of the checkpoints' first dumps whose
	// key another route of the same dump had (the watchers' tables cannot
	// hold both); collided describes the first few.
	collisions int
	collided   []string
}

type soakSample struct {
	checkpoint int
	at         time.Duration
	live       int
	res        soakResources
}

// runSoakWith runs a soak and reports it. An error is returned only when
// the soak could not start; a failure during it is reported in the rows,
// with every figure gathered until then.
func runSoakWith(p *progress, cfg soakConfig) ([]*ScenarioResult, error) {
	before := sampleResources()
	fdsBefore := openFDs()
	u0, s0 := rusageSelf()
	s := &soakRun{cfg: cfg, p: p}
	if err := s.setup(); err != nil {
		s.teardown()
		return nil, err
	}
	s.start = time.Now()
	loopErr := s.loop()
	took := time.Since(s.start)
	u1, s1 := rusageSelf()
	s.teardown()
	gLeft, fdLeft, leakErr := waitReleased(before.goroutines, fdsBefore, 10*time.Second)
	results, resources := s.results(loopErr, leakErr, before, gLeft, fdLeft, took, u1-u0, s1-s0)
	// Sampled once nothing refers to the watchers' tables or the churn's
	// model any more, so the heap after Close shows what stayed behind.
	s = nil
	fillAfterClose(resources, sampleResources())
	return results, nil
}

func (s *soakRun) setup() error {
	ns, err := newBenchNS()
	if err != nil {
		return err
	}
	s.ns = ns
	v0, err := ns.setupVeth()
	if err != nil {
		return err
	}
	if err := ns.batch("link add w0 type veth peer name w1", "link set w0 up", "link set w1 up", "addr add 10.99.1.1/24 dev w0"); err != nil {
		return err
	}
	w0, err := ns.ifindex("w0")
	if err != nil {
		return err
	}
	// A 2 MiB buffer lets rtnl batch 4,096 requests per window.
	s.conn, err = nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(2<<20))
	if err != nil {
		return fmt.Errorf("soak: churn socket: %w", err)
	}
	links := []soakLink{{name: "v0", index: uint32(v0), up: true}, {name: "w0", index: uint32(w0), up: true}}
	s.churn = newSoakChurn(s.conn, links, 2*s.cfg.maxLive, s.cfg.seed)
	if s.log, err = openSoakLog(); err != nil {
		return err
	}
	s.mix = newSoakMix(ns, s.cfg.mix, s.cfg.seed, s.log)
	if err := s.mix.setup(); err != nil {
		return fmt.Errorf("soak: the mix's links: %w", err)
	}
	for _, sp := range s.cfg.watchers {
		w, err := openSoakWatcher(ns.Path(), sp, s.cfg.period, s.log)
		if err != nil {
			return err
		}
		s.watchers = append(s.watchers, w)
	}
	s.nexthops, err = openSoakNexthopWatcher(ns.Path(), s.cfg.period)
	return err
}

// teardown closes everything setup made, in reverse order. A watcher
// that does not close cleanly keeps the error for its row.
func (s *soakRun) teardown() {
	if s.mix != nil {
		s.mix.halt()
	}
	for _, w := range s.watchers {
		w.closeErr = w.close()
	}
	if s.nexthops != nil {
		s.nexthops.closeErr = s.nexthops.close()
	}
	if s.conn != nil {
		if err := s.conn.Close(); err != nil && s.churnErr == nil {
			s.churnErr = fmt.Errorf("closing the churn's socket: %w", err)
		}
	}
	s.dumper.release()
	if s.ns != nil {
		_, _ = s.ns.ip("link", "del", "w0")
		if s.mix != nil {
			s.mix.teardown()
		}
		s.ns.close()
	}
	s.log.close()
}

func (s *soakRun) loop() error {
	ctx := context.Background()
	live := s.cfg.checkpointLive()
	if err := s.churn.resize(ctx, live); err != nil {
		s.churnErr = err
		return err
	}
	if err := s.checkpoint(ctx, 0); err != nil {
		return err
	}
	s.p.step("checkpoint 0: the watchers' first snapshot")
	plan := newSoakPlan(&s.cfg, s.churn, time.Now())
	s.mix.start(time.Now())
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for k := 1; k <= s.cfg.periods; k++ {
		// Each period gets at least half its time of churn, even after a
		// slow checkpoint.
		due := start.Add(time.Duration(k) * s.cfg.period)
		if least := time.Now().Add(s.cfg.period / 2); due.Before(least) {
			due = least
		}
		for now := time.Now(); now.Before(due); now = time.Now() {
			if err := plan.tick(ctx, s.churn, now); err != nil {
				s.churnErr = err
				return err
			}
			<-tick.C
		}
		s.mix.pause()
		err := s.pause(ctx, plan, k, live)
		now := time.Now()
		s.mix.resume(now)
		if err != nil {
			return err
		}
		plan.resume(now)
		what := "checkpoint"
		if k <= s.cfg.warmup {
			what = "warm-up checkpoint"
		}
		var resyncs int64
		var repairs uint64
		for _, w := range s.watchers {
			resyncs += w.resyncs.Load()
			repairs += w.w.Stats().Repairs
		}
		asked, _ := s.mix.totals()
		s.p.step(fmt.Sprintf("%s %d/%d: %s changes, %s mixed, %d resyncs, %d repairs", what, k, s.cfg.periods,
			count(int(s.churn.changes())), count(asked), resyncs, repairs))
	}
	return nil
}

// pause ends period k: the route churn stops (with the mix held by the
// caller), the live count is brought back, and checkpoint k runs.
func (s *soakRun) pause(ctx context.Context, plan *soakPlan, k, live int) error {
	if err := s.mix.err; err != nil {
		s.churnErr = err
		return err
	}
	if err := plan.pause(ctx, s.churn); err != nil {
		s.churnErr = err
		return err
	}
	if err := s.churn.resize(ctx, live); err != nil {
		s.churnErr = err
		return err
	}
	return s.checkpoint(ctx, k)
}

// stableWrong is how long a quiet watcher's table must stay different from
// the kernel's before the checkpoint counts it as wrong (a wrong table
// stays wrong until something makes the watcher resync).
const stableWrong = time.Second

// checkpoint checks the churn's model and then each watcher's table
// against the kernel, and samples the process's resources. A watcher
// whose table differs fails the checkpoint (and the soak) but the soak
// goes on, so that the report says how often it happens; only a failure
// of the churn, of the kernel dump or of a watcher itself ends it.
func (s *soakRun) checkpoint(ctx context.Context, k int) error {
	s.checkpoints++
	t0 := time.Now()
	six := s.watchesIPv6()
	s.log.printf("checkpoint %d begins", k)
	first, routes, err := s.dumper.dump(ctx, s.churn, six)
	if err == nil {
		err = s.churn.checkKernel(routes)
	}
	if err != nil {
		s.churnErr = fmt.Errorf("checkpoint %d: %w", k, err)
		return s.churnErr
	}
	s.churnOK++
	s.collisions += len(first.dups)
	for _, r := range first.dups {
		if len(s.collided) < 4 {
			o := first.byKey[r.Key()]
			s.collided = append(s.collided, fmt.Sprintf("checkpoint %d: %v and %v", k, o, r))
		}
	}
	pending := slices.Clone(s.watchers)
	for _, w := range pending {
		w.checks++
		w.lastProgress = w.progress()
		w.wrongSince = time.Time{}
	}
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	deadline := t0.Add(s.cfg.settle)
	fail := func(w *soakWatcher, what string) {
		w.failed++
		msg := fmt.Sprintf("checkpoint %d (%s into the soak, %s live routes, %s after the pause): %s; watcher stats %+v",
			k, time.Since(s.start).Round(time.Second), count(len(s.churn.live)), time.Since(t0).Round(time.Millisecond), what, w.w.Stats())
		if w.firstFailure == "" {
			w.firstFailure = msg
		}
		w.lastFailure = msg
		s.p.warn("%s: %s", w.name, msg)
	}
	for len(pending) > 0 {
		<-tick.C
		kernel, _, err := s.dumper.dump(ctx, s.churn, six)
		if err != nil {
			s.churnErr = fmt.Errorf("checkpoint %d: %w", k, err)
			return s.churnErr
		}
		// The watchers' event sockets are the namespace's only group
		// members: empty queues mean none has anything left to read.
		queued, qerr := queuedEventBytes(s.ns.NetNS)
		if qerr != nil {
			queued = 0 // progress alone then says when a watcher is quiet
		}
		timeUp := time.Now().After(deadline)
		next := pending[:0]
		for _, w := range pending {
			if err := w.w.Err(); err != nil {
				w.stopped = fmt.Sprintf("checkpoint %d: the watcher stopped: %v", k, err)
				return errors.New(w.name + ": " + w.stopped)
			}
			pr := w.progress()
			quiet := pr == w.lastProgress && !w.busy.Load() && queued == 0
			w.lastProgress = pr
			if !quiet {
				w.wrongSince = time.Time{}
				if timeUp {
					fail(w, fmt.Sprintf("still busy after %s (resync due or running: %v, %d bytes queued in the namespace's event sockets)",
						s.cfg.settle, w.busy.Load(), queued))
					continue
				}
				next = append(next, w)
				continue
			}
			table, _ := w.w.Table().Snapshot()
			d := diffRoutes(kernel, table, w.family)
			if d.empty() {
				w.equal++
				w.settleMs = append(w.settleMs, ms(time.Since(t0)))
				continue
			}
			if w.wrongSince.IsZero() {
				w.wrongSince = time.Now()
			}
			if timeUp || time.Since(w.wrongSince) >= stableWrong {
				fail(w, "its table differs from the kernel's: "+d.String())
				continue
			}
			next = append(next, w)
		}
		pending = next
	}
	s.dumper.release()
	if err := s.checkNexthops(ctx, k, t0); err != nil {
		return err
	}
	for _, w := range s.watchers {
		st := w.w.Stats()
		w.audits = append(w.audits, [3]uint64{st.Verifications, st.Repairs, st.Collisions})
	}
	st := s.nexthops.w.Stats()
	s.nexthops.audits = append(s.nexthops.audits, [3]uint64{st.Verifications, st.Repairs, st.Collisions})
	s.log.printf("checkpoint %d ends", k)
	s.samples = append(s.samples, soakSample{checkpoint: k, at: time.Since(s.start), live: len(s.churn.live), res: sampleResources()})
	return nil
}

// checkNexthops waits, as checkpoint does for the route watchers, until
// the nexthop watcher is quiet with a table equal to `ip nexthop`.
func (s *soakRun) checkNexthops(ctx context.Context, k int, t0 time.Time) error {
	w := s.nexthops
	w.checks++
	last := w.progress()
	var wrongSince time.Time
	deadline := time.Now().Add(s.cfg.settle)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		<-tick.C
		if err := w.w.Err(); err != nil {
			w.stopped = fmt.Sprintf("checkpoint %d: the watcher stopped: %v", k, err)
			return errors.New(w.name + ": " + w.stopped)
		}
		queued, qerr := queuedEventBytes(s.ns.NetNS)
		if qerr != nil {
			queued = 0
		}
		pr := w.progress()
		quiet := pr == last && queued == 0
		last = pr
		timeUp := time.Now().After(deadline)
		fail := func(what string) {
			w.failed++
			msg := fmt.Sprintf("checkpoint %d (%s into the soak): %s; watcher stats %+v", k, time.Since(s.start).Round(time.Second), what, w.w.Stats())
			if w.firstFailure == "" {
				w.firstFailure = msg
			}
			w.lastFailure = msg
			s.p.warn("%s: %s", w.name, msg)
		}
		if !quiet {
			wrongSince = time.Time{}
			if timeUp {
				fail(fmt.Sprintf("still busy after %s", s.cfg.settle))
				return nil
			}
			continue
		}
		octx, cancel := opContext(ctx)
		kernel, err := rtnl.ListNexthops(octx, s.conn, rtnl.NexthopFilter{})
		cancel()
		if err != nil {
			s.churnErr = fmt.Errorf("checkpoint %d: nexthop dump: %w", k, err)
			return s.churnErr
		}
		table, _ := w.w.Table().Snapshot()
		d := diffNexthops(kernel, table)
		if d.empty() {
			w.equal++
			w.settleMs = append(w.settleMs, ms(time.Since(t0)))
			return nil
		}
		if wrongSince.IsZero() {
			wrongSince = time.Now()
		}
		if timeUp || time.Since(wrongSince) >= stableWrong {
			fail("its table differs from the kernel's: " + d.String())
			return nil
		}
	}
}

// watchesIPv6 reports whether a watcher follows IPv6 routes, which the
// checkpoints then dump too.
func (s *soakRun) watchesIPv6() bool {
	for _, w := range s.watchers {
		if w.family != unix.AF_INET {
			return true
		}
	}
	return false
}
