package rtnl_test

import (
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
