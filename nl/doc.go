// Package nl speaks the Linux netlink protocol: socket addresses, sockets
// for any netlink protocol, the message and attribute codec, and the
// kernel's errors.
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
// Sockets are Linux only; the codec (Message, MessageIter, the attribute
// encoder and decoder, Error) compiles everywhere.
//
// Buffers and lifetimes: Receive, ReceiveAndDecode and Execute return
// messages that own their memory. ExecuteFunc and MessageIter hand out
// messages whose Data alias a buffer that is reused: copy what must outlive
// the callback or the next call.
package nl
