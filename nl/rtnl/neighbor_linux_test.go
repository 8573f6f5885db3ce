//go:build linux

package rtnl_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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

// ipNeighShow returns the lines of `ip neigh show`, sorted.
func ipNeighShow(t *testing.T, ns *nstest.NS) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(ns.IP("neigh", "show"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

func TestNeighborsPrintAsIPNeighShow(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	if _, err := ns.TryIP("neigh", "add", "10.5.0.9", "dev", "v0", "managed"); err != nil {
		t.Skipf("the kernel refuses managed neighbours (NTF_EXT_MANAGED, Linux 5.16): %v", err)
	}
	ns.Batch([]string{
		"neigh add 10.5.0.10 dev v0 lladdr 02:00:00:00:00:0a nud permanent",
		"neigh add 10.5.0.11 dev v0 lladdr 02:00:00:00:00:0b nud noarp",
		"neigh add 10.5.0.12 dev v0 lladdr 02:00:00:00:00:0c nud stale router",
		"neigh add 10.5.0.13 dev v1 lladdr 02:00:00:00:00:0d nud stale extern_learn",
		"neigh add 10.5.0.14 dev v1 nud failed",
		"neigh add 10.5.0.15 dev v1 nud none",
		"neigh add 2001:db8::9 dev v1 managed extern_learn",
		"neigh add 2001:db8::10 dev v1 lladdr 02:00:00:00:00:10 router nud permanent",
	})
	c := ns.Dial()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)
	name := func(i uint32) string { return names[i] }
	// The managed entries change state as the kernel probes them: compare
	// until both agree, for at most 10 seconds.
	var got, want []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		list, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for i := range list {
			// ip neigh show leaves NOARP entries out, and those in no state
			// unless learnt from outside.
			n := &list[i]
			if n.State&rtnl.NeighNoARP == 0 && (n.State != rtnl.NeighNone || n.Flags&rtnl.NeighFlagExtLearned != 0) {
				got = append(got, string(n.AppendTextNames(nil, name)))
			}
		}
		slices.Sort(got)
		if want = ipNeighShow(t, ns); slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("library prints\n  %s\nip neigh show prints\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, dst := range []string{"10.5.0.9", "2001:db8::9"} {
		dev := "v0"
		if dst == "2001:db8::9" {
			dev = "v1"
		}
		if _, ok := ipNeigh(t, ns, dev, dst, false)["managed"]; !ok {
			t.Errorf("ip does not show %s as managed", dst)
		}
	}
}

func TestAddNeighborSendsTheManagedFlagAsIPDoes(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	n := rtnl.Neighbor{Index: v0, Dst: addr("10.5.0.9"), FlagsExt: rtnl.NeighExtManaged}
	if err := rtnl.AddNeighbor(ctx, c, n); err != nil {
		if _, ipErr := ns.TryIP("neigh", "add", "10.5.0.8", "dev", "v0", "managed"); ipErr != nil {
			t.Skipf("the kernel refuses managed neighbours (NTF_EXT_MANAGED, Linux 5.16): %v", err)
		}
		t.Fatal(err)
	}
	ns.IP("neigh", "add", "10.5.0.8", "dev", "v0", "managed")
	list, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{Index: v0})
	if err != nil {
		t.Fatal(err)
	}
	managed := map[string]bool{}
	for _, n := range list {
		managed[n.Dst.String()] = n.Managed()
	}
	for _, dst := range []string{"10.5.0.9", "10.5.0.8"} {
		if j := ipNeigh(t, ns, "v0", dst, false); j == nil || !managed[dst] {
			t.Errorf("%s: library reads managed %v, ip shows %v", dst, managed[dst], j)
		} else if _, ok := j["managed"]; !ok {
			t.Errorf("%s: ip does not show it managed: %v", dst, j)
		}
	}
	if err := rtnl.DeleteNeighbor(ctx, c, n); err != nil {
		t.Fatal(err)
	}
	if ipNeigh(t, ns, "v0", "10.5.0.9", false) != nil {
		t.Error("10.5.0.9 still there after DeleteNeighbor")
	}
}
