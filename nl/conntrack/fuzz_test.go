package conntrack_test

import (
	"testing"

	"github.com/nlrx/nlrx/nl/conntrack"
)

// FuzzDecodeFlow feeds flow payloads (the bytes after the netlink header)
// to the decoder. Beyond not panicking, whatever decodes must print,
// encode, and decode again to the same value. The seed corpus in
// testdata/fuzz holds payloads captured from the kernel (see
// TestWriteFuzzCorpus) next to the hand-built values added here.
func FuzzDecodeFlow(f *testing.F) {
	f.Add(kernelUDP(f))
	for _, tc := range flowCases {
		b, err := tc.f.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl conntrack.Flow
		if err := fl.UnmarshalBinary(b); err != nil {
			return
		}
		_ = fl.String()
		enc, err := fl.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", fl, err)
		}
		var again conntrack.Flow
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", fl, err)
		}
		if again != fl {
			t.Fatalf("round trip\n%+v\nwant\n%+v", again, fl)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add(uint16(conntrack.TypeNew), uint16(0x600), kernelUDP(f))
	f.Add(uint16(conntrack.TypeDelete), uint16(0), kernelUDP(f))
	f.Add(uint16(conntrack.TypeNew), uint16(0), []byte{2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, typ, flags uint16, b []byte) {
		ev, err := conntrack.DecodeEvent(msg(typ, flags, b))
		if err != nil {
			return
		}
		_ = ev.String()
		if ev.Type.String() == "" {
			t.Fatalf("event type %d has no name", ev.Type)
		}
	})
}
