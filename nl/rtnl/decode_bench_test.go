package rtnl_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl/rtnl"
)

// BenchmarkRouteDecode decodes the kernel's form of an IPv4 host route
// (rtmsg, RTA_TABLE, RTA_DST, RTA_OIF), the message of a large dump.
func BenchmarkRouteDecode(b *testing.B) {
	r := rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Protocol: rtnl.ProtoBoot, Scope: rtnl.ScopeLink,
		Table: rtnl.TableMain, Dst: pfx("10.100.1.2/32"), OIF: 3}
	msg, err := r.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var got rtnl.Route
	for b.Loop() {
		if err := got.UnmarshalBinary(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLinkDecode decodes an RTM_NEWLINK of a veth as a 6.18 kernel
// dumps it (captured in the seed corpus): with its counters, details and
// per-family attributes, about 1,400 bytes.
func BenchmarkLinkDecode(b *testing.B) {
	text, err := os.ReadFile("testdata/fuzz/FuzzDecodeLink/kernel-a7974ecb69dbd041")
	if err != nil {
		b.Fatal(err)
	}
	_, quoted, _ := strings.Cut(strings.TrimSpace(string(text)), "[]byte(")
	s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(s)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var got rtnl.Link
	for b.Loop() {
		if err := got.UnmarshalBinary(msg); err != nil {
			b.Fatal(err)
		}
	}
}
