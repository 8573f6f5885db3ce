package genl_test

import (
	"reflect"
	"testing"

	"github.com/nlrx/nlrx/nl/genl"
)

// FuzzDecodeFamily feeds controller message payloads (the bytes after the
// netlink header) to the family decoder. Beyond not panicking, whatever
// decodes must encode, and decode again to the same value. The seed corpus
// in testdata/fuzz holds the kernel's own messages (see
// TestWriteFuzzCorpus) next to the hand-built ones added here.
func FuzzDecodeFamily(f *testing.F) {
	for _, fam := range familyCases {
		b, err := fam.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fam genl.Family
		if err := fam.UnmarshalBinary(b); err != nil {
			return
		}
		for _, op := range fam.Ops {
			_ = op.String()
		}
		enc, err := fam.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", fam, err)
		}
		var back genl.Family
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("cannot decode the encoding of %+v: %v", fam, err)
		}
		if !reflect.DeepEqual(back, fam) {
			t.Fatalf("round trip changed the family:\n got  %+v\n want %+v", back, fam)
		}
	})
}
