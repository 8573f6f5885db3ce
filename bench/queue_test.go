package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

func TestQueuedEventBytesSeesWhatASubscriberHasNotRead(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace")
	}
	if err := needTools("ip", "nsenter"); err != nil {
		t.Fatal(err) // the test command's requirements: .ci/run installs them
	}
	ns, err := newBenchNS()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.close()
	idx, err := ns.setupVeth()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if q, err := queuedEventBytes(ns.NetNS); err != nil || q != 0 {
		t.Fatalf("before any change: %d bytes queued (%v), want 0", q, err)
	}
	a, err := newRouteAdder(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	a.buildRoutes(firstRoute, 50, idx)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.add(ctx, idx); err != nil {
		t.Fatal(err)
	}
	q, err := queuedEventBytes(ns.NetNS)
	if err != nil || q == 0 {
		t.Fatalf("50 unread events: %d bytes queued (%v), want more than 0", q, err)
	}
	for read := 0; read < 50; {
		ms, err := sub.Receive()
		if err != nil {
			t.Fatal(err)
		}
		read += len(ms)
	}
	if q, err := queuedEventBytes(ns.NetNS); err != nil || q != 0 {
		t.Errorf("after reading every event: %d bytes queued (%v), want 0", q, err)
	}
}
