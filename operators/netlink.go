package operators

import (
	"context"
	"slices"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/stream"
)

// TakeUntilDone applies the netlink multipart rule to a stream of replies:
// it emits messages up to and including the one that ends the reply
// (NLMSG_DONE, or NLMSG_ERROR, which ends any reply), then stops the source.
// It then fails with the kernel's error carried by that message
// (nl.CheckMessage: an *nl.Error wrapping the errno, with the extended-ACK
// text), or, if any message had NLM_F_DUMP_INTR, with
// nl.ErrDumpInterrupted; otherwise it completes. A source that completes
// first (FromExecute, which stops at DONE itself and does not emit it)
// completes it too. Runs inline; no goroutine, no allocation per message.
//
// The option WithFraming gives the framing of the socket the messages come
// from (nl.Conn.Framing): with nl.FramingConnector, NLMSG_DONE is the
// protocol's message type, so only NLMSG_ERROR ends the stream; with
// nl.FramingRaw nothing does.
func TakeUntilDone(src stream.Observable[nl.Message], opts ...Option) stream.Observable[nl.Message] {
	framing := newConfig(opts).framing
	return stream.Create(func(ctx context.Context, o stream.Observer[nl.Message]) error {
		u := &untilDone{down: o, sdown: selOf(o), framing: framing}
		if err := src.Subscribe(ctx, u); err != nil || u.stopped {
			return err
		}
		switch {
		case u.kerr != nil:
			return u.kerr
		case u.intr:
			return nl.ErrDumpInterrupted
		}
		return nil
	})
}

type untilDone struct {
	down    stream.Observer[nl.Message]
	sdown   selObserver[nl.Message] // down, if it takes selections
	framing nl.Framing
	intr    bool  // a message had NLM_F_DUMP_INTR
	ended   bool  // the terminating message was seen
	kerr    error // the kernel's error in it
	stopped bool  // the downstream returned an error
}

func (u *untilDone) see(m *nl.Message) {
	if m.Header.Flags&nl.FlagDumpIntr != 0 {
		u.intr = true
	}
	if u.framing.EndsReply(*m) {
		u.ended = true
		u.kerr = u.framing.CheckMessage(*m)
	}
}

func (u *untilDone) Next(m nl.Message) error {
	u.see(&m)
	if err := u.down.Next(m); err != nil {
		u.stopped = true
		return err
	}
	if u.ended {
		return stream.ErrStop
	}
	return nil
}

func (u *untilDone) NextBatch(ms []nl.Message) error {
	n := len(ms)
	for i := range ms {
		u.see(&ms[i])
		if u.ended {
			n = i + 1
			break
		}
	}
	if err := u.down.NextBatch(ms[:n]); err != nil {
		u.stopped = true
		return err
	}
	if u.ended {
		return stream.ErrStop
	}
	return nil
}

func (u *untilDone) fuses() bool { return u.sdown != nil }

func (u *untilDone) nextSel(ms []nl.Message, sel []int32) error {
	n := len(sel)
	for k, i := range sel {
		u.see(&ms[i])
		if u.ended {
			n = k + 1
			break
		}
	}
	if err := u.sdown.nextSel(ms, sel[:n]); err != nil {
		u.stopped = true
		return err
	}
	if u.ended {
		return stream.ErrStop
	}
	return nil
}

func (u *untilDone) Gap(g stream.Gap) error {
	if err := u.down.Gap(g); err != nil {
		u.stopped = true
		return err
	}
	return nil
}

// CollectUntilDone subscribes to a stream of replies and returns every
// message up to and including NLMSG_DONE (see TakeUntilDone), with the
// kernel's error, nl.ErrDumpInterrupted, or the stream's error. The
// messages are copied as they arrive into shared 64 KiB arenas, so they stay
// valid however the source's buffers are reused (about one allocation per
// 64 KiB of payload, plus the slice's growth). A Gap fails it. It takes
// TakeUntilDone's options (WithFraming).
func CollectUntilDone(ctx context.Context, src stream.Observable[nl.Message], opts ...Option) ([]nl.Message, error) {
	c := &arenaCollector{}
	err := TakeUntilDone(src, opts...).Subscribe(ctx, c)
	return c.out, err
}

type arenaCollector struct {
	out   []nl.Message
	arena []byte
}

func (c *arenaCollector) Next(m nl.Message) error {
	if len(c.arena)+len(m.Data) > cap(c.arena) {
		c.arena = make([]byte, 0, max(64<<10, len(m.Data)))
	}
	start := len(c.arena)
	c.arena = append(c.arena, m.Data...)
	m.Data = c.arena[start:len(c.arena):len(c.arena)]
	c.out = append(c.out, m)
	return nil
}

func (c *arenaCollector) NextBatch(ms []nl.Message) error {
	for _, m := range ms {
		c.Next(m)
	}
	return nil
}

func (c *arenaCollector) Gap(g stream.Gap) error { return g }

// isControl reports whether m is a netlink control message (NLMSG_NOOP,
// ERROR, DONE, OVERRUN), which the netlink filters always let through so
// that a reply's end and the kernel's errors are never filtered away. (The
// filters by type and family are for rtnetlink-like streams: on a
// connector stream every message has the type DONE and passes.)
func isControl(m nl.Message) bool { return m.Header.Type < nl.MinType }

// FilterType keeps the messages whose type is one of types (RTM_NEWROUTE,
// …), and every control message. Inline, no allocation.
func FilterType(src stream.Observable[nl.Message], types ...uint16) stream.Observable[nl.Message] {
	types = slices.Clone(types)
	return Filter(src, func(m nl.Message) bool {
		return isControl(m) || slices.Contains(types, m.Header.Type)
	})
}

// FilterFamily keeps the rtnetlink messages whose address family (the
// first byte of the payload: rtm_family, ifa_family, ndm_family, …) is one
// of families (unix.AF_INET, …), and every control message; a protocol
// message with an empty payload is dropped. Inline, no allocation.
func FilterFamily(src stream.Observable[nl.Message], families ...uint8) stream.Observable[nl.Message] {
	var set [256]bool
	for _, f := range families {
		set[f] = true
	}
	return Filter(src, func(m nl.Message) bool {
		return isControl(m) || len(m.Data) > 0 && set[m.Data[0]]
	})
}

// FilterGroup keeps the rtnetlink messages that belong to one of groups
// (RTNLGRP_* numbers), as RouteGroup classifies them, and every control
// message. It works on any rtnetlink stream, dumps included, since the group
// follows from the message type and family. Inline, no allocation.
func FilterGroup(src stream.Observable[nl.Message], groups ...uint32) stream.Observable[nl.Message] {
	return FilterGroupBy(src, RouteGroup, groups...)
}

// FilterGroupBy keeps the items whose group, as groupOf reports it, is one
// of groups: for a source that knows the multicast group each message came
// from, such as a poller's events.
func FilterGroupBy[T any](src stream.Observable[T], groupOf func(T) uint32, groups ...uint32) stream.Observable[T] {
	if groupOf == nil {
		return nilFunc[T]("FilterGroupBy")
	}
	groups = slices.Clone(groups)
	return Filter(src, func(v T) bool { return slices.Contains(groups, groupOf(v)) })
}

// rtnetlink message types and multicast groups (linux/rtnetlink.h), spelled
// out here so that this file compiles on every platform.
const (
	rtmNewLink, rtmDelLink       = 16, 17
	rtmNewAddr, rtmDelAddr       = 20, 21
	rtmNewRoute, rtmDelRoute     = 24, 25
	rtmNewNeigh, rtmDelNeigh     = 28, 29
	rtmNewRule, rtmDelRule       = 32, 33
	rtmNewNetconf, rtmDelNetconf = 80, 81
	rtmNewNSID, rtmDelNSID       = 88, 89
	rtmNewNexthop, rtmDelNexthop = 104, 105

	afInet, afInet6, afMPLS = 2, 10, 28

	rtnlgrpLink        = 1  // RTNLGRP_LINK
	rtnlgrpNeigh       = 3  // RTNLGRP_NEIGH
	rtnlgrpIPv4IfAddr  = 5  // RTNLGRP_IPV4_IFADDR
	rtnlgrpIPv4Route   = 7  // RTNLGRP_IPV4_ROUTE
	rtnlgrpIPv4Rule    = 8  // RTNLGRP_IPV4_RULE
	rtnlgrpIPv6IfAddr  = 9  // RTNLGRP_IPV6_IFADDR
	rtnlgrpIPv6Route   = 11 // RTNLGRP_IPV6_ROUTE
	rtnlgrpIPv4Netconf = 24 // RTNLGRP_IPV4_NETCONF
	rtnlgrpIPv6Netconf = 25 // RTNLGRP_IPV6_NETCONF
	rtnlgrpMPLSRoute   = 27 // RTNLGRP_MPLS_ROUTE
	rtnlgrpNSID        = 28 // RTNLGRP_NSID
	rtnlgrpIPv6Rule    = 19 // RTNLGRP_IPV6_RULE
	rtnlgrpNexthop     = 32 // RTNLGRP_NEXTHOP
)

// RouteGroup returns the rtnetlink multicast group (RTNLGRP_*) a message
// belongs to, from its type and family: RTM_NEWROUTE for AF_INET is
// RTNLGRP_IPV4_ROUTE (7), RTM_NEWLINK is RTNLGRP_LINK (1), and so on for
// links, addresses, routes, neighbours, rules, netconf, nsid and nexthops.
// It returns 0 for messages it does not classify (control messages among
// them).
func RouteGroup(m nl.Message) uint32 {
	var fam uint8
	if len(m.Data) > 0 {
		fam = m.Data[0]
	}
	byFamily := func(v4, v6, mpls uint32) uint32 {
		switch fam {
		case afInet:
			return v4
		case afInet6:
			return v6
		case afMPLS:
			return mpls
		}
		return 0
	}
	switch m.Header.Type {
	case rtmNewLink, rtmDelLink:
		return rtnlgrpLink
	case rtmNewNeigh, rtmDelNeigh:
		return rtnlgrpNeigh
	case rtmNewAddr, rtmDelAddr:
		return byFamily(rtnlgrpIPv4IfAddr, rtnlgrpIPv6IfAddr, 0)
	case rtmNewRoute, rtmDelRoute:
		return byFamily(rtnlgrpIPv4Route, rtnlgrpIPv6Route, rtnlgrpMPLSRoute)
	case rtmNewRule, rtmDelRule:
		return byFamily(rtnlgrpIPv4Rule, rtnlgrpIPv6Rule, 0)
	case rtmNewNetconf, rtmDelNetconf:
		return byFamily(rtnlgrpIPv4Netconf, rtnlgrpIPv6Netconf, 0)
	case rtmNewNSID, rtmDelNSID:
		return rtnlgrpNSID
	case rtmNewNexthop, rtmDelNexthop:
		return rtnlgrpNexthop
	}
	return 0
}
