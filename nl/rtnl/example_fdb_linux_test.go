//go:build linux

package rtnl_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nlrx/nlrx/nl/rtnl"
)

// Add a static entry to a bridge's forwarding database and list the
// bridge's entries: `bridge fdb add 02:00:00:00:00:01 dev v0 master
// static; bridge fdb show br br0`.
func ExampleAddFDB() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("br0")}, rtnl.Bridge{}); err != nil {
		log.Fatal(err)
	}
	mac, _ := rtnl.ParseHardwareAddr("02:00:00:00:00:10")
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("v0"), Address: mac}, rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("v1")}}); err != nil {
		log.Fatal(err)
	}
	br, _ := rtnl.LinkIndex(ctx, c, "br0")
	v0, _ := rtnl.LinkIndex(ctx, c, "v0")
	if err := rtnl.SetLink(ctx, c, v0, rtnl.WithMaster(br)); err != nil {
		log.Fatal(err)
	}
	station, _ := rtnl.ParseHardwareAddr("02:00:00:00:00:01")
	e := rtnl.FDBEntry{Index: v0, MAC: station, Flags: rtnl.NeighFlagMaster, State: rtnl.NeighNoARP}
	if err := rtnl.AddFDB(ctx, c, e); err != nil {
		log.Fatal(err)
	}
	entries, err := rtnl.ListFDB(ctx, c, rtnl.FDBFilter{Bridge: br})
	if err != nil {
		log.Fatal(err)
	}
	names := map[uint32]string{br: "br0", v0: "v0"}
	for i := range entries {
		if entries[i].IsBridgeEntry() { // not the ports' address lists
			fmt.Printf("%s\n", entries[i].AppendTextNames(nil, func(i uint32) string { return names[i] }))
		}
	}
	// Unordered output:
	// 02:00:00:00:00:01 dev v0 master br0 static
	// 02:00:00:00:00:10 dev v0 master br0 permanent
}
