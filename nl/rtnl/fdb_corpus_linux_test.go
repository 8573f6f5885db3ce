//go:build linux

package rtnl_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// TestWriteFDBFuzzCorpus captures the kernel's forwarding entries (a
// bridge's, a VXLAN device's remotes, the address lists) as seed corpus
// for FuzzDecodeFDBEntry. It runs only when NLRX_WRITE_CORPUS=1:
//
//	NLRX_WRITE_CORPUS=1 go test -run TestWriteFDBFuzzCorpus ./nl/rtnl/
func TestWriteFDBFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	ns := nstest.New(t)
	fdbScene(t, ns)
	for _, args := range [][]string{
		{"fdb", "add", "02:00:00:00:00:01", "dev", "v0", "master", "static", "sticky"},
		{"fdb", "add", "02:00:00:00:00:02", "dev", "v0", "master", "dynamic", "extern_learn"},
		{"fdb", "add", "02:00:00:00:00:05", "dev", "v0", "self", "permanent"},
		{"fdb", "add", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.0.0.2", "vni", "7", "port", "4790", "via", "v1", "self", "permanent"},
		{"fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.0.0.3", "self"},
	} {
		bridgeCmd(t, ns, args...)
	}
	ns.IP("link", "add", "vx6", "type", "vxlan", "external", "dstport", "4791", "local", "2001:db8::1")
	bridgeCmd(t, ns, "fdb", "add", "02:00:00:00:00:06", "dev", "vx6", "dst", "2001:db8::6", "src_vni", "99", "vni", "5", "self")
	c := ns.Dial()
	ctx := testCtx(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFDBEntry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := rtnl.ForEachFDB(ctx, c, rtnl.FDBFilter{}, func(e *rtnl.FDBEntry) error {
		b, err := e.MarshalBinary()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		n++
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(body), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FuzzDecodeFDBEntry: %d seeds", n)
}
