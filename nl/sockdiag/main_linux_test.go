//go:build linux

package sockdiag_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/sockdiag"
	"golang.org/x/sys/unix"
)

// TestMain runs the tests in private network namespaces (re-executing the
// binary in a user namespace when not root) and fails on leaked goroutines.
func TestMain(m *testing.M) { nstest.Main(m) }

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a NETLINK_SOCK_DIAG socket in ns, closed when the test ends;
// it skips the test, naming the kernel option, if the kernel cannot dump
// inet or Unix sockets.
func dial(t testing.TB, ns *nstest.NS) *nl.Conn {
	t.Helper()
	c, err := sockdiag.Dial(nl.WithNetNS(ns.Path()))
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Skipf("no NETLINK_SOCK_DIAG in this kernel (CONFIG_SOCK_DIAG / CONFIG_INET_DIAG): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := testCtx(t)
	if _, err := sockdiag.List(ctx, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP}); errors.Is(err, unix.ENOENT) {
		t.Skipf("no TCP socket dumps in this kernel (CONFIG_INET_DIAG, CONFIG_INET_TCP_DIAG): %v", err)
	}
	if _, err := sockdiag.List(ctx, c, sockdiag.Filter{Protocol: sockdiag.ProtoUDP}); errors.Is(err, unix.ENOENT) {
		t.Skipf("no UDP socket dumps in this kernel (CONFIG_INET_UDP_DIAG): %v", err)
	}
	if _, err := sockdiag.ListUnix(ctx, c, sockdiag.UnixFilter{}); errors.Is(err, unix.ENOENT) {
		t.Skipf("no Unix socket dumps in this kernel (CONFIG_UNIX_DIAG): %v", err)
	}
	return c
}

// needSS fails the test if ss(8) or nsenter is missing: the tests compare
// with what ss reports.
func needSS(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatal("ss (iproute2) is not installed: the tests compare with it (apt-get install iproute2)")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Fatal("nsenter (util-linux) is not installed: the tests run ss in the namespace with it")
	}
}

// ssLines runs ss with args (and -H) in ns and returns its lines with
// single spaces, sorted.
func ssLines(t *testing.T, ns *nstest.NS, args ...string) []string {
	t.Helper()
	cmd := ns.Cmd("ss", append([]string{"-H"}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ss %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	slices.Sort(lines)
	return lines
}

func socketLines(ss []sockdiag.Socket) []string {
	lines := make([]string, 0, len(ss))
	for i := range ss {
		lines = append(lines, ss[i].String())
	}
	slices.Sort(lines)
	return lines
}

func unixLines(us []sockdiag.UnixSocket) []string {
	lines := make([]string, 0, len(us))
	for i := range us {
		lines = append(lines, us[i].String())
	}
	slices.Sort(lines)
	return lines
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %d sockets\n  %s\nwant %d\n  %s", what, len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

// in runs fn on a thread in ns, so that the sockets it opens belong to
// ns; it fails the test on error.
func in(t testing.TB, ns *nstest.NS, fn func() error) {
	t.Helper()
	if err := ns.Do(fn); err != nil {
		t.Fatal(err)
	}
}

// closeLater closes c when the test ends.
func closeLater[C interface{ Close() error }](t testing.TB, c C) C {
	t.Cleanup(func() { c.Close() })
	return c
}

// listenTCP opens a TCP listener on addr in ns. It is plain TCP: Go's
// listeners are MPTCP by default (Go 1.24), whose TCP listener the kernel
// lists but does not destroy (EINVAL).
func listenTCP(t testing.TB, ns *nstest.NS, network, addr string) *net.TCPListener {
	t.Helper()
	var l net.Listener
	in(t, ns, func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		l, err = lc.Listen(context.Background(), network, addr)
		return err
	})
	return closeLater(t, l.(*net.TCPListener))
}

// dialTCP connects to addr from ns.
func dialTCP(t testing.TB, ns *nstest.NS, network, addr string) *net.TCPConn {
	t.Helper()
	var c net.Conn
	in(t, ns, func() (err error) {
		c, err = net.Dial(network, addr)
		return err
	})
	return closeLater(t, c.(*net.TCPConn))
}

// accept accepts one connection on l.
func accept(t testing.TB, l *net.TCPListener) *net.TCPConn {
	t.Helper()
	c, err := l.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	return closeLater(t, c)
}

// fdOf returns a copy of c's descriptor (closed when the test ends), for
// getsockopt and fstat.
func fdOf(t testing.TB, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	var derr error
	rc.Control(func(f uintptr) { fd, derr = unix.Dup(int(f)) })
	if derr != nil {
		t.Fatal(derr)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}
