package rtnl

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"

	"github.com/nlrx/nlrx/nl"
)

// NameLen is the room a Name has: IFNAMSIZ, the kernel's limit for interface
// names and address labels (which leaves 15 bytes and a NUL for them).
const NameLen = 16

// Name is a short kernel name (an interface name, a link kind, an address
// label) held inline, so that decoding a Link or an Address does not
// allocate. It is comparable; the zero value is the empty name.
//
// A name longer than NameLen bytes is cut to NameLen bytes; the kernel never
// reports one (interface names and labels are at most 15 bytes, link kinds
// are short words such as "veth" or "vxlan").
type Name struct {
	b [NameLen]byte
}

// MakeName returns s as a Name, cut to NameLen bytes (and at a NUL). It does
// not allocate.
func MakeName(s string) Name {
	var n Name
	copy(n.b[:], s)
	return n
}

// nameFrom returns the bytes of b up to the first NUL as a Name.
func nameFrom(b []byte) Name {
	var n Name
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	copy(n.b[:], b)
	return n
}

// Len returns the length of the name in bytes.
func (n Name) Len() int {
	for i, c := range n.b {
		if c == 0 {
			return i
		}
	}
	return NameLen
}

// IsZero reports whether the name is empty.
func (n Name) IsZero() bool { return n.b[0] == 0 }

// String returns the name. It allocates the string.
func (n Name) String() string { return string(n.b[:n.Len()]) }

// Is reports whether the name equals s. It does not allocate.
func (n Name) Is(s string) bool { return string(n.b[:n.Len()]) == s }

// AppendText appends the name to b (encoding.TextAppender).
func (n Name) AppendText(b []byte) ([]byte, error) { return append(b, n.b[:n.Len()]...), nil }

// MarshalText returns the name as text (encoding.TextMarshaler).
func (n Name) MarshalText() ([]byte, error) { return n.AppendText(nil) }

// UnmarshalText sets the name from text, which must fit in NameLen bytes.
func (n *Name) UnmarshalText(text []byte) error {
	if len(text) > NameLen {
		return fmt.Errorf("rtnl: name %q is longer than %d bytes", text, NameLen)
	}
	*n = nameFrom(text)
	return nil
}

// putName appends a NUL-terminated name attribute without allocating.
func putName(e *nl.AttributeEncoder, t uint16, n Name) {
	var b [NameLen + 1]byte
	l := copy(b[:], n.b[:n.Len()])
	e.Raw(t, b[:l+1])
}

// MaxHardwareAddrLen is the longest link-layer address the kernel handles
// (MAX_ADDR_LEN).
const MaxHardwareAddrLen = 32

// HardwareAddr is a link-layer address (an Ethernet MAC, a 20-byte
// InfiniBand address, or the IP address of a tunnel's neighbour) held
// inline, so that decoding does not allocate. It is comparable; the zero
// value is the empty address.
type HardwareAddr struct {
	n uint8
	b [MaxHardwareAddrLen]byte
}

var errHardwareAddrLen = errors.New("rtnl: link-layer address longer than 32 bytes")

// HardwareAddrFrom returns a copy of b as a HardwareAddr. It fails if b is
// longer than MaxHardwareAddrLen.
func HardwareAddrFrom(b []byte) (HardwareAddr, error) {
	var a HardwareAddr
	if len(b) > MaxHardwareAddrLen {
		return a, errHardwareAddrLen
	}
	a.n = uint8(copy(a.b[:], b))
	return a, nil
}

// ParseHardwareAddr parses an address in any form net.ParseMAC accepts
// ("02:00:5e:10:00:01", "0200.5e10.0001", …: 6, 8 or 20 bytes).
func ParseHardwareAddr(s string) (HardwareAddr, error) {
	hw, err := net.ParseMAC(s)
	if err != nil {
		return HardwareAddr{}, fmt.Errorf("rtnl: %w", err)
	}
	return HardwareAddrFrom(hw)
}

// Len returns the length of the address in bytes.
func (a HardwareAddr) Len() int { return int(a.n) }

// IsZero reports whether the address is empty (not whether it is all
// zeros: the loopback device's address is six zero bytes).
func (a HardwareAddr) IsZero() bool { return a.n == 0 }

// Bytes returns the address. The slice aliases a.
func (a *HardwareAddr) Bytes() []byte { return a.b[:a.n] }

// Net returns the address as a net.HardwareAddr. It allocates.
func (a HardwareAddr) Net() net.HardwareAddr { return append(net.HardwareAddr(nil), a.b[:a.n]...) }

// String returns the address as lower-case hexadecimal bytes separated by
// colons, as net.HardwareAddr and iproute2 print it, or "" when empty. It
// allocates the string.
func (a HardwareAddr) String() string {
	b, _ := a.AppendText(make([]byte, 0, 3*int(a.n)))
	return string(b)
}

// AppendText appends the String form to b (encoding.TextAppender).
func (a HardwareAddr) AppendText(b []byte) ([]byte, error) {
	for i, c := range a.b[:a.n] {
		if i > 0 {
			b = append(b, ':')
		}
		b = hex.AppendEncode(b, []byte{c})
	}
	return b, nil
}

// MarshalText returns the String form (encoding.TextMarshaler).
func (a HardwareAddr) MarshalText() ([]byte, error) { return a.AppendText(nil) }

// UnmarshalText parses text as ParseHardwareAddr does; empty text gives the
// empty address.
func (a *HardwareAddr) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*a = HardwareAddr{}
		return nil
	}
	v, err := ParseHardwareAddr(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
