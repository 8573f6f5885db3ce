//go:build linux

package watch_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// Follow a bridge's forwarding database: the entry of a station added
// after the snapshot is in the table once its event has come.
func ExampleFDB() {
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
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("br0")}, rtnl.Bridge{}); err != nil {
		log.Fatal(err)
	}
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		log.Fatal(err)
	}
	br, _ := rtnl.LinkIndex(ctx, c, "br0")
	v0, _ := rtnl.LinkIndex(ctx, c, "v0")
	if err := rtnl.SetLink(ctx, c, v0, rtnl.WithMaster(br)); err != nil {
		log.Fatal(err)
	}

	w, err := watch.FDB(watch.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	if err := w.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	station, _ := rtnl.ParseHardwareAddr("02:00:00:00:00:01")
	if err := rtnl.AddFDB(ctx, c, rtnl.FDBEntry{Index: v0, MAC: station, Flags: rtnl.NeighFlagMaster, State: rtnl.NeighNoARP}); err != nil {
		log.Fatal(err)
	}
	k := watch.FDBKey{Master: br, MAC: station} // a bridge entry's key: not its port
	for {
		if e, ok := w.Table().Get(k); ok {
			fmt.Println(e.Index == v0, e.StateName())
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: true static
}
