//go:build linux

package stream

import (
	"context"
	"errors"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// FromExecute returns a cold Observable of the kernel's replies to req:
// each subscription sends req with conn.ExecuteFunc and emits every reply
// until NLMSG_DONE (or the ACK), then completes; the kernel's error (an
// *nl.Error), nl.ErrDumpInterrupted or nl.ErrTruncated fail the stream
// after the replies, as with conn.Execute. DONE and the ACK themselves are
// not emitted.
//
// Each reply's Data aliases conn's receive buffer and is valid only during
// the Observer call: decode it there, or copy it (CloneMessage) to keep it.
// Nothing is allocated per reply. Stopping early (ErrStop, Take) leaves the
// rest of a dump to be read out by the socket's next dump. Concurrent
// subscriptions on one conn, and requests an Observer makes on conn, run
// as nl.Conn's requests do: at once, each with its own replies.
func FromExecute(conn *nl.Conn, req nl.Message) Observable[nl.Message] {
	return Create(func(ctx context.Context, o Observer[nl.Message]) error {
		return conn.ExecuteFunc(ctx, req, func(r nl.Message) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return o.Next(r)
		})
	})
}

// FromReceive returns an Observable that reads conn on the subscribing
// goroutine with conn.Receive and emits each datagram's messages as one
// batch, for a socket joined to multicast groups (nl.WithGroups,
// conn.JoinGroup). Received messages own their Data.
//
// An overrun (an error matching unix.ENOBUFS) and a truncated datagram
// (nl.ErrTruncated) do not end the stream: they become a Gap whose Cause is
// that error, so the consumer knows to resynchronise. Other receive errors
// end it. When ctx ends, a blocked receive is woken (conn.InterruptOnDone);
// a read deadline set on conn is left as it was. Only one subscription
// should read a conn at a time; to fan out, use Listen or the operators
// package's Share. Cost: Receive's one allocation per datagram; no
// goroutine.
func FromReceive(conn *nl.Conn) Observable[nl.Message] {
	return Create(func(ctx context.Context, o Observer[nl.Message]) error {
		stop := conn.InterruptOnDone(ctx)
		defer stop()
		for {
			ms, err := conn.Receive()
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if len(ms) > 0 {
				if oerr := o.NextBatch(ms); oerr != nil {
					return oerr
				}
			}
			switch {
			case err == nil:
			case errors.Is(err, unix.ENOBUFS) || errors.Is(err, nl.ErrTruncated):
				if gerr := o.Gap(Gap{Cause: err}); gerr != nil {
					return gerr
				}
			default:
				return err
			}
		}
	})
}

// FromReceiveNSID is FromReceive for a socket with nl.WithListenAllNSID:
// it reads conn with conn.ReceiveFrom and emits each message with the id
// of the namespace its datagram came from (NSMessage; nl.NSIDNotAssigned
// for the socket's own). Gaps, errors and cancellation are FromReceive's.
// Cost: ReceiveFrom's one allocation per datagram; the batch of NSMessage
// is reused (it grows to the largest datagram's message count).
func FromReceiveNSID(conn *nl.Conn) Observable[NSMessage] {
	return Create(func(ctx context.Context, o Observer[NSMessage]) error {
		stop := conn.InterruptOnDone(ctx)
		defer stop()
		var batch []NSMessage
		for {
			ms, nsid, err := conn.ReceiveFrom()
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if len(ms) > 0 {
				batch = batch[:0]
				for _, m := range ms {
					batch = append(batch, NSMessage{Message: m, NSID: nsid})
				}
				oerr := o.NextBatch(batch)
				clear(batch)
				if oerr != nil {
					return oerr
				}
			}
			switch {
			case err == nil:
			case errors.Is(err, unix.ENOBUFS) || errors.Is(err, nl.ErrTruncated):
				if gerr := o.Gap(Gap{Cause: err}); gerr != nil {
					return gerr
				}
			default:
				return err
			}
		}
	})
}

// Listen makes a hot source of conn's multicast messages: a goroutine
// reads conn (as FromReceive does) until ctx ends and publishes each
// datagram as one batch to the returned Publisher, on which each subscriber
// picks its backpressure policy (pub.Observable(WithBuffer(n, policy))).
// Overruns and truncations reach every subscriber as a Gap. Messages are
// published only to subscribers attached at the time: subscribe (and
// WaitSubscribers) before causing the events to watch. When ctx ends the
// goroutine exits and the Publisher ends with ctx's error; wait returns
// once it has exited. Cost: one goroutine, Receive's one allocation per
// datagram.
//
// Until the poller exists this is the way to watch groups; the poller will
// feed a Publisher the same way without a goroutine per socket.
func Listen(ctx context.Context, conn *nl.Conn, opts ...PublisherOption[nl.Message]) (pub *Publisher[nl.Message], wait func() error) {
	pub = NewPublisher(opts...)
	return pub, pub.Connect(ctx, FromReceive(conn))
}
