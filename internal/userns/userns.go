//go:build linux

// Package userns re-runs the current program inside a new user and network
// namespace in which it is root, so that tests and demos can make links
// and routes without privilege and without touching the host.
package userns

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// Env marks the re-run process.
const Env = "NLRX_IN_USERNS"

// Inside reports whether this process is such a re-run.
func Inside() bool { return os.Getenv(Env) != "" }

// Reexec runs the current program again, with the same arguments, standard
// streams and environment (plus Env), in a new user and network namespace
// that maps the caller's user to root, and returns its exit code. It fails
// if the kernel forbids unprivileged user namespaces.
func Reexec() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), Env+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
		Pdeathsig:                  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}
