//go:build linux

package watch_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The kernel fact behind routesDisturbed: an IPv6 route dump that spans
// several datagrams, of a table that changes between two of them, starts
// its walk again and skips as many routes as it had sent, so a route
// deleted before the point reached makes it list a route twice (or miss
// one); the dump is not flagged interrupted (fib6_dump_table, Linux 6.18:
// the deletion of the first route after 100 gives one route twice). IPv4
// resumes by key: every route once.
func TestKernelIPv6DumpSkipsRoutesWhenTheTableChanges(t *testing.T) {
	for _, family := range []rtnl.Family{rtnl.FamilyInet6, rtnl.FamilyInet} {
		t.Run(family.String(), func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			const n = 3000 // many datagrams of a dump
			lines := make([]string, n)
			dst := func(i int) string {
				if family == rtnl.FamilyInet6 {
					return fmt.Sprintf("2001:db8:%x::/48", i+1)
				}
				return fmt.Sprintf("10.%d.%d.0/24", (i+1)/256, (i+1)%256)
			}
			for i := range lines {
				lines[i] = "route add " + dst(i) + " dev v0"
			}
			ns.Batch(lines)
			c, other := ns.Dial(), ns.Dial()
			ctx := context.Background()
			filter := rtnl.RouteFilter{Family: family, Table: rtnl.TableMain}
			seen, deleted := map[string]int{}, false
			var first rtnl.Route
			err := rtnl.ForEachRoute(ctx, c, filter, func(r *rtnl.Route) error {
				if len(seen) == 0 {
					first = *r
				}
				seen[r.Dst.String()]++
				if len(seen) == 100 && !deleted {
					// The kernel has sent its first datagram, not all:
					// delete a route it already sent.
					deleted = true
					return rtnl.DeleteRoute(ctx, other, first)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			after, err := rtnl.ListRoutes(ctx, c, filter)
			if err != nil {
				t.Fatal(err)
			}
			twice, missing := 0, 0
			for _, n := range seen {
				if n > 1 {
					twice++
				}
			}
			for _, r := range after {
				if seen[r.Dst.String()] == 0 {
					missing++
				}
			}
			t.Logf("%v: %d routes listed twice, %d missing, of %d", family, twice, missing, len(after))
			switch {
			case family == rtnl.FamilyInet && twice+missing != 0:
				t.Errorf("the IPv4 dump listed %d routes twice and missed %d", twice, missing)
			case family == rtnl.FamilyInet6 && twice+missing == 0:
				t.Errorf("the IPv6 dump listed every route once: the kernel no longer restarts its walk by count (routesDisturbed may be too careful now)")
			}
		})
	}
}
