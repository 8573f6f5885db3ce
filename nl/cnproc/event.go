package cnproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/nlrx/nlrx/nl"
)

// ID is a connector callback id (struct cb_id): which kernel service a
// connector message belongs to.
type ID struct{ Idx, Val uint32 }

// ProcID is the process events connector's id: CN_IDX_PROC, CN_VAL_PROC.
var ProcID = ID{Idx: 1, Val: 1}

// HeaderLen is the size of a connector message header (struct cn_msg).
const HeaderLen = 20

// Header is a connector message header (struct cn_msg), the start of the
// payload of every NETLINK_CONNECTOR message. Len counts the data after
// it.
type Header struct {
	ID    ID
	Seq   uint32 // for process events, a per-CPU counter the kernel keeps
	Ack   uint32 // an acknowledgement carries the request's Ack + 1
	Len   uint16
	Flags uint16
}

// DecodeHeader splits a connector message payload into its header and its
// data (Len bytes, aliasing b).
func DecodeHeader(b []byte) (Header, []byte, error) {
	if len(b) < HeaderLen {
		return Header{}, nil, fmt.Errorf("cnproc: %w: %d bytes, want %d for a cn_msg", nl.ErrShortMessage, len(b), HeaderLen)
	}
	h := Header{
		ID:    ID{Idx: binary.NativeEndian.Uint32(b[0:]), Val: binary.NativeEndian.Uint32(b[4:])},
		Seq:   binary.NativeEndian.Uint32(b[8:]),
		Ack:   binary.NativeEndian.Uint32(b[12:]),
		Len:   binary.NativeEndian.Uint16(b[16:]),
		Flags: binary.NativeEndian.Uint16(b[18:]),
	}
	if int(h.Len) > len(b)-HeaderLen {
		return h, nil, fmt.Errorf("cnproc: %w: cn_msg says %d bytes of data, %d follow", nl.ErrBadLength, h.Len, len(b)-HeaderLen)
	}
	return h, b[HeaderLen : HeaderLen+int(h.Len)], nil
}

// AppendHeader appends h followed by data to b, with h.Len set to
// len(data), and returns the extended buffer.
func AppendHeader(b []byte, h Header, data []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, h.ID.Idx)
	b = binary.NativeEndian.AppendUint32(b, h.ID.Val)
	b = binary.NativeEndian.AppendUint32(b, h.Seq)
	b = binary.NativeEndian.AppendUint32(b, h.Ack)
	b = binary.NativeEndian.AppendUint16(b, uint16(len(data)))
	b = binary.NativeEndian.AppendUint16(b, h.Flags)
	return append(b, data...)
}

// What is the kind of a process event (enum what of struct proc_event). The
// values are bits, so that Listen's filter can combine them.
type What uint32

// The kinds of process events (linux/cn_proc.h, PROC_EVENT_*).
const (
	WhatNone        What = 0x00000000 // an acknowledgement of Listen or Ignore
	WhatFork        What = 0x00000001
	WhatExec        What = 0x00000002
	WhatUID         What = 0x00000004
	WhatGID         What = 0x00000040
	WhatSID         What = 0x00000080
	WhatPtrace      What = 0x00000100
	WhatComm        What = 0x00000200
	WhatNonzeroExit What = 0x20000000 // a filter bit only: exits with a nonzero code
	WhatCoredump    What = 0x40000000
	WhatExit        What = 0x80000000
)

func (w What) String() string {
	switch w {
	case WhatNone:
		return "ack"
	case WhatFork:
		return "fork"
	case WhatExec:
		return "exec"
	case WhatUID:
		return "uid"
	case WhatGID:
		return "gid"
	case WhatSID:
		return "sid"
	case WhatPtrace:
		return "ptrace"
	case WhatComm:
		return "comm"
	case WhatNonzeroExit:
		return "nonzero-exit"
	case WhatCoredump:
		return "coredump"
	case WhatExit:
		return "exit"
	}
	return fmt.Sprintf("What(%#x)", uint32(w))
}

// Event is one process event (struct proc_event), flattened: the fields
// that the kind of event (What) does not set are zero. PIDs are as the
// initial PID namespace sees them; PID is a thread id and TGID its
// process id.
type Event struct {
	What What
	// CPU is the CPU the event happened on (^0 for an acknowledgement).
	CPU uint32
	// Timestamp is when it happened, on CLOCK_MONOTONIC (time since boot,
	// suspend excluded).
	Timestamp time.Duration
	// Seq and Ack are the connector header's: Seq a per-CPU counter, Ack
	// the acknowledged request's ack + 1 (Acknowledges).
	Seq, Ack uint32

	// PID and TGID: the thread and process the event is about; the new
	// one for a fork.
	PID, TGID uint32
	// ParentPID and ParentTGID: the parent, for a fork, a core dump and an
	// exit (exits carry them since Linux 5.x; zero before).
	ParentPID, ParentTGID uint32
	// Real and Effective: the new real and effective uid (WhatUID) or gid
	// (WhatGID).
	Real, Effective uint32
	// TracerPID and TracerTGID: the tracer that attached, or 0 when it
	// detached (WhatPtrace).
	TracerPID, TracerTGID uint32
	// Comm is the new name of the thread (WhatComm).
	Comm string
	// ExitCode is the exit status as wait(2) reports it (task->exit_code:
	// ExitStatus, Signal); ExitSignal the signal the parent gets (SIGCHLD,
	// or 0 for a thread). WhatExit only.
	ExitCode, ExitSignal uint32
	// Err is the errno of an acknowledgement (WhatNone): 0 on success.
	Err uint32
}

// Acknowledges reports whether e is the kernel's acknowledgement of the
// Listen or Ignore that returned ack.
func (e Event) Acknowledges(ack uint32) bool { return e.What == WhatNone && e.Ack == ack }

// AckErr returns the error an acknowledgement carries, as a syscall.Errno,
// or nil.
func (e Event) AckErr() error {
	if e.Err == 0 {
		return nil
	}
	return syscall.Errno(e.Err)
}

// Exited reports whether an exit event's process ended by exiting (not by
// a signal); ExitStatus is then its exit code.
func (e Event) Exited() bool { return e.ExitCode&0x7f == 0 }

// ExitStatus returns the exit code of a process that Exited.
func (e Event) ExitStatus() int { return int(e.ExitCode>>8) & 0xff }

// Signal returns the signal that ended a process that did not exit by
// itself, or 0.
func (e Event) Signal() syscall.Signal {
	if e.Exited() {
		return 0
	}
	return syscall.Signal(e.ExitCode & 0x7f)
}

// CoreDumped reports whether the process that ended by a signal dumped
// core.
func (e Event) CoreDumped() bool { return !e.Exited() && e.ExitCode&0x80 != 0 }

func (e Event) String() string {
	switch e.What {
	case WhatNone:
		return fmt.Sprintf("ack %d err %d", e.Ack, e.Err)
	case WhatFork:
		return fmt.Sprintf("fork %d/%d -> %d/%d", e.ParentPID, e.ParentTGID, e.PID, e.TGID)
	case WhatUID, WhatGID:
		return fmt.Sprintf("%s %d/%d real %d effective %d", e.What, e.PID, e.TGID, e.Real, e.Effective)
	case WhatPtrace:
		return fmt.Sprintf("ptrace %d/%d tracer %d/%d", e.PID, e.TGID, e.TracerPID, e.TracerTGID)
	case WhatComm:
		return fmt.Sprintf("comm %d/%d %q", e.PID, e.TGID, e.Comm)
	case WhatExit:
		return fmt.Sprintf("exit %d/%d code %#x signal %d", e.PID, e.TGID, e.ExitCode, e.ExitSignal)
	}
	return fmt.Sprintf("%s %d/%d", e.What, e.PID, e.TGID)
}

// ErrNotProcEvent reports a connector message that is not a process
// event: another connector's id, or a netlink message type other than
// NLMSG_DONE.
var ErrNotProcEvent = errors.New("cnproc: not a process event")

// The layout of struct proc_event: what, cpu, timestamp_ns, then the
// union event_data.
const (
	eventHeaderLen = 16
	commLen        = 16
)

// dataLen is the size of the union member each kind of event fills.
func dataLen(w What) int {
	switch w {
	case WhatNone:
		return 4
	case WhatExec, WhatSID:
		return 8
	case WhatFork, WhatUID, WhatGID, WhatPtrace, WhatCoredump:
		return 16
	case WhatComm:
		return 8 + commLen
	case WhatExit:
		return 16 // parent_pid and parent_tgid follow on newer kernels
	}
	return 0
}

// Decode decodes a message from a process events socket (Dial): its type
// must be NLMSG_DONE, the connector's message type on every message, and
// its payload a process event (Parse). It has the signature
// operators.Decode takes. It allocates only for a comm event's name.
func Decode(m nl.Message) (Event, error) {
	if m.Header.Type != nl.TypeDone {
		return Event{}, fmt.Errorf("%w: netlink message type %d, want NLMSG_DONE", ErrNotProcEvent, m.Header.Type)
	}
	return Parse(m.Data)
}

// Parse decodes the payload of a connector message holding a process
// event: a cn_msg whose id is ProcID, then a struct proc_event. An event
// of a kind this package does not know decodes with its header fields
// only. Errors wrap ErrNotProcEvent, nl.ErrShortMessage or
// nl.ErrBadLength.
func Parse(b []byte) (Event, error) {
	h, data, err := DecodeHeader(b)
	if err != nil {
		return Event{}, err
	}
	if h.ID != ProcID {
		return Event{}, fmt.Errorf("%w: connector id %d.%d", ErrNotProcEvent, h.ID.Idx, h.ID.Val)
	}
	if len(data) < eventHeaderLen {
		return Event{}, fmt.Errorf("cnproc: %w: proc_event of %d bytes", nl.ErrShortMessage, len(data))
	}
	u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(data[off:]) }
	e := Event{
		What:      What(u32(0)),
		CPU:       u32(4),
		Timestamp: time.Duration(binary.NativeEndian.Uint64(data[8:])),
		Seq:       h.Seq,
		Ack:       h.Ack,
	}
	if n := eventHeaderLen + dataLen(e.What); len(data) < n {
		return Event{}, fmt.Errorf("cnproc: %w: %s event of %d bytes, want %d", nl.ErrShortMessage, e.What, len(data), n)
	}
	const d = eventHeaderLen
	switch e.What {
	case WhatNone:
		e.Err = u32(d)
	case WhatFork:
		e.ParentPID, e.ParentTGID, e.PID, e.TGID = u32(d), u32(d+4), u32(d+8), u32(d+12)
	case WhatExec, WhatSID:
		e.PID, e.TGID = u32(d), u32(d+4)
	case WhatUID, WhatGID:
		e.PID, e.TGID, e.Real, e.Effective = u32(d), u32(d+4), u32(d+8), u32(d+12)
	case WhatPtrace:
		e.PID, e.TGID, e.TracerPID, e.TracerTGID = u32(d), u32(d+4), u32(d+8), u32(d+12)
	case WhatComm:
		e.PID, e.TGID = u32(d), u32(d+4)
		name := data[d+8 : d+8+commLen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		e.Comm = string(name)
	case WhatCoredump:
		e.PID, e.TGID, e.ParentPID, e.ParentTGID = u32(d), u32(d+4), u32(d+8), u32(d+12)
	case WhatExit:
		e.PID, e.TGID, e.ExitCode, e.ExitSignal = u32(d), u32(d+4), u32(d+8), u32(d+12)
		if len(data) >= d+24 {
			e.ParentPID, e.ParentTGID = u32(d+16), u32(d+20)
		}
	}
	return e, nil
}

// eventDataLen is the size of the union event_data the kernel sends (its
// largest member, struct exit_proc_event or comm_proc_event).
const eventDataLen = 24

// AppendEvent appends e as the kernel sends it, a cn_msg (ProcID, e.Seq,
// e.Ack) and a struct proc_event, and returns the extended buffer: the
// payload of a connector message that Parse reads back as e, for the
// fields e's kind has. For tests and replays.
func AppendEvent(b []byte, e Event) []byte {
	var data [eventHeaderLen + eventDataLen]byte
	put := func(off int, v uint32) { binary.NativeEndian.PutUint32(data[off:], v) }
	put(0, uint32(e.What))
	put(4, e.CPU)
	binary.NativeEndian.PutUint64(data[8:], uint64(e.Timestamp))
	const d = eventHeaderLen
	switch e.What {
	case WhatNone:
		put(d, e.Err)
	case WhatFork:
		put(d, e.ParentPID)
		put(d+4, e.ParentTGID)
		put(d+8, e.PID)
		put(d+12, e.TGID)
	case WhatExec, WhatSID:
		put(d, e.PID)
		put(d+4, e.TGID)
	case WhatUID, WhatGID:
		put(d, e.PID)
		put(d+4, e.TGID)
		put(d+8, e.Real)
		put(d+12, e.Effective)
	case WhatPtrace:
		put(d, e.PID)
		put(d+4, e.TGID)
		put(d+8, e.TracerPID)
		put(d+12, e.TracerTGID)
	case WhatComm:
		put(d, e.PID)
		put(d+4, e.TGID)
		copy(data[d+8:d+8+commLen], e.Comm)
	case WhatCoredump:
		put(d, e.PID)
		put(d+4, e.TGID)
		put(d+8, e.ParentPID)
		put(d+12, e.ParentTGID)
	case WhatExit:
		put(d, e.PID)
		put(d+4, e.TGID)
		put(d+8, e.ExitCode)
		put(d+12, e.ExitSignal)
		put(d+16, e.ParentPID)
		put(d+20, e.ParentTGID)
	}
	return AppendHeader(b, Header{ID: ProcID, Seq: e.Seq, Ack: e.Ack}, data[:])
}
