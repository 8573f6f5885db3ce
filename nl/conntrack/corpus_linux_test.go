//go:build linux

package conntrack_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
)

// TestWriteFuzzCorpus rewrites the kernel part of the seed corpus in
// testdata/fuzz: the dump replies and the events of the test flows and of
// real traffic (with counters and timestamps on), one file per distinct
// payload.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	a, b := pair(t)
	trackTraffic(t, a)
	sysctl(t, a, "nf_conntrack_acct", "1")
	sysctl(t, a, "nf_conntrack_timestamp", "1")
	c := dial(t, a)
	evc, err := conntrack.DialEvents(nil, nl.WithNetNS(a.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer evc.Close()
	ctx := testCtx(t)
	createTestFlows(t, c)
	echoUDP(t, b, "10.99.0.2:7777")
	udpRoundTrip(t, a, "10.99.0.1:5001", "10.99.0.2:7777")
	z := udp("10.0.5.1", "10.0.5.2", 1, 2)
	z.Orig.Zone = 9
	if err := conntrack.Create(ctx, c, z); err != nil {
		t.Fatal(err)
	}

	var dump []nl.Message
	req, _ := conntrack.Filter{}.Request()
	if err := c.ExecuteFunc(ctx, req, func(m nl.Message) error {
		dump = append(dump, nl.Message{Header: m.Header, Data: append([]byte(nil), m.Data...)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := conntrack.Flush(ctx, c, conntrack.Filter{}); err != nil {
		t.Fatal(err)
	}
	var events []nl.Message
	evc.SetReadDeadline(time.Now().Add(time.Second))
	for {
		ms, err := evc.Receive()
		if err != nil {
			break
		}
		events = append(events, ms...)
	}
	write := func(target string, ms []nl.Message, body func(m nl.Message) string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		seen := map[[32]byte]bool{}
		for _, m := range ms {
			s := body(m)
			sum := sha256.Sum256([]byte(s))
			if seen[sum] {
				continue
			}
			seen[sum] = true
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d seeds from %d messages", target, len(seen), len(ms))
	}
	write("FuzzDecodeFlow", append(dump, events...), func(m nl.Message) string {
		return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m.Data)
	})
	write("FuzzDecodeEvent", events, func(m nl.Message) string {
		return fmt.Sprintf("go test fuzz v1\nuint16(%d)\nuint16(%d)\n[]byte(%q)\n", m.Header.Type, m.Header.Flags, m.Data)
	})
}
