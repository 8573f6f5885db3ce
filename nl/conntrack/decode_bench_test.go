package conntrack_test

import (
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
)

func BenchmarkDecodeFlow(b *testing.B) {
	p := kernelUDP(b)
	var f conntrack.Flow
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := f.UnmarshalBinary(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	m := nl.Message{Header: nl.Header{Type: conntrack.TypeNew, Flags: nl.FlagCreate | nl.FlagExcl}, Data: kernelUDP(b)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conntrack.DecodeEvent(m); err != nil {
			b.Fatal(err)
		}
	}
}
