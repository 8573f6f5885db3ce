package operators

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nlrx/nlrx/stream"
)

// ErrTooManyGroups is the error of a GroupBy whose number of keys exceeded
// its bound (MaxGroups).
var ErrTooManyGroups = errors.New("operators: too many groups")

// GroupBy splits src by key(item) (an interface index, a routing table, a
// family) and runs a pipeline per key: for the first item of each key it
// calls group(key, g), where g is an Observable of that key's items, and
// subscribes to the returned Observable; the items of all these pipelines
// are merged into the output.
//
// There is no per-group queue, so no group can stall the others for lack of
// a reader (the deadlock of rxgo's GroupByDynamic): each item is handed to
// its group's pipeline inline, on the goroutine that delivered it, in
// source order. The pipeline must subscribe to g (once) promptly: the
// source waits for that before handing over the first item. When src ends,
// every group's g ends the same way, so per-group Reduce or Collect-like
// pipelines emit their result then. A Gap reaches every live group (or the
// output, when there is none yet), since it may hide items of any key.
// A group pipeline that completes early (Take) gets no further items of its
// key; they are dropped.
//
// Concurrency: one goroutine per group runs its subscription (it idles while
// the items arrive inline, and runs what the pipeline emits at the end);
// output calls are serialised by a mutex as in Merge. The first error, from
// src, a group or the subscriber, cancels everything; all goroutines are
// joined before Subscribe returns. Groups are bounded by MaxGroups
// (default DefaultMaxGroups): beyond that the stream fails with
// ErrTooManyGroups.
func GroupBy[T any, K comparable, R any](src stream.Observable[T], key func(T) K, group func(key K, g stream.Observable[T]) stream.Observable[R], opts ...Option) stream.Observable[R] {
	if key == nil || group == nil {
		return nilFunc[R]("GroupBy")
	}
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		gctx, cancel := context.WithCancel(ctx)
		defer cancel()
		m := &merger[R]{ctx: gctx, down: o, cancel: cancel}
		gb := &groupBy[T, K, R]{ctx: gctx, key: key, group: group, m: m, max: cfg.maxGroups, groups: make(map[K]*groupState[T])}
		err := src.Subscribe(gctx, gb)
		if err != nil {
			m.fail(err) // cancels the groups too
		}
		for _, g := range gb.groups {
			g.pub.Error(err)
		}
		gb.wg.Wait()
		return m.result(ctx)
	})
}

type groupBy[T any, K comparable, R any] struct {
	ctx    context.Context
	key    func(T) K
	group  func(K, stream.Observable[T]) stream.Observable[R]
	m      *merger[R]
	max    int
	groups map[K]*groupState[T]
	wg     sync.WaitGroup
}

type groupState[T any] struct {
	pub   *stream.Publisher[T]
	done  chan struct{} // closed when the group's subscription has returned
	ended bool          // the group's pipeline has returned; drop its items
}

// get returns the group of k, starting its pipeline if needed.
func (gb *groupBy[T, K, R]) get(k K) (*groupState[T], error) {
	if g := gb.groups[k]; g != nil {
		return g, nil
	}
	if len(gb.groups) >= gb.max {
		return nil, fmt.Errorf("operators: GroupBy: more than %d keys: %w", gb.max, ErrTooManyGroups)
	}
	p := stream.NewPublisher[T]()
	ready := make(chan struct{})
	var once sync.Once
	signal := func() { once.Do(func() { close(ready) }) }
	inner := gb.group(k, p.Observable(stream.OnSubscribe(signal)))
	g := &groupState[T]{pub: p, done: make(chan struct{})}
	gb.wg.Go(func() {
		defer signal()
		defer close(g.done)
		gb.m.run(gb.ctx, inner)
	})
	select {
	case <-ready:
	case <-gb.ctx.Done():
		return nil, gb.ctx.Err()
	}
	gb.groups[k] = g
	return g, nil
}

// handed checks, after items were handed to g, whether g's pipeline has
// ended meanwhile (its subscriber detached): it then waits for the group's
// goroutine, which is returning, so that a group's failure stops the source
// at once rather than when that goroutine gets to run.
func (gb *groupBy[T, K, R]) handed(g *groupState[T]) error {
	if !g.ended && g.pub.Subscribers() == 0 {
		g.ended = true
		select {
		case <-g.done:
		case <-gb.ctx.Done():
		}
	}
	return gb.ctx.Err()
}

func (gb *groupBy[T, K, R]) Next(v T) error {
	g, err := gb.get(gb.key(v))
	if err != nil {
		return err
	}
	if !g.ended {
		g.pub.Push(v)
	}
	return gb.handed(g)
}

func (gb *groupBy[T, K, R]) NextBatch(items []T) error {
	// Hand over runs of consecutive items of one key as one batch.
	for len(items) > 0 {
		k := gb.key(items[0])
		n := 1
		for n < len(items) && gb.key(items[n]) == k {
			n++
		}
		g, err := gb.get(k)
		if err != nil {
			return err
		}
		if !g.ended {
			g.pub.PushBatch(items[:n])
		}
		if err := gb.handed(g); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func (gb *groupBy[T, K, R]) Gap(g stream.Gap) error {
	if len(gb.groups) == 0 {
		return gb.m.Gap(g)
	}
	for _, gs := range gb.groups {
		if !gs.ended {
			gs.pub.Gap(g)
		}
		if err := gb.handed(gs); err != nil {
			return err
		}
	}
	return nil
}
