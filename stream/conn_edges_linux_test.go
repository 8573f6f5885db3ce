//go:build linux

package stream_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/stream"
)

// FromReceive passes each datagram's messages as one batch and nothing
// else: an overrun and a truncated datagram are a Gap each, with no empty
// batch in front, and an empty datagram is no call at all. The fake kernel
// needs no privilege.
func TestFromReceiveMakesNoEmptyBatch(t *testing.T) {
	c, k, err := nltest.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	defer c.Close()
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	r := newRecorder[nl.Message]()
	done := subscribeAsync(t, ctx, stream.FromReceive(c), stream.Observer[nl.Message](r))
	msg := func(typ uint16) nl.Message { return nl.Message{Header: nl.Header{Type: typ}, Data: make([]byte, 16)} }
	if err := k.Inject(
		nltest.Datagram{Messages: []nl.Message{msg(unix.RTM_NEWLINK)}},
		nltest.Datagram{Errno: unix.ENOBUFS},
		nltest.Datagram{Raw: []byte{}},
		nltest.Datagram{Messages: []nl.Message{msg(unix.RTM_NEWADDR)}, Truncate: 8},
		nltest.Datagram{Messages: []nl.Message{msg(unix.RTM_NEWROUTE), msg(unix.RTM_DELROUTE)}},
	); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "the last datagram", func() bool { return r.len() == 3 })
	cancel()
	if err := done(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	items, gaps := r.snapshot()
	r.mu.Lock()
	calls, batches, events := r.calls, r.batches, r.events
	r.mu.Unlock()
	if calls != 2 || batches != 2 {
		t.Errorf("%d calls, %d of them NextBatch; want 2 batches (an empty one was delivered)", calls, batches)
	}
	if want := []string{"item", "gap", "gap", "item", "item"}; !slices.Equal(events, want) {
		t.Errorf("order %v, want %v", events, want)
	}
	if len(gaps) != 2 || !errors.Is(gaps[0], unix.ENOBUFS) || !errors.Is(gaps[1], nl.ErrTruncated) {
		t.Errorf("gaps %v, want an overrun then a truncation", gaps)
	}
	if len(items) != 3 || items[0].Header.Type != unix.RTM_NEWLINK || items[2].Header.Type != unix.RTM_DELROUTE {
		t.Errorf("items %+v", items)
	}
}
