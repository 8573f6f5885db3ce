//go:build linux

package stream_test

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

func TestPollerHandlerPublishesEventsGapsAndTheEnd(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE), nl.WithReadBuffer(4096))
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pub := stream.NewPublisher(stream.WithCopy(stream.CopyMessages))
	if _, err := p.Add(c, stream.PollerHandler(pub)); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)

	// An inline subscriber that stalls the poller's loop on its first
	// message, so that the socket overruns, and a buffered one.
	gate := make(chan struct{})
	entered := make(chan struct{})
	inline := newRecorder[nl.Message]()
	var inlineItems []netip.Prefix // copied out: Data is only valid in the call
	inline.onItem = func(n int) {
		inline.mu.Lock()
		inlineItems = append(inlineItems, routeDst(inline.items[n-1]))
		inline.mu.Unlock()
		if n == 1 {
			close(entered)
			<-gate
		}
	}
	inlineDone := attach(t, ctx, pub, inline)
	buffered := newRecorder[nl.Message]()
	bufferedDone := attach(t, ctx, pub, buffered, stream.WithBuffer(1<<16, stream.Block))

	ns.IP("route", "add", "192.0.2.0/24", "dev", "v0")
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("no first event")
	}
	addRoutes(ns, 2000)
	close(gate)
	for _, r := range []*recorder[nl.Message]{inline, buffered} {
		r.waitFor(t, "a gap", func() bool { _, gaps := r.snapshot(); return len(gaps) > 0 })
		if _, gaps := r.snapshot(); !errors.Is(gaps[0], unix.ENOBUFS) {
			t.Fatalf("gap cause %v, want ENOBUFS", gaps[0].Cause)
		}
	}
	probeAfterOverrun(t, ns, inline, func() []netip.Prefix {
		inline.mu.Lock()
		defer inline.mu.Unlock()
		return slices.Clone(inlineItems)
	})
	inline.mu.Lock()
	last := inlineItems[len(inlineItems)-1]
	inline.mu.Unlock()
	buffered.waitFor(t, "the same event in the buffered subscriber", func() bool {
		items, _ := buffered.snapshot()
		return slices.ContainsFunc(items, func(m nl.Message) bool { return routeDst(m) == last })
	})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, done := range []func() error{inlineDone, bufferedDone} {
		if err := done(); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("subscriber ended with %v, want os.ErrClosed from the poller", err)
		}
	}
}
