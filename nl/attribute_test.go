package nl

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAttributeEncoderDecoderRoundTrip(t *testing.T) {
	var e AttributeEncoder
	e.Uint8(1, 0xab)
	e.Uint16(2, 0xabcd)
	e.Uint32(3, 0xdeadbeef)
	e.Uint64(4, 0x0102030405060708)
	e.Int8(5, -2)
	e.Int16(6, -300)
	e.Int32(7, -70000)
	e.Int64(8, -1<<40)
	e.String(9, "eth0")
	e.Flag(10)
	e.Addr(11, netip.MustParseAddr("192.0.2.1"))
	e.Addr(12, netip.MustParseAddr("2001:db8::1"))
	e.Raw(13, []byte{1, 2, 3})
	e.Uint16BE(14, 0x1234)
	e.Uint32BE(15, 0x01020304)
	e.Nested(16, func(e *AttributeEncoder) {
		e.Uint32(1, 1500)
		e.Nested(2, func(e *AttributeEncoder) { e.String(1, "inner") })
	})
	e.Addr(17, netip.MustParseAddr("::ffff:198.51.100.7"))
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("encoded length %d is not aligned", len(b))
	}

	d := NewAttributeDecoder(b)
	seen := 0
	for d.Next() {
		seen++
		switch d.Type() {
		case 1:
			check(t, "u8", d.Uint8(), uint8(0xab))
		case 2:
			check(t, "u16", d.Uint16(), uint16(0xabcd))
		case 3:
			check(t, "u32", d.Uint32(), uint32(0xdeadbeef))
		case 4:
			check(t, "u64", d.Uint64(), uint64(0x0102030405060708))
		case 5:
			check(t, "s8", d.Int8(), int8(-2))
		case 6:
			check(t, "s16", d.Int16(), int16(-300))
		case 7:
			check(t, "s32", d.Int32(), int32(-70000))
		case 8:
			check(t, "s64", d.Int64(), int64(-1<<40))
		case 9:
			check(t, "string", d.String(), "eth0")
		case 10:
			check(t, "flag length", d.Len(), 0)
		case 11:
			check(t, "ipv4", d.Addr(), netip.MustParseAddr("192.0.2.1"))
		case 12:
			check(t, "ipv6", d.Addr(), netip.MustParseAddr("2001:db8::1"))
		case 13:
			check(t, "raw", string(d.Bytes()), "\x01\x02\x03")
		case 14:
			check(t, "u16be", d.Uint16BE(), uint16(0x1234))
		case 15:
			check(t, "u32be", d.Uint32BE(), uint32(0x01020304))
		case 16:
			if d.Flags()&AttrNested == 0 {
				t.Error("nest built without NLA_F_NESTED")
			}
			n := d.Nested()
			for n.Next() {
				switch n.Type() {
				case 1:
					check(t, "nested u32", n.Uint32(), uint32(1500))
				case 2:
					nn := n.Nested()
					if !nn.Next() {
						t.Fatal("inner nest empty")
					}
					check(t, "inner string", nn.String(), "inner")
				}
			}
			d.Propagate(n.Err())
		case 17:
			check(t, "mapped address stays IPv6", d.Len(), 16)
		}
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != 17 {
		t.Errorf("decoded %d attributes, want 17", seen)
	}
}

func check[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestAttributeDecoderMasksTypeFlags(t *testing.T) {
	b := []byte{8, 0, 0x05, 0x40, 0, 0, 0x01, 0x02} // type 5 | NLA_F_NET_BYTEORDER, big-endian 0x102
	d := NewAttributeDecoder(b)
	if !d.Next() {
		t.Fatal(d.Err())
	}
	check(t, "type", d.Type(), uint16(5))
	check(t, "flags", d.Flags(), AttrNetByteOrder)
	check(t, "net-order u32", d.Uint32(), uint32(0x102))
}

func TestAttributeDecoderErrorsAreSticky(t *testing.T) {
	var e AttributeEncoder
	e.Uint16(1, 7)
	e.Uint32(2, 8)
	b, _ := e.Bytes()
	d := NewAttributeDecoder(b)
	d.Next()
	if got := d.Uint32(); got != 0 {
		t.Errorf("Uint32 of a 2-byte payload = %d, want 0", got)
	}
	if d.Next() {
		t.Error("Next after an error returned true")
	}
	if d.Err() == nil {
		t.Error("no error for a wrongly sized payload")
	}
}

func TestAttributeDecoderRejectsBadLengths(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"length below header", []byte{3, 0, 1, 0}, ErrBadLength},
		{"length past end", []byte{12, 0, 1, 0, 0, 0, 0, 0}, ErrBadLength},
		{"short tail", []byte{4, 0, 1, 0, 9, 9}, ErrShortMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalAttributes(tt.b)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnknownAttributesAreKeptRaw(t *testing.T) {
	in := []Attribute{
		{Type: 300, Data: []byte{1, 2, 3, 4, 5}},
		{Type: 2, Nested: true, Data: []byte{5, 0, 1, 0, 42, 0, 0, 0}},
		{Type: 3, NetByteOrder: true, Data: []byte{0, 1}},
	}
	b, err := MarshalAttributes(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := UnmarshalAttributes(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("got %d attributes, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i].Type != in[i].Type || out[i].Nested != in[i].Nested || out[i].NetByteOrder != in[i].NetByteOrder || !bytes.Equal(out[i].Data, in[i].Data) {
			t.Errorf("attribute %d = %+v, want %+v", i, out[i], in[i])
		}
	}
}

func TestAttributeEncoderRejectsOversizedAttributes(t *testing.T) {
	var e AttributeEncoder
	e.String(1, strings.Repeat("x", MaxAttrLen))
	if _, err := e.Bytes(); !errors.Is(err, ErrBadLength) {
		t.Errorf("err = %v, want ErrBadLength", err)
	}
	var n AttributeEncoder
	m := n.BeginNested(1)
	for range 20 {
		n.Raw(2, make([]byte, 4000))
	}
	n.EndNested(m)
	if _, err := n.Bytes(); !errors.Is(err, ErrBadLength) {
		t.Errorf("oversized nest: err = %v, want ErrBadLength", err)
	}
	var a AttributeEncoder
	a.Addr(1, netip.Addr{})
	if _, err := a.Bytes(); err == nil {
		t.Error("invalid address encoded without error")
	}
}

func TestAttributeDecoderDoesNotAllocate(t *testing.T) {
	var e AttributeEncoder
	e.Uint32(1, 1)
	e.Addr(2, netip.MustParseAddr("2001:db8::1"))
	e.Nested(3, func(e *AttributeEncoder) { e.Uint32(1, 2) })
	b, _ := e.Bytes()
	n := testing.AllocsPerRun(100, func() {
		d := NewAttributeDecoder(b)
		for d.Next() {
			switch d.Type() {
			case 1:
				_ = d.Uint32()
			case 2:
				_ = d.Addr()
			case 3:
				n := d.Nested()
				for n.Next() {
					_ = n.Uint32()
				}
			}
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per walk, want 0", n)
	}
}
