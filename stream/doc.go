// Package stream is nlrx's typed, push-based stream core: Observable[T],
// its sources (slices, channels, iterators, functions, netlink requests and
// multicast groups, the poller), its sinks (Collect, ForEach, channels,
// iterators) and Publisher, the hot source with a backpressure policy per
// subscriber. The operators package builds on it; package stream/rx bridges
// to rxgo.
//
// Start here: a watcher's Events() (package stream/watch) or a source of
// this package (FromExecute for a request's replies, Listen for a socket's
// multicast groups, FromSlice…) read with ForEach or Collect, composed on
// the way with the operators package. Subscribe with an Observer is the
// general form, for gaps and batches; Publisher is for a hot source of
// your own.
//
// # Model
//
// An Observable is run by Subscribe(ctx, observer), which blocks until the
// stream ends and returns its result exactly once: nil when it completed,
// the stream's error, the error the Observer returned, or ctx's error. An
// Observer receives, one call at a time and in order, items (Next), batches
// of items (NextBatch: a whole datagram's messages in one call) and gaps
// (Gap: an in-band marker that items were lost, such as a kernel overrun or
// a full subscriber queue). Errors travel in band too: they end the stream
// after the items before them. An Observer stops a stream early by
// returning an error, ErrStop to end it without failure; nothing reaches
// an Observer after its Subscribe has returned.
//
// The hot path is synchronous. Sources call their Observer directly and
// operators that need no concurrency (Filter, Map, Take, TakeUntilDone …)
// run inline on the goroutine that delivers the items, allocate nothing per
// item and start no goroutine. Stopping early is a returned error, so it
// costs nothing and leaks nothing. Goroutines exist only where concurrency
// is the point (Merge, time-based operators, buffered subscriptions, Share,
// the reader goroutine of Listen), each with its backpressure policy stated,
// and each stopped and joined before the Subscribe that started it returns.
//
// Cancellation: sources check ctx at least once per batch (per item for
// per-item sources), so once ctx is done at most the batch in progress is
// delivered and Subscribe returns ctx.Err().
//
// # Ownership
//
// The slice given to NextBatch is the caller's and valid only during the
// call. Items themselves are values, but an item may refer to memory that
// its source reuses: the Data of an nl.Message from FromExecute or from the
// poller aliases a receive buffer that is valid only during the call.
// Decode such items in the Observer, or copy them (CloneMessage,
// CopyMessages) to keep them. Sinks that keep items (Collect, ToChan, a
// buffered subscription) keep them as received.
//
// # Hot sources and backpressure
//
// A Publisher is fed by a producer (PushBatch from a poller's handler, say)
// and delivers to each subscriber according to the policy the subscriber
// chose with WithBuffer:
//
//   - inline (the default, WithBuffer(0, Block)): the subscriber's Observer
//     runs on the goroutine of the producer's call (see Concurrency),
//     seeing the producer's items without a copy; that call waits for it.
//   - Block with a queue: the producer waits when the queue is full.
//   - DropNewest / DropOldest: the queue drops items, counts them and puts a
//     Gap where they were, so the consumer knows to resynchronise.
//   - Fail: the subscription fails with ErrOverflow once the queue overflows.
//
// Queued subscribers run their Observer on their own (the subscribing)
// goroutine and receive copies made by the Publisher's copy function
// (WithCopy(CopyMessages) for messages that alias the producer's buffers).
//
// # Concurrency
//
// Which goroutine runs an Observer:
//
//   - A cold Observable and the inline operators (Filter, Map, …) call it
//     on the goroutine that called Subscribe; Merge and the other
//     concurrent operators on their sources' goroutines.
//   - An inline subscriber of a Publisher runs on the goroutine of the
//     producer's call (Push, PushBatch, Gap: a poller's loop, a watcher's
//     goroutine). A Publisher delivers one call at a time, like a
//     serializing executor: a call made while another is delivering, from
//     another goroutine or from inside a subscriber's callback, is queued
//     and run by the goroutine already delivering, after the callback in
//     progress returns and before that goroutine's own call returns. The
//     goroutine that called Subscribe only waits.
//   - A buffered subscriber (WithBuffer) runs on the goroutine that called
//     Subscribe.
//
// Either way the methods of one Observer are called one at a time, never
// concurrently and never nested in one another, and never after its
// Subscribe has returned.
//
// What a callback may call, and what it costs:
//
//   - Push, PushBatch and Gap on the same Publisher: queued with a copy of
//     the items (the WithCopy function; one mutex, a reused buffer that
//     allocates only when it grows), returning at once; delivered after the
//     callback returns, in call order, to the subscribers attached when
//     the call was made.
//   - Complete and Error: never wait (one mutex). Later calls are ignored
//     at once; every subscriber gets the end after what was published
//     before it, so a Complete from a callback reaches even the subscriber
//     that made it once its callback has returned.
//   - Cancelling its own context, or returning an error (ErrStop to end
//     without failure): nothing more is delivered to it, Subscribers stops
//     counting it before the producer's call returns, and its Subscribe
//     returns once the callback has. Free.
//   - Subscribing another Observer, on a goroutine of its own (Subscribe
//     blocks until the stream ends): registered at once, without waiting
//     for the delivery in progress; it receives what is published from
//     then on. A few allocations per subscription, and a copy of the
//     subscriber list.
//   - Subscribers, WaitSubscribers and Dropped.
//
// A callback must not wait for its own Subscribe to return (Subscribe waits
// for the callback in progress), nor for a producer that is waiting for
// it. A Block-buffered subscriber that pushes to its own Publisher waits,
// like any producer, for room in its own queue: with the queue full that
// is a wait for itself.
//
// Concurrent producers do not wait for one another: only the goroutine
// delivering waits for inline and Block-buffered subscribers, and what the
// others push meanwhile waits, copied, in the Publisher's queue. A producer
// that must be held back by slow subscribers pushes from one goroutine. A
// producer's call that finds the Publisher idle, the poller's usual case,
// costs two atomic operations plus two per inline subscriber, takes no
// lock but a buffered subscriber's queue mutex, and allocates nothing.
//
// # Netlink
//
// FromExecute turns a request into a cold Observable of its replies
// (conn.ExecuteFunc underneath: no copy). FromReceive and Listen read a
// socket joined to multicast groups, turning overruns (ENOBUFS) and
// truncated datagrams into gaps instead of ending the stream.
// PollerHandler feeds a Publisher from the poller. For a socket that hears
// every namespace (nl.WithListenAllNSID), PollerNSIDHandler (with
// poller.WithNSID) and FromReceiveNSID emit NSMessage: each message with the
// id of the namespace it came from. These parts are in files
// of their own with linux build tags; the rest compiles everywhere.
package stream
