// Package watch keeps copies of the kernel's routing, link, address and
// neighbour tables in step with the kernel, and reports every change as a
// typed event stream.
//
// A watcher subscribes to the table's multicast groups first, sets aside
// what they queued so far (it is older than the dump), dumps the table,
// then applies the notifications that queued during the dump, so no change
// is lost between the dump and the first notification; one the dump
// already shows changes nothing. Its event stream carries, in order:
//
//   - Added, Changed and Deleted, one per change of the table (the initial
//     dump arrives as Added events marked Synthetic);
//   - SnapshotComplete once the initial dump is in place;
//   - Overrun when the kernel reports lost notifications (ENOBUFS: its
//     socket buffer was full) or a datagram arrived truncated;
//   - ResyncStarted and ResyncComplete around the re-dump that follows an
//     overrun: the watcher keeps its socket, dumps the table again, diffs it
//     against its copy and emits the differences as Synthetic events, so the
//     table is right again when ResyncComplete arrives, with nothing lost.
//
// Dumps the kernel flags as interrupted (NLM_F_DUMP_INTR) are retried a
// bounded number of times. NETLINK_NO_ENOBUFS is never used: loss is always
// reported and repaired. The receive buffer defaults to 32 MiB
// (SO_RCVBUFFORCE; without CAP_NET_ADMIN the kernel caps it at twice
// net.core.rmem_max), enough for bursts of 100,000 route changes per second.
//
// The events run on a poller's goroutine (package poller): one poller can
// serve the watchers of many namespaces (WithPoller, WithNetNS). A watcher's
// Table can be read at any time from any goroutine; Snapshot gives a
// consistent copy.
//
// Watchers are Linux only; Event, Kind and Table compile everywhere.
package watch
