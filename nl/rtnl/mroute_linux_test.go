//go:build linux

package rtnl_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// A host with a multicast routing daemon dumps its forwarding entries with
// the routes of every family: their RTA_EXPIRES is a u64, which once made
// every all-family dump fail.
func TestAllFamilyDumpWithMulticastForwardingEntries(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	c := ns.Dial()
	ctx := context.Background()
	v0, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := rtnl.LinkByName(ctx, c, "v1")
	if err != nil {
		t.Fatal(err)
	}
	ns.MulticastRouter(int(v0.Index), int(v1.Index))
	routes, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{})
	if err != nil {
		t.Fatalf("all-family dump: %v", err)
	}
	found := false
	for _, r := range routes {
		if r.Family == rtnl.FamilyIPMR && r.Dst == netip.MustParsePrefix("239.1.2.3/32") {
			found = true
			if r.IIF != v0.Index || r.Src != netip.MustParsePrefix("10.5.0.2/32") {
				t.Errorf("forwarding entry %+v: want iif %d from 10.5.0.2", r, v0.Index)
			}
		}
	}
	if !found {
		t.Fatalf("no forwarding entry for 239.1.2.3 among %d routes", len(routes))
	}
}
