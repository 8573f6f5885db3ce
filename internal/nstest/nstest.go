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
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
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

// The multicast routing API of a routing daemon (linux/mroute.h).
const (
	mrtInit   = 200 // MRT_INIT
	mrtAddVIF = 202 // MRT_ADD_VIF
	mrtAddMFC = 204 // MRT_ADD_MFC
	viffUseIf = 0x8 // VIFF_USE_IFINDEX
)

// MulticastRouter makes the namespace a multicast router with two interfaces
// and one forwarding entry, as a daemon (pimd, smcroute) would: the socket
// holds the table until the test ends. It skips the test if the
// kernel has no multicast routing.
func (ns *NS) MulticastRouter(ifindexes ...int) {
	t := ns.t
	t.Helper()
	var fd int
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_IGMP)
		return err
	})
	if err != nil {
		t.Skipf("raw IGMP socket (needs CAP_NET_RAW): %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, mrtInit, 1); err != nil {
		t.Skipf("MRT_INIT: %v (the kernel lacks CONFIG_IP_MROUTE)", err)
	}
	for vif, index := range ifindexes {
		var v [16]byte // struct vifctl
		binary.NativeEndian.PutUint16(v[0:], uint16(vif))
		v[2] = viffUseIf
		v[3] = 1 // threshold
		binary.NativeEndian.PutUint32(v[8:], uint32(index))
		if err := unix.SetsockoptString(fd, unix.IPPROTO_IP, mrtAddVIF, string(v[:])); err != nil {
			t.Fatalf("MRT_ADD_VIF %d: %v", vif, err)
		}
	}
	var m [60]byte                     // struct mfcctl
	copy(m[0:4], []byte{10, 5, 0, 2})  // origin
	copy(m[4:8], []byte{239, 1, 2, 3}) // group
	binary.NativeEndian.PutUint16(m[8:], 0)
	m[10+1] = 1 // forward to vif 1 with ttl threshold 1
	if err := unix.SetsockoptString(fd, unix.IPPROTO_IP, mrtAddMFC, string(m[:])); err != nil {
		t.Fatalf("MRT_ADD_MFC: %v", err)
	}
}
