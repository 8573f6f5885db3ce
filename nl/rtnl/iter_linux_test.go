//go:build linux

package rtnl_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The sequences give what the List* dumps give, entries that stay valid
// after the step that yielded them, a break that leaves the Conn usable,
// requests from the loop's body, and the dump's error last.
func TestSequencesYieldTheDumpAndItsError(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "192.0.2.1/24", "dev", "v0")
	var lines []string
	for i := range 600 {
		lines = append(lines, fmt.Sprintf("route add 10.1.%d.%d/32 dev v0", i>>8, i&0xff))
	}
	ns.Batch(lines)
	c := ns.Dial()
	ctx := testCtx(t)
	f := rtnl.RouteFilter{Family: rtnl.FamilyInet}

	want, err := rtnl.ListRoutes(ctx, c, f)
	if err != nil {
		t.Fatal(err)
	}
	var got []rtnl.Route
	for r, err := range rtnl.Routes(ctx, c, f) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != len(want) {
		t.Fatalf("Routes yielded %d routes, ListRoutes %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(&want[i]) {
			t.Fatalf("route %d: %v, ListRoutes %v (a yielded route changed after its step?)", i, &got[i], &want[i])
		}
	}

	// A break, then the next request on c; a request in the body.
	n := 0
	for r, err := range rtnl.Routes(ctx, c, f) {
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rtnl.LinkByIndex(ctx, c, r.OIF); err != nil {
			t.Fatalf("a request from the loop's body: %v", err)
		}
		if n++; n == 5 {
			break
		}
	}
	if again, err := rtnl.ListRoutes(ctx, c, f); err != nil || len(again) != len(want) {
		t.Fatalf("after a break: %d routes, %v; want %d", len(again), err, len(want))
	}

	links, addrs := 0, 0
	for l, err := range rtnl.Links(ctx, c, rtnl.LinkFilter{Name: "v0"}) {
		if err != nil || l.Name.String() != "v0" {
			t.Fatalf("Links: %v, %v", l.Name, err)
		}
		links++
	}
	for a, err := range rtnl.Addresses(ctx, c, rtnl.AddressFilter{Family: rtnl.FamilyInet}) {
		if err != nil {
			t.Fatal(err)
		}
		if a.Prefix == netip.MustParsePrefix("192.0.2.1/24") {
			addrs++
		}
	}
	if links != 1 || addrs != 1 {
		t.Fatalf("Links gave %d v0, Addresses %d 192.0.2.1/24; want 1 each", links, addrs)
	}

	// The dump's error comes last, once.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	errs := 0
	for _, err := range rtnl.Routes(cctx, c, f) {
		if err != nil {
			errs++
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("a cancelled dump: %v", err)
			}
		}
	}
	if errs != 1 {
		t.Fatalf("%d errors from a cancelled dump, want 1", errs)
	}
}
