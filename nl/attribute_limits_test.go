package nl

import (
	"errors"
	"strings"
	"testing"
)

// An attribute of MaxAttrLen bytes, header included, is the largest there
// is: it encodes and decodes; one byte more is an error naming the size.
func TestAttributeEncoderLimitIsInclusive(t *testing.T) {
	const payload = MaxAttrLen - AttrHeaderLen
	t.Run("raw", func(t *testing.T) {
		var e AttributeEncoder
		e.Raw(1, make([]byte, payload))
		e.Uint8(2, 7)
		b, err := e.Bytes()
		if err != nil {
			t.Fatalf("a %d-byte attribute: %v", MaxAttrLen, err)
		}
		d := NewAttributeDecoder(b)
		if !d.Next() || d.Type() != 1 || d.Len() != payload || !d.Next() || d.Uint8() != 7 || d.Next() || d.Err() != nil {
			t.Fatalf("decoding it back: err %v", d.Err())
		}
		var over AttributeEncoder
		over.Raw(1, make([]byte, payload+1))
		_, err = over.Bytes()
		if !errors.Is(err, ErrBadLength) || !strings.Contains(err.Error(), "needs 65536 bytes, the limit is 65535") {
			t.Fatalf("one byte over: %v", err)
		}
	})
	t.Run("string", func(t *testing.T) {
		s := strings.Repeat("x", payload-1) // and its NUL
		var e AttributeEncoder
		e.String(1, s)
		e.Uint8(2, 7)
		b, err := e.Bytes()
		if err != nil {
			t.Fatalf("a %d-byte string attribute: %v", MaxAttrLen, err)
		}
		d := NewAttributeDecoder(b)
		if !d.Next() || d.String() != s || !d.Next() || d.Uint8() != 7 || d.Next() || d.Err() != nil {
			t.Fatalf("decoding it back: err %v", d.Err())
		}
		var over AttributeEncoder
		over.String(1, s+"x")
		if _, err := over.Bytes(); !errors.Is(err, ErrBadLength) {
			t.Fatalf("one byte over: %v", err)
		}
	})
}
