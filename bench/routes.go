package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// firstRoute is the first destination the harness adds: routes are
// 10.100.0.0/32, 10.100.0.1/32, … (100,000 of them reach 10.101.134.159).
var firstRoute = netip.MustParseAddr("10.100.0.0")

// routeBatch is how many RTM_NEWROUTE requests go into one datagram. The
// kernel handles a datagram's requests in one sendmsg, so the adder runs
// as fast as the kernel takes routes (research E3: 500 per send).
const routeBatch = 512

// routeAdder adds routes to a namespace by pipelining RTM_NEWROUTE requests
// (NLM_F_CREATE|NLM_F_EXCL, no per-request ACK) through an nl.Conn.
type routeAdder struct {
	c    *nl.Conn
	msgs []nl.Message
}

func newRouteAdder(ns *benchNS) (*routeAdder, error) {
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithWriteBuffer(1<<20))
	if err != nil {
		return nil, fmt.Errorf("route adder: %w", err)
	}
	return &routeAdder{c: c}, nil
}

func (a *routeAdder) close() { a.c.Close() }

// routeAddr returns the i-th destination after base.
func routeAddr(base netip.Addr, i int) netip.Addr {
	b := base.As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(i)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// buildRoutes prepares n RTM_NEWROUTE requests for base+i/32 via ifindex.
// The payloads share one buffer, built before any timing starts.
func (a *routeAdder) buildRoutes(base netip.Addr, n, ifindex int) {
	const payloadLen = unix.SizeofRtMsg + 8 + 8 // rtmsg, RTA_DST (4 B), RTA_OIF
	buf := make([]byte, 0, n*payloadLen)
	a.msgs = a.msgs[:0]
	for i := range n {
		start := len(buf)
		buf = append(buf,
			unix.AF_INET, 32, 0, 0, // family, dst_len, src_len, tos
			unix.RT_TABLE_MAIN, unix.RTPROT_STATIC, unix.RT_SCOPE_LINK, unix.RTN_UNICAST,
			0, 0, 0, 0, // rtm_flags
		)
		e := nl.NewAttributeEncoder(buf)
		e.Addr(unix.RTA_DST, routeAddr(base, i))
		e.Uint32(unix.RTA_OIF, uint32(ifindex))
		buf, _ = e.Bytes()
		a.msgs = append(a.msgs, nl.Message{
			Header: nl.Header{Type: unix.RTM_NEWROUTE, Flags: nl.FlagRequest | nl.FlagCreate | nl.FlagExcl},
			Data:   buf[start:len(buf):len(buf)],
		})
	}
}

// add sends the prepared requests, routeBatch per datagram, and returns how
// long the kernel took to take them all. The kernel answers a request
// without NLM_F_ACK only if it fails; a final acknowledged request then
// flushes the queue, so any earlier failure shows up in Stats.Unmatched and
// is reported here.
func (a *routeAdder) add(ctx context.Context, ifindex int) (time.Duration, error) {
	before := a.c.Stats().Unmatched
	t0 := time.Now()
	for i := 0; i < len(a.msgs); i += routeBatch {
		ms := a.msgs[i:min(i+routeBatch, len(a.msgs))]
		for j := range ms {
			ms[j].Header.Seq = 0 // fresh sequence numbers each time
		}
		if _, err := a.c.SendMessages(ms); err != nil {
			return 0, fmt.Errorf("adding routes: %w", err)
		}
	}
	took := time.Since(t0)
	if err := a.check(ctx, ifindex); err != nil {
		return 0, err
	}
	if n := a.c.Stats().Unmatched - before; n > 0 {
		return 0, fmt.Errorf("adding routes: the kernel refused %d of %d requests (routes left from an earlier run?)", n, len(a.msgs))
	}
	return took, nil
}

// check sends an acknowledged RTM_GETLINK for ifindex.
func (a *routeAdder) check(ctx context.Context, ifindex int) error {
	var ifi [unix.SizeofIfInfomsg]byte
	ifi[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(ifi[4:8], uint32(ifindex))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := a.c.Execute(ctx, nl.Message{Header: nl.Header{Type: unix.RTM_GETLINK}, Data: ifi[:]})
	if err != nil {
		return fmt.Errorf("adding routes: final check: %w", err)
	}
	return nil
}

// addOne adds a single route with an acknowledgement (the ip monitor probe).
func (a *routeAdder) addOne(ctx context.Context, dst netip.Addr, ifindex int) error {
	saved := a.msgs
	defer func() { a.msgs = saved }()
	a.msgs = nil
	a.buildRoutes(dst, 1, ifindex)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := a.c.Execute(ctx, a.msgs[0])
	return err
}
