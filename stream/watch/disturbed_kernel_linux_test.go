//go:build linux

package watch_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The kernel fact behind routesDisturbed: an IPv6 route dump that spans
// several datagrams, of a table that changes between two of them, starts
// its walk again and skips as many routes as it had sent, so a route added
// before the point reached makes it list a route twice (and one deleted
// would make it miss one, where the deletion renews the tree's serial
// number; on Linux 6.18 a deleted leaf does not); the dump is not flagged
// interrupted (fib6_dump_table). IPv4 resumes by key: every route once.
// Routes are told apart by destination and device: fe80::/64 is there
// once per link.
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
			seen, added := map[string]int{}, false
			id := func(r *rtnl.Route) string { return fmt.Sprint(r.Dst, " dev ", r.OIF) }
			err := rtnl.ForEachRoute(ctx, c, filter, func(r *rtnl.Route) error {
				seen[id(r)]++
				if len(seen) == 100 && !added {
					// The kernel has sent its first datagram, not all: add
					// a route before the point its walk has reached.
					added = true
					return rtnl.AddRoute(ctx, other, rtnl.Route{Family: family, Table: rtnl.TableMain, Dst: netip.MustParsePrefix(dst(-1)), OIF: r.OIF})
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
				if seen[id(&r)] == 0 && r.Dst.String() != dst(-1) {
					missing++
				}
			}
			t.Logf("%v: %d routes listed twice, %d missing, of %d", family, twice, missing, len(after))
			switch {
			case family == rtnl.FamilyInet && twice+missing != 0:
				t.Errorf("the IPv4 dump listed %d routes twice and missed %d", twice, missing)
			case family == rtnl.FamilyInet6 && twice == 0:
				t.Errorf("the IPv6 dump listed every route once: the kernel no longer restarts its walk by count (routesDisturbed may be too careful now)")
			}
		})
	}
}
