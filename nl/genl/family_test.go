package genl_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/genl"
)

var familyCases = []genl.Family{
	{ID: 0x10, Name: "nlctrl", Version: 2, Ops: []genl.Op{{ID: 3, Flags: genl.OpCanDo | genl.OpCanDump | genl.OpHasPolicy}, {ID: 10, Flags: genl.OpCanDump}},
		Groups: []genl.MulticastGroup{{ID: 0x10, Name: "notify"}}},
	{ID: 0x1b, Name: "tcp_metrics", Version: 1, MaxAttr: 13, Ops: []genl.Op{{ID: 1, Flags: genl.OpCanDo}, {ID: 2, Flags: genl.OpAdminPerm | genl.OpCanDo}}},
	{ID: 0x22, Name: "example", Version: 7, HeaderSize: 8, MaxAttr: 40,
		Groups: []genl.MulticastGroup{{ID: 11, Name: "events"}, {ID: 12, Name: "scan"}}},
	{Name: "notification-of-one-group", Groups: []genl.MulticastGroup{{ID: 30, Name: "g"}}},
}

func TestFamilyRoundTrips(t *testing.T) {
	for _, f := range familyCases {
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back genl.Family
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, f) {
			t.Errorf("round trip:\n got  %+v\n want %+v", back, f)
		}
		m := nl.Message{Header: nl.Header{Type: genl.ControllerID}, Data: b}
		got, cmd, err := genl.DecodeFamily(m)
		if err != nil || cmd != genl.CmdNewFamily || !reflect.DeepEqual(got, f) {
			t.Errorf("DecodeFamily: %+v, command %d, %v", got, cmd, err)
		}
	}
}

func TestHeaderCodec(t *testing.T) {
	m := genl.NewRequest(0x1c, nl.FlagDump, genl.Header{Command: 3, Version: 1}, []byte{8, 0, 1, 0, 7, 0, 0, 0})
	if m.Header.Type != 0x1c || m.Header.Flags != nl.FlagDump {
		t.Errorf("header %+v", m.Header)
	}
	if want := []byte{3, 1, 0, 0, 8, 0, 1, 0, 7, 0, 0, 0}; !bytes.Equal(m.Data, want) {
		t.Errorf("payload % x, want % x", m.Data, want)
	}
	h, rest, err := genl.DecodeHeader(m.Data)
	if err != nil || h != (genl.Header{Command: 3, Version: 1}) || len(rest) != 8 {
		t.Errorf("DecodeHeader: %+v, % x, %v", h, rest, err)
	}
	if _, _, err := genl.DecodeHeader([]byte{1, 2}); !errors.Is(err, nl.ErrShortMessage) {
		t.Errorf("short header: %v, want nl.ErrShortMessage", err)
	}
}

func TestDecodeFamilyRejectsMalformedMessages(t *testing.T) {
	good, err := familyCases[0].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    nl.Message
		want error
	}{
		{"not from the controller", nl.Message{Header: nl.Header{Type: 0x11}, Data: good}, genl.ErrNotController},
		{"no generic header", nl.Message{Header: nl.Header{Type: genl.ControllerID}, Data: good[:2]}, nl.ErrShortMessage},
		{"attribute past the end", nl.Message{Header: nl.Header{Type: genl.ControllerID}, Data: append(good[:4:4], 40, 0, 2, 0, 'x')}, nl.ErrBadLength},
		{"family id of the wrong size", nl.Message{Header: nl.Header{Type: genl.ControllerID}, Data: []byte{1, 2, 0, 0, 8, 0, 1, 0, 1, 2, 3, 4}}, nil},
	} {
		_, _, err := genl.DecodeFamily(tc.m)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want an error matching %v", tc.name, err, tc.want)
		}
	}
}

func TestFamilyGroupLookup(t *testing.T) {
	f := familyCases[2]
	if g, ok := f.Group("scan"); !ok || g.ID != 12 {
		t.Errorf("Group(scan) = %+v, %v", g, ok)
	}
	if _, ok := f.Group("nope"); ok {
		t.Error("Group(nope) found")
	}
	if s := (genl.Op{ID: 5, Flags: genl.OpAdminPerm | genl.OpCanDump | 0x40}).String(); s != "0x5 (requires admin permission; can dumpit; 0x40)" {
		t.Errorf("Op.String() = %q", s)
	}
}
