package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

// The route-watcher subscriber of the watch scenario: stream/watch keeps a
// copy of the IPv4 routing tables and resyncs after an overrun, so an
// event the kernel dropped still arrives, as a synthetic Added.
func init() {
	addWatchSub(watchSub{name: "nlrx-watcher", api: "watch.Routes(WithNetNS, WithFamily(AF_INET)), default options (32 MiB buffer, resync on overrun); Added events after the snapshot counted", floor: "raw", rcvbuf: watch.DefaultReadBuffer, open: openWatcherSub})
}

func openWatcherSub(nsPath string, _ int, st *subState) (int, func(), error) {
	w, err := watch.Routes(watch.WithNetNS(nsPath), watch.WithFamily(unix.AF_INET))
	if err != nil {
		return 0, nil, err
	}
	snapshot := make(chan struct{})
	ended := make(chan error, 1)
	live := false
	go func() {
		ended <- stream.ForEach(context.Background(), w.Events(), func(ev watch.Event[rtnl.Route]) error {
			switch ev.Kind {
			case watch.SnapshotComplete:
				if !live {
					live = true
					close(snapshot)
				}
			case watch.Added:
				if live {
					st.events.Add(1)
				}
			case watch.Overrun:
				st.overruns.Add(1)
			}
			return nil
		})
	}()
	// The initial dump is set-up, not the measured watch: wait for it
	// before reporting ready.
	select {
	case <-snapshot:
	case err := <-ended:
		w.Close()
		return 0, nil, fmt.Errorf("watcher ended before its snapshot: %v", err)
	case <-time.After(20 * time.Second):
		w.Close()
		return 0, nil, errors.New("watcher: no snapshot within 20 s")
	}
	return w.Stats().ReadBuffer, func() {
		err := <-ended
		if err == nil {
			err = errors.New("event stream completed")
		}
		st.die(err)
	}, nil
}
