// Package watch keeps copies of the kernel's routing, link, address,
// neighbour, nexthop, policy-routing rule and bridge forwarding tables in
// step with the kernel, and reports every change as a typed event stream.
//
// Start here: Routes, Links, Addresses, Neighbors, Nexthops, Rules or FDB make a
// watcher (WithNetNS, WithPoller…); Events() is its stream (subscribe with
// stream.ForEach, or compose with operators), WaitReady waits for the
// snapshot, Table() reads the copy at any time, Stats() counts, Close ends
// it. Event.IsChange tells changes from the in-band markers. New watches
// any other table the kernel dumps and notifies, described by a Spec (its
// dump, groups, decoder and key), with the same guarantees; the silent
// changes the typed watchers follow (below) are theirs alone.
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
// # What the kernel does silently
//
// The kernel changes some tables without a notification per entry: routes
// when a link goes down, away or loses its carrier, when an address goes,
// when an MTU changes, when a nexthop object goes or changes; nexthop
// objects when their link goes down; the detached and unresolved flags of
// policy-routing rules when a device of their name comes or goes, or a
// rule at their goto target; a bridge's local forwarding entries when a
// port leaves or changes its address, or the bridge changes its own. The
// watchers of those tables follow
// what causes it and apply the kernel's own rule at once (Synthetic
// events). Then they verify: after the kernel has finished (a request that
// waits for the RTNL lock the kernel holds while it works), they dump the
// table, repair what differs, and count it in Stats.Repairs, leaving out
// what notifications that arrived during the dump explain. Verifications
// are coalesced: a burst of changes costs one dump. Resync verifies on
// demand and WithAudit on a schedule. Stats.Repairs stays 0 while the
// rules cover what the kernel did; anything else is repaired all the same.
//
// # Goroutines and callbacks
//
// A watcher delivers its events on the poller's goroutine (live changes)
// or on a goroutine of its own (the snapshot, resyncs and verifications,
// while the poller does not read its socket), never on both at once: the
// subscribers of one watcher never run concurrently with themselves, and
// see the events in order. Subscribers of different watchers that share a
// poller may run concurrently (one watcher's dump while another's live
// change). A subscriber with inline delivery (the default) holds up the
// watcher while it runs; stream.WithBuffer gives it a goroutine and a
// queue of its own.
//
// A subscriber may call Close, on its own watcher or another: Close then
// returns at once and the watcher finishes closing when the delivery
// returns (Done reports it). It may read Table at any time. It should not
// call Resync with inline delivery: Resync waits for a dump whose events
// go to that very subscriber (use a buffered subscriber or another
// goroutine).
//
// # Many namespaces
//
// One watcher watches one network namespace (WithNetNS); several share a
// poller (WithPoller) and so one goroutine. ByNSID makes one per namespace
// and keys them by the id each has in the caller's namespace, the id a
// socket there with nl.WithListenAllNSID tags that namespace's messages
// with (poller.WithNSID, stream.NSMessage).
//
// Watchers are Linux only; Event, Kind and Table compile everywhere.
package watch
