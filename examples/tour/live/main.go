//go:build linux

// Command live keeps a live copy of the routing tables and prints each
// change as it happens (the tour in README.md, job 2).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

func main() {
	netns := flag.String("netns", "", "a network namespace's `path` (default: this process's)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := live(ctx, os.Stdout, *netns); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

func live(ctx context.Context, out io.Writer, netns string) error {
	var opts []watch.Option
	if netns != "" {
		opts = append(opts, watch.WithNetNS(netns))
	}
	w, err := watch.Routes(opts...)
	if err != nil {
		return err
	}
	defer w.Close()
	// Events run on the watcher's goroutines, one at a time, in order.
	// The table is w.Table(): safe to read from anywhere, at any time.
	return stream.ForEach(ctx, w.Events(), func(e watch.Event[rtnl.Route]) error {
		switch e.Kind {
		case watch.Added, watch.Changed, watch.Deleted:
			if e.Synthetic { // from a dump: the snapshot, or a resync catching up
				return nil
			}
			fmt.Fprintf(out, "%s %v\n", e.Kind, &e.Value)
		case watch.SnapshotComplete:
			fmt.Fprintf(out, "%d routes; live from here\n", w.Table().Len())
		case watch.Overrun: // the kernel dropped notifications: a resync follows
			fmt.Fprintf(out, "overrun (%v): resyncing\n", e.Err)
		case watch.ResyncComplete: // the table equals the kernel's again
			fmt.Fprintf(out, "resynced: %d added, %d changed, %d deleted\n",
				e.Resync.Added, e.Resync.Changed, e.Resync.Deleted)
		}
		return nil
	})
}
