//go:build linux

package conntrack_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	"golang.org/x/sys/unix"
)

// testFlows are made through the package in the tests' namespaces: IPv4
// and IPv6, UDP, TCP and ICMP, marks, a zone and a status bit.
func testFlows() []conntrack.Flow {
	a := udp("10.0.0.1", "10.0.0.2", 4000, 53)
	b := udp("10.0.0.1", "10.0.0.3", 4001, 53)
	b.Mark = 5
	c := udp("10.0.0.9", "10.0.0.2", 4002, 5353)
	c.Zone = 3
	d := tcp("10.0.0.1", "10.0.0.2", 40000, 443)
	d.Mark = 0x105
	d.Status = conntrack.StatusAssured | conntrack.StatusSeenReply
	e := udp("2001:db8::1", "2001:db8::2", 4000, 53)
	e.Mark = 0x205
	f := tcp("2001:db8::1", "2001:db8::3", 40001, 80)
	g := conntrack.Flow{
		Orig:    conntrack.Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.4"), Proto: conntrack.ProtoICMP, ICMPType: 8, ICMPID: 99},
		Timeout: 30,
	}
	h := conntrack.Flow{
		Orig:    conntrack.Tuple{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::4"), Proto: conntrack.ProtoICMPv6, ICMPType: 128, ICMPID: 7},
		Timeout: 30,
	}
	return []conntrack.Flow{a, b, c, d, e, f, g, h}
}

func createTestFlows(t *testing.T, c *nl.Conn) []conntrack.Flow {
	t.Helper()
	fs := testFlows()
	ctx := testCtx(t)
	// Half one by one, half in a batch.
	for _, f := range fs[:4] {
		if err := conntrack.Create(ctx, c, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := conntrack.CreateFlows(ctx, c, fs[4:]); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestOperationsMatchConntrackTool(t *testing.T) {
	needConntrackTool(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	made := createTestFlows(t, c)

	all, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "List against conntrack -L", flowLines(all), conntrackList(t, ns))
	if len(all) != len(made) {
		t.Fatalf("listed %d flows, made %d", len(all), len(made))
	}
	for i := range all {
		fl := &all[i]
		if fl.ID == 0 || fl.Status&conntrack.StatusConfirmed == 0 || fl.Timeout == 0 || fl.Timeout > 120 {
			t.Errorf("flow %v: id %d, status %v, timeout %d: want an id, CONFIRMED and a timeout of at most 120 s", fl, fl.ID, fl.Status, fl.Timeout)
		}
		if fl.Reply != fl.Orig.Reverse() {
			t.Errorf("flow %v: reply tuple %v, want the original reversed", fl, fl.Reply)
		}
		got, err := conntrack.Get(ctx, c, conntrack.Flow{Orig: fl.Orig, Zone: fl.Zone})
		if err != nil {
			t.Fatalf("get %v: %v", fl.Orig, err)
		}
		if got.ID != fl.ID || got.Orig != fl.Orig || got.Reply != fl.Reply || got.Mark != fl.Mark {
			t.Errorf("get %v gave %v, want %v", fl.Orig, &got, fl)
		}
	}

	// Creating it again fails; an update changes mark and timeout.
	if err := conntrack.Create(ctx, c, made[0]); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("create twice: %v, want EEXIST", err)
	}
	up := made[0]
	up.Mark, up.Timeout = 77, 500
	if err := conntrack.Update(ctx, c, up); err != nil {
		t.Fatal(err)
	}
	got, err := conntrack.Get(ctx, c, up)
	if err != nil {
		t.Fatal(err)
	}
	if got.Mark != 77 || got.Timeout < 490 || got.Timeout > 500 {
		t.Fatalf("after update: mark %d timeout %d, want 77 and about 500", got.Mark, got.Timeout)
	}
	sameLines(t, "conntrack -L --mark 77", conntrackList(t, ns, "--mark", "77"), flowLines([]conntrack.Flow{got}))
	missing := udp("10.9.9.9", "10.9.9.8", 1, 2)
	if err := conntrack.Update(ctx, c, missing); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("update of a missing flow: %v, want ENOENT", err)
	}

	// Delete with a stale ID leaves the flow; with the right one it goes.
	stale := got
	stale.ID++
	if err := conntrack.Delete(ctx, c, stale); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("delete with a stale id: %v, want ENOENT", err)
	}
	if err := conntrack.Delete(ctx, c, got); err != nil {
		t.Fatal(err)
	}
	if _, err := conntrack.Get(ctx, c, got); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("get after delete: %v, want ENOENT", err)
	}
	if err := conntrack.Delete(ctx, c, got); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("delete twice: %v, want ENOENT", err)
	}
	rest, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	sameLines(t, "after delete, List against conntrack -L", flowLines(rest), conntrackList(t, ns))
	if len(rest) != len(made)-1 {
		t.Fatalf("%d flows after delete, want %d", len(rest), len(made)-1)
	}
}

// filterCases pair a Filter with conntrack(8)'s options for the same
// selection.
var filterCases = []struct {
	name string
	f    conntrack.Filter
	args []string
}{
	{"ipv6", conntrack.Filter{Family: conntrack.FamilyIPv6}, []string{"-f", "ipv6"}},
	{"ipv4", conntrack.Filter{Family: conntrack.FamilyIPv4}, []string{"-f", "ipv4"}},
	{"mark", conntrack.Filter{Mark: 5}, []string{"--mark", "5"}},
	{"mark and mask", conntrack.Filter{Mark: 0x5, MarkMask: 0xff}, []string{"--mark", "0x5/0xff"}},
	{"zone", conntrack.Filter{Zone: 3, MatchZone: true}, []string{"--zone", "3"}},
	{"status", conntrack.Filter{Status: conntrack.StatusAssured}, []string{"--status", "ASSURED"}},
	{"status not set", conntrack.Filter{StatusMask: conntrack.StatusAssured}, nil},
	{"udp to port 53", conntrack.Filter{Family: conntrack.FamilyIPv4, Proto: conntrack.ProtoUDP, DstPort: 53}, []string{"-f", "ipv4", "-p", "udp", "--dport", "53"}},
	{"destination", conntrack.Filter{Dst: netip.MustParseAddr("10.0.0.2")}, []string{"-d", "10.0.0.2"}},
	{"source and protocol", conntrack.Filter{Src: netip.MustParseAddr("10.0.0.1"), Proto: conntrack.ProtoTCP}, []string{"-s", "10.0.0.1", "-p", "tcp"}},
	{"ipv6 destination", conntrack.Filter{Dst: netip.MustParseAddr("2001:db8::2")}, []string{"-f", "ipv6", "-d", "2001:db8::2"}},
}

func TestDumpFiltersMatchConntrackTool(t *testing.T) {
	needConntrackTool(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	createTestFlows(t, c)
	all, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range filterCases {
		t.Run(tc.name, func(t *testing.T) {
			var want []conntrack.Flow
			for i := range all {
				if tc.f.Match(&all[i]) {
					want = append(want, all[i])
				}
			}
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("the filter selects %d of %d flows: a useless case", len(want), len(all))
			}
			got, err := conntrack.List(ctx, c, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			sameLines(t, "List with the filter", flowLines(got), flowLines(want))
			if tc.args != nil {
				sameLines(t, "conntrack -L "+strings.Join(tc.args, " "), conntrackList(t, ns, tc.args...), flowLines(want))
			}

			// The kernel applied the filter itself, but for what it
			// would get wrong (IPv6 addresses).
			req, err := tc.f.Request()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := c.ExecuteFunc(ctx, req, func(nl.Message) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if tc.f.KernelCan() && n != len(want) {
				t.Fatalf("the kernel sent %d flows for the filter, want %d", n, len(want))
			}
			if !tc.f.KernelCan() && n < len(want) {
				t.Fatalf("the kernel sent %d flows for a filter it cannot apply, want at least %d", n, len(want))
			}
		})
	}
}

// TestKernelInvertsIPv6TupleFilters records the kernel behaviour that
// Filter works around: an IPv6 address in CTA_FILTER selects the flows
// whose address differs. If a kernel fixes it, this test says so.
func TestKernelInvertsIPv6TupleFilters(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	createTestFlows(t, c)
	e := nl.NewAttributeEncoder([]byte{byte(conntrack.FamilyIPv6), 0, 0, 0})
	e.Nested(1, func(e *nl.AttributeEncoder) { // CTA_TUPLE_ORIG
		e.Nested(1, func(e *nl.AttributeEncoder) { e.Addr(4, netip.MustParseAddr("2001:db8::2")) }) // CTA_IP_V6_DST
	})
	e.Nested(25, func(e *nl.AttributeEncoder) { e.Uint32(1, 1<<1) }) // CTA_FILTER_ORIG_FLAGS: CTA_FILTER_F_CTA_IP_DST
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var dsts []netip.Addr
	err = c.ExecuteFunc(ctx, nl.Message{Header: nl.Header{Type: conntrack.TypeGet, Flags: nl.FlagDump}, Data: b}, func(m nl.Message) error {
		f, err := conntrack.DecodeFlow(m)
		dsts = append(dsts, f.Orig.Dst)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dsts {
		if d == netip.MustParseAddr("2001:db8::2") {
			t.Fatalf("the kernel applied an IPv6 destination filter right (%v): Filter.kernelTuple can send them now", dsts)
		}
	}
	if len(dsts) != 2 {
		t.Fatalf("the kernel sent %v for dst 2001:db8::2, want the two other IPv6 flows", dsts)
	}
}

func TestFlushByFilter(t *testing.T) {
	needConntrackTool(t)
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	createTestFlows(t, c)
	left, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		f    conntrack.Filter
	}{
		// kube-proxy's cleanup of a UDP service's stale entries.
		{"udp to 10.0.0.2:53", conntrack.Filter{Proto: conntrack.ProtoUDP, Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 53}},
		{"mark 5", conntrack.Filter{Mark: 5}},
		{"zone 3", conntrack.Filter{Zone: 3, MatchZone: true}},
		{"ipv6", conntrack.Filter{Family: conntrack.FamilyIPv6}},
		{"everything", conntrack.Filter{}},
	}
	for _, st := range steps {
		var want []conntrack.Flow
		gone := 0
		for i := range left {
			if st.f.Match(&left[i]) {
				gone++
			} else {
				want = append(want, left[i])
			}
		}
		if gone == 0 {
			t.Fatalf("%s: nothing to flush: a useless step", st.name)
		}
		if err := conntrack.Flush(ctx, c, st.f); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := conntrack.List(ctx, c, conntrack.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		sameLines(t, st.name+": left after the flush", flowLines(got), flowLines(want))
		sameLines(t, st.name+": conntrack -L after the flush", conntrackList(t, ns), flowLines(want))
		left = got
	}
}

func TestDeleteMatchingDoesWhatFlushCannot(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	createTestFlows(t, c)
	f := conntrack.Filter{Dst: netip.MustParseAddr("2001:db8::2")}
	if err := conntrack.Flush(ctx, c, f); !errors.Is(err, conntrack.ErrFilter) {
		t.Fatalf("flush by IPv6 destination: %v, want ErrFilter", err)
	}
	n, err := conntrack.DeleteMatching(ctx, c, f, nil)
	if err != nil || n != 1 {
		t.Fatalf("DeleteMatching: %d, %v; want 1 flow", n, err)
	}
	// And with a predicate: the TCP flows.
	n, err = conntrack.DeleteMatching(ctx, c, conntrack.Filter{}, func(fl *conntrack.Flow) bool { return fl.Orig.Proto == conntrack.ProtoTCP })
	if err != nil || n != 2 {
		t.Fatalf("DeleteMatching TCP: %d, %v; want 2 flows", n, err)
	}
	rest, err := conntrack.List(ctx, c, conntrack.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != len(testFlows())-3 {
		t.Fatalf("%d flows left, want %d", len(rest), len(testFlows())-3)
	}
	for i := range rest {
		if rest[i].Orig.Proto == conntrack.ProtoTCP || rest[i].Orig.Dst == f.Dst {
			t.Fatalf("%v survived", &rest[i])
		}
	}
}

func TestFlowsIteratorStopsAndReusesTheConn(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	createTestFlows(t, c)
	n := 0
	for fl, err := range conntrack.Flows(ctx, c, conntrack.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if fl.ID == 0 {
			t.Fatalf("flow without an id: %v", &fl)
		}
		n++
		if n == 2 {
			break
		}
	}
	all, err := conntrack.Append(ctx, c, make([]conntrack.Flow, 0, 16), conntrack.Filter{})
	if err != nil || len(all) != len(testFlows()) {
		t.Fatalf("a dump after a broken loop: %d flows, %v; want %d", len(all), err, len(testFlows()))
	}
}
