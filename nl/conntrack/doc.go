// Package conntrack speaks ctnetlink (NETLINK_NETFILTER,
// NFNL_SUBSYS_CTNETLINK): the kernel's connection tracking table as Flow
// values, its requests, and its events.
//
// # Values
//
// A Flow is one conntrack entry: its original and reply Tuple (netip
// addresses, protocol, ports or ICMP identifiers, directional zones),
// status, timeout, mark, zone, labels, counters, timestamps, TCP state, ID
// and use count. DecodeFlow (or UnmarshalBinary on the payload) decodes a
// ctnetlink message without allocating (a helper's name aside);
// AppendBinary, MarshalBinary and Message encode one. Flow is comparable
// with ==, and prints as `conntrack -L -o extended` prints an entry.
//
// Constants carry the kernel's values and name the kernel's constant in
// their documentation: IPCTNL_MSG_CT_NEW is TypeNew,
// NFNLGRP_CONNTRACK_DESTROY is GroupDestroy, IPS_ASSURED is StatusAssured.
//
// # Requests (Linux)
//
// Dial opens a NETLINK_NETFILTER socket (nl.Dial with its options, such as
// nl.WithNetNS). On it:
//
//	List(ctx, c, f)             a fresh slice of the flows that pass f
//	Flows(ctx, c, f)            a range loop: for fl, err := range …
//	ForEach(ctx, c, f, fn)      a callback on the flow decoded in place
//	Append(ctx, c, fs[:0], f)   a slice you reuse: no allocation per flow
//	Get(ctx, c, flow)           one flow by its tuple (conntrack -G)
//	Create, Update, Delete      one change (conntrack -I, -U, -D)
//	CreateBatch                 many creates, pipelined (nl.Conn.ExecuteBatch)
//	Flush(ctx, c, f)            delete what passes f in one request (conntrack -F, -D with a filter)
//
// A Filter goes to the kernel (family, mark and mask, zone, status and
// mask, and an original-direction tuple: addresses, protocol and ports)
// and is checked again on each flow, so List returns only what passes it
// on every kernel that ctnetlink's filters reach.
//
// # Events
//
// DialEvents opens a socket joined to the groups of the event types asked
// for (GroupNew, GroupUpdate, GroupDestroy); DecodeEvent turns each of its
// messages into an Event{Type, Flow}. Source is the typed stream over a
// poller: recvmmsg batches, one NextBatch of events per datagram run, and
// an overrun (ENOBUFS: the kernel dropped events) as an in-band
// stream.Gap, never an end of the stream.
//
// The codec builds on every platform; the helpers that use a socket are
// Linux only.
package conntrack
