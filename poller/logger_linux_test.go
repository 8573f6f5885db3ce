//go:build linux

package poller_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WithLogger reports a dropped datagram once, with the batch it came in;
// a batch with nothing dropped logs nothing.
func TestLoggerReportsDroppedDatagrams(t *testing.T) {
	leakCheck(t)
	ns := nstest.New(t)
	target := dialMany(t, ns, 1)[0]
	spoofer := ns.Dial()
	var out lockedBuffer
	p, err := poller.New(poller.WithLogger(slog.New(slog.NewTextHandler(&out, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	rec := newRecorder()
	if _, err := p.Add(target, rec.handle); err != nil {
		t.Fatal(err)
	}
	fence(t, ns, rec, 0) // a clean batch
	if s := out.String(); s != "" {
		t.Fatalf("logged with nothing dropped:\n%s", s)
	}
	sendRaw(t, spoofer, target.PortID(), forged(12))
	fence(t, ns, rec, 1)
	s := out.String()
	if strings.Count(s, "\n") != 1 || !strings.Contains(s, `level=WARN msg="poller: datagrams lost or dropped"`) ||
		!strings.Contains(s, "spoofed=1") || !strings.Contains(s, "overruns=0") {
		t.Fatalf("want one Warn line with spoofed=1, got:\n%s", s)
	}
}

// The packages share their datagram bounds (their defaults differ, each
// documented).
func TestDatagramBoundsAreNls(t *testing.T) {
	if poller.MinDatagramSize != nl.MinDatagramSize || poller.MaxDatagramSize != nl.MaxDatagramSize {
		t.Fatalf("poller's bounds %d–%d, nl's %d–%d", poller.MinDatagramSize, poller.MaxDatagramSize, nl.MinDatagramSize, nl.MaxDatagramSize)
	}
}
