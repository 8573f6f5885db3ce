package nl

import "testing"

// Len is the encoded length without padding: the header and the payload.
func TestMessageLenCountsTheHeader(t *testing.T) {
	for _, n := range []int{0, 1, 4, 5} {
		m := Message{Data: make([]byte, n)}
		b, _ := m.MarshalBinary()
		if m.Len() != HeaderLen+n || len(b) != Align(HeaderLen+n) {
			t.Errorf("a %d-byte payload: Len %d, encoded in %d bytes; want %d and %d", n, m.Len(), len(b), HeaderLen+n, Align(HeaderLen+n))
		}
	}
}

// GroupMask takes groups 1 to 32, bit g-1 for group g, and reports any
// other group number.
func TestGroupMaskBounds(t *testing.T) {
	for _, tc := range []struct {
		groups []uint32
		mask   uint32
		ok     bool
	}{
		{nil, 0, true},
		{[]uint32{1}, 1, true},
		{[]uint32{1, 2, 32}, 1 | 2 | 1<<31, true},
		{[]uint32{0, 3}, 1 << 2, false},
		{[]uint32{33, 31}, 1 << 30, false},
	} {
		if mask, ok := GroupMask(tc.groups...); mask != tc.mask || ok != tc.ok {
			t.Errorf("GroupMask(%v) = %#x, %v; want %#x, %v", tc.groups, mask, ok, tc.mask, tc.ok)
		}
	}
}
