//go:build linux

package nltest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const rtmNewRoute = 24

func dial(t *testing.T, h nltest.Handler, opts ...nl.Option) (*nl.Conn, *nltest.Kernel) {
	t.Helper()
	c, k, err := nltest.Dial(h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		k.Close()
	})
	return c, k
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func dumpReq() nl.Message {
	return nl.Message{Header: nl.Header{Type: 26, Flags: nl.FlagDump}, Data: make([]byte, 12)}
}

func payloads(n int) [][]byte {
	ps := make([][]byte, n)
	for i := range ps {
		ps[i] = []byte{byte(i), byte(i >> 8), 0, 0}
	}
	return ps
}

func TestExecuteCollectsMultipartSplitAcrossDatagrams(t *testing.T) {
	for _, per := range []int{1, 3, 1000} {
		c, _ := dial(t, func(req nl.Message) []nltest.Datagram {
			return nltest.Multipart(req, rtmNewRoute, payloads(100), per)
		})
		ms, err := c.Execute(ctx(t), dumpReq())
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 100 {
			t.Fatalf("%d per datagram: got %d messages, want 100", per, len(ms))
		}
		for i, m := range ms {
			if int(m.Data[0])|int(m.Data[1])<<8 != i {
				t.Fatalf("%d per datagram: message %d out of order", per, i)
			}
		}
	}
}

func TestExecuteReportsDumpInterruptedWithPartialResult(t *testing.T) {
	c, _ := dial(t, func(req nl.Message) []nltest.Datagram {
		ds := nltest.Multipart(req, rtmNewRoute, payloads(10), 4)
		ds[1] = nltest.WithFlags(ds[1:2], nl.FlagDumpIntr)[0]
		return ds
	})
	ms, err := c.Execute(ctx(t), dumpReq())
	if !errors.Is(err, nl.ErrDumpInterrupted) {
		t.Fatalf("err = %v, want ErrDumpInterrupted", err)
	}
	if len(ms) != 10 {
		t.Errorf("partial result has %d messages, want 10", len(ms))
	}
}

func TestExecuteReturnsErrorsFromErrorAndDone(t *testing.T) {
	tests := []struct {
		name  string
		reply func(req nl.Message) []nltest.Datagram
		errno unix.Errno
		text  string
	}{
		{"NLMSG_ERROR with extended ACK", func(req nl.Message) []nltest.Datagram {
			return []nltest.Datagram{nltest.Error(req, unix.EEXIST, "File exists", 32)}
		}, unix.EEXIST, "File exists"},
		{"errno in NLMSG_DONE", func(req nl.Message) []nltest.Datagram {
			ds := nltest.Multipart(req, rtmNewRoute, payloads(3), 2)
			ds[len(ds)-1].Messages[0] = nltest.Done(req, unix.EINVAL, "Invalid values in header for dump request")
			return ds
		}, unix.EINVAL, "Invalid values in header for dump request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := dial(t, tt.reply)
			_, err := c.Execute(ctx(t), dumpReq())
			var ne *nl.Error
			if !errors.As(err, &ne) || !errors.Is(err, tt.errno) || ne.Message != tt.text {
				t.Errorf("err = %v, want %v with %q", err, tt.errno, tt.text)
			}
		})
	}
}

func TestExecuteSkipsForeignSequenceNumbersAndSpoofedSenders(t *testing.T) {
	c, _ := dial(t, func(req nl.Message) []nltest.Datagram {
		stale := req
		stale.Header.Seq--
		spoof := nltest.Multipart(req, rtmNewRoute, payloads(1), 1)[0]
		spoof.Sender = 1234 // a user-space process claiming to answer
		return append([]nltest.Datagram{
			nltest.Multipart(stale, rtmNewRoute, payloads(5), 5)[0],                                    // an old reply
			{Messages: []nl.Message{{Header: nl.Header{Type: rtmNewRoute}, Data: []byte{9, 9, 9, 9}}}}, // an event, seq 0
			spoof,
		}, nltest.Multipart(req, rtmNewRoute, payloads(2), 1)...)
	})
	ms, err := c.Execute(ctx(t), dumpReq())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Errorf("got %d messages, want the 2 genuine replies", len(ms))
	}
	s := c.Stats()
	if s.Unmatched != 6 || s.Spoofed != 1 {
		t.Errorf("Unmatched = %d, Spoofed = %d; want 6 and 1", s.Unmatched, s.Spoofed)
	}
}

func TestExecuteReportsTruncatedDatagramAndStaysUsable(t *testing.T) {
	calls := 0
	c, _ := dial(t, func(req nl.Message) []nltest.Datagram {
		calls++
		ds := nltest.Multipart(req, rtmNewRoute, payloads(9), 3)
		if calls == 1 {
			ds[1].Truncate = 30 // one message and a bit arrive
		}
		return ds
	})
	if _, err := c.Execute(ctx(t), dumpReq()); !errors.Is(err, nl.ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	ms, err := c.Execute(ctx(t), dumpReq())
	if err != nil || len(ms) != 9 {
		t.Fatalf("next dump: %d messages, err %v", len(ms), err)
	}
}

func TestMalformedDatagramsGiveErrorsNotPanics(t *testing.T) {
	for _, raw := range [][]byte{
		{1, 2, 3},
		{0, 0, 0, 0, 24, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0},          // length 0
		{200, 0, 0, 0, 24, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0},        // length past the end
		{20, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x92, 0x10, 0, 0, 1}, // NLMSG_ERROR too short
	} {
		c, _ := dial(t, func(req nl.Message) []nltest.Datagram {
			d := nltest.Datagram{Raw: append([]byte(nil), raw...)}
			if len(d.Raw) >= 16 { // give it the request's sequence number
				copy(d.Raw[8:12], []byte{byte(req.Header.Seq), byte(req.Header.Seq >> 8), byte(req.Header.Seq >> 16), byte(req.Header.Seq >> 24)})
				copy(d.Raw[12:16], []byte{0x92, 0x10, 0, 0})
			}
			return []nltest.Datagram{d}
		})
		if _, err := c.Execute(ctx(t), dumpReq()); err == nil {
			t.Errorf("datagram %v: no error", raw)
		}
	}
}

func TestReceiveReportsInjectedOverrunAndContinues(t *testing.T) {
	c, k := dial(t, nil)
	event := nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: rtmNewRoute}, Data: []byte{2, 32, 0, 0}}}}
	if err := k.Inject(event, nltest.Datagram{Errno: unix.ENOBUFS}, event); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Receive(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Receive(); !errors.Is(err, unix.ENOBUFS) {
		t.Fatalf("err = %v, want ENOBUFS", err)
	}
	if ms, err := c.Receive(); err != nil || len(ms) != 1 {
		t.Fatalf("after the overrun: %d messages, err %v", len(ms), err)
	}
	if c.Stats().Overruns != 1 {
		t.Errorf("Overruns = %d, want 1", c.Stats().Overruns)
	}
}

func TestReceiveFromReportsNamespaceID(t *testing.T) {
	c, k := dial(t, nil, nl.WithListenAllNSID())
	id := int32(42)
	k.Inject(nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: rtmNewRoute}}}, NSID: &id})
	_, nsid, err := c.ReceiveFrom()
	if err != nil || nsid != 42 {
		t.Errorf("nsid = %d, err %v; want 42", nsid, err)
	}
}

func TestCloseUnblocksPendingExecute(t *testing.T) {
	got := make(chan struct{}, 1)
	c, _ := dial(t, func(nl.Message) []nltest.Datagram { // never answers
		got <- struct{}{}
		return nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Execute(context.Background(), dumpReq())
		done <- err
	}()
	select {
	case <-got: // the request is on the wire: Execute is receiving
	case <-time.After(10 * time.Second):
		t.Fatal("request never arrived")
	}
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("err = %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Execute still blocked after Close")
	}
}

func TestExecuteFailsWhenTheKernelGoesAway(t *testing.T) {
	c, k := dial(t, func(nl.Message) []nltest.Datagram { return nil })
	k.Close()
	if _, err := c.Execute(ctx(t), dumpReq()); err == nil {
		t.Error("Execute succeeded against a closed kernel")
	}
}

func TestReceiveFuncWalksOneDatagramWithoutCopying(t *testing.T) {
	c, k := dial(t, nil)
	k.Inject(nltest.Datagram{Messages: []nl.Message{
		{Header: nl.Header{Type: rtmNewRoute}, Data: []byte{1, 0, 0, 0}},
		{Header: nl.Header{Type: rtmNewRoute}, Data: []byte{2, 0, 0, 0}},
	}}, nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: rtmNewRoute}, Data: []byte{3, 0, 0, 0}}}})
	var got []byte
	for range 2 {
		err := c.ReceiveFunc(func(m nl.Message, nsid int32) error {
			got = append(got, m.Data[0])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "\x01\x02\x03" {
		t.Errorf("got %v, want [1 2 3]", got)
	}
}
