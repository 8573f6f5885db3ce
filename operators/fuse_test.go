package operators_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"pgregory.net/rapid"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

// The fusion tests run random chains of the inline operators twice: as
// written (adjacent operators fuse) and with an opaque Observer between
// every two stages (nothing fuses: each operator runs its own loop and
// passes dense batches, the implementation before fusion). Everything
// observable must be the same: the calls the final Observer gets, with
// their batch boundaries, the result of Subscribe, how much the source
// produced, and, for each function given to an operator, the items it was
// called on, in order. Only the interleaving of calls to different
// functions may differ.

// opaque forwards to an Observer while hiding what it is, so that the
// operator upstream of it cannot fuse with the one downstream.
type opaque[T any] struct{ down stream.Observer[T] }

func (o opaque[T]) Next(v T) error            { return o.down.Next(v) }
func (o opaque[T]) NextBatch(items []T) error { return o.down.NextBatch(items) }
func (o opaque[T]) Gap(g stream.Gap) error    { return o.down.Gap(g) }

func hide[T any](src stream.Observable[T]) stream.Observable[T] {
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		return src.Subscribe(ctx, opaque[T]{o})
	})
}

// stage is one operator of a random chain over ints.
type stage struct {
	kind string
	a, b int
}

func (s stage) String() string { return fmt.Sprintf("%s(%d,%d)", s.kind, s.a, s.b) }

var stageKinds = []string{"filter", "map", "take", "skip", "takeWhile", "takeUntil", "tap",
	"decode", "decodeDrop", "distinct", "distinctChanged", "scan", "filterType"}

func drawStage(t *rapid.T, label string) stage {
	return stage{
		kind: rapid.SampledFrom(stageKinds).Draw(t, label),
		a:    rapid.IntRange(1, 7).Draw(t, label+".a"),
		b:    rapid.IntRange(0, 60).Draw(t, label+".b"),
	}
}

// calls records, per function of a chain, the items it was called on.
type calls map[string][]int

func (c calls) add(fn string, v int) { c[fn] = append(c[fn], v) }

// apply appends s to src; the functions it gives the operator log into c
// under a name made of the stage's position i.
func (s stage) apply(src stream.Observable[int], i int, c calls, bad *atomic.Uint64) stream.Observable[int] {
	name := func(fn string) string { return fmt.Sprintf("%d.%s.%s", i, s.kind, fn) }
	switch s.kind {
	case "filter":
		return operators.Filter(src, func(v int) bool { c.add(name("pred"), v); return v%s.a != 0 })
	case "map":
		return operators.Map(src, func(v int) int { c.add(name("fn"), v); return v*s.a + s.b })
	case "take":
		return operators.Take(src, s.b)
	case "skip":
		return operators.Skip(src, s.b)
	case "takeWhile":
		return operators.TakeWhile(src, func(v int) bool { c.add(name("pred"), v); return v%(s.b+2) != 1 })
	case "takeUntil":
		return operators.TakeUntil(src, func(v int) bool { c.add(name("pred"), v); return v%(s.b+2) == 1 })
	case "tap":
		return operators.Tap(src, func(v int) { c.add(name("fn"), v) })
	case "decode", "decodeDrop":
		dec := func(v int) (int, error) {
			c.add(name("dec"), v)
			if v%(s.b+3) == 2 {
				return 0, fmt.Errorf("bad %d: %w", v, errBoom)
			}
			return v + 1, nil
		}
		if s.kind == "decodeDrop" {
			return operators.Decode(src, dec, operators.DropInvalid(bad))
		}
		return operators.Decode(src, dec)
	case "distinct":
		return operators.Distinct(src, func(v int) int { c.add(name("key"), v); return v % (s.b + 5) })
	case "distinctChanged":
		return operators.DistinctUntilChanged(src, func(v int) int { c.add(name("key"), v); return v / s.a })
	case "scan":
		return operators.Scan(src, s.b, func(acc, v int) int { c.add(name("fn"), v); return (acc + v) % 1000 })
	case "filterType":
		// FilterGroupBy is a Filter built by another function.
		return operators.FilterGroupBy(src, func(v int) uint32 { c.add(name("group"), v); return uint32(v % 3) }, 0, uint32(s.a%3))
	}
	panic(s.kind)
}

// event is one call of the random source: a batch (one item is a Next
// call), a gap, or cancelling the subscription's context.
type event struct {
	items  []int
	gap    int
	cancel bool
}

func drawEvents(t *rapid.T) []event {
	var evs []event
	next := 0
	for range rapid.IntRange(0, 30).Draw(t, "events") {
		switch k := rapid.IntRange(0, 19).Draw(t, "kind"); {
		case k == 0:
			evs = append(evs, event{gap: rapid.IntRange(1, 5).Draw(t, "gap")})
		case k == 1 && rapid.IntRange(0, 3).Draw(t, "cancel?") == 0:
			evs = append(evs, event{cancel: true})
		default:
			n := rapid.IntRange(1, 40).Draw(t, "batch")
			if k == 2 && rapid.Bool().Draw(t, "huge") {
				n = stream.BatchSize + rapid.IntRange(1, 700).Draw(t, "over")
			}
			e := event{items: make([]int, n)}
			for i := range e.items {
				e.items[i] = next
				next += rapid.IntRange(0, 3).Draw(t, "step")
			}
			evs = append(evs, e)
		}
	}
	return evs
}

// source emits evs, checking ctx before each call as a source must, then
// ends with end. Each batch is a fresh copy, clobbered after the call, so
// that an operator keeping a batch it was given would show.
func source(evs []event, end error, cancel context.CancelFunc, produced *atomic.Int64) stream.Observable[int] {
	return stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
		for _, e := range evs {
			if err := ctx.Err(); err != nil {
				return err
			}
			var err error
			switch {
			case e.cancel:
				cancel()
				continue
			case e.gap > 0:
				err = o.Gap(stream.Gap{Dropped: uint64(e.gap)})
			case len(e.items) == 1:
				produced.Add(1)
				err = o.Next(e.items[0])
			default:
				produced.Add(int64(len(e.items)))
				b := slices.Clone(e.items)
				err = o.NextBatch(b)
				for i := range b {
					b[i] = -1
				}
			}
			if err != nil {
				return err
			}
		}
		return end
	})
}

// sink writes down every call it gets, batch boundaries included, and
// stops (ErrStop) or fails after a number of items.
type sink struct {
	log     strings.Builder
	n       int
	stopAt  int // 0: never
	failAt  int // 0: never
	failGap bool
}

func (s *sink) item() error {
	s.n++
	switch {
	case s.stopAt > 0 && s.n >= s.stopAt:
		return stream.ErrStop
	case s.failAt > 0 && s.n >= s.failAt:
		return errBoom
	}
	return nil
}

func (s *sink) Next(v int) error {
	fmt.Fprintf(&s.log, "N%d ", v)
	return s.item()
}

func (s *sink) NextBatch(vs []int) error {
	fmt.Fprintf(&s.log, "B%v ", vs)
	for range vs {
		if err := s.item(); err != nil {
			return err
		}
	}
	return nil
}

func (s *sink) Gap(g stream.Gap) error {
	fmt.Fprintf(&s.log, "G%d ", g.Dropped)
	if s.failGap {
		return g
	}
	return nil
}

// run is one subscription to a chain, fused or not, and what it showed.
type run struct {
	trace    string
	err      string
	produced int64
	calls    calls
	bad      uint64
}

func runChain(stages []stage, evs []event, end error, s sink, fused bool, reduce bool) run {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := calls{}
	var produced atomic.Int64
	var bad atomic.Uint64
	obs := source(evs, end, cancel, &produced)
	for i, st := range stages {
		if !fused {
			obs = hide(obs)
		}
		obs = st.apply(obs, i, c, &bad)
	}
	if reduce {
		if !fused {
			obs = hide(obs)
		}
		obs = operators.Reduce(obs, 0, func(acc, v int) int { c.add("reduce", v); return acc + v })
	}
	err := obs.Subscribe(ctx, &s)
	r := run{trace: s.log.String(), produced: produced.Load(), calls: c, bad: bad.Load()}
	if err != nil {
		r.err = err.Error()
	}
	return r
}

func TestFusedChainsBehaveAsUnfused(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var stages []stage
		for i := range rapid.IntRange(1, 6).Draw(t, "stages") {
			stages = append(stages, drawStage(t, fmt.Sprintf("stage%d", i)))
		}
		evs := drawEvents(t)
		var end error
		if rapid.Bool().Draw(t, "fails") {
			end = errBoom
		}
		s := sink{
			stopAt:  rapid.SampledFrom([]int{0, 0, 1, 3, 17, 200}).Draw(t, "stopAt"),
			failAt:  rapid.SampledFrom([]int{0, 0, 0, 2, 50}).Draw(t, "failAt"),
			failGap: rapid.Bool().Draw(t, "failGap"),
		}
		reduce := rapid.IntRange(0, 5).Draw(t, "reduce") == 0
		want := runChain(stages, evs, end, s, false, reduce)
		got := runChain(stages, evs, end, s, true, reduce)
		if got.trace != want.trace {
			t.Fatalf("chain %v: observer got\n%s\nwant (unfused)\n%s", stages, got.trace, want.trace)
		}
		if got.err != want.err {
			t.Fatalf("chain %v: Subscribe returned %q, want (unfused) %q", stages, got.err, want.err)
		}
		if got.produced != want.produced {
			t.Fatalf("chain %v: source produced %d items, want (unfused) %d", stages, got.produced, want.produced)
		}
		if got.bad != want.bad {
			t.Fatalf("chain %v: DropInvalid counted %d, want (unfused) %d", stages, got.bad, want.bad)
		}
		for fn, w := range want.calls {
			if g := got.calls[fn]; !slices.Equal(g, w) {
				t.Fatalf("chain %v: %s called on %v, want (unfused) %v", stages, fn, g, w)
			}
		}
		for fn, g := range got.calls {
			if _, ok := want.calls[fn]; !ok {
				t.Fatalf("chain %v: %s called on %v, want (unfused) no call", stages, fn, g)
			}
		}
	})
}

// TestFusedTakeStopsTheSource: Filter → Map → Take, fused, stops an endless
// source as soon as Take has its items, and completes.
func TestFusedTakeStopsTheSource(t *testing.T) {
	ctx := testContext(t)
	for _, batch := range []int{1, 7, stream.BatchSize, 3 * stream.BatchSize} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			var produced atomic.Int64
			src := stream.Create(func(ctx context.Context, o stream.Observer[int]) error {
				b := make([]int, batch)
				for i := 0; ; i += batch {
					if err := ctx.Err(); err != nil {
						return err
					}
					for k := range b {
						b[k] = i + k
					}
					produced.Add(int64(batch))
					if err := o.NextBatch(b); err != nil {
						return err
					}
				}
			})
			pipe := operators.Take(operators.Map(operators.Filter(src, func(v int) bool { return v%2 == 0 }),
				func(v int) int { return v / 2 }), 1000)
			got, err := stream.Collect(ctx, pipe)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, seq(1000)) {
				t.Fatalf("got %d items %v…, want 0…999", len(got), got[:min(len(got), 5)])
			}
			if max := int64(2000 + batch); produced.Load() > max {
				t.Fatalf("source produced %d items, want at most %d", produced.Load(), max)
			}
		})
	}
}

// TestFusedChainReentrant: an inline subscriber of a fused chain on a
// Publisher pushes to that Publisher from its callback (the Publisher
// queues those pushes and delivers them after the callback returns); the
// fused and the unfused chain see the same batches and end the same way.
func TestFusedChainReentrant(t *testing.T) {
	want, werr := reentrant(t, false)
	got, gerr := reentrant(t, true)
	if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("fused: %s (%v)\nwant (unfused): %s (%v)", got, gerr, want, werr)
	}
	if n := len(strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(want))); n != 40 {
		t.Fatalf("%d items reached the subscriber, want Take's 40: %s", n, want)
	}
}

func reentrant(t *testing.T, fused bool) (string, error) {
	ctx := testContext(t)
	pub := stream.NewPublisher[int]()
	wrap := func(o stream.Observable[int]) stream.Observable[int] {
		if fused {
			return o
		}
		return hide(o)
	}
	obs := operators.Filter(wrap(pub.Observable()), func(v int) bool { return v%3 != 0 })
	obs = operators.Map(wrap(obs), func(v int) int { return v * 10 })
	obs = operators.Take(wrap(obs), 40)
	var got strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- obs.Subscribe(ctx, stream.ObserverFuncs[int]{OnBatch: func(vs []int) error {
			fmt.Fprint(&got, vs)
			for _, v := range vs {
				if v < 1000 { // each first-generation item pushes three more
					pub.PushBatch([]int{v + 1000, v + 1001, v + 1002})
				}
			}
			return nil
		}})
	}()
	if err := pub.WaitSubscribers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pub.PushBatch(seq(30))
	pub.Complete()
	err := <-done
	return got.String(), err
}

// TestFusedTakeUntilDone: FilterFamily → TakeUntilDone → Map fuses (a
// selection crosses TakeUntilDone); it sees, ends and fails as unfused,
// for each way a reply ends and each batch size.
func TestFusedTakeUntilDone(t *testing.T) {
	replies := [][]nl.Message{
		{part(afInet, 0), part(afInet6, 0), part(afInet, 0), done(0), part(afInet, 0)},
		{part(afInet, 0), part(afInet6, 0), done(syscall.EINTR), part(afInet, 0)},
		{part(afInet6, 0), errMsg(syscall.EEXIST), part(afInet, 0)},
		{part(afInet, nl.FlagDumpIntr), part(afInet6, nl.FlagDumpIntr), part(afInet, 0), done(0)},
		{part(afInet6, 0), part(afInet, 0)},
	}
	run := func(in []nl.Message, batch int, fused bool) string {
		wrap := func(o stream.Observable[nl.Message]) stream.Observable[nl.Message] {
			if fused {
				return o
			}
			return hide(o)
		}
		delivered := 0
		obs := operators.TakeUntilDone(wrap(operators.FilterFamily(msgSource(in, batch, &delivered), afInet)))
		typed := operators.Map(wrap(obs), func(m nl.Message) uint16 { return m.Header.Type })
		var s sink16
		err := typed.Subscribe(testContext(t), &s)
		return fmt.Sprintf("%s err=%v delivered=%d", s.log.String(), err, delivered)
	}
	for i, in := range replies {
		for _, batch := range []int{1, 2, 3, len(in)} {
			if got, want := run(in, batch, true), run(in, batch, false); got != want {
				t.Errorf("reply %d in batches of %d: fused %s, want (unfused) %s", i, batch, got, want)
			}
		}
	}
}

type sink16 struct{ log strings.Builder }

func (s *sink16) Next(v uint16) error         { fmt.Fprintf(&s.log, "N%d ", v); return nil }
func (s *sink16) NextBatch(vs []uint16) error { fmt.Fprintf(&s.log, "B%v ", vs); return nil }
func (s *sink16) Gap(g stream.Gap) error      { return g }
