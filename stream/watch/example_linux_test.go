//go:build linux

package watch_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// Print the routing table as a snapshot, then every change, until the
// context ends.
func Example() {
	w, err := watch.Routes(watch.WithTable(rtnl.TableMain))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = stream.ForEach(ctx, w.Events(), func(e watch.Event[rtnl.Route]) error {
		switch e.Kind {
		case watch.Added, watch.Changed, watch.Deleted:
			_ = e.Value // a route: print it, program it, count it…
		case watch.SnapshotComplete:
			fmt.Println("snapshot complete")
		case watch.ResyncComplete:
			log.Printf("resynced after an overrun: %+v", e.Resync)
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Fatal(err)
	}
	// Output: snapshot complete
}
