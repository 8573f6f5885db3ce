//go:build linux

package watch_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

func newLinkWatcher(t *testing.T, ns *nstest.NS, opts ...watch.Option) *watch.LinkWatcher {
	t.Helper()
	w, err := watch.Links(append([]watch.Option{watch.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// kernelLinks dumps the links of ns, without their traffic counters,
// which a links watcher does not hold.
func kernelLinks(t *testing.T, ns *nstest.NS) map[uint32]rtnl.Link {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	links, err := rtnl.ListLinks(ctx, ns.Dial())
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[uint32]rtnl.Link, len(links))
	for _, l := range links {
		if !l.HasStats {
			t.Fatalf("%s: a dump without IFLA_STATS64", l.Name)
		}
		l.Stats, l.HasStats = rtnl.LinkStats{}, false
		m[l.Index] = l
	}
	return m
}

// linksConverge waits, for at most 10 seconds, until the watcher's table
// equals a dump of the kernel's links, and fails with the difference.
func linksConverge(t *testing.T, w *watch.LinkWatcher, ns *nstest.NS) {
	t.Helper()
	var got, want map[uint32]rtnl.Link
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got, _ = w.Table().Snapshot()
		if want = kernelLinks(t, ns); maps.Equal(got, want) {
			return
		}
	}
	for _, i := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[i]; !ok || g != want[i] {
			t.Errorf("link %d: kernel has\n  %+v\nwatcher has (present %v)\n  %+v", i, want[i], ok, g)
		}
	}
	for i, g := range got {
		if _, ok := want[i]; !ok {
			t.Errorf("link %d: watcher has %+v, the kernel has no such link", i, g)
		}
	}
	t.FailNow()
}

// linkEventsAgree checks that the events tell the table's story: each
// Changed or Deleted event's old value is what the previous event about
// that link left, and the last events leave the table.
func linkEventsAgree(t *testing.T, w *watch.LinkWatcher, r *recorder[rtnl.Link]) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	last := map[uint32]rtnl.Link{}
	for _, e := range r.events {
		prev, ok := last[e.Value.Index]
		switch e.Kind {
		case watch.Added:
			if ok {
				t.Errorf("Added %s, which the events already hold: %+v", e.Value.Name, prev)
			}
			last[e.Value.Index] = e.Value
		case watch.Changed:
			if !ok || prev != e.Old {
				t.Errorf("Changed %s from\n  %+v\nbut the events left it\n  %+v (present %v)", e.Value.Name, e.Old, prev, ok)
			}
			last[e.Value.Index] = e.Value
		case watch.Deleted:
			if !ok || prev != e.Value {
				t.Errorf("Deleted %s as\n  %+v\nbut the events left it\n  %+v (present %v)", e.Value.Name, e.Value, prev, ok)
			}
			delete(last, e.Value.Index)
		}
	}
	if got, _ := w.Table().Snapshot(); !maps.Equal(got, last) {
		t.Errorf("the events leave %d links, the table holds %d", len(last), len(got))
	}
}

func linkIndexOf(t *testing.T, links map[uint32]rtnl.Link, name string) uint32 {
	t.Helper()
	for i, l := range links {
		if l.Name.String() == name {
			return i
		}
	}
	t.Fatalf("no link %s", name)
	return 0
}

// A bridge reports each port in AF_BRIDGE messages of its own, an
// RTM_DELLINK among them when the port leaves (`nomaster`, or the bridge
// is deleted): the port's table entry must stay the link's, and no Deleted
// event may say the port is gone.
func TestLinksTableIgnoresBridgePortMessages(t *testing.T) {
	ns := nstest.New(t)
	w := newLinkWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	ns.Veth("v0", "v1")
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("link", "set", "br0", "up")
	linksConverge(t, w, ns)
	v0 := linkIndexOf(t, kernelLinks(t, ns), "v0")
	for _, step := range [][]string{
		{"link", "set", "v0", "master", "br0"},
		{"link", "set", "v0", "nomaster"},
		{"link", "set", "v0", "master", "br0"},
		{"link", "del", "br0"},
	} {
		ns.IP(step...)
		linksConverge(t, w, ns)
	}
	linkEventsAgree(t, w, r)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		switch {
		case e.Kind == watch.Deleted && e.Value.Index == v0:
			t.Errorf("Deleted event for v0, which was never deleted: %+v", e.Value)
		case (e.Kind == watch.Added || e.Kind == watch.Changed) && e.Value.Family != rtnl.FamilyAll:
			t.Errorf("%v event with a %v message as the link: %+v", e.Kind, e.Value.Family, e.Value)
		}
	}
}

// The kernel announces the first end of a veth pair before it joins the
// pair (its IFLA_LINK is 0) and never again until something changes; the
// second end's notification names the first.
func TestLinksKnowTheFirstPeerOfAVethPair(t *testing.T) {
	ns := nstest.New(t)
	w := newLinkWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	ns.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	linksConverge(t, w, ns)
	links, _ := w.Table().Snapshot()
	v0, v1 := linkIndexOf(t, links, "v0"), linkIndexOf(t, links, "v1")
	if links[v0].Link != v1 || links[v1].Link != v0 {
		t.Errorf("v0 (%d) names %d as its peer, v1 (%d) names %d", v0, links[v0].Link, v1, links[v1].Link)
	}
	// The event stream says so too: the last word on v1 names v0.
	r.waitFor(t, "v1 naming v0", has(watch.Changed, func(l rtnl.Link) bool { return l.Index == v1 && l.Link == v0 }))
	linkEventsAgree(t, w, r)
}

// ifi_change in a notification says what changed in that notification
// (all ones for a new link); a dump has 0. Kept in the table, it made the
// next resync report every link as changed.
func TestLinksTableHoldsNoChangeMask(t *testing.T) {
	ns := nstest.New(t)
	w := newLinkWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	ns.Veth("v0", "v1")
	ns.IP("link", "set", "v0", "promisc", "on")
	ns.IP("link", "set", "v1", "mtu", "1400")
	r.waitFor(t, "the MTU change", has(watch.Changed, func(l rtnl.Link) bool { return l.Name.String() == "v1" && l.MTU == 1400 }))
	links, _ := w.Table().Snapshot()
	for _, l := range links {
		if l.Change != 0 {
			t.Errorf("%s: Change %#x in the table", l.Name, l.Change)
		}
	}
	linksConverge(t, w, ns)
}

// When one end of a veth pair moves to another namespace, the end left
// behind gets no notification, though its peer is now an index in another
// namespace; the DELLINK of the end that leaves says where it goes. When
// it comes back, its notification names the end that stayed.
func TestLinksFollowAVethPeerToAnotherNamespaceAndBack(t *testing.T) {
	ns, other := nstest.New(t), nstest.New(t)
	w := newLinkWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	wo := newLinkWatcher(t, other)
	ro := record(t, wo, nil)
	ro.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	ns.Veth("v0", "v1")
	linksConverge(t, w, ns)
	for range 2 {
		ns.IP("link", "set", "v1", "netns", other.Path())
		linksConverge(t, w, ns)
		linksConverge(t, wo, other)
		links, _ := w.Table().Snapshot()
		v0 := links[linkIndexOf(t, links, "v0")]
		if id, ok := v0.LinkNetNSID(); !ok {
			t.Errorf("v0's peer is in another namespace, the watcher says %d, %v", id, ok)
		}
		other.IP("link", "set", "v1", "netns", ns.Path())
		linksConverge(t, w, ns)
		linksConverge(t, wo, other)
	}
	if st := w.Stats(); st.Resyncs != 0 {
		t.Errorf("%d resyncs: the moves should be followed from the notifications", st.Resyncs)
	}
	linkEventsAgree(t, w, r)
	linkEventsAgree(t, wo, ro)
}

// A macvlan keeps its lower device when that device moves to another
// namespace: the kernel then names it by its index there, and by its index
// here again when it comes back, without a notification for the macvlan.
func TestLinksFollowTheLowerDeviceOfAMacvlanToAnotherNamespaceAndBack(t *testing.T) {
	ns, other := nstest.New(t), nstest.New(t)
	w := newLinkWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	ns.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns.IP("link", "add", "mv0", "link", "v1", "type", "macvlan", "mode", "bridge")
	ns.IP("link", "add", "mv1", "link", "v0", "type", "macvlan", "mode", "bridge")
	linksConverge(t, w, ns)
	for range 2 {
		ns.IP("link", "set", "v1", "netns", other.Path())
		linksConverge(t, w, ns)
		other.IP("link", "set", "v1", "netns", ns.Path())
		linksConverge(t, w, ns)
	}
	linkEventsAgree(t, w, r)
}
