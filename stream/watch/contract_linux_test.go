//go:build linux

package watch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// closeFromSubscriber subscribes to w and closes w from inside the
// subscriber when an event for which at holds arrives; it fails the test
// if Close, the subscription or the watcher's release does not end within
// the bound.
// trigger, if not nil, runs once the snapshot is in place.
func closeFromSubscriber(t *testing.T, w *watch.RouteWatcher, at func(watch.Event[rtnl.Route]) bool, trigger func(), opts ...stream.SubscribeOption) {
	t.Helper()
	closed := make(chan struct{})
	var once sync.Once
	sub := make(chan error, 1)
	go func() {
		sub <- stream.ForEach(context.Background(), w.Events(opts...), func(e watch.Event[rtnl.Route]) error {
			if at(e) {
				once.Do(func() {
					w.Close()
					close(closed)
				})
			}
			return nil
		})
	}()
	deadline := time.After(wait)
	if trigger != nil {
		select {
		case <-w.Ready():
		case <-deadline:
			t.Fatal("no snapshot")
		}
		trigger()
	}
	select {
	case <-closed:
	case <-deadline:
		t.Fatal("Close from the subscriber did not return")
	}
	select {
	case <-sub:
	case <-deadline:
		t.Fatal("the subscription did not end after Close")
	}
	select {
	case <-w.Done():
	case <-deadline:
		t.Fatal("the watcher did not finish closing")
	}
}

func TestCloseFromTheWatchersOwnSubscriber(t *testing.T) {
	for _, tc := range []struct {
		name string
		live bool // close on a live event rather than during the snapshot
		opts []stream.SubscribeOption
	}{
		{"inline, during the snapshot", false, nil},
		{"inline, on a live event", true, nil},
		{"buffered (Block), during the snapshot", false, []stream.SubscribeOption{stream.WithBuffer(1, stream.Block)}},
		{"buffered (Block), on a live event", true, []stream.SubscribeOption{stream.WithBuffer(1, stream.Block)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			ns.Batch(routeLines("add", 0, 50))
			w := newRouteWatcher(t, ns)
			at := func(e watch.Event[rtnl.Route]) bool { return e.Kind == watch.Added && e.Synthetic }
			var trigger func()
			if tc.live {
				at = func(e watch.Event[rtnl.Route]) bool { return e.Kind == watch.Added && !e.Synthetic }
				trigger = func() { ns.IP("route", "add", "10.200.0.0/24", "dev", "v0") }
			}
			closeFromSubscriber(t, w, at, trigger, tc.opts...)
		})
	}
}

// Closing one watcher from its subscriber leaves the poller it shares with
// another watcher running: the other keeps receiving.
func TestCloseFromASubscriberOnASharedPoller(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	a := newRouteWatcher(t, ns, watch.WithPoller(p))
	b := newRouteWatcher(t, ns, watch.WithPoller(p))
	rb := record(t, b, nil)
	rb.waitFor(t, "b's snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	closeFromSubscriber(t, a, func(e watch.Event[rtnl.Route]) bool { return e.Kind == watch.Added && !e.Synthetic },
		func() { ns.IP("route", "add", "10.200.0.0/24", "dev", "v0") })
	ns.IP("route", "add", "10.201.0.0/24", "dev", "v0")
	rb.waitFor(t, "b's event after a closed", has(watch.Added, dst("10.201.0.0/24")))
}

// A watcher's subscribers never run concurrently with themselves: a plain
// counter, shared by every subscriber of 16 watchers on one poller each
// with a subscriber of its own, is race-free per watcher (go test -race).
func TestSubscribersOfOneWatcherNeverRunConcurrently(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	const n = 16
	counts := make([]int, n) // one plain counter per watcher
	var ws []*watch.RouteWatcher
	for i := range n {
		w := newRouteWatcher(t, ns, watch.WithPoller(p))
		ws = append(ws, w)
		go stream.ForEach(t.Context(), w.Events(), func(e watch.Event[rtnl.Route]) error {
			counts[i]++
			return nil
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, w := range ws {
		if err := w.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ns.Batch(routeLines("add", 0, 300))
	for _, w := range ws {
		if err := w.Resync(ctx); err != nil { // dumps on a goroutine of their own, events between
			t.Fatal(err)
		}
	}
	ns.Batch(routeLines("del", 0, 300))
	for _, w := range ws {
		w.Close()
	}
}
