package nl_test

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"github.com/nlrx/nlrx/nl"
)

// doneWith returns an NLMSG_DONE whose first payload word is v: an errno
// (negated) on a netlink socket, cb_id.idx on a connector one.
func doneWith(v int32, flags uint16) nl.Message {
	b := make([]byte, 20)
	binary.NativeEndian.PutUint32(b, uint32(v))
	return nl.Message{Header: nl.Header{Type: nl.TypeDone, Flags: flags}, Data: b}
}

func errorWith(errno int32) nl.Message {
	b := make([]byte, 4+nl.HeaderLen)
	binary.NativeEndian.PutUint32(b, uint32(errno))
	return nl.Message{Header: nl.Header{Type: nl.TypeError}, Data: b}
}

// anyErrno stands for any *nl.Error in the table below.
const anyErrno = syscall.Errno(1 << 20)

func TestProtocolFraming(t *testing.T) {
	for _, tc := range []struct {
		protocol int
		want     nl.Framing
	}{
		{0, nl.FramingNetlink},    // NETLINK_ROUTE
		{16, nl.FramingNetlink},   // NETLINK_GENERIC
		{12, nl.FramingNetlink},   // NETLINK_NETFILTER
		{11, nl.FramingConnector}, // NETLINK_CONNECTOR
		{15, nl.FramingRaw},       // NETLINK_KOBJECT_UEVENT
	} {
		if got := nl.ProtocolFraming(tc.protocol); got != tc.want {
			t.Errorf("ProtocolFraming(%d) = %v, want %v", tc.protocol, got, tc.want)
		}
	}
	if s := nl.Framing(9).String(); s != "Framing(9)" {
		t.Errorf("String of an unknown framing = %q", s)
	}
}

func TestFramingDecidesWhatEndsAReplyAndCarriesAnError(t *testing.T) {
	proc := doneWith(1, 0) // a connector message: cb_id.idx CN_IDX_PROC
	dumpEnd := doneWith(0, nl.FlagMulti)
	failed := doneWith(-int32(syscall.EPERM), nl.FlagMulti)
	nack := errorWith(-int32(syscall.EINVAL))
	data := nl.Message{Header: nl.Header{Type: nl.MinType}}
	for _, tc := range []struct {
		name  string
		f     nl.Framing
		m     nl.Message
		ends  bool
		errno syscall.Errno
	}{
		{"netlink: DONE ends", nl.FramingNetlink, dumpEnd, true, 0},
		{"netlink: DONE carries its errno", nl.FramingNetlink, failed, true, syscall.EPERM},
		{"netlink: a connector message reads as an errno", nl.FramingNetlink, proc, true, anyErrno},
		{"netlink: ERROR ends with its errno", nl.FramingNetlink, nack, true, syscall.EINVAL},
		{"netlink: data goes on", nl.FramingNetlink, data, false, 0},
		{"connector: DONE is a message", nl.FramingConnector, proc, false, 0},
		{"connector: DONE never carries an errno", nl.FramingConnector, failed, false, 0},
		{"connector: ERROR still ends with its errno", nl.FramingConnector, nack, true, syscall.EINVAL},
		{"raw: nothing ends", nl.FramingRaw, nack, false, 0},
		{"raw: DONE is data", nl.FramingRaw, dumpEnd, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.EndsReply(tc.m); got != tc.ends {
				t.Errorf("EndsReply = %v, want %v", got, tc.ends)
			}
			err := tc.f.CheckMessage(tc.m)
			var ne *nl.Error
			switch {
			case tc.errno == 0 && err != nil:
				t.Errorf("CheckMessage = %v, want nil", err)
			case tc.errno == anyErrno && !errors.As(err, &ne):
				t.Errorf("CheckMessage = %v, want an *nl.Error", err)
			case tc.errno != 0 && tc.errno != anyErrno && (!errors.As(err, &ne) || ne.Errno != tc.errno):
				t.Errorf("CheckMessage = %v, want errno %d", err, tc.errno)
			}
		})
	}
}

func TestRawMessageWrapsTheDatagramWithoutCopying(t *testing.T) {
	b := []byte("add@/devices/virtual/net/v0\x00ACTION=add\x00")
	m := nl.RawMessage(b, 42)
	if m.Header.PortID != 42 || m.Header.Type != 0 || m.Header.Seq != 0 || m.Header.Flags != 0 {
		t.Errorf("header = %+v", m.Header)
	}
	if int(m.Header.Length) != m.Len() || m.Len() != nl.HeaderLen+len(b) {
		t.Errorf("Length %d, Len %d, datagram %d bytes", m.Header.Length, m.Len(), len(b))
	}
	if &m.Data[0] != &b[0] || len(m.Data) != len(b) || cap(m.Data) != len(b) {
		t.Errorf("Data does not alias the datagram exactly")
	}
	if e := nl.RawMessage(nil, 0); len(e.Data) != 0 || e.Len() != nl.HeaderLen {
		t.Errorf("empty datagram: %+v", e)
	}
}
