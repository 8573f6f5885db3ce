//go:build linux

// Command dump prints every route of every table, as `ip route show table
// all` does (the tour in README.md, job 1).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

func main() {
	netns := flag.String("netns", "", "a network namespace's `path` (default: this process's)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := dump(ctx, os.Stdout, *netns); err != nil {
		log.Fatal(err)
	}
}

func dump(ctx context.Context, out io.Writer, netns string) error {
	var opts []nl.Option
	if netns != "" {
		opts = append(opts, nl.WithNetNS(netns))
	}
	c, err := nl.DialRoute(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	// One request, the replies decoded in place: r is valid during the
	// call only (copy *r to keep it). rtnl.ListRoutes returns a slice.
	return rtnl.ForEachRoute(ctx, c, rtnl.RouteFilter{}, func(r *rtnl.Route) error {
		_, err := fmt.Fprintln(out, r)
		return err
	})
}
