//go:build linux

package rtnl_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// ipNeigh returns ip -j neigh show's entry for dst on dev (proxy entries
// with proxy set), or nil.
func ipNeigh(t *testing.T, ns *nstest.NS, dev, dst string, proxy bool) map[string]any {
	t.Helper()
	args := []string{"neigh", "show", "nud", "all", "dev", dev}
	if proxy {
		args = []string{"neigh", "show", "proxy", "dev", dev}
	}
	for _, j := range ipJSON(t, ns, args...) {
		if str(j["dst"]) == dst {
			return j
		}
	}
	return nil
}

func ipNeighLine(j map[string]any) string {
	var states []string
	if ss, ok := j["state"].([]any); ok {
		for _, s := range ss {
			states = append(states, s.(string))
		}
	}
	_, router := j["router"]
	_, proxy := j["proxy"]
	return fmt.Sprintf("%s lladdr=%s state=%s router=%v proxy=%v", str(j["dst"]), str(j["lladdr"]),
		strings.Join(states, ","), router, proxy)
}

func neighLine(n *rtnl.Neighbor) string {
	state := n.State.String()
	if n.Flags&rtnl.NeighFlagProxy != 0 {
		state = "" // ip shows no state for proxy entries
	}
	return fmt.Sprintf("%s lladdr=%s state=%s router=%v proxy=%v", n.Dst, n.LLAddr, state,
		n.Flags&rtnl.NeighFlagRouter != 0, n.Flags&rtnl.NeighFlagProxy != 0)
}

func TestNeighborOperationsMatchIPNeigh(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	hw := func(s string) rtnl.HardwareAddr { return mustHW(t, s) }
	for _, tc := range []struct {
		name     string
		n, rep   rtnl.Neighbor
		wantAdd  rtnl.Neighbor // as the kernel reports n
		wantRepl rtnl.Neighbor
	}{
		{name: "ipv4 permanent by default, replaced by a reachable entry",
			n:        rtnl.Neighbor{Dst: addr("10.0.0.7"), LLAddr: hw("02:00:00:00:00:07")},
			wantAdd:  rtnl.Neighbor{Dst: addr("10.0.0.7"), LLAddr: hw("02:00:00:00:00:07"), State: rtnl.NeighPermanent},
			rep:      rtnl.Neighbor{Dst: addr("10.0.0.7"), LLAddr: hw("02:00:00:00:00:77"), State: rtnl.NeighReachable},
			wantRepl: rtnl.Neighbor{Dst: addr("10.0.0.7"), LLAddr: hw("02:00:00:00:00:77"), State: rtnl.NeighReachable}},
		{name: "ipv4 reachable, replaced by a stale entry",
			n:        rtnl.Neighbor{Dst: addr("10.0.0.8"), LLAddr: hw("02:00:00:00:00:08"), State: rtnl.NeighReachable},
			wantAdd:  rtnl.Neighbor{Dst: addr("10.0.0.8"), LLAddr: hw("02:00:00:00:00:08"), State: rtnl.NeighReachable},
			rep:      rtnl.Neighbor{Dst: addr("10.0.0.8"), LLAddr: hw("02:00:00:00:00:88"), State: rtnl.NeighStale},
			wantRepl: rtnl.Neighbor{Dst: addr("10.0.0.8"), LLAddr: hw("02:00:00:00:00:88"), State: rtnl.NeighStale}},
		{name: "ipv6 permanent router",
			n:        rtnl.Neighbor{Dst: addr("2001:db8::9"), LLAddr: hw("02:00:00:00:00:09"), Flags: rtnl.NeighFlagRouter},
			wantAdd:  rtnl.Neighbor{Dst: addr("2001:db8::9"), LLAddr: hw("02:00:00:00:00:09"), State: rtnl.NeighPermanent, Flags: rtnl.NeighFlagRouter},
			rep:      rtnl.Neighbor{Dst: addr("2001:db8::9"), LLAddr: hw("02:00:00:00:00:99"), State: rtnl.NeighNoARP},
			wantRepl: rtnl.Neighbor{Dst: addr("2001:db8::9"), LLAddr: hw("02:00:00:00:00:99"), State: rtnl.NeighNoARP}},
		{name: "ipv4 proxy",
			n:        rtnl.Neighbor{Dst: addr("10.0.0.99"), Flags: rtnl.NeighFlagProxy},
			wantAdd:  rtnl.Neighbor{Dst: addr("10.0.0.99"), Flags: rtnl.NeighFlagProxy},
			rep:      rtnl.Neighbor{Dst: addr("10.0.0.99"), Flags: rtnl.NeighFlagProxy},
			wantRepl: rtnl.Neighbor{Dst: addr("10.0.0.99"), Flags: rtnl.NeighFlagProxy}},
		{name: "ipv6 proxy",
			n:        rtnl.Neighbor{Dst: addr("2001:db8::99"), Flags: rtnl.NeighFlagProxy},
			wantAdd:  rtnl.Neighbor{Dst: addr("2001:db8::99"), Flags: rtnl.NeighFlagProxy},
			rep:      rtnl.Neighbor{Dst: addr("2001:db8::99"), Flags: rtnl.NeighFlagProxy},
			wantRepl: rtnl.Neighbor{Dst: addr("2001:db8::99"), Flags: rtnl.NeighFlagProxy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := tc.n.Flags&rtnl.NeighFlagProxy != 0
			dst := tc.n.Dst.String()
			check := func(when string, want rtnl.Neighbor) {
				t.Helper()
				j := ipNeigh(t, ns, "v0", dst, proxy)
				if j == nil {
					t.Fatalf("%s: ip does not show %s", when, dst)
				}
				if got, w := ipNeighLine(j), neighLine(&want); got != w {
					t.Errorf("%s: ip shows\n  %s\nwant\n  %s", when, got, w)
				}
				ns, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{Index: v0, Proxy: proxy})
				if err != nil {
					t.Fatal(err)
				}
				found := 0
				for i := range ns {
					if ns[i].Dst == tc.n.Dst {
						found++
						if got := neighLine(&ns[i]); got != ipNeighLine(j) {
							t.Errorf("%s: library reads\n  %s\nip shows\n  %s", when, got, ipNeighLine(j))
						}
					}
				}
				if found != 1 {
					t.Errorf("%s: ListNeighbors(proxy %v) shows %s %d times", when, proxy, dst, found)
				}
			}
			n, rep := tc.n, tc.rep
			n.Index, rep.Index = v0, v0
			if err := rtnl.AddNeighbor(ctx, c, n); err != nil {
				t.Fatal(err)
			}
			check("after add", tc.wantAdd)
			// The kernel ignores NLM_F_EXCL for proxy entries.
			if err := rtnl.AddNeighbor(ctx, c, n); (err == nil) != proxy || (!proxy && !errors.Is(err, unix.EEXIST)) {
				t.Errorf("adding it again: %v, want EEXIST (nil for a proxy entry)", err)
			}
			if err := rtnl.ReplaceNeighbor(ctx, c, rep); err != nil {
				t.Fatal(err)
			}
			check("after replace", tc.wantRepl)
			if err := rtnl.DeleteNeighbor(ctx, c, n); err != nil {
				t.Fatal(err)
			}
			if ipNeigh(t, ns, "v0", dst, proxy) != nil {
				t.Errorf("%s still there after DeleteNeighbor", dst)
			}
			if err := rtnl.DeleteNeighbor(ctx, c, n); !errors.Is(err, unix.ENOENT) {
				t.Errorf("deleting it again: %v, want ENOENT", err)
			}
		})
	}
	if err := rtnl.AddNeighbor(ctx, c, rtnl.Neighbor{Dst: addr("10.0.0.5"), Index: 4242, LLAddr: hw("02:00:00:00:00:05")}); !errors.Is(err, unix.ENODEV) {
		t.Errorf("neighbour on a missing link: %v, want ENODEV", err)
	}
}
