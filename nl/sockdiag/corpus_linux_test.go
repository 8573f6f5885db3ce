//go:build linux

package sockdiag_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/sockdiag"
)

// TestWriteFuzzCorpus rewrites the kernel part of the seed corpus in
// testdata/fuzz: the dump replies for the fixture's sockets, with every
// extension, one file per distinct payload.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	ns := nstest.New(t)
	c := dial(t, ns)
	openFixture(t, ns)
	ctx := testCtx(t)
	reqs, err := sockdiag.Filter{Ext: sockdiag.ExtAll}.Requests()
	if err != nil {
		t.Fatal(err)
	}
	var inet, unixs [][]byte
	for _, req := range reqs {
		if err := c.ExecuteFunc(ctx, req, func(m nl.Message) error {
			inet = append(inet, append([]byte(nil), m.Data...))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ExecuteFunc(ctx, sockdiag.UnixFilter{MemInfo: true}.Request(), func(m nl.Message) error {
		unixs = append(unixs, append([]byte(nil), m.Data...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	write := func(target string, ps [][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		seen := map[[32]byte]bool{}
		for _, p := range ps {
			s := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", p)
			sum := sha256.Sum256([]byte(s))
			if seen[sum] {
				continue
			}
			seen[sum] = true
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d seeds from %d messages", target, len(seen), len(ps))
	}
	write("FuzzDecodeSocket", inet)
	write("FuzzDecodeUnixSocket", unixs)
}
