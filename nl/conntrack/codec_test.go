package conntrack_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
)

// kernelUDP is an IPCTNL_MSG_CT_NEW payload as the kernel sends it for a
// dump, built attribute by attribute with nl's encoder (not with the
// package's), in the kernel's order.
func kernelUDP(t testing.TB) []byte {
	t.Helper()
	be16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	be64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	tuple := func(e *nl.AttributeEncoder, typ uint16, src, dst string, sport, dport uint16) {
		e.Nested(typ, func(e *nl.AttributeEncoder) {
			e.Nested(1, func(e *nl.AttributeEncoder) { // CTA_TUPLE_IP
				e.Addr(1, netip.MustParseAddr(src))
				e.Addr(2, netip.MustParseAddr(dst))
			})
			e.Nested(2, func(e *nl.AttributeEncoder) { // CTA_TUPLE_PROTO
				e.Uint8(1, 17)
				e.Raw(2, be16(sport))
				e.Raw(3, be16(dport))
			})
		})
	}
	e := nl.NewAttributeEncoder([]byte{2, 0, 0, 0})
	tuple(e, 1, "10.0.0.1", "10.0.0.2", 4000, 53)
	tuple(e, 2, "10.0.0.2", "10.0.0.1", 53, 4000)
	e.Raw(18, be16(7))                         // CTA_ZONE
	e.Nested(9, func(e *nl.AttributeEncoder) { // CTA_COUNTERS_ORIG
		e.Raw(1, be64(3))
		e.Raw(2, be64(252))
	})
	e.Nested(10, func(e *nl.AttributeEncoder) { // CTA_COUNTERS_REPLY
		e.Raw(1, be64(1))
		e.Raw(2, be64(84))
	})
	e.Nested(20, func(e *nl.AttributeEncoder) { // CTA_TIMESTAMP
		e.Raw(1, be64(1_700_000_000_000_000_000))
	})
	e.Raw(3, be32(uint32(conntrack.StatusSeenReply|conntrack.StatusConfirmed))) // CTA_STATUS
	e.Raw(8, be32(0x42))                                                        // CTA_MARK
	e.Raw(12, be32(0xdeadbeef))                                                 // CTA_ID
	e.Raw(11, be32(1))                                                          // CTA_USE
	e.Raw(7, be32(29))                                                          // CTA_TIMEOUT
	labels := make([]byte, 16)
	labels[0] = 0x05 // labels 0 and 2
	e.Raw(22, labels)
	e.Raw(99, []byte{1, 2, 3}) // an attribute of a later kernel
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFlowReadsEveryKernelAttribute(t *testing.T) {
	m := nl.Message{Header: nl.Header{Type: conntrack.TypeNew}, Data: kernelUDP(t)}
	f, err := conntrack.DecodeFlow(m)
	if err != nil {
		t.Fatal(err)
	}
	want := conntrack.Flow{
		Family: conntrack.FamilyIPv4,
		Orig: conntrack.Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
			Proto: conntrack.ProtoUDP, SrcPort: 4000, DstPort: 53},
		Reply: conntrack.Tuple{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"),
			Proto: conntrack.ProtoUDP, SrcPort: 53, DstPort: 4000},
		Zone:          7,
		CountersOrig:  conntrack.Counters{Packets: 3, Bytes: 252},
		CountersReply: conntrack.Counters{Packets: 1, Bytes: 84},
		Start:         1_700_000_000_000_000_000,
		Status:        conntrack.StatusSeenReply | conntrack.StatusConfirmed,
		Mark:          0x42,
		ID:            0xdeadbeef,
		Use:           1,
		Timeout:       29,
	}
	want.Labels.Set(0)
	want.Labels.Set(2)
	if !f.Equal(&want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", f, want)
	}
	if !f.Labels.Has(2) || f.Labels.Has(1) {
		t.Errorf("labels %x: want 0 and 2 only", f.Labels)
	}
	if got := f.StartTime().UnixNano(); got != want.Start {
		t.Errorf("StartTime %d, want %d", got, want.Start)
	}
	if !f.StopTime().IsZero() {
		t.Errorf("StopTime %v, want the zero time", f.StopTime())
	}
}

var flowCases = []struct {
	name string
	f    conntrack.Flow
	text string
}{
	{
		name: "udp",
		f: conntrack.Flow{
			Family: conntrack.FamilyIPv4,
			Orig:   conntrack.Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: conntrack.ProtoUDP, SrcPort: 4000, DstPort: 53},
			Reply:  conntrack.Tuple{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"), Proto: conntrack.ProtoUDP, SrcPort: 53, DstPort: 4000},
			Status: conntrack.StatusConfirmed, Timeout: 29, Use: 1, ID: 7,
		},
		text: "ipv4 2 udp 17 29 src=10.0.0.1 dst=10.0.0.2 sport=4000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=4000 mark=0 use=1 id=7",
	},
	{
		name: "tcp established with counters",
		f: conntrack.Flow{
			Family: conntrack.FamilyIPv6,
			Orig:   conntrack.Tuple{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Proto: conntrack.ProtoTCP, SrcPort: 40000, DstPort: 443},
			Reply:  conntrack.Tuple{Src: netip.MustParseAddr("2001:db8::2"), Dst: netip.MustParseAddr("2001:db8::1"), Proto: conntrack.ProtoTCP, SrcPort: 443, DstPort: 40000},
			Status: conntrack.StatusSeenReply | conntrack.StatusAssured | conntrack.StatusConfirmed, Timeout: 431999,
			Mark: 5, Zone: 3, Use: 1,
			CountersOrig:  conntrack.Counters{Packets: 10, Bytes: 1000},
			CountersReply: conntrack.Counters{Packets: 8, Bytes: 9000},
			TCP:           conntrack.TCPInfo{State: conntrack.TCPEstablished, WScaleOrig: 7, WScaleReply: 7, FlagsOrig: [2]uint8{0x23, 0x23}, FlagsReply: [2]uint8{0x23, 0x23}},
			Start:         1, Stop: 2, EventTime: 3,
		},
		text: "ipv6 10 tcp 6 431999 ESTABLISHED src=2001:db8::1 dst=2001:db8::2 sport=40000 dport=443 packets=10 bytes=1000 src=2001:db8::2 dst=2001:db8::1 sport=443 dport=40000 packets=8 bytes=9000 [ASSURED] mark=5 zone=3 use=1",
	},
	{
		name: "icmp echo",
		f: conntrack.Flow{
			Family: conntrack.FamilyIPv4,
			Orig:   conntrack.Tuple{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), Proto: conntrack.ProtoICMP, ICMPType: 8, ICMPID: 77},
			Reply:  conntrack.Tuple{Src: netip.MustParseAddr("192.0.2.2"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: conntrack.ProtoICMP, ICMPType: 0, ICMPID: 77},
			Status: conntrack.StatusSeenReply, Timeout: 30, Helper: "ftp",
		},
		text: "ipv4 2 icmp 1 30 src=192.0.2.1 dst=192.0.2.2 type=8 code=0 id=77 src=192.0.2.2 dst=192.0.2.1 type=0 code=0 id=77 mark=0 helper=ftp use=0",
	},
	{
		name: "icmpv6 with directional zones and labels",
		f: conntrack.Flow{
			Family: conntrack.FamilyIPv6,
			Orig:   conntrack.Tuple{Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("fe80::2"), Proto: conntrack.ProtoICMPv6, ICMPType: 128, ICMPID: 1, Zone: 4},
			Reply:  conntrack.Tuple{Src: netip.MustParseAddr("fe80::2"), Dst: netip.MustParseAddr("fe80::1"), Proto: conntrack.ProtoICMPv6, ICMPType: 129, ICMPID: 1},
			Labels: conntrack.Labels{15: 0x80},
		},
		text: "ipv6 10 icmpv6 58 0 src=fe80::1 dst=fe80::2 type=128 code=0 id=1 zone=4 [UNREPLIED] src=fe80::2 dst=fe80::1 type=129 code=0 id=1 mark=0 labels=0x00000000000000000000000000000080 use=0",
	},
	{
		name: "orig only, protocol without ports",
		f: conntrack.Flow{
			Family: conntrack.FamilyIPv4,
			Orig:   conntrack.Tuple{Src: netip.MustParseAddr("10.1.1.1"), Dst: netip.MustParseAddr("10.1.1.2"), Proto: 253},
		},
		text: "ipv4 2 unknown 253 0 src=10.1.1.1 dst=10.1.1.2 [UNREPLIED] mark=0 use=0",
	},
}

func TestFlowRoundTrip(t *testing.T) {
	for _, tc := range flowCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.f.Message(conntrack.TypeNew, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := conntrack.DecodeFlow(m)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.f {
				t.Fatalf("round trip\n%+v\nwant\n%+v", got, tc.f)
			}
			if s := got.String(); s != tc.text {
				t.Errorf("String\n%s\nwant\n%s", s, tc.text)
			}
		})
	}
}

func TestFlowEncodesAFamilyFromItsAddresses(t *testing.T) {
	f := flowCases[0].f
	f.Family = conntrack.FamilyAll
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != byte(conntrack.FamilyIPv4) {
		t.Fatalf("nfgen_family %d, want %d", b[0], conntrack.FamilyIPv4)
	}
}

func TestFlowEncodingRefusesMixedFamilies(t *testing.T) {
	f := flowCases[0].f
	f.Reply.Src = netip.MustParseAddr("2001:db8::1")
	if _, err := f.MarshalBinary(); err == nil {
		t.Fatal("an IPv6 address in an IPv4 flow encoded without an error")
	}
}

func TestDecodeFlowErrors(t *testing.T) {
	good := kernelUDP(t)
	labels := func(n int) []byte {
		e := nl.NewAttributeEncoder([]byte{2, 0, 0, 0})
		e.Raw(22, make([]byte, n))
		b, _ := e.Bytes()
		return b
	}
	v6InV4 := func() []byte {
		e := nl.NewAttributeEncoder([]byte{2, 0, 0, 0})
		e.Nested(1, func(e *nl.AttributeEncoder) {
			e.Nested(1, func(e *nl.AttributeEncoder) { e.Addr(3, netip.MustParseAddr("2001:db8::1")) })
		})
		b, _ := e.Bytes()
		return b
	}
	for _, tc := range []struct {
		name string
		typ  uint16
		b    []byte
		want error
	}{
		{"short nfgenmsg", conntrack.TypeNew, []byte{2, 0}, nl.ErrShortMessage},
		{"attribute past the end", conntrack.TypeNew, append(good[:len(good):len(good)], 0xff, 0, 1, 0), nil},
		{"wrong message type", 0x200, good, conntrack.ErrMessageType},
		{"labels of 8 bytes", conntrack.TypeNew, labels(8), nil},
		{"IPv6 address in an IPv4 flow", conntrack.TypeNew, v6InV4(), nil},
		{"truncated nest", conntrack.TypeNew, good[:30], nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conntrack.DecodeFlow(nl.Message{Header: nl.Header{Type: tc.typ}, Data: tc.b})
			if err == nil {
				t.Fatal("decoded without an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want one matching %v", err, tc.want)
			}
		})
	}
}

func TestDecodeFlowDoesNotAllocate(t *testing.T) {
	b := kernelUDP(t)
	var f conntrack.Flow
	n := testing.AllocsPerRun(100, func() {
		if err := f.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per decode, want 0", n)
	}
}

func TestTupleReverse(t *testing.T) {
	o := flowCases[2].f.Orig
	if r := o.Reverse(); r != flowCases[2].f.Reply {
		t.Fatalf("Reverse of %v is %v, want %v", o, r, flowCases[2].f.Reply)
	}
	u := flowCases[0].f.Orig
	if r := u.Reverse(); r != flowCases[0].f.Reply {
		t.Fatalf("Reverse of %v is %v, want %v", u, r, flowCases[0].f.Reply)
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[conntrack.Status]string{
		0: "0",
		conntrack.StatusSeenReply | conntrack.StatusAssured | conntrack.StatusConfirmed: "SEEN_REPLY|ASSURED|CONFIRMED",
		conntrack.StatusHWOffload | 1<<20:                                               "HW_OFFLOAD|0x100000",
	} {
		if got := s.String(); got != want {
			t.Errorf("Status(%#x).String() = %q, want %q", uint32(s), got, want)
		}
	}
	if got := conntrack.TCPState(42).String(); got != "42" {
		t.Errorf("TCPState(42) = %q", got)
	}
	if got := conntrack.TCPTimeWait.String(); got != "TIME_WAIT" {
		t.Errorf("TCPTimeWait = %q", got)
	}
	if !strings.Contains(flowCases[1].f.Orig.String(), "sport=40000") {
		t.Errorf("Tuple.String %q lacks the port", flowCases[1].f.Orig.String())
	}
}

func msg(typ, flags uint16, b []byte) nl.Message {
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}
}

func TestDecodeEventTellsTheTypeFromTheHeader(t *testing.T) {
	b := kernelUDP(t)
	for _, tc := range []struct {
		typ, flags uint16
		want       conntrack.EventType
	}{
		{conntrack.TypeNew, nl.FlagCreate | nl.FlagExcl, conntrack.EventNew},
		{conntrack.TypeNew, 0, conntrack.EventUpdate},
		{conntrack.TypeDelete, 0, conntrack.EventDestroy},
	} {
		ev, err := conntrack.DecodeEvent(msg(tc.typ, tc.flags, b))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != tc.want || ev.Flow.Orig.DstPort != 53 {
			t.Errorf("type %#x flags %#x: got %v, want %v", tc.typ, tc.flags, ev.Type, tc.want)
		}
		if !strings.HasPrefix(ev.String(), "["+tc.want.String()+"] ipv4 2 udp 17 29 ") {
			t.Errorf("String %q", ev.String())
		}
	}
	if _, err := conntrack.DecodeEvent(msg(conntrack.TypeGetStats, 0, b)); !errors.Is(err, conntrack.ErrMessageType) {
		t.Errorf("IPCTNL_MSG_CT_GET_STATS as an event: %v, want ErrMessageType", err)
	}
}
