package rtnl_test

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// stats64 is a struct rtnl_link_stats64 of n fields holding 1, 2, 3 …
func stats64(n int) []byte {
	b := make([]byte, 0, 8*n)
	for i := range n {
		b = binary.NativeEndian.AppendUint64(b, uint64(i+1))
	}
	return b
}

// The attributes of a device's link message that pollers read, as a 6.18
// kernel sends them (rtnl_fill_ifinfo), each decoded into its field.
func TestDecodeLinkReadsDetailsCountersAndAltNames(t *testing.T) {
	b := ifinfomsg(0, 2, rtnl.LinkUp, 0, func(e *nl.AttributeEncoder) {
		e.String(3, "eth0")
		e.Uint32(31, 8)      // IFLA_NUM_TX_QUEUES
		e.Uint32(32, 4)      // IFLA_NUM_RX_QUEUES
		e.Uint32(35, 5)      // IFLA_CARRIER_CHANGES
		e.Uint32(40, 65535)  // IFLA_GSO_MAX_SEGS
		e.Uint32(41, 65536)  // IFLA_GSO_MAX_SIZE
		e.Uint32(47, 3)      // IFLA_CARRIER_UP_COUNT
		e.Uint32(48, 2)      // IFLA_CARRIER_DOWN_COUNT
		e.Uint32(50, 68)     // IFLA_MIN_MTU
		e.Uint32(51, 9702)   // IFLA_MAX_MTU
		e.Uint32(58, 131072) // IFLA_GRO_MAX_SIZE
		e.Uint32(59, 524280) // IFLA_TSO_MAX_SIZE
		e.Uint32(60, 4096)   // IFLA_TSO_MAX_SEGS
		e.Uint32(63, 65000)  // IFLA_GSO_IPV4_MAX_SIZE
		e.Uint32(64, 64000)  // IFLA_GRO_IPV4_MAX_SIZE
		e.Uint32(21, 7)      // IFLA_NUM_VF
		e.Raw(1, []byte{2, 0, 0, 0, 0, 9})
		e.Raw(54, []byte{0, 0x1b, 0x21, 0xa, 0xb, 0xc}) // IFLA_PERM_ADDRESS
		e.String(56, "0000:01:00.0")                    // IFLA_PARENT_DEV_NAME
		e.String(57, "pci")                             // IFLA_PARENT_DEV_BUS_NAME
		e.Raw(7, make([]byte, 96))                      // IFLA_STATS: the 32-bit counters, ignored
		e.Raw(42, nil)                                  // IFLA_PAD before the 64-bit counters
		e.Raw(23, stats64(25))                          // IFLA_STATS64
		m := e.BeginNested(52)                          // IFLA_PROP_LIST
		e.String(53, "enp1s0")                          // IFLA_ALT_IFNAME
		e.String(53, strings.Repeat("x", 127))
		e.EndNested(m)
	})
	var l rtnl.Link
	if err := l.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want uint32
	}{
		{"NumTxQueues", l.NumTxQueues, 8}, {"NumRxQueues", l.NumRxQueues, 4},
		{"CarrierChanges", l.CarrierChanges, 5}, {"CarrierUpCount", l.CarrierUpCount, 3}, {"CarrierDownCount", l.CarrierDownCount, 2},
		{"GSOMaxSegs", l.GSOMaxSegs, 65535}, {"GSOMaxSize", l.GSOMaxSize, 65536}, {"GROMaxSize", l.GROMaxSize, 131072},
		{"TSOMaxSize", l.TSOMaxSize, 524280}, {"TSOMaxSegs", l.TSOMaxSegs, 4096},
		{"GSOIPv4MaxSize", l.GSOIPv4MaxSize, 65000}, {"GROIPv4MaxSize", l.GROIPv4MaxSize, 64000},
		{"MinMTU", l.MinMTU, 68}, {"MaxMTU", l.MaxMTU, 9702}, {"NumVF", l.NumVF, 7},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	if l.PermAddress != mustHW(t, "00:1b:21:0a:0b:0c") || l.ParentDev != "0000:01:00.0" || l.ParentBus != "pci" {
		t.Errorf("PermAddress %v, ParentDev %q, ParentBus %q", l.PermAddress, l.ParentDev, l.ParentBus)
	}
	if !l.HasStats || l.Stats.RxPackets != 1 || l.Stats.TxBytes != 4 || l.Stats.Multicast != 9 ||
		l.Stats.RxNoHandler != 24 || l.Stats.RxOtherhostDropped != 25 {
		t.Errorf("Stats %+v (HasStats %v), want 1, 2, 3 … in the kernel's order", l.Stats, l.HasStats)
	}
	alt := l.AltNames()
	if len(alt) != 2 || alt[0] != "enp1s0" || alt[1] != strings.Repeat("x", 127) {
		t.Errorf("AltNames() = %q", alt)
	}
	if !l.HasAltName("enp1s0") || l.HasAltName("enp1s") || l.HasAltName("") {
		t.Error("HasAltName does not match AltNames")
	}
	// The text form shows what ip link show does: the permanent address
	// (it differs from the address) and the alternative names.
	text := l.String()
	for _, w := range []string{" permaddr 00:1b:21:0a:0b:0c", " altname enp1s0 altname xxx"} {
		if !strings.Contains(text, w) {
			t.Errorf("String() = %q, without %q", text, w)
		}
	}
	if strings.Contains(text, "9702") || strings.Contains(text, "pci") {
		t.Errorf("String() = %q shows what ip shows only with -details", text)
	}
}

// An older kernel's struct rtnl_link_stats64 is shorter (23 fields before
// rx_nohandler, 24 before rx_otherhost_dropped): the missing counters are
// 0. A longer one from a newer kernel keeps the known fields.
func TestLinkStatsOfOtherSizes(t *testing.T) {
	for _, n := range []int{23, 24, 25, 26, 1, 0} {
		var s rtnl.IfStats
		b := make([]byte, 12)
		binary.NativeEndian.PutUint32(b[4:], 5)
		e := nl.NewAttributeEncoder(b)
		e.Raw(1, stats64(n)) // IFLA_STATS_LINK_64
		b, _ = e.Bytes()
		if err := s.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		// Field i of the struct holds i+1 where the kernel sent it.
		var want rtnl.LinkStats
		v := reflect.ValueOf(&want).Elem()
		for i := range min(n, v.NumField()) {
			v.Field(i).SetUint(uint64(i + 1))
		}
		if !s.HasLink64 || s.Link64 != want || s.Index != 5 {
			t.Errorf("%d fields: %+v, want %+v", n, s, want)
		}
	}
}

func TestIfStatsRoundTripsAndChecksTheType(t *testing.T) {
	s := rtnl.IfStats{Family: rtnl.FamilyAll, Index: 7, Mask: rtnl.StatsLink64, HasLink64: true,
		Link64: rtnl.LinkStats{RxBytes: 1 << 40, TxPackets: 3, RxOtherhostDropped: 9}}
	b, err := s.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rtnl.DecodeIfStats(nl.Message{Header: nl.Header{Type: rtnl.TypeNewStats}, Data: b})
	if err != nil || got != s {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, s)
	}
	if _, err := rtnl.DecodeIfStats(nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: b}); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("an RTM_NEWLINK: %v, want ErrMessageType", err)
	}
	if err := got.UnmarshalBinary(b[:11]); !errors.Is(err, nl.ErrShortMessage) {
		t.Errorf("11 bytes: %v, want nl.ErrShortMessage", err)
	}
}

func TestStatsRequestAsksForOneLinkOrDumps(t *testing.T) {
	for _, tc := range []struct {
		index uint32
		mask  rtnl.StatsMask
		dump  bool
	}{{0, rtnl.StatsLink64, true}, {3, rtnl.StatsLink64 | rtnl.StatsAFSpec, false}} {
		m := rtnl.StatsRequest(tc.index, tc.mask)
		if m.Header.Type != rtnl.TypeGetStats || (m.Header.Flags&nl.FlagDump == nl.FlagDump) != tc.dump || len(m.Data) != 12 {
			t.Errorf("%+v: header %+v, %d bytes", tc, m.Header, len(m.Data))
		}
		if i, mask := binary.NativeEndian.Uint32(m.Data[4:]), binary.NativeEndian.Uint32(m.Data[8:]); i != tc.index || rtnl.StatsMask(mask) != tc.mask {
			t.Errorf("%+v: ifindex %d, filter_mask %#x", tc, i, mask)
		}
	}
	if rtnl.StatsLink64 != 1 || rtnl.StatsAFSpec != 1<<4 {
		t.Error("IFLA_STATS_FILTER_BIT(IFLA_STATS_LINK_64) is 1, of IFLA_STATS_AF_SPEC 16")
	}
}

func TestAltNamesRequest(t *testing.T) {
	m, err := rtnl.AltNamesRequest(rtnl.TypeNewLinkProp, 4, "a", strings.Repeat("b", 127))
	if err != nil {
		t.Fatal(err)
	}
	var l rtnl.Link
	if err := l.UnmarshalBinary(m.Data); err != nil {
		t.Fatal(err)
	}
	if m.Header.Type != 108 || l.Index != 4 || len(l.AltNames()) != 2 || !l.HasAltName("a") {
		t.Errorf("request %+v decodes as %+v with %q", m.Header, l, l.AltNames())
	}
	for _, bad := range [][]string{{""}, {strings.Repeat("b", 128)}, {"ok", ""}} {
		if _, err := rtnl.AltNamesRequest(rtnl.TypeDelLinkProp, 4, bad...); err == nil {
			t.Errorf("names %q accepted", bad)
		}
	}
	if _, err := rtnl.AltNamesRequest(rtnl.TypeNewLink, 4, "a"); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("RTM_NEWLINK: %v", err)
	}
}

// The dump asks the kernel to leave out the per-family counters, and
// for the virtual functions only when told to.
func TestLinkFilterExtMask(t *testing.T) {
	for _, tc := range []struct {
		f    rtnl.LinkFilter
		mask uint32
	}{{rtnl.LinkFilter{}, 1 << 3}, {rtnl.LinkFilter{VF: true}, 1<<3 | 1}, {rtnl.LinkFilter{Name: "v0", VF: true}, 1<<3 | 1}} {
		req := tc.f.Request()
		d := nl.NewAttributeDecoder(req.Data[16:])
		var mask uint32
		found := false
		for d.Next() {
			if d.Type() == 29 { // IFLA_EXT_MASK
				mask, found = d.Uint32(), true
			}
		}
		if !found || mask != tc.mask {
			t.Errorf("%+v: IFLA_EXT_MASK %#x (sent %v), want %#x", tc.f, mask, found, tc.mask)
		}
	}
}

// A Link as dumped serves as a template: NewLinkRequest leaves out what
// the kernel reports but refuses or ignores in a request, and keeps the
// offload limits it takes at creation.
func TestNewLinkRequestLeavesOutTheKernelsState(t *testing.T) {
	l := *fullLink(t)
	l.Name = rtnl.MakeName("copy")
	m, err := rtnl.NewLinkRequest(l, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got rtnl.Link
	if err := got.UnmarshalBinary(m.Data); err != nil {
		t.Fatal(err)
	}
	if got.HasStats || !got.PermAddress.IsZero() || got.ParentDev != "" || got.ParentBus != "" || len(got.AltNames()) != 0 ||
		got.MinMTU != 0 || got.MaxMTU != 0 || got.CarrierChanges != 0 || got.CarrierUpCount != 0 || got.NumTxQueues != 0 ||
		got.TSOMaxSize != 0 || got.TSOMaxSegs != 0 {
		t.Errorf("NewLinkRequest sent the kernel's state: %+v", got)
	}
	if got.GSOMaxSize != l.GSOMaxSize || got.GSOMaxSegs != l.GSOMaxSegs || got.GROMaxSize != l.GROMaxSize ||
		got.GSOIPv4MaxSize != l.GSOIPv4MaxSize || got.GROIPv4MaxSize != l.GROIPv4MaxSize {
		t.Errorf("NewLinkRequest left out the offload limits: %+v", got)
	}
}

// Equal is == but for the traffic counters.
func TestLinkEqualLeavesOutTheCounters(t *testing.T) {
	a := *fullLink(t)
	b := a
	b.Stats.RxBytes++
	b.HasStats = false
	if !a.Equal(&b) || a == b {
		t.Error("links that differ in their counters only are not Equal")
	}
	for _, change := range []func(l *rtnl.Link){
		func(l *rtnl.Link) { l.CarrierChanges++ },
		func(l *rtnl.Link) { l.SetAltNames("enp1s0") },
		func(l *rtnl.Link) { l.GSOMaxSize = 1 },
		func(l *rtnl.Link) { l.PermAddress = rtnl.HardwareAddr{} },
	} {
		c := a
		change(&c)
		if a.Equal(&c) {
			t.Errorf("Equal misses a change: %+v", c)
		}
	}
}

// A count the kernel sent as 0 prints, as ip prints it (a loopback's
// min_mtu and max_mtu), and round-trips; one it did not send does not.
func TestLinkCountsSentAsZeroPrint(t *testing.T) {
	b := ifinfomsg(0, 1, 0, 0, func(e *nl.AttributeEncoder) {
		e.String(3, "lo")
		e.Uint32(50, 0)
		e.Uint32(51, 0)
	})
	var l rtnl.Link
	if err := l.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	js, _ := l.MarshalJSON()
	if !strings.Contains(string(js), `"min_mtu":0,"max_mtu":0`) || strings.Contains(string(js), "gso_max_size") {
		t.Errorf("JSON %s", js)
	}
	enc, _ := l.MarshalBinary()
	var back rtnl.Link
	if err := back.UnmarshalBinary(enc); err != nil || back != l {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, l)
	}
	if (rtnl.Link{Name: rtnl.MakeName("lo")}) == l {
		t.Error("the zeros the kernel sent are not kept")
	}
}
