//go:build linux

package watch_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// syncBuffer is a bytes.Buffer for a logger's handler and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WithLogger logs a loss and the resync after it, labelled with the
// watcher and its namespace, and nothing per event.
func TestWatcherLogsLossAndResync(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := newRouteWatcher(t, ns, watch.WithReadBuffer(4096), watch.WithFamily(rtnl.FamilyInet),
		watch.WithLabel("ns-under-test"), watch.WithLogger(logger))
	gate := make(chan struct{})
	r := record(t, w, gate)
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	if s := out.String(); s != "" {
		t.Fatalf("logged before anything went wrong:\n%s", s)
	}
	ns.IP("route", "add", "198.51.100.0/24", "dev", "v0") // the consumer stalls on this one
	r.waitFor(t, "the stalled event", has(watch.Added, dst("198.51.100.0/24")))
	ns.Batch(routeLines("add", 0, 1000)) // queued behind the stall: overruns
	close(gate)
	r.waitFor(t, "the resync", has[rtnl.Route](watch.ResyncComplete, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Resync(ctx); err != nil { // after the resync's own log record
		t.Fatal(err)
	}
	s := out.String()
	// The loss is found by the poller's read, or, when a verification
	// (after the veth's carrier came up, say) was reading the socket, by
	// that verification's drain or its dump's.
	lost := regexp.MustCompile(`level=WARN msg="notifications lost( during a verification| during a dump)?; resyncing" watch=routes namespace=ns-under-test err=`)
	if !lost.MatchString(s) {
		t.Errorf("the log lacks the loss:\n%s", s)
	}
	if want := "level=INFO msg=\"resync complete\" watch=routes namespace=ns-under-test added="; !strings.Contains(s, want) {
		t.Errorf("the log lacks %q:\n%s", want, s)
	}
	if n := strings.Count(s, "\n"); n > 20 {
		t.Errorf("%d log lines for one loss (nothing is logged per event):\n%s", n, s)
	}
}
