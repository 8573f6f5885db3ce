package rtnl_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// ruleCases are rules that must survive encode → decode unchanged, each
// with the line ip rule show prints for it and the object ip -j prints.
var ruleCases = []struct {
	name string
	r    rtnl.Rule
	text string
	json string
}{
	{"local rule", rtnl.Rule{Family: rtnl.FamilyInet, Table: rtnl.TableLocal, Action: rtnl.RuleActionTable, Protocol: rtnl.ProtoKernel, Flags: rtnl.RulePermanent},
		"0: from all lookup local", `{"priority":0,"src":"all","table":"local"}`},
	{"source prefix", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 100, Src: pfx("10.0.0.0/8"), Table: 10, Action: rtnl.RuleActionTable},
		"100: from 10.0.0.0/8 lookup 10", `{"priority":100,"src":"10.0.0.0","srclen":8,"table":"10"}`},
	{"host source, destination, table above 255", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 101, Src: pfx("10.0.0.1/32"), Dst: pfx("192.0.2.0/24"), Table: 1000, Action: rtnl.RuleActionTable},
		"101: from 10.0.0.1 to 192.0.2.0/24 lookup 1000", `{"priority":101,"src":"10.0.0.1","dst":"192.0.2.0","dstlen":24,"table":"1000"}`},
	{"inverted", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 102, Src: pfx("10.1.0.0/16"), Table: rtnl.TableMain, Action: rtnl.RuleActionTable, Flags: rtnl.RuleInvert},
		"102: not from 10.1.0.0/16 lookup main", `{"priority":102,"not":null,"src":"10.1.0.0","srclen":16,"table":"main"}`},
	{"tos", rtnl.Rule{Family: rtnl.FamilyInet6, Priority: 103, TOS: 0x20, Table: 20, Action: rtnl.RuleActionTable},
		"103: from all tos CS1 lookup 20", `{"priority":103,"src":"all","tos":"CS1","table":"20"}`},
	{"fwmark without mask", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 104, Mark: 0x10, Mask: 0xffffffff, Table: 21, Action: rtnl.RuleActionTable},
		"104: from all fwmark 0x10 lookup 21", `{"priority":104,"src":"all","fwmark":"0x10","table":"21"}`},
	{"fwmark 0 under a mask", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 106, Mask: 0xff, Table: 22, Action: rtnl.RuleActionTable},
		"106: from all fwmark 0/0xff lookup 22", `{"priority":106,"src":"all","fwmark":"0","fwmask":"0xff","table":"22"}`},
	{"iif detached, oif", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 109, IIFName: rtnl.MakeName("nosuch"), OIFName: rtnl.MakeName("v1"), Table: 25, Action: rtnl.RuleActionTable, Flags: rtnl.RuleIIFDetached},
		"109: from all iif nosuch [detached] oif v1 lookup 25", `{"priority":109,"src":"all","iif":"nosuch","iif_detached":null,"oif":"v1","table":"25"}`},
	{"suppress_prefixlength 0", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 110, Table: rtnl.TableMain, Action: rtnl.RuleActionTable, HasSuppressPrefixLen: true},
		"110: from all lookup main suppress_prefixlength 0", `{"priority":110,"src":"all","table":"main","suppress_prefixlen":0}`},
	{"suppress_ifgroup", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 111, Table: rtnl.TableMain, Action: rtnl.RuleActionTable, SuppressIfGroup: 5, HasSuppressIfGroup: true},
		"111: from all lookup main suppress_ifgroup 5", `{"priority":111,"src":"all","table":"main","suppress_ifgroup":"5"}`},
	{"uidrange 0-0", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 112, HasUIDRange: true, Table: 26, Action: rtnl.RuleActionTable},
		"112: from all uidrange 0-0 lookup 26", `{"priority":112,"src":"all","uid_start":0,"uid_end":0,"table":"26"}`},
	{"ipproto and ports", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 114, IPProto: 17, SportRange: rtnl.PortRange{Start: 1000, End: 2000}, DportRange: rtnl.PortRange{Start: 53, End: 53}, Table: 28, Action: rtnl.RuleActionTable},
		"114: from all ipproto udp sport 1000-2000 dport 53 lookup 28", `{"priority":114,"src":"all","ipproto":"udp","sport_start":1000,"sport_end":2000,"dport":53,"table":"28"}`},
	{"tun_id", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 115, TunID: 1 << 40, Table: 29, Action: rtnl.RuleActionTable},
		"115: from all tun_id 1099511627776 lookup 29", `{"priority":115,"src":"all","tun_id":1099511627776,"table":"29"}`},
	{"l3mdev", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 116, L3MDev: true, Action: rtnl.RuleActionTable},
		"116: from all lookup [l3mdev-table]", `{"priority":116,"src":"all","l3mdev":null}`},
	{"blackhole", rtnl.Rule{Family: rtnl.FamilyInet6, Priority: 117, Src: pfx("2001:db8:2::/48"), Action: rtnl.RuleActionBlackhole},
		"117: from 2001:db8:2::/48 blackhole", `{"priority":117,"src":"2001:db8:2::","srclen":48,"action":"blackhole"}`},
	{"goto unresolved", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 121, Action: rtnl.RuleActionGoto, Goto: 999, Flags: rtnl.RuleUnresolved},
		"121: from all goto 999 [unresolved]", `{"priority":121,"src":"all","goto":999,"unresolved":null}`},
	{"nop", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 130, Action: rtnl.RuleActionNop},
		"130: from all nop", `{"priority":130,"src":"all","nop":null}`},
	{"protocol and realms", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 132, Table: 31, Action: rtnl.RuleActionTable, Protocol: rtnl.ProtoStatic, Realms: 3<<16 | 4},
		"132: from all lookup 31 realms 3/4 proto static", `{"priority":132,"src":"all","table":"31","flow_from":"3","flow_to":"4","protocol":"static"}`},
	{"dscp", rtnl.Rule{Family: rtnl.FamilyInet, Priority: 140, HasDSCP: true, DSCP: 46, Table: 40, Action: rtnl.RuleActionTable},
		"140: from all dscp 46 lookup 40", `{"priority":140,"src":"all","dscp":46,"table":"40"}`},
	{"flow label", rtnl.Rule{Family: rtnl.FamilyInet6, Priority: 141, FlowLabel: 0x12345, FlowLabelMask: 0xfffff, Table: 41, Action: rtnl.RuleActionTable},
		"141: from all flowlabel 0x12345/0xfffff lookup 41", `{"priority":141,"src":"all","flowlabel":"0x12345","flowlabel_mask":"0xfffff","table":"41"}`},
}

func TestRuleRoundTrips(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.r.Message(rtnl.TypeNewRule, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rtnl.DecodeRule(m)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.r) {
				t.Errorf("round trip changed the rule:\n got  %+v\n want %+v", got, tc.r)
			}
		})
	}
}

func TestRuleTextAndJSON(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			if s := tc.r.String(); s != tc.text {
				t.Errorf("String:\n got  %q\n want %q", s, tc.text)
			}
			b, err := json.Marshal(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.json {
				t.Errorf("MarshalJSON:\n got  %s\n want %s", b, tc.json)
			}
		})
	}
}

// The header carries the family, prefix lengths, TOS, a table below 256
// (RT_TABLE_COMPAT above) and the action; FRA_TABLE carries the table
// always, FRA_TUN_ID is big-endian.
func TestRuleEncodesHeaderAndAttributes(t *testing.T) {
	r := rtnl.Rule{Priority: 7, Src: pfx("10.0.0.0/8"), Dst: pfx("192.0.2.0/24"), TOS: 0x10, Table: 1000, Action: rtnl.RuleActionTable, TunID: 0x0102030405060708}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{2, 24, 8, 0x10, 252, 0, 0, 1, 0, 0, 0, 0}; !bytes.Equal(b[:12], want) {
		t.Fatalf("header % x, want % x", b[:12], want)
	}
	for _, want := range [][]byte{
		{8, 0, 15, 0, 0xe8, 3, 0, 0},           // FRA_TABLE 1000
		{8, 0, 6, 0, 7, 0, 0, 0},               // FRA_PRIORITY 7
		{12, 0, 12, 0, 1, 2, 3, 4, 5, 6, 7, 8}, // FRA_TUN_ID
		{8, 0, 2, 0, 10, 0, 0, 0},              // FRA_SRC
	} {
		if !bytes.Contains(b, want) {
			t.Errorf("no % x in % x", want, b)
		}
	}
}

// A rule without FRA_TABLE takes the header's table; FRA_TABLE wins over
// the header; a suppress value of -1 (the kernel's "not set") is not set.
func TestRuleDecodesKernelForms(t *testing.T) {
	hdr := func(table byte, attrs func(e *nl.AttributeEncoder)) []byte {
		e := nl.NewAttributeEncoder([]byte{2, 0, 0, 0, table, 0, 0, 1, 0, 0, 0, 0})
		attrs(e)
		b, _ := e.Bytes()
		return b
	}
	var r rtnl.Rule
	if err := r.UnmarshalBinary(hdr(254, func(*nl.AttributeEncoder) {})); err != nil || r.Table != rtnl.TableMain {
		t.Errorf("header table: %+v, %v", r, err)
	}
	if err := r.UnmarshalBinary(hdr(252, func(e *nl.AttributeEncoder) { e.Uint32(15, 5000) })); err != nil || r.Table != 5000 {
		t.Errorf("FRA_TABLE: %+v, %v", r, err)
	}
	if err := r.UnmarshalBinary(hdr(254, func(e *nl.AttributeEncoder) { e.Uint32(14, 0xffffffff); e.Uint32(13, 0xffffffff) })); err != nil ||
		r.HasSuppressPrefixLen || r.HasSuppressIfGroup {
		t.Errorf("suppress -1: %+v, %v", r, err)
	}
	// A source length without FRA_SRC is the unspecified address.
	b := hdr(254, func(*nl.AttributeEncoder) {})
	b[2] = 8
	if err := r.UnmarshalBinary(b); err != nil || r.Src != pfx("0.0.0.0/8") {
		t.Errorf("src_len alone: %+v, %v", r, err)
	}
}

func TestRuleDecodeErrors(t *testing.T) {
	valid := []byte{2, 0, 0, 0, 254, 0, 0, 1, 0, 0, 0, 0}
	attr := func(typ uint16, v ...byte) []byte {
		b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(v)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = append(b, v...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return append(append([]byte{}, valid...), b...)
	}
	long := append([]byte{}, valid...)
	long[2] = 33
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short header", valid[:11], nl.ErrShortMessage},
		{"source length above 32", long, nil},
		{"three-byte address", attr(2, 10, 0, 0), nil},
		{"short priority", attr(6, 1, 2), nil},
		{"short uid range", attr(20, 1, 2, 3, 4), nil},
		{"short port range", attr(23, 1, 2), nil},
		{"short tunnel id", attr(12, 1, 2, 3, 4), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rtnl.Rule
			err := r.UnmarshalBinary(tc.b)
			if err == nil {
				t.Fatalf("decoded %+v", r)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "rtnl: rule") {
				t.Errorf("error %q does not say it is a rule", err)
			}
		})
	}
	if _, err := rtnl.DecodeRule(nl.Message{Header: nl.Header{Type: rtnl.TypeNewRoute}, Data: valid}); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("route message: %v", err)
	}
}

func TestRuleEncodeRefusesPrefixOfOtherFamily(t *testing.T) {
	r := rtnl.Rule{Family: rtnl.FamilyInet6, Src: pfx("10.0.0.0/8")}
	if _, err := r.MarshalBinary(); err == nil {
		t.Fatal("encoded an IPv4 source in an IPv6 rule")
	}
}

// Keys leave out the state flags the kernel changes on its own, tell
// copies apart, and order as the kernel does: family, then priority.
func TestRuleKey(t *testing.T) {
	a := rtnl.Rule{Family: rtnl.FamilyInet, Priority: 5, Action: rtnl.RuleActionGoto, Goto: 9}
	b := a
	b.Flags |= rtnl.RuleUnresolved
	if a.Key() != b.Key() {
		t.Error("the unresolved flag changes the key")
	}
	b.Flags |= rtnl.RuleInvert
	if a.Key() == b.Key() {
		t.Error("the invert flag does not change the key")
	}
	if k := a.Key(); k.WithCopy(1) == k || k.WithCopy(1).Copy() != 1 || k.Rule() != a {
		t.Errorf("copies: %+v", k)
	}
	c := rtnl.Rule{Family: rtnl.FamilyInet, Priority: 4, Table: 9}
	d := rtnl.Rule{Family: rtnl.FamilyInet6, Priority: 1}
	if a.Key().Compare(c.Key()) <= 0 || c.Key().Compare(d.Key()) >= 0 || a.Key().Compare(a.Key()) != 0 ||
		a.Key().Compare(a.Key().WithCopy(1)) >= 0 {
		t.Error("Compare does not order by family, priority, copy")
	}
}

func FuzzDecodeRule(f *testing.F) {
	for _, tc := range ruleCases {
		b, err := tc.r.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r rtnl.Rule
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		_ = r.Action.String()
		checkForms(t, &r)
		var zero rtnl.Rule
		_ = r.Key().Compare(zero.Key())
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", r, err)
		}
		var back rtnl.Rule
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", r, err)
		}
		if back != r {
			t.Fatalf("round trip changed the rule:\n got  %+v\n want %+v", back, r)
		}
	})
}

// Decoding a rule allocates nothing; its text and JSON allocate only
// their result, or nothing into a buffer with room.
func TestRuleAllocations(t *testing.T) {
	r := ruleCases[7].r // names, flags
	r.IPProto, r.SportRange, r.Realms, r.TOS = 6, rtnl.PortRange{Start: 1, End: 2}, 5, 0x20
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := nl.Message{Header: nl.Header{Type: rtnl.TypeNewRule}, Data: b}
	var got rtnl.Rule
	buf := make([]byte, 0, 512)
	for _, tc := range []struct {
		name   string
		f      func()
		allocs float64
	}{
		{"UnmarshalBinary", func() { err = got.UnmarshalBinary(b) }, 0},
		{"DecodeRule", func() { got, err = rtnl.DecodeRule(m) }, 0},
		{"AppendBinary", func() { buf, err = r.AppendBinary(buf[:0]) }, 0},
		{"AppendText", func() { buf, err = r.AppendText(buf[:0]) }, 0},
		{"String", func() { _ = r.String() }, 1},
		{"AppendJSONNames", func() { buf = r.AppendJSONNames(buf[:0], nil) }, 0},
		{"MarshalJSON", func() { _, _ = r.MarshalJSON() }, 1},
		{"Key", func() { _ = r.Key() }, 0},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != tc.allocs || err != nil {
			t.Errorf("%s: %v allocations (want %v), %v", tc.name, n, tc.allocs, err)
		}
	}
}
