package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"golang.org/x/sys/unix"
)

// soakWatcher is one route watcher of the soak and what its subscriber
// counted.
type soakWatcher struct {
	name, api string
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

	// Checkpoints.
	checks, equal, failed     int
	settleMs                  []float64
	lastProgress              uint64
	wrongSince                time.Time
	firstFailure, lastFailure string
	stopped                   string // the watcher failed (Err)
	closeErr                  error
}

func openSoakWatcher(nsPath string, sp soakWatcherSpec) (*soakWatcher, error) {
	name := sp.name
	opts := []watch.Option{watch.WithNetNS(nsPath), watch.WithFamily(unix.AF_INET), watch.WithLabel(name)}
	if sp.readBuffer > 0 {
		opts = append(opts, watch.WithReadBuffer(sp.readBuffer))
	}
	w, err := watch.Routes(opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sw := &soakWatcher{name: name, api: sp.api(), w: w, slowEvery: sp.slowEvery, slowSleep: sp.slowSleep, done: make(chan error, 1)}
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
				} else {
					sw.live[ev.Kind-watch.Added].Add(1)
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

// progress is a number that moves whenever the watcher reads or emits.
func (sw *soakWatcher) progress() uint64 {
	st := sw.w.Stats()
	return st.Messages + st.Resyncs + st.DumpRetries + uint64(sw.events.Load())
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
	missing, extra, differ int
	examples               []string
}

func (d routeDiff) empty() bool { return d.missing+d.extra+d.differ == 0 }

func (d routeDiff) String() string {
	return fmt.Sprintf("%d routes missing from the watcher's table, %d it has that the kernel has not, %d with other attributes; %s",
		d.missing, d.extra, d.differ, strings.Join(d.examples, "; "))
}

// diffRoutes compares a watcher's table with the kernel's routes (cloned
// routes left out, as the watcher leaves them out).
func diffRoutes(kernel map[rtnl.RouteKey]*rtnl.Route, table map[rtnl.RouteKey]rtnl.Route) routeDiff {
	var d routeDiff
	example := func(format string, args ...any) {
		if len(d.examples) < 4 {
			d.examples = append(d.examples, fmt.Sprintf(format, args...))
		}
	}
	for k, kr := range kernel {
		wr, ok := table[k]
		switch {
		case !ok:
			d.missing++
			example("missing %v", kr)
		case !wr.Equal(kr):
			d.differ++
			example("kernel %v (flags %#x), watcher %v (flags %#x)", kr, kr.Flags, &wr, wr.Flags)
		}
	}
	for k, wr := range table {
		if _, ok := kernel[k]; !ok {
			d.extra++
			example("extra %v", &wr)
		}
	}
	return d
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

// soakDumper dumps the namespace's IPv4 routes into reused memory.
type soakDumper struct {
	mu     sync.Mutex
	routes []rtnl.Route
	byKey  map[rtnl.RouteKey]*rtnl.Route
}

func (d *soakDumper) dump(ctx context.Context, ch *soakChurn) (map[rtnl.RouteKey]*rtnl.Route, []rtnl.Route, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	for range 5 {
		ctx, cancel := opContext(ctx)
		d.routes, err = rtnl.AppendRoutes(ctx, ch.c, d.routes[:0], rtnl.RouteFilter{Family: rtnl.FamilyInet})
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kernel dump: %w", err)
	}
	if d.byKey == nil {
		d.byKey = make(map[rtnl.RouteKey]*rtnl.Route, len(d.routes))
	}
	clear(d.byKey)
	for i := range d.routes {
		r := &d.routes[i]
		if r.Flags&rtnl.RouteFlagCloned == 0 {
			d.byKey[r.Key()] = r
		}
	}
	return d.byKey, d.routes, nil
}

// release drops the dump's memory, so that resource samples see only what
// the watchers and the churn hold.
func (d *soakDumper) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes, d.byKey = nil, nil
}
