package nl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
)

// Error is a failure reported by the kernel in NLMSG_ERROR, or in the errno
// of NLMSG_DONE at the end of a dump. It wraps the errno, so
// errors.Is(err, unix.EEXIST) holds for an *Error carrying EEXIST, through
// any further %w wrapping.
type Error struct {
	// Errno is the error number (positive).
	Errno syscall.Errno
	// Message is the extended-ACK text (NLMSGERR_ATTR_MSG), if any.
	Message string
	// Offset is the byte offset, from the start of the request's header, of
	// the attribute the kernel rejected (NLMSGERR_ATTR_OFFS); 0 if not given.
	Offset uint32
	// MissingType is the type of a missing required attribute
	// (NLMSGERR_ATTR_MISS_TYPE); 0 if not given.
	MissingType uint32
	// Request is the header of the request that failed, as echoed by the
	// kernel (zero for errors carried in NLMSG_DONE).
	Request Header
}

func (e *Error) Error() string {
	s := "nl: " + e.Errno.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Offset != 0 {
		s += fmt.Sprintf(" (attribute at offset %d)", e.Offset)
	}
	if e.MissingType != 0 {
		s += fmt.Sprintf(" (missing attribute type %d)", e.MissingType)
	}
	return s
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// Errors returned by the receive path.
var (
	// ErrDumpInterrupted reports a dump the kernel flagged with
	// NLM_F_DUMP_INTR: its content changed while it was dumped, so the result
	// may be inconsistent. The messages received are still returned; the
	// caller should dump again.
	ErrDumpInterrupted = errors.New("nl: dump interrupted by a concurrent change (NLM_F_DUMP_INTR); dump again")
	// ErrTruncated reports a datagram larger than the receive buffer
	// (MSG_TRUNC): its tail is lost. The buffer is grown for the next read.
	ErrTruncated = errors.New("nl: datagram truncated (MSG_TRUNC): messages lost")
)

// ParseError decodes the payload of an NLMSG_ERROR message. It returns nil
// for an ACK (errno 0), an *Error for a failure, or a decoding error wrapping
// ErrShortMessage. It allocates only for the extended-ACK text.
func ParseError(m Message) error {
	b := m.Data
	if len(b) < 4 {
		return fmt.Errorf("%w: NLMSG_ERROR payload of %d bytes", ErrShortMessage, len(b))
	}
	errno := -int32(binary.NativeEndian.Uint32(b[0:4]))
	if errno == 0 {
		return nil
	}
	e := &Error{Errno: syscall.Errno(errno)}
	rest := b[4:]
	if len(rest) >= HeaderLen {
		e.Request, _ = DecodeHeader(rest)
	}
	if m.Header.Flags&FlagAckTLVs != 0 {
		skip := HeaderLen
		if m.Header.Flags&FlagCapped == 0 && int(e.Request.Length) > HeaderLen {
			skip = Align(int(e.Request.Length))
		}
		if skip <= len(rest) {
			e.parseTLVs(rest[skip:])
		}
	}
	return e
}

// ParseDone decodes the payload of an NLMSG_DONE message. It returns nil
// when the dump ended well (errno 0, or no payload) and an *Error otherwise.
func ParseDone(m Message) error {
	b := m.Data
	if len(b) < 4 {
		return nil
	}
	errno := -int32(binary.NativeEndian.Uint32(b[0:4]))
	if errno == 0 {
		return nil
	}
	e := &Error{Errno: syscall.Errno(errno)}
	if m.Header.Flags&FlagAckTLVs != 0 {
		e.parseTLVs(b[4:])
	}
	return e
}

// CheckMessage returns the kernel error carried by m (NLMSG_ERROR with a
// non-zero errno, or NLMSG_DONE with one), or nil for any other message.
func CheckMessage(m Message) error {
	switch m.Header.Type {
	case TypeError:
		return ParseError(m)
	case TypeDone:
		return ParseDone(m)
	}
	return nil
}

func (e *Error) parseTLVs(b []byte) {
	d := NewAttributeDecoder(b)
	for d.Next() {
		switch d.Type() {
		case errAttrMsg:
			e.Message = d.String()
		case errAttrOffs:
			if d.Len() == 4 {
				e.Offset = d.Uint32()
			}
		case errAttrMissType:
			if d.Len() == 4 {
				e.MissingType = d.Uint32()
			}
		}
	}
}
