package nl

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"
)

// Each part of an *Error is in its text only when it is set.
func TestErrorTextNamesWhatIsSet(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Errno: syscall.EPERM}, "nl: operation not permitted"},
		{Error{Errno: syscall.EPERM, Message: "no"}, "nl: operation not permitted: no"},
		{Error{Errno: syscall.EINVAL, Offset: 36}, "nl: invalid argument (attribute at offset 36)"},
		{Error{Errno: syscall.EINVAL, MissingType: 5}, "nl: invalid argument (missing attribute type 5)"},
		{Error{Errno: syscall.EINVAL, Message: "bad", Offset: 20, MissingType: 3}, "nl: invalid argument: bad (attribute at offset 20) (missing attribute type 3)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

// The smallest payloads that carry an errno, 4 bytes, are decoded: an
// NLMSG_ERROR without the echoed request and, above all, the NLMSG_DONE of
// a failed dump as the kernel sends it.
func TestParseErrorAndDoneDecodeABareErrno(t *testing.T) {
	errno := func(e syscall.Errno) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(-int32(e))) }
	var ne *Error
	if err := ParseError(Message{Header: Header{Type: TypeError}, Data: errno(syscall.EPERM)}); !errors.As(err, &ne) || ne.Errno != syscall.EPERM {
		t.Errorf("a 4-byte NLMSG_ERROR: %v, want EPERM", err)
	}
	if err := ParseDone(Message{Header: Header{Type: TypeDone, Flags: FlagMulti}, Data: errno(syscall.EINTR)}); !errors.As(err, &ne) || ne.Errno != syscall.EINTR {
		t.Errorf("a 4-byte NLMSG_DONE: %v, want EINTR", err)
	}
	if err := ParseError(Message{Header: Header{Type: TypeError}, Data: []byte{1, 2, 3}}); !errors.Is(err, ErrShortMessage) {
		t.Errorf("a 3-byte NLMSG_ERROR: %v, want ErrShortMessage", err)
	}
}

// The extended ACK's missing-attribute type is decoded.
func TestParseErrorDecodesTheMissingAttributeType(t *testing.T) {
	req := Message{Header: Header{Length: 20, Type: 24, Seq: 3}, Data: make([]byte, 4)}
	err := ParseError(errorMessage(int32(syscall.EINVAL), req, true, func(e *AttributeEncoder) {
		e.Uint32(errAttrMissType, 7)
		e.Uint32(errAttrOffs, 16)
	}))
	var ne *Error
	if !errors.As(err, &ne) || ne.MissingType != 7 || ne.Offset != 16 {
		t.Fatalf("%v (%+v): want missing type 7 at offset 16", err, ne)
	}
}
