package uevent_test

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/uevent"
)

// vethAdd is a kernel uevent as `udevadm monitor --kernel --property`
// shows one for a veth device.
const vethAdd = "add@/devices/virtual/net/v0\x00ACTION=add\x00DEVPATH=/devices/virtual/net/v0\x00" +
	"SUBSYSTEM=net\x00INTERFACE=v0\x00IFINDEX=7\x00SEQNUM=4711\x00"

const diskAdd = "add@/devices/virtual/block/loop0/loop0p1\x00ACTION=add\x00DEVPATH=/devices/virtual/block/loop0/loop0p1\x00" +
	"SUBSYSTEM=block\x00MAJOR=259\x00MINOR=1\x00DEVNAME=loop0p1\x00DEVTYPE=partition\x00DISKSEQ=9\x00PARTN=1\x00SEQNUM=12\x00"

// libudev builds a libudev message (struct monitor_netlink_header, then
// the properties) as udevd sends one.
func libudev(props string) []byte {
	b := make([]byte, 40, 40+len(props))
	copy(b, "libudev\x00")
	binary.BigEndian.PutUint32(b[8:], 0xfeedcafe)
	binary.NativeEndian.PutUint32(b[12:], 40)
	binary.NativeEndian.PutUint32(b[16:], 40)
	binary.NativeEndian.PutUint32(b[20:], uint32(len(props)))
	binary.BigEndian.PutUint32(b[24:], 0x1234) // subsystem hash: unchecked
	return append(b, props...)
}

const udevProps = "ACTION=add\x00DEVPATH=/devices/virtual/net/v0\x00SUBSYSTEM=net\x00INTERFACE=v0\x00" +
	"IFINDEX=7\x00SEQNUM=4711\x00USEC_INITIALIZED=123\x00TAGS=:systemd:\x00CURRENT_TAGS=:systemd:\x00"

func TestParseKernelUevent(t *testing.T) {
	e, err := uevent.Parse([]byte(vethAdd), 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Action != uevent.ActionAdd || e.DevPath != "/devices/virtual/net/v0" || e.Subsystem != "net" ||
		e.Seqnum != 4711 || e.Source != uevent.SourceKernel || !e.Trusted() {
		t.Errorf("parsed %+v", e)
	}
	if e.Interface() != "v0" || e.IfIndex() != 7 || e.DevName() != "" || len(e.Tags()) != 0 {
		t.Errorf("accessors: interface %q ifindex %d devname %q tags %q", e.Interface(), e.IfIndex(), e.DevName(), e.Tags())
	}
	keys := make([]string, len(e.Env))
	for i, v := range e.Env {
		keys[i] = v.Key
	}
	if want := []string{"ACTION", "DEVPATH", "SUBSYSTEM", "INTERFACE", "IFINDEX", "SEQNUM"}; !slices.Equal(keys, want) {
		t.Errorf("Env keys %q, want %q in the order sent", keys, want)
	}
	if got := e.String(); got != "kernel add@/devices/virtual/net/v0 (net) seq 4711" {
		t.Errorf("String = %q", got)
	}

	d, err := uevent.Decode(nl.RawMessage([]byte(diskAdd), 0))
	if err != nil {
		t.Fatal(err)
	}
	if d.DevType() != "partition" || d.DevName() != "loop0p1" || d.Major() != 259 || d.Minor() != 1 || d.Driver() != "" {
		t.Errorf("disk: devtype %q devname %q %d:%d", d.DevType(), d.DevName(), d.Major(), d.Minor())
	}
	if v, ok := d.Get("DISKSEQ"); !ok || v != "9" {
		t.Errorf("Get(DISKSEQ) = %q, %v", v, ok)
	}
	if _, ok := d.Get("NOPE"); ok {
		t.Error("Get of a missing key reports it present")
	}
}

func TestParsedEventOwnsItsMemory(t *testing.T) {
	b := []byte(vethAdd)
	e, err := uevent.Parse(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'x'
	}
	if e.DevPath != "/devices/virtual/net/v0" || e.Interface() != "v0" {
		t.Errorf("event changed with the buffer: %+v", e)
	}
}

func TestParseUdevMessageIsFlaggedNotTrusted(t *testing.T) {
	for _, from := range []uint32{0, 1234} {
		e, err := uevent.Parse(libudev(udevProps), from)
		if err != nil {
			t.Fatal(err)
		}
		if e.Source != uevent.SourceUdev || e.Trusted() {
			t.Errorf("from %d: source %v, trusted %v; want udev, untrusted", from, e.Source, e.Trusted())
		}
		if e.Action != uevent.ActionAdd || e.Subsystem != "net" || e.Seqnum != 4711 || e.IfIndex() != 7 {
			t.Errorf("parsed %+v", e)
		}
		if tags := e.Tags(); !slices.Equal(tags, []string{"systemd"}) {
			t.Errorf("Tags = %q", tags)
		}
	}
}

func TestParseRejects(t *testing.T) {
	badMagic := libudev(udevProps)
	binary.BigEndian.PutUint32(badMagic[8:], 0xcafefeed)
	pastEnd := libudev(udevProps)
	binary.NativeEndian.PutUint32(pastEnd[20:], uint32(len(udevProps)+1))
	intoHeader := libudev(udevProps)
	binary.NativeEndian.PutUint32(intoHeader[16:], 8)
	huge := libudev(udevProps)
	binary.NativeEndian.PutUint32(huge[16:], 0xffffffff)
	binary.NativeEndian.PutUint32(huge[20:], 0xffffffff)
	for _, tc := range []struct {
		name string
		b    string
		from uint32
		is   error
	}{
		{"kernel format from user space", vethAdd, 99, uevent.ErrSpoofed},
		{"empty", "", 0, uevent.ErrMalformed},
		{"no NUL", "add@/devices/x", 0, uevent.ErrMalformed},
		{"no @", "add/devices/x\x00ACTION=add\x00", 0, uevent.ErrMalformed},
		{"devpath not absolute", "add@devices\x00", 0, uevent.ErrMalformed},
		{"empty action", "@/devices/x\x00", 0, uevent.ErrMalformed},
		{"variable without =", "add@/devices/x\x00ACTION\x00", 0, uevent.ErrMalformed},
		{"empty key", "add@/devices/x\x00=v\x00", 0, uevent.ErrMalformed},
		{"bad SEQNUM", "add@/devices/x\x00SEQNUM=12a\x00", 0, uevent.ErrMalformed},
		{"header and ACTION disagree", "add@/devices/x\x00ACTION=remove\x00", 0, uevent.ErrMalformed},
		{"header and DEVPATH disagree", "add@/devices/x\x00DEVPATH=/devices/y\x00", 0, uevent.ErrMalformed},
		{"libudev too short", "libudev\x00\xfe\xed", 0, uevent.ErrMalformed},
		{"libudev bad magic", string(badMagic), 0, uevent.ErrMalformed},
		{"libudev properties past the end", string(pastEnd), 0, uevent.ErrMalformed},
		{"libudev properties inside the header", string(intoHeader), 0, uevent.ErrMalformed},
		{"libudev offsets overflow", string(huge), 0, uevent.ErrMalformed},
		{"libudev without ACTION", string(libudev("DEVPATH=/devices/x\x00")), 0, uevent.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := uevent.Parse([]byte(tc.b), tc.from); !errors.Is(err, tc.is) {
				t.Errorf("Parse = %v, want %v", err, tc.is)
			}
		})
	}
}

func TestParseFillsFieldsFromTheHeaderWhenVariablesLackThem(t *testing.T) {
	e, err := uevent.Parse([]byte("change@/devices/x\x00SEQNUM=3\x00\x00"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.Action != uevent.ActionChange || e.DevPath != "/devices/x" || e.Seqnum != 3 || len(e.Env) != 1 {
		t.Errorf("parsed %+v", e)
	}
}

func TestAppendKernelRoundTrips(t *testing.T) {
	e, err := uevent.Parse([]byte(diskAdd), 0)
	if err != nil {
		t.Fatal(err)
	}
	back, err := uevent.Parse(uevent.AppendKernel(nil, e), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("round trip:\n got  %+v\n want %+v", back, e)
	}
	if string(uevent.AppendKernel(nil, e)) != diskAdd {
		t.Errorf("AppendKernel does not reproduce the kernel's datagram")
	}
}
