package uevent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nlrx/nlrx/nl"
)

// Action is what happened to a device: the kernel's kobject_action names.
type Action string

// The kernel's actions (lib/kobject_uevent.c).
const (
	ActionAdd     Action = "add"
	ActionRemove  Action = "remove"
	ActionChange  Action = "change"
	ActionMove    Action = "move"
	ActionOnline  Action = "online"
	ActionOffline Action = "offline"
	ActionBind    Action = "bind"
	ActionUnbind  Action = "unbind"
)

// Source says who sent an event, and so whether it can be trusted.
type Source uint8

const (
	// SourceKernel: a kernel uevent ("ACTION@DEVPATH\0KEY=VALUE\0…") from
	// port 0, which only the kernel can send from.
	SourceKernel Source = iota + 1
	// SourceUdev: a libudev message (the "libudev" header), as udevd
	// rebroadcasts an event after its rules ran. It comes from a user-space
	// process and is never to be trusted as the kernel's word: anyone who
	// can send to the socket can make one. Check the sender yourself (udev
	// checks SCM_CREDENTIALS for uid 0) before acting on it.
	SourceUdev
)

func (s Source) String() string {
	switch s {
	case SourceKernel:
		return "kernel"
	case SourceUdev:
		return "udev"
	}
	return fmt.Sprintf("Source(%d)", uint8(s))
}

// Var is one KEY=VALUE of an event's environment.
type Var struct{ Key, Value string }

// Event is one uevent. Its strings share one copy of the datagram: an
// Event owns its memory and stays valid after the buffer it was parsed
// from is reused.
type Event struct {
	Action    Action
	DevPath   string // DEVPATH, below /sys: /devices/virtual/net/eth0
	Subsystem string // SUBSYSTEM: net, block, usb …
	Seqnum    uint64 // SEQNUM: the kernel's uevent sequence number
	Source    Source
	// Env is every KEY=VALUE of the event in the order sent, ACTION,
	// DEVPATH, SUBSYSTEM and SEQNUM included.
	Env []Var
}

// Get returns the value of key in the event's environment and whether it
// is there. A linear scan: events have a dozen variables or so.
func (e *Event) Get(key string) (string, bool) {
	for _, v := range e.Env {
		if v.Key == key {
			return v.Value, true
		}
	}
	return "", false
}

func (e *Event) get(key string) string { v, _ := e.Get(key); return v }

// DevType returns DEVTYPE (disk, partition, usb_device, wlan …), or "".
func (e *Event) DevType() string { return e.get("DEVTYPE") }

// DevName returns DEVNAME, the device node below /dev (sda1, input/event3),
// or "".
func (e *Event) DevName() string { return e.get("DEVNAME") }

// Driver returns DRIVER, or "".
func (e *Event) Driver() string { return e.get("DRIVER") }

// Interface returns INTERFACE, a network device's name, or "".
func (e *Event) Interface() string { return e.get("INTERFACE") }

// IfIndex returns IFINDEX, a network device's index, or 0.
func (e *Event) IfIndex() int { return e.number("IFINDEX") }

// Major and Minor return the device number (MAJOR, MINOR), or 0.
func (e *Event) Major() int { return e.number("MAJOR") }

// Minor returns MINOR, or 0 (see Major).
func (e *Event) Minor() int { return e.number("MINOR") }

// Tags returns udev's TAGS (":systemd:seat:" as a list), empty for kernel
// events. It allocates the slice.
func (e *Event) Tags() []string {
	var out []string
	for t := range strings.SplitSeq(e.get("TAGS"), ":") {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Trusted reports whether the event is the kernel's: SourceKernel.
func (e *Event) Trusted() bool { return e.Source == SourceKernel }

func (e *Event) number(key string) int {
	n, err := strconv.Atoi(e.get(key))
	if err != nil {
		return 0
	}
	return n
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s@%s (%s) seq %d", e.Source, e.Action, e.DevPath, e.Subsystem, e.Seqnum)
}

// Errors of Parse. Each error it returns wraps one of them.
var (
	// ErrMalformed reports a datagram that is not a uevent: no
	// "ACTION@/DEVPATH" header and no libudev header, a variable without
	// '=', a missing ACTION or DEVPATH, a bad SEQNUM, libudev offsets out
	// of bounds.
	ErrMalformed = errors.New("uevent: malformed datagram")
	// ErrSpoofed reports a kernel-format uevent from a sender other than
	// the kernel (port id not 0): a forgery, since only the kernel sends
	// from port 0 and udevd sends libudev messages.
	ErrSpoofed = errors.New("uevent: kernel-format uevent from a user-space sender")
)

// The libudev message header (struct monitor_netlink_header of systemd's
// sd-device/device-monitor.c; libudev-monitor.c before it).
const (
	udevPrefix     = "libudev\x00"
	udevMagic      = 0xfeedcafe // stored big-endian
	udevHeaderSize = 40         // prefix[8], then 8 u32
	offMagic       = 8
	offPropsOff    = 16
	offPropsLen    = 20
)

// Decode parses a message from a uevent socket (nl.FramingRaw: the Data is
// the datagram, Header.PortID the sender's port): Parse(m.Data,
// m.Header.PortID). It has the signature operators.Decode takes.
func Decode(m nl.Message) (Event, error) { return Parse(m.Data, m.Header.PortID) }

// Parse decodes one uevent datagram sent from port id from (0: the
// kernel): a kernel uevent, "ACTION@DEVPATH\0" followed by KEY=VALUE\0
// variables, or a libudev message (the "libudev" header with its offsets,
// then KEY=VALUE\0 properties). A kernel-format datagram from a port other
// than 0 fails with ErrSpoofed; a libudev one is accepted from anyone and
// marked SourceUdev. Cost: two allocations (one copy of the datagram as a
// string, the Env slice).
func Parse(datagram []byte, from uint32) (Event, error) {
	if bytes.HasPrefix(datagram, []byte(udevPrefix)) {
		return parseUdev(datagram)
	}
	head, rest, ok := bytes.Cut(datagram, []byte{0})
	if !ok {
		return Event{}, fmt.Errorf("%w: %d bytes without a NUL-terminated header", ErrMalformed, len(datagram))
	}
	action, devpath, ok := bytes.Cut(head, []byte{'@'})
	if !ok || len(action) == 0 || len(devpath) == 0 || devpath[0] != '/' {
		return Event{}, fmt.Errorf("%w: header %q is not ACTION@/DEVPATH", ErrMalformed, truncate(head))
	}
	if from != 0 {
		return Event{}, fmt.Errorf("%w (port %d)", ErrSpoofed, from)
	}
	s := string(datagram)
	e := Event{Source: SourceKernel}
	// The header's fields, as substrings of the copy.
	hAction := s[:len(action)]
	hDevpath := s[len(action)+1 : len(head)]
	if err := e.parseEnv(s[len(head)+1 : len(head)+1+len(rest)]); err != nil {
		return Event{}, err
	}
	if e.Action == "" {
		e.Action = Action(hAction)
	} else if string(e.Action) != hAction {
		return Event{}, fmt.Errorf("%w: header action %q, ACTION=%q", ErrMalformed, hAction, e.Action)
	}
	if e.DevPath == "" {
		e.DevPath = hDevpath
	} else if e.DevPath != hDevpath {
		return Event{}, fmt.Errorf("%w: header devpath %q, DEVPATH=%q", ErrMalformed, truncate([]byte(hDevpath)), truncate([]byte(e.DevPath)))
	}
	return e, nil
}

func parseUdev(b []byte) (Event, error) {
	if len(b) < udevHeaderSize {
		return Event{}, fmt.Errorf("%w: libudev message of %d bytes, header is %d", ErrMalformed, len(b), udevHeaderSize)
	}
	if m := binary.BigEndian.Uint32(b[offMagic:]); m != udevMagic {
		return Event{}, fmt.Errorf("%w: libudev magic %#x, want %#x", ErrMalformed, m, udevMagic)
	}
	off := uint64(binary.NativeEndian.Uint32(b[offPropsOff:]))
	n := uint64(binary.NativeEndian.Uint32(b[offPropsLen:]))
	if off < udevHeaderSize || off > uint64(len(b)) || n > uint64(len(b))-off {
		return Event{}, fmt.Errorf("%w: libudev properties at %d+%d in %d bytes", ErrMalformed, off, n, len(b))
	}
	e := Event{Source: SourceUdev}
	if err := e.parseEnv(string(b[off : off+n])); err != nil {
		return Event{}, err
	}
	if e.Action == "" || e.DevPath == "" {
		return Event{}, fmt.Errorf("%w: libudev message without ACTION or DEVPATH", ErrMalformed)
	}
	return e, nil
}

// parseEnv splits NUL-separated KEY=VALUE variables, skipping empty ones,
// and fills the well-known fields.
func (e *Event) parseEnv(s string) error {
	n := strings.Count(s, "\x00") + 1
	e.Env = make([]Var, 0, n)
	for f := range strings.SplitSeq(s, "\x00") {
		if f == "" {
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return fmt.Errorf("%w: variable %q is not KEY=VALUE", ErrMalformed, truncate([]byte(f)))
		}
		e.Env = append(e.Env, Var{k, v})
		switch k {
		case "ACTION":
			e.Action = Action(v)
		case "DEVPATH":
			e.DevPath = v
		case "SUBSYSTEM":
			e.Subsystem = v
		case "SEQNUM":
			seq, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: SEQNUM=%q", ErrMalformed, truncate([]byte(v)))
			}
			e.Seqnum = seq
		}
	}
	return nil
}

// truncate bounds what an error quotes of bad input.
func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// AppendKernel appends e in the kernel's format, "ACTION@DEVPATH\0"
// followed by e.Env as KEY=VALUE\0, and returns the extended buffer: what
// Parse reads back (from port 0) as e with SourceKernel. For tests and for
// replaying recorded events.
func AppendKernel(b []byte, e Event) []byte {
	b = append(b, e.Action...)
	b = append(b, '@')
	b = append(b, e.DevPath...)
	b = append(b, 0)
	for _, v := range e.Env {
		b = append(b, v.Key...)
		b = append(b, '=')
		b = append(b, v.Value...)
		b = append(b, 0)
	}
	return b
}
