package rtnl

import (
	"fmt"
	"strconv"

	"github.com/nlrx/nlrx/nl"
)

// Message types and the multicast group of namespace ids (`ip netns
// set`, `ip netns list-id`, `ip monitor nsid`).
const (
	TypeNewNSID uint16 = 88 // RTM_NEWNSID: an id assigned (notification, reply, or request)
	TypeDelNSID uint16 = 89 // RTM_DELNSID: an id gone with its namespace (notification)
	TypeGetNSID uint16 = 90 // RTM_GETNSID: ask for one id, or dump them all

	GroupNSID uint32 = 28 // RTNLGRP_NSID: RTM_NEWNSID and RTM_DELNSID notifications
)

// Attribute types of namespace-id messages (NETNSA_*).
const (
	netnsaNSID        = 1 // NETNSA_NSID (s32)
	netnsaPID         = 2 // NETNSA_PID (u32)
	netnsaFD          = 3 // NETNSA_FD (u32)
	netnsaTargetNSID  = 4 // NETNSA_TARGET_NSID (s32)
	netnsaCurrentNSID = 5 // NETNSA_CURRENT_NSID (s32)

	sizeofRtgenmsg = 4 // struct rtgenmsg, padded to NLMSG_ALIGNTO
)

// NSIDNotAssigned is nl.NSIDNotAssigned (NETNSA_NSID_NOT_ASSIGNED): the
// namespace has no id in the one asked.
const NSIDNotAssigned = nl.NSIDNotAssigned

// NSID is the payload of a namespace-id message (struct rtgenmsg and the
// NETNSA_* attributes): an id that one network namespace (the socket's)
// gives another, its peer. The ids are the socket's namespace's own: the
// same peer may have another id, or none, elsewhere. A socket with
// nl.WithListenAllNSID hears the notifications of every peer that has an
// id, tagged with it.
//
// The kernel's notifications (RTNLGRP_NSID) and replies carry ID only, or
// with a target (ListNSIDs in another namespace) Current too. The other
// fields are those of requests; the helpers (GetNSID, SetNSID) fill them
// in. NSID is comparable and decoding one does not allocate.
type NSID struct {
	// ID is NETNSA_NSID, NSIDNotAssigned when the peer has none (or the
	// message did not say).
	ID int32
	// Current is NETNSA_CURRENT_NSID, set when HasCurrent: in an answer
	// about the ids of a target namespace, the id the same peer has in the
	// requester's namespace (NSIDNotAssigned for none).
	Current    int32
	HasCurrent bool
	// Target is NETNSA_TARGET_NSID, set when HasTarget: the id, in the
	// socket's namespace, of the namespace a request asks about instead
	// of the socket's own.
	Target    int32
	HasTarget bool
	// PID (NETNSA_PID, when not 0) and FD (NETNSA_FD, when HasFD) name the
	// peer in a request: a process in it, or an open namespace file.
	PID   uint32
	FD    uint32
	HasFD bool
}

// DecodeNSID decodes an RTM_NEWNSID, RTM_DELNSID or RTM_GETNSID message:
// what an RTNLGRP_NSID subscriber receives. The result does not alias
// m.Data. It does not allocate.
func DecodeNSID(m nl.Message) (NSID, error) {
	var n NSID
	switch m.Header.Type {
	case TypeNewNSID, TypeDelNSID, TypeGetNSID:
	default:
		return NSID{ID: NSIDNotAssigned}, fmt.Errorf("%w: %d is not a namespace-id message", ErrMessageType, m.Header.Type)
	}
	err := n.UnmarshalBinary(m.Data)
	return n, err
}

// UnmarshalBinary decodes the payload of a namespace-id message into n,
// replacing all of n. An ID the message does not carry is
// NSIDNotAssigned. Attributes of unknown types are ignored. It does not
// allocate.
func (n *NSID) UnmarshalBinary(b []byte) error {
	*n = NSID{ID: NSIDNotAssigned}
	if len(b) < 1 {
		return shortErr("namespace id", len(b), 1)
	}
	if len(b) < sizeofRtgenmsg {
		// struct rtgenmsg unpadded: nothing after it.
		return nil
	}
	d := nl.NewAttributeDecoder(b[sizeofRtgenmsg:])
	for d.Next() {
		switch d.Type() {
		case netnsaNSID:
			n.ID = d.Int32()
		case netnsaCurrentNSID:
			n.Current, n.HasCurrent = d.Int32(), true
		case netnsaTargetNSID:
			n.Target, n.HasTarget = d.Int32(), true
		case netnsaPID:
			n.PID = d.Uint32()
		case netnsaFD:
			n.FD, n.HasFD = d.Uint32(), true
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: namespace id: %w", err)
	}
	return nil
}

// AppendBinary appends the payload of a namespace-id message to b
// (encoding.BinaryAppender): struct rtgenmsg (AF_UNSPEC), then NETNSA_NSID
// unless ID is NSIDNotAssigned, and each other field that is set. It
// allocates only if b lacks capacity.
func (n *NSID) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, make([]byte, sizeofRtgenmsg)...)
	e := nl.NewAttributeEncoder(b)
	if n.ID != NSIDNotAssigned {
		e.Int32(netnsaNSID, n.ID)
	}
	n.appendRequest(e)
	if n.HasCurrent {
		e.Int32(netnsaCurrentNSID, n.Current)
	}
	return e.Bytes()
}

// appendRequest appends the attributes that name the peer and the target.
func (n *NSID) appendRequest(e *nl.AttributeEncoder) {
	if n.PID != 0 {
		e.Uint32(netnsaPID, n.PID)
	}
	if n.HasFD {
		e.Uint32(netnsaFD, n.FD)
	}
	if n.HasTarget {
		e.Int32(netnsaTargetNSID, n.Target)
	}
}

// MarshalBinary returns the payload AppendBinary gives. One allocation.
func (n *NSID) MarshalBinary() ([]byte, error) { return n.AppendBinary(make([]byte, 0, 48)) }

// Message returns n as a message of type typ (TypeNewNSID, TypeGetNSID)
// with the given header flags. Sequence number and length are left for
// nl.Conn to fill in. One allocation for the payload.
func (n *NSID) Message(typ, flags uint16) (nl.Message, error) {
	b, err := n.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}

// String returns n as `ip netns list-id` prints an entry, "nsid 10", with
// " current-nsid 3" after it when HasCurrent; "nsid unassigned" for an ID
// of NSIDNotAssigned.
func (n NSID) String() string {
	b := append([]byte("nsid "), nsidText(n.ID)...)
	if n.HasCurrent {
		b = append(append(b, " current-nsid "...), nsidText(n.Current)...)
	}
	return string(b)
}

func nsidText(id int32) string {
	if id == NSIDNotAssigned {
		return "unassigned"
	}
	return strconv.Itoa(int(id))
}
