//go:build linux

package rtnl_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// ipLinkJSON returns ip -j -d's view of the link named name, or nil if ip
// does not know it.
func ipLinkJSON(t *testing.T, ns *nstest.NS, name string) map[string]any {
	t.Helper()
	for _, j := range ipJSON(t, ns, "-d", "link", "show") {
		if str(j["ifname"]) == name {
			return j
		}
	}
	return nil
}

// ipLinkByIndex returns ip -j -d's view of the link with the given index.
func ipLinkByIndex(t *testing.T, ns *nstest.NS, index uint32) map[string]any {
	t.Helper()
	for _, j := range ipJSON(t, ns, "-d", "link", "show") {
		if str(j["ifindex"]) == fmt.Sprint(index) {
			return j
		}
	}
	t.Fatalf("ip does not show a link with index %d", index)
	return nil
}

func ipFlags(j map[string]any) []string {
	var out []string
	for _, f := range j["flags"].([]any) {
		out = append(out, f.(string))
	}
	return out
}

func infoData(j map[string]any) map[string]any {
	li, _ := j["linkinfo"].(map[string]any)
	d, _ := li["info_data"].(map[string]any)
	return d
}

// want checks the JSON fields of a link against name → value pairs; a
// "flag:NAME" key checks that the flag is (true) or is not (false) shown.
func checkIPLink(t *testing.T, what string, j map[string]any, want map[string]any) {
	t.Helper()
	if j == nil {
		t.Errorf("%s: ip does not show the link", what)
		return
	}
	for k, w := range want {
		if f, ok := strings.CutPrefix(k, "flag:"); ok {
			if has := slices.Contains(ipFlags(j), f); has != w.(bool) {
				t.Errorf("%s: ip flags %v: %s shown %v, want %v", what, ipFlags(j), f, has, w)
			}
			continue
		}
		var got any
		if d, ok := strings.CutPrefix(k, "data:"); ok {
			got = infoData(j)[d]
		} else {
			got = j[k]
		}
		if str(got) != str(w) {
			t.Errorf("%s: ip shows %s = %v, want %v", what, k, got, w)
		}
	}
}

// skipMissingKind skips the test when the kernel refused a link kind
// because its module is not loaded.
func skipMissingKind(t *testing.T, err error, kind, module string) {
	t.Helper()
	var ne *nl.Error
	if errors.Is(err, unix.EOPNOTSUPP) && errors.As(err, &ne) && strings.Contains(ne.Message, "Unknown device type") {
		t.Skipf("the kernel has no %q links: module %s is not loaded (%v)", kind, module, err)
	}
}

func TestAddLinkMatchesIPLink(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddVeth(ctx, c, "p0", "p1"); err != nil {
		t.Fatal(err)
	}
	p0, err := rtnl.LinkIndex(ctx, c, "p0")
	if err != nil {
		t.Fatal(err)
	}
	mac := func(s string) rtnl.HardwareAddr { return mustHW(t, s) }

	for _, tc := range []struct {
		name   string
		link   rtnl.Link
		info   rtnl.LinkInfo
		module string // that provides the kind, for the skip message
		want   map[string]any
		peer   string // the veth peer to check, with peerWant
		peerOf map[string]any
	}{
		{name: "veth with peer settings",
			link: rtnl.Link{Name: rtnl.MakeName("va"), MTU: 1400, TxQLen: 500, Address: mac("02:00:00:00:0a:01"), Flags: rtnl.LinkUp},
			info: rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("vb"), MTU: 1400, Address: mac("02:00:00:00:0a:02"), Group: 4}},
			want: map[string]any{"mtu": 1400, "txqlen": 500, "address": "02:00:00:00:0a:01", "flag:UP": true, "link": "vb"},
			peer: "vb", peerOf: map[string]any{"mtu": 1400, "address": "02:00:00:00:0a:02", "group": "4", "flag:UP": false, "link": "va"}},
		{name: "bridge with STP",
			link: rtnl.Link{Name: rtnl.MakeName("br0")}, info: rtnl.Bridge{STP: true},
			want: map[string]any{"data:stp_state": 1, "data:vlan_filtering": 0}},
		{name: "bridge with VLAN filtering",
			link: rtnl.Link{Name: rtnl.MakeName("br2")}, info: rtnl.Bridge{VLANFiltering: true},
			want: map[string]any{"data:stp_state": 0, "data:vlan_filtering": 1}},
		{name: "bridge from Kind alone, defaults",
			link: rtnl.Link{Name: rtnl.MakeName("br1"), Kind: rtnl.MakeName("bridge"), MTU: 1300},
			want: map[string]any{"mtu": 1300, "data:stp_state": 0, "data:vlan_filtering": 0}},
		{name: "vlan with 802.1ad tags on a parent",
			link: rtnl.Link{Name: rtnl.MakeName("p0.10")}, info: rtnl.VLAN{Parent: p0, ID: 10, Protocol: rtnl.VLAN8021AD},
			module: "8021q", want: map[string]any{"link": "p0", "data:id": 10, "data:protocol": "802.1ad"}},
		{name: "bond in active-backup mode",
			link: rtnl.Link{Name: rtnl.MakeName("bond0")}, info: rtnl.Bond{Mode: rtnl.BondActiveBackup, MIIMon: 100},
			module: "bonding", want: map[string]any{"data:mode": "active-backup", "data:miimon": 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind := tc.link.Kind.String()
			if tc.info != nil {
				kind = tc.info.LinkKind()
			}
			err := rtnl.AddLink(ctx, c, tc.link, tc.info)
			skipMissingKind(t, err, kind, tc.module)
			if b, ok := tc.info.(rtnl.Bridge); ok && b.VLANFiltering && errors.Is(err, unix.EOPNOTSUPP) {
				t.Skipf("the kernel has no bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING): %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			name := tc.link.Name.String()
			j := ipLinkJSON(t, ns, name)
			want := map[string]any{"ifname": name}
			for k, v := range tc.want {
				want[k] = v
			}
			checkIPLink(t, name, j, want)
			if li, _ := j["linkinfo"].(map[string]any); str(li["info_kind"]) != kind {
				t.Errorf("ip shows kind %v, want %s", li["info_kind"], kind)
			}
			if tc.peer != "" {
				checkIPLink(t, tc.peer, ipLinkJSON(t, ns, tc.peer), tc.peerOf)
			}
			// The library reads back what ip shows.
			l, err := rtnl.LinkByName(ctx, c, name)
			if err != nil {
				t.Fatal(err)
			}
			if !l.Kind.Is(kind) || fmt.Sprint(l.Index) != str(j["ifindex"]) || fmt.Sprint(l.MTU) != str(j["mtu"]) {
				t.Errorf("library sees %+v; ip %v", l, j)
			}
			// Info decodes the kernel's report of the options given
			// (a Veth's peer is not in it).
			if _, veth := tc.info.(rtnl.Veth); tc.info != nil && !veth {
				if got, err := l.Info(); err != nil || got != tc.info {
					t.Errorf("Info: %+v, %v; want %+v", got, err, tc.info)
				}
			}
			if err := rtnl.AddLink(ctx, c, tc.link, tc.info); !errors.Is(err, unix.EEXIST) {
				t.Errorf("adding it again: %v, want EEXIST", err)
			}
			if err := rtnl.DeleteLink(ctx, c, l.Index); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{name, tc.peer} {
				if n != "" && ipLinkJSON(t, ns, n) != nil {
					t.Errorf("%s still there after DeleteLink", n)
				}
			}
			if err := rtnl.DeleteLink(ctx, c, l.Index); !errors.Is(err, unix.ENODEV) {
				t.Errorf("deleting it again: %v, want ENODEV", err)
			}
		})
	}
}

func TestAddLinkErrorsCarryErrnoAndText(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	var ne *nl.Error
	err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("x0")}, kindOnly("no-such-kind"))
	if !errors.Is(err, unix.EOPNOTSUPP) || !errors.As(err, &ne) || !strings.Contains(ne.Message, "Unknown device type") {
		t.Errorf("unknown kind: %v; want EOPNOTSUPP with the kernel's text", err)
	}
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("x1")}, rtnl.VLAN{ID: 5}); err == nil {
		t.Error("a VLAN without a parent was accepted")
	}
	if err := rtnl.SetLink(ctx, c, 4242, rtnl.Up()); !errors.Is(err, unix.ENODEV) || !errors.As(err, &ne) {
		t.Errorf("setting a missing link: %v, want an *nl.Error with ENODEV", err)
	}
	if err := rtnl.AddVeth(ctx, c, "y0", "y1"); err != nil {
		t.Fatal(err)
	}
	y0, err := rtnl.LinkIndex(ctx, c, "y0")
	if err != nil {
		t.Fatal(err)
	}
	if err := rtnl.SetLink(ctx, c, y0, rtnl.WithMTU(10)); !errors.Is(err, unix.EINVAL) || !errors.As(err, &ne) || ne.Message == "" {
		t.Errorf("MTU below the minimum: %v, want EINVAL with the kernel's text", err)
	} else {
		t.Logf("MTU 10: %v", err)
	}
	if err := rtnl.SetLink(ctx, c, y0, rtnl.WithName("y1")); !errors.Is(err, unix.EEXIST) {
		t.Errorf("renaming to a name in use: %v, want EEXIST", err)
	}
	if err := rtnl.SetLink(ctx, c, y0, rtnl.WithMaster(y0+100)); !errors.As(err, &ne) {
		t.Errorf("master that does not exist: %v, want an *nl.Error", err)
	}
}

// kindOnly is a LinkInfo for any kind, without options.
type kindOnly string

func (k kindOnly) LinkKind() string                          { return string(k) }
func (kindOnly) AppendLinkData(e *nl.AttributeEncoder) error { return nil }

func TestSetLinkMatchesIPLink(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddVeth(ctx, c, "s0", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("br0")}, rtnl.Bridge{}); err != nil {
		t.Fatal(err)
	}
	s0, err := rtnl.LinkIndex(ctx, c, "s0")
	if err != nil {
		t.Fatal(err)
	}
	br0, err := rtnl.LinkIndex(ctx, c, "br0")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name     string
		settings []rtnl.LinkSetting
		want     map[string]any
	}{
		{"up", []rtnl.LinkSetting{rtnl.Up()}, map[string]any{"flag:UP": true}},
		{"down", []rtnl.LinkSetting{rtnl.Down()}, map[string]any{"flag:UP": false}},
		{"mtu", []rtnl.LinkSetting{rtnl.WithMTU(1280)}, map[string]any{"mtu": 1280}},
		{"txqueuelen 0", []rtnl.LinkSetting{rtnl.WithTxQueueLen(0)}, map[string]any{"txqlen": nil}}, // ip leaves out a zero length
		{"txqueuelen", []rtnl.LinkSetting{rtnl.WithTxQueueLen(77)}, map[string]any{"txqlen": 77}},
		{"hardware address", []rtnl.LinkSetting{rtnl.WithHardwareAddr(mustHW(t, "02:00:00:00:00:aa"))}, map[string]any{"address": "02:00:00:00:00:aa"}},
		{"group", []rtnl.LinkSetting{rtnl.WithGroup(9)}, map[string]any{"group": "9"}},
		{"promisc on", []rtnl.LinkSetting{rtnl.Promisc(true)}, map[string]any{"flag:PROMISC": true, "promiscuity": 1}},
		{"promisc off", []rtnl.LinkSetting{rtnl.Promisc(false)}, map[string]any{"flag:PROMISC": false, "promiscuity": 0}},
		{"allmulticast on", []rtnl.LinkSetting{rtnl.AllMulticast(true)}, map[string]any{"flag:ALLMULTI": true}},
		{"allmulticast off", []rtnl.LinkSetting{rtnl.AllMulticast(false)}, map[string]any{"flag:ALLMULTI": false}},
		{"multicast off", []rtnl.LinkSetting{rtnl.Multicast(false)}, map[string]any{"flag:MULTICAST": false}},
		{"multicast on", []rtnl.LinkSetting{rtnl.Multicast(true)}, map[string]any{"flag:MULTICAST": true}},
		{"arp off", []rtnl.LinkSetting{rtnl.ARP(false)}, map[string]any{"flag:NOARP": true}},
		{"arp on", []rtnl.LinkSetting{rtnl.ARP(true)}, map[string]any{"flag:NOARP": false}},
		{"master", []rtnl.LinkSetting{rtnl.WithMaster(br0)}, map[string]any{"master": "br0"}},
		{"nomaster", []rtnl.LinkSetting{rtnl.NoMaster()}, map[string]any{"master": nil}},
		{"rename", []rtnl.LinkSetting{rtnl.WithName("renamed0")}, map[string]any{"ifname": "renamed0"}},
		{"many at once, the later of two settings winning", []rtnl.LinkSetting{
			rtnl.WithName("s0"), rtnl.WithMTU(1400), rtnl.Promisc(true), rtnl.WithMaster(br0), rtnl.Down(), rtnl.Up(),
			rtnl.WithFlags(rtnl.LinkAllMulti, rtnl.LinkAllMulti|rtnl.LinkNoARP)},
			map[string]any{"ifname": "s0", "mtu": 1400, "flag:PROMISC": true, "master": "br0", "flag:UP": true,
				"flag:ALLMULTI": true, "flag:NOARP": false}},
	} {
		if err := rtnl.SetLink(ctx, c, s0, step.settings...); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		j := ipLinkByIndex(t, ns, s0)
		checkIPLink(t, step.name, j, step.want)
		// The library's view agrees with ip's.
		l, err := rtnl.LinkByIndex(ctx, c, s0)
		if err != nil {
			t.Fatal(err)
		}
		if l.Name.String() != str(j["ifname"]) || fmt.Sprint(l.MTU) != str(j["mtu"]) || fmt.Sprint(l.TxQLen) != or(str(j["txqlen"]), "0") ||
			l.Address.String() != str(j["address"]) || (l.Master != 0) != (j["master"] != nil) ||
			l.Flags&rtnl.LinkPromisc != 0 != slices.Contains(ipFlags(j), "PROMISC") {
			t.Errorf("%s: library sees %+v; ip %v", step.name, l, j)
		}
	}
}

// holdNamespace starts a process inside ns and returns its pid; the
// process ends when the test does.
func holdNamespace(t *testing.T, ns *nstest.NS) int {
	t.Helper()
	cmd := ns.Cmd("sh", "-c", "echo ready; exec cat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	// nsenter has entered the namespace once the shell it runs speaks.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("process in namespace: %q, %v", line, err)
	}
	return cmd.Process.Pid
}

func TestSetLinkMovesLinksBetweenNamespaces(t *testing.T) {
	ns1, ns2 := nstest.New(t), nstest.New(t)
	c1, c2 := ns1.Dial(), ns2.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddVeth(ctx, c1, "m0", "m1"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(ns2.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		to   rtnl.Namespace
	}{
		{"m0", rtnl.NamespaceFD(int(f.Fd()))},
		{"m1", rtnl.NamespacePID(holdNamespace(t, ns2))},
	} {
		idx, err := rtnl.LinkIndex(ctx, c1, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		// Settings after the move apply in the new namespace.
		if err := rtnl.SetLink(ctx, c1, idx, rtnl.MoveToNamespace(tc.to), rtnl.WithMTU(1360)); err != nil {
			t.Fatalf("move %s: %v", tc.name, err)
		}
		if ipLinkJSON(t, ns1, tc.name) != nil {
			t.Errorf("%s still in the first namespace", tc.name)
		}
		checkIPLink(t, tc.name+" in the second namespace", ipLinkJSON(t, ns2, tc.name), map[string]any{"mtu": 1360})
		if _, err := rtnl.LinkIndex(ctx, c2, tc.name); err != nil {
			t.Errorf("library in the second namespace: %v", err)
		}
	}
	// Both ends moved: the pair is whole again in the second namespace.
	l, err := rtnl.LinkByName(ctx, c2, "m0")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := rtnl.LinkName(ctx, c2, l.Link)
	if err != nil || peer != "m1" {
		t.Errorf("peer of m0 in the second namespace: %q, %v", peer, err)
	}

	// A veth can be made with its peer directly in another namespace.
	err = rtnl.AddLink(ctx, c1, rtnl.Link{Name: rtnl.MakeName("n0")},
		rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("n1")}, PeerNamespace: rtnl.NamespaceFD(int(f.Fd()))})
	if err != nil {
		t.Fatal(err)
	}
	if ipLinkJSON(t, ns1, "n0") == nil || ipLinkJSON(t, ns1, "n1") != nil || ipLinkJSON(t, ns2, "n1") == nil {
		t.Error("veth peer not created in the other namespace")
	}
}

func TestLinkFilterMatchesIPLinkShow(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("link", "add", "v2", "type", "veth", "peer", "name", "v3")
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("link", "set", "v2", "master", "br0")
	ns.IP("link", "set", "v1", "group", "5")
	ns.IP("link", "set", "v3", "group", "5")
	c := ns.Dial()
	ctx := testCtx(t)
	br0, err := rtnl.LinkIndex(ctx, c, "br0")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f  rtnl.LinkFilter
		ip []string // ip link show arguments; nil: no link
	}{
		{rtnl.LinkFilter{}, []string{}},
		{rtnl.LinkFilter{Name: "v2"}, []string{"dev", "v2"}},
		{rtnl.LinkFilter{Name: "nosuchlink"}, nil},
		{rtnl.LinkFilter{Name: "v2", Up: true}, nil},
		{rtnl.LinkFilter{Kind: "veth"}, []string{"type", "veth"}},
		{rtnl.LinkFilter{Kind: "bridge"}, []string{"type", "bridge"}},
		{rtnl.LinkFilter{Master: br0}, []string{"master", "br0"}},
		{rtnl.LinkFilter{Up: true}, []string{"up"}},
		{rtnl.LinkFilter{Group: 5, MatchGroup: true}, []string{"group", "5"}},
		{rtnl.LinkFilter{MatchGroup: true}, []string{"group", "default"}},
		{rtnl.LinkFilter{Kind: "veth", Up: true}, []string{"type", "veth", "up"}},
		{rtnl.LinkFilter{Kind: "veth", Group: 5, MatchGroup: true}, []string{"type", "veth", "group", "5"}},
	} {
		links, err := rtnl.ListLinksMatching(ctx, c, tc.f)
		if err != nil {
			t.Fatalf("%+v: %v", tc.f, err)
		}
		var got, want []string
		for _, l := range links {
			got = append(got, l.Name.String())
		}
		if tc.ip != nil {
			for _, j := range ipJSON(t, ns, append([]string{"link", "show"}, tc.ip...)...) {
				if n := str(j["ifname"]); n != "" { // ip prints {} for each link it filters out
					want = append(want, n)
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || (tc.ip != nil && len(want) == 0) {
			t.Errorf("filter %+v: %v; ip link show %v: %v", tc.f, got, tc.ip, want)
		}
	}
	if links, err := rtnl.ListLinksMatching(ctx, c, rtnl.LinkFilter{Master: 4242}); len(links) != 0 || err != nil {
		t.Errorf("filter on a missing master: %v, %v; want nothing", links, err)
	}
}

func TestLinkNamesAndIndexesMatchIPLink(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ctx := testCtx(t)
	for _, j := range ipJSON(t, ns, "link", "show") {
		name := str(j["ifname"])
		idx, err := rtnl.LinkIndex(ctx, c, name)
		if err != nil || fmt.Sprint(idx) != str(j["ifindex"]) {
			t.Errorf("LinkIndex(%q) = %d, %v; ip says %v", name, idx, err, j["ifindex"])
		}
		back, err := rtnl.LinkName(ctx, c, idx)
		if err != nil || back != name {
			t.Errorf("LinkName(%d) = %q, %v; want %q", idx, back, err, name)
		}
	}
	if _, err := rtnl.LinkIndex(ctx, c, "nosuchlink"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("LinkIndex of a missing link: %v, want ENODEV", err)
	}
	if _, err := rtnl.LinkName(ctx, c, 4242); !errors.Is(err, unix.ENODEV) {
		t.Errorf("LinkName of a missing link: %v, want ENODEV", err)
	}
}

func TestWaitForLink(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	opt := nl.WithNetNS(ns.Path())
	before := nstest.OpenFDs(t)

	t.Run("returns a link that is already there", func(t *testing.T) {
		l, err := rtnl.WaitForLink(ctx, "lo", opt)
		if err != nil || !l.Name.Is("lo") || l.Index != 1 {
			t.Fatalf("WaitForLink(lo) = %+v, %v", l, err)
		}
	})
	t.Run("sees a link made after its look-up", func(t *testing.T) {
		made := false
		defer rtnl.SetWaitHook(func() {
			// The look-up found nothing; the link appears now, before
			// any notification is read.
			if err := rtnl.AddVeth(ctx, c, "late0", "late1"); err != nil {
				t.Error(err)
			}
			made = true
		})()
		l, err := rtnl.WaitForLink(ctx, "late1", opt)
		if err != nil || !l.Name.Is("late1") || !l.Kind.Is("veth") || !made {
			t.Fatalf("WaitForLink(late1) = %+v, %v (made by the hook: %v)", l, err, made)
		}
		if idx, err := rtnl.LinkIndex(ctx, c, "late1"); err != nil || idx != l.Index {
			t.Errorf("index %d, ip's %d (%v)", l.Index, idx, err)
		}
	})
	t.Run("waits for a state with WaitForLinkFunc", func(t *testing.T) {
		idx, err := rtnl.LinkIndex(ctx, c, "late0")
		if err != nil {
			t.Fatal(err)
		}
		defer rtnl.SetWaitHook(func() {
			if err := rtnl.SetLink(ctx, c, idx, rtnl.WithMTU(1300), rtnl.Up()); err != nil {
				t.Error(err)
			}
		})()
		l, err := rtnl.WaitForLinkFunc(ctx, func(l *rtnl.Link) bool { return l.Name.Is("late0") && l.Up() }, opt)
		if err != nil || l.Index != idx || l.MTU != 1300 {
			t.Fatalf("WaitForLinkFunc = %+v, %v", l, err)
		}
	})
	t.Run("looks again after losing notifications", func(t *testing.T) {
		// With the smallest receive buffer, the notifications of 50 new
		// pairs overflow the event socket before the wanted link's own
		// notification, which is lost (ENOBUFS): only a new look-up
		// can find it.
		defer rtnl.SetWaitHook(func() {
			var lines []string
			for i := range 50 {
				lines = append(lines, fmt.Sprintf("link add flood%d type veth peer name floodp%d", i, i))
			}
			ns.Batch(append(lines, "link add lost0 type veth peer name lost1"))
		})()
		resyncs := 0
		defer rtnl.SetResyncHook(func() { resyncs++ })()
		short, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		l, err := rtnl.WaitForLink(short, "lost1", opt, nl.WithReadBuffer(1))
		if err != nil || !l.Name.Is("lost1") || resyncs == 0 {
			t.Fatalf("WaitForLink(lost1) = %+v, %v after %d new look-ups; want it found by one", l, err, resyncs)
		}
	})
	t.Run("gives up when the context ends", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := rtnl.WaitForLink(short, "never0", opt)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("rejects impossible names", func(t *testing.T) {
		if _, err := rtnl.WaitForLink(ctx, "a-name-that-is-too-long", opt); err == nil {
			t.Fatal("no error")
		}
	})
	if after := nstest.OpenFDs(t); after != before {
		t.Errorf("%d open file descriptors after, %d before", after, before)
	}
}

// A veth whose peer is in another namespace names the peer by its index
// there and the namespace by its id (ip's link_index and link_netnsid).
func TestLinksReadAliasAndThePeersNamespaceAsIPShows(t *testing.T) {
	ns1, ns2 := nstest.New(t), nstest.New(t)
	ns1.IP("link", "add", "v0", "type", "veth", "peer", "name", "v1")
	ns1.IP("link", "set", "v0", "alias", "to the other namespace")
	ns1.IP("link", "set", "v1", "netns", ns2.Path())
	ctx := testCtx(t)
	for _, tc := range []struct {
		ns         *nstest.NS
		name, peer string
	}{{ns1, "v0", "v1"}, {ns2, "v1", "v0"}} {
		l, err := rtnl.LinkByName(ctx, tc.ns.Dial(), tc.name)
		if err != nil {
			t.Fatal(err)
		}
		j := ipLinkJSON(t, tc.ns, tc.name)
		id, ok := l.LinkNetNSID()
		if !ok || fmt.Sprint(id) != str(j["link_netnsid"]) || fmt.Sprint(l.Link) != str(j["link_index"]) {
			t.Errorf("%s: library reads link %d, netnsid %d (%v); ip shows link_index %v, link_netnsid %v",
				tc.name, l.Link, id, ok, j["link_index"], j["link_netnsid"])
		}
		if l.Alias != str(j["ifalias"]) {
			t.Errorf("%s: library reads alias %q; ip shows %q", tc.name, l.Alias, str(j["ifalias"]))
		}
	}
	// Back in one namespace, the peer is named by index alone.
	ns2.IP("link", "set", "v1", "netns", ns1.Path())
	c := ns1.Dial()
	for _, name := range []string{"v0", "v1"} {
		l, err := rtnl.LinkByName(ctx, c, name)
		if err != nil {
			t.Fatal(err)
		}
		j := ipLinkJSON(t, ns1, name)
		peer, err := rtnl.LinkName(ctx, c, l.Link)
		if _, ok := l.LinkNetNSID(); ok || err != nil || peer != str(j["link"]) {
			t.Errorf("%s: library reads link %d (%q, %v), netnsid %v; ip shows link %v", name, l.Link, peer, err, ok, j["link"])
		}
	}
}

func TestSetLinkWithAliasSetsAndClearsItAsIPShows(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("v0"), Alias: "ignored"}, rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("v1")}}); err != nil {
		t.Fatal(err)
	}
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{"", "uplink to rack 4", strings.Repeat("a", 255), ""} {
		if err := rtnl.SetLink(ctx, c, v0, rtnl.WithAlias(alias)); err != nil {
			t.Fatal(err)
		}
		l, err := rtnl.LinkByIndex(ctx, c, v0)
		if err != nil {
			t.Fatal(err)
		}
		if got := str(ipLinkJSON(t, ns, "v0")["ifalias"]); l.Alias != alias || got != alias {
			t.Errorf("alias %q: library reads %q, ip shows %q", alias, l.Alias, got)
		}
	}
	if _, err := rtnl.SetLinkRequest(v0, rtnl.WithAlias(strings.Repeat("a", 256))); err == nil {
		t.Error("a 256-byte alias was accepted")
	}
}
