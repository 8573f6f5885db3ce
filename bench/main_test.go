package main

import (
	"os"
	"strings"
	"testing"
)

func TestRunRejectsUnknownScenarioWithUsageExit(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"nosuch"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), `unknown scenario "nosuch"`) || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q; want the error alone", stderr.String(), stdout.String())
	}
}

func TestNeedToolsNamesWhatIsMissing(t *testing.T) {
	err := needTools("sh", "nlrx-no-such-tool")
	if err == nil || !strings.Contains(err.Error(), "nlrx-no-such-tool") || strings.Contains(err.Error(), "sh,") {
		t.Errorf("needTools: %v; want it to name only the missing program", err)
	}
}

func TestRunFailsLoudlyWhenIPIsMissing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("as another user run re-executes itself in a user namespace")
	}
	t.Setenv("PATH", t.TempDir())
	var stdout, stderr strings.Builder
	code := run([]string{"-format", "md", "dump"}, &stdout, &stderr)
	if code == 0 {
		t.Fatal("exit 0 without ip(8) and nsenter")
	}
	if !strings.Contains(stderr.String(), "missing ip, nsenter") || !strings.Contains(stderr.String(), "FAILED") {
		t.Errorf("stderr %q does not say what is missing", stderr.String())
	}
	if strings.Contains(stdout.String(), "| `raw` |") {
		t.Error("a table was printed for a scenario that could not run")
	}
	if !strings.Contains(stdout.String(), "Could not run") {
		t.Errorf("report %q does not say the scenario could not run", stdout.String())
	}
}
