package rtnl_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The fuzz targets feed message payloads (the bytes after the netlink
// header) to the decoders. Beyond not panicking, whatever decodes must
// encode, and decode again to the same value. The seed corpus in
// testdata/fuzz holds messages captured from the kernel (see
// TestWriteFuzzCorpus) next to the hand-built values added here. What
// decodes prints (String) and marshals to valid JSON, with and without
// names.

// printable is what the text and JSON forms of a value offer.
type printable interface {
	fmt.Stringer
	json.Marshaler
	AppendJSONNames(b []byte, names func(index uint32) string) []byte
}

func checkForms(t *testing.T, v printable) {
	t.Helper()
	_ = v.String()
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("json.Marshal of %+v: %v", v, err)
	}
	names := func(i uint32) string { return fmt.Sprintf("\"%d\xff\n", i) }
	if b := v.AppendJSONNames(nil, names); !json.Valid(b) {
		t.Fatalf("AppendJSONNames of %+v: invalid JSON %s", v, b)
	}
}

func FuzzDecodeRoute(f *testing.F) {
	for _, tc := range routeCases {
		b, err := tc.r.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// An RTA_EXPIRES of 0xf9303030 seconds, once read as negative.
	f.Add([]byte("000000000000$\x00\f\x0000000000000\xf900000000000000000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r rtnl.Route
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		checkForms(t, &r)
		_ = r.Key()
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", r, err)
		}
		var back rtnl.Route
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", r, err)
		}
		want := r
		if want.Expires < 0 {
			// Past its expiry (RTA_CACHEINFO): no request sends that.
			want.Expires = 0
		}
		if !back.Equal(&want) {
			t.Fatalf("round trip changed the route:\n got  %#v\n want %#v", back, want)
		}
	})
}

func FuzzDecodeLink(f *testing.F) {
	for _, l := range []rtnl.Link{
		{Index: 3, Type: 1, Flags: rtnl.LinkUp, Name: rtnl.MakeName("v0"), Kind: rtnl.MakeName("veth"), MTU: 1500, Master: 4, Link: 2},
		{Index: 1, Type: 772, Name: rtnl.MakeName("lo"), TxQLen: 1000, OperState: rtnl.OperUnknown, Group: 1},
		*fullLink(f),
	} {
		b, err := l.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A loopback's MTU range, sent as zeros; a short IFLA_STATS64; an
	// IFLA_PROP_LIST with an empty name and one without its NUL.
	f.Add(ifinfomsg(0, 1, 0, 0, func(e *nl.AttributeEncoder) {
		e.Uint32(50, 0)
		e.Uint32(51, 0)
		e.Raw(23, make([]byte, 13))
		m := e.BeginNested(52)
		e.Raw(53, nil)
		e.Raw(53, []byte("alt"))
		e.EndNested(m)
	}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var l rtnl.Link
		if err := l.UnmarshalBinary(b); err != nil {
			return
		}
		_ = l.Name.String() + l.Kind.String() + l.Address.String() + l.OperState.String()
		_ = l.AltNames()
		checkForms(t, &l)
		if !l.Equal(&l) {
			t.Fatalf("%+v is not Equal to itself", l)
		}
		enc, err := l.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", l, err)
		}
		var back rtnl.Link
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", l, err)
		}
		if back != l {
			t.Fatalf("round trip changed the link:\n got  %+v\n want %+v", back, l)
		}
	})
}

// FuzzDecodeLinkInfo feeds link payloads to Link.Info. Beyond not
// panicking: what Info returns, SetInfo takes back (unless its encoder
// refuses the values, as it does a VXLAN id the kernel would not send),
// and after that first pass, which drops what requests do not carry (a
// netkit's Primary, a VXLAN's 0 VNI with External), encoding and decoding change
// nothing.
func FuzzDecodeLinkInfo(f *testing.F) {
	for _, info := range linkInfoCases {
		l := rtnl.Link{Index: 4, Name: rtnl.MakeName("k0")}
		if err := l.SetInfo(info); err != nil {
			f.Fatal(err)
		}
		b, err := l.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l rtnl.Link
		if err := l.UnmarshalBinary(b); err != nil {
			return
		}
		info, err := l.Info()
		if err != nil || info == nil {
			return
		}
		_ = info.LinkKind()
		var once rtnl.Link
		if err := once.SetInfo(info); err != nil {
			return
		}
		first, err := once.Info()
		if err != nil {
			t.Fatalf("Info of SetInfo(%#v): %v", info, err)
		}
		var twice rtnl.Link
		if err := twice.SetInfo(first); err != nil {
			t.Fatalf("SetInfo(%#v), from SetInfo(%#v): %v", first, info, err)
		}
		again, err := twice.Info()
		if err != nil {
			t.Fatalf("Info of SetInfo(%#v): %v", first, err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("second round trip changed the info:\n got  %#v\n want %#v", again, first)
		}
		if twice != once {
			t.Fatalf("second round trip changed the link:\n got  %+v\n want %+v", twice, once)
		}
	})
}

func FuzzDecodeIfStats(f *testing.F) {
	for _, s := range []rtnl.IfStats{
		{Index: 2, Mask: rtnl.StatsLink64, HasLink64: true, Link64: fullLink(f).Stats},
		{Index: 3, Mask: rtnl.StatsLink64 | rtnl.StatsLinkXStats},
	} {
		b, err := s.AppendBinary(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s rtnl.IfStats
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := s.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", s, err)
		}
		var back rtnl.IfStats
		if err := back.UnmarshalBinary(enc); err != nil || back != s {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, s)
		}
	})
}

func FuzzDecodeAddress(f *testing.F) {
	for _, a := range []rtnl.Address{
		{Index: 3, Prefix: pfx("10.0.0.1/24"), Broadcast: addr("10.0.0.255"), Label: rtnl.MakeName("v0"), ValidLifetime: rtnl.LifetimeForever},
		{Index: 3, Prefix: pfx("10.0.0.1/32"), Peer: addr("10.0.0.2")},
		{Index: 4, Prefix: pfx("2001:db8::1/64"), Flags: rtnl.AddrNoDAD | rtnl.AddrStablePrivacy, Scope: rtnl.ScopeLink},
	} {
		b, err := a.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a rtnl.Address
		if err := a.UnmarshalBinary(b); err != nil {
			return
		}
		checkForms(t, &a)
		enc, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", a, err)
		}
		var back rtnl.Address
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", a, err)
		}
		if back != a {
			t.Fatalf("round trip changed the address:\n got  %+v\n want %+v", back, a)
		}
	})
}

func FuzzDecodeNeighbor(f *testing.F) {
	for _, n := range []rtnl.Neighbor{
		{Index: 3, Dst: addr("10.0.0.7"), State: rtnl.NeighReachable, Type: rtnl.RouteUnicast},
		{Index: 3, Dst: addr("fe80::7"), State: rtnl.NeighStale, Flags: rtnl.NeighFlagRouter, Probes: 3},
		{Family: rtnl.FamilyBridge, Index: 5, Dst: addr("192.0.2.5"), VLAN: 10, Master: 4, State: rtnl.NeighPermanent},
	} {
		b, err := n.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n rtnl.Neighbor
		if err := n.UnmarshalBinary(b); err != nil {
			return
		}
		_ = n.State.String() + n.LLAddr.String()
		checkForms(t, &n)
		enc, err := n.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", n, err)
		}
		var back rtnl.Neighbor
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", n, err)
		}
		if back != n {
			t.Fatalf("round trip changed the neighbour:\n got  %+v\n want %+v", back, n)
		}
	})
}

func FuzzDecodeFDBEntry(f *testing.F) {
	for _, tc := range fdbCases {
		b, err := tc.e.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e rtnl.FDBEntry
		if err := e.UnmarshalBinary(b); err != nil {
			return
		}
		_ = e.StateName() + e.MAC.String()
		_ = e.FlagNames()
		checkForms(t, &e)
		enc, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", e, err)
		}
		var back rtnl.FDBEntry
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", e, err)
		}
		if back != e {
			t.Fatalf("round trip changed the entry:\n got  %+v\n want %+v", back, e)
		}
	})
}

func FuzzAppendBridgeVLANs(f *testing.F) {
	f.Add([]byte{7, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 26, 0, 8, 0, 2, 0, 8, 0, 7, 0, 8, 0, 2, 0, 16, 0, 9, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := rtnl.AppendBridgeVLANs(nil, b)
		if err != nil {
			return
		}
		// A range expands to at most 4096 VIDs, and each takes 8 bytes.
		if len(vs) > 4096*(len(b)/8+1) {
			t.Fatalf("%d VLANs from %d bytes", len(vs), len(b))
		}
	})
}

// RTA_EXPIRES is seconds as a u32: one past math.MaxInt32 is as far in the
// future, not in the past.
func TestRouteExpiresPastInt32IsFarOff(t *testing.T) {
	r := rtnl.Route{Family: rtnl.FamilyInet6, Dst: netip.MustParsePrefix("2001:db8::/64"), Expires: 1}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte{8, 0, 23, 0, 1, 0, 0, 0}) // RTA_EXPIRES, 1
	if i < 0 {
		t.Fatalf("no RTA_EXPIRES in %x", b)
	}
	binary.NativeEndian.PutUint32(b[i+4:], 0xf9303030)
	var back rtnl.Route
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.Expires != math.MaxInt32 {
		t.Fatalf("Expires %d, want %d", back.Expires, math.MaxInt32)
	}
}

func FuzzDecodeNSID(f *testing.F) {
	for _, tc := range nsidCases {
		f.Add(tc.payload)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n rtnl.NSID
		if err := n.UnmarshalBinary(b); err != nil {
			return
		}
		_ = n.String()
		enc, err := n.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", n, err)
		}
		var back rtnl.NSID
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", n, err)
		}
		if back != n {
			t.Fatalf("round trip changed the id:\n got  %#v\n want %#v", back, n)
		}
	})
}
