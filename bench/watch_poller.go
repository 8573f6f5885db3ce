package main

import (
	"errors"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"golang.org/x/sys/unix"
)

// The poller-based nlrx subscribers of the watch scenario: an event socket
// registered with a poller, which drains it with recvmmsg and hands the
// handler batches with overruns in-band.
func init() {
	addWatchSub(watchSub{name: "nlrx-poller", api: "nl.DialRoute(WithGroups, WithReadBuffer(32 MiB)) registered with poller.New() (recvmmsg batches of 64)", floor: "raw", rcvbuf: bigRcvbuf, open: openPollerSub})
	addWatchSub(watchSub{name: "nlrx-poller-default", api: "the same without WithReadBuffer", floor: "raw", open: openPollerSub})
}

func openPollerSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	opts := []nl.Option{nl.WithNetNS(nsPath), nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE)}
	if rcvbuf > 0 {
		opts = append(opts, nl.WithReadBuffer(rcvbuf))
	}
	c, err := nl.DialRoute(opts...)
	if err != nil {
		return 0, nil, err
	}
	eff, _ := c.ReadBufferSize()
	p, err := poller.New()
	if err != nil {
		c.Close()
		return 0, nil, err
	}
	// The poller's goroutine is the receive loop; registering starts it,
	// so the returned loop only waits for the end of the registration.
	ended := make(chan error, 1)
	handler := func(b *poller.Batch) {
		n := int64(0)
		for i := range b.Messages {
			if b.Messages[i].Header.Type == unix.RTM_NEWROUTE {
				n++
			}
		}
		st.events.Add(n)
		for _, ev := range b.Events {
			switch ev.Kind {
			case poller.Overrun:
				st.overruns.Add(1)
			case poller.Closed:
				ended <- ev.Err
			}
		}
	}
	return eff, func() {
		if _, err := p.Add(c, handler); err != nil {
			st.die(err)
			return
		}
		err := <-ended
		if err == nil {
			err = errors.New("registration closed")
		}
		st.die(err)
	}, nil
}
