//go:build linux

// Package tour holds the programs of README.md's tour; this test keeps
// README.md's copies of them equal to the programs, which have tests of
// their own.
package tour

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEShowsTheTourPrograms checks that each program's code, from
// its first func on, appears in README.md as it is here.
func TestREADMEShowsTheTourPrograms(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"dump", "live", "many"} {
		src, err := os.ReadFile(prog + "/main.go")
		if err != nil {
			t.Fatal(err)
		}
		body := string(src)
		i := strings.Index(body, "\nfunc ")
		if i < 0 {
			t.Fatalf("%s/main.go: no func", prog)
		}
		body = body[i+1:]
		if !strings.Contains(string(readme), "```go\n"+body+"```\n") {
			t.Errorf("README.md does not show examples/tour/%s/main.go as it is (from its first func to the end, in a go block)", prog)
		}
	}
}
