package rtnl_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// fdbCases are forwarding entries that must survive encode → decode
// unchanged, with the text bridge fdb show prints for them.
var fdbCases = []struct {
	name string
	e    rtnl.FDBEntry
	text string
}{
	{"a port's own address in its bridge",
		rtnl.FDBEntry{Index: 3, Master: 2, MAC: hw("02:00:00:00:00:01"), State: rtnl.NeighPermanent, HasCacheInfo: true, Used: 10, Updated: 20},
		"02:00:00:00:00:01 dev if3 master if2 permanent"},
	{"a learnt entry of a VLAN",
		rtnl.FDBEntry{Index: 3, Master: 2, MAC: hw("02:00:00:00:00:02"), VLAN: 10, State: rtnl.NeighReachable, Flags: rtnl.NeighFlagExtLearned},
		"02:00:00:00:00:02 dev if3 vlan 10 extern_learn master if2"},
	{"a static sticky entry, locked",
		rtnl.FDBEntry{Index: 3, Master: 2, MAC: hw("02:00:00:00:00:03"), State: rtnl.NeighNoARP, Flags: rtnl.NeighFlagSticky, FlagsExt: rtnl.NeighExtLocked},
		"02:00:00:00:00:03 dev if3 sticky locked master if2 static"},
	{"an address on a device's multicast list",
		rtnl.FDBEntry{Index: 4, MAC: hw("33:33:00:00:00:01"), State: rtnl.NeighPermanent, Flags: rtnl.NeighFlagSelf},
		"33:33:00:00:00:01 dev if4 self permanent"},
	{"a VXLAN remote with port, VNI and device",
		rtnl.FDBEntry{Index: 5, MAC: hw("00:00:00:00:00:00"), Dst: addr("10.0.0.2"), Port: 4790, VNI: 7, Via: 3,
			State: rtnl.NeighPermanent, Flags: rtnl.NeighFlagSelf, HasCacheInfo: true},
		"00:00:00:00:00:00 dev if5 dst 10.0.0.2 port 4790 vni 7 via if3 self permanent"},
	{"a VXLAN remote over IPv6 on an external device",
		rtnl.FDBEntry{Index: 6, MAC: hw("02:00:00:00:00:06"), Dst: addr("2001:db8::6"), SrcVNI: 99, VNI: 5,
			State: rtnl.NeighReachable, Flags: rtnl.NeighFlagSelf | rtnl.NeighFlagRouter},
		"02:00:00:00:00:06 dev if6 dst 2001:db8::6 vni 5 src_vni 99 self router"},
	{"a VXLAN entry through a nexthop group",
		rtnl.FDBEntry{Index: 5, MAC: hw("02:00:00:00:00:07"), NHID: 10, State: rtnl.NeighNoARP, Flags: rtnl.NeighFlagSelf | rtnl.NeighFlagExtLearned},
		"02:00:00:00:00:07 dev if5 nhid 10 self extern_learn static"},
	{"an expired entry not yet collected",
		rtnl.FDBEntry{Index: 3, Master: 2, MAC: hw("02:00:00:00:00:08"), State: rtnl.NeighStale},
		"02:00:00:00:00:08 dev if3 master if2 stale"},
}

func hw(s string) rtnl.HardwareAddr {
	a, err := rtnl.ParseHardwareAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func TestFDBEntryRoundTripsAndPrints(t *testing.T) {
	for _, tc := range fdbCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := rtnl.DecodeFDBEntry(nl.Message{Header: nl.Header{Type: rtnl.TypeNewNeighbor}, Data: b})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.e {
				t.Fatalf("round trip:\n got  %+v\n want %+v", got, tc.e)
			}
			if s := got.String(); s != tc.text {
				t.Errorf("String() = %q, want %q", s, tc.text)
			}
			if got.IsBridgeEntry() != (tc.e.Master != 0) {
				t.Errorf("IsBridgeEntry() = %v", got.IsBridgeEntry())
			}
		})
	}
}

// The kernel sends NDA_PORT in network order, and the rest in host order.
func TestFDBEntryDecodesKernelLayout(t *testing.T) {
	b := make([]byte, 12)
	b[0] = byte(rtnl.FamilyBridge)
	binary.NativeEndian.PutUint32(b[4:], 9)
	binary.NativeEndian.PutUint16(b[8:], uint16(rtnl.NeighPermanent))
	b[10] = rtnl.NeighFlagSelf
	e := nl.NewAttributeEncoder(b)
	e.Raw(2, []byte{2, 0, 0, 0, 0, 1})
	e.Raw(1, []byte{192, 0, 2, 1})
	e.Raw(6, []byte{0x12, 0xb6}) // 4790
	e.Uint32(7, 7)
	b, _ = e.Bytes()
	var got rtnl.FDBEntry
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	want := rtnl.FDBEntry{Index: 9, MAC: hw("02:00:00:00:00:01"), Dst: addr("192.0.2.1"), Port: 4790, VNI: 7,
		State: rtnl.NeighPermanent, Flags: rtnl.NeighFlagSelf}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestFDBEntryRefusesMalformedMessages(t *testing.T) {
	good, _ := fdbCases[0].e.MarshalBinary()
	short := append([]byte(nil), good[:12]...)
	e := nl.NewAttributeEncoder(short)
	e.Raw(3, make([]byte, 8)) // NDA_CACHEINFO, half of it
	short, _ = e.Bytes()
	inet := append([]byte(nil), good...)
	inet[0] = byte(rtnl.FamilyInet)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"shorter than ndmsg", good[:7], nl.ErrShortMessage},
		{"a short NDA_CACHEINFO", short, nl.ErrShortMessage},
		{"an IPv4 neighbour", inet, rtnl.ErrMessageType},
		{"an attribute past the end", append(append([]byte(nil), good[:12]...), 40, 0, 2, 0, 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e rtnl.FDBEntry
			err := e.UnmarshalBinary(tc.b)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("%v, want an error matching %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "rtnl: ") && !errors.Is(err, rtnl.ErrMessageType) {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}
	if _, err := rtnl.DecodeFDBEntry(nl.Message{Header: nl.Header{Type: rtnl.TypeNewRoute}, Data: good}); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("a route message: %v, want ErrMessageType", err)
	}
}
