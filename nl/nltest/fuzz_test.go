//go:build linux

package nltest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// FuzzReceiveChain sends arbitrary datagrams, from the kernel or from a
// spoofing peer, truncated or not, through a real Conn into the rtnetlink
// decoders: whatever arrives, the chain returns errors or drops, never
// panics, and a datagram from anyone but the kernel never reaches a decoder.
func FuzzReceiveChain(f *testing.F) {
	route := nl.AppendMessage(nil, nl.Message{Header: nl.Header{Type: rtnl.TypeNewRoute},
		Data: []byte{2, 32, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0, 8, 0, 1, 0, 192, 0, 2, 1}})
	f.Add(route, uint32(0), uint16(0))
	f.Add(route, uint32(77), uint16(0))
	f.Add(route, uint32(0), uint16(20))
	f.Add([]byte{0, 0, 0, 0, 24, 0, 0, 0}, uint32(0), uint16(0))
	f.Fuzz(func(t *testing.T, datagram []byte, sender uint32, truncate uint16) {
		if len(datagram) == 0 || len(datagram) > 1<<16 {
			return
		}
		c, k, err := nltest.Dial(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		defer c.Close()
		if err := k.Inject(nltest.Datagram{Raw: datagram, Sender: sender, Truncate: int(truncate)}); err != nil {
			t.Fatal(err)
		}
		sentinel := nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: nl.TypeNoop, Seq: 0xfeed}}}}
		if sender != 0 {
			// Dropped: the receive must skip it and return the kernel's
			// datagram that follows.
			if err := k.Inject(sentinel); err != nil {
				t.Fatal(err)
			}
		}
		decoded := 0
		err = c.ReceiveFunc(func(m nl.Message, _ int32) error {
			if sender != 0 && m.Header.Seq != 0xfeed {
				t.Fatalf("a datagram from port %d reached the decoders", sender)
			}
			decoded++
			switch m.Header.Type {
			case rtnl.TypeNewRoute, rtnl.TypeDelRoute:
				_, _ = rtnl.DecodeRoute(m)
			case rtnl.TypeNewLink, rtnl.TypeDelLink:
				_, _ = rtnl.DecodeLink(m)
			case rtnl.TypeNewAddress, rtnl.TypeDelAddress:
				_, _ = rtnl.DecodeAddress(m)
			case rtnl.TypeNewNeighbor, rtnl.TypeDelNeighbor:
				_, _ = rtnl.DecodeNeighbor(m)
			default:
				_ = nl.CheckMessage(m)
			}
			return nil
		})
		if sender != 0 {
			if err != nil || decoded != 1 || c.Stats().Spoofed != 1 {
				t.Fatalf("a datagram from port %d: %d messages decoded (want only the kernel's), %d counted as spoofed, err %v",
					sender, decoded, c.Stats().Spoofed, err)
			}
			return
		}
		if truncate > 0 && int(truncate) < len(datagram) && !errors.Is(err, nl.ErrTruncated) {
			t.Fatalf("truncated datagram: err = %v, want ErrTruncated", err)
		}
	})
}

// TestBlockingCallsHonourContexts checks every request call against a
// kernel that never answers: each returns the context's error promptly.
func TestBlockingCallsHonourContexts(t *testing.T) {
	c, _ := dial(t, func(nl.Message) []nltest.Datagram { return nil })
	calls := map[string]func(ctx context.Context) error{
		"Execute": func(ctx context.Context) error { _, err := c.Execute(ctx, dumpReq()); return err },
		"ExecuteFunc": func(ctx context.Context) error {
			return c.ExecuteFunc(ctx, dumpReq(), func(nl.Message) error { return nil })
		},
		"ExecuteBatch": func(ctx context.Context) error {
			return c.ExecuteBatch(ctx, []nl.Message{dumpReq()}, func(int, error) {})
		},
		"ReceiveAndDecode": func(ctx context.Context) error { _, err := c.ReceiveAndDecode(ctx); return err },
		"rtnl.ListRoutes": func(ctx context.Context) error {
			_, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- call(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want context.DeadlineExceeded", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still blocked 10 s after the context ended")
			}
		})
	}
}
