//go:build linux

package rtnl_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// These tests use the fake kernel of nl/nltest for what a real kernel will
// not do on demand; they need no privilege.

func fakeRoutes(t *testing.T, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		r := rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32), OIF: 2}
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func dialFake(t *testing.T, h nltest.Handler) (*nl.Conn, *nltest.Kernel) {
	t.Helper()
	c, k, err := nltest.Dial(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		k.Close()
	})
	return c, k
}

func TestInterruptedDumpReturnsEveryRouteAndErrDumpInterrupted(t *testing.T) {
	payloads := fakeRoutes(t, 100)
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		return nltest.WithFlags(nltest.Multipart(req, unix.RTM_NEWROUTE, payloads, 30), nl.FlagDumpIntr)
	})
	routes, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{})
	if !errors.Is(err, nl.ErrDumpInterrupted) {
		t.Fatalf("err = %v, want nl.ErrDumpInterrupted", err)
	}
	if len(routes) != 100 {
		t.Fatalf("%d routes with the interrupted dump, want all 100", len(routes))
	}
	n := 0
	err = rtnl.ForEachRoute(testCtx(t), c, rtnl.RouteFilter{}, func(*rtnl.Route) error { n++; return nil })
	if !errors.Is(err, nl.ErrDumpInterrupted) || n != 100 {
		t.Fatalf("ForEachRoute: %d routes, %v", n, err)
	}
}

func TestUndecodableRoutesAreSkippedAndReported(t *testing.T) {
	payloads := fakeRoutes(t, 10)
	payloads[3] = []byte{2, 0, 0} // shorter than struct rtmsg
	payloads[7] = append(payloads[7][:len(payloads[7]):len(payloads[7])], 200, 0, 1, 0)
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		return nltest.Multipart(req, unix.RTM_NEWROUTE, payloads, 4)
	})
	routes, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{})
	if !errors.Is(err, nl.ErrShortMessage) || !errors.Is(err, nl.ErrBadLength) {
		t.Errorf("err = %v, want both decoding errors", err)
	}
	if len(routes) != 8 {
		t.Errorf("%d routes, want the 8 good ones", len(routes))
	}
}

func TestDumpErrorFromDoneIsReturned(t *testing.T) {
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		return []nltest.Datagram{{Messages: []nl.Message{nltest.Done(req, unix.EINVAL, "Invalid values in header for FIB dump request")}}}
	})
	_, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{})
	var ne *nl.Error
	if !errors.Is(err, unix.EINVAL) || !errors.As(err, &ne) || ne.Message == "" {
		t.Fatalf("err = %v, want EINVAL with its text", err)
	}
}

func TestRouteDumpRequestCarriesTheFilter(t *testing.T) {
	c, k := dialFake(t, func(req nl.Message) []nltest.Datagram {
		return nltest.Multipart(req, unix.RTM_NEWROUTE, nil, 1)
	})
	ctx := testCtx(t)
	for _, tc := range []struct {
		f        rtnl.RouteFilter
		rtmTable uint8
	}{
		{rtnl.RouteFilter{Family: rtnl.FamilyInet6, Table: 100, OIF: 3, Protocol: rtnl.ProtoStatic, Type: rtnl.RouteUnicast}, 100},
		{rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: 100000}, uint8(rtnl.TableCompat)},
		{rtnl.RouteFilter{}, 0},
	} {
		if _, err := rtnl.ListRoutes(ctx, c, tc.f); err != nil {
			t.Fatal(err)
		}
		reqs := k.Requests()
		req := reqs[len(reqs)-1]
		if req.Header.Type != unix.RTM_GETROUTE || req.Header.Flags&nl.FlagDump != nl.FlagDump {
			t.Fatalf("request header %+v", req.Header)
		}
		if got := req.Data[4]; got != tc.rtmTable {
			t.Errorf("%+v: rtm_table %d, want %d", tc.f, got, tc.rtmTable)
		}
		var r rtnl.Route
		if err := r.UnmarshalBinary(req.Data); err != nil {
			t.Fatal(err)
		}
		if r.Family != tc.f.Family || r.Table != tc.f.Table || r.OIF != tc.f.OIF || r.Protocol != tc.f.Protocol || r.Type != tc.f.Type {
			t.Errorf("request %+v does not carry filter %+v", r, tc.f)
		}
		// Strict checking refuses any of these in a dump request.
		if req.Data[1] != 0 || req.Data[2] != 0 || req.Data[3] != 0 || req.Data[6] != 0 {
			t.Errorf("dump request header % x has prefix lengths, tos or scope set", req.Data[:12])
		}
	}
}

func TestContextEndsADump(t *testing.T) {
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram { return nil }) // never answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}
