package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
	"github.com/reactivex/rxgo/v2"
	"github.com/samber/ro"
)

func init() {
	register(&scenario{
		name:  "stream",
		title: "Filter → Map → collect: nlrx stream/operators against rxgo v2.5.0 and samber/ro v0.3.0",
		run:   runStream,
		full:  size{routes: 1_000_000, rounds: 7, warmup: 1},
		quick: size{routes: 100_000, rounds: 3, warmup: 1},
	})
}

// streamMsg is the item of the stream scenario: a 12-byte stand-in for a
// decoded notification, the same shape as in research/reactive.md.
type streamMsg struct {
	Kind  uint16
	Dst   [4]byte
	Len   uint8
	Table uint32
}

func keepRoute(m streamMsg) bool   { return m.Kind == 24 }
func routeDst(m streamMsg) [4]byte { return m.Dst }

// collector holds the output slice in a struct of its own: research found
// that a slice header captured by a closure can land on a cache-line split
// and triple the cost of a tight loop.
type collector struct {
	out [][4]byte
	_   [40]byte
}

func runStream(env *runEnv, sz size) ([]*ScenarioResult, error) {
	n := sz.routes
	items := make([]streamMsg, n)
	for i := range items {
		items[i] = streamMsg{Kind: 24, Len: 32, Table: 254}
		if i%2 == 1 {
			items[i].Kind = 25
		}
		items[i].Dst = [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
	}
	want := (n + 1) / 2
	col := &collector{out: make([][4]byte, 0, want)}
	check := func(name string, out [][4]byte) error {
		if len(out) != want {
			return fmt.Errorf("%s collected %d items, want %d", name, len(out), want)
		}
		if out[0] != items[0].Dst || out[len(out)-1] != items[2*(want-1)].Dst {
			return fmt.Errorf("%s collected the wrong items", name)
		}
		return nil
	}
	ctx := context.Background()
	nlrxPipe := func() stream.Observable[[4]byte] {
		return operators.Map(operators.Filter(stream.FromSlice(items), keepRoute), routeDst)
	}
	rxPipe := func(opts ...rxgo.Option) rxgo.Observable {
		return rxgo.Defer([]rxgo.Producer{func(_ context.Context, next chan<- rxgo.Item) {
			for _, m := range items {
				next <- rxgo.Of(m)
			}
		}}, opts...).
			Filter(func(v any) bool { return keepRoute(v.(streamMsg)) }, opts...).
			Map(func(_ context.Context, v any) (any, error) { return routeDst(v.(streamMsg)), nil }, opts...)
	}
	drainRx := func(obs rxgo.Observable) error {
		for it := range obs.Observe() {
			if it.E != nil {
				return it.E
			}
			switch v := it.V.(type) {
			case [4]byte:
				col.out = append(col.out, v)
			case [][4]byte:
				col.out = append(col.out, v...)
			default:
				return fmt.Errorf("rxgo item of type %T", it.V)
			}
		}
		return nil
	}
	type variant struct {
		name, api string
		run       func() error
	}
	variants := []variant{
		{"loop", "hand-written for loop with the same predicate and projection", func() error {
			for _, m := range items {
				if keepRoute(m) {
					col.out = append(col.out, routeDst(m))
				}
			}
			return nil
		}},
		{"nlrx", "stream.FromSlice → operators.Filter → operators.Map → stream.AppendTo", func() error {
			var err error
			col.out, err = stream.AppendTo(ctx, col.out, nlrxPipe())
			return err
		}},
		{"nlrx-torx", "the nlrx pipeline → rx.ToRx (buffer 1024) → range Observe(): rxgo gets the 50 % that pass", func() error {
			return drainRx(rx.ToRx(ctx, nlrxPipe(), rxgo.WithBufferedChannel(1024)))
		}},
		{"nlrx-torx-batched", "the nlrx pipeline → rx.ToRxBatched (buffer 16) → range Observe(), []T per rxgo item", func() error {
			return drainRx(rx.ToRxBatched(ctx, nlrxPipe(), rxgo.WithBufferedChannel(16)))
		}},
		{"rxgo", "rxgo.Defer(producer).Filter().Map(), default options (unbuffered), range Observe()", func() error {
			return drainRx(rxPipe())
		}},
		{"rxgo-buffered", "the same with rxgo.WithBufferedChannel(1024) on every stage", func() error {
			return drainRx(rxPipe(rxgo.WithBufferedChannel(1024)))
		}},
		{"samber-ro", "ro.Pipe2(ro.FromSlice, ro.Filter, ro.Map).Subscribe(ro.NewObserver(…))", func() error {
			obs := ro.Pipe2(ro.FromSlice(items), ro.Filter(keepRoute), ro.Map(routeDst))
			done := make(chan error, 1)
			obs.Subscribe(ro.NewObserver(
				func(v [4]byte) { col.out = append(col.out, v) },
				func(err error) { done <- err },
				func() { done <- nil },
			))
			select {
			case err := <-done:
				return err
			case <-time.After(time.Minute):
				return errors.New("samber/ro: no completion within a minute")
			}
		}},
	}
	var ims []impl
	for _, v := range variants {
		floor := "loop"
		if v.name == "loop" {
			floor = ""
		}
		ims = append(ims, impl{name: v.name, api: v.api, floor: floor, run: func() (sample, error) {
			col.out = col.out[:0]
			smp, err := measureInProc(func() (runResult, error) {
				if err := v.run(); err != nil {
					return runResult{}, err
				}
				return runResult{items: n, recvs: -1}, check(v.name, col.out)
			})
			if err != nil {
				return nil, err
			}
			smp[mNsPerItem] = smp[mWall] * 1e6 / float64(n)
			smp[mCPUnsPerEvent] = smp[mCPU] * 1e6 / float64(n)
			smp[mAllocsPerEv] = smp[mAllocs] / float64(n)
			smp[mBytesPerEv] = smp[mBytes] / float64(n)
			return smp, nil
		}})
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	rows := buildRows(ss, []string{mNsPerItem, mCPUnsPerEvent, mAllocsPerEv, mBytesPerEv}, mNsPerItem, []string{mCPUnsPerEvent})
	res := &ScenarioResult{
		Name:    "stream",
		Title:   "Filter → Map → collect: nlrx stream/operators against rxgo v2.5.0 and samber/ro v0.3.0",
		Primary: mNsPerItem,
		Setup: []string{
			fmt.Sprintf("%s items of a 12-byte struct, every other one passing the filter; the %s results are appended to one preallocated [][4]byte, so about 2 B/item of output is the floor (research/reactive.md §4.1, same pipeline).", count(n), count(want)),
			fmt.Sprintf("%d rounds after %d warm-up rounds, each round starting one variant further down; ns/item is wall time over the input items, the ratio is to the plain loop of the same round. CPU counts every thread (rxgo runs a goroutine per stage).", sz.rounds, sz.warmup),
		},
		Rows:    rows,
		columns: streamColumns,
		Targets: []Target{
			{What: "typed Filter → Map → collect, ns/item", Impl: "nlrx", Metric: mNsPerItem, Limit: 5},
			{What: "rxgo bridge, batched, ns/item", Impl: "nlrx-torx-batched", Metric: mNsPerItem, Limit: 15},
		},
		charts: []chartSpec{{file: "stream.svg", title: fmt.Sprintf("Filter → Map → collect, %s items: ns/item ÷ plain loop", count(n)), metric: "ratio"}},
	}
	return []*ScenarioResult{res}, nil
}

const mNsPerItem = "ns_per_item"

var streamColumns = []column{
	{"variant", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"ns/item, median (min–max)", func(r *Row) string { return fmtStat(r.Metrics[mNsPerItem], 1) }},
	{"× loop (min–max)", func(r *Row) string {
		if r.Floor == "" {
			return "1 (floor)"
		}
		if !r.Ratio.Valid() {
			return "—"
		}
		return fmtStat(r.Ratio, 1) + "×"
	}},
	{"CPU ns/item", func(r *Row) string { return fmtStat(r.Metrics[mCPUnsPerEvent], 1) }},
	{"allocs/item", func(r *Row) string { return fmtStat(r.Metrics[mAllocsPerEv], 3) }},
	{"B/item", func(r *Row) string { return fmtStat(r.Metrics[mBytesPerEv], 1) }},
	{"API", func(r *Row) string { return r.API }},
}
