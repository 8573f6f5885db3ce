//go:build linux

package cnproc_test

import (
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
)

// childEnv makes the test binary the child whose events the tests watch.
const childEnv = "NLRX_CNPROC_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		child()
	}
	nstest.Main(m)
}

// child renames itself, starts a session, drops to nobody's gid and uid
// and exits with code 7: comm, sid, gid, uid and exit events, after the
// fork and exec of its start.
func child() {
	code := 7
	if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafePointer("nlrx-child")), 0, 0, 0); err != nil {
		code = 100
	}
	if _, err := unix.Setsid(); err != nil {
		code = 101
	}
	if err := syscall.Setgid(65534); err != nil {
		code = 102
	}
	if err := syscall.Setuid(65534); err != nil {
		code = 103
	}
	os.Exit(code)
}
