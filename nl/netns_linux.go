//go:build linux

package nl

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// NetNS is a handle on a network namespace: an open namespace file that
// keeps the namespace alive until Close.
type NetNS struct {
	f *os.File
}

// OpenNetNS opens the network namespace at path (/run/netns/NAME,
// /proc/PID/ns/net, …). It fails at once if path is not a network
// namespace: another file, or a namespace of another type (/proc/self/ns/uts).
// The check needs no privilege: ioctl(NS_GET_NSTYPE) on the open file.
// Cost: open, fstatfs and ioctl.
func OpenNetNS(path string) (*NetNS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nl: open network namespace: %w", err)
	}
	if err := checkNetNS(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("nl: open network namespace: %s %w", path, err)
	}
	return &NetNS{f: f}, nil
}

// nsGetNSType is NS_GET_NSTYPE, _IO(0xb7, 0x3) in linux/nsfs.h (Linux
// 4.11): the CLONE_NEW* type of a namespace file.
const nsGetNSType = 0xb703

// errNotNS and errNotNetNS say what a namespace path turned out to be.
var (
	errNotNS    = errors.New("is not a namespace file")
	errNotNetNS = errors.New("is a namespace of another type, not a network namespace")
)

func checkNetNS(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var check error
	rc.Control(func(fd uintptr) {
		var st unix.Statfs_t
		if err := unix.Fstatfs(int(fd), &st); err != nil {
			check = fmt.Errorf("%w: %w", errNotNS, os.NewSyscallError("fstatfs", err))
			return
		}
		if st.Type != unix.NSFS_MAGIC {
			check = errNotNS
			return
		}
		typ, _, e := unix.Syscall(unix.SYS_IOCTL, fd, nsGetNSType, 0)
		switch {
		case e == unix.ENOTTY:
			// A kernel before 4.11: a namespace, of a type only setns
			// can tell.
		case e != 0:
			check = fmt.Errorf("%w: %w", errNotNS, os.NewSyscallError("ioctl NS_GET_NSTYPE", e))
		case typ != unix.CLONE_NEWNET:
			check = errNotNetNS
		}
	})
	return check
}

// NewNetNS makes a new, empty network namespace (unshare(CLONE_NEWNET) on a
// locked OS thread that then returns to its namespace) and returns a handle
// on it. It needs CAP_SYS_ADMIN in the current user namespace. Nothing in
// the calling goroutine's namespace changes.
func NewNetNS() (*NetNS, error) {
	var ns *NetNS
	err := onLockedThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("nl: new network namespace: %w", os.NewSyscallError("unshare", err))
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			return fmt.Errorf("nl: new network namespace: %w", err)
		}
		ns = &NetNS{f: f}
		return nil
	})
	return ns, err
}

// Path returns a path that names the namespace while the handle is open
// (/proc/PID/fd/N), usable with WithNetNS and with tools such as nsenter.
func (ns *NetNS) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.f.Fd()) }

// FD returns the namespace file's descriptor, valid while the handle is
// open (for setns(2), or for moving a link there: IFLA_NET_NS_FD).
func (ns *NetNS) FD() int { return int(ns.f.Fd()) }

// Do runs fn on a locked OS thread inside the namespace and returns its
// error. Goroutines that fn starts do not inherit the namespace.
func (ns *NetNS) Do(fn func() error) error {
	return onLockedThread(func() error {
		if err := unix.Setns(int(ns.f.Fd()), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("nl: enter network namespace: %w", os.NewSyscallError("setns", err))
		}
		return fn()
	})
}

// Close releases the handle; the namespace lives on while anything else
// (a socket, a process, a bind mount) holds it.
func (ns *NetNS) Close() error { return ns.f.Close() }

// inNetNS runs fn on a locked thread inside the namespace at path.
func inNetNS(path string, fn func() error) error {
	ns, err := OpenNetNS(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	return ns.Do(fn)
}

// onLockedThread runs fn on a fresh goroutine locked to its OS thread, and
// puts the thread back in its original network namespace afterwards. If it
// cannot, the thread is left locked, so the runtime discards it when the
// goroutine exits instead of reusing a thread in the wrong namespace.
func onLockedThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- fmt.Errorf("nl: open current network namespace: %w", err)
			return // thread stays locked and is discarded
		}
		err = fn()
		rerr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET)
		orig.Close() // before replying: the caller may count descriptors
		if rerr != nil {
			if err == nil {
				err = fmt.Errorf("nl: restore network namespace: %w", os.NewSyscallError("setns", rerr))
			}
			errc <- err
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}
