//go:build linux

package rtnl_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// List the main IPv4 table of the current network namespace, with
// interface names, as `ip route show` does.
func ExampleForEachRoute() {
	ctx := context.Background()
	c, err := nl.DialRoute()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	names := map[uint32]string{}
	if err := rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		names[l.Index] = l.Name.String()
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	f := rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: rtnl.TableMain}
	err = rtnl.ForEachRoute(ctx, c, f, func(r *rtnl.Route) error {
		fmt.Printf("%s\n", r.AppendText(nil, func(i uint32) string { return names[i] }))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
