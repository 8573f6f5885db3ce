//go:build linux

package watch_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
	"golang.org/x/sys/unix"
)

// routeLinesOf lists routes as multiset lines, the kernel's lifetimes
// left out.
func routeLinesOf(rs []rtnl.Route) []string {
	var out []string
	for _, r := range rs {
		if r.Flags&rtnl.RouteFlagCloned != 0 || r.Family != rtnl.FamilyInet && r.Family != rtnl.FamilyInet6 {
			continue
		}
		r.Expires = 0
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// convergesWithDump waits until the watcher's table equals a fresh dump
// of the namespace's routes, as multisets, and fails with both if it does
// not within the bound.
func convergesWithDump(t *testing.T, ns *nstest.NS, w *watch.RouteWatcher, r *recorder[rtnl.Route], step string) {
	t.Helper()
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		k, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want, got := routeLinesOf(k), routeLinesOf(w.Table().Values())
		if slices.Equal(want, got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s:\nkernel:\n  %s\nwatcher:\n  %s", step, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
		}
		r.waitChange(t, 50*time.Millisecond)
	}
}

// With net.ipv6.route.skip_notify_on_dev_down the kernel deletes the IPv6
// routes of a link that goes down without a word. No rule of the watcher
// foresees that; its verification after the link change finds and repairs
// it, and counts the repairs.
func TestRoutesVerificationRepairsWhatNoRuleFollows(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	if out, err := ns.Cmd("sysctl", "-qw", "net.ipv6.route.skip_notify_on_dev_down=1").CombinedOutput(); err != nil {
		t.Skipf("cannot set net.ipv6.route.skip_notify_on_dev_down in the namespace: %v: %s", err, out)
	}
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
	ns.IP("-6", "route", "add", "2001:1::/64", "via", "2001:db8::2")
	w := newRouteWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))

	ns.IP("link", "set", "v0", "down")
	convergesWithDump(t, ns, w, r, "link set v0 down")
	// A repair counts once the verification that follows has seen that
	// nothing arriving late explains it.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := w.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if st.Verifications == 0 || st.Repairs == 0 {
		t.Errorf("stats %+v: want a verification that repaired the silently deleted routes", st)
	}
	n := 0
	for _, e := range r.snapshot() {
		if e.Kind == watch.Deleted && e.Synthetic && e.Value.Dst.String() == "2001:1::/64" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d synthetic deletions of 2001:1::/64, want 1", n)
	}
}

// Resync verifies on demand: with nothing wrong it repairs nothing, and
// the table still equals the kernel's.
func TestRoutesResyncOnDemandRepairsNothingWhenRight(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.Veth("v2", "v3")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	ns.IP("addr", "add", "10.5.0.2/24", "dev", "v2")
	ns.IP("route", "add", "10.9.0.0/24", "via", "10.5.0.7")
	ns.IP("route", "append", "10.9.0.0/24", "dev", "v2")
	w := newRouteWatcher(t, ns, watch.WithAudit(20*time.Millisecond))
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
	ns.IP("route", "prepend", "10.9.0.0/24", "dev", "v0")
	ns.IP("route", "replace", "blackhole", "10.9.0.0/24")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for i := 0; i < 3; i++ {
		if err := w.Resync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	convergesWithDump(t, ns, w, r, "prepend, replace")
	if st := w.Stats(); st.Verifications < 3 || st.Repairs != 0 || st.Collisions != 0 {
		t.Errorf("stats %+v: want 3 verifications or more (Resync and the audit), no repair, no collision", st)
	}
}

// The nexthop watcher equals ip nexthop, including the nexthops the kernel
// deletes silently with their link.
func TestNexthopsFollowTheirLinks(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.Veth("v2", "v3")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	ns.IP("addr", "add", "10.6.0.1/24", "dev", "v2")
	if _, err := ns.TryIP("nexthop", "add", "id", "1", "via", "10.5.0.2", "dev", "v0"); err != nil {
		t.Skipf("nexthop objects: %v (CONFIG_IP_ROUTE_MULTIPATH and nexthop support, Linux 5.3)", err)
	}
	w, err := watch.Nexthops(watch.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Nexthop](watch.SnapshotComplete, nil))
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	same := func(step string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			k, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, n := range k {
				want = append(want, n.String())
			}
			for _, n := range w.Table().Values() {
				got = append(got, n.String())
			}
			slices.Sort(want)
			slices.Sort(got)
			if slices.Equal(want, got) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s:\nkernel:\n  %s\nwatcher:\n  %s", step, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
			}
			r.waitChange(t, 50*time.Millisecond)
		}
	}
	for _, step := range []string{
		"nexthop add id 2 via 10.6.0.2 dev v2",
		"nexthop add id 10 group 1/2",
		"nexthop add id 11 group 2",
		"nexthop replace id 1 via 10.5.0.3 dev v0",
		"link set v3 down", // v2 loses its carrier: 2 goes, 10 shrinks, 11 goes
		"link set v3 up",
		"nexthop add id 2 via 10.6.0.2 dev v2",
		"link set v2 down",
		"link del v0",
	} {
		ns.IP(strings.Fields(step)...)
		if step == "link set v3 down" {
			// The kernel deletes nexthop 2 when linkwatch tells it v2 lost
			// its carrier, which may be after ip returns: wait for that,
			// or the next step's add of id 2 finds it still there.
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, err := rtnl.NexthopByID(ctx, c, 2); errors.Is(err, unix.ENOENT) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("nexthop 2 still there 10 s after its link lost its carrier")
				}
				r.waitChange(t, 20*time.Millisecond)
			}
		}
		same(step)
	}
	if st := w.Stats(); st.Repairs != 0 {
		t.Errorf("stats %+v: the watcher needed repairs", st)
	}
}

// A host with a multicast routing daemon: the route watcher with default
// options starts (its all-family dump carries the forwarding entries,
// whose RTA_EXPIRES is a u64) and leaves the entries out, as ip route does.
func TestRoutesStartOnAMulticastRouter(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var idx []int
	for _, name := range []string{"v0", "v1"} {
		l, err := rtnl.LinkByName(ctx, c, name)
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, int(l.Index))
	}
	ns.MulticastRouter(idx...)
	w := newRouteWatcher(t, ns)
	if err := w.WaitReady(ctx); err != nil {
		t.Fatalf("watcher on a multicast router: %v", err)
	}
	for _, r := range w.Table().Values() {
		if r.Family != rtnl.FamilyInet && r.Family != rtnl.FamilyInet6 {
			t.Errorf("the table holds %v of family %v", &r, r.Family)
		}
	}
}

// A verification that runs while routes change must not take what arrived
// during its dump for what the dump missed, nor apply twice what the dump
// shows already: an add then a replace that changes the protocol (and so
// the key), met by a dump that shows the replaced route, left the added
// route beside it until the next verification, which counted it as a
// repair. Verifications run back to back under the churn; at the end the
// table equals the kernel's and no verification repaired anything.
func TestRoutesVerificationDuringChurnRepairsNothing(t *testing.T) {
	for _, fam := range []struct {
		name string
		dst  func(i int) netip.Prefix
	}{
		{"ipv4", func(i int) netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}), 32)
		}},
		{"ipv6", func(i int) netip.Prefix {
			return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x96, 14: byte(i >> 8), 15: byte(i)}), 128)
		}},
	} {
		t.Run(fam.name, func(t *testing.T) {
			ns := nstest.New(t)
			ns.Veth("v0", "v1")
			w := newRouteWatcher(t, ns)
			r := record(t, w, nil)
			r.waitFor(t, "the snapshot", has[rtnl.Route](watch.SnapshotComplete, nil))
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			stop := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				for {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					if err := w.Resync(ctx); err != nil {
						done <- err
						return
					}
				}
			}()
			c := ns.Dial()
			for round := 0; round < 5; round++ {
				for i := 0; i < 200; i++ {
					rt := rtnl.Route{Dst: fam.dst(round*200 + i), Type: rtnl.RouteProhibit, Protocol: rtnl.ProtoStatic}
					if err := rtnl.AddRoute(ctx, c, rt); err != nil {
						t.Fatal(err)
					}
					rt.Protocol = rtnl.ProtoBoot
					if err := rtnl.ReplaceRoute(ctx, c, rt); err != nil {
						t.Fatal(err)
					}
					if i%3 == 0 {
						if err := rtnl.DeleteRoute(ctx, c, rt); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := w.Resync(ctx); err != nil {
				t.Fatal(err)
			}
			convergesWithDump(t, ns, w, r, "the churn")
			if st := w.Stats(); st.Verifications < 2 || st.Repairs != 0 || st.Collisions != 0 {
				var syn []string
				for _, e := range r.snapshot() {
					if e.Synthetic {
						syn = append(syn, e.Kind.String()+" "+e.Value.String())
					}
				}
				t.Errorf("stats %+v: want verifications during the churn, no repair, no collision; synthetic events:\n  %s", st, strings.Join(syn, "\n  "))
			}
		})
	}
}
