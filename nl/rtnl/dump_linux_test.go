//go:build linux

package rtnl_test

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// flagFrom returns ds with NLM_F_DUMP_INTR on the messages of datagram i
// onwards (its NLMSG_DONE included), as the kernel flags the first
// datagram it fills after the table changed, never the first of a dump.
func flagFrom(ds []nltest.Datagram, i int) []nltest.Datagram {
	return append(ds[:i:i], nltest.WithFlags(ds[i:], nl.FlagDumpIntr)...)
}

// interruptedDumps answers the first bad dump requests with an
// interrupted dump of routes and the later ones with a clean one, and
// counts the requests.
func interruptedDumps(t *testing.T, routes, bad int) (*nl.Conn, *atomic.Int32) {
	payloads := fakeRoutes(t, routes)
	var n atomic.Int32
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		ds := nltest.Multipart(req, unix.RTM_NEWROUTE, payloads, 30)
		if int(n.Add(1)) <= bad {
			ds = flagFrom(ds, 1)
		}
		return ds
	})
	return c, &n
}

func TestListRetriesAnInterruptedDumpFromScratch(t *testing.T) {
	c, n := interruptedDumps(t, 100, 2)
	routes, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{})
	if err != nil {
		t.Fatalf("ListRoutes after two interrupted dumps: %v", err)
	}
	if len(routes) != 100 || n.Load() != 3 {
		t.Fatalf("%d routes in %d dumps, want the 100 of the third", len(routes), n.Load())
	}
	seen := map[netip.Prefix]bool{}
	for _, r := range routes {
		if seen[r.Dst] {
			t.Fatalf("%v twice: the attempts were not started afresh", r.Dst)
		}
		seen[r.Dst] = true
	}
}

func TestListGivesUpAfterDefaultDumpAttempts(t *testing.T) {
	c, n := interruptedDumps(t, 100, 1000)
	routes, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{})
	if !errors.Is(err, nl.ErrDumpInterrupted) {
		t.Fatalf("err = %v, want nl.ErrDumpInterrupted", err)
	}
	if n.Load() != rtnl.DefaultDumpAttempts || len(routes) != 100 {
		t.Fatalf("%d dumps, %d routes; want %d dumps and the whole last one", n.Load(), len(routes), rtnl.DefaultDumpAttempts)
	}
}

func TestDumpAttemptsSetsTheCount(t *testing.T) {
	for _, tc := range []struct{ attempts, dumps int }{{1, 1}, {0, 1}, {-3, 1}, {2, 2}, {7, 7}} {
		t.Run(fmt.Sprint(tc.attempts), func(t *testing.T) {
			c, n := interruptedDumps(t, 50, 1000)
			routes, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{}, rtnl.DumpAttempts(tc.attempts))
			if !errors.Is(err, nl.ErrDumpInterrupted) || len(routes) != 50 || int(n.Load()) != tc.dumps {
				t.Fatalf("%d dumps, %d routes, %v; want %d dumps, 50 routes, nl.ErrDumpInterrupted",
					n.Load(), len(routes), err, tc.dumps)
			}
		})
	}
}

func TestAppendRoutesKeepsThePrefixOfDstAcrossAttempts(t *testing.T) {
	c, n := interruptedDumps(t, 300, 1)
	keep := rtnl.Route{Family: rtnl.FamilyInet, Table: 99, Dst: netip.MustParsePrefix("192.0.2.0/24")}
	dst := make([]rtnl.Route, 1, 2) // regrows during the dump
	dst[0] = keep
	got, err := rtnl.AppendRoutes(testCtx(t), c, dst, rtnl.RouteFilter{})
	if err != nil || n.Load() != 2 {
		t.Fatalf("%d dumps, %v; want 2 and no error", n.Load(), err)
	}
	if len(got) != 301 || !got[0].Equal(&keep) {
		t.Fatalf("%d routes, first %v; want %v and the 300 of the dump", len(got), &got[0], &keep)
	}
}

func TestForEachReportsAnInterruptionWithoutDeliveringTwice(t *testing.T) {
	c, n := interruptedDumps(t, 100, 1000)
	seen := map[netip.Prefix]int{}
	err := rtnl.ForEachRoute(testCtx(t), c, rtnl.RouteFilter{}, func(r *rtnl.Route) error {
		seen[r.Dst]++
		return nil
	})
	if !errors.Is(err, nl.ErrDumpInterrupted) || n.Load() != 1 || len(seen) != 100 {
		t.Fatalf("%d dumps, %d routes, %v; want one dump of 100 and nl.ErrDumpInterrupted", n.Load(), len(seen), err)
	}
	for p, k := range seen {
		if k != 1 {
			t.Fatalf("%v delivered %d times", p, k)
		}
	}
	// The sequences are ForEach*: the error comes last, after each route
	// once.
	count := 0
	var last error
	for _, err := range rtnl.Routes(testCtx(t), c, rtnl.RouteFilter{}) {
		if err != nil {
			last = err
			continue
		}
		count++
	}
	if !errors.Is(last, nl.ErrDumpInterrupted) || count != 100 || n.Load() != 2 {
		t.Fatalf("Routes: %d routes, %v, %d dumps in all", count, last, n.Load())
	}
}

// A dump interrupted for real: the kernel's generation counters move
// while the dump is between two datagrams. A change made from the dump's
// callback (or hook) lands exactly there.
func TestRealInterruptedDumpsAreReportedAndRetried(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	const n = 1500 // a few datagrams of 32 KiB
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("addr add 10.%d.%d.1/32 dev v0", i>>8, i&0xff))
	}
	ns.Batch(lines)
	c := ns.Dial()
	other := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	extra := 0
	change := func() {
		extra++
		a := rtnl.Address{Family: rtnl.FamilyInet, Index: v0, Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(extra)}), 32)}
		if err := rtnl.AddAddress(ctx, other, a); err != nil {
			t.Error(err)
		}
	}
	// Not Index: a dump of one device's addresses is never flagged
	// (inet_dump_ifaddr sets its cb->seq only for a dump of every device).
	f := rtnl.AddressFilter{Family: rtnl.FamilyInet}

	t.Run("ForEach reports", func(t *testing.T) {
		seen := map[netip.Prefix]int{}
		err := rtnl.ForEachAddress(ctx, c, f, func(a *rtnl.Address) error {
			if len(seen) == 0 {
				change()
			}
			seen[a.Prefix]++
			return nil
		})
		if !errors.Is(err, nl.ErrDumpInterrupted) {
			t.Fatalf("err = %v after a change in the middle of the dump, want nl.ErrDumpInterrupted", err)
		}
		if len(seen) < n {
			t.Fatalf("%d addresses delivered, want the %d at least", len(seen), n)
		}
	})

	t.Run("List retries", func(t *testing.T) {
		var attempts []int
		defer rtnl.SetDumpHook(func(attempt int) {
			attempts = append(attempts, attempt)
			if attempt == 1 {
				change()
			}
		})()
		addrs, err := rtnl.ListAddresses(ctx, c, f)
		if err != nil {
			t.Fatalf("ListAddresses: %v", err)
		}
		if len(attempts) != 2 {
			t.Fatalf("attempts %v, want the interrupted first and a second", attempts)
		}
		got, want := map[string]int{}, map[string]int{}
		for _, a := range addrs {
			got[a.Prefix.String()]++
		}
		for _, l := range ipJSON(t, ns, "-4", "addr", "show") {
			for _, ai := range l["addr_info"].([]any) {
				m := ai.(map[string]any)
				want[fmt.Sprintf("%s/%s", str(m["local"]), str(m["prefixlen"]))]++
			}
		}
		compareSets(t, "addresses after a retried dump", got, want)

		// With one attempt, the interrupted dump itself.
		attempts = nil
		addrs, err = rtnl.ListAddresses(ctx, c, f, rtnl.DumpAttempts(1))
		if !errors.Is(err, nl.ErrDumpInterrupted) || len(attempts) != 1 || len(addrs) < n {
			t.Fatalf("DumpAttempts(1): %d addresses, attempts %v, %v; want the interrupted dump", len(addrs), attempts, err)
		}
	})
}

// The kernel may flag only NLMSG_DONE (netlink_dump_done checks the
// table's generation too): the entries were all read, and the dump is
// still retried.
func TestListRetriesADumpFlaggedOnlyOnDone(t *testing.T) {
	payloads := fakeRoutes(t, 40)
	var n atomic.Int32
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		ds := nltest.Multipart(req, unix.RTM_NEWROUTE, payloads, 30)
		if n.Add(1) == 1 {
			ds = flagFrom(ds, len(ds)-1)
		}
		return ds
	})
	routes, err := rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{})
	if err != nil || len(routes) != 40 || n.Load() != 2 {
		t.Fatalf("%d routes in %d dumps, %v; want 40 in 2 and no error", len(routes), n.Load(), err)
	}
}

// mixedRoutes returns n routes of a dump in the kernel's order: most plain,
// some in runs with equal metrics, some multipath, some on another link.
func mixedRoutes(n int) []rtnl.Route {
	rs := make([]rtnl.Route, n)
	for i := range rs {
		r := rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32), OIF: 2}
		switch {
		case i%50 >= 10 && i%50 < 20: // a run of ten with one mtu
			r.Metrics = &rtnl.Metrics{MTU: 1400 + uint32(i/50)}
		case i%50 == 20:
			r.Metrics = &rtnl.Metrics{AdvMSS: 1300, CongestionControl: "bbr"}
		case i%50 == 30:
			r.OIF, r.Multipath = 0, []rtnl.NextHop{{Gateway: netip.MustParseAddr("10.0.0.2"), OIF: 2, Weight: 1},
				{Gateway: netip.MustParseAddr("10.0.1.2"), OIF: 3, Weight: 2}}
		case i%7 == 0:
			r.OIF = 3
		}
		rs[i] = r
	}
	return rs
}

// dumping answers every dump request with rs, 30 routes a datagram.
func dumping(t *testing.T, rs []rtnl.Route) *nl.Conn {
	payloads := make([][]byte, len(rs))
	for i := range rs {
		b, err := rs[i].MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		payloads[i] = b
	}
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		return nltest.Multipart(req, unix.RTM_NEWROUTE, payloads, 30)
	})
	return c
}

func TestAppendRoutesKeepsTheKernelsOrderWhateverRoomDstHas(t *testing.T) {
	want := mixedRoutes(700)
	c := dumping(t, want)
	keep := rtnl.Route{Family: rtnl.FamilyInet, Table: 99, Dst: netip.MustParsePrefix("192.0.2.0/24")}
	for _, room := range []int{0, 1, 2, 299, 700, 701, 2000} {
		t.Run(fmt.Sprint(room), func(t *testing.T) {
			dst := make([]rtnl.Route, 1, max(room, 1))
			dst[0] = keep
			got, err := rtnl.AppendRoutes(testCtx(t), c, dst, rtnl.RouteFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1+len(want) || !got[0].Equal(&keep) {
				t.Fatalf("%d routes, first %v; want %v and the %d of the dump", len(got), &got[0], &keep, len(want))
			}
			for i := range want {
				if !got[1+i].Equal(&want[i]) {
					t.Fatalf("route %d: %v, want %v", i, &got[1+i], &want[i])
				}
			}
			if room > len(want) && &got[0] != &dst[0] {
				t.Error("a dst with room for the dump was not used in place")
			}
		})
	}
}

func TestListRoutesFiltersAndAllocatesTheResultOnce(t *testing.T) {
	all := mixedRoutes(700)
	c := dumping(t, all)
	f := rtnl.RouteFilter{OIF: 3}
	var want []rtnl.Route
	for i := range all {
		if f.Match(&all[i]) {
			want = append(want, all[i])
		}
	}
	got, err := rtnl.ListRoutes(testCtx(t), c, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d routes, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(&want[i]) {
			t.Fatalf("route %d: %v, want %v", i, &got[i], &want[i])
		}
	}
	if cap(got) != len(all) {
		t.Errorf("capacity %d, want the dump's %d routes, allocated once", cap(got), len(all))
	}
}

func TestDumpedRoutesShareARunOfEqualMetrics(t *testing.T) {
	want := mixedRoutes(100)
	c := dumping(t, want)
	for name, list := range map[string]func() ([]rtnl.Route, error){
		"ListRoutes": func() ([]rtnl.Route, error) { return rtnl.ListRoutes(testCtx(t), c, rtnl.RouteFilter{}) },
		"ForEachRoute": func() ([]rtnl.Route, error) {
			var rs []rtnl.Route
			err := rtnl.ForEachRoute(testCtx(t), c, rtnl.RouteFilter{}, func(r *rtnl.Route) error {
				rs = append(rs, *r)
				return nil
			})
			return rs, err
		},
	} {
		got, err := list()
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s: %d routes, %v", name, len(got), err)
		}
		distinct := map[*rtnl.Metrics]bool{}
		for i := range got {
			if !got[i].Equal(&want[i]) {
				t.Fatalf("%s: route %d: %v, want %v", name, i, &got[i], &want[i])
			}
			if got[i].Metrics != nil {
				distinct[got[i].Metrics] = true
			}
		}
		// Two runs of ten with one mtu each, and two single routes.
		if len(distinct) != 4 {
			t.Errorf("%s: %d distinct Metrics, want 4", name, len(distinct))
		}
	}
}
