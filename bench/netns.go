package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
)

// inUserNS reports whether the harness runs in the user namespace it made
// for itself, where it is root but SO_RCVBUFFORCE is refused.
func inUserNS() bool { return userns.Inside() }

// privilege names the mode the harness runs in, for the report.
func privilege() string {
	switch {
	case inUserNS():
		return "unprivileged user, re-run inside a new user+network namespace (SO_RCVBUFFORCE refused)"
	case os.Geteuid() == 0:
		return "root"
	}
	return "unprivileged"
}

// needTools fails with a message naming what is missing when the programs
// the scenarios drive are not installed.
func needTools(names ...string) error {
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s in PATH (apt-get install iproute2 util-linux)", strings.Join(missing, ", "))
	}
	return nil
}

// benchNS is a private network namespace for one scenario, with the
// namespace file kept open so that it can be handed to child processes and
// to peers that take a descriptor.
type benchNS struct {
	*nl.NetNS
	file *os.File
}

// newBenchNS makes an empty network namespace (loopback down, nothing else).
func newBenchNS() (*benchNS, error) {
	h, err := nl.NewNetNS()
	if err != nil {
		return nil, fmt.Errorf("cannot make a network namespace (needs root, or unprivileged user namespaces): %w", err)
	}
	f, err := os.Open(h.Path())
	if err != nil {
		h.Close()
		return nil, err
	}
	return &benchNS{NetNS: h, file: f}, nil
}

// close removes the namespace's links first, so that the kernel frees
// their routes now, synchronously, rather than in a worker thread that
// would compete with the next scenario.
func (ns *benchNS) close() {
	_, _ = ns.ip("link", "del", "v0")
	ns.file.Close()
	ns.NetNS.Close()
}

// cmd returns a command that runs name inside the namespace (nsenter execs
// it in place, so the process measured is name itself).
func (ns *benchNS) cmd(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + ns.Path(), "--", name}, args...)...)
}

// ip runs ip(8) in the namespace and returns its output.
func (ns *benchNS) ip(args ...string) (string, error) {
	cmd := ns.cmd("ip", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// batch runs `ip -batch -` with lines in the namespace.
func (ns *benchNS) batch(lines ...string) error {
	cmd := ns.cmd("ip", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupVeth adds the veth pair v0–v1 (the dummy link type may be missing
// from the kernel), brings both ends up, gives v0 10.99.0.1/24, and returns
// v0's interface index.
func (ns *benchNS) setupVeth() (int, error) {
	err := ns.batch(
		"link add v0 type veth peer name v1",
		"link set v0 up",
		"link set v1 up",
		"addr add 10.99.0.1/24 dev v0",
	)
	if err != nil {
		return 0, err
	}
	return ns.ifindex("v0")
}

// resetVeth deletes v0 (and its peer) and makes them again: the kernel
// drops every route through v0 in the same call, so a namespace is ready
// for another batch of additions at once.
func (ns *benchNS) resetVeth() (int, error) {
	if _, err := ns.ip("link", "del", "v0"); err != nil {
		return 0, err
	}
	return ns.setupVeth()
}

func (ns *benchNS) ifindex(name string) (int, error) {
	var idx int
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return err
		}
		idx = ifi.Index
		return nil
	})
	return idx, err
}
