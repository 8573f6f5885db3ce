//go:build linux

package conntrack_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl/conntrack"
	"github.com/nlrx/nlrx/stream"
)

// List the UDP flows to a DNS server, then delete them in one request, as
// kube-proxy does when the server's endpoints change.
func ExampleFlush() {
	ctx := context.Background()
	c, err := conntrack.Dial()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	f := conntrack.Filter{Proto: conntrack.ProtoUDP, Dst: netip.MustParseAddr("10.96.0.10"), DstPort: 53}
	flows, err := conntrack.List(ctx, c, f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(flows), "flows")
	if err := conntrack.Flush(ctx, c, f); err != nil {
		fmt.Println(err)
	}
}

// Print every event, like conntrack -E; a lost burst is a gap in the
// stream, and the stream goes on.
func ExampleListen() {
	c, err := conntrack.DialEvents(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	src, err := conntrack.Listen(nil, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	_ = src.Events(stream.WithBuffer(4096, stream.Block)).Subscribe(context.Background(), stream.ObserverFuncs[conntrack.Event]{
		OnNext: func(ev conntrack.Event) error { fmt.Println(&ev); return nil },
		OnGap:  func(g stream.Gap) error { fmt.Println("lost:", g); return nil },
	})
}
