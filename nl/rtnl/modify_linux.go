//go:build linux

package rtnl

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// noReplies is the ExecuteFunc callback of requests answered by an ACK only.
func noReplies(nl.Message) error { return nil }

func execute(ctx context.Context, c *nl.Conn, m nl.Message, err error, what string) error {
	if err == nil {
		err = c.ExecuteFunc(ctx, m, noReplies)
	}
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", what, err)
	}
	return nil
}

// requestFlags are the route flags a request may carry; the others (DEAD,
// LINKDOWN, OFFLOAD, TRAP …) are state the kernel reports and refuses in
// requests.
const requestFlags = RouteFlagOnlink | RouteFlagPervasive

// routeRequest prepares r for RTM_NEWROUTE: the unspecified type becomes
// unicast (the kernel has no use for RTN_UNSPEC there), the unspecified
// protocol becomes RTPROT_BOOT (as ip route add sends it), and the universe
// scope becomes the narrowest the type allows (host for local and NAT
// routes, link for broadcast, multicast and anycast), which the kernel would
// otherwise refuse; status flags are dropped.
func routeRequest(r Route) Route {
	if r.Type == RouteUnspec {
		r.Type = RouteUnicast
	}
	if r.Protocol == ProtoUnspec {
		r.Protocol = ProtoBoot
	}
	if r.Scope == ScopeUniverse {
		switch r.Type {
		case RouteLocal, RouteNAT:
			r.Scope = ScopeHost
		case RouteBroadcast, RouteMulticast, RouteAnycast:
			r.Scope = ScopeLink
		}
	}
	r.Flags &= requestFlags
	if len(r.Multipath) > 0 {
		hops := make([]NextHop, len(r.Multipath))
		for i, h := range r.Multipath {
			h.Flags &= uint8(requestFlags)
			hops[i] = h
		}
		r.Multipath = hops
	}
	return r
}

// routeDelete prepares r for RTM_DELROUTE: the zero scope matches any scope
// (it is sent as RT_SCOPE_NOWHERE, as iproute2 does) and status flags are
// dropped. Other zero fields match anything in the kernel already.
func routeDelete(r Route) Route {
	if r.Scope == ScopeUniverse {
		r.Scope = ScopeNowhere
	}
	r.Flags &= requestFlags
	return r
}

func routeName(r *Route) string {
	if r.Dst.IsValid() {
		return r.Dst.String()
	}
	return "(no destination)"
}

// AddRoute adds r (RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL; `ip route
// add`); an existing route with the same key fails with an error matching
// unix.EEXIST. Every field of Route is sent when set: Table, Protocol,
// Scope, Type, Priority (metric), PrefSrc (src), Gateway (via, as RTA_VIA
// for a gateway of the other family), OIF (dev), Multipath next hops,
// Metrics (mtu, advmss, hoplimit … with their lock bits), Pref, Mark and
// the on-link flag. A zero Type is sent as RouteUnicast, a zero Protocol as
// ProtoBoot (as ip does), a zero Scope as the narrowest scope the type
// allows, and a zero Table lets the kernel use the main table. Kernel errors
// come back as *nl.Error with the errno and the extended-ACK text. One
// request and its ACK.
func AddRoute(ctx context.Context, c *nl.Conn, r Route) error {
	r = routeRequest(r)
	m, err := r.Message(TypeNewRoute, nl.FlagRequest|nl.FlagCreate|nl.FlagExcl)
	return execute(ctx, c, m, err, "add route "+routeName(&r))
}

// ReplaceRoute adds r or replaces the route with the same key
// (NLM_F_CREATE|NLM_F_REPLACE), with the defaults of AddRoute. One request
// and its ACK.
func ReplaceRoute(ctx context.Context, c *nl.Conn, r Route) error {
	r = routeRequest(r)
	m, err := r.Message(TypeNewRoute, nl.FlagRequest|nl.FlagCreate|nl.FlagReplace)
	return execute(ctx, c, m, err, "replace route "+routeName(&r))
}

// DeleteRoute deletes the first route that matches r (RTM_DELROUTE). The
// kernel compares only the fields that are set (a zero Scope matches any
// scope), so a Route from a dump, or one with just Dst and Table, will do.
// A missing route fails with an error matching unix.ESRCH. One request and
// its ACK.
func DeleteRoute(ctx context.Context, c *nl.Conn, r Route) error {
	r = routeDelete(r)
	m, err := r.Message(TypeDelRoute, nl.FlagRequest)
	return execute(ctx, c, m, err, "delete route "+routeName(&r))
}

// AddAddress adds a to its interface (RTM_NEWADDR with
// NLM_F_CREATE|NLM_F_EXCL; `ip addr add`): Prefix on Index, and as needed
// Peer (the other end of a point-to-point link), Broadcast, Label (IPv4),
// Scope, RoutePriority (the metric of the prefix route), lifetimes, and
// the IFA_F_* Flags a request may carry (AddrNoDAD, AddrNoPrefixRoute,
// AddrHomeAddress, AddrManageTempAddr, AddrOptimistic, AddrMcAutoJoin; the
// IPv6 ones are ignored for IPv4, and AddrOptimistic needs the interface's
// optimistic_dad setting). An address already present fails with an error
// matching unix.EEXIST. One request and its ACK.
func AddAddress(ctx context.Context, c *nl.Conn, a Address) error {
	m, err := a.Message(TypeNewAddress, nl.FlagRequest|nl.FlagCreate|nl.FlagExcl)
	return execute(ctx, c, m, err, fmt.Sprintf("add address %v to link %d", a.Prefix, a.Index))
}

// ReplaceAddress adds a, or updates the address already there with the
// same Prefix and Index (NLM_F_CREATE|NLM_F_REPLACE; `ip addr replace`):
// its flags, lifetimes and route metric change in place. One request and
// its ACK.
func ReplaceAddress(ctx context.Context, c *nl.Conn, a Address) error {
	m, err := a.Message(TypeNewAddress, nl.FlagRequest|nl.FlagCreate|nl.FlagReplace)
	return execute(ctx, c, m, err, fmt.Sprintf("replace address %v on link %d", a.Prefix, a.Index))
}

// DeleteAddress removes a from its interface (RTM_DELADDR); Prefix and
// Index identify it. A missing address fails with an error matching
// unix.EADDRNOTAVAIL. One request and its ACK.
func DeleteAddress(ctx context.Context, c *nl.Conn, a Address) error {
	a.Created, a.Updated, a.PreferredLifetime, a.ValidLifetime = 0, 0, 0, 0
	m, err := a.Message(TypeDelAddress, nl.FlagRequest)
	return execute(ctx, c, m, err, fmt.Sprintf("delete address %v from link %d", a.Prefix, a.Index))
}

// SetLinkUp sets IFF_UP on the link with the given index (RTM_NEWLINK with
// ifi_change = IFF_UP), like `ip link set DEV up`. One request and its ACK.
func SetLinkUp(ctx context.Context, c *nl.Conn, index uint32) error {
	return setLinkFlags(ctx, c, index, LinkUp, LinkUp, "up")
}

// SetLinkDown clears IFF_UP on the link with the given index. One request
// and its ACK.
func SetLinkDown(ctx context.Context, c *nl.Conn, index uint32) error {
	return setLinkFlags(ctx, c, index, 0, LinkUp, "down")
}

func setLinkFlags(ctx context.Context, c *nl.Conn, index, flags, change uint32, what string) error {
	l := Link{Index: index, Flags: flags, Change: change}
	m, err := l.Message(TypeNewLink, nl.FlagRequest)
	return execute(ctx, c, m, err, fmt.Sprintf("set link %d %s", index, what))
}

// RouteError is the kernel's refusal of one route of a batch (AddRoutes,
// ReplaceRoutes, DeleteRoutes). It wraps the *nl.Error, so errors.Is(err,
// unix.EEXIST) works on it and on the joined error the batch returns.
type RouteError struct {
	Index int    // position of the route in the slice given
	Dst   string // the route's destination, as text
	Err   error  // the kernel's *nl.Error
}

// Error says which route failed and why.
func (e *RouteError) Error() string {
	return fmt.Sprintf("route %d (%s): %v", e.Index, e.Dst, e.Err)
}

// Unwrap returns the kernel's error.
func (e *RouteError) Unwrap() error { return e.Err }

// Batch sizing: each request asks for an ACK, and all the ACKs of a batch
// are queued on the socket before it is read, so a batch may hold only as
// many requests as the receive buffer has room for ACKs (each costs about
// 768 bytes of buffer). These are the figures nl.Conn.ExecuteBatch sizes
// its windows with, so that one batch here is one window there.
const (
	ackCost  = 1024
	minBatch = 16
	maxBatch = 4096
)

// AddRoutes adds routes as AddRoute does, pipelined through
// nl.Conn.ExecuteBatch (the libmnl batch pattern): the requests go many to
// a datagram, each asking for an ACK, and the ACKs are matched to the
// requests by sequence number. Routes go in batches sized to the socket's
// receive buffer: 4096 routes once nl.Conn.ReadBufferSize reports 4 MiB
// (nl.WithReadBuffer(2 << 20), which the kernel doubles), about 200 with
// the default. It stops after the first
// batch with failures and returns them as *RouteError values joined with
// errors.Join (routes of that batch that succeeded stay added); a transport
// or context error stops it at once.
//
// c carries one request or batch at a time (nl.Conn serialises them).
// Costs: per batch, one send per 128 KiB of requests and one receive per
// ACK; the requests are encoded into one buffer reused from batch to
// batch, and no reply is copied.
func AddRoutes(ctx context.Context, c *nl.Conn, routes []Route) error {
	return routeBatch(ctx, c, routes, TypeNewRoute, nl.FlagCreate|nl.FlagExcl, routeRequest, "add")
}

// ReplaceRoutes is AddRoutes with NLM_F_REPLACE instead of NLM_F_EXCL.
func ReplaceRoutes(ctx context.Context, c *nl.Conn, routes []Route) error {
	return routeBatch(ctx, c, routes, TypeNewRoute, nl.FlagCreate|nl.FlagReplace, routeRequest, "replace")
}

// DeleteRoutes deletes routes as DeleteRoute does, pipelined as AddRoutes.
func DeleteRoutes(ctx context.Context, c *nl.Conn, routes []Route) error {
	return routeBatch(ctx, c, routes, TypeDelRoute, 0, routeDelete, "delete")
}

func routeBatch(ctx context.Context, c *nl.Conn, routes []Route, typ, flags uint16, prep func(Route) Route, what string) error {
	rb, err := c.ReadBufferSize()
	if err != nil {
		return fmt.Errorf("rtnl: %s routes: %w", what, err)
	}
	per := min(max(rb/ackCost, minBatch), maxBatch)
	var (
		arena  []byte
		ms     []nl.Message
		ends   []int
		failed []error
	)
	for start := 0; start < len(routes); {
		arena, ms, ends = arena[:0], ms[:0], ends[:0]
		end := min(start+per, len(routes))
		for i := start; i < end; i++ {
			r := prep(routes[i])
			if arena, err = r.AppendBinary(arena); err != nil {
				return fmt.Errorf("rtnl: %s route %d (%s): %w", what, i, routeName(&r), err)
			}
			ends = append(ends, len(arena))
		}
		// Slice the payloads only now: arena may have moved while growing.
		prev := 0
		for _, e := range ends {
			ms = append(ms, nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagRequest | flags}, Data: arena[prev:e:e]})
			prev = e
		}
		err := c.ExecuteBatch(ctx, ms, func(i int, err error) {
			if err != nil {
				i += start
				failed = append(failed, &RouteError{Index: i, Dst: routeName(&routes[i]), Err: err})
			}
		})
		if err != nil {
			return fmt.Errorf("rtnl: %s routes %d to %d: %w", what, start, end-1, err)
		}
		if len(failed) > 0 {
			return fmt.Errorf("rtnl: %s routes: %d of %d failed: %w", what, len(failed), end-start, errors.Join(failed...))
		}
		start = end
	}
	return nil
}
