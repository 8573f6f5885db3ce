//go:build linux

package cnproc

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// GroupProc is the connector's multicast group of process events
// (CN_IDX_PROC).
const GroupProc uint32 = 1

// The subscription requests (enum proc_cn_mcast_op).
const (
	mcastListen = 1 // PROC_CN_MCAST_LISTEN
	mcastIgnore = 2 // PROC_CN_MCAST_IGNORE
)

// Dial opens a NETLINK_CONNECTOR socket joined to GroupProc with nl.Dial
// (opts are nl's: nl.WithReadBuffer matters, since a busy machine forks
// thousands of times a second and the kernel drops what the queue cannot
// hold). Its framing is nl.FramingConnector: every message has the type
// NLMSG_DONE, and nl, the poller and the operators read it as a message,
// not the end of a reply. The kernel's connector lives in the initial
// network namespace only, so do not give nl.WithNetNS. Call Listen next:
// the kernel makes process events only while someone listens.
func Dial(opts ...nl.Option) (*nl.Conn, error) {
	return nl.Dial(unix.NETLINK_CONNECTOR, nl.Addr{}, append([]nl.Option{nl.WithGroups(GroupProc)}, opts...)...)
}

// Listen asks the kernel for process events on c (PROC_CN_MCAST_LISTEN)
// and returns the value the kernel's acknowledgement carries: an Event
// for which Acknowledges(ack) holds arrives once the subscription is in
// place, with AckErr set if it failed. With events 0 every kind is
// delivered; otherwise only the kinds in events (WhatFork|WhatExit …,
// WhatNonzeroExit for failed exits only), filtered by the kernel (Linux
// 6.6 and later; older kernels ignore a filtered request altogether), and
// then the acknowledgement itself is filtered away too. The socket is in
// the group from Dial on and the filter applies from Listen on: events of
// any kind made in between are read too, so a filtering reader still
// checks Event.What.
//
// The kernel honours the request only from a process in the initial user
// and PID namespaces, and, before Linux 6.6, with CAP_NET_ADMIN; from
// elsewhere it is ignored without an acknowledgement. One send.
func Listen(c *nl.Conn, events What) (ack uint32, err error) {
	return control(c, mcastListen, events)
}

// Ignore cancels Listen on c (PROC_CN_MCAST_IGNORE); like Listen it
// returns the value of the acknowledgement. Closing the socket does the
// same on Linux 6.6 and later.
func Ignore(c *nl.Conn) (ack uint32, err error) { return control(c, mcastIgnore, 0) }

func control(c *nl.Conn, op uint32, events What) (uint32, error) {
	var data []byte
	data = binary.NativeEndian.AppendUint32(data, op)
	if events != 0 {
		data = binary.NativeEndian.AppendUint32(data, uint32(events)) // struct proc_input
	}
	seq := c.NextSeq()
	payload := AppendHeader(nil, Header{ID: ProcID, Seq: seq, Ack: seq}, data)
	if _, err := c.Send(nl.Message{Header: nl.Header{Type: nl.TypeDone, Seq: seq}, Data: payload}); err != nil {
		return 0, fmt.Errorf("cnproc: subscribe: %w", err)
	}
	return seq + 1, nil
}
