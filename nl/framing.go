package nl

import (
	"errors"
	"fmt"
)

// Framing says how a netlink protocol lays out its datagrams, and so how
// the receive paths (Conn, the poller) and the reply operators read them.
// Dial picks it from the protocol (ProtocolFraming); WithFraming overrides
// it, and poller.WithFraming gives it for a socket added by fd.
type Framing uint8

const (
	// FramingNetlink: datagrams hold nlmsghdr-framed messages; NLMSG_DONE
	// ends a multipart reply and carries an errno, NLMSG_ERROR carries an
	// errno or an ACK. Every protocol but the two below.
	FramingNetlink Framing = iota
	// FramingConnector: datagrams hold nlmsghdr-framed messages, but the
	// protocol gives every message the type NLMSG_DONE (NETLINK_CONNECTOR:
	// each carries a struct cn_msg, process events among them). DONE is
	// then this protocol's message type: never the end of a reply, never
	// an errno. The connector has no request/reply, so Execute and its
	// relatives refuse such a socket (ErrNoReplies).
	FramingConnector
	// FramingRaw: datagrams are not netlink-framed
	// (NETLINK_KOBJECT_UEVENT: "ACTION@DEVPATH\0KEY=VALUE\0…"). Each
	// datagram arrives as one Message (RawMessage) whose Data is the whole
	// datagram and whose Header the receiver makes up: PortID is the
	// sender's port id from its socket address (0: the kernel). The kernel
	// fills that address in, so, unlike any header, it cannot be forged.
	// There is no request/reply either (ErrNoReplies).
	FramingRaw
)

// Netlink protocol numbers (linux/netlink.h), spelled out so that this file
// compiles on every platform.
const (
	protoConnector    = 11 // NETLINK_CONNECTOR
	protoKobjectEvent = 15 // NETLINK_KOBJECT_UEVENT
)

// ProtocolFraming returns the framing of a netlink protocol's datagrams:
// FramingRaw for NETLINK_KOBJECT_UEVENT, FramingConnector for
// NETLINK_CONNECTOR, FramingNetlink for the others.
func ProtocolFraming(protocol int) Framing {
	switch protocol {
	case protoKobjectEvent:
		return FramingRaw
	case protoConnector:
		return FramingConnector
	}
	return FramingNetlink
}

func (f Framing) String() string {
	switch f {
	case FramingNetlink:
		return "netlink"
	case FramingConnector:
		return "connector"
	case FramingRaw:
		return "raw"
	}
	return fmt.Sprintf("Framing(%d)", uint8(f))
}

// CheckMessage is the package's CheckMessage under framing f: the kernel
// error carried by m, or nil. With FramingConnector an NLMSG_DONE is a
// message like any other and carries no error; with FramingRaw no message
// carries one.
func (f Framing) CheckMessage(m Message) error {
	switch f {
	case FramingNetlink:
		return CheckMessage(m)
	case FramingConnector:
		if m.Header.Type == TypeError {
			return ParseError(m)
		}
	}
	return nil
}

// EndsReply reports whether m ends a reply under framing f: NLMSG_DONE or
// NLMSG_ERROR with FramingNetlink, NLMSG_ERROR only with FramingConnector,
// nothing with FramingRaw.
func (f Framing) EndsReply(m Message) bool {
	switch f {
	case FramingNetlink:
		return m.Header.Type == TypeDone || m.Header.Type == TypeError
	case FramingConnector:
		return m.Header.Type == TypeError
	}
	return false
}

// ErrNoReplies reports a request (Execute, ExecuteFunc, ExecuteBatch) on a
// socket whose framing has no request/reply: FramingConnector or
// FramingRaw.
var ErrNoReplies = errors.New("nl: this socket's protocol has no request/reply (its framing is not netlink's)")

// RawMessage wraps one datagram of a protocol that is not netlink-framed
// (FramingRaw) as a Message: Data is the datagram (aliased, not copied);
// the Header is made up, with Length HeaderLen+len(datagram) (as Len
// reports it), Type, Flags and Seq 0, and PortID the sender's port id as
// the socket address gave it (from). It does not allocate.
func RawMessage(datagram []byte, from uint32) Message {
	return Message{
		Header: Header{Length: uint32(HeaderLen + len(datagram)), PortID: from},
		Data:   datagram[:len(datagram):len(datagram)],
	}
}
