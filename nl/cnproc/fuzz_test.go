package cnproc_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/cnproc"
)

// FuzzParse feeds connector payloads to Parse. Beyond not panicking: every
// error is one of the package's kinds, and an event re-encoded with
// AppendEvent parses back to itself. The seed corpus in
// testdata/fuzz/FuzzParse holds events the kernel sent (see
// TestWriteFuzzCorpus), next to one of each kind added here.
func FuzzParse(f *testing.F) {
	for _, e := range events {
		f.Add(cnproc.AppendEvent(nil, e))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := cnproc.Parse(b)
		if err != nil {
			if !errors.Is(err, cnproc.ErrNotProcEvent) && !errors.Is(err, nl.ErrShortMessage) && !errors.Is(err, nl.ErrBadLength) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		_ = e.String()
		back, err := cnproc.Parse(cnproc.AppendEvent(nil, e))
		if err != nil {
			t.Fatalf("cannot parse the encoding of %+v: %v", e, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip changed the event:\n got  %+v\n want %+v", back, e)
		}
	})
}
