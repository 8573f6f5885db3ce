// Package frame is the wire format between an nl.Conn and a fake kernel
// (package nltest): each SOCK_SEQPACKET packet is a Header followed by one
// netlink datagram.
package frame

import "encoding/binary"

// Len is the size of an encoded Header.
const Len = 20

// Flags in Header.Flags.
const (
	// Trunc makes the receiver see MSG_TRUNC, as if its buffer had been
	// smaller than Header.OrigLen.
	Trunc = 1 << iota
)

// Header travels before each datagram. Towards the Conn, PortID and Groups
// are the sender's address; towards the fake kernel, the destination's.
type Header struct {
	PortID, Groups uint32
	Flags          uint32
	// Errno, if not zero, makes the receive fail with this errno (ENOBUFS
	// for an overrun); the datagram is discarded.
	Errno uint32
	// NSID is the namespace id plus one (zero: none).
	NSID uint32
}

// Put encodes h into b[:Len].
func Put(b []byte, h Header) {
	binary.NativeEndian.PutUint32(b[0:], h.PortID)
	binary.NativeEndian.PutUint32(b[4:], h.Groups)
	binary.NativeEndian.PutUint32(b[8:], h.Flags)
	binary.NativeEndian.PutUint32(b[12:], h.Errno)
	binary.NativeEndian.PutUint32(b[16:], h.NSID)
}

// Get decodes b[:Len].
func Get(b []byte) Header {
	return Header{
		PortID: binary.NativeEndian.Uint32(b[0:]),
		Groups: binary.NativeEndian.Uint32(b[4:]),
		Flags:  binary.NativeEndian.Uint32(b[8:]),
		Errno:  binary.NativeEndian.Uint32(b[12:]),
		NSID:   binary.NativeEndian.Uint32(b[16:]),
	}
}
