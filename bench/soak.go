package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nlrx/nlrx/nl"
)

// The soak: route watchers under continuous churn for minutes, their
// tables checked against the kernel at every checkpoint and the process's
// memory, goroutines and descriptors watched for growth. A round is one
// checkpoint period, so -rounds sets the length (-rounds 12 is a minute)
// and -routes the largest window of live routes.
func init() {
	register(&scenario{
		name:  "soak",
		title: "Soak: route watchers under continuous route churn, checked against the kernel",
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
	watchers         []soakWatcherSpec
	seed             uint64
}

// soakWatcherSpec is one watcher of the soak.
type soakWatcherSpec struct {
	name       string
	readBuffer int // 0: watch.DefaultReadBuffer
	// Every slowEvery-th event its subscriber sleeps for slowSleep on the
	// delivering goroutine (0: it only counts).
	slowEvery int
	slowSleep time.Duration
}

func (sp soakWatcherSpec) api() string {
	api := "watch.Routes(WithNetNS, WithFamily(AF_INET))"
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

// soakWatchers: the default watcher, which should never overrun; one
// with the smallest buffer and a slow consumer, which overruns all the
// time with a queue of a few notifications; and one with a 256 KiB buffer
// and the same consumer, which overruns less often but with hundreds of
// notifications queued behind each loss report.
var soakWatchers = []soakWatcherSpec{
	{name: "nlrx-watcher"},
	{name: "nlrx-watcher-slow", readBuffer: 4096, slowEvery: 8, slowSleep: 500 * time.Microsecond},
	{name: "nlrx-watcher-slow-256k", readBuffer: 256 << 10, slowEvery: 8, slowSleep: 500 * time.Microsecond},
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
	dumper   soakDumper
	watchers []*soakWatcher
	start    time.Time
	samples  []soakSample
	// churnErr is a failure of the churn itself or of the kernel check of
	// its model; watcher failures are kept by each watcher.
	churnErr    error
	churnOK     int // checkpoints at which the kernel matched the churn's model
	checkpoints int // checkpoints begun
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
	for _, sp := range s.cfg.watchers {
		w, err := openSoakWatcher(ns.Path(), sp)
		if err != nil {
			return err
		}
		s.watchers = append(s.watchers, w)
	}
	return nil
}

// teardown closes everything setup made, in reverse order. A watcher
// that does not close cleanly keeps the error for its row.
func (s *soakRun) teardown() {
	for _, w := range s.watchers {
		w.closeErr = w.close()
	}
	if s.conn != nil {
		if err := s.conn.Close(); err != nil && s.churnErr == nil {
			s.churnErr = fmt.Errorf("closing the churn's socket: %w", err)
		}
	}
	s.dumper.release()
	if s.ns != nil {
		_, _ = s.ns.ip("link", "del", "w0")
		s.ns.close()
	}
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
		if err := plan.pause(ctx, s.churn); err != nil {
			s.churnErr = err
			return err
		}
		if err := s.churn.resize(ctx, live); err != nil {
			s.churnErr = err
			return err
		}
		if err := s.checkpoint(ctx, k); err != nil {
			return err
		}
		plan.resume(time.Now())
		what := "checkpoint"
		if k <= s.cfg.warmup {
			what = "warm-up checkpoint"
		}
		var resyncs int64
		for _, w := range s.watchers {
			resyncs += w.resyncs.Load()
		}
		s.p.step(fmt.Sprintf("%s %d/%d: %s changes, %d resyncs", what, k, s.cfg.periods, count(int(s.churn.changes())), resyncs))
	}
	return nil
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
	_, routes, err := s.dumper.dump(ctx, s.churn)
	if err == nil {
		err = s.churn.checkKernel(routes)
	}
	if err != nil {
		s.churnErr = fmt.Errorf("checkpoint %d: %w", k, err)
		return s.churnErr
	}
	s.churnOK++
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
		kernel, _, err := s.dumper.dump(ctx, s.churn)
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
			d := diffRoutes(kernel, table)
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
	s.samples = append(s.samples, soakSample{checkpoint: k, at: time.Since(s.start), live: len(s.churn.live), res: sampleResources()})
	return nil
}
