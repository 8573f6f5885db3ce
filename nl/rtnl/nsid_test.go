package rtnl_test

import (
	"errors"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// nsidPayload builds a namespace-id payload: struct rtgenmsg and attrs.
func nsidPayload(attrs func(e *nl.AttributeEncoder)) []byte {
	e := nl.NewAttributeEncoder(make([]byte, 4))
	if attrs != nil {
		attrs(e)
	}
	b, err := e.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}

// The NETNSA_* attribute numbers, as the kernel's uapi gives them.
const (
	netnsaNSID, netnsaPID, netnsaFD, netnsaTargetNSID, netnsaCurrentNSID = 1, 2, 3, 4, 5
)

var nsidCases = []struct {
	name    string
	payload []byte
	want    rtnl.NSID
	text    string
}{
	{"a notification", nsidPayload(func(e *nl.AttributeEncoder) { e.Int32(netnsaNSID, 10) }),
		rtnl.NSID{ID: 10}, "nsid 10"},
	{"an id of 0", nsidPayload(func(e *nl.AttributeEncoder) { e.Int32(netnsaNSID, 0) }),
		rtnl.NSID{ID: 0}, "nsid 0"},
	{"a reply for a peer without an id", nsidPayload(func(e *nl.AttributeEncoder) { e.Int32(netnsaNSID, -1) }),
		rtnl.NSID{ID: rtnl.NSIDNotAssigned}, "nsid unassigned"},
	{"a dump entry of another namespace", nsidPayload(func(e *nl.AttributeEncoder) {
		e.Int32(netnsaNSID, 3)
		e.Int32(netnsaCurrentNSID, -1)
	}), rtnl.NSID{ID: 3, Current: -1, HasCurrent: true}, "nsid 3 current-nsid unassigned"},
	{"a request by process", nsidPayload(func(e *nl.AttributeEncoder) {
		e.Int32(netnsaNSID, 7)
		e.Uint32(netnsaPID, 4242)
	}), rtnl.NSID{ID: 7, PID: 4242}, "nsid 7"},
	{"a request by file in a target", nsidPayload(func(e *nl.AttributeEncoder) {
		e.Uint32(netnsaFD, 0)
		e.Int32(netnsaTargetNSID, 5)
	}), rtnl.NSID{ID: rtnl.NSIDNotAssigned, FD: 0, HasFD: true, Target: 5, HasTarget: true}, "nsid unassigned"},
	{"an unknown attribute", nsidPayload(func(e *nl.AttributeEncoder) {
		e.Uint32(99, 1)
		e.Int32(netnsaNSID, 2)
	}), rtnl.NSID{ID: 2}, "nsid 2"},
	{"struct rtgenmsg alone, unpadded", []byte{0}, rtnl.NSID{ID: rtnl.NSIDNotAssigned}, "nsid unassigned"},
}

func TestNSIDDecodesWhatTheKernelSends(t *testing.T) {
	for _, tc := range nsidCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, typ := range []uint16{rtnl.TypeNewNSID, rtnl.TypeDelNSID, rtnl.TypeGetNSID} {
				got, err := rtnl.DecodeNSID(nl.Message{Header: nl.Header{Type: typ}, Data: tc.payload})
				if err != nil || got != tc.want {
					t.Fatalf("DecodeNSID (type %d) = %+v, %v; want %+v", typ, got, err, tc.want)
				}
			}
			if s := tc.want.String(); s != tc.text {
				t.Errorf("String = %q, want %q", s, tc.text)
			}
		})
	}
}

func TestNSIDEncodesToWhatItDecodesFrom(t *testing.T) {
	for _, tc := range nsidCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.want.Message(rtnl.TypeNewNSID, nl.FlagRequest)
			if err != nil {
				t.Fatal(err)
			}
			if m.Header.Type != rtnl.TypeNewNSID || m.Header.Flags != nl.FlagRequest {
				t.Errorf("header %+v", m.Header)
			}
			var back rtnl.NSID
			if err := back.UnmarshalBinary(m.Data); err != nil || back != tc.want {
				t.Fatalf("round trip: %+v, %v; want %+v", back, err, tc.want)
			}
		})
	}
}

func TestNSIDRejectsWhatIsNotANamespaceID(t *testing.T) {
	if _, err := rtnl.DecodeNSID(nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: []byte{0, 0, 0, 0}}); !errors.Is(err, rtnl.ErrMessageType) {
		t.Errorf("a link message: %v, want ErrMessageType", err)
	}
	var n rtnl.NSID
	if err := n.UnmarshalBinary(nil); !errors.Is(err, nl.ErrShortMessage) {
		t.Errorf("an empty payload: %v, want nl.ErrShortMessage", err)
	}
	if n.ID != rtnl.NSIDNotAssigned {
		t.Errorf("after a failed decode ID = %d, want NSIDNotAssigned", n.ID)
	}
	// An attribute whose length runs past the payload.
	bad := nsidPayload(func(e *nl.AttributeEncoder) { e.Int32(netnsaNSID, 1) })
	bad[4] = 12
	if err := n.UnmarshalBinary(bad); !errors.Is(err, nl.ErrBadLength) {
		t.Errorf("an attribute past the end: %v, want nl.ErrBadLength", err)
	}
	// A 2-byte NETNSA_NSID.
	short := nsidPayload(func(e *nl.AttributeEncoder) { e.Uint16(netnsaNSID, 1) })
	if err := n.UnmarshalBinary(short); err == nil {
		t.Errorf("a 2-byte NETNSA_NSID decoded as %+v", n)
	}
}

func TestNSIDDecodeDoesNotAllocate(t *testing.T) {
	m := nl.Message{Header: nl.Header{Type: rtnl.TypeNewNSID}, Data: nsidCases[0].payload}
	if n := testing.AllocsPerRun(100, func() { rtnl.DecodeNSID(m) }); n != 0 {
		t.Errorf("DecodeNSID allocates %.0f times, want 0", n)
	}
}
