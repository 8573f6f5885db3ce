package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickRunSmoke builds the harness and runs `-quick -out DIR`, then
// checks every output file. It takes about a minute and needs namespaces,
// ip(8) and nsenter, so it runs only with NLRX_BENCH_SMOKE=1.
func TestQuickRunSmoke(t *testing.T) {
	if os.Getenv("NLRX_BENCH_SMOKE") != "1" {
		t.Skip("set NLRX_BENCH_SMOKE=1 to run the quick harness end to end")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bench")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to build the harness: %v", err)
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "-quick", "-format", "json", "-out", out)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench -quick: %v\n%s", err, stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout, &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	if len(rep.Scenarios) == 0 {
		t.Fatal("no scenario in the report")
	}
	for _, s := range rep.Scenarios {
		if s.Error != "" || len(s.Rows) == 0 {
			t.Errorf("scenario %s: error %q, %d rows", s.Name, s.Error, len(s.Rows))
		}
		for _, r := range s.Rows {
			if r.Error != "" || r.Rounds == 0 {
				t.Errorf("%s/%s: error %q after %d rounds", s.Name, r.Impl, r.Error, r.Rounds)
			}
		}
	}
	for _, f := range []string{"results.json", "results.md", "dump.svg", "watch.svg"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Errorf("missing %s: %v", f, err)
			continue
		}
		if strings.HasSuffix(f, ".svg") {
			parseSVG(t, b)
		}
	}
}
