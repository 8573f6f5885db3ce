//go:build linux

package poller_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

// leakCheck fails the test if, once every other cleanup has run, more
// goroutines or file descriptors exist than when it was called. Call it
// first so that its cleanup runs last.
func leakCheck(t *testing.T) {
	t.Helper()
	// The runtime opens its netpoller's fds on first use; make sure that
	// has happened before counting.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
	before := countFDs(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, ignore)
		if after := countFDs(t); after > before {
			t.Errorf("%d file descriptors open after the test, %d before", after, before)
		}
	})
}

func countFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// closeAndWait closes p and waits, bounded, for its loop to stop: Close
// itself never waits.
func closeAndWait(t testing.TB, p *poller.Poller) {
	t.Helper()
	p.Close()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not stop within 10 s of Close")
	}
}

// bound returns a context that fails the test's waits after d.
func bound(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// routeLines returns ip -batch lines that add (verb "add") or delete
// ("del") n blackhole /32 routes, numbered from first. Each line makes one
// RTM_NEWROUTE or RTM_DELROUTE notification in RTNLGRP_IPV4_ROUTE.
func routeLines(verb string, first, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		k := first + i
		lines[i] = fmt.Sprintf("route %s blackhole 10.%d.%d.%d/32", verb, k>>16&255, k>>8&255, k&255)
	}
	return lines
}

// dialMany opens n rtnetlink sockets in ns joined to RTNLGRP_IPV4_ROUTE,
// closed when the test ends.
func dialMany(t testing.TB, ns *nstest.NS, n int, opts ...nl.Option) []*nl.Conn {
	t.Helper()
	opts = append([]nl.Option{nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE)}, opts...)
	conns := make([]*nl.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	err := ns.Do(func() error {
		for range n {
			c, err := nl.DialRoute(opts...)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

// tally counts deliveries across handlers and lets a test wait for a
// total without polling. Only the delivery that reaches the awaited total
// wakes the waiter, so waiting adds no work per delivery.
type tally struct {
	n      atomic.Int64
	target atomic.Int64
	notify chan struct{}
}

func newTally() *tally {
	t := &tally{notify: make(chan struct{}, 1)}
	t.target.Store(1)
	return t
}

func (t *tally) add(n int) {
	if t.n.Add(int64(n)) >= t.target.Load() {
		select {
		case t.notify <- struct{}{}:
		default:
		}
	}
}

// waitFor blocks until the total reaches target or ctx ends.
func (t *tally) waitFor(ctx context.Context, target int64) error {
	t.target.Store(target)
	for t.n.Load() < target {
		select {
		case <-t.notify:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d deliveries, have %d: %w", target, t.n.Load(), context.Cause(ctx))
		}
	}
	return nil
}

// addPaced adds n routes from first in chunks small enough for the default
// receive buffer (256 queued events), waiting after each chunk until the
// tally has grown by chunk×perEvent. No queue can overrun, whatever the
// readers' speed, so tests can demand exact counts.
func addPaced(ctx context.Context, t *testing.T, ns *nstest.NS, tl *tally, first, n, chunk, perEvent int) {
	t.Helper()
	base := tl.n.Load()
	for done := 0; done < n; {
		k := min(chunk, n-done)
		ns.Batch(routeLines("add", first+done, k))
		done += k
		if err := tl.waitFor(ctx, base+int64(done*perEvent)); err != nil {
			t.Fatal(err)
		}
	}
}

// producer is one long-running `ip -force -batch -` in a namespace, fed
// route commands through a pipe, so that making events costs this process
// one write per chunk rather than a fork and exec.
type producer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	buf   []byte
}

func startProducer(t testing.TB, ns *nstest.NS) *producer {
	t.Helper()
	cmd := ns.Cmd("ip", "-force", "-batch", "-")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &producer{cmd: cmd, stdin: stdin}
	t.Cleanup(p.stop)
	return p
}

// send queues route commands; ip runs them as soon as it reads them.
func (p *producer) send(t testing.TB, lines []string) {
	p.buf = p.buf[:0]
	for _, l := range lines {
		p.buf = append(append(p.buf, l...), '\n')
	}
	if _, err := p.stdin.Write(p.buf); err != nil {
		t.Fatal(err)
	}
}

func (p *producer) stop() {
	p.stdin.Close()
	p.cmd.Wait()
}

// routeCounter counts what one socket's handler receives.
type routeCounter struct {
	routes   atomic.Int64 // RTM_NEWROUTE messages
	other    atomic.Int64 // any other message
	overruns atomic.Int64
	closed   atomic.Int64
	tally    *tally // optional: told of every route
}

func (c *routeCounter) handle(b *poller.Batch) {
	routes := 0
	for _, m := range b.Messages {
		if m.Header.Type == unix.RTM_NEWROUTE {
			routes++
		} else {
			c.other.Add(1)
		}
	}
	for _, ev := range b.Events {
		switch ev.Kind {
		case poller.Overrun:
			c.overruns.Add(1)
		case poller.Closed:
			c.closed.Add(1)
		}
	}
	c.routes.Add(int64(routes))
	if c.tally != nil && routes > 0 {
		c.tally.add(routes)
	}
}
