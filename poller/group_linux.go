//go:build linux

package poller

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/nlrx/nlrx/nl"
)

// Group spreads sockets over several pollers, typically one per CPU, whose
// loops run in an errgroup: if one loop fails, the group's context is
// cancelled and every poller stops.
type Group struct {
	pollers []*Poller
	eg      *errgroup.Group
	cancel  context.CancelFunc
	next    atomic.Uint32
	closed  atomic.Bool
}

// NewGroup starts n pollers (GOMAXPROCS if n ≤ 0) with the same options.
// They stop when ctx ends, when one of them fails, or on Close. Cost: n
// pollers (see New), that is n goroutines and n sets of batch buffers.
func NewGroup(ctx context.Context, n int, opts ...Option) (*Group, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	cfg := newConfig(opts)
	g := &Group{}
	for range n {
		p, err := newPoller(cfg)
		if err != nil {
			for _, p := range g.pollers {
				p.shutdown(nil)
			}
			return nil, err
		}
		g.pollers = append(g.pollers, p)
	}
	ctx, g.cancel = context.WithCancel(ctx)
	g.eg, ctx = errgroup.WithContext(ctx)
	for _, p := range g.pollers {
		g.eg.Go(p.run)
	}
	context.AfterFunc(ctx, func() {
		for _, p := range g.pollers {
			if p.closing.CompareAndSwap(false, true) {
				p.wake()
			}
		}
	})
	return g, nil
}

// Add registers c with the poller that has the fewest registrations (ties
// go round-robin); see Poller.Add.
func (g *Group) Add(c *nl.Conn, h Handler, opts ...AddOption) (*Registration, error) {
	return g.pick().Add(c, h, opts...)
}

// AddFD registers a raw fd with the least loaded poller; see Poller.AddFD.
func (g *Group) AddFD(fd int, h Handler, opts ...AddOption) (*Registration, error) {
	return g.pick().AddFD(fd, h, opts...)
}

// pick returns the poller with the fewest registrations, scanning from a
// rotating start so that ties spread out.
func (g *Group) pick() *Poller {
	start := int(g.next.Add(1))
	var best *Poller
	bestLen := 0
	for i := range g.pollers {
		p := g.pollers[(start+i)%len(g.pollers)]
		if n := p.Len(); best == nil || n < bestLen {
			best, bestLen = p, n
		}
	}
	return best
}

// Pollers returns the group's pollers.
func (g *Group) Pollers() []*Poller { return append([]*Poller(nil), g.pollers...) }

// Stats returns the sum of the pollers' counters.
func (g *Group) Stats() Stats {
	var s Stats
	for _, p := range g.pollers {
		ps := p.Stats()
		s.add(&ps)
	}
	return s
}

// Wait blocks until every poller has stopped and returns the first loop
// failure, if any. Do not call it from a handler of the group's pollers:
// their loops cannot stop while that handler waits.
func (g *Group) Wait() error { return g.eg.Wait() }

// Close stops every poller (see Poller.Close) and returns at once, without
// waiting for their loops or handlers, so it may be called from anywhere,
// handlers included; Wait waits for the loops. A second Close returns an
// error wrapping os.ErrClosed.
func (g *Group) Close() error {
	if !g.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("poller: close group: %w", os.ErrClosed)
	}
	g.cancel()
	return nil
}
