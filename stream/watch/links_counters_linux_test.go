//go:build linux

package watch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

// sendBroadcasts sends n UDP datagrams to dst (a broadcast address of a
// link of ns) from inside ns: each leaves through that link, and moves its
// counters without a notification.
func sendBroadcasts(t *testing.T, ns *nstest.NS, dst [4]byte, n int) {
	t.Helper()
	h, err := nl.OpenNetNS(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = h.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
			return err
		}
		for range n {
			if err := unix.Sendto(fd, []byte("counter"), 0, &unix.SockaddrInet4{Port: 9, Addr: dst}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("send broadcasts: %v", err)
	}
}

// The kernel sends a link's counters in every message about it but
// announces none of their changes: the table holds none, and a resync
// after traffic does not find the links changed.
func TestLinksResyncIgnoresTrafficCounters(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	for _, l := range []string{"v0", "v1"} {
		ns.IP("link", "set", l, "addrgenmode", "none")
		ns.IP("link", "set", l, "up")
	}
	ns.IP("addr", "add", "10.9.0.1/24", "brd", "+", "dev", "v0")
	w := newLinkWatcher(t, ns, watch.WithReadBuffer(64<<10))
	r := record(t, w, nil)
	s := stallWatcher(t, w)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	before := settledLinks(t, ns)
	linksConverge(t, w, ns)

	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	v0 := linkIndexOf(t, before, "v0")
	was, err := rtnl.GetLinkStats(ctx, c, v0)
	if err != nil {
		t.Fatal(err)
	}

	s.arm()
	ns.IP("link", "add", "gate0", "type", "veth", "peer", "name", "gate1")
	select {
	case <-s.stalled:
	case <-time.After(wait):
		t.Fatal("the watcher never stalled")
	}
	sendBroadcasts(t, ns, [4]byte{10, 9, 0, 255}, 20)
	var burst []string
	for i := range 100 {
		burst = append(burst, fmt.Sprintf("link add b%da type veth peer name b%db", i, i))
	}
	ns.Batch(burst)
	s.free()
	r.waitFor(t, "the resync", has[rtnl.Link](watch.ResyncComplete, nil))
	if st := w.Stats(); st.Overruns == 0 || st.Resyncs == 0 {
		t.Fatalf("no overrun with a 64 KiB buffer and a stalled consumer: %+v", st)
	}
	is, err := rtnl.GetLinkStats(ctx, c, v0)
	if err != nil {
		t.Fatal(err)
	}
	if is.TxPackets < was.TxPackets+20 {
		t.Fatalf("v0 sent %d packets, want the 20 broadcasts at least", is.TxPackets-was.TxPackets)
	}
	linksConverge(t, w, ns)

	table, _ := w.Table().Snapshot()
	for _, l := range table {
		if l.HasStats || l.Stats != (rtnl.LinkStats{}) {
			t.Errorf("%s: the table holds counters: %+v", l.Name, l.Stats)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	in := false
	for _, e := range r.events {
		switch e.Kind {
		case watch.ResyncStarted:
			in = true
		case watch.ResyncComplete:
			in = false
		case watch.Changed:
			if _, old := before[e.Value.Index]; in && old {
				t.Errorf("resync: %s reported changed:\n  old %+v\n  new %+v", e.Value.Name, e.Old, e.Value)
			}
		}
	}
}
