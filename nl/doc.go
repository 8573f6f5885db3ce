// Package nl speaks the Linux netlink protocol: socket addresses, sockets
// for any netlink protocol, the message and attribute codec, and the
// kernel's errors.
//
// # Start here
//
// Most programs need only three calls of this package: DialRoute (or Dial
// for another protocol) with options such as WithNetNS, Close, and the
// typed helpers of nl/rtnl and nl/genl that run requests on the Conn. For a
// request of your own, Execute (the replies as messages) or ExecuteFunc
// (each reply in place, no copy); for many, ExecuteBatch. For events, a
// watcher (stream/watch) keeps a table, and stream.Listen or a poller read
// the raw notifications. The rest is for protocol work: Receive,
// ReceiveFrom, ReceiveFunc, ReceiveAndDecode and Drain read datagrams
// yourself (ReceiveFunc is the zero-copy one), Send, SendTo and
// SendMessages write them, SyscallConn reaches the socket.
//
// The API follows Guile-Netlink's (netlink connection) module, one Go
// counterpart for each procedure:
//
//	get-addr                 Addr
//	connect                  Dial
//	connect-route            DialRoute (WithGroups for #:groups)
//	add-socket-membership    Conn.JoinGroup (and Conn.LeaveGroup)
//	send-msg                 Conn.Send, Conn.SendTo (the address is honoured)
//	receive-msg              Conn.Receive
//	receive-and-decode-msg   Conn.ReceiveAndDecode, and Conn.Execute for request/reply
//	close-socket             Conn.Close
//
// Beyond Guile-Netlink, the receive path checks what the kernel documents
// and Guile does not: only datagrams whose sender address is the kernel
// (port id 0) are accepted, since anything else, the header's port id
// included, can be forged (drops are counted in Stats.Spoofed); a datagram
// cut short by a small buffer (MSG_TRUNC) is an error, never silent loss;
// replies are matched on sequence number and port id; the errno in
// NLMSG_DONE and the extended-ACK text are reported as *Error;
// NLM_F_DUMP_INTR is reported as ErrDumpInterrupted.
//
// Two protocols do not follow netlink's framing, and every receive path
// knows it (Framing, chosen by Dial from the protocol): uevents
// (NETLINK_KOBJECT_UEVENT) are bare datagrams, each delivered as one
// Message with the sender's port id in its made-up header (RawMessage), and
// the connector (NETLINK_CONNECTOR: process events) gives every message
// the type NLMSG_DONE, which there is a message, not the end of a reply.
// Package nl/uevent and nl/cnproc decode them.
//
// Sockets are Linux only; the codec (Message, MessageIter, the attribute
// encoder and decoder, Error) compiles everywhere.
//
// Buffers and lifetimes: Receive, ReceiveAndDecode and Execute return
// messages that own their memory. ExecuteFunc and MessageIter hand out
// messages whose Data alias a buffer that is reused: copy what must outlive
// the callback or the next call.
//
// # Concurrency contract
//
// A Conn is safe for concurrent use. Its callbacks — the fn of
// ExecuteFunc, ExecuteBatch, ReceiveFunc and Drain, and the rtnl
// helpers built on them (rtnl.ForEachRoute …) — run on the goroutine that
// made the call, one at a time per call, and never under a lock of the
// Conn. From a callback you may:
//
//   - make a request on the same Conn (Execute, ExecuteFunc, ExecuteBatch,
//     rtnl.LinkByIndex …): it runs at once and returns its own replies.
//     The calling request keeps its place; replies of its that the nested
//     request reads meanwhile are copied and set aside for it. A nested
//     dump first reads the rest of the dump in progress (the kernel runs
//     one dump per socket and would refuse a second with EBUSY), so it
//     costs a copy of what is left of the outer dump; a nested request
//     that is not a dump copies only what the kernel had queued ahead of
//     its reply;
//   - Close the Conn: the request in progress then fails with an error
//     wrapping os.ErrClosed;
//   - not call Receive, ReceiveFrom, ReceiveFunc, Drain or ReceiveAndDecode
//     on the same Conn: those wait until no request is in progress (they
//     would take its replies), which from a request's callback is never.
//
// Waiting: one goroutine at a time reads the socket. Another request finds
// it being read only while the reader waits for the kernel, and waits too,
// for as long as its context allows; a request's own callback runs after it
// has let the socket go. Receive and the other calls without a context
// wait as long as it takes; the read deadline and InterruptOnDone bound
// them.
//
// Deadlines: SetReadDeadline applies to every receive, requests included,
// and requests leave it as they found it. A context that ends wakes the
// read it is waiting for by moving the socket's deadline into the past for
// that moment only.
//
// Costs: a request takes the read turn once per datagram it reads (two
// short mutex sections), allocates its bookkeeping once (a few small
// objects, with context.AfterFunc) and nothing per reply. Only when
// requests overlap do they cost more: the copies above, and a receive
// buffer per request running at the same time (kept for reuse).
package nl
