package nl

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
)

// Attribute header sizes and type flags (struct nlattr).
const (
	AttrHeaderLen = 4
	// AttrNested is NLA_F_NESTED: the payload is itself a list of attributes.
	AttrNested uint16 = 1 << 15
	// AttrNetByteOrder is NLA_F_NET_BYTEORDER: an integer payload is big-endian.
	AttrNetByteOrder uint16 = 1 << 14
	// AttrTypeMask is NLA_TYPE_MASK: the bits of nla_type that carry the type.
	AttrTypeMask uint16 = ^(AttrNested | AttrNetByteOrder)
	// MaxAttrLen is the largest attribute, header included (nla_len is a u16).
	MaxAttrLen = math.MaxUint16
)

// Attribute is one netlink attribute. Type has the flag bits masked off;
// they are reported in Nested and NetByteOrder.
type Attribute struct {
	Type         uint16
	Nested       bool
	NetByteOrder bool
	Data         []byte
}

// UnmarshalAttributes decodes an attribute list. Data aliases b. Unknown
// types are kept as raw bytes; only a malformed list is an error.
// It allocates the returned slice; use AttributeDecoder to avoid that.
func UnmarshalAttributes(b []byte) ([]Attribute, error) {
	var as []Attribute
	d := NewAttributeDecoder(b)
	for d.Next() {
		as = append(as, Attribute{Type: d.Type(), Nested: d.flags&AttrNested != 0,
			NetByteOrder: d.flags&AttrNetByteOrder != 0, Data: d.Bytes()})
	}
	return as, d.Err()
}

// MarshalAttributes encodes an attribute list, setting NLA_F_NESTED and
// NLA_F_NET_BYTEORDER from the fields.
func MarshalAttributes(as []Attribute) ([]byte, error) {
	var e AttributeEncoder
	for _, a := range as {
		t := a.Type & AttrTypeMask
		if a.Nested {
			t |= AttrNested
		}
		if a.NetByteOrder {
			t |= AttrNetByteOrder
		}
		e.raw(t, a.Data)
	}
	return e.Bytes()
}

// AttributeDecoder is a cursor over an attribute list with a sticky error:
// the first malformed attribute or wrongly sized value stops the walk and
// is reported by Err. It is a small value that does not allocate; values
// returned by Bytes and String-less accessors alias the input.
//
//	d := nl.NewAttributeDecoder(payload)
//	for d.Next() {
//		switch d.Type() {
//		case unix.RTA_OIF:
//			r.OIF = d.Uint32()
//		case unix.RTA_METRICS:
//			m := d.Nested()
//			for m.Next() { … }
//		}
//	}
//	if err := d.Err(); err != nil { … }
type AttributeDecoder struct {
	b     []byte
	typ   uint16
	flags uint16
	data  []byte
	err   error
}

// NewAttributeDecoder returns a decoder over the attribute list b.
func NewAttributeDecoder(b []byte) AttributeDecoder { return AttributeDecoder{b: b} }

// Next advances to the next attribute and reports whether there is one.
func (d *AttributeDecoder) Next() bool {
	if d.err != nil || len(d.b) == 0 {
		return false
	}
	if len(d.b) < AttrHeaderLen {
		d.fail(fmt.Errorf("%w: %d trailing bytes after the last attribute", ErrShortMessage, len(d.b)))
		return false
	}
	n := int(binary.NativeEndian.Uint16(d.b[0:2]))
	t := binary.NativeEndian.Uint16(d.b[2:4])
	if n < AttrHeaderLen || n > len(d.b) {
		d.fail(fmt.Errorf("%w: attribute type %d has length %d, %d bytes left", ErrBadLength, t&AttrTypeMask, n, len(d.b)))
		return false
	}
	d.typ = t & AttrTypeMask
	d.flags = t &^ AttrTypeMask
	d.data = d.b[AttrHeaderLen:n:n]
	next := Align(n)
	if next > len(d.b) {
		next = len(d.b)
	}
	d.b = d.b[next:]
	return true
}

func (d *AttributeDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

// Err returns the first error met, if any.
func (d *AttributeDecoder) Err() error { return d.err }

// Type returns the current attribute's type with NLA_F_NESTED and
// NLA_F_NET_BYTEORDER masked off.
func (d *AttributeDecoder) Type() uint16 { return d.typ }

// Flags returns the current attribute's flag bits (AttrNested, AttrNetByteOrder).
func (d *AttributeDecoder) Flags() uint16 { return d.flags }

// Len returns the length of the current attribute's payload.
func (d *AttributeDecoder) Len() int { return len(d.data) }

// Bytes returns the current attribute's payload. It aliases the input.
func (d *AttributeDecoder) Bytes() []byte { return d.data }

func (d *AttributeDecoder) sized(n int) []byte {
	if len(d.data) != n {
		d.fail(fmt.Errorf("nl: attribute type %d: %d-byte payload, want %d", d.typ, len(d.data), n))
		return nil
	}
	return d.data
}

// Uint8 decodes a u8 payload.
func (d *AttributeDecoder) Uint8() uint8 {
	if b := d.sized(1); b != nil {
		return b[0]
	}
	return 0
}

// Uint16 decodes a u16 payload in host order, or in network order if the
// attribute carries NLA_F_NET_BYTEORDER.
func (d *AttributeDecoder) Uint16() uint16 {
	if b := d.sized(2); b != nil {
		if d.flags&AttrNetByteOrder != 0 {
			return binary.BigEndian.Uint16(b)
		}
		return binary.NativeEndian.Uint16(b)
	}
	return 0
}

// Uint32 decodes a u32 payload (see Uint16 for byte order).
func (d *AttributeDecoder) Uint32() uint32 {
	if b := d.sized(4); b != nil {
		if d.flags&AttrNetByteOrder != 0 {
			return binary.BigEndian.Uint32(b)
		}
		return binary.NativeEndian.Uint32(b)
	}
	return 0
}

// Uint64 decodes a u64 payload (see Uint16 for byte order).
func (d *AttributeDecoder) Uint64() uint64 {
	if b := d.sized(8); b != nil {
		if d.flags&AttrNetByteOrder != 0 {
			return binary.BigEndian.Uint64(b)
		}
		return binary.NativeEndian.Uint64(b)
	}
	return 0
}

// Uint16BE decodes a u16 payload in network byte order, whatever the flags
// say (ports, for instance, are sent big-endian without the flag).
func (d *AttributeDecoder) Uint16BE() uint16 {
	if b := d.sized(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// Uint32BE decodes a u32 payload in network byte order.
func (d *AttributeDecoder) Uint32BE() uint32 {
	if b := d.sized(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// Int8 decodes an s8 payload.
func (d *AttributeDecoder) Int8() int8 { return int8(d.Uint8()) }

// Int16 decodes an s16 payload.
func (d *AttributeDecoder) Int16() int16 { return int16(d.Uint16()) }

// Int32 decodes an s32 payload.
func (d *AttributeDecoder) Int32() int32 { return int32(d.Uint32()) }

// Int64 decodes an s64 payload.
func (d *AttributeDecoder) Int64() int64 { return int64(d.Uint64()) }

// String decodes a string payload, dropping everything from the first NUL.
// It allocates the string; use Bytes to avoid that.
func (d *AttributeDecoder) String() string {
	b := d.data
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return string(b)
}

// Addr decodes a 4- or 16-byte payload as an IP address. It does not allocate.
func (d *AttributeDecoder) Addr() netip.Addr {
	switch len(d.data) {
	case 4:
		return netip.AddrFrom4([4]byte(d.data))
	case 16:
		return netip.AddrFrom16([16]byte(d.data))
	}
	d.fail(fmt.Errorf("nl: attribute type %d: %d-byte payload is not an IPv4 or IPv6 address", d.typ, len(d.data)))
	return netip.Addr{}
}

// Nested returns a decoder over the current attribute's payload. A fault in
// the nested list is reported by the returned decoder's Err; call
// d.Propagate to make it sticky here too.
func (d *AttributeDecoder) Nested() AttributeDecoder { return AttributeDecoder{b: d.data} }

// Propagate records err (typically a nested decoder's Err) as d's error
// unless d already has one.
func (d *AttributeDecoder) Propagate(err error) {
	if err != nil {
		d.fail(err)
	}
}

// AttributeEncoder builds an attribute list by appending to a buffer. Errors
// (an attribute over 65535 bytes) are sticky and reported by Bytes. The zero
// value is ready to use; NewAttributeEncoder appends to an existing buffer
// such as a message under construction.
type AttributeEncoder struct {
	b   []byte
	err error
}

// NewAttributeEncoder returns an encoder that appends to b.
func NewAttributeEncoder(b []byte) *AttributeEncoder { return &AttributeEncoder{b: b} }

// Bytes returns the encoded buffer and the first error met.
func (e *AttributeEncoder) Bytes() ([]byte, error) { return e.b, e.err }

// Len returns the current length of the buffer.
func (e *AttributeEncoder) Len() int { return len(e.b) }

func (e *AttributeEncoder) header(t uint16, n int) {
	if n+AttrHeaderLen > MaxAttrLen {
		if e.err == nil {
			e.err = fmt.Errorf("%w: attribute type %d needs %d bytes, the limit is %d", ErrBadLength, t&AttrTypeMask, n+AttrHeaderLen, MaxAttrLen)
		}
		n = 0
	}
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(n+AttrHeaderLen))
	e.b = binary.NativeEndian.AppendUint16(e.b, t)
}

func (e *AttributeEncoder) raw(t uint16, v []byte) {
	e.header(t, len(v))
	if len(v)+AttrHeaderLen > MaxAttrLen {
		return
	}
	e.b = append(e.b, v...)
	e.b = appendPad(e.b, len(v))
}

// Raw appends an attribute with a raw payload.
func (e *AttributeEncoder) Raw(t uint16, v []byte) { e.raw(t, v) }

// Append appends b as it is, padded to 4 bytes: for the fixed structure
// that some nests carry before their attributes (VETH_INFO_PEER starts with
// a struct ifinfomsg).
func (e *AttributeEncoder) Append(b []byte) {
	e.b = append(e.b, b...)
	e.b = appendPad(e.b, len(b))
}

// Flag appends an attribute with an empty payload (NLA_FLAG).
func (e *AttributeEncoder) Flag(t uint16) { e.header(t, 0) }

// Uint8 appends a u8 attribute.
func (e *AttributeEncoder) Uint8(t uint16, v uint8) {
	e.header(t, 1)
	e.b = append(e.b, v, 0, 0, 0)
}

// Uint16 appends a u16 attribute in host order.
func (e *AttributeEncoder) Uint16(t uint16, v uint16) {
	e.header(t, 2)
	e.b = binary.NativeEndian.AppendUint16(e.b, v)
	e.b = append(e.b, 0, 0)
}

// Uint32 appends a u32 attribute in host order.
func (e *AttributeEncoder) Uint32(t uint16, v uint32) {
	e.header(t, 4)
	e.b = binary.NativeEndian.AppendUint32(e.b, v)
}

// Uint64 appends a u64 attribute in host order.
func (e *AttributeEncoder) Uint64(t uint16, v uint64) {
	e.header(t, 8)
	e.b = binary.NativeEndian.AppendUint64(e.b, v)
}

// Uint16BE appends a u16 attribute in network byte order, without setting
// NLA_F_NET_BYTEORDER (or it in t to set it).
func (e *AttributeEncoder) Uint16BE(t uint16, v uint16) {
	e.header(t, 2)
	e.b = binary.BigEndian.AppendUint16(e.b, v)
	e.b = append(e.b, 0, 0)
}

// Uint32BE appends a u32 attribute in network byte order.
func (e *AttributeEncoder) Uint32BE(t uint16, v uint32) {
	e.header(t, 4)
	e.b = binary.BigEndian.AppendUint32(e.b, v)
}

// Int8 appends an s8 attribute.
func (e *AttributeEncoder) Int8(t uint16, v int8) { e.Uint8(t, uint8(v)) }

// Int16 appends an s16 attribute.
func (e *AttributeEncoder) Int16(t uint16, v int16) { e.Uint16(t, uint16(v)) }

// Int32 appends an s32 attribute.
func (e *AttributeEncoder) Int32(t uint16, v int32) { e.Uint32(t, uint32(v)) }

// Int64 appends an s64 attribute.
func (e *AttributeEncoder) Int64(t uint16, v int64) { e.Uint64(t, uint64(v)) }

// String appends a NUL-terminated string attribute (NLA_NUL_STRING, which
// the kernel also accepts for NLA_STRING).
func (e *AttributeEncoder) String(t uint16, s string) {
	e.header(t, len(s)+1)
	if len(s)+1+AttrHeaderLen > MaxAttrLen {
		return
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
	e.b = appendPad(e.b, len(s)+1)
}

// Addr appends an IP address attribute: 4 bytes for IPv4, 16 for IPv6
// (IPv4-mapped IPv6 addresses included: they are IPv6 addresses to the
// kernel). An invalid address is an error.
func (e *AttributeEncoder) Addr(t uint16, a netip.Addr) {
	switch {
	case a.Is4():
		v := a.As4()
		e.raw(t, v[:])
	case a.Is6():
		v := a.As16()
		e.raw(t, v[:])
	default:
		if e.err == nil {
			e.err = fmt.Errorf("nl: attribute type %d: invalid IP address", t&AttrTypeMask)
		}
	}
}

// BeginNested starts a nested attribute of type t (NLA_F_NESTED is set) and
// returns a mark for EndNested. Attributes appended in between form the nest.
func (e *AttributeEncoder) BeginNested(t uint16) int {
	start := len(e.b)
	e.b = binary.NativeEndian.AppendUint16(e.b, 0)
	e.b = binary.NativeEndian.AppendUint16(e.b, t|AttrNested)
	return start
}

// EndNested closes the nest opened at mark and writes its length.
func (e *AttributeEncoder) EndNested(mark int) {
	n := len(e.b) - mark
	if n > MaxAttrLen {
		if e.err == nil {
			e.err = fmt.Errorf("%w: nested attribute of %d bytes, the limit is %d", ErrBadLength, n, MaxAttrLen)
		}
		return
	}
	binary.NativeEndian.PutUint16(e.b[mark:], uint16(n))
}

// Nested appends a nested attribute whose contents fn writes.
func (e *AttributeEncoder) Nested(t uint16, fn func(*AttributeEncoder)) {
	m := e.BeginNested(t)
	fn(e)
	e.EndNested(m)
}
