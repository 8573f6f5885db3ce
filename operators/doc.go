// Package operators holds the stream operators of nlrx: functions from
// stream.Observable to stream.Observable (Go methods cannot take type
// parameters, so Map and its kind are functions; compose them by nesting).
//
//	routes := operators.Decode(
//		operators.FilterType(stream.FromExecute(conn, dump), unix.RTM_NEWROUTE),
//		decodeRoute)
//
// # Families
//
//   - Transform and select: Filter, Map, MapBatch (one function per batch,
//     filtering and mapping in a loop the compiler can inline: the hot-path
//     form for large items), Decode (a decoder that may fail:
//     the error fails the stream, or with DropInvalid the item is dropped
//     and counted), Tap, Scan, Reduce, Distinct, DistinctUntilChanged.
//   - Take and skip: Take, TakeWhile, TakeUntil (the item that matches is
//     emitted), Skip.
//   - Combine: Merge, Concat, FlatMap, GroupBy, Share.
//   - Time: BufferTime, Debounce, Throttle, Sample, Timeout; Retry waits
//     between attempts. All read time through a Clock (WithClock) so tests
//     drive time instead of sleeping.
//   - Count: BufferCount.
//   - Netlink: TakeUntilDone and CollectUntilDone (the multipart rule: up to
//     and including NLMSG_DONE, with the kernel's error and
//     nl.ErrDumpInterrupted; WithFraming for a connector socket, where DONE
//     is the message type and ends nothing), FilterType, FilterFamily, FilterGroup and
//     RouteGroup (rtnetlink multicast group of a message), FilterGroupBy.
//   - Loss: OnGap removes gaps, for consumers that accept loss explicitly.
//
// # Goroutines, ordering and backpressure
//
// Operators run inline on the goroutine that delivers their input, in
// order, and start no goroutine, except:
//
//	Merge              one goroutine per source but the first; a mutex serialises
//	                   the output (each source's order kept); Block
//	FlatMap            none by default (inner streams one at a time, in order);
//	                   with Concurrency(n), a goroutine per running inner, merged; Block
//	GroupBy            one goroutine per group, idle while items are handed over
//	                   inline; bounded by MaxGroups
//	Share              one goroutine running the shared subscription
//	BufferTime, Sample one ticker goroutine; Block
//	Debounce, Timeout  one timer goroutine; Block (Timeout takes no lock)
//
// Every such goroutine is stopped and joined before the Subscribe that
// started it returns, and emits nothing once the subscriber's context is
// done. "Block" means a slow subscriber holds its producers back; the
// Publisher of package stream offers the dropping policies.
//
// Gaps (stream.Gap) pass through every operator in order, except OnGap.
// Operators that hold items back emit them before forwarding a gap
// (BufferCount, BufferTime, Debounce), and DistinctUntilChanged forgets its
// last key at a gap.
//
// # Fusion
//
// Adjacent inline operators fuse when a subscription is set up: a Filter
// passes the next operator its input batch and the indices of the items it
// keeps instead of copying them, and a Filter followed by Map runs as one
// loop calling the predicate and the mapping on each item. So Filter → Map
// costs about what a loop calling the two functions through func values
// costs, without a batch function. Filter, Map, Decode, Take, Skip,
// TakeWhile, TakeUntil, Tap, Scan, Reduce, Distinct, DistinctUntilChanged,
// TakeUntilDone and the netlink filters take part. Fusion changes nothing an
// Observer can see: the same items in the same batches, gaps, errors and
// completion, and each function called on the same items in the same order
// (in Filter → Map, the predicate and the mapping alternate per item instead
// of per batch). MapBatch remains the fastest form where the compiler should
// inline the per-item work.
//
// Each subscription allocates its operator records and, for the batching
// operators, one buffer that grows to the batches seen, up to
// stream.BatchSize items; nothing is allocated per
// item except where an operator's output is new memory (BufferCount and
// BufferTime allocate each emitted slice).
package operators
