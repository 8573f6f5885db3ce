//go:build linux

package poller

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// Handler receives what the poller read from one registered socket. It runs
// on the poller's loop goroutine, one call at a time per poller, so a slow
// handler delays every socket of that poller (and a blocked one stalls
// them, letting their receive queues overrun). It must not retain b or
// anything in it after it returns. It may call Remove and Close (see the
// package documentation for what else).
type Handler func(b *Batch)

// Batch is the result of one receive syscall on one socket, in arrival
// order: the messages of every datagram the kernel sent, and the events
// (overrun, truncation, malformed datagram, end) that happened between
// them.
//
// A Batch and everything it refers to belong to the poller and are valid
// only during the Handler call: Messages[i].Data aliases the poller's
// receive buffers, which the next receive overwrites. Copy what must
// outlive the call.
type Batch struct {
	// Source is the registration the datagrams were read from.
	Source *Registration
	// Messages holds the messages of the accepted datagrams, in order.
	// Headers are bounds-checked (nl.MessageIter); a datagram from a
	// sender other than the kernel is never here (unless WithAnySender).
	// A registration whose framing is nl.FramingRaw gets one message per
	// datagram (nl.RawMessage).
	Messages []nl.Message
	// Events holds the in-order events of this read, sorted by At. Most
	// batches have none.
	Events []Event
	// NSIDs is nil unless the registration has WithNSID; then it is as
	// long as Messages and NSIDs[i] is the id, in the socket's namespace,
	// of the namespace Messages[i] came from (nl.NSIDNotAssigned for the
	// socket's own). Events are the socket's, not a namespace's: an
	// overrun may have lost messages of any namespace.
	NSIDs []int32
}

// NSID returns the namespace id of Messages[i]: NSIDs[i], or
// nl.NSIDNotAssigned for a registration without WithNSID.
func (b *Batch) NSID(i int) int32 {
	if b.NSIDs == nil {
		return nl.NSIDNotAssigned
	}
	return b.NSIDs[i]
}

// Segments calls fn for each run of messages between events and for each
// event, in order: fn(ms, nil) for a non-empty run, fn(nil, &ev) for an
// event. It does not allocate; it is the loop a stream adapter needs to
// turn Events into in-band markers.
func (b *Batch) Segments(fn func(ms []nl.Message, ev *Event)) {
	at := 0
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.At > at {
			fn(b.Messages[at:ev.At], nil)
			at = ev.At
		}
		fn(nil, ev)
	}
	if at < len(b.Messages) {
		fn(b.Messages[at:], nil)
	}
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// Overrun: the socket's receive queue overflowed and the kernel dropped
	// multicast messages (ENOBUFS, seen as EPOLLERR). The kernel reports it
	// at the next read, ahead of datagrams that were still queued, so the
	// loss is somewhere around At. The socket keeps working; state built
	// from it needs a resync.
	Overrun EventKind = iota + 1
	// Truncated: a datagram was longer than the poller's datagram buffer
	// (MSG_TRUNC). None of its messages are delivered; the buffers grow so
	// the next one fits.
	Truncated
	// Malformed: a datagram held a message header whose length is out of
	// bounds. The messages before it are delivered, the rest is dropped.
	Malformed
	// Closed: the registration has ended, because the poller closed or
	// the socket failed or was closed. It is the last event the handler
	// sees; Err says why.
	Closed
)

func (k EventKind) String() string {
	switch k {
	case Overrun:
		return "overrun"
	case Truncated:
		return "truncated"
	case Malformed:
		return "malformed"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is something that happened while reading a socket, positioned
// among the messages of its Batch: it comes after Messages[:At] and before
// Messages[At:].
type Event struct {
	At   int
	Kind EventKind
	// Err describes the event: ErrOverrun (matches unix.ENOBUFS),
	// ErrTruncated (matches nl.ErrTruncated), a decoding error matching
	// nl.ErrBadLength or nl.ErrShortMessage, or for Closed os.ErrClosed or
	// the receive error.
	Err error
}

// Errors carried by events. They are fixed values, so reporting them does
// not allocate.
var (
	// ErrOverrun reports lost multicast messages; errors.Is(err,
	// unix.ENOBUFS) holds.
	ErrOverrun = fmt.Errorf("poller: receive queue overrun, messages lost: %w", unix.ENOBUFS)
	// ErrTruncated reports a datagram cut short; errors.Is(err,
	// nl.ErrTruncated) holds.
	ErrTruncated = fmt.Errorf("poller: %w", nl.ErrTruncated)
	// ErrPollerClosed ends the registrations of a closed poller;
	// errors.Is(err, os.ErrClosed) holds.
	ErrPollerClosed = fmt.Errorf("poller: poller closed: %w", os.ErrClosed)
	// ErrSocketClosed ends a registration whose socket was closed while
	// registered; errors.Is(err, os.ErrClosed) holds.
	ErrSocketClosed = fmt.Errorf("poller: socket closed while registered: %w", os.ErrClosed)
)
