//go:build linux

package rtnl_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// A dump as a range loop. The example runs in a fresh network namespace
// and brings its loopback link up, which gives the local table its IPv4
// routes.
func ExampleRoutes() {
	ns, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rtnl.SetLinkUp(ctx, c, 1); err != nil { // lo
		log.Fatal(err)
	}

	f := rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: rtnl.TableLocal}
	for r, err := range rtnl.Routes(ctx, c, f) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r.Type, r.Dst)
	}
	// Output:
	// local 127.0.0.0/8
	// local 127.0.0.1/32
	// broadcast 127.255.255.255/32
}
