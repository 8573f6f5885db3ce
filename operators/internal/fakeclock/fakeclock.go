// Package fakeclock is a manual clock for testing the time-based
// operators without sleeping: time moves only when the test calls Advance,
// which fires the timers and tickers that fall due, in deadline order.
package fakeclock

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/nlrx/nlrx/operators"
)

// Clock is a fake operators.Clock. The zero value is not usable; use New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*timer // armed timers and tickers
	changed chan struct{}
}

// New returns a clock reading start.
func New(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer firing at Now()+d.
func (c *Clock) NewTimer(d time.Duration) operators.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// NewTicker returns a ticker firing every d.
func (c *Clock) NewTicker(d time.Duration) operators.Ticker {
	t := &timer{c: c, ch: make(chan time.Time, 1), period: d}
	t.Reset(d)
	return ticker{t}
}

type ticker struct{ t *timer }

func (t ticker) C() <-chan time.Time { return t.t.ch }
func (t ticker) Stop()               { t.t.Stop() }

// Advance moves the clock forward by d, firing what falls due on the way
// (a ticker fires once per period passed, but, like time.Ticker, drops ticks
// its reader has not taken).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.Slice(c.timers, func(i, j int) bool { return c.timers[i].when.Before(c.timers[j].when) })
		if len(c.timers) == 0 || c.timers[0].when.After(end) {
			break
		}
		t := c.timers[0]
		c.now = t.when
		select {
		case t.ch <- t.when:
		default:
		}
		if t.period > 0 {
			t.when = t.when.Add(t.period)
		} else {
			c.removeLocked(t)
		}
	}
	c.now = end
	c.notifyLocked()
	c.mu.Unlock()
}

// Timers returns the number of armed timers and tickers.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers blocks until at least n timers or tickers are armed, or ctx
// ends (its error). Tests use it to know that an operator's goroutine has
// armed its timer before they advance the clock.
func (c *Clock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		ok := len(c.timers) >= n
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Clock) removeLocked(t *timer) bool {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.notifyLocked()
			return true
		}
	}
	return false
}

type timer struct {
	c      *Clock
	ch     chan time.Time
	when   time.Time
	period time.Duration
}

func (t *timer) C() <-chan time.Time { return t.ch }

// Reset re-arms the timer at Now()+d and, as Go 1.23 timers do, discards a
// value not yet received.
func (t *timer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.removeLocked(t)
	select {
	case <-t.ch:
	default:
	}
	t.when = c.now.Add(d)
	c.timers = append(c.timers, t)
	c.notifyLocked()
	return was
}

// Stop disarms the timer and discards a value not yet received.
func (t *timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.removeLocked(t)
	select {
	case <-t.ch:
	default:
	}
	return was
}
