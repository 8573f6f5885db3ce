//go:build linux

package stream_test

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

// nsAddr is an address notification and the namespace id it came with.
type nsAddr struct {
	nsid int32
	addr string
}

func addrOf(t *testing.T, m stream.NSMessage) nsAddr {
	t.Helper()
	a, err := rtnl.DecodeAddress(m.Message)
	if err != nil {
		t.Fatalf("decoding %+v: %v", m.Header, err)
	}
	return nsAddr{m.NSID, a.Prefix.String()}
}

// threeNamespaces makes a, where the test listens, and b and c with the
// ids 10 and 20 in a, each with a veth pair left down (so an address makes
// one IPv4 address notification and nothing else in that group).
func threeNamespaces(t *testing.T) (a, b, c *nstest.NS) {
	a, b, c = nstest.New(t), nstest.New(t), nstest.New(t)
	for _, ns := range []*nstest.NS{a, b, c} {
		ns.IP("link", "add", "x0", "type", "veth", "peer", "name", "x1")
	}
	conn := a.Dial()
	for id, ns := range map[int32]*nstest.NS{10: b, 20: c} {
		if err := rtnl.SetNSID(testContext(t), conn, rtnl.NSPeerFD(ns.FD()), id); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, c
}

// addAddresses adds n addresses in each namespace, in turns, and returns
// the notifications a listener in a with every namespace should see.
func addAddresses(a, b, c *nstest.NS, n int) map[nsAddr]int {
	want := map[nsAddr]int{}
	for i := range n {
		for k, x := range []struct {
			ns   *nstest.NS
			nsid int32
		}{{b, 10}, {c, 20}, {a, nl.NSIDNotAssigned}} {
			p := fmt.Sprintf("198.51.%d.%d/32", k, i+1)
			x.ns.IP("addr", "add", p, "dev", "x0")
			want[nsAddr{x.nsid, p}]++
		}
	}
	return want
}

func TestPollerNSIDHandlerPublishesEachMessageWithItsNamespace(t *testing.T) {
	a, b, c := threeNamespaces(t)
	conn := a.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR), nl.WithListenAllNSID())
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pub := stream.NewPublisher(stream.WithCopy(stream.CopyNSMessages))
	ctx := testContext(t)
	// The inline subscriber decodes during the call (Data aliases the
	// poller's buffers); the buffered one keeps copies.
	inline := newRecorder[stream.NSMessage]()
	var inlineSeen []nsAddr
	inline.onItem = func(n int) {
		inline.mu.Lock()
		inlineSeen = append(inlineSeen, addrOf(t, inline.items[n-1]))
		inline.mu.Unlock()
	}
	inlineDone := attach(t, ctx, pub, inline)
	buffered := newRecorder[stream.NSMessage]()
	bufferedDone := attach(t, ctx, pub, buffered, stream.WithBuffer(1024, stream.Block))
	if _, err := p.Add(conn, stream.PollerNSIDHandler(pub), poller.WithNSID()); err != nil {
		t.Fatal(err)
	}

	want := addAddresses(a, b, c, 3)
	for _, r := range []*recorder[stream.NSMessage]{inline, buffered} {
		r.waitFor(t, "every address", func() bool { return r.len() >= len(want) })
	}
	multiset := func(s []nsAddr) map[nsAddr]int {
		m := map[nsAddr]int{}
		for _, x := range s {
			m[x]++
		}
		return m
	}
	inline.mu.Lock()
	gotInline := multiset(inlineSeen)
	inline.mu.Unlock()
	items, gaps := buffered.snapshot()
	var kept []nsAddr
	for _, m := range items {
		kept = append(kept, addrOf(t, m))
	}
	for name, got := range map[string]map[nsAddr]int{"inline": gotInline, "buffered": multiset(kept)} {
		if !maps.Equal(got, want) {
			t.Errorf("%s subscriber: got\n %v\nwant\n %v", name, got, want)
		}
	}
	if len(gaps) > 0 {
		t.Errorf("gaps: %v", gaps)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	for _, done := range []func() error{inlineDone, bufferedDone} {
		if err := done(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("subscription ended with %v, want the poller's close (os.ErrClosed)", err)
		}
	}
}

// The handler turns a batch's events into gaps at their places, between
// runs of messages that keep their ids, and reads a batch without NSIDs as
// all from the socket's own namespace.
func TestPollerNSIDHandlerKeepsEventsInPlace(t *testing.T) {
	msg := func(seq uint32) nl.Message { return nl.Message{Header: nl.Header{Type: 20, Seq: seq}} }
	type item struct {
		seq  uint32
		nsid int32
	}
	for _, tc := range []struct {
		name  string
		batch poller.Batch
		want  []item
		order []string
	}{
		{
			name: "tagged",
			batch: poller.Batch{
				Messages: []nl.Message{msg(1), msg(2), msg(3), msg(4)},
				NSIDs:    []int32{5, 5, 7, -1},
				Events: []poller.Event{
					{At: 0, Kind: poller.Overrun, Err: poller.ErrOverrun},
					{At: 2, Kind: poller.Truncated, Err: poller.ErrTruncated},
					{At: 2, Kind: poller.Truncated, Err: poller.ErrTruncated},
				},
			},
			want:  []item{{1, 5}, {2, 5}, {3, 7}, {4, -1}},
			order: []string{"gap", "item", "item", "gap", "gap", "item", "item"},
		},
		{
			name: "untagged",
			batch: poller.Batch{
				Messages: []nl.Message{msg(1), msg(2)},
				Events:   []poller.Event{{At: 2, Kind: poller.Malformed, Err: nl.ErrBadLength}},
			},
			want:  []item{{1, -1}, {2, -1}},
			order: []string{"item", "item", "gap"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			pub := stream.NewPublisher[stream.NSMessage]()
			r := newRecorder[stream.NSMessage]()
			attach(t, ctx, pub, r)
			h := stream.PollerNSIDHandler(pub)
			h(&tc.batch)
			h(&tc.batch) // the reused buffer serves a second call alike
			items, _ := r.snapshot()
			var got []item
			for _, m := range items {
				got = append(got, item{m.Header.Seq, m.NSID})
			}
			if want := append(slices.Clone(tc.want), tc.want...); !slices.Equal(got, want) {
				t.Errorf("items %v, want %v", got, want)
			}
			r.mu.Lock()
			order := slices.Clone(r.events)
			r.mu.Unlock()
			if want := append(slices.Clone(tc.order), tc.order...); !slices.Equal(order, want) {
				t.Errorf("order %v, want %v", order, want)
			}
			pub.Complete()
		})
	}
}

func TestFromReceiveNSIDTagsEachMessage(t *testing.T) {
	a, b, c := threeNamespaces(t)
	conn := a.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR), nl.WithListenAllNSID())
	ctx := testContext(t)
	r := newRecorder[stream.NSMessage]()
	want := addAddresses(a, b, c, 2) // queued in conn before the subscription reads it
	r.stopAfter = len(want)
	if err := stream.FromReceiveNSID(conn).Subscribe(ctx, r); !errors.Is(err, stream.ErrStop) && err != nil {
		t.Fatal(err)
	}
	items, _ := r.snapshot()
	got := map[nsAddr]int{}
	for _, m := range items {
		got[addrOf(t, m)]++
	}
	if !maps.Equal(got, want) {
		t.Errorf("got\n %v\nwant\n %v", got, want)
	}
}

func TestCopyNSMessagesKeepsTheIDs(t *testing.T) {
	buf := []byte{1, 2, 3, 4}
	src := []stream.NSMessage{
		{Message: nl.Message{Header: nl.Header{Seq: 1}, Data: buf[:2]}, NSID: 3},
		{Message: nl.Message{Header: nl.Header{Seq: 2}, Data: buf[2:]}, NSID: -1},
	}
	dst := make([]stream.NSMessage, len(src))
	stream.CopyNSMessages(dst, src)
	buf[0], buf[2] = 9, 9
	if dst[0].NSID != 3 || dst[1].NSID != -1 || dst[0].Header.Seq != 1 || dst[1].Header.Seq != 2 ||
		!slices.Equal(dst[0].Data, []byte{1, 2}) || !slices.Equal(dst[1].Data, []byte{3, 4}) {
		t.Errorf("copied %+v", dst)
	}
}
