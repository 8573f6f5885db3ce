//go:build linux

package stream_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/nlrx/nlrx/internal/nstest"
)

// TestMain runs the tests in a user and network namespace when not root
// (nstest.Main re-executes the binary there), and checks for leaked
// goroutines after they pass.
func TestMain(m *testing.M) {
	if os.Geteuid() != 0 && !nstest.InUserNS() {
		nstest.Main(m) // re-executes this binary, which comes back here as root
		return
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
