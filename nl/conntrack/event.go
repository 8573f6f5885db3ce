package conntrack

import (
	"fmt"
	"strconv"

	"github.com/nlrx/nlrx/nl"
)

// EventType says what happened to a flow.
type EventType uint8

// Event types, one per multicast group.
const (
	EventNew     EventType = 1 // NFNLGRP_CONNTRACK_NEW: IPCTNL_MSG_CT_NEW with NLM_F_CREATE|NLM_F_EXCL
	EventUpdate  EventType = 2 // NFNLGRP_CONNTRACK_UPDATE: IPCTNL_MSG_CT_NEW without them
	EventDestroy EventType = 3 // NFNLGRP_CONNTRACK_DESTROY: IPCTNL_MSG_CT_DELETE
)

// String returns "NEW", "UPDATE" or "DESTROY", as conntrack -E prints
// them, or the number.
func (t EventType) String() string {
	switch t {
	case EventNew:
		return "NEW"
	case EventUpdate:
		return "UPDATE"
	case EventDestroy:
		return "DESTROY"
	}
	return strconv.Itoa(int(t))
}

// Group returns the multicast group of the event type (GroupNew …).
func (t EventType) Group() uint32 { return uint32(t) }

// Event is a conntrack event: what happened and the flow it happened to.
// A NEW or UPDATE event carries the status, timeout and what changed; a
// DESTROY event the counters and timestamps (when the kernel keeps them).
type Event struct {
	Type EventType
	Flow Flow
}

// String returns the event as conntrack -E -o extended prints it:
// "[NEW] ipv4 2 udp 17 30 src=…".
func (e *Event) String() string {
	b := make([]byte, 0, 200)
	b = append(b, '[')
	b = append(b, e.Type.String()...)
	b = append(b, "] "...)
	b, _ = e.Flow.AppendText(b)
	return string(b)
}

// DecodeEvent decodes a message of a conntrack event socket. The result
// does not alias m.Data; it does not allocate (a helper's name aside).
func DecodeEvent(m nl.Message) (Event, error) {
	var ev Event
	err := ev.decode(&m)
	return ev, err
}

// decode decodes m into e, which must be the zero Event.
func (e *Event) decode(m *nl.Message) error {
	switch {
	case m.Header.Type == TypeDelete:
		e.Type = EventDestroy
	case m.Header.Type == TypeNew && m.Header.Flags&(nl.FlagCreate|nl.FlagExcl) != 0:
		e.Type = EventNew
	case m.Header.Type == TypeNew:
		e.Type = EventUpdate
	default:
		return fmt.Errorf("%w: %#x is not a conntrack event", ErrMessageType, m.Header.Type)
	}
	return e.Flow.decode(m.Data)
}
