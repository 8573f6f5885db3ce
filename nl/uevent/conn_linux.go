//go:build linux

package uevent

import (
	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// The multicast groups of NETLINK_KOBJECT_UEVENT.
const (
	// GroupKernel carries the kernel's uevents (what `udevadm monitor
	// --kernel` shows).
	GroupKernel uint32 = 1
	// GroupUdev carries udevd's rebroadcasts in libudev's format, after
	// its rules ran (`udevadm monitor --udev`). They come from udevd's
	// port, not the kernel's.
	GroupUdev uint32 = 2
)

// Dial opens a NETLINK_KOBJECT_UEVENT socket joined to group (GroupKernel
// or GroupUdev) with nl.Dial; opts are nl's (nl.WithNetNS for another
// namespace's network devices, nl.WithReadBuffer for bursts such as a
// coldplug). The socket's framing is nl.FramingRaw, so each datagram reads
// as one message for Decode. For GroupKernel the sender check stays on:
// datagrams from any port but the kernel's are dropped and counted
// (nl.Stats.Spoofed). GroupUdev needs datagrams from udevd's port, so the
// socket accepts any sender (nl.WithAnySender) and Decode marks libudev
// messages SourceUdev, and fails kernel-format ones from user space with
// ErrSpoofed. A poller checks senders itself: register a GroupUdev socket
// with poller.WithAnySender.
//
// Events of network devices go to the network namespace the device lives
// in; other devices' to the initial namespace (and those owned by the
// initial user namespace). Joining needs no privilege.
func Dial(group uint32, opts ...nl.Option) (*nl.Conn, error) {
	base := []nl.Option{nl.WithGroups(group)}
	if group != GroupKernel {
		base = append(base, nl.WithAnySender())
	}
	return nl.Dial(unix.NETLINK_KOBJECT_UEVENT, nl.Addr{}, append(base, opts...)...)
}
