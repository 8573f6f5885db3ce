package uevent_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/nlrx/nlrx/nl/uevent"
)

// FuzzParse feeds datagrams to Parse, from the kernel's port and from a
// user-space one. Beyond not panicking: every error is one of the package's
// two, a user-space sender never yields a kernel event, and a kernel event
// re-encoded with AppendKernel parses back to itself. The seed corpus in
// testdata/fuzz/FuzzParse holds the datagrams the kernel sent for a veth
// pair (see TestWriteFuzzCorpus), next to the ones added here.
func FuzzParse(f *testing.F) {
	for _, s := range []string{vethAdd, diskAdd, udevProps, string(libudev(udevProps)), "add@/x\x00", "libudev\x00", "@\x00="} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, user bool) {
		from := uint32(0)
		if user {
			from = 4242
		}
		e, err := uevent.Parse(b, from)
		if err != nil {
			if !errors.Is(err, uevent.ErrMalformed) && !errors.Is(err, uevent.ErrSpoofed) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrSpoofed", err)
			}
			return
		}
		_ = e.String()
		_ = e.Tags()
		if e.Action == "" || e.DevPath == "" {
			t.Fatalf("event without action or devpath: %+v", e)
		}
		if user && e.Source == uevent.SourceKernel {
			t.Fatalf("a user-space datagram parsed as the kernel's: %+v", e)
		}
		if e.Source != uevent.SourceKernel {
			return
		}
		back, err := uevent.Parse(uevent.AppendKernel(nil, e), 0)
		if err != nil {
			t.Fatalf("cannot parse the encoding of %+v: %v", e, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip changed the event:\n got  %+v\n want %+v", back, e)
		}
	})
}
