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
