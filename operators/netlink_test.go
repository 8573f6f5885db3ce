package operators_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/stream"
)

const (
	rtmNewLink  = 16
	rtmNewAddr  = 20
	rtmNewRoute = 24
	rtmDelRoute = 25
	rtmNewNeigh = 28
	afInet      = 2
	afInet6     = 10
)

func msg(typ, flags uint16, data ...byte) nl.Message {
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags, Length: uint32(nl.HeaderLen + len(data))}, Data: data}
}

// done is NLMSG_DONE carrying errno (0 for success).
func done(errno syscall.Errno) nl.Message {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, uint32(-int32(errno)))
	return msg(nl.TypeDone, nl.FlagMulti, b...)
}

// errMsg is NLMSG_ERROR carrying errno (0: an ACK).
func errMsg(errno syscall.Errno) nl.Message {
	b := make([]byte, 4+nl.HeaderLen)
	binary.NativeEndian.PutUint32(b, uint32(-int32(errno)))
	return msg(nl.TypeError, 0, b...)
}

func part(family byte, flags uint16) nl.Message {
	return msg(rtmNewRoute, nl.FlagMulti|flags, family, 24, 0, 0)
}

// msgSource emits ms in batches of up to batch messages (one per Next call
// for 1), counting those it delivered; like a raw socket stream it goes on
// after DONE unless stopped.
func msgSource(ms []nl.Message, batch int, delivered *int) stream.Observable[nl.Message] {
	return stream.Create(func(ctx context.Context, o stream.Observer[nl.Message]) error {
		for rest := ms; len(rest) > 0; {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(batch, len(rest))
			var err error
			if n == 1 {
				err = o.Next(rest[0])
			} else {
				err = o.NextBatch(rest[:n])
			}
			*delivered += n
			if err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
}

func types(ms []nl.Message) string {
	s := make([]uint16, len(ms))
	for i, m := range ms {
		s[i] = m.Header.Type
	}
	return fmt.Sprint(s)
}

func TestTakeUntilDoneEmitsThroughDoneAndStops(t *testing.T) {
	in := []nl.Message{part(afInet, 0), part(afInet, 0), part(afInet6, 0), done(0), part(afInet, 0)}
	for _, batch := range []int{1, 2, 10} {
		var delivered int
		got, err := stream.Collect(testContext(t), operators.TakeUntilDone(msgSource(in, batch, &delivered)))
		if err != nil {
			t.Fatal(err)
		}
		if types(got) != "[24 24 24 3]" {
			t.Fatalf("batch %d: got types %s", batch, types(got))
		}
		if delivered > 4+batch {
			t.Fatalf("batch %d: the source went on for %d messages after DONE", batch, delivered-4)
		}
	}
}

func TestTakeUntilDoneSurfacesTheKernelsError(t *testing.T) {
	tests := []struct {
		name  string
		in    []nl.Message
		types string
		is    error
	}{
		{"DONE with an errno", []nl.Message{part(afInet, 0), done(syscall.EINTR)}, "[24 3]", syscall.EINTR},
		{"NLMSG_ERROR", []nl.Message{errMsg(syscall.EEXIST), part(afInet, 0)}, "[2]", syscall.EEXIST},
		{"ACK", []nl.Message{errMsg(0), part(afInet, 0)}, "[2]", nil},
		{"DUMP_INTR", []nl.Message{part(afInet, nl.FlagDumpIntr), part(afInet, 0), done(0)}, "[24 24 3]", nl.ErrDumpInterrupted},
		{"kernel error wins over DUMP_INTR", []nl.Message{part(afInet, nl.FlagDumpIntr), done(syscall.EBUSY)}, "[24 3]", syscall.EBUSY},
		{"source ends first", []nl.Message{part(afInet, 0)}, "[24]", nil},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 10} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, batch), func(t *testing.T) {
				var delivered int
				got, err := operators.CollectUntilDone(testContext(t), msgSource(tt.in, batch, &delivered))
				if types(got) != tt.types {
					t.Fatalf("got types %s, want %s", types(got), tt.types)
				}
				if tt.is == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if !errors.Is(err, tt.is) {
					t.Fatalf("got %v, want %v", err, tt.is)
				}
				var ne *nl.Error
				if tt.is != nl.ErrDumpInterrupted && !errors.As(err, &ne) {
					t.Fatalf("%v is not an *nl.Error", err)
				}
			})
		}
	}
}

// procEvent is a proc connector message: type NLMSG_DONE, flags 0, and a
// payload (cn_msg) whose first word, read as an errno, is not zero.
func procEvent() nl.Message { return msg(nl.TypeDone, 0, 1, 0, 0, 0, 1, 0, 0, 0) }

func TestTakeUntilDoneOnAConnectorStreamPassesDone(t *testing.T) {
	in := []nl.Message{procEvent(), procEvent(), procEvent()}
	for _, batch := range []int{1, 10} {
		var delivered int
		got, err := operators.CollectUntilDone(testContext(t), msgSource(in, batch, &delivered), operators.WithFraming(nl.FramingConnector))
		if err != nil || types(got) != "[3 3 3]" {
			t.Fatalf("batch %d: got types %s, %v; want [3 3 3], nil", batch, types(got), err)
		}
		// The same stream read as netlink-framed stops at the first
		// message with a nonsense errno: what the option prevents.
		got, err = operators.CollectUntilDone(testContext(t), msgSource(in, batch, &delivered))
		var ne *nl.Error
		if types(got) != "[3]" || !errors.As(err, &ne) {
			t.Fatalf("batch %d, netlink framing: got types %s, %v; want [3] and an *nl.Error", batch, types(got), err)
		}
	}
	in = []nl.Message{procEvent(), errMsg(syscall.EPERM), procEvent()}
	got, err := operators.CollectUntilDone(testContext(t), msgSource(in, 1, new(int)), operators.WithFraming(nl.FramingConnector))
	if types(got) != "[3 2]" || !errors.Is(err, syscall.EPERM) {
		t.Fatalf("NLMSG_ERROR on a connector stream: got types %s, %v; want [3 2], EPERM", types(got), err)
	}
}

func TestCollectUntilDoneCopiesAliasedPayloads(t *testing.T) {
	buf := make([]byte, 4) // one buffer reused for every message, as a socket's
	s := stream.Create(func(ctx context.Context, o stream.Observer[nl.Message]) error {
		for i := range 3 {
			copy(buf, []byte{afInet, byte(i), 0, 0})
			if err := o.Next(nl.Message{Header: nl.Header{Type: rtmNewRoute, Flags: nl.FlagMulti}, Data: buf}); err != nil {
				return err
			}
		}
		copy(buf, []byte{0, 0, 0, 0})
		return o.Next(nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: buf})
	})
	got, err := operators.CollectUntilDone(testContext(t), s)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got[:3] {
		if m.Data[1] != byte(i) {
			t.Fatalf("message %d has payload %v: it still aliases the reused buffer", i, m.Data)
		}
	}
	gap := stream.Create(func(ctx context.Context, o stream.Observer[nl.Message]) error { return o.Gap(stream.Gap{}) })
	if _, err := operators.CollectUntilDone(testContext(t), gap); !errors.Is(err, stream.ErrGap) {
		t.Fatalf("a gap in a reply: %v", err)
	}
}

func TestNetlinkFiltersKeepControlMessages(t *testing.T) {
	in := []nl.Message{
		msg(rtmNewLink, 0, 0),
		msg(rtmNewRoute, 0, afInet, 24),
		msg(rtmNewRoute, 0, afInet6, 64),
		msg(rtmDelRoute, 0, afInet, 32),
		msg(rtmNewAddr, 0, afInet6),
		msg(rtmNewNeigh, 0), // no payload
		errMsg(0),
		done(0),
	}
	tests := []struct {
		name string
		s    func(stream.Observable[nl.Message]) stream.Observable[nl.Message]
		want string
	}{
		{"type", func(s stream.Observable[nl.Message]) stream.Observable[nl.Message] {
			return operators.FilterType(s, rtmNewRoute, rtmDelRoute)
		}, "[24 24 25 2 3]"},
		{"family", func(s stream.Observable[nl.Message]) stream.Observable[nl.Message] {
			return operators.FilterFamily(s, afInet6)
		}, "[24 20 2 3]"},
		{"group", func(s stream.Observable[nl.Message]) stream.Observable[nl.Message] {
			return operators.FilterGroup(s, 7) // RTNLGRP_IPV4_ROUTE
		}, "[24 25]"},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 3, 10} {
			var delivered int
			got, err := stream.Collect(testContext(t), tt.s(msgSource(in, batch, &delivered)))
			if err != nil || types(got) != tt.want {
				t.Errorf("%s/%d: got %s %v, want %s", tt.name, batch, types(got), err, tt.want)
			}
		}
	}
}

func TestRouteGroupClassifiesRtnetlinkMessages(t *testing.T) {
	tests := []struct {
		m    nl.Message
		want uint32
	}{
		{msg(16, 0, 0), 1},                // RTM_NEWLINK: RTNLGRP_LINK
		{msg(17, 0, 0), 1},                // RTM_DELLINK
		{msg(20, 0, afInet), 5},           // RTM_NEWADDR inet: RTNLGRP_IPV4_IFADDR
		{msg(21, 0, afInet6), 9},          // RTM_DELADDR inet6: RTNLGRP_IPV6_IFADDR
		{msg(24, 0, afInet), 7},           // RTM_NEWROUTE inet: RTNLGRP_IPV4_ROUTE
		{msg(25, 0, afInet6), 11},         // RTM_DELROUTE inet6: RTNLGRP_IPV6_ROUTE
		{msg(24, 0, 28), 27},              // AF_MPLS: RTNLGRP_MPLS_ROUTE
		{msg(28, 0, 7), 3},                // RTM_NEWNEIGH (any family): RTNLGRP_NEIGH
		{msg(32, 0, afInet), 8},           // RTM_NEWRULE inet: RTNLGRP_IPV4_RULE
		{msg(33, 0, afInet6), 19},         // RTM_DELRULE inet6: RTNLGRP_IPV6_RULE
		{msg(80, 0, afInet), 24},          // RTM_NEWNETCONF inet: RTNLGRP_IPV4_NETCONF
		{msg(88, 0, 0), 28},               // RTM_NEWNSID: RTNLGRP_NSID
		{msg(104, 0, afInet), 32},         // RTM_NEWNEXTHOP: RTNLGRP_NEXTHOP
		{msg(24, 0), 0},                   // no family
		{msg(nl.TypeDone, 0, 0, 0, 0), 0}, // control
		{msg(24, 0, 99), 0},               // unknown family
	}
	for _, tt := range tests {
		if got := operators.RouteGroup(tt.m); got != tt.want {
			t.Errorf("type %d family %v: got %d, want %d", tt.m.Header.Type, tt.m.Data, got, tt.want)
		}
	}
}
