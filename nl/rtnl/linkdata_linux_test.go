//go:build linux

package rtnl_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

func TestAltNamesAddAndDeleteAsIPShows(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("n", rtnl.AltNameLen-1)
	ipAltNames := func() []string {
		var out []string
		for _, a := range ipJSON(t, ns, "link", "show", "dev", "v0")[0]["altnames"].([]any) {
			out = append(out, a.(string))
		}
		return out
	}
	ours := func() []string {
		l, err := rtnl.LinkByIndex(ctx, c, v0.Index)
		if err != nil {
			t.Fatal(err)
		}
		return l.AltNames()
	}

	if err := rtnl.AddAltNames(ctx, c, v0.Index, "uplink", long); err != nil {
		t.Fatal(err)
	}
	if got, want := ours(), ipAltNames(); !slices.Equal(got, want) || len(got) != 2 {
		t.Fatalf("AltNames %q, ip %q", got, want)
	}
	// The kernel resolves an alternative name as it does the name.
	if l, err := rtnl.LinkByName(ctx, c, "uplink"); err != nil || l.Index != v0.Index {
		t.Errorf("LinkByName(uplink) = %d, %v; want v0's %d", l.Index, err, v0.Index)
	}
	for _, taken := range []string{"uplink", "v1"} {
		if err := rtnl.AddAltNames(ctx, c, v0.Index, taken); !errors.Is(err, unix.EEXIST) {
			t.Errorf("AddAltNames(%q), a name taken: %v, want EEXIST", taken, err)
		}
	}
	if err := rtnl.DeleteAltNames(ctx, c, v0.Index, "uplink"); err != nil {
		t.Fatal(err)
	}
	if got, want := ours(), ipAltNames(); !slices.Equal(got, want) || !slices.Equal(got, []string{long}) {
		t.Fatalf("after DeleteAltNames: AltNames %q, ip %q", got, want)
	}
	if err := rtnl.DeleteAltNames(ctx, c, v0.Index, "uplink"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("DeleteAltNames of a name the link lacks: %v, want ENOENT", err)
	}
	if err := rtnl.AddAltNames(ctx, c, 9999, "x"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("AddAltNames on a missing link: %v, want ENODEV", err)
	}
}

// within reports whether every counter of s lies between those of lo
// and hi.
func within(lo, s, hi *rtnl.LinkStats) bool {
	a, b, c := reflect.ValueOf(lo).Elem(), reflect.ValueOf(s).Elem(), reflect.ValueOf(hi).Elem()
	for i := range b.NumField() {
		if b.Field(i).Uint() < a.Field(i).Uint() || b.Field(i).Uint() > c.Field(i).Uint() {
			return false
		}
	}
	return true
}

// RTM_GETSTATS gives the counters of the link dump, which move between
// two dumps: each of ours lies between a dump before and one after, and
// so do ip's.
func TestLinkStatsMatchTheLinkDumpAndIP(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1") // with IPv6 link-local addresses: DAD and MLD send packets
	c := ns.Dial()
	ctx := testCtx(t)
	v0, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s, err := rtnl.GetLinkStats(ctx, c, v0.Index)
		if err != nil {
			t.Fatal(err)
		}
		if s.TxPackets > 0 && s.TxBytes > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("v0 sent nothing in 10 s: %+v", s)
		}
	}
	index := func(ls []rtnl.Link) map[uint32]*rtnl.LinkStats {
		m := map[uint32]*rtnl.LinkStats{}
		for i := range ls {
			if !ls[i].HasStats {
				t.Fatalf("%s: no IFLA_STATS64", ls[i].Name)
			}
			m[ls[i].Index] = &ls[i].Stats
		}
		return m
	}
	links, err := rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	before := index(links)
	all, err := rtnl.ListLinkStats(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	one, err := rtnl.GetLinkStats(ctx, c, v0.Index)
	if err != nil {
		t.Fatal(err)
	}
	ipLinks := ipJSON(t, ns, "-s", "-s", "link", "show")
	links, err = rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	after := index(links)

	if len(all) != len(before) {
		t.Fatalf("ListLinkStats: %d links, the link dump %d", len(all), len(before))
	}
	for i := range all {
		s := &all[i]
		if !s.HasLink64 || s.Mask != rtnl.StatsLink64 || before[s.Index] == nil {
			t.Fatalf("ListLinkStats entry %+v", s)
		}
		if !within(before[s.Index], &s.Link64, after[s.Index]) {
			t.Errorf("link %d: RTM_GETSTATS %+v outside the link dumps' %+v … %+v", s.Index, s.Link64, before[s.Index], after[s.Index])
		}
	}
	if !within(before[v0.Index], &one, after[v0.Index]) {
		t.Errorf("GetLinkStats(v0) %+v outside the link dumps' %+v … %+v", one, before[v0.Index], after[v0.Index])
	}
	for _, j := range ipLinks {
		i := uint32(j["ifindex"].(float64))
		st := j["stats64"].(map[string]any)
		rx, tx := st["rx"].(map[string]any), st["tx"].(map[string]any)
		for _, f := range []struct {
			ip     float64
			lo, hi uint64
			what   string
		}{
			{rx["bytes"].(float64), before[i].RxBytes, after[i].RxBytes, "rx bytes"},
			{rx["packets"].(float64), before[i].RxPackets, after[i].RxPackets, "rx packets"},
			{rx["multicast"].(float64), before[i].Multicast, after[i].Multicast, "multicast"},
			{tx["bytes"].(float64), before[i].TxBytes, after[i].TxBytes, "tx bytes"},
			{tx["packets"].(float64), before[i].TxPackets, after[i].TxPackets, "tx packets"},
			{tx["dropped"].(float64), before[i].TxDropped, after[i].TxDropped, "tx dropped"},
		} {
			if uint64(f.ip) < f.lo || uint64(f.ip) > f.hi {
				t.Errorf("%s %s: ip %v, ours %d … %d", j["ifname"], f.what, f.ip, f.lo, f.hi)
			}
		}
	}

	if _, err := rtnl.GetLinkStats(ctx, c, 9999); !errors.Is(err, unix.ENODEV) {
		t.Errorf("GetLinkStats of a missing link: %v, want ENODEV", err)
	}
}

// A link from a dump is a template for AddLink: the request leaves out
// what the kernel reports, and the offload limits it keeps are applied.
func TestAddLinkFromADumpedTemplate(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	tmpl, err := rtnl.LinkByName(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	if !tmpl.HasStats || tmpl.MaxMTU == 0 || tmpl.TSOMaxSize == 0 || tmpl.NumTxQueues == 0 {
		t.Fatalf("v0 lacks the details a template should carry: %+v", tmpl)
	}
	tmpl.Index, tmpl.Name, tmpl.Address, tmpl.Flags, tmpl.Change = 0, rtnl.MakeName("v8"), rtnl.HardwareAddr{}, 0, 0
	tmpl.Link = 0
	tmpl.GSOMaxSize, tmpl.GSOMaxSegs = 32768, 1000
	if err := rtnl.AddLink(ctx, c, tmpl, rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("v9")}}); err != nil {
		t.Fatal(err)
	}
	j := ipJSON(t, ns, "-d", "link", "show", "dev", "v8")[0]
	if str(j["gso_max_size"]) != "32768" || str(j["gso_max_segs"]) != "1000" {
		t.Errorf("ip shows gso_max_size %v, gso_max_segs %v; want 32768 and 1000", j["gso_max_size"], j["gso_max_segs"])
	}
	l, err := rtnl.LinkByName(ctx, c, "v8")
	if err != nil || l.GSOMaxSize != 32768 || l.GSOMaxSegs != 1000 {
		t.Errorf("v8: GSOMaxSize %d, GSOMaxSegs %d, %v", l.GSOMaxSize, l.GSOMaxSegs, err)
	}
}

// Asking for the virtual functions changes nothing on links that have
// none (a veth): the dump still matches the one without.
func TestLinkDumpWithVFMatchesTheDumpWithout(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	plain, err := rtnl.ListLinks(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	vf, err := rtnl.ListLinksMatching(ctx, c, rtnl.LinkFilter{VF: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(vf) != len(plain) {
		t.Fatalf("%d links with VF, %d without", len(vf), len(plain))
	}
	for i := range vf {
		if !vf[i].Equal(&plain[i]) || vf[i].NumVF != 0 {
			t.Errorf("with VF %+v\nwithout %+v", vf[i], plain[i])
		}
	}
}
