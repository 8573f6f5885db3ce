//go:build linux

package watch_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

// BenchmarkRuleEvents measures the rule watcher's event path: each
// iteration adds 2,000 IPv4 rules with ip -batch and deletes them again
// (4,000 events) beside 1,000 rules that stay. It reports CPU time
// (getrusage, whole process) and heap allocations per event.
//
//	go test -run XXX -bench RuleEvents -benchtime 10x ./stream/watch/
func BenchmarkRuleEvents(b *testing.B) {
	const n = 2_000
	ns := nstest.New(b)
	lines := func(verb string, from, n int) []string {
		ls := make([]string, n)
		for i := range ls {
			ls[i] = fmt.Sprintf("rule %s pref %d from 10.%d.%d.0/24 table %d", verb, 1000+from+i, (from+i)/256, (from+i)%256, 100+i%50)
		}
		return ls
	}
	ns.Batch(lines("add", n, 1_000))
	add, del := lines("add", 0, n), lines("del", 0, n)

	w, err := watch.Rules(watch.WithNetNS(ns.Path()), watch.WithFamily(rtnl.FamilyInet))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var events atomic.Int64
	kick := make(chan struct{}, 1)
	go stream.ForEach(b.Context(), w.Events(), func(e watch.Event[rtnl.Rule]) error {
		if (e.Kind == watch.Added || e.Kind == watch.Deleted) && !e.Synthetic && events.Add(1)%n == 0 {
			kick <- struct{}{}
		}
		return nil
	})
	if err := w.WaitReady(b.Context()); err != nil {
		b.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	var ru0, ru1 unix.Rusage
	var busy time.Duration
	var bytes, mallocs uint64
	b.ResetTimer()
	for range b.N {
		for _, batch := range [][]string{add, del} {
			b.StopTimer()
			runtime.ReadMemStats(&ms0)
			unix.Getrusage(unix.RUSAGE_SELF, &ru0)
			b.StartTimer()
			ns.Batch(batch)
			select {
			case <-kick:
			case <-time.After(wait):
				b.Fatalf("only %d events after %v", events.Load(), wait)
			}
			b.StopTimer()
			unix.Getrusage(unix.RUSAGE_SELF, &ru1)
			runtime.ReadMemStats(&ms1)
			busy += time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			bytes += ms1.TotalAlloc - ms0.TotalAlloc
			mallocs += ms1.Mallocs - ms0.Mallocs
			b.StartTimer()
		}
	}
	b.StopTimer()
	total := float64(b.N * 2 * n)
	b.ReportMetric(float64(busy.Nanoseconds())/total/1000, "cpu-µs/event")
	b.ReportMetric(float64(bytes)/total, "B/event")
	b.ReportMetric(float64(mallocs)/total, "allocs/event")
	if s := w.Stats(); s.Overruns > 0 {
		b.Logf("%d overruns during the benchmark", s.Overruns)
	}
}
