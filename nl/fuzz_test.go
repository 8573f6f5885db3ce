package nl

import (
	"testing"
)

// FuzzMessageIter feeds arbitrary datagrams to the message walk: it must
// never panic, never loop, and every message it yields lies inside the input.
func FuzzMessageIter(f *testing.F) {
	f.Add(AppendMessage(nil, Message{Header: Header{Type: 24, Flags: FlagMulti}, Data: []byte{2, 32, 0, 0}}))
	f.Add(AppendMessage(AppendMessage(nil, Message{Header: Header{Type: TypeDone}}), Message{Header: Header{Type: TypeError}, Data: make([]byte, 20)}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		it := NewMessageIter(b)
		total := 0
		for it.Next() {
			m := it.Message()
			if int(m.Header.Length) != HeaderLen+len(m.Data) {
				t.Fatalf("Length %d does not match payload %d", m.Header.Length, len(m.Data))
			}
			total += Align(int(m.Header.Length))
			if total > len(b)+3 {
				t.Fatalf("walked %d bytes of %d", total, len(b))
			}
			_ = CheckMessage(m)
		}
	})
}

// FuzzAttributeDecoder walks arbitrary attribute lists, nested ones too, with
// every accessor.
func FuzzAttributeDecoder(f *testing.F) {
	var e AttributeEncoder
	e.Uint32(1, 7)
	e.String(2, "lo")
	e.Nested(3, func(e *AttributeEncoder) { e.Uint64(1, 9) })
	seed, _ := e.Bytes()
	f.Add(seed)
	f.Add([]byte{4, 0, 1, 0})
	f.Add([]byte{0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		walk(b, 0)
		if as, err := UnmarshalAttributes(b); err == nil {
			out, err := MarshalAttributes(as)
			if err != nil {
				t.Fatalf("re-encoding a decoded list: %v", err)
			}
			again, err := UnmarshalAttributes(out)
			if err != nil || len(again) != len(as) {
				t.Fatalf("re-decoded %d attributes (err %v), want %d", len(again), err, len(as))
			}
		}
	})
}

func walk(b []byte, depth int) {
	d := NewAttributeDecoder(b)
	for d.Next() {
		a := d // a copy, so each accessor sees a fresh error state
		switch d.Type() % 8 {
		case 0:
			_ = a.Uint8()
		case 1:
			_ = a.Uint16()
		case 2:
			_ = a.Uint32()
		case 3:
			_ = a.Uint64()
		case 4:
			_ = a.String()
		case 5:
			_ = a.Addr()
		case 6:
			_ = a.Uint32BE()
		}
		if depth < 4 {
			walk(d.Bytes(), depth+1)
		}
	}
}

// FuzzParseError decodes arbitrary NLMSG_ERROR and NLMSG_DONE payloads.
func FuzzParseError(f *testing.F) {
	req := Message{Header: Header{Length: 20, Type: 24, Seq: 3}, Data: []byte{1, 2, 3, 4}}
	f.Add(errorMessage(22, req, false, func(e *AttributeEncoder) { e.String(errAttrMsg, "bad"); e.Uint32(errAttrOffs, 16) }).Data, uint16(FlagAckTLVs))
	f.Add(errorMessage(2, req, true, nil).Data, uint16(FlagCapped))
	f.Fuzz(func(t *testing.T, b []byte, flags uint16) {
		_ = ParseError(Message{Header: Header{Type: TypeError, Flags: flags}, Data: b})
		_ = ParseDone(Message{Header: Header{Type: TypeDone, Flags: flags}, Data: b})
	})
}
