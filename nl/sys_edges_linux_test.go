//go:build linux

package nl

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ControlNSID finds the namespace id in any well-formed control
// buffer: a last message without trailing padding, after a header-only
// one; a header whose length is out of bounds ends the search.
func TestControlNSIDBounds(t *testing.T) {
	nsid := func(id int32) []byte {
		b := make([]byte, unix.CmsgSpace(4))
		putNSIDControl(b, id)
		return b
	}
	empty := make([]byte, unix.CmsgSpace(0))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&empty[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_RIGHTS
	h.SetLen(unix.CmsgLen(0))
	bad := nsid(9)
	(*unix.Cmsghdr)(unsafe.Pointer(&bad[0])).SetLen(len(bad) + 1)
	for _, tc := range []struct {
		name string
		oob  []byte
		want int32
	}{
		{"padded", nsid(5), 5},
		{"unpadded", nsid(6)[:unix.CmsgLen(4)], 6},
		{"after a header-only message", append(append([]byte(nil), empty...), nsid(7)...), 7},
		{"length past the end", bad, -1},
		{"none", nil, -1},
	} {
		if got := ControlNSID(tc.oob); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
