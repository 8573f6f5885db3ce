// Package uevent reads the kernel's device events (NETLINK_KOBJECT_UEVENT):
// what `udevadm monitor` prints, typed.
//
// A uevent is not a netlink message: each datagram is
// "ACTION@DEVPATH\0" followed by KEY=VALUE\0 variables, or, when udevd
// rebroadcasts an event after its rules ran, a libudev message (a
// "libudev" header with the offset of the same variables). Package nl reads
// such sockets whole (nl.FramingRaw): each datagram is one nl.Message with
// the sender's port id in its header, and Parse or Decode turn it into an
// Event: action, devpath, subsystem, seqnum, the variables in order, and
// accessors for the common ones (DevType, DevName, Interface, IfIndex …).
//
// Trust: kernel uevents come from port 0, which only the kernel can send
// from. Dial(GroupKernel) keeps nl's sender check, so anything else is
// dropped and counted; Parse fails a kernel-format datagram from another
// port with ErrSpoofed in any case, and marks libudev messages SourceUdev,
// never the kernel's word.
//
// As a stream through the poller: register the Conn with a poller, publish
// with stream.PollerHandler, decode with operators.Decode(…, Decode). An
// overrun (the kernel dropped events, ENOBUFS) reaches subscribers as a
// stream.Gap. examples/ueventmon is `udevadm monitor --kernel`.
//
// The codec builds on every platform; Dial is Linux only.
package uevent
