//go:build linux

// Package nstest gives tests a private network namespace of their own, so
// that they can add links and routes without touching the host.
//
// As root each namespace is made with unshare(CLONE_NEWNET) on a locked
// thread. A test binary run by another user re-executes itself, from Main,
// inside a new user and network namespace in which it is root; if the
// kernel forbids that, tests that need a namespace skip and say why.
package nstest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"go.uber.org/goleak"
)

var skipReason string

// Main runs the tests, first re-executing the test binary in a new user and
// network namespace when it is not run as root, and then fails the run if
// any goroutine outlived the tests. Call it from TestMain.
func Main(m *testing.M) {
	if os.Geteuid() != 0 && !userns.Inside() {
		code, err := userns.Reexec()
		if err == nil {
			os.Exit(code)
		}
		skipReason = fmt.Sprintf("needs root, or unprivileged user namespaces (user.max_user_namespaces, kernel.unprivileged_userns_clone): %v", err)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// OpenFDs returns the number of open file descriptors of the process.
func OpenFDs(t testing.TB) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// InUserNS reports whether the tests run inside the user namespace that
// Main made (so, for instance, SO_RCVBUFFORCE is not permitted).
func InUserNS() bool { return userns.Inside() }

// NS is a private network namespace for one test.
type NS struct {
	*nl.NetNS
	t testing.TB
}

// New makes a network namespace with its loopback up, closed when the test
// ends. It skips the test, naming the missing privilege, if namespaces
// cannot be made.
func New(t testing.TB) *NS {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	h, err := nl.NewNetNS()
	if err != nil {
		t.Skipf("cannot make a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	ns := &NS{NetNS: h, t: t}
	t.Cleanup(func() { h.Close() })
	ns.IP("link", "set", "lo", "up")
	return ns
}

// Cmd returns a command that runs name with args inside the namespace.
func (ns *NS) Cmd(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + ns.Path(), "--", name}, args...)...)
}

// IP runs ip(8) with args inside the namespace and returns its standard
// output; a failure ends the test.
func (ns *NS) IP(args ...string) string {
	ns.t.Helper()
	out, err := ns.TryIP(args...)
	if err != nil {
		ns.t.Fatal(err)
	}
	return out
}

// TryIP is IP that returns the failure instead of ending the test.
func (ns *NS) TryIP(args ...string) (string, error) {
	cmd := ns.Cmd("ip", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Batch runs `ip -batch -` with the given lines inside the namespace.
func (ns *NS) Batch(lines []string) {
	ns.t.Helper()
	cmd := ns.Cmd("ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		ns.t.Fatalf("ip -batch: %v: %s", err, out)
	}
}

// Veth adds a veth pair a–b in the namespace and sets both ends up (the
// dummy link type may be missing from the kernel; veth is always there).
func (ns *NS) Veth(a, b string) {
	ns.t.Helper()
	ns.IP("link", "add", a, "type", "veth", "peer", "name", b)
	ns.IP("link", "set", a, "up")
	ns.IP("link", "set", b, "up")
}

// Dial opens an rtnetlink socket in the namespace, closed when the test ends.
func (ns *NS) Dial(opts ...nl.Option) *nl.Conn {
	ns.t.Helper()
	c, err := nl.DialRoute(append([]nl.Option{nl.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		ns.t.Fatal(err)
	}
	ns.t.Cleanup(func() { c.Close() })
	return c
}
