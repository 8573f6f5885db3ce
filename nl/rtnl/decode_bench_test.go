package rtnl_test

import (
	"os"
	"path/filepath"
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
	msg := seedBytes(b, text)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var got rtnl.Link
	for b.Loop() {
		if err := got.UnmarshalBinary(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// seedBytes returns the []byte of a seed corpus file.
func seedBytes(b testing.TB, text []byte) []byte {
	_, quoted, _ := strings.Cut(strings.TrimSpace(string(text)), "[]byte(")
	s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		b.Fatal(err)
	}
	return []byte(s)
}

// kernelLink returns the first of the kernel's link messages in the
// FuzzDecodeLinkInfo seeds whose kind is kind.
func kernelLink(b testing.TB, kind string) []byte {
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecodeLinkInfo/kernel-*")
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msg := seedBytes(b, text)
		var l rtnl.Link
		if l.UnmarshalBinary(msg) == nil && l.Kind.Is(kind) {
			return msg
		}
	}
	b.Fatalf("no %s link in the seed corpus", kind)
	return nil
}

// BenchmarkLinkDecodeKeepingInfoData decodes the kernel's RTM_NEWLINK of
// a vxlan (captured in the seed corpus): BenchmarkLinkDecode's work, plus
// keeping the 300 bytes of IFLA_INFO_DATA in a string.
func BenchmarkLinkDecodeKeepingInfoData(b *testing.B) {
	for _, kind := range []string{"vxlan", "bridge"} {
		b.Run(kind, func(b *testing.B) {
			msg := kernelLink(b, kind)
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			var got rtnl.Link
			for b.Loop() {
				if err := got.UnmarshalBinary(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLinkInfo decodes the kept IFLA_INFO_DATA of kernel-made links
// into their LinkInfo: the cost that Link.Info adds when it is called,
// and only then.
func BenchmarkLinkInfo(b *testing.B) {
	for _, kind := range []string{"vxlan", "macvlan", "tun", "bridge"} {
		b.Run(kind, func(b *testing.B) {
			var l rtnl.Link
			if err := l.UnmarshalBinary(kernelLink(b, kind)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(l.InfoData())))
			for b.Loop() {
				if _, err := l.Info(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
