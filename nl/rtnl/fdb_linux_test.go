//go:build linux

package rtnl_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// bridgeCmd runs bridge(8) with args in the namespace and returns its
// standard output; a failure ends the test.
func bridgeCmd(t *testing.T, ns *nstest.NS, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("bridge"); err != nil {
		t.Fatal("bridge (iproute2) is needed: ", err)
	}
	out, err := ns.Cmd("bridge", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("bridge %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("bridge %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// bridgeFDB returns the entries `bridge -j fdb show args` lists, each as
// fdbLine renders it; dev stands for the device where the filter makes
// bridge leave it out.
func bridgeFDB(t *testing.T, ns *nstest.NS, dev string, args ...string) []string {
	t.Helper()
	out := bridgeCmd(t, ns, append([]string{"-j", "fdb", "show"}, args...)...)
	var v []map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("bridge -j fdb show %s: %v: %s", strings.Join(args, " "), err, out)
	}
	var lines []string
	for _, j := range v {
		var flags []string
		if fs, ok := j["flags"].([]any); ok {
			for _, f := range fs {
				flags = append(flags, f.(string))
			}
		}
		lines = append(lines, fmt.Sprintf("%s dev=%s vlan=%s dst=%s port=%s vni=%s src_vni=%s via=%s nhid=%s flags=%s master=%s state=%s",
			str(j["mac"]), or(str(j["ifname"]), dev), str(j["vlan"]), str(j["dst"]), str(j["port"]), str(j["vni"]),
			str(j["src_vni"]), str(j["viaIf"]), str(j["nhid"]), strings.Join(flags, ","), str(j["master"]), str(j["state"])))
	}
	slices.Sort(lines)
	return lines
}

func num[T uint16 | uint32](v T) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(v)
}

// fdbLine renders e as bridgeFDB renders bridge's entries.
func fdbLine(e *rtnl.FDBEntry, names map[uint32]string) string {
	dst := ""
	if e.Dst.IsValid() {
		dst = e.Dst.String()
	}
	return fmt.Sprintf("%s dev=%s vlan=%s dst=%s port=%s vni=%s src_vni=%s via=%s nhid=%s flags=%s master=%s state=%s",
		e.MAC, names[e.Index], num(e.VLAN), dst, num(e.Port), num(e.VNI), num(e.SrcVNI), names[e.Via], num(e.NHID),
		strings.Join(e.FlagNames(), ","), names[e.Master], e.StateName())
}

func fdbLines(t *testing.T, es []rtnl.FDBEntry, names map[uint32]string) []string {
	t.Helper()
	lines := []string{}
	for i := range es {
		lines = append(lines, fdbLine(&es[i], names))
	}
	slices.Sort(lines)
	return lines
}

// fdbScene makes a bridge br0 with two veth ports (v0, v2; their peers v1,
// v3 stay out) and a VXLAN port vx0, all without IPv6 addresses, so that
// no multicast list changes under the test.
func fdbScene(t *testing.T, ns *nstest.NS) {
	t.Helper()
	quietVeth(t, ns, "v0", "v1")
	quietVeth(t, ns, "v2", "v3")
	ns.Batch([]string{
		"link add br0 type bridge",
		"link set br0 addrgenmode none",
		"link add vx0 type vxlan id 42 dstport 4789 local 10.0.0.1 nolearning",
		"link set vx0 addrgenmode none",
		"link set v0 master br0",
		"link set v2 master br0",
		"link set vx0 master br0",
		"link set br0 up",
		"link set vx0 up",
	})
}

// The dumps list what bridge fdb show lists, as multisets, with and
// without the kernel's bridge and port filters.
func TestListFDBMatchesBridgeFDBShow(t *testing.T) {
	ns := nstest.New(t)
	fdbScene(t, ns)
	for _, args := range [][]string{
		{"fdb", "add", "02:00:00:00:00:01", "dev", "v0", "master", "static"},
		{"fdb", "add", "02:00:00:00:00:02", "dev", "v0", "master", "dynamic"},
		{"fdb", "add", "02:00:00:00:00:03", "dev", "v2", "master", "static", "sticky"},
		{"fdb", "add", "02:00:00:00:00:04", "dev", "v2", "master", "extern_learn"},
		{"fdb", "add", "02:00:00:00:00:05", "dev", "v0", "self", "permanent"},
		{"fdb", "add", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.0.0.2", "vni", "7", "port", "4790", "via", "v1", "self", "permanent"},
		{"fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.0.0.3", "self"},
		{"fdb", "add", "02:00:00:00:00:06", "dev", "vx0", "dst", "10.0.0.4", "self"},
		{"fdb", "add", "02:00:00:00:00:07", "dev", "vx0", "master", "static"},
	} {
		bridgeCmd(t, ns, args...)
	}
	c := ns.Dial()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)
	index := func(name string) uint32 {
		for i, n := range names {
			if n == name {
				return i
			}
		}
		t.Fatalf("no link %s", name)
		return 0
	}
	for _, tc := range []struct {
		name string
		f    rtnl.FDBFilter
		dev  string
		args []string
	}{
		{"everything", rtnl.FDBFilter{}, "", nil},
		{"bridge br0", rtnl.FDBFilter{Bridge: index("br0")}, "", []string{"br", "br0"}},
		{"port v0", rtnl.FDBFilter{Port: index("v0")}, "v0", []string{"brport", "v0"}},
		{"port vx0", rtnl.FDBFilter{Port: index("vx0")}, "vx0", []string{"brport", "vx0"}},
		{"port v1, no bridge", rtnl.FDBFilter{Port: index("v1")}, "v1", []string{"brport", "v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := rtnl.ListFDB(ctx, c, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			got, want := fdbLines(t, list, names), bridgeFDB(t, ns, tc.dev, tc.args...)
			if !slices.Equal(got, want) {
				t.Fatalf("ListFDB(%+v) lists\n  %s\nbridge -j fdb show %s lists\n  %s", tc.f,
					strings.Join(got, "\n  "), strings.Join(tc.args, " "), strings.Join(want, "\n  "))
			}
			for i := range list {
				if s := list[i].String(); !strings.HasPrefix(s, list[i].MAC.String()+" dev ") {
					t.Errorf("String() = %q", s)
				}
			}
		})
	}
	// The JSON forms are bridge -j's, key for key.
	list, err := rtnl.ListFDB(ctx, c, rtnl.FDBFilter{})
	if err != nil {
		t.Fatal(err)
	}
	canon := func(b []byte) string {
		var o map[string]any
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		k, _ := json.Marshal(o) // sorted keys
		return string(k)
	}
	var got, want []string
	for i := range list {
		got = append(got, canon(list[i].AppendJSONNames(nil, func(i uint32) string { return names[i] })))
	}
	var theirs []json.RawMessage
	if err := json.Unmarshal([]byte(bridgeCmd(t, ns, "-j", "fdb", "show")), &theirs); err != nil {
		t.Fatal(err)
	}
	for _, o := range theirs {
		want = append(want, canon(o))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("JSON:\n  %s\nbridge -j fdb show:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if _, err := rtnl.ListFDB(ctx, c, rtnl.FDBFilter{Bridge: 4242}); !errors.Is(err, unix.ENODEV) {
		t.Errorf("dump of a missing bridge: %v, want ENODEV", err)
	}
}

// fdbHas reports how many entries of ListFDB match the line want.
func fdbCount(t *testing.T, ns *nstest.NS, c *nl.Conn, want string) int {
	t.Helper()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)
	list, err := rtnl.ListFDB(ctx, c, rtnl.FDBFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range fdbLines(t, list, names) {
		if l == want {
			n++
		}
	}
	m := 0
	for _, l := range bridgeFDB(t, ns, "") {
		if l == want {
			m++
		}
	}
	if n != m {
		t.Fatalf("ListFDB shows %q %d times, bridge fdb show %d times", want, n, m)
	}
	return n
}

func TestFDBOperations(t *testing.T) {
	ns := nstest.New(t)
	fdbScene(t, ns)
	c := ns.Dial()
	ctx := testCtx(t)
	idx := func(name string) uint32 {
		i, err := rtnl.LinkIndex(ctx, c, name)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	v0, v1, v2, vx0 := idx("v0"), idx("v1"), idx("v2"), idx("vx0")
	mac := mustHW(t, "02:00:00:00:10:01")
	const tail = " vlan= dst= port= vni= src_vni= via= nhid="
	master := rtnl.FDBEntry{Index: v0, MAC: mac, Flags: rtnl.NeighFlagMaster, State: rtnl.NeighNoARP}
	if err := rtnl.AddFDB(ctx, c, master); err != nil {
		t.Fatal(err)
	}
	if n := fdbCount(t, ns, c, "02:00:00:00:10:01 dev=v0"+tail+" flags= master=br0 state=static"); n != 1 {
		t.Fatalf("after AddFDB: %d entries", n)
	}
	if err := rtnl.AddFDB(ctx, c, master); !errors.Is(err, unix.EEXIST) {
		t.Errorf("adding it again: %v, want EEXIST", err)
	}
	// A replace moves the entry to another port: the bridge keys its
	// entries by MAC and VLAN (fdb_find_rcu), not by port.
	moved := master
	moved.Index, moved.State = v2, rtnl.NeighReachable
	if err := rtnl.ReplaceFDB(ctx, c, moved); err != nil {
		t.Fatal(err)
	}
	if n := fdbCount(t, ns, c, "02:00:00:00:10:01 dev=v2"+tail+" flags= master=br0 state="); n != 1 {
		t.Fatalf("after ReplaceFDB: %d entries on v2", n)
	}
	if n := fdbCount(t, ns, c, "02:00:00:00:10:01 dev=v0"+tail+" flags= master=br0 state=static"); n != 0 {
		t.Fatalf("after ReplaceFDB: %d entries left on v0", n)
	}
	if err := rtnl.DeleteFDB(ctx, c, master); !errors.Is(err, unix.ENOENT) {
		t.Errorf("deleting it from the port it left: %v, want ENOENT", err)
	}
	if err := rtnl.DeleteFDB(ctx, c, moved); err != nil {
		t.Fatal(err)
	}
	if n := fdbCount(t, ns, c, "02:00:00:00:10:01 dev=v2"+tail+" flags= master=br0 state="); n != 0 {
		t.Fatal("still there after DeleteFDB")
	}

	// A port's own (self) entry: its unicast address list.
	self := rtnl.FDBEntry{Index: v0, MAC: mustHW(t, "02:00:00:00:10:02")}
	if err := rtnl.AddFDB(ctx, c, self); err != nil {
		t.Fatal(err)
	}
	if n := fdbCount(t, ns, c, "02:00:00:00:10:02 dev=v0"+tail+" flags=self master= state=permanent"); n != 1 {
		t.Fatalf("after AddFDB self: %d entries", n)
	}
	if err := rtnl.DeleteFDB(ctx, c, self); err != nil {
		t.Fatal(err)
	}

	// VXLAN remotes: the default (all-zeros) entry, to which remotes can
	// be appended (vxlan_fdb_update_existing appends to multicast and
	// all-zeros entries only), one deleted by its remote, the rest with
	// the entry; then a unicast entry, whose remote a replace overwrites.
	zero := mustHW(t, "00:00:00:00:00:00")
	remote := rtnl.FDBEntry{Index: vx0, MAC: zero, Dst: addr("10.0.0.2"), Port: 4790, VNI: 7, Via: v1}
	if err := rtnl.AddFDB(ctx, c, remote); err != nil {
		t.Fatal(err)
	}
	second := rtnl.FDBEntry{Index: vx0, MAC: zero, Dst: addr("10.0.0.3")}
	if err := rtnl.AppendFDB(ctx, c, second); err != nil {
		t.Fatal(err)
	}
	line1 := "00:00:00:00:00:00 dev=vx0 vlan= dst=10.0.0.2 port=4790 vni=7 src_vni= via=v1 nhid= flags=self master= state=permanent"
	line2 := "00:00:00:00:00:00 dev=vx0 vlan= dst=10.0.0.3 port= vni= src_vni= via= nhid= flags=self master= state=permanent"
	if fdbCount(t, ns, c, line1) != 1 || fdbCount(t, ns, c, line2) != 1 {
		t.Fatalf("the two remotes are not both there:\n  %s", strings.Join(bridgeFDB(t, ns, ""), "\n  "))
	}
	if err := rtnl.DeleteFDB(ctx, c, remote); err != nil {
		t.Fatal(err)
	}
	if fdbCount(t, ns, c, line1) != 0 || fdbCount(t, ns, c, line2) != 1 {
		t.Fatal("DeleteFDB of one remote did not delete that one alone")
	}
	if err := rtnl.DeleteFDB(ctx, c, rtnl.FDBEntry{Index: vx0, MAC: zero}); err != nil {
		t.Fatal(err)
	}
	if fdbCount(t, ns, c, line2) != 0 {
		t.Fatal("DeleteFDB without a remote left one")
	}
	if err := rtnl.DeleteFDB(ctx, c, rtnl.FDBEntry{Index: vx0, MAC: zero}); !errors.Is(err, unix.ENOENT) {
		t.Errorf("deleting it again: %v, want ENOENT", err)
	}
	uni := rtnl.FDBEntry{Index: vx0, MAC: mustHW(t, "02:00:00:00:10:03"), Dst: addr("10.0.0.4"), State: rtnl.NeighReachable}
	if err := rtnl.AddFDB(ctx, c, uni); err != nil {
		t.Fatal(err)
	}
	uni.Dst = addr("10.0.0.9")
	if err := rtnl.ReplaceFDB(ctx, c, uni); err != nil {
		t.Fatal(err)
	}
	line3 := "02:00:00:00:10:03 dev=vx0 vlan= dst=10.0.0.%d port= vni= src_vni= via= nhid= flags=self master= state="
	if fdbCount(t, ns, c, fmt.Sprintf(line3, 4)) != 0 || fdbCount(t, ns, c, fmt.Sprintf(line3, 9)) != 1 {
		t.Fatalf("ReplaceFDB did not replace the remote:\n  %s", strings.Join(bridgeFDB(t, ns, ""), "\n  "))
	}
}

// Bad entries fail before anything is sent, with an error that says why.
func TestFDBRequestsRefuseBadEntries(t *testing.T) {
	mac := mustHW(t, "02:00:00:00:00:01")
	for _, tc := range []struct {
		name string
		e    rtnl.FDBEntry
		want string
	}{
		{"no link", rtnl.FDBEntry{MAC: mac}, "no link index"},
		{"no MAC", rtnl.FDBEntry{Index: 2}, "MAC of 0 bytes"},
		{"long MAC", rtnl.FDBEntry{Index: 2, MAC: mustHW(t, "02:00:00:00:00:00:00:01")}, "MAC"},
		{"VLAN 4095", rtnl.FDBEntry{Index: 2, MAC: mac, VLAN: 4095}, "VLAN 4095"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, typ := range []uint16{rtnl.TypeNewNeighbor, rtnl.TypeDelNeighbor} {
				_, err := rtnl.FDBRequest(typ, 0, tc.e)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("type %d: %v, want an error about %q", typ, err, tc.want)
				}
			}
		})
	}
}

// renderNdRequest renders an RTM_*NEIGH or AF_BRIDGE link request for
// comparison: header flags without NLM_F_ACK, the fixed header, and the
// attributes sorted, IFLA_AF_SPEC's in turn.
func renderNdRequest(m nl.Message, hdr int) string {
	if len(m.Data) < hdr {
		return fmt.Sprintf("short payload % x", m.Data)
	}
	var attrs func(b []byte, nest bool) string
	attrs = func(b []byte, nest bool) string {
		d := nl.NewAttributeDecoder(b)
		var parts []string
		for d.Next() {
			if nest && d.Type() == 26 {
				parts = append(parts, fmt.Sprintf("26{%s}", attrs(d.Bytes(), false)))
			} else {
				parts = append(parts, fmt.Sprintf("%d=%x", d.Type(), d.Bytes()))
			}
		}
		if !nest {
			return strings.Join(parts, " ") // in order: a range's two ends
		}
		slices.Sort(parts)
		return strings.Join(parts, " ")
	}
	return fmt.Sprintf("type=%d flags=%#x hdr=%x attrs: %s", m.Header.Type, m.Header.Flags&^nl.FlagAck, m.Data[:hdr], attrs(m.Data[hdr:], true))
}

// The FDB and VLAN requests are compared byte for byte (up to attribute
// order) with bridge's for the same command, the VLAN ones included on a
// kernel without VLAN filtering, which refuses them.
func TestFDBAndVLANRequestsMatchBridges(t *testing.T) {
	ns := nstest.New(t)
	fdbScene(t, ns)
	c := ns.Dial()
	ctx := testCtx(t)
	idx := func(name string) uint32 {
		i, err := rtnl.LinkIndex(ctx, c, name)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	v0, v1, vx0, br0 := idx("v0"), idx("v1"), idx("vx0"), idx("br0")
	mac := mustHW(t, "02:00:00:00:00:09")
	fdb := func(typ, flags uint16, e rtnl.FDBEntry) nl.Message {
		m, err := rtnl.FDBRequest(typ, flags, e)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	vlan := func(typ uint16, v rtnl.BridgeVLAN) nl.Message {
		m, err := rtnl.BridgeVLANRequest(typ, v)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	add, repl, app := nl.FlagCreate|nl.FlagExcl, nl.FlagCreate|nl.FlagReplace, nl.FlagCreate|nl.FlagAppend
	for _, tc := range []struct {
		args []string
		typ  uint16
		m    nl.Message
	}{
		{[]string{"fdb", "add", "02:00:00:00:00:09", "dev", "v0", "master"}, rtnl.TypeNewNeighbor,
			fdb(rtnl.TypeNewNeighbor, add, rtnl.FDBEntry{Index: v0, MAC: mac, Flags: rtnl.NeighFlagMaster})},
		{[]string{"fdb", "add", "02:00:00:00:00:09", "dev", "v0"}, rtnl.TypeNewNeighbor,
			fdb(rtnl.TypeNewNeighbor, add, rtnl.FDBEntry{Index: v0, MAC: mac})},
		{[]string{"fdb", "add", "02:00:00:00:00:09", "dev", "v0", "master", "static", "sticky"}, rtnl.TypeNewNeighbor,
			fdb(rtnl.TypeNewNeighbor, add, rtnl.FDBEntry{Index: v0, MAC: mac, Flags: rtnl.NeighFlagMaster | rtnl.NeighFlagSticky, State: rtnl.NeighNoARP | rtnl.NeighReachable})},
		{[]string{"fdb", "replace", "02:00:00:00:00:09", "dev", "v0", "master", "dynamic", "vlan", "5"}, rtnl.TypeNewNeighbor,
			fdb(rtnl.TypeNewNeighbor, repl, rtnl.FDBEntry{Index: v0, MAC: mac, Flags: rtnl.NeighFlagMaster, State: rtnl.NeighReachable, VLAN: 5})},
		{[]string{"fdb", "add", "02:00:00:00:00:09", "dev", "vx0", "dst", "10.0.0.2", "vni", "7", "port", "4790", "via", "v1", "self", "permanent"}, rtnl.TypeNewNeighbor,
			fdb(rtnl.TypeNewNeighbor, add, rtnl.FDBEntry{Index: vx0, MAC: mac, Flags: rtnl.NeighFlagSelf, State: rtnl.NeighPermanent | rtnl.NeighNoARP, Dst: addr("10.0.0.2"), VNI: 7, Port: 4790, Via: v1})},
		{[]string{"fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "2001:db8::3", "src_vni", "9"}, rtnl.TypeNewNeighbor,
			fdb(rtnl.TypeNewNeighbor, app, rtnl.FDBEntry{Index: vx0, MAC: mustHW(t, "00:00:00:00:00:00"), Dst: addr("2001:db8::3"), SrcVNI: 9})},
		{[]string{"fdb", "del", "02:00:00:00:00:09", "dev", "v0", "master"}, rtnl.TypeDelNeighbor,
			fdb(rtnl.TypeDelNeighbor, 0, rtnl.FDBEntry{Index: v0, MAC: mac, Flags: rtnl.NeighFlagMaster, State: rtnl.NeighNoARP})},
		{[]string{"fdb", "del", "02:00:00:00:00:09", "dev", "vx0", "dst", "10.0.0.2", "self"}, rtnl.TypeDelNeighbor,
			fdb(rtnl.TypeDelNeighbor, 0, rtnl.FDBEntry{Index: vx0, MAC: mac, Flags: rtnl.NeighFlagSelf, Dst: addr("10.0.0.2")})},
		{[]string{"vlan", "add", "vid", "10", "dev", "v0", "pvid", "untagged"}, rtnl.TypeSetLink,
			vlan(rtnl.TypeSetLink, rtnl.BridgeVLAN{Index: v0, VID: 10, Flags: rtnl.BridgeVLANPVID | rtnl.BridgeVLANUntagged})},
		{[]string{"vlan", "add", "vid", "20-30", "dev", "v0"}, rtnl.TypeSetLink,
			vlan(rtnl.TypeSetLink, rtnl.BridgeVLAN{Index: v0, VID: 20, LastVID: 30})},
		{[]string{"vlan", "add", "vid", "10", "dev", "br0", "self"}, rtnl.TypeSetLink,
			vlan(rtnl.TypeSetLink, rtnl.BridgeVLAN{Index: br0, VID: 10, Self: true})},
		{[]string{"vlan", "del", "vid", "10-20", "dev", "v0"}, rtnl.TypeDelLink,
			vlan(rtnl.TypeDelLink, rtnl.BridgeVLAN{Index: v0, VID: 10, LastVID: 20})},
	} {
		name := strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			hdr := 12
			if tc.typ == rtnl.TypeSetLink || tc.typ == rtnl.TypeDelLink {
				hdr = 16
			}
			theirs := toolRequest(t, ns, tc.typ, "bridge", tc.args...)
			if got, want := renderNdRequest(tc.m, hdr), renderNdRequest(theirs, hdr); got != want {
				t.Errorf("library sends\n  %s\nbridge sends\n  %s", got, want)
			}
		})
	}
}

// The VLAN list matches bridge vlan show; where the kernel lacks VLAN
// filtering, adding one fails with EOPNOTSUPP and the rest is skipped.
func TestBridgeVLANsMatchBridgeVLANShow(t *testing.T) {
	ns := nstest.New(t)
	fdbScene(t, ns)
	c := ns.Dial()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		t.Fatal(err)
	}
	compare := func(when string) {
		t.Helper()
		list, err := rtnl.ListBridgeVLANs(ctx, c, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, v := range list {
			got = append(got, fmt.Sprintf("%s %d pvid=%v untagged=%v", names[v.Index], v.VID,
				v.Flags&rtnl.BridgeVLANPVID != 0, v.Flags&rtnl.BridgeVLANUntagged != 0))
		}
		var js []struct {
			Ifname string `json:"ifname"`
			VLANs  []struct {
				VLAN  int      `json:"vlan"`
				End   int      `json:"vlanEnd"`
				Flags []string `json:"flags"`
			} `json:"vlans"`
		}
		out := bridgeCmd(t, ns, "-j", "vlan", "show")
		if err := json.Unmarshal([]byte(out), &js); err != nil {
			t.Fatalf("bridge -j vlan show: %v: %s", err, out)
		}
		want := []string{}
		for _, p := range js {
			for _, v := range p.VLANs {
				for id := v.VLAN; id <= max(v.VLAN, v.End); id++ {
					want = append(want, fmt.Sprintf("%s %d pvid=%v untagged=%v", p.Ifname, id,
						slices.Contains(v.Flags, "PVID"), slices.Contains(v.Flags, "Egress Untagged")))
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: ListBridgeVLANs lists\n  %s\nbridge vlan show\n  %s", when, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	compare("before")
	if _, err := ns.TryIP("link", "set", "br0", "type", "bridge", "vlan_filtering", "1"); err != nil {
		err := rtnl.AddBridgeVLAN(ctx, c, rtnl.BridgeVLAN{Index: v0, VID: 10})
		if !errors.Is(err, unix.EOPNOTSUPP) {
			t.Errorf("AddBridgeVLAN without VLAN filtering: %v, want EOPNOTSUPP", err)
		}
		t.Skipf("the kernel lacks CONFIG_BRIDGE_VLAN_FILTERING (%v); the requests are compared with bridge's in TestFDBAndVLANRequestsMatchBridges", err)
	}
	for _, v := range []rtnl.BridgeVLAN{
		{Index: v0, VID: 10, Flags: rtnl.BridgeVLANPVID | rtnl.BridgeVLANUntagged},
		{Index: v0, VID: 20, LastVID: 23},
	} {
		if err := rtnl.AddBridgeVLAN(ctx, c, v); err != nil {
			t.Fatal(err)
		}
	}
	compare("after adding")
	if err := rtnl.DeleteBridgeVLAN(ctx, c, rtnl.BridgeVLAN{Index: v0, VID: 21, LastVID: 22}); err != nil {
		t.Fatal(err)
	}
	compare("after deleting")
}

// The VLAN codec expands ranges and refuses what is malformed.
func TestAppendBridgeVLANs(t *testing.T) {
	msg := func(infos ...[2]uint16) []byte {
		b := make([]byte, 16)
		b[0] = byte(rtnl.FamilyBridge)
		binary.NativeEndian.PutUint32(b[4:], 5)
		e := nl.NewAttributeEncoder(b)
		e.Uint32(10, 3) // IFLA_MASTER
		m := e.BeginNested(26)
		for _, in := range infos {
			var x [4]byte
			binary.NativeEndian.PutUint16(x[0:], in[0])
			binary.NativeEndian.PutUint16(x[2:], in[1])
			e.Raw(2, x[:])
		}
		e.EndNested(m)
		b, _ = e.Bytes()
		return b
	}
	got, err := rtnl.AppendBridgeVLANs(nil, msg([2]uint16{rtnl.BridgeVLANPVID, 1}, [2]uint16{rtnl.BridgeVLANRangeBegin, 7}, [2]uint16{rtnl.BridgeVLANRangeEnd, 9}))
	if err != nil {
		t.Fatal(err)
	}
	want := []rtnl.BridgeVLAN{{Index: 5, Master: 3, VID: 1, Flags: rtnl.BridgeVLANPVID}, {Index: 5, Master: 3, VID: 7}, {Index: 5, Master: 3, VID: 8}, {Index: 5, Master: 3, VID: 9}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for name, b := range map[string][]byte{
		"end without begin": msg([2]uint16{rtnl.BridgeVLANRangeEnd, 9}),
		"end below begin":   msg([2]uint16{rtnl.BridgeVLANRangeBegin, 9}, [2]uint16{rtnl.BridgeVLANRangeEnd, 3}),
		"short header":      {7, 0, 0},
	} {
		if _, err := rtnl.AppendBridgeVLANs(nil, b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, v := range map[string]rtnl.BridgeVLAN{
		"VID 0":         {Index: 2},
		"VID 4095":      {Index: 2, VID: 4095},
		"no link":       {VID: 3},
		"range reverse": {Index: 2, VID: 9, LastVID: 3},
		"range pvid":    {Index: 2, VID: 3, LastVID: 9, Flags: rtnl.BridgeVLANPVID},
	} {
		if _, err := rtnl.BridgeVLANRequest(rtnl.TypeSetLink, v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := rtnl.BridgeVLANRequest(rtnl.TypeNewLink, rtnl.BridgeVLAN{Index: 2, VID: 3}); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("RTM_NEWLINK: %v, want ErrMessageType", err)
	}
}
