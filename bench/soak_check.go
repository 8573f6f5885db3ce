package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// soakWatcher is one route watcher of the soak and what its subscriber
// counted.
type soakWatcher struct {
	name, api string
	family    uint8 // 0: both
	w         *watch.RouteWatcher
	// Every slowEvery-th event the subscriber sleeps for slowSleep, on the
	// goroutine that delivers the events: a consumer that falls behind.
	slowEvery int
	slowSleep time.Duration
	done      chan error

	live, synth [3]atomic.Int64 // Added, Changed, Deleted
	overruns    atomic.Int64
	resyncs     atomic.Int64
	events      atomic.Int64 // every event, markers too: moves while the watcher works
	// busy is set by Overrun and ResyncStarted and cleared by
	// ResyncComplete: a resync is due or running.
	busy atomic.Bool

	// The events of verifications that repaired the table (the synthetic
	// events outside a resync that follow a rise of Stats.Repairs, until
	// the next live event), kept for the report and the log.
	start                        time.Time
	log                          *soakLog
	seenRepairs                  uint64 // on the delivering goroutine
	repairing                    bool
	churnShown                   int // events of the route churn's routes logged since the rise
	repairMu                     sync.Mutex
	repaired                     []string // the first few, of the route churn's routes and of the others
	repairedChurn, repairedOther int
	// audits holds Verifications, Repairs and Collisions at each checkpoint.
	audits [][3]uint64

	// Checkpoints.
	checks, equal, failed     int
	settleMs                  []float64
	lastProgress              uint64
	wrongSince                time.Time
	firstFailure, lastFailure string
	stopped                   string // the watcher failed (Err)
	closeErr                  error
}

func openSoakWatcher(nsPath string, sp soakWatcherSpec, period time.Duration, log *soakLog) (*soakWatcher, error) {
	name := sp.name
	opts := []watch.Option{watch.WithNetNS(nsPath), watch.WithLabel(name)}
	if sp.family != 0 {
		opts = append(opts, watch.WithFamily(rtnl.Family(sp.family)))
	}
	if sp.audit {
		opts = append(opts, watch.WithAudit(period))
	}
	if sp.readBuffer > 0 {
		opts = append(opts, watch.WithReadBuffer(sp.readBuffer))
	}
	if log != nil {
		// The watcher's warnings (losses, repairs with the entries they
		// changed) go to the soak's log.
		opts = append(opts, watch.WithLogger(slog.New(slog.NewTextHandler(soakLogWriter{log, name}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	}
	w, err := watch.Routes(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sw := &soakWatcher{name: name, api: sp.api(period), family: sp.family, w: w, slowEvery: sp.slowEvery, slowSleep: sp.slowSleep,
		done: make(chan error, 1), start: time.Now(), log: log}
	snapshot := make(chan struct{})
	go func() {
		n := 0
		// Subscribing starts the watcher, so this subscriber sees the
		// initial dump too.
		sw.done <- stream.ForEach(context.Background(), w.Events(), func(ev watch.Event[rtnl.Route]) error {
			sw.events.Add(1)
			switch ev.Kind {
			case watch.Added, watch.Changed, watch.Deleted:
				if ev.Synthetic {
					sw.synth[ev.Kind-watch.Added].Add(1)
					if !sw.busy.Load() {
						sw.noteRepair(&ev)
					}
				} else {
					sw.live[ev.Kind-watch.Added].Add(1)
					sw.repairing = false
				}
			case watch.SnapshotComplete:
				close(snapshot)
			case watch.Overrun:
				sw.overruns.Add(1)
				sw.busy.Store(true)
			case watch.ResyncStarted:
				sw.resyncs.Add(1)
				sw.busy.Store(true)
			case watch.ResyncComplete:
				sw.busy.Store(false)
			}
			if sw.slowEvery > 0 {
				if n++; n%sw.slowEvery == 0 {
					time.Sleep(sw.slowSleep)
				}
			}
			return nil
		})
	}()
	select {
	case <-snapshot:
		return sw, nil
	case err := <-sw.done:
		w.Close()
		return nil, fmt.Errorf("%s: event stream ended before the initial snapshot: %v", name, err)
	case <-time.After(30 * time.Second):
		w.Close()
		<-sw.done
		return nil, fmt.Errorf("%s: no initial snapshot within 30 s", name)
	}
}

// noteRepair keeps ev if it is one of a verification that repaired the
// table: Stats.Repairs rises before the verification emits its events.
func (sw *soakWatcher) noteRepair(ev *watch.Event[rtnl.Route]) {
	if r := sw.w.Stats().Repairs; r != sw.seenRepairs {
		sw.seenRepairs, sw.repairing, sw.churnShown = r, true, 0
	}
	if !sw.repairing {
		return
	}
	if soakNet.Contains(ev.Value.Dst.Addr()) {
		// A verification during the route churn's bursts also sets right
		// thousands of its routes that notifications in flight explain:
		// a few show the pattern.
		if sw.churnShown++; sw.churnShown > 8 {
			return
		}
	}
	what := fmt.Sprintf("%s %v", ev.Kind, &ev.Value)
	if ev.Kind == watch.Changed {
		what += fmt.Sprintf(" (flags %#x; was %v, flags %#x)", ev.Value.Flags, &ev.Old, ev.Old.Flags)
	}
	at := time.Since(sw.start).Seconds()
	sw.log.printf("repair %s (repairs %d): %s", sw.name, sw.seenRepairs, what)
	sw.repairMu.Lock()
	if churn := soakNet.Contains(ev.Value.Dst.Addr()); churn && sw.repairedChurn < 2 || !churn && sw.repairedOther < 6 {
		if churn {
			sw.repairedChurn++
		} else {
			sw.repairedOther++
		}
		sw.repaired = append(sw.repaired, fmt.Sprintf("%.1f s: %s", at, what))
	}
	sw.repairMu.Unlock()
}

// progress is a number that moves whenever the watcher reads, emits or
// verifies.
func (sw *soakWatcher) progress() uint64 {
	st := sw.w.Stats()
	return st.Messages + st.Resyncs + st.DumpRetries + st.Verifications + uint64(sw.events.Load())
}

// close stops the watcher and waits (bounded) for its subscriber.
func (sw *soakWatcher) close() error {
	sw.w.Close()
	select {
	case err := <-sw.done:
		if err != nil {
			return fmt.Errorf("%s: event stream ended with %w", sw.name, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: event stream still open 10 s after Close", sw.name)
	}
}

// routeDiff is how a watcher's table differs from a kernel dump.
type routeDiff struct {
	missing, extra, differ, collided int
	examples                         []string
	noun                             string // what is compared: "" for routes
}

func (d routeDiff) empty() bool { return d.missing+d.extra+d.differ+d.collided == 0 }

func (d routeDiff) String() string {
	noun := d.noun
	if noun == "" {
		noun = "routes"
	}
	s := fmt.Sprintf("%d %s missing from the watcher's table, %d it has that the kernel has not, %d with other attributes",
		d.missing, noun, d.extra, d.differ)
	if d.collided > 0 {
		s += fmt.Sprintf(", %d kernel %s whose key another kernel entry has (a table keyed by RouteKey cannot hold both)", d.collided, noun)
	}
	return s + "; " + strings.Join(d.examples, "; ")
}

// soakKernel is a kernel dump as a multiset keyed by RouteKey: byKey holds
// the first route of each key, dups the routes whose key an earlier route
// of the dump had.
type soakKernel struct {
	byKey map[rtnl.RouteKey]*rtnl.Route
	dups  []*rtnl.Route
}

// diffRoutes compares a watcher's table with the kernel's routes of
// family (0: both), cloned routes left out as the watcher leaves them out.
// The kernel's routes are a multiset: a key it has twice is a difference
// whatever the table holds.
func diffRoutes(kernel *soakKernel, table map[rtnl.RouteKey]rtnl.Route, family uint8) routeDiff {
	var d routeDiff
	example := func(format string, args ...any) {
		if len(d.examples) < 4 {
			d.examples = append(d.examples, fmt.Sprintf(format, args...))
		}
	}
	in := func(f rtnl.Family) bool { return family == 0 || rtnl.Family(family) == f }
	for k, kr := range kernel.byKey {
		if !in(k.Family()) {
			continue
		}
		wr, ok := table[k]
		switch {
		case !ok:
			d.missing++
			example("missing %v", kr)
		case !sameSoakRoute(&wr, kr):
			d.differ++
			example("kernel %v (flags %#x), watcher %v (flags %#x)", kr, kr.Flags, &wr, wr.Flags)
		}
	}
	for _, kr := range kernel.dups {
		if in(kr.Family) {
			d.collided++
			example("the kernel has %v and %v under one key", kernel.byKey[kr.Key()], kr)
		}
	}
	for k, wr := range table {
		if _, ok := kernel.byKey[k]; !ok {
			d.extra++
			example("extra %v", &wr)
		}
	}
	return d
}

// sameSoakRoute is Route.Equal, except that the remaining lifetime of an
// expiring route counts down between a notification and a dump.
func sameSoakRoute(a, b *rtnl.Route) bool {
	if (a.Expires == 0) != (b.Expires == 0) {
		return false
	}
	x := *a
	x.Expires = b.Expires
	return x.Equal(b)
}

// soakResources is what the process holds at one moment.
type soakResources struct {
	rssKiB     float64 // VmRSS
	hwmKiB     float64 // VmHWM: the process's peak RSS so far
	heap       float64 // Go heap objects after a collection (bytes)
	heapSys    float64 // heap memory obtained from the OS (bytes)
	goroutines int
	fds        int
}

// sampleResources collects garbage first, so that the heap figure is the
// live heap and comparable between samples.
func sampleResources() soakResources {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss, hwm := procStatusKiB()
	return soakResources{
		rssKiB:     rss,
		hwmKiB:     hwm,
		heap:       float64(m.HeapAlloc),
		heapSys:    float64(m.HeapSys),
		goroutines: runtime.NumGoroutine(),
		fds:        len(openFDs()),
	}
}

// procStatusKiB reads VmRSS and VmHWM from /proc/self/status.
func procStatusKiB() (rss, hwm float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1, -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm
}

// openFDs returns the process's open descriptors and what each refers to,
// leaving out the one that reads the list.
func openFDs() map[int]string {
	self := fmt.Sprintf("/proc/%d/fd", os.Getpid())
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	fds := make(map[int]string, len(es))
	for _, e := range es {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || target == self {
			continue // closed meanwhile, or the directory being read
		}
		fds[n] = target
	}
	return fds
}

// waitReleased waits (bounded) until the goroutines and descriptors are
// back to what they were before the soak, and describes what is left.
func waitReleased(goroutines int, fds map[int]string, within time.Duration) (gLeft, fdLeft int, err error) {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var extra []string
		for fd, target := range openFDs() {
			if old, ok := fds[fd]; !ok || old != target {
				extra = append(extra, fmt.Sprintf("fd %d → %s", fd, target))
			}
		}
		gLeft, fdLeft = max(runtime.NumGoroutine()-goroutines, 0), len(extra)
		if gLeft == 0 && fdLeft == 0 {
			return 0, 0, nil
		}
		if time.Now().After(deadline) {
			var msgs []string
			if gLeft > 0 {
				msgs = append(msgs, fmt.Sprintf("%d goroutines more than before the soak: %s", gLeft, goroutineSummary()))
			}
			if fdLeft > 0 {
				sort.Strings(extra)
				msgs = append(msgs, fmt.Sprintf("%d descriptors more than before the soak: %s", fdLeft, firstFew(extra, 8)))
			}
			return gLeft, fdLeft, errors.New(strings.Join(msgs, "; "))
		}
		<-tick.C
	}
}

// goroutineSummary names the functions the goroutines are in, with counts.
func goroutineSummary() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		fn := "?"
		// The first frame below the header that is not in the runtime.
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "runtime.") && l != "" {
				fn = l
				break
			}
		}
		counts[fn]++
	}
	var out []string
	for fn, n := range counts {
		out = append(out, fmt.Sprintf("%d× %s", n, fn))
	}
	sort.Strings(out)
	return firstFew(out, 12)
}

func firstFew(ss []string, n int) string {
	if len(ss) <= n {
		return strings.Join(ss, "; ")
	}
	return strings.Join(ss[:n], "; ") + fmt.Sprintf("; … (%d more)", len(ss)-n)
}

// soakDumper dumps the namespace's IPv4 routes, and its IPv6 routes when
// asked, into reused memory.
type soakDumper struct {
	mu     sync.Mutex
	routes []rtnl.Route
	kernel soakKernel
}

func (d *soakDumper) dump(ctx context.Context, ch *soakChurn, six bool) (*soakKernel, []rtnl.Route, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes = d.routes[:0]
	families := []rtnl.Family{rtnl.FamilyInet}
	if six {
		families = append(families, rtnl.FamilyInet6)
	}
	for _, fam := range families {
		n := len(d.routes)
		var err error
		for range 5 {
			ctx, cancel := opContext(ctx)
			d.routes, err = rtnl.AppendRoutes(ctx, ch.c, d.routes[:n], rtnl.RouteFilter{Family: fam})
			cancel()
			if err == nil {
				break
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("kernel dump: %w", err)
		}
	}
	k := &d.kernel
	if k.byKey == nil {
		k.byKey = make(map[rtnl.RouteKey]*rtnl.Route, len(d.routes))
	}
	clear(k.byKey)
	k.dups = k.dups[:0]
	for i := range d.routes {
		r := &d.routes[i]
		if r.Flags&rtnl.RouteFlagCloned != 0 {
			continue
		}
		k.add(r)
	}
	return k, d.routes, nil
}

// add puts r in the multiset: an IPv6 twin (rtnl.RouteKey.Copy) under the
// next copy of its key, as the watcher keys it; a second IPv4 route under
// one key is a collision.
func (k *soakKernel) add(r *rtnl.Route) {
	key := r.Key()
	if _, dup := k.byKey[key]; dup {
		if r.Family != rtnl.FamilyInet6 {
			k.dups = append(k.dups, r)
			return
		}
		for n := uint8(1); n < 255; n++ {
			if _, taken := k.byKey[key.WithCopy(n)]; !taken {
				key = key.WithCopy(n)
				break
			}
		}
	}
	k.byKey[key] = r
}

// release drops the dump's memory, so that resource samples see only what
// the watchers and the churn hold.
func (d *soakDumper) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes, d.kernel = nil, soakKernel{}
}

// soakNexthopWatcher is the soak's watcher of nexthop objects, checked
// against `ip nexthop` (rtnl.ListNexthops) at every checkpoint.
type soakNexthopWatcher struct {
	name, api string
	w         *watch.NexthopWatcher
	done      chan error

	live, synth [3]atomic.Int64 // Added, Changed, Deleted
	events      atomic.Int64

	checks, equal, failed     int
	settleMs                  []float64
	firstFailure, lastFailure string
	stopped                   string
	closeErr                  error
	audits                    [][3]uint64
}

func openSoakNexthopWatcher(nsPath string, period time.Duration) (*soakNexthopWatcher, error) {
	const name = "nlrx-nexthop-watcher"
	w, err := watch.Nexthops(watch.WithNetNS(nsPath), watch.WithLabel(name), watch.WithAudit(period))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sw := &soakNexthopWatcher{name: name, w: w, done: make(chan error, 1),
		api: fmt.Sprintf("watch.Nexthops(WithNetNS, WithAudit(%s)), default options; the subscriber counts", period)}
	snapshot := make(chan struct{})
	go func() {
		sw.done <- stream.ForEach(context.Background(), w.Events(), func(ev watch.Event[rtnl.Nexthop]) error {
			sw.events.Add(1)
			switch ev.Kind {
			case watch.Added, watch.Changed, watch.Deleted:
				if ev.Synthetic {
					sw.synth[ev.Kind-watch.Added].Add(1)
				} else {
					sw.live[ev.Kind-watch.Added].Add(1)
				}
			case watch.SnapshotComplete:
				close(snapshot)
			}
			return nil
		})
	}()
	select {
	case <-snapshot:
		return sw, nil
	case err := <-sw.done:
		w.Close()
		return nil, fmt.Errorf("%s: event stream ended before the initial snapshot: %v", name, err)
	case <-time.After(30 * time.Second):
		w.Close()
		<-sw.done
		return nil, fmt.Errorf("%s: no initial snapshot within 30 s", name)
	}
}

func (sw *soakNexthopWatcher) progress() uint64 {
	st := sw.w.Stats()
	return st.Messages + st.Resyncs + st.DumpRetries + st.Verifications + uint64(sw.events.Load())
}

func (sw *soakNexthopWatcher) close() error {
	sw.w.Close()
	select {
	case err := <-sw.done:
		if err != nil {
			return fmt.Errorf("%s: event stream ended with %w", sw.name, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: event stream still open 10 s after Close", sw.name)
	}
}

// diffNexthops compares the watcher's nexthops with the kernel's.
func diffNexthops(kernel []rtnl.Nexthop, table map[uint32]rtnl.Nexthop) routeDiff {
	d := routeDiff{noun: "nexthops"}
	example := func(format string, args ...any) {
		if len(d.examples) < 4 {
			d.examples = append(d.examples, fmt.Sprintf(format, args...))
		}
	}
	seen := make(map[uint32]bool, len(kernel))
	for i := range kernel {
		kn := &kernel[i]
		if seen[kn.ID] {
			d.collided++
			example("the kernel lists nexthop %d twice", kn.ID)
			continue
		}
		seen[kn.ID] = true
		wn, ok := table[kn.ID]
		switch {
		case !ok:
			d.missing++
			example("missing %v", kn)
		case !wn.Equal(kn):
			d.differ++
			example("kernel %v, watcher %v", kn, &wn)
		}
	}
	for id, wn := range table {
		if !seen[id] {
			d.extra++
			example("extra %v", &wn)
		}
	}
	return d
}

// soakLogWriter writes a watcher's log records to the soak's log.
type soakLogWriter struct {
	log  *soakLog
	name string
}

func (w soakLogWriter) Write(p []byte) (int, error) {
	w.log.printf("log %s: %s", w.name, strings.TrimSpace(string(p)))
	return len(p), nil
}
