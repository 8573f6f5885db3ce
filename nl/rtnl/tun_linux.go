//go:build linux

package rtnl

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// AddTun creates the persistent tun or tap device name as t says (`ip
// tuntap add NAME mode tun|tap`): Tap, PI, VNetHdr, MultiQueue, and the
// Owner and Group if HasOwner and HasGroup; Persist is taken as set. The
// kernel makes tun devices only through /dev/net/tun, not rtnetlink: it
// opens that (TUNSETIFF, then TUNSETOWNER, TUNSETGROUP and TUNSETPERSIST)
// and closes it again. The device is made in the network namespace of the
// calling thread; use nl.NetNS.Do for another. Delete it with DeleteLink.
// A name in use by a device that is not a tun device of the same flags
// fails with an error matching unix.EINVAL or unix.EBUSY, as the kernel
// says. Costs: an open, three to five ioctls and a close.
func AddTun(name string, t Tun) error {
	t.Persist = true
	f, err := openTun(name, t)
	if err != nil {
		return err
	}
	return f.Close()
}

// OpenTun attaches to the tun or tap device name, creating it as AddTun
// does if it is missing, and returns the file through which its packets
// are read and written. Unless t.Persist is set, a device it created goes
// away when the file is closed (and its other queues'). With MultiQueue,
// each call adds a queue. Costs: an open and two to five ioctls.
func OpenTun(name string, t Tun) (*os.File, error) { return openTun(name, t) }

func openTun(name string, t Tun) (*os.File, error) {
	if len(name) >= NameLen {
		return nil, fmt.Errorf("rtnl: tun %q: name longer than %d bytes", name, NameLen-1)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("rtnl: tun %s: open /dev/net/tun: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	fail := func(what string, err error) (*os.File, error) {
		f.Close()
		return nil, fmt.Errorf("rtnl: tun %s: %s: %w", name, what, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fail("name", err)
	}
	flags := uint16(unix.IFF_TUN)
	if t.Tap {
		flags = unix.IFF_TAP
	}
	if !t.PI {
		flags |= unix.IFF_NO_PI
	}
	if t.VNetHdr {
		flags |= unix.IFF_VNET_HDR
	}
	if t.MultiQueue {
		flags |= unix.IFF_MULTI_QUEUE
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fail("TUNSETIFF", err)
	}
	if t.HasOwner {
		if err := unix.IoctlSetInt(fd, unix.TUNSETOWNER, int(t.Owner)); err != nil {
			return fail("TUNSETOWNER", err)
		}
	}
	if t.HasGroup {
		if err := unix.IoctlSetInt(fd, unix.TUNSETGROUP, int(t.Group)); err != nil {
			return fail("TUNSETGROUP", err)
		}
	}
	if t.Persist {
		if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
			return fail("TUNSETPERSIST", err)
		}
	}
	return f, nil
}
