//go:build linux

package rtnl

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"github.com/nlrx/nlrx/nl"
)

// RouteFilter selects the routes of a dump. The zero value selects every
// route of every family and table.
//
// The kernel applies the filter itself on sockets with
// NETLINK_GET_STRICT_CHK (the default for nl.DialRoute); the helpers check
// each route again, so the result is the same on sockets opened with
// nl.WithoutStrictCheck.
type RouteFilter struct {
	Family   Family    // FamilyAll, FamilyInet or FamilyInet6
	Table    uint32    // TableUnspec for every table; with a Family set, a missing table fails with ENOENT
	OIF      uint32    // output interface; 0 for any (the kernel fails with ENODEV for a missing one)
	Protocol Protocol  // ProtoUnspec for any
	Type     RouteType // RouteUnspec for any
}

// Request returns the RTM_GETROUTE dump request for the filter: the table in
// rtm_table (RT_TABLE_COMPAT above 255) and in RTA_TABLE, the device in
// RTA_OIF, protocol and type in the header. One allocation.
func (f RouteFilter) Request() nl.Message {
	r := Route{Family: f.Family, Table: f.Table, OIF: f.OIF, Protocol: f.Protocol, Type: f.Type}
	b, _ := r.AppendBinary(make([]byte, 0, sizeofRtmsg+16))
	return nl.Message{Header: nl.Header{Type: TypeGetRoute, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// Match reports whether r passes the filter (for a multipath route, OIF
// matches any hop). It does not allocate.
func (f RouteFilter) Match(r *Route) bool {
	return (f.Family == FamilyAll || f.Family == r.Family) &&
		(f.Table == TableUnspec || f.Table == r.Table) &&
		(f.OIF == 0 || f.OIF == r.OIF || multipathUses(r, f.OIF)) &&
		(f.Protocol == ProtoUnspec || f.Protocol == r.Protocol) &&
		(f.Type == RouteUnspec || f.Type == r.Type)
}

func multipathUses(r *Route, oif uint32) bool {
	for _, h := range r.Multipath {
		if h.OIF == oif {
			return true
		}
	}
	return false
}

// ForEachRoute dumps the routes that pass f and calls fn for each, decoding
// straight from the socket's receive buffer: *r is reused for the next route
// and is valid only until fn returns (copy it to keep it; its Metrics and
// Multipath are not reused, and routes with equal metrics may share one
// Metrics). If fn returns an error the walk stops and that error
// is returned; the rest of the dump is drained by the next request on c.
//
// Costs: one send, one receive per datagram of up to 32 KiB (about 160 for
// 100,000 IPv4 routes), no allocation per single-path route without
// metrics, at most one for a route with metrics. Routes that fail
// to decode are skipped and reported, joined, after the dump. If the kernel
// flags the dump as interrupted, every route is still handed to fn and the
// error matches nl.ErrDumpInterrupted: ForEachRoute does not dump again,
// since fn would see the routes of the first attempt a second time (the
// flag comes with a datagram in the middle of the dump, never the first).
// To retry, start over where fn's results are kept, or use AppendRoutes,
// which retries by itself.
func ForEachRoute(ctx context.Context, c *nl.Conn, f RouteFilter, fn func(r *Route) error) error {
	return forEachRoute(ctx, c, f, false, fn)
}

func forEachRoute(ctx context.Context, c *nl.Conn, f RouteFilter, restart bool, fn func(r *Route) error) error {
	var r Route
	var mc metricsCache
	var decErr, fnErr error
	err := c.ExecuteFunc(ctx, f.Request(), func(m nl.Message) error {
		if m.Header.Type != TypeNewRoute {
			return nil
		}
		if interrupted(restart, m) {
			return errRestart
		}
		r = Route{}
		if err := r.decode(m.Data, &mc); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		if !f.Match(&r) {
			return nil
		}
		fnErr = fn(&r)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dumpErr("dump routes", err, decErr)
}

// AppendRoutes dumps the routes that pass f and appends them to dst, which
// it returns. Passing the previous result as dst[:0] reuses its memory: a
// dump then allocates nothing per single-path route without metrics. The
// decoding is done in place in dst, straight from the socket's receive
// buffer, while dst has room; the messages that do not fit are copied
// aside as they come (about 50 bytes per IPv4 route, in a few buffers that
// grow to 1 MiB) and decoded at the end of the dump into one new slice of
// exactly the size needed, so a dump into a short slice allocates about
// 234 bytes per route that did not fit, once. Routes with metrics
// allocate their Metrics, at most one per route (a run of routes with
// equal metrics shares one); multipath routes their next hops.
//
// A dump the kernel flags as interrupted (NLM_F_DUMP_INTR) is dropped and
// dumped again from the start, up to DefaultDumpAttempts times in all
// (DumpAttempts changes the count); an attempt stops at its first flagged
// datagram. On error, dst holds the routes received: with
// nl.ErrDumpInterrupted that is the whole (possibly inconsistent) last
// dump.
func AppendRoutes(ctx context.Context, c *nl.Conn, dst []Route, f RouteFilter, opts ...DumpOption) ([]Route, error) {
	n := dumpAttempts(opts)
	base := len(dst)
	for attempt := 1; ; attempt++ {
		var err error
		dst, err = appendRoutes(ctx, c, dst[:base], f, attempt < n)
		if !retrying(err, attempt, n) {
			return dst, err
		}
	}
}

func appendRoutes(ctx context.Context, c *nl.Conn, dst []Route, f RouteFilter, restart bool) ([]Route, error) {
	var decErr error
	var mc metricsCache
	var rest spill
	err := c.ExecuteFunc(ctx, f.Request(), func(m nl.Message) error {
		if m.Header.Type != TypeNewRoute {
			return nil
		}
		if interrupted(restart, m) {
			return errRestart
		}
		if len(dst) == cap(dst) || rest.n > 0 {
			// Growing dst as the dump goes (doubling it) would allocate
			// and fault in more than twice the result and copy it over
			// and over; the messages, copied, take a quarter of the
			// routes they decode to and hold no pointers.
			rest.add(m.Data)
			return nil
		}
		dst = decodeAppend(dst, m.Data, f, &mc, &decErr)
		return nil
	})
	if rest.n > 0 && !errors.Is(err, errRestart) {
		grown := make([]Route, len(dst), len(dst)+rest.n)
		copy(grown, dst)
		dst = grown
		for b := range rest.all() {
			dst = decodeAppend(dst, b, f, &mc, &decErr)
		}
	}
	return dst, dumpErr("dump routes", err, decErr)
}

// decodeAppend decodes the route message b into dst's next element, which
// must be within its capacity, and keeps it if it decodes and passes f.
func decodeAppend(dst []Route, b []byte, f RouteFilter, mc *metricsCache, decErr *error) []Route {
	n := len(dst)
	dst = dst[:n+1]
	dst[n] = Route{}
	r := &dst[n]
	if err := r.decode(b, mc); err != nil {
		*decErr = joinCapped(*decErr, err)
		return dst[:n]
	}
	if !f.Match(r) {
		return dst[:n]
	}
	return dst
}

// spill keeps copies of messages, each a native-endian u32 length and the
// bytes, in buffers that double from 32 KiB to 1 MiB and are never copied.
type spill struct {
	bufs [][]byte
	n    int // messages held
}

const (
	spillMin = 32 << 10
	spillMax = 1 << 20
)

func (s *spill) add(b []byte) {
	need := 4 + len(b)
	last := len(s.bufs) - 1
	if last < 0 || cap(s.bufs[last])-len(s.bufs[last]) < need {
		size := spillMin
		if last >= 0 {
			size = min(2*cap(s.bufs[last]), spillMax)
		}
		s.bufs = append(s.bufs, make([]byte, 0, max(size, need)))
		last++
	}
	buf := binary.NativeEndian.AppendUint32(s.bufs[last], uint32(len(b)))
	s.bufs[last] = append(buf, b...)
	s.n++
}

// all yields the messages in the order they were added.
func (s *spill) all() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, buf := range s.bufs {
			for len(buf) >= 4 {
				l := int(binary.NativeEndian.Uint32(buf))
				if !yield(buf[4 : 4+l]) {
					return
				}
				buf = buf[4+l:]
			}
		}
	}
}

// ListRoutes returns the routes that pass f. It is AppendRoutes(ctx, c,
// nil, f, opts...): the dump's messages are kept as they arrive (about 50
// bytes per IPv4 route) and decoded at its end into a slice of exactly the
// routes' number (184 bytes per route); reuse it through AppendRoutes to
// dump again without allocating.
// An interrupted dump is retried as AppendRoutes says.
func ListRoutes(ctx context.Context, c *nl.Conn, f RouteFilter, opts ...DumpOption) ([]Route, error) {
	return AppendRoutes(ctx, c, nil, f, opts...)
}

// maxDecodeErrors bounds the decoding errors kept from one dump.
const maxDecodeErrors = 8

// joinCapped adds err to the joined errors acc, keeping at most
// maxDecodeErrors.
func joinCapped(acc, err error) error {
	if acc == nil {
		return err
	}
	if j, ok := acc.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) >= maxDecodeErrors {
		return acc
	}
	return errors.Join(acc, err)
}

func dumpErr(what string, err, decErr error) error {
	if err != nil {
		err = fmt.Errorf("rtnl: %s: %w", what, err)
	}
	return errors.Join(err, decErr)
}

func linkRequest(typ, flags uint16, l *Link) nl.Message {
	b, _ := l.AppendBinary(make([]byte, 0, sizeofIfinfomsg+32))
	e := nl.NewAttributeEncoder(b)
	e.Uint32(iflaExtMask, rtextFilterSkipStats)
	b, _ = e.Bytes()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}
}

// ForEachLink dumps every link and calls fn for each; *l is valid only until
// fn returns. The per-family counters are not requested
// (RTEXT_FILTER_SKIP_STATS), which keeps the kernel's messages small, nor
// are the virtual functions of SR-IOV devices (see LinkFilter.VF). No
// allocation per link. An interrupted dump is reported, not retried, as
// ForEachRoute says.
func ForEachLink(ctx context.Context, c *nl.Conn, fn func(l *Link) error) error {
	return ForEachLinkMatching(ctx, c, LinkFilter{}, fn)
}

// ListLinks returns every link, in the kernel's order (by index). It
// allocates the slice. An interrupted dump is retried as AppendRoutes says.
func ListLinks(ctx context.Context, c *nl.Conn, opts ...DumpOption) ([]Link, error) {
	return ListLinksMatching(ctx, c, LinkFilter{}, opts...)
}

// LinkByIndex asks the kernel for one link (RTM_GETLINK). A missing link
// gives an error matching unix.ENODEV. One request and its reply.
func LinkByIndex(ctx context.Context, c *nl.Conn, index uint32) (Link, error) {
	return getLink(ctx, c, &Link{Index: index}, fmt.Sprintf("index %d", index))
}

// LinkByName asks the kernel for the link named name (RTM_GETLINK with
// IFLA_IFNAME). A missing link gives an error matching unix.ENODEV. One
// request and its reply.
func LinkByName(ctx context.Context, c *nl.Conn, name string) (Link, error) {
	if len(name) >= NameLen {
		return Link{}, fmt.Errorf("rtnl: get link %q: name longer than %d bytes", name, NameLen-1)
	}
	return getLink(ctx, c, &Link{Name: MakeName(name)}, fmt.Sprintf("%q", name))
}

func getLink(ctx context.Context, c *nl.Conn, q *Link, what string) (Link, error) {
	var l Link
	found := false
	err := c.ExecuteFunc(ctx, linkRequest(TypeGetLink, nl.FlagRequest, q), func(m nl.Message) error {
		if m.Header.Type != TypeNewLink || found {
			return nil
		}
		found = true
		return l.UnmarshalBinary(m.Data)
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: no RTM_NEWLINK in the reply", ErrMessageType)
	}
	if err != nil {
		return Link{}, fmt.Errorf("rtnl: get link %s: %w", what, err)
	}
	return l, nil
}

// AddressFilter selects the addresses of a dump. The zero value selects
// every address.
type AddressFilter struct {
	Family Family // FamilyAll, FamilyInet or FamilyInet6
	Index  uint32 // interface index; 0 for every interface
}

// Request returns the RTM_GETADDR dump request for the filter (the device in
// ifa_index). One allocation.
func (f AddressFilter) Request() nl.Message {
	b := make([]byte, sizeofIfaddrmsg)
	b[0] = byte(f.Family)
	binary.NativeEndian.PutUint32(b[4:], f.Index)
	return nl.Message{Header: nl.Header{Type: TypeGetAddress, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// ForEachAddress dumps the addresses that pass f and calls fn for each; *a
// is valid only until fn returns. No allocation per address. An
// interrupted dump is reported, not retried, as ForEachRoute says.
func ForEachAddress(ctx context.Context, c *nl.Conn, f AddressFilter, fn func(a *Address) error) error {
	return forEachAddress(ctx, c, f, false, fn)
}

func forEachAddress(ctx context.Context, c *nl.Conn, f AddressFilter, restart bool, fn func(a *Address) error) error {
	keep := func(a *Address) bool {
		return (f.Family == FamilyAll || a.Family == f.Family) && (f.Index == 0 || a.Index == f.Index)
	}
	return walk(ctx, c, f.Request(), TypeNewAddress, "dump addresses", restart, (*Address).UnmarshalBinary, keep, fn)
}

// ListAddresses returns the addresses that pass f. It allocates the slice.
// An interrupted dump is retried as AppendRoutes says.
func ListAddresses(ctx context.Context, c *nl.Conn, f AddressFilter, opts ...DumpOption) ([]Address, error) {
	return collect[Address](nil, opts, func(restart bool, fn func(*Address) error) error {
		return forEachAddress(ctx, c, f, restart, fn)
	})
}

// NeighborFilter selects the neighbour entries of a dump. The zero value
// selects every entry (proxy entries excepted, as in the kernel).
type NeighborFilter struct {
	Family Family // FamilyAll, FamilyInet, FamilyInet6 or FamilyBridge
	Index  uint32 // interface index; 0 for every interface
	// Proxy dumps the proxy entries (NTF_PROXY; `ip neigh show proxy`)
	// instead of the others.
	Proxy bool
}

// Request returns the RTM_GETNEIGH dump request for the filter (the device
// goes in NDA_IFINDEX: strict checking rejects a non-zero ndm_ifindex;
// Proxy sets NTF_PROXY in ndm_flags). One allocation.
func (f NeighborFilter) Request() nl.Message {
	b := make([]byte, sizeofNdmsg, sizeofNdmsg+8)
	b[0] = byte(f.Family)
	if f.Proxy {
		b[10] = NeighFlagProxy
	}
	if f.Index != 0 {
		e := nl.NewAttributeEncoder(b)
		e.Uint32(ndaIfindex, f.Index)
		b, _ = e.Bytes()
	}
	return nl.Message{Header: nl.Header{Type: TypeGetNeighbor, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// ForEachNeighbor dumps the neighbour entries that pass f and calls fn for
// each; *n is valid only until fn returns. No allocation per entry. An
// interrupted dump is reported, not retried, as ForEachRoute says.
func ForEachNeighbor(ctx context.Context, c *nl.Conn, f NeighborFilter, fn func(n *Neighbor) error) error {
	return forEachNeighbor(ctx, c, f, false, fn)
}

func forEachNeighbor(ctx context.Context, c *nl.Conn, f NeighborFilter, restart bool, fn func(n *Neighbor) error) error {
	keep := func(n *Neighbor) bool {
		return (f.Family == FamilyAll || n.Family == f.Family) && (f.Index == 0 || n.Index == f.Index) &&
			f.Proxy == (n.Flags&NeighFlagProxy != 0)
	}
	return walk(ctx, c, f.Request(), TypeNewNeighbor, "dump neighbours", restart, (*Neighbor).UnmarshalBinary, keep, fn)
}

// ListNeighbors returns the neighbour entries that pass f. It allocates the
// slice. An interrupted dump is retried as AppendRoutes says.
func ListNeighbors(ctx context.Context, c *nl.Conn, f NeighborFilter, opts ...DumpOption) ([]Neighbor, error) {
	return collect[Neighbor](nil, opts, func(restart bool, fn func(*Neighbor) error) error {
		return forEachNeighbor(ctx, c, f, restart, fn)
	})
}
