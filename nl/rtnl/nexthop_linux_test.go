//go:build linux

package rtnl_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// needNexthops skips the test on a kernel without nexthop objects (Linux
// before 5.3 answers RTM_GETNEXTHOP with EOPNOTSUPP).
func needNexthops(t *testing.T, ctx context.Context, c *nl.Conn) {
	t.Helper()
	if _, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{}); errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("kernel without nexthop objects (RTM_GETNEXTHOP, Linux 5.3): %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// nexthopFlagNames are the nh_flags that ip -j lists, by its names.
var nexthopFlagNames = []struct {
	bit  uint32
	name string
}{{rtnl.RouteFlagDead, "dead"}, {rtnl.RouteFlagOnlink, "onlink"}, {rtnl.RouteFlagLinkDown, "linkdown"}}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// nexthopLine is the comparable form of a nexthop used to check dumps
// against `ip -d -j nexthop`: the fields both show, in the same notation.
// The unbalanced time of a resilient group is left out: it is state that
// moves between the two dumps.
func nexthopLine(n *rtnl.Nexthop, names map[uint32]string) string {
	var members, flags []string
	for _, m := range n.Group {
		members = append(members, fmt.Sprintf("%d*%d", m.ID, m.Weight))
	}
	for _, f := range nexthopFlagNames {
		if n.Flags&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	typ, res := "", ""
	if n.GroupType != rtnl.NexthopGroupMultipath {
		typ = n.GroupType.String()
	}
	if n.GroupType == rtnl.NexthopGroupResilient {
		res = fmt.Sprintf("%d/%s/%s", n.Resilient.Buckets, seconds(n.Resilient.IdleTimer), seconds(n.Resilient.UnbalancedTimer))
	}
	return fmt.Sprintf("id=%d gw=%s dev=%s scope=%s proto=%s flags=%s blackhole=%v fdb=%v group=%v type=%s res=%s",
		n.ID, addrStr(n.Gateway), names[n.OIF], n.Scope, n.Protocol, strings.Join(flags, ","), n.Blackhole, n.FDB,
		members, typ, res)
}

// ipNexthopLine is nexthopLine for a nexthop as `ip -d -j nexthop` prints it.
func ipNexthopLine(j map[string]any) string {
	var members, flags []string
	if g, ok := j["group"].([]any); ok {
		for _, m := range g {
			m := m.(map[string]any)
			members = append(members, fmt.Sprintf("%s*%s", str(m["id"]), or(str(m["weight"]), "1")))
		}
	}
	for _, f := range j["flags"].([]any) {
		flags = append(flags, f.(string))
	}
	res := ""
	if r, ok := j["resilient_args"].(map[string]any); ok {
		num := func(k string) string { return strconv.FormatFloat(r[k].(float64), 'f', -1, 64) }
		res = fmt.Sprintf("%s/%s/%s", num("buckets"), num("idle_timer"), num("unbalanced_timer"))
	}
	_, blackhole := j["blackhole"]
	_, fdb := j["fdb"]
	return fmt.Sprintf("id=%s gw=%s dev=%s scope=%s proto=%s flags=%s blackhole=%v fdb=%v group=%v type=%s res=%s",
		str(j["id"]), str(j["gateway"]), str(j["dev"]), str(j["scope"]), str(j["protocol"]), strings.Join(flags, ","),
		blackhole, fdb, members, str(j["type"]), res)
}

// compareNexthops compares the library's nexthops with ip's, as multisets.
func compareNexthops(t *testing.T, what string, got []rtnl.Nexthop, names map[uint32]string, ns *nstest.NS, ipArgs ...string) {
	t.Helper()
	g, w := map[string]int{}, map[string]int{}
	for i := range got {
		g[nexthopLine(&got[i], names)]++
	}
	for _, j := range ipJSON(t, ns, append([]string{"-d"}, ipArgs...)...) {
		w[ipNexthopLine(j)]++
	}
	compareSets(t, what, g, w)
}

func ids(ns []rtnl.Nexthop) []uint32 {
	var out []uint32
	for _, n := range ns {
		out = append(out, n.ID)
	}
	slices.Sort(out)
	return out
}

// nexthopTable fills ns with nexthops of every shape ip can make, on veth
// links v0 and v1 (v1 enslaved to the bridge br0, for the master filter).
func nexthopTable(t *testing.T, ns *nstest.NS) {
	t.Helper()
	quietVeth(t, ns, "v0", "v1")
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("link", "set", "v1", "master", "br0")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
	settleLinks(t, ns)
	ns.IP("-6", "nexthop", "add", "id", "5", "blackhole")
	ns.Batch([]string{
		"nexthop add id 1 via 10.5.0.2 dev v0",
		"nexthop add id 2 dev v1",
		"nexthop add id 3 blackhole",
		"nexthop add id 4 via 2001:db8::2 dev v0",
		"nexthop add id 6 via 10.5.9.2 dev v0 onlink",
		"nexthop add id 7 via 10.5.0.3 dev v0 proto static",
		"nexthop add id 8 via 2001:db8::8 dev v0 proto bgp",
		"nexthop add id 10 group 1/2",
		"nexthop add id 11 group 1,3/2,5",
		"nexthop add id 12 group 1/2 type resilient buckets 8",
		"nexthop add id 13 group 1,2/7 type resilient buckets 32 idle_timer 10 unbalanced_timer 20",
		"nexthop add id 20 via 172.16.1.2 fdb",
		"nexthop add id 21 via 2001:db8:20::2 fdb",
		"nexthop add id 22 via 172.16.1.3 fdb",
		"nexthop add id 23 group 20/22 fdb",
	})
}

func TestNexthopDumpMatchesIPNexthop(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	nexthopTable(t, ns)
	names := linkNames(t, ctx, c)

	all, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 16 {
		t.Errorf("dumped %d nexthops, want the 16 added: %v", len(all), all)
	}
	compareNexthops(t, "nexthops", all, names, ns, "nexthop", "show")

	// The filters ip has, which the kernel applies.
	for _, tc := range []struct {
		f      rtnl.NexthopFilter
		ipArgs []string
	}{
		{rtnl.NexthopFilter{Family: rtnl.FamilyInet}, []string{"-4", "nexthop", "show"}},
		{rtnl.NexthopFilter{Family: rtnl.FamilyInet6}, []string{"-6", "nexthop", "show"}},
		{rtnl.NexthopFilter{Groups: true}, []string{"nexthop", "show", "groups"}},
		{rtnl.NexthopFilter{OIF: nameIndex(names, "v0")}, []string{"nexthop", "show", "dev", "v0"}},
		{rtnl.NexthopFilter{OIF: 1}, []string{"nexthop", "show", "dev", "lo"}},
		{rtnl.NexthopFilter{Master: nameIndex(names, "br0")}, []string{"nexthop", "show", "master", "br0"}},
	} {
		got, err := rtnl.ListNexthops(ctx, c, tc.f)
		if err != nil {
			t.Fatalf("%+v: %v", tc.f, err)
		}
		if len(got) == 0 {
			t.Errorf("filter %+v selected nothing", tc.f)
		}
		compareNexthops(t, fmt.Sprintf("nexthops of %+v", tc.f), got, names, ns, tc.ipArgs...)
	}

	// The kernel ignores NHA_FDB in a dump (ip nexthop show fdb lists
	// everything); the helpers apply it.
	fdb, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{FDB: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(fdb); !slices.Equal(got, []uint32{20, 21, 22, 23}) {
		t.Errorf("FDB filter: %v, want 20 21 22 23", got)
	}
	if fdbGroups, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{FDB: true, Groups: true}); err != nil || !slices.Equal(ids(fdbGroups), []uint32{23}) {
		t.Errorf("FDB groups: %v, %v; want 23", ids(fdbGroups), err)
	}
	for _, f := range []rtnl.NexthopFilter{{OIF: 999}, {Master: 999}, {Family: rtnl.FamilyInet6, Groups: true}} {
		if got, err := rtnl.ListNexthops(ctx, c, f); err != nil || len(got) != 0 {
			t.Errorf("filter %+v: %v, %v; want nothing and no error", f, got, err)
		}
	}

	// Match agrees with the kernel's filtering.
	for _, f := range []rtnl.NexthopFilter{{Family: rtnl.FamilyInet}, {Groups: true}, {OIF: 1}, {OIF: nameIndex(names, "v1")}} {
		var want []rtnl.Nexthop
		for i := range all {
			if f.Match(&all[i]) {
				want = append(want, all[i])
			}
		}
		got, err := rtnl.ListNexthops(ctx, c, f)
		if err != nil || !slices.Equal(ids(got), ids(want)) {
			t.Errorf("filter %+v: kernel %v (%v), Match %v", f, ids(got), err, ids(want))
		}
	}

	// One nexthop by ID, and a missing one.
	for _, want := range all {
		got, err := rtnl.NexthopByID(ctx, c, want.ID)
		if err != nil || !got.Equal(&want) {
			t.Errorf("NexthopByID(%d) = %v, %v; want %v", want.ID, got, err, want)
		}
	}
	if _, err := rtnl.NexthopByID(ctx, c, 999); !errors.Is(err, unix.ENOENT) {
		t.Errorf("NexthopByID of a missing id: %v, want ENOENT", err)
	}
}

func TestForEachNexthopStopsWhenTheCallbackFails(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	ns.Veth("v0", "v1")
	var lines []string
	for i := range 500 {
		lines = append(lines, fmt.Sprintf("nexthop add id %d dev v0", i+1))
	}
	ns.Batch(lines)
	stop := errors.New("enough")
	n := 0
	err := rtnl.ForEachNexthop(ctx, c, rtnl.NexthopFilter{}, func(*rtnl.Nexthop) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Fatalf("ForEachNexthop returned %v after %d nexthops; want the callback's error after 10", err, n)
	}
	if all, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{}); err != nil || len(all) != 500 {
		t.Fatalf("next dump: %d nexthops, %v; want 500", len(all), err)
	}
}

// ipNexthop returns the comparable form of the one nexthop ip shows for id.
func ipNexthop(t *testing.T, ns *nstest.NS, id uint32) string {
	t.Helper()
	js := ipJSON(t, ns, "-d", "nexthop", "show", "id", fmt.Sprint(id))
	if len(js) != 1 {
		t.Fatalf("ip nexthop show id %d: %d nexthops", id, len(js))
	}
	return ipNexthopLine(js[0])
}

func TestNexthopAddReplaceDeleteRoundTrip(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad")
	names := linkNames(t, ctx, c)
	v0, v1 := nameIndex(names, "v0"), nameIndex(names, "v1")
	gw := func(s string) rtnl.Nexthop { return rtnl.Nexthop{Gateway: addr(s), OIF: v0} }
	members := func(ms ...uint32) []rtnl.NexthopGroupMember {
		var g []rtnl.NexthopGroupMember
		for i := 0; i < len(ms); i += 2 {
			g = append(g, rtnl.NexthopGroupMember{ID: ms[i], Weight: uint16(ms[i+1])})
		}
		return g
	}

	// Each step adds (or replaces) one nexthop through the library; ip
	// must then show what the kernel reports to the library.
	for _, tc := range []struct {
		name    string
		n       rtnl.Nexthop
		replace bool
		want    string // ip's form, without the id
	}{
		{"ipv4 gateway", func() rtnl.Nexthop { n := gw("10.5.0.2"); n.ID = 1; return n }(), false,
			"gw=10.5.0.2 dev=v0 scope=link proto=unspec flags= blackhole=false fdb=false group=[] type= res="},
		{"device alone", rtnl.Nexthop{ID: 2, OIF: v1, Protocol: rtnl.ProtoStatic}, false,
			"gw= dev=v1 scope=host proto=static flags= blackhole=false fdb=false group=[] type= res="},
		{"ipv4 blackhole", rtnl.Nexthop{ID: 3, Blackhole: true}, false,
			"gw= dev= scope=global proto=unspec flags= blackhole=true fdb=false group=[] type= res="},
		{"ipv6 blackhole", rtnl.Nexthop{ID: 4, Family: rtnl.FamilyInet6, Blackhole: true}, false,
			"gw= dev= scope=global proto=unspec flags= blackhole=true fdb=false group=[] type= res="},
		{"ipv6 gateway", func() rtnl.Nexthop { n := gw("2001:db8::2"); n.ID = 5; return n }(), false,
			"gw=2001:db8::2 dev=v0 scope=link proto=unspec flags= blackhole=false fdb=false group=[] type= res="},
		{"on-link gateway (state flags and scope are dropped from the request)",
			rtnl.Nexthop{ID: 6, Gateway: addr("10.5.9.2"), OIF: v0, Scope: rtnl.ScopeLink, Flags: rtnl.RouteFlagOnlink | rtnl.RouteFlagDead}, false,
			"gw=10.5.9.2 dev=v0 scope=link proto=unspec flags=onlink blackhole=false fdb=false group=[] type= res="},
		{"group with weights", rtnl.Nexthop{ID: 10, Group: members(1, 3, 2, 5)}, false,
			"gw= dev= scope=global proto=unspec flags= blackhole=false fdb=false group=[1*3 2*5] type= res="},
		{"resilient group", rtnl.Nexthop{ID: 11, Group: members(1, 1, 2, 2), GroupType: rtnl.NexthopGroupResilient,
			Resilient: rtnl.NexthopResilient{Buckets: 16, IdleTimer: 10 * time.Second, UnbalancedTimer: 1500 * time.Millisecond, UnbalancedTime: time.Hour}}, false,
			"gw= dev= scope=global proto=unspec flags= blackhole=false fdb=false group=[1*1 2*2] type=resilient res=16/10/1.5"},
		{"fdb nexthop", rtnl.Nexthop{ID: 20, Gateway: addr("172.16.1.2"), FDB: true}, false,
			"gw=172.16.1.2 dev= scope=link proto=unspec flags= blackhole=false fdb=true group=[] type= res="},
		{"fdb nexthop 2", rtnl.Nexthop{ID: 21, Gateway: addr("172.16.1.3"), FDB: true}, false,
			"gw=172.16.1.3 dev= scope=link proto=unspec flags= blackhole=false fdb=true group=[] type= res="},
		{"fdb group", rtnl.Nexthop{ID: 22, Group: members(20, 1, 21, 1), FDB: true}, false,
			"gw= dev= scope=global proto=unspec flags= blackhole=false fdb=true group=[20*1 21*1] type= res="},
		{"replace a gateway", func() rtnl.Nexthop { n := gw("10.5.0.9"); n.ID = 1; return n }(), true,
			"gw=10.5.0.9 dev=v0 scope=link proto=unspec flags= blackhole=false fdb=false group=[] type= res="},
		{"replace a group's members", rtnl.Nexthop{ID: 10, Group: members(2, 1, 6, 7)}, true,
			"gw= dev= scope=global proto=unspec flags= blackhole=false fdb=false group=[2*1 6*7] type= res="},
		{"replace a resilient group's idle timer, keeping the rest", rtnl.Nexthop{ID: 11, Group: members(1, 1, 2, 2),
			GroupType: rtnl.NexthopGroupResilient, Resilient: rtnl.NexthopResilient{IdleTimer: 30 * time.Second}}, true,
			"gw= dev= scope=global proto=unspec flags= blackhole=false fdb=false group=[1*1 2*2] type=resilient res=16/30/1.5"},
		{"replace creates a missing nexthop", rtnl.Nexthop{ID: 30, OIF: v0}, true,
			"gw= dev=v0 scope=host proto=unspec flags= blackhole=false fdb=false group=[] type= res="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := rtnl.AddNexthop
			if tc.replace {
				op = rtnl.ReplaceNexthop
			}
			if err := op(ctx, c, tc.n); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("id=%d %s", tc.n.ID, tc.want)
			if got := ipNexthop(t, ns, tc.n.ID); got != want {
				t.Errorf("ip shows  %s\nwant      %s", got, want)
			}
			got, err := rtnl.NexthopByID(ctx, c, tc.n.ID)
			if err != nil {
				t.Fatal(err)
			}
			if line := nexthopLine(&got, names); line != want {
				t.Errorf("rtnl has  %s\nwant      %s", line, want)
			}
			if !tc.replace {
				if err := rtnl.AddNexthop(ctx, c, tc.n); !errors.Is(err, unix.EEXIST) {
					t.Errorf("adding it again: %v, want EEXIST", err)
				}
			}
		})
	}

	// What the kernel refuses comes back with its errno and text.
	for _, tc := range []struct {
		name string
		n    rtnl.Nexthop
	}{
		{"a single nexthop replaced by a group", rtnl.Nexthop{ID: 1, Group: members(2, 1)}},
		{"a resilient group's bucket count changed", rtnl.Nexthop{ID: 11, Group: members(1, 1), GroupType: rtnl.NexthopGroupResilient,
			Resilient: rtnl.NexthopResilient{Buckets: 32}}},
	} {
		var ne *nl.Error
		if err := rtnl.ReplaceNexthop(ctx, c, tc.n); !errors.Is(err, unix.EINVAL) || !errors.As(err, &ne) || ne.Message == "" {
			t.Errorf("%s: %v; want EINVAL with an extended-ACK message", tc.name, err)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	if err := rtnl.AddNexthop(ctx, c, rtnl.Nexthop{ID: 40, GroupType: rtnl.NexthopGroupResilient, Group: members(1, 1)}); !errors.Is(err, unix.EINVAL) {
		t.Errorf("a resilient group without buckets: %v, want EINVAL", err)
	}

	// An ID of 0 lets the kernel choose one.
	if err := rtnl.AddNexthop(ctx, c, rtnl.Nexthop{OIF: v1}); err != nil {
		t.Fatal(err)
	}
	if onV1, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{OIF: v1}); err != nil || len(onV1) != 2 {
		t.Fatalf("nexthops of v1 after adding one without an ID: %v, %v; want 2", onV1, err)
	}

	// Delete everything; a group is gone already once its last member is.
	all, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		if err := rtnl.DeleteNexthop(ctx, c, n.ID); err != nil && !(n.IsGroup() && errors.Is(err, unix.ENOENT)) {
			t.Errorf("delete %v: %v", n, err)
		}
	}
	if left := ipJSON(t, ns, "nexthop", "show"); len(left) != 0 {
		t.Errorf("ip shows %d nexthops after deleting them all: %v", len(left), left)
	}
	if err := rtnl.DeleteNexthop(ctx, c, 1); !errors.Is(err, unix.ENOENT) {
		t.Errorf("deleting a missing nexthop: %v, want ENOENT", err)
	}
}

func TestRoutesCarryTheirNexthopID(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	nexthopTable(t, ns)
	ns.Batch([]string{
		"route add 10.9.0.0/24 nhid 1",
		"route add 10.9.1.0/24 nhid 11",
		"route add 2001:db8:9::/64 nhid 4",
	})
	names := linkNames(t, ctx, c)
	v0 := nameIndex(names, "v0")
	find := func(dst string) *rtnl.Route {
		t.Helper()
		rs, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{Table: rtnl.TableMain})
		if err != nil {
			t.Fatal(err)
		}
		for i := range rs {
			if rs[i].Dst == pfx(dst) {
				return &rs[i]
			}
		}
		return nil
	}
	// With net.ipv4.nexthop_compat_mode 1 (the default) the kernel also
	// reports the object's next hops in the route.
	if r := find("10.9.0.0/24"); r == nil || r.NexthopID != 1 || r.Gateway != addr("10.5.0.2") || r.OIF != v0 {
		t.Errorf("route through nexthop 1: %v", r)
	}
	if r := find("10.9.1.0/24"); r == nil || r.NexthopID != 11 || len(r.Multipath) != 2 || r.Multipath[1].Weight != 5 {
		t.Errorf("route through group 11: %v", r)
	}
	if r := find("2001:db8:9::/64"); r == nil || r.NexthopID != 4 || r.Gateway != addr("2001:db8::2") {
		t.Errorf("route through nexthop 4: %v", r)
	}

	// Deleting a nexthop deletes the routes through it, and through a
	// group it leaves empty.
	if err := rtnl.ReplaceNexthop(ctx, c, rtnl.Nexthop{ID: 11, Group: []rtnl.NexthopGroupMember{{ID: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := rtnl.DeleteNexthop(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"10.9.0.0/24", "10.9.1.0/24"} {
		if r := find(dst); r != nil {
			t.Errorf("route %v left after its nexthop was deleted", r)
		}
	}
	if _, err := rtnl.NexthopByID(ctx, c, 11); !errors.Is(err, unix.ENOENT) {
		t.Errorf("group 11 after its last member was deleted: %v, want ENOENT", err)
	}
	if r := find("2001:db8:9::/64"); r == nil {
		t.Error("the IPv6 route through nexthop 4 went too")
	}
}

func TestNexthopNotifications(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	ev := ns.Dial(nl.WithGroups(rtnl.GroupNexthop))
	if err := ev.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	v0 := nameIndex(linkNames(t, ctx, c), "v0")
	next := func() (nl.Message, rtnl.Nexthop) {
		t.Helper()
		ms, err := ev.Receive()
		if err != nil || len(ms) != 1 {
			t.Fatalf("notification: %d messages, %v", len(ms), err)
		}
		n, err := rtnl.DecodeNexthop(ms[0])
		if err != nil {
			t.Fatal(err)
		}
		return ms[0], n
	}
	want := rtnl.Nexthop{ID: 1, Family: rtnl.FamilyInet, Scope: rtnl.ScopeLink, Gateway: addr("10.5.0.2"), OIF: v0}
	if err := rtnl.AddNexthop(ctx, c, want); err != nil {
		t.Fatal(err)
	}
	// The kernel copies the request's header flags (and its sequence
	// number and port id) into the notification.
	if m, n := next(); m.Header.Type != rtnl.TypeNewNexthop || !n.Equal(&want) || m.Header.Flags&nl.FlagExcl == 0 {
		t.Errorf("after AddNexthop: type %d, flags %#x, %v; want RTM_NEWNEXTHOP with NLM_F_EXCL, %v", m.Header.Type, m.Header.Flags, n, want)
	}
	want.Gateway = addr("10.5.0.3")
	if err := rtnl.ReplaceNexthop(ctx, c, want); err != nil {
		t.Fatal(err)
	}
	if m, n := next(); m.Header.Type != rtnl.TypeNewNexthop || !n.Equal(&want) || m.Header.Flags&nl.FlagReplace == 0 {
		t.Errorf("after ReplaceNexthop: type %d, flags %#x, %v; want RTM_NEWNEXTHOP with NLM_F_REPLACE, %v", m.Header.Type, m.Header.Flags, n, want)
	}
	if err := rtnl.DeleteNexthop(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	if m, n := next(); m.Header.Type != rtnl.TypeDelNexthop || !n.Equal(&want) {
		t.Errorf("after DeleteNexthop: type %d, %v; want RTM_DELNEXTHOP, %v", m.Header.Type, n, want)
	}
}

func TestNexthopsGoWithTheirDevicesCarrier(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	quietVeth(t, ns, "v0", "p0")
	quietVeth(t, ns, "v1", "p1")
	ns.IP("addr", "add", "10.5.0.1/24", "dev", "v0")
	ns.IP("addr", "add", "10.5.1.1/24", "dev", "v1")
	ns.Batch([]string{
		"nexthop add id 1 via 10.5.0.2 dev v0",
		"nexthop add id 2 via 10.5.1.2 dev v1",
		"nexthop add id 10 group 1/2",
		"nexthop add id 11 group 2",
	})
	// The kernel deletes the nexthops of a device that loses its carrier
	// (rather than flagging them linkdown, as it does routes), and takes
	// them out of their groups, deleting a group left empty.
	ns.IP("link", "set", "p1", "down")
	// The flush runs when the kernel's link watcher handles the carrier
	// change, a moment after ip returns.
	flushed := func(all []rtnl.Nexthop) bool {
		return slices.Equal(ids(all), []uint32{1, 10}) && slices.Equal(all[1].Group, []rtnl.NexthopGroupMember{{ID: 1, Weight: 1}})
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		all, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if flushed(all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after v1 lost its carrier: %v; want nexthop 1 and group 10 with member 1 only", all)
		}
	}
}

// TestWriteNexthopFuzzCorpus captures the kernel's nexthop messages and
// writes them as seed corpus files under testdata/fuzz/FuzzDecodeNexthop.
// It runs only when NLRX_WRITE_CORPUS=1:
//
//	NLRX_WRITE_CORPUS=1 go test -run TestWriteNexthopFuzzCorpus ./nl/rtnl/
func TestWriteNexthopFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	needNexthops(t, ctx, c)
	nexthopTable(t, ns)
	ms, err := c.Execute(ctx, rtnl.NexthopFilter{}.Request())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeNexthop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var written []string
	for _, m := range ms {
		sum := sha256.Sum256(m.Data)
		name := fmt.Sprintf("kernel-%x", sum[:8])
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m.Data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		written = append(written, name)
	}
	sort.Strings(written)
	t.Logf("FuzzDecodeNexthop: %d seeds from %d messages", len(slices.Compact(written)), len(ms))
}
