package nl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// errorMessage builds an NLMSG_ERROR reply the way the kernel does.
func errorMessage(errno int32, req Message, capped bool, tlvs func(*AttributeEncoder)) Message {
	flags := uint16(0)
	b := binary.NativeEndian.AppendUint32(nil, uint32(-errno))
	if capped {
		flags |= FlagCapped
		b = AppendMessage(b, Message{Header: req.Header})[:4+HeaderLen]
		PutHeader(b[4:], req.Header)
	} else {
		b = AppendMessage(b, req)
	}
	if tlvs != nil {
		flags |= FlagAckTLVs
		e := NewAttributeEncoder(b)
		tlvs(e)
		b, _ = e.Bytes()
	}
	return Message{Header: Header{Type: TypeError, Flags: flags}, Data: b}
}

func TestParseErrorDecodesExtendedAck(t *testing.T) {
	req := Message{Header: Header{Length: 36, Type: 24, Flags: FlagRequest | FlagAck, Seq: 42, PortID: 7}, Data: make([]byte, 20)}
	tlvs := func(e *AttributeEncoder) {
		e.String(errAttrMsg, "Nexthop device is not up")
		e.Uint32(errAttrOffs, 36)
	}
	for _, capped := range []bool{true, false} {
		t.Run(fmt.Sprintf("capped=%v", capped), func(t *testing.T) {
			err := ParseError(errorMessage(int32(syscall.ENETDOWN), req, capped, tlvs))
			var ne *Error
			if !errors.As(err, &ne) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if !errors.Is(fmt.Errorf("wrapped: %w", err), syscall.ENETDOWN) {
				t.Error("errors.Is(ENETDOWN) fails through a wrapper")
			}
			if ne.Message != "Nexthop device is not up" || ne.Offset != 36 {
				t.Errorf("ext-ack = %q at %d", ne.Message, ne.Offset)
			}
			if ne.Request.Seq != 42 || ne.Request.Type != 24 {
				t.Errorf("echoed request = %+v", ne.Request)
			}
		})
	}
}

func TestParseErrorTreatsErrnoZeroAsAck(t *testing.T) {
	req := Message{Header: Header{Type: 24, Seq: 1}}
	if err := ParseError(errorMessage(0, req, true, nil)); err != nil {
		t.Errorf("ACK: err = %v", err)
	}
	if err := ParseError(Message{Header: Header{Type: TypeError}, Data: []byte{1}}); !errors.Is(err, ErrShortMessage) {
		t.Errorf("short payload: err = %v, want ErrShortMessage", err)
	}
}

func TestParseDoneCarriesDumpErrors(t *testing.T) {
	einval := int32(syscall.EINVAL)
	b := binary.NativeEndian.AppendUint32(nil, uint32(-einval))
	e := NewAttributeEncoder(b)
	e.String(errAttrMsg, "ipv4: Invalid values in header for address dump request")
	b, _ = e.Bytes()
	err := ParseDone(Message{Header: Header{Type: TypeDone, Flags: FlagMulti | FlagAckTLVs}, Data: b})
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("err = %v, want EINVAL", err)
	}
	var ne *Error
	errors.As(err, &ne)
	if ne.Message == "" {
		t.Error("ext-ack text lost")
	}
	for _, ok := range [][]byte{nil, {0, 0, 0, 0}} {
		if err := ParseDone(Message{Header: Header{Type: TypeDone}, Data: ok}); err != nil {
			t.Errorf("DONE %v: err = %v", ok, err)
		}
	}
}
