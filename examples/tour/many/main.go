//go:build linux

// Command many watches the routes of several network namespaces on one
// poller, merges their events, and counts the routes added in each, every
// second, with rxgo (the tour in README.md, job 3).
//
//	many /run/netns/a /run/netns/b …
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/rx"
	"github.com/nlrx/nlrx/stream/watch"
	"github.com/reactivex/rxgo/v2"
)

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := many(ctx, os.Stdout, flag.Args()); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

func many(ctx context.Context, out io.Writer, namespaces []string) error {
	// One epoll instance and one goroutine read every namespace's socket.
	p, err := poller.New()
	if err != nil {
		return err
	}
	defer p.Close()
	var sources []stream.Observable[watch.Event[rtnl.Route]]
	for _, ns := range namespaces {
		w, err := watch.Routes(watch.WithNetNS(ns), watch.WithPoller(p), watch.WithLabel(ns))
		if err != nil {
			return err
		}
		defer w.Close()
		if err := w.WaitReady(ctx); err != nil {
			return err
		}
		sources = append(sources, w.Events())
	}
	// nlrx's operators first: typed, no goroutine per item.
	added := operators.Map(
		operators.Filter(operators.Merge(sources...), func(e watch.Event[rtnl.Route]) bool {
			return e.Kind == watch.Added && !e.Synthetic
		}),
		func(e watch.Event[rtnl.Route]) string { return e.Namespace })
	// rxgo from here: windows of one second, counted per namespace.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends rxgo's goroutines
	windows := rx.ToRx(ctx, added).BufferWithTime(rxgo.WithDuration(time.Second), rxgo.WithContext(ctx))
	for item := range windows.Observe(rxgo.WithContext(ctx)) {
		if item.E != nil {
			return item.E
		}
		count := map[string]int{}
		for _, ns := range item.V.([]any) {
			count[ns.(string)]++
		}
		for _, ns := range namespaces {
			if count[ns] > 0 {
				fmt.Fprintf(out, "%s: %d routes added\n", ns, count[ns])
			}
		}
	}
	return ctx.Err()
}
