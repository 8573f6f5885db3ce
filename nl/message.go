package nl

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderLen is the size of a netlink message header (struct nlmsghdr).
const HeaderLen = 16

// Header is a netlink message header (struct nlmsghdr).
//
// Length counts the header and the payload, without trailing padding. When
// encoding, a zero Length is filled in from the payload.
type Header struct {
	Length uint32
	Type   uint16
	Flags  uint16
	Seq    uint32
	PortID uint32
}

// Message is one netlink message: a header and its payload.
//
// Messages returned by the decoding functions of this package may alias the
// buffer they were decoded from; each function documents how long Data stays
// valid.
type Message struct {
	Header Header
	Data   []byte
}

// Align rounds n up to the 4-byte netlink alignment (NLMSG_ALIGN, NLA_ALIGN).
func Align(n int) int { return (n + 3) &^ 3 }

// Errors reported while decoding.
var (
	// ErrShortMessage reports a datagram or message too short for the
	// structure it must contain.
	ErrShortMessage = errors.New("nl: message too short")
	// ErrBadLength reports a length field that is smaller than its header
	// or points past the end of the buffer.
	ErrBadLength = errors.New("nl: length field out of bounds")
)

// Len returns the encoded length of m, without trailing padding.
func (m Message) Len() int { return HeaderLen + len(m.Data) }

// AppendMessage appends m to b in wire format, padded to 4 bytes, and
// returns the extended buffer. Header.Length is written as HeaderLen+len(Data)
// unless it is already set. It allocates only if b lacks capacity.
func AppendMessage(b []byte, m Message) []byte {
	n := m.Header.Length
	if n == 0 {
		n = uint32(HeaderLen + len(m.Data))
	}
	b = binary.NativeEndian.AppendUint32(b, n)
	b = binary.NativeEndian.AppendUint16(b, m.Header.Type)
	b = binary.NativeEndian.AppendUint16(b, m.Header.Flags)
	b = binary.NativeEndian.AppendUint32(b, m.Header.Seq)
	b = binary.NativeEndian.AppendUint32(b, m.Header.PortID)
	b = append(b, m.Data...)
	return appendPad(b, len(m.Data))
}

// MarshalBinary encodes m in wire format.
func (m Message) MarshalBinary() ([]byte, error) {
	return AppendMessage(make([]byte, 0, Align(m.Len())), m), nil
}

// UnmarshalBinary decodes exactly one message from b, copying its payload.
func (m *Message) UnmarshalBinary(b []byte) error {
	h, err := DecodeHeader(b)
	if err != nil {
		return err
	}
	if int(h.Length) > len(b) {
		return fmt.Errorf("%w: header says %d bytes, have %d", ErrBadLength, h.Length, len(b))
	}
	m.Header = h
	m.Data = append([]byte(nil), b[HeaderLen:h.Length]...)
	return nil
}

func appendPad(b []byte, n int) []byte {
	for i := n; i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}

// DecodeHeader decodes the header at the start of b. It checks that b holds a
// whole header and that Length is at least HeaderLen; it does not check
// Length against len(b).
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes, want %d for a header", ErrShortMessage, len(b), HeaderLen)
	}
	h := Header{
		Length: binary.NativeEndian.Uint32(b[0:4]),
		Type:   binary.NativeEndian.Uint16(b[4:6]),
		Flags:  binary.NativeEndian.Uint16(b[6:8]),
		Seq:    binary.NativeEndian.Uint32(b[8:12]),
		PortID: binary.NativeEndian.Uint32(b[12:16]),
	}
	if h.Length < HeaderLen {
		return h, fmt.Errorf("%w: message length %d is below the header size", ErrBadLength, h.Length)
	}
	return h, nil
}

// PutHeader writes h to the first HeaderLen bytes of b, which must be long
// enough.
func PutHeader(b []byte, h Header) {
	_ = b[HeaderLen-1]
	binary.NativeEndian.PutUint32(b[0:4], h.Length)
	binary.NativeEndian.PutUint16(b[4:6], h.Type)
	binary.NativeEndian.PutUint16(b[6:8], h.Flags)
	binary.NativeEndian.PutUint32(b[8:12], h.Seq)
	binary.NativeEndian.PutUint32(b[12:16], h.PortID)
}

// MessageIter walks the messages of one datagram without copying or
// allocating (the NLMSG_OK / NLMSG_NEXT loop). The zero value is empty.
//
//	it := nl.NewMessageIter(datagram)
//	for it.Next() {
//		m := it.Message() // m.Data aliases datagram
//	}
//	if err := it.Err(); err != nil { … }
//
// A length field below HeaderLen or past the end of the datagram stops the
// walk with ErrBadLength; trailing bytes shorter than a header are ignored
// only if they are zero padding.
type MessageIter struct {
	b   []byte
	m   Message
	err error
}

// NewMessageIter returns an iterator over the messages in datagram.
func NewMessageIter(datagram []byte) MessageIter { return MessageIter{b: datagram} }

// Next advances to the next message and reports whether there is one.
func (it *MessageIter) Next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	if len(it.b) < HeaderLen {
		for _, c := range it.b {
			if c != 0 {
				it.err = fmt.Errorf("%w: %d trailing bytes after the last message", ErrShortMessage, len(it.b))
				break
			}
		}
		it.b = nil
		return false
	}
	h, err := DecodeHeader(it.b)
	if err != nil {
		it.err = err
		return false
	}
	if int(h.Length) > len(it.b) {
		it.err = fmt.Errorf("%w: message length %d, %d bytes left in datagram", ErrBadLength, h.Length, len(it.b))
		return false
	}
	it.m = Message{Header: h, Data: it.b[HeaderLen:h.Length:h.Length]}
	next := Align(int(h.Length))
	if next > len(it.b) {
		next = len(it.b)
	}
	it.b = it.b[next:]
	return true
}

// Message returns the current message. Its Data aliases the datagram.
func (it *MessageIter) Message() Message { return it.m }

// Err returns the error that stopped the walk, if any.
func (it *MessageIter) Err() error { return it.err }

// AppendMessages decodes every message of one datagram and appends them to
// ms. The messages' Data alias datagram: copy the datagram first if it will
// be reused. It allocates only to grow ms. On a malformed datagram it returns
// the messages decoded before the fault and the error.
func AppendMessages(ms []Message, datagram []byte) ([]Message, error) {
	it := NewMessageIter(datagram)
	for it.Next() {
		ms = append(ms, it.Message())
	}
	return ms, it.Err()
}
