package nl

import (
	"bytes"
	"errors"
	"testing"
)

func TestAppendMessageRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want int // encoded length, padding included
	}{
		{"empty payload", Message{Header: Header{Type: TypeNoop, Seq: 7, PortID: 9}}, 16},
		{"aligned payload", Message{Header: Header{Type: 24, Flags: FlagRequest | FlagDump}, Data: []byte{1, 2, 3, 4}}, 20},
		{"unaligned payload is padded", Message{Header: Header{Type: 24}, Data: []byte{1, 2, 3, 4, 5}}, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendMessage(nil, tt.m)
			if len(b) != tt.want {
				t.Fatalf("encoded %d bytes, want %d", len(b), tt.want)
			}
			ms, err := AppendMessages(nil, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 {
				t.Fatalf("decoded %d messages, want 1", len(ms))
			}
			got := ms[0]
			if got.Header.Length != uint32(HeaderLen+len(tt.m.Data)) {
				t.Errorf("Length = %d, want %d (no padding)", got.Header.Length, HeaderLen+len(tt.m.Data))
			}
			want := tt.m.Header
			want.Length = got.Header.Length
			if got.Header != want || !bytes.Equal(got.Data, tt.m.Data) {
				t.Errorf("round trip = %+v %v, want %+v %v", got.Header, got.Data, want, tt.m.Data)
			}
		})
	}
}

func TestMessageIterWalksPackedMessages(t *testing.T) {
	var b []byte
	for i := range 5 {
		b = AppendMessage(b, Message{Header: Header{Type: 24, Seq: uint32(i)}, Data: bytes.Repeat([]byte{byte(i)}, i)})
	}
	ms, err := AppendMessages(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 {
		t.Fatalf("got %d messages, want 5", len(ms))
	}
	for i, m := range ms {
		if m.Header.Seq != uint32(i) || len(m.Data) != i {
			t.Errorf("message %d: seq %d, %d bytes", i, m.Header.Seq, len(m.Data))
		}
	}
}

func TestMessageIterRejectsMalformedDatagrams(t *testing.T) {
	good := AppendMessage(nil, Message{Header: Header{Type: 24}, Data: []byte{1, 2, 3, 4}})
	withLen := func(n uint32) []byte {
		b := bytes.Clone(good)
		PutHeader(b, Header{Length: n, Type: 24})
		return b
	}
	tests := []struct {
		name      string
		datagram  []byte
		wantCount int
		wantErr   error
	}{
		{"length zero (CVE-2006-0035 loop)", withLen(0), 0, ErrBadLength},
		{"length below header", withLen(15), 0, ErrBadLength},
		{"length past end", withLen(21), 0, ErrBadLength},
		{"short header", good[:10], 0, ErrShortMessage},
		{"good then garbage tail", append(bytes.Clone(good), 1, 2), 1, ErrShortMessage},
		{"good then zero padding", append(bytes.Clone(good), 0, 0), 1, nil},
		{"empty", nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := AppendMessages(nil, tt.datagram)
			if len(ms) != tt.wantCount {
				t.Errorf("decoded %d messages, want %d", len(ms), tt.wantCount)
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMessageIterDoesNotAllocate(t *testing.T) {
	var b []byte
	for range 10 {
		b = AppendMessage(b, Message{Header: Header{Type: 24}, Data: make([]byte, 52)})
	}
	n := testing.AllocsPerRun(100, func() {
		it := NewMessageIter(b)
		for it.Next() {
			_ = it.Message()
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per walk, want 0", n)
	}
}

func TestUnmarshalBinaryCopies(t *testing.T) {
	b := AppendMessage(nil, Message{Header: Header{Type: 24}, Data: []byte{1, 2, 3, 4}})
	var m Message
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b[HeaderLen] = 99
	if m.Data[0] != 1 {
		t.Error("Data aliases the input")
	}
	if err := m.UnmarshalBinary(b[:HeaderLen+2]); !errors.Is(err, ErrBadLength) {
		t.Errorf("truncated input: err = %v, want ErrBadLength", err)
	}
}
