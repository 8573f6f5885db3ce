//go:build linux

package sockdiag_test

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl/sockdiag"
)

// List the TCP connections to port 443 with their RTT and congestion
// window (ss -tni 'dport = :443').
func ExampleList() {
	ctx := context.Background()
	c, err := sockdiag.Dial()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	f := sockdiag.Filter{
		Protocol: sockdiag.ProtoTCP,
		States:   sockdiag.StatesOf(sockdiag.StateEstablished),
		Ext:      sockdiag.ExtInfo,
		Ports:    sockdiag.DstPort(sockdiag.Eq, 443),
	}
	ss, err := sockdiag.List(ctx, c, f)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range ss {
		fmt.Println(&s, "rtt", s.TCPInfo.RTTDuration(), "cwnd", s.TCPInfo.SndCwnd)
	}
}

// Close every TCP connection to a backend that went away (ss -K dst
// … dport = :5432), by cookie, so that a new connection with the same
// ports is left alone.
func ExampleDestroyMatching() {
	ctx := context.Background()
	c, err := sockdiag.Dial()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	n, err := sockdiag.DestroyMatching(ctx, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP, Ports: sockdiag.DstPort(sockdiag.Eq, 5432)},
		func(s *sockdiag.Socket) bool { return s.Dst.Addr().String() == "10.0.0.7" })
	fmt.Println(n, err)
}
