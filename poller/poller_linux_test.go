//go:build linux

package poller_test

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

func TestEverySocketReceivesEveryRouteEvent(t *testing.T) {
	const sockets, routes = 1024, 5000
	leakCheck(t)
	needFDs(t, sockets+64)
	ns := nstest.New(t)
	conns := dialMany(t, ns, sockets)

	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tl := newTally()
	counters := make([]routeCounter, sockets)
	for i, c := range conns {
		counters[i].tally = tl
		if _, err := p.Add(c, counters[i].handle); err != nil {
			t.Fatal(err)
		}
	}

	addPaced(bound(t, 90*time.Second), t, ns, tl, 0, routes, 200, sockets)

	for i := range counters {
		c := &counters[i]
		if c.routes.Load() != routes || c.other.Load() != 0 || c.overruns.Load() != 0 {
			t.Fatalf("socket %d: %d routes, %d other messages, %d overruns; want %d, 0, 0",
				i, c.routes.Load(), c.other.Load(), c.overruns.Load(), routes)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if want := uint64(sockets * routes); st.Messages != want || st.Datagrams != want {
		t.Errorf("poller stats: %d messages, %d datagrams; want %d each", st.Messages, st.Datagrams, want)
	}
	if st.Syscalls >= st.Datagrams {
		t.Errorf("%d receive syscalls for %d datagrams: recvmmsg did not batch", st.Syscalls, st.Datagrams)
	}
	for i := range counters {
		if n := counters[i].closed.Load(); n != 1 {
			t.Fatalf("socket %d saw %d Closed events after Close, want 1", i, n)
		}
	}
	t.Logf("poller: %+v", st)
}

// needFDs raises the soft RLIMIT_NOFILE to at least n, or skips.
func needFDs(t *testing.T, n uint64) {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("needs %d file descriptors, hard limit is %d", n, lim.Max)
	}
	old := lim
	lim.Cur = n
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("raise RLIMIT_NOFILE to %d: %v", n, err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

var (
	_ = errors.Is
	_ = os.ErrClosed
	_ = atomic.Int64{}
	_ = syscall.EAGAIN
	_ = nl.HeaderLen
)
