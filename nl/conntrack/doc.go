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
//	CreateFlows, DeleteFlows    many at once, pipelined (nl.Conn.ExecuteBatch)
//	Flush(ctx, c, f)            delete what passes f in one request (conntrack -F, -D with a filter)
//	DeleteMatching(ctx, c, f, match)  dump, then delete what match selects
//
// A Filter goes to the kernel (family, mark and mask, zone, status and
// mask, and an original-direction tuple: addresses, protocol and ports)
// and is checked again on each flow, so List returns only what passes it.
// The kernel's tuple filter inverts IPv6 addresses (Linux 6.18 included:
// it keeps the flows whose address differs), so those are never sent to it:
// a dump filters them here, and Flush refuses them (ErrFilter) in favour
// of DeleteMatching. A flush by family sets nfgenmsg's version to 1, the
// only way the kernel applies a flush's family.
//
// Creating flows needs no traffic and no hook; real traffic is tracked
// only once something in the namespace uses conntrack (an nftables rule
// with ct, an iptables -m conntrack rule …): the kernel registers its hooks
// on demand.
//
// # Events
//
// DialEvents opens a socket joined to the groups of the event types asked
// for (GroupNew, GroupUpdate, GroupDestroy); DecodeEvent turns each of its
// messages into an Event{Type, Flow}. Source is the typed stream over a
// poller: recvmmsg batches, one NextBatch of events per datagram run, and
// an overrun (ENOBUFS: the kernel dropped events) as an in-band
// stream.Gap, never an end of the stream. After an overrun the kernel
// drops every event until the socket's queue is empty, and reports that
// once. With net.netfilter.nf_conntrack_events at 2 (the default) a flow
// made while nothing listened never sends an event.
//
// # A watched table
//
// WatchTable mirrors a namespace's table (or what passes a Filter): a
// first dump in order with the events, the events applied, a dump again
// after every loss (twice: at the overrun and once the queue has been
// read), and Resync on demand.
//
// The codec builds on every platform; the helpers that use a socket are
// Linux only.
package conntrack
