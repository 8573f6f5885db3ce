package main

import (
	"fmt"
	"sync/atomic"
	"time"
)

// tally counts messages delivered by handlers and goroutines and wakes a
// waiter when a target is reached, so that waiting costs no polling (the
// waiter's CPU is billed to the measurement).
type tally struct {
	n      atomic.Int64
	target atomic.Int64
	ch     chan struct{}
}

func newTally() *tally {
	t := &tally{ch: make(chan struct{}, 1)}
	t.target.Store(1 << 62)
	return t
}

// add counts k messages: one atomic add and one load on the hot path.
func (t *tally) add(k int) {
	if t.n.Add(int64(k)) >= t.target.Load() {
		select {
		case t.ch <- struct{}{}:
		default:
		}
	}
}

func (t *tally) reset() {
	t.target.Store(1 << 62)
	t.n.Store(0)
	select {
	case <-t.ch:
	default:
	}
}

// waitFor blocks until at least target messages were counted, or fails
// after timeout, or as soon as abort is closed (nil: never), saying how
// many came.
func (t *tally) waitFor(target int64, timeout time.Duration, abort <-chan struct{}) error {
	t.target.Store(target)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for t.n.Load() < target {
		select {
		case <-t.ch:
		case <-abort:
			return fmt.Errorf("%d of %d messages when the sender stopped", t.n.Load(), target)
		case <-timer.C:
			return fmt.Errorf("%d of %d messages within %s", t.n.Load(), target, timeout)
		}
	}
	return nil
}
