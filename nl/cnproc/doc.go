// Package cnproc reads the kernel's process events through the proc
// connector (NETLINK_CONNECTOR, CN_IDX_PROC): fork, exec, uid and gid
// changes, new sessions, ptrace attach and detach, comm changes, core dumps
// and exits, what forkstat prints, typed.
//
// Connector messages are netlink messages whose type is NLMSG_DONE, every
// one of them, with a struct cn_msg payload. Package nl knows that of the
// protocol (nl.FramingConnector): its receive paths, the poller and the
// operators (operators.WithFraming) read DONE there as a message, not as
// the end of a reply with an errno. Decode turns one into an Event.
//
// Dial opens the socket, Listen subscribes (optionally with the kernel's
// filter by kind of event) and returns the value its acknowledgement will
// carry. As a stream through the poller: register the Conn with a poller,
// publish with stream.PollerHandler, decode with operators.Decode(…,
// Decode). An overrun (ENOBUFS: the kernel dropped events) reaches
// subscribers as a stream.Gap.
//
// Privilege: the kernel reports PIDs as the initial PID namespace sees
// them and takes subscriptions only from processes in the initial user and
// PID namespaces (before Linux 6.6, with CAP_NET_ADMIN too); the connector
// exists in the initial network namespace only.
//
// The codec builds on every platform; Dial, Listen and Ignore are Linux
// only.
package cnproc
