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
