//go:build linux

package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// bridgeFDBHeld returns what `bridge -j fdb show` lists of the entries an
// FDB watcher holds (the bridges', and the VXLAN devices' own: here the
// devices named vx*), one line each, sorted: a multiset.
func bridgeFDBHeld(t *testing.T, ns *nstest.NS) []string {
	t.Helper()
	out, err := ns.Cmd("bridge", "-j", "fdb", "show").Output()
	if err != nil {
		t.Fatalf("bridge -j fdb show: %v", err)
	}
	var v []map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("bridge -j fdb show: %v: %s", err, out)
	}
	lines := []string{}
	for _, j := range v {
		var flags []string
		if fs, ok := j["flags"].([]any); ok {
			for _, f := range fs {
				flags = append(flags, f.(string))
			}
		}
		s := func(k string) string {
			switch x := j[k].(type) {
			case nil:
				return ""
			case float64:
				return fmt.Sprint(uint64(x))
			default:
				return fmt.Sprint(x)
			}
		}
		self := slices.Contains(flags, "self")
		if !(s("master") != "" && !self) && !(self && strings.HasPrefix(s("ifname"), "vx")) {
			continue
		}
		state := s("state")
		if state == "stale" {
			state = "" // the watcher does not follow ageing
		}
		lines = append(lines, fmt.Sprintf("%s dev=%s vlan=%s dst=%s port=%s vni=%s src_vni=%s via=%s nhid=%s flags=%s master=%s state=%s",
			s("mac"), s("ifname"), s("vlan"), s("dst"), s("port"), s("vni"), s("src_vni"), s("viaIf"), s("nhid"),
			strings.Join(flags, ","), s("master"), state))
	}
	slices.Sort(lines)
	return lines
}

func numOrEmpty[T uint16 | uint32](v T) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(v)
}

// tableFDB renders the watcher's entries as bridgeFDBHeld does.
func tableFDB(t *testing.T, c *nl.Conn, w *watch.FDBWatcher) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	links, err := rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	known := map[uint32]string{}
	for _, l := range links {
		known[l.Index] = l.Name.String()
	}
	// bridge prints a link that is gone (a VXLAN remote's device) as ifN.
	names := func(i uint32) string {
		if n, ok := known[i]; ok || i == 0 {
			return n
		}
		return fmt.Sprintf("if%d", i)
	}
	lines := []string{}
	for _, e := range w.Table().Values() {
		dst := ""
		if e.Dst.IsValid() {
			dst = e.Dst.String()
		}
		state := e.StateName()
		if state == "stale" {
			state = ""
		}
		lines = append(lines, fmt.Sprintf("%s dev=%s vlan=%s dst=%s port=%s vni=%s src_vni=%s via=%s nhid=%s flags=%s master=%s state=%s",
			e.MAC, names(e.Index), numOrEmpty(e.VLAN), dst, numOrEmpty(e.Port), numOrEmpty(e.VNI), numOrEmpty(e.SrcVNI),
			names(e.Via), numOrEmpty(e.NHID), strings.Join(e.FlagNames(), ","), names(e.Master), state))
	}
	slices.Sort(lines)
	return lines
}

// sameFDB waits until the watcher's table equals bridge fdb show's held
// entries, as multisets.
func sameFDB(t *testing.T, ns *nstest.NS, c *nl.Conn, w *watch.FDBWatcher, r *recorder[rtnl.FDBEntry], step string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		want, got := bridgeFDBHeld(t, ns), tableFDB(t, c, w)
		if slices.Equal(want, got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s:\nbridge fdb show:\n  %s\nwatcher:\n  %s", step, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
		}
		r.waitChange(t, 50*time.Millisecond)
	}
}

func newFDBWatcher(t *testing.T, ns *nstest.NS, opts ...watch.Option) *watch.FDBWatcher {
	t.Helper()
	w, err := watch.FDB(append([]watch.Option{watch.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func runBridge(t *testing.T, ns *nstest.NS, args ...string) {
	t.Helper()
	if out, err := ns.Cmd("bridge", args...).CombinedOutput(); err != nil {
		t.Fatalf("bridge %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// fdbLinks makes, without IPv6 addresses (whose multicast groups would
// change the address lists), a bridge br0, veth ports-to-be v0 and v2 that
// share the address 02:00:00:00:00:10 (their peers v1, v3 stay out), and a
// VXLAN device vx0.
func fdbLinks(t *testing.T, ns *nstest.NS) {
	t.Helper()
	ns.Batch([]string{
		"link add br0 type bridge",
		"link add v0 address 02:00:00:00:00:10 type veth peer name v1",
		"link add v2 address 02:00:00:00:00:10 type veth peer name v3",
		"link add vx0 type vxlan id 42 dstport 4789 local 10.0.0.1 nolearning",
	})
	for _, l := range []string{"br0", "v0", "v1", "v2", "v3", "vx0"} {
		ns.IP("link", "set", l, "addrgenmode", "none")
		ns.IP("link", "set", l, "up")
	}
}

// The FDB watcher equals bridge fdb show after each step of a scenario
// that takes the kernel through its silent rules: ports that share an
// address join (the second adds no entry), the bridge's address is set
// and set back, a port leaves while another holds its address (its local
// entry moves to that port without a notification), that port changes
// its address while the bridge has the old one (the entry moves to the
// bridge), a port is deleted while another has its address (the entry
// moves to that one), VXLAN remotes come, change state, are appended and replaced,
// the bridge is deleted with its entries, a VXLAN device with its own.
// Two verifications at the end change nothing: the watcher followed the
// kernel by its own rules.
func TestFDBFollowsBridgeFDBShow(t *testing.T) {
	ns := nstest.New(t)
	fdbLinks(t, ns)
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	w := newFDBWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.FDBEntry](watch.SnapshotComplete, nil))
	sameFDB(t, ns, c, w, r, "the snapshot")
	for _, step := range []string{
		"ip link set v0 master br0",
		"ip link set v2 master br0",
		"bridge fdb add 02:00:00:00:00:01 dev v0 master static",
		"bridge fdb add 02:00:00:00:00:02 dev v2 master dynamic",
		"bridge fdb add 02:00:00:00:00:03 dev v2 master permanent",
		"bridge fdb replace 02:00:00:00:00:02 dev v0 master static", // moves to v0
		"ip link set br0 address 02:00:00:00:00:40",
		"ip link set br0 address 02:00:00:00:00:10",
		"ip link set v0 nomaster",                                // its local entry moves to v2, silently
		"ip link set v2 address 02:00:00:00:00:60",               // and from v2 to the bridge, silently
		"ip link set v0 master br0",                              // v0's address is the bridge's: no new entry
		"ip link set br0 address 02:00:00:00:00:41",              // the bridge's old entry moves to v0, silently
		"bridge fdb add 02:00:00:00:00:07 dev v2 self permanent", // an address list's: not held
		"ip neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev v1",  // an ARP entry: not held
		"ip link set v2 down",                                    // its dynamic entries go
		"ip link set v2 up",
		"ip link set vx0 master br0",
		"bridge fdb add 02:00:00:00:00:05 dev vx0 master static",
		"bridge fdb add 00:00:00:00:00:00 dev vx0 dst 10.0.0.2 vni 7 port 4790 via v1 self permanent",
		"bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.3 self",
		"bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.4 self",
		"bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.3 self static", // the state of all three, announced with the first
		"bridge fdb del 00:00:00:00:00:00 dev vx0 dst 10.0.0.4 self",
		"bridge fdb add 02:00:00:00:00:06 dev vx0 dst 10.0.0.5 self",
		"bridge fdb replace 02:00:00:00:00:06 dev vx0 dst 10.0.0.6 self", // the remote replaced, not added
		"ip link set v2 address 02:00:00:00:00:10",                       // v0 holds that entry already: none added
		"ip link del v0", // its local entry moves to v2, silently
		"ip link set v2 nomaster",
		"ip link del br0",
		"ip link del vx0",
	} {
		f := strings.Fields(step)
		if f[0] == "ip" {
			ns.IP(f[1:]...)
		} else {
			runBridge(t, ns, f[1:]...)
		}
		sameFDB(t, ns, c, w, r, step)
	}
	// A verification the last steps asked for (see FDB) may still be
	// delivering its events: one more, awaited, settles them.
	if err := w.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	changes := len(r.snapshot())
	for range 2 {
		if err := w.Resync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Repairs != 0 || st.Collisions != 0 || st.Overruns != 0 || st.Ignored < 2 {
		t.Errorf("stats %+v: want no repair, collision or overrun, and the address list's and ARP entries ignored", st)
	}
	for _, e := range r.snapshot()[changes:] {
		if e.IsChange() {
			t.Errorf("a verification changed the table: %v %v", e.Kind, &e.Value)
		}
	}
	synthetic := 0
	for _, e := range r.snapshot() {
		if e.IsChange() && e.Synthetic {
			synthetic++
		}
	}
	if synthetic == 0 {
		t.Error("no Synthetic event: the silent moves were not applied by the watcher's rules")
	}
}

// After an overrun (a 4 KiB buffer and a stalled subscriber while
// hundreds of entries come and go, a port leaves and the bridge changes
// its address), the resync leaves the table equal to bridge fdb show.
func TestFDBResyncAfterOverrunConverges(t *testing.T) {
	ns := nstest.New(t)
	fdbLinks(t, ns)
	ns.IP("link", "set", "v0", "master", "br0")
	ns.IP("link", "set", "v2", "master", "br0")
	batch := func(verb string, from, n int) {
		var b strings.Builder
		for i := from; i < from+n; i++ {
			dev := []string{"v0", "v2"}[i%2]
			fmt.Fprintf(&b, "fdb %s 02:00:00:01:%02x:%02x dev %s master static\n", verb, i/256, i%256, dev)
		}
		cmd := ns.Cmd("bridge", "-batch", "-")
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("bridge -batch: %v: %s", err, out)
		}
	}
	batch("add", 0, 100)
	c := ns.Dial()
	w := newFDBWatcher(t, ns, watch.WithReadBuffer(4096))
	gate := make(chan struct{})
	r := record(t, w, gate)
	r.waitFor(t, "the snapshot", has[rtnl.FDBEntry](watch.SnapshotComplete, nil))
	sameFDB(t, ns, c, w, r, "the snapshot")

	runBridge(t, ns, "fdb", "add", "02:00:00:00:00:77", "dev", "v0", "master", "static") // the subscriber stalls on this one
	r.waitFor(t, "the stalled event", has(watch.Added, func(e rtnl.FDBEntry) bool { return e.MAC.String() == "02:00:00:00:00:77" }))
	batch("del", 0, 50)
	batch("add", 200, 300)
	ns.IP("link", "set", "v0", "nomaster")
	ns.IP("link", "set", "br0", "address", "02:00:00:00:00:42")
	close(gate)
	r.waitFor(t, "the resync", has[rtnl.FDBEntry](watch.ResyncComplete, nil))
	runBridge(t, ns, "fdb", "add", "02:00:00:00:00:78", "dev", "v2", "master", "static")
	r.waitFor(t, "the sentinel", has(watch.Added, func(e rtnl.FDBEntry) bool { return e.MAC.String() == "02:00:00:00:00:78" }))
	if st := w.Stats(); st.Overruns == 0 || st.Resyncs == 0 {
		t.Fatalf("no overrun with a 4 KiB buffer and a stalled subscriber: %+v", st)
	}
	sameFDB(t, ns, c, w, r, "the resync")
}

// The keys tell apart what the kernel does: a bridge entry by bridge, MAC
// and VLAN (not by port), a VXLAN remote by its device, MAC and remote.
func TestFDBKeyOf(t *testing.T) {
	mac, _ := rtnl.ParseHardwareAddr("02:00:00:00:00:01")
	onV0 := rtnl.FDBEntry{Index: 3, Master: 2, MAC: mac, State: rtnl.NeighNoARP}
	onV2 := onV0
	onV2.Index = 5
	if watch.FDBKeyOf(&onV0) != watch.FDBKeyOf(&onV2) {
		t.Error("a bridge entry on another port has another key")
	}
	vlan := onV0
	vlan.VLAN = 10
	if watch.FDBKeyOf(&onV0) == watch.FDBKeyOf(&vlan) {
		t.Error("a bridge entry of another VLAN has the same key")
	}
	r1 := rtnl.FDBEntry{Index: 7, MAC: mac, Flags: rtnl.NeighFlagSelf, Dst: netip.MustParseAddr("10.0.0.2"), HasCacheInfo: true}
	r2 := r1
	r2.Dst = netip.MustParseAddr("10.0.0.3")
	if watch.FDBKeyOf(&r1) == watch.FDBKeyOf(&r2) {
		t.Error("two remotes of one VXLAN entry have the same key")
	}
	if watch.FDBKeyOf(&r1) == watch.FDBKeyOf(&onV0) {
		t.Error("a VXLAN entry and a bridge entry have the same key")
	}
}

// A random sequence of port and entry changes on a bridge whose ports
// share a few addresses: ports join, leave, go down and up and change
// their address; the bridge changes its own; static and dynamic entries
// are added, replaced onto other ports and deleted. After each change the
// watcher equals bridge fdb show; at the end two verifications change
// nothing.
// debugFDB logs each step's events in TestFDBFollowsRandomChanges.
var debugFDB = false

func TestFDBFollowsRandomChanges(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { fdbRandomChanges(t, seed) })
	}
}

func fdbRandomChanges(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 14))
	ns := nstest.New(t)
	macs := []string{"02:00:00:00:00:10", "02:00:00:00:00:11", "02:00:00:00:00:12"}
	ports := []string{"v0", "v2", "v4"}
	lines := []string{"link add br0 type bridge"}
	for i, p := range ports {
		lines = append(lines, fmt.Sprintf("link add %s address %s type veth peer name p%d", p, macs[i%2], i))
	}
	ns.Batch(lines)
	for _, l := range []string{"br0", "v0", "v2", "v4", "p0", "p1", "p2"} {
		ns.IP("link", "set", l, "addrgenmode", "none")
		ns.IP("link", "set", l, "up")
	}
	for _, p := range ports {
		ns.IP("link", "set", p, "master", "br0")
	}
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	w := newFDBWatcher(t, ns)
	r := record(t, w, nil)
	r.waitFor(t, "the snapshot", has[rtnl.FDBEntry](watch.SnapshotComplete, nil))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	refused := 0
	for i := range 100 {
		var step string
		switch op := rng.IntN(10); {
		case op < 2:
			step = "ip link set " + pick(ports...) + " " + pick("master br0", "master br0", "nomaster")
		case op < 4:
			step = "ip link set " + pick(ports...) + " address " + pick(macs...)
		case op < 5:
			step = "ip link set br0 address " + pick(append(macs, "02:00:00:00:00:40")...)
		case op < 6:
			step = "ip link set " + pick(ports...) + " " + pick("down", "up")
		default:
			station := pick("02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:01:03")
			step = fmt.Sprintf("bridge fdb %s %s dev %s master %s", pick("add", "replace", "del"), station, pick(ports...),
				pick("static", "dynamic"))
		}
		f := strings.Fields(step)
		n0 := len(r.snapshot())
		if ns.Cmd(f[0], f[1:]...).Run() != nil {
			refused++ // a port not enslaved, EEXIST…: part of the game
		}
		sameFDB(t, ns, c, w, r, fmt.Sprintf("step %d: %s", i, step))
		if debugFDB {
			t.Logf("step %d: %s", i, step)
			for _, e := range r.snapshot()[n0:] {
				t.Logf("   %v synthetic=%v %v (old %v)", e.Kind, e.Synthetic, &e.Value, &e.Old)
			}
		}
	}
	// A verification the last steps asked for (see FDB) may still be
	// delivering its events: one more, awaited, settles them.
	if err := w.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	changes := len(r.snapshot())
	for range 2 {
		if err := w.Resync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range r.snapshot()[changes:] {
		if e.IsChange() {
			t.Errorf("a verification changed the table: %v %v", e.Kind, &e.Value)
		}
	}
	st := w.Stats()
	if st.Repairs != 0 || st.Collisions != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d entries at the end; %d added, %d changed, %d deleted; %d steps refused", w.Table().Len(), st.Added, st.Changed, st.Deleted, refused)
}
