package rtnl_test

import (
	"encoding/binary"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// ndmsg builds a neighbour message payload by hand, as the kernel sends it.
func ndmsg(fam rtnl.Family, index uint32, state rtnl.NeighState, flags uint8, attrs func(e *nl.AttributeEncoder)) []byte {
	b := make([]byte, 12)
	b[0] = byte(fam)
	binary.NativeEndian.PutUint32(b[4:], index)
	binary.NativeEndian.PutUint16(b[8:], uint16(state))
	b[10] = flags
	e := nl.NewAttributeEncoder(b)
	if attrs != nil {
		attrs(e)
	}
	b, _ = e.Bytes()
	return b
}

// `ip neigh add 10.5.0.9 dev v0 managed` on 6.18: the kernel reports the
// entry INCOMPLETE with NDA_FLAGS_EXT = NTF_EXT_MANAGED.
func TestNeighborDecodesTheManagedFlag(t *testing.T) {
	b := ndmsg(rtnl.FamilyInet, 3, rtnl.NeighIncomplete, 0, func(e *nl.AttributeEncoder) {
		e.Raw(1, addr("10.5.0.9").AsSlice()) // NDA_DST
		e.Uint32(4, 1)                       // NDA_PROBES
		e.Uint32(15, 1)                      // NDA_FLAGS_EXT: NTF_EXT_MANAGED
	})
	n, err := rtnl.DecodeNeighbor(nl.Message{Header: nl.Header{Type: rtnl.TypeNewNeighbor}, Data: b})
	if err != nil {
		t.Fatal(err)
	}
	want := rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, State: rtnl.NeighIncomplete, Dst: addr("10.5.0.9"),
		Probes: 1, FlagsExt: rtnl.NeighExtManaged}
	if n != want {
		t.Errorf("got  %+v\nwant %+v", n, want)
	}
	if !n.Managed() {
		t.Error("Managed() is false")
	}
	if n.FlagsExt = 0; n.Managed() {
		t.Error("Managed() without NTF_EXT_MANAGED")
	}
}

func TestNeighborRoundTripsExtendedFlags(t *testing.T) {
	for _, n := range []rtnl.Neighbor{
		{Family: rtnl.FamilyInet, Index: 3, State: rtnl.NeighIncomplete, Dst: addr("10.5.0.9"), FlagsExt: rtnl.NeighExtManaged},
		{Family: rtnl.FamilyBridge, Index: 5, State: rtnl.NeighReachable, Flags: rtnl.NeighFlagMaster,
			LLAddr: mustHW(t, "02:00:00:00:00:05"), FlagsExt: rtnl.NeighExtLocked, Master: 4},
		{Family: rtnl.FamilyInet6, Index: 3, State: rtnl.NeighStale, Dst: addr("fe80::7")},
	} {
		b, err := n.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got rtnl.Neighbor
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("round trip changed the neighbour:\n got  %+v\n want %+v", got, n)
		}
		// No NDA_FLAGS_EXT without extended flags: kernels before 5.16
		// refuse the attribute.
		if has := hasAttr(b[12:], 15); has != (n.FlagsExt != 0) {
			t.Errorf("%+v: NDA_FLAGS_EXT sent %v", n, has)
		}
	}
}

func hasAttr(b []byte, typ uint16) bool {
	d := nl.NewAttributeDecoder(b)
	for d.Next() {
		if d.Type() == typ {
			return true
		}
	}
	return false
}

func TestNeighborStringIsIPNeighShow(t *testing.T) {
	hw := mustHW(t, "02:00:00:00:00:0c")
	for _, tc := range []struct {
		n    rtnl.Neighbor
		want string
	}{
		{rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.5.0.12"), LLAddr: hw, State: rtnl.NeighReachable,
			Flags: rtnl.NeighFlagRouter}, "10.5.0.12 dev if3 lladdr 02:00:00:00:00:0c router REACHABLE"},
		{rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.5.0.9"), State: rtnl.NeighIncomplete,
			FlagsExt: rtnl.NeighExtManaged, Flags: rtnl.NeighFlagExtLearned}, "10.5.0.9 dev if3 managed extern_learn INCOMPLETE"},
		{rtnl.Neighbor{Family: rtnl.FamilyInet6, Index: 4, Dst: addr("2001:db8::9"), LLAddr: hw, State: rtnl.NeighStale,
			Flags: rtnl.NeighFlagRouter | rtnl.NeighFlagOffloaded}, "2001:db8::9 dev if4 lladdr 02:00:00:00:00:0c router offload STALE"},
		{rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.5.0.14"), Flags: rtnl.NeighFlagProxy},
			"10.5.0.14 dev if3 proxy"},
		{rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.5.0.5")}, "10.5.0.5 dev if3"},
		{rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.5.0.6"), State: rtnl.NeighFailed}, "10.5.0.6 dev if3 FAILED"},
	} {
		if got := tc.n.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	n := rtnl.Neighbor{Family: rtnl.FamilyInet, Index: 3, Dst: addr("10.5.0.9"), FlagsExt: rtnl.NeighExtManaged, State: rtnl.NeighIncomplete}
	names := func(i uint32) string {
		if i == 3 {
			return "v0"
		}
		return ""
	}
	if got, want := string(n.AppendTextNames([]byte("> "), names)), "> 10.5.0.9 dev v0 managed INCOMPLETE"; got != want {
		t.Errorf("AppendTextNames: got %q, want %q", got, want)
	}
}
