package cnproc_test

import (
	"errors"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/cnproc"
)

// events holds one event of every kind, with every field its kind has.
var events = []cnproc.Event{
	{What: cnproc.WhatNone, CPU: ^uint32(0), Timestamp: time.Second, Seq: 3, Ack: 43, Err: 1},
	{What: cnproc.WhatFork, CPU: 1, Timestamp: 2 * time.Second, Seq: 4, ParentPID: 10, ParentTGID: 10, PID: 11, TGID: 11},
	{What: cnproc.WhatExec, Seq: 5, PID: 11, TGID: 11},
	{What: cnproc.WhatUID, PID: 11, TGID: 11, Real: 1000, Effective: 0},
	{What: cnproc.WhatGID, PID: 11, TGID: 11, Real: 100, Effective: 100},
	{What: cnproc.WhatSID, PID: 11, TGID: 11},
	{What: cnproc.WhatPtrace, PID: 11, TGID: 11, TracerPID: 12, TracerTGID: 12},
	{What: cnproc.WhatComm, PID: 13, TGID: 11, Comm: "worker"},
	{What: cnproc.WhatCoredump, PID: 11, TGID: 11, ParentPID: 10, ParentTGID: 10},
	{What: cnproc.WhatExit, PID: 11, TGID: 11, ExitCode: 7 << 8, ExitSignal: uint32(syscall.SIGCHLD), ParentPID: 10, ParentTGID: 10},
}

func message(e cnproc.Event) nl.Message {
	return nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: cnproc.AppendEvent(nil, e)}
}

func TestDecodeEveryKind(t *testing.T) {
	for _, want := range events {
		t.Run(want.What.String(), func(t *testing.T) {
			got, err := cnproc.Decode(message(want))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if got.String() == "" {
				t.Error("empty String")
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		code   uint32
		exited bool
		status int
		signal syscall.Signal
		core   bool
	}{
		{0, true, 0, 0, false},
		{7 << 8, true, 7, 0, false},
		{255 << 8, true, 255, 0, false},
		{uint32(syscall.SIGKILL), false, 0, syscall.SIGKILL, false},
		{uint32(syscall.SIGSEGV) | 0x80, false, 0, syscall.SIGSEGV, true},
	} {
		e := cnproc.Event{What: cnproc.WhatExit, ExitCode: tc.code}
		if e.Exited() != tc.exited || (tc.exited && e.ExitStatus() != tc.status) || e.Signal() != tc.signal || e.CoreDumped() != tc.core {
			t.Errorf("code %#x: exited %v status %d signal %v core %v", tc.code, e.Exited(), e.ExitStatus(), e.Signal(), e.CoreDumped())
		}
	}
}

func TestAcknowledgement(t *testing.T) {
	e := cnproc.Event{What: cnproc.WhatNone, Ack: 43}
	if !e.Acknowledges(43) || e.Acknowledges(42) || e.AckErr() != nil {
		t.Errorf("ack %+v", e)
	}
	e.Err = uint32(syscall.EPERM)
	if !errors.Is(e.AckErr(), syscall.EPERM) {
		t.Errorf("AckErr = %v", e.AckErr())
	}
	if (cnproc.Event{What: cnproc.WhatExit, Ack: 43}).Acknowledges(43) {
		t.Error("an exit acknowledges")
	}
}

func TestDecodeRejects(t *testing.T) {
	fork := cnproc.AppendEvent(nil, events[1])
	other := append([]byte(nil), fork...)
	other[0] = 9 // cb_id.idx of another connector
	long := append([]byte(nil), fork...)
	long[16] = 200 // cn_msg len past the end
	short := cnproc.AppendHeader(nil, cnproc.Header{ID: cnproc.ProcID}, fork[cnproc.HeaderLen:cnproc.HeaderLen+20])
	for _, tc := range []struct {
		name string
		m    nl.Message
		is   error
	}{
		{"not NLMSG_DONE", nl.Message{Header: nl.Header{Type: nl.TypeError}, Data: fork}, cnproc.ErrNotProcEvent},
		{"another connector", nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: other}, cnproc.ErrNotProcEvent},
		{"no cn_msg", nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: fork[:10]}, nl.ErrShortMessage},
		{"cn_msg len past the end", nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: long}, nl.ErrBadLength},
		{"no proc_event header", nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: cnproc.AppendHeader(nil, cnproc.Header{ID: cnproc.ProcID}, make([]byte, 8))}, nl.ErrShortMessage},
		{"fork cut short", nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: short}, nl.ErrShortMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cnproc.Decode(tc.m); !errors.Is(err, tc.is) {
				t.Errorf("Decode = %v, want %v", err, tc.is)
			}
		})
	}
}

func TestDecodeOlderExitAndUnknownKinds(t *testing.T) {
	// Exits before parent_pid existed: 16 bytes of exit data.
	full := cnproc.AppendEvent(nil, events[len(events)-1])
	data := full[cnproc.HeaderLen : cnproc.HeaderLen+16+16]
	e, err := cnproc.Parse(cnproc.AppendHeader(nil, cnproc.Header{ID: cnproc.ProcID}, data))
	if err != nil || e.ExitStatus() != 7 || e.ParentPID != 0 {
		t.Errorf("old exit: %+v, %v", e, err)
	}
	u, err := cnproc.Parse(cnproc.AppendEvent(nil, cnproc.Event{What: 0x1000, CPU: 3}))
	if err != nil || u.What != 0x1000 || u.CPU != 3 || u.What.String() != "What(0x1000)" {
		t.Errorf("unknown kind: %+v, %v", u, err)
	}
}
