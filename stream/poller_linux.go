//go:build linux

package stream

import (
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

// PollerHandler returns a poller.Handler that publishes what the poller
// reads from one socket into pub, in order: each run of messages as one
// PushBatch; an overrun, a truncated or a malformed datagram as a Gap whose
// Cause is the event's error (errors.Is(gap, unix.ENOBUFS) for an overrun,
// nl.ErrTruncated for a truncation); the registration's Closed event (the
// poller closed, the socket failed) as pub.Error with its error, which
// wraps os.ErrClosed when the poller or socket was closed. After
// Registration.Remove the handler is not called again: end pub yourself
// (Complete) then.
//
// The messages alias the poller's buffers: inline subscribers run on the
// poller's loop goroutine and see them during the call only; buffered
// subscribers get copies, so give pub WithCopy(CopyMessages). The handler
// allocates nothing; a slow inline subscriber delays every socket of that
// poller (the kernel then overruns, and the subscribers see a Gap).
func PollerHandler(pub *Publisher[nl.Message]) poller.Handler {
	segment := func(ms []nl.Message, ev *poller.Event) {
		if ev == nil {
			pub.PushBatch(ms)
			return
		}
		switch ev.Kind {
		case poller.Closed:
			pub.Error(ev.Err)
		default:
			pub.Gap(Gap{Cause: ev.Err})
		}
	}
	return func(b *poller.Batch) { b.Segments(segment) }
}

// PollerNSIDHandler is PollerHandler for a registration with
// poller.WithNSID on a socket with nl.WithListenAllNSID: each message is
// published with the id of the namespace it came from (NSMessage; the
// socket's own namespace is nl.NSIDNotAssigned). Gaps and the end are
// published as PollerHandler publishes them; a Gap is the socket's and may
// have lost messages of any namespace. Without poller.WithNSID every
// message reads nl.NSIDNotAssigned.
//
// The messages alias the poller's buffers as with PollerHandler: give a
// Publisher with buffered subscribers WithCopy(CopyNSMessages). The
// handler keeps one buffer of NSMessage, reused from call to call: it
// allocates only when a batch is larger than any before. Because of that
// buffer, give each handler to registrations of one poller only (its
// calls then never overlap), not to the pollers of a Group.
func PollerNSIDHandler(pub *Publisher[NSMessage]) poller.Handler {
	var buf []NSMessage
	push := func(b *poller.Batch, from, to int) {
		if from >= to {
			return
		}
		buf = buf[:0]
		for i := from; i < to; i++ {
			buf = append(buf, NSMessage{Message: b.Messages[i], NSID: b.NSID(i)})
		}
		pub.PushBatch(buf)
		clear(buf) // drop the references to the poller's buffers
	}
	return func(b *poller.Batch) {
		at := 0
		for i := range b.Events {
			ev := &b.Events[i]
			push(b, at, ev.At)
			at = max(at, ev.At)
			switch ev.Kind {
			case poller.Closed:
				pub.Error(ev.Err)
			default:
				pub.Gap(Gap{Cause: ev.Err})
			}
		}
		push(b, at, len(b.Messages))
	}
}
