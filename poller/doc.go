// Package poller reads many nonblocking netlink sockets from one epoll
// instance and hands what it reads to handlers in batches.
//
// Start here: most programs never use a poller directly. Watchers make one
// each, or share one given with watch.WithPoller (one goroutine for many
// namespaces); stream.PollerHandler publishes a socket's messages as a
// stream. Use
// New, Add with a Handler, Remove and Close yourself when you read raw
// netlink sockets at scale.
//
// A Poller owns one epoll instance, an eventfd that interrupts it on Close,
// and one goroutine (the loop), which parks in the Go runtime's netpoller
// while nothing is ready. When a registered socket is readable the loop
// reads it with recvmmsg(2), up to the batch size of datagrams per syscall,
// into buffers it reuses, and calls the socket's Handler once per syscall
// with a Batch: the messages of every datagram, in order, with in-order
// events between them.
//
// Each datagram is checked once: its sender must be the kernel (port id 0,
// from the socket address, never the forgeable header), or it is dropped
// and counted; a datagram cut short (MSG_TRUNC) becomes a Truncated event
// and the buffers grow; message headers are bounds-checked, except on a
// socket whose protocol is not netlink-framed (nl.FramingRaw: uevents),
// where each datagram is delivered whole as one message. A multicast
// overrun (ENOBUFS, which epoll shows as EPOLLERR) becomes an Overrun
// event in the same stream, and the socket keeps working: the consumer
// decides how to resync.
//
// Namespaces: a socket dialled with nl.WithListenAllNSID hears the
// notifications of every namespace that has an id in its own. Registered
// with WithNSID, its datagrams are read with a control buffer each and
// Batch.NSIDs gives every message the id of the namespace it came from
// (nl.NSIDNotAssigned for the socket's own); registrations without it
// read no control data and pay nothing.
//
// Fairness: the epoll set is level-triggered and the loop reads at most a
// budget of datagrams from one socket per wake-up, so a socket that still
// has data stays ready and is served again after the others.
//
// Cost: nothing is allocated per message or per batch in steady state;
// a batch costs one recvmmsg, the handler call, two clock reads and a few
// atomic adds for the counters (Stats). Buffers take batch size × datagram
// size bytes of address space per poller, of which only the pages that
// datagrams reach become resident.
//
// Waiting: by default the loop parks in the Go runtime's netpoller and
// holds no thread while idle. WithDedicatedThread keeps it in epoll_wait on
// a thread of its own instead, which is cheaper per event for sockets
// dialled with nl.WithBlocking (outside the runtime's netpoller):
// bench/poller/RESULTS.md has the figures for both.
//
// A Group runs several pollers (one per CPU by default) under an errgroup
// and spreads registrations over them.
//
// # Concurrency contract
//
// Which goroutine: every handler of a Poller runs on that poller's loop,
// one call at a time, so the handlers of one poller never run concurrently
// with each other or with themselves. Handlers of different pollers (the
// pollers of a Group, say) do run concurrently. No handler runs under a
// lock of the poller.
//
// What a handler may call, and what it costs:
//
//   - Registration.Remove, of its own registration or any other, on this
//     poller or another: returns at once (one epoll_ctl). The handler is
//     not called again for that registration, except for a call the loop
//     had already begun — the caller itself, when a handler removes its
//     own registration. Registration.Done is closed when that last call
//     has returned.
//   - Poller.Close and Group.Close, of its own poller or another: return at
//     once (an eventfd write). The loop stops after the handler call in
//     progress, gives each remaining registration a last batch with a
//     Closed event, releases its descriptors and closes Done.
//   - Poller.Add, Len, Stats: return at once.
//   - A request on an nl.Conn (see package nl): it works, and the loop waits
//     for it, so every socket of this poller waits meanwhile.
//
// Remove and Close never wait for a handler, wherever they are called
// from: the poller cannot tell which goroutine calls them, and a handler may
// be blocked on the caller (a subscriber's full queue, a channel), so
// waiting could deadlock. To wait, from outside the handlers concerned,
// receive from Registration.Done or Poller.Done (Group.Wait for a group):
// for instance before freeing what a handler uses. Waiting on them from the
// handler they wait for, or from any handler of the same poller, deadlocks.
//
// The loop's own bookkeeping per handler call is two atomic operations on
// the registration; nothing is allocated.
//
// Only Linux is supported.
package poller
