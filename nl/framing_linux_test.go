//go:build linux

package nl_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// userPair returns a NETLINK_USERSOCK socket dialled with opts (accepting
// any sender) and a raw peer fd that sends to it: user-space datagrams of
// any layout, for the framings the kernel's own protocols use.
func userPair(t *testing.T, opts ...nl.Option) (*nl.Conn, func(b []byte)) {
	t.Helper()
	c, err := nl.Dial(unix.NETLINK_USERSOCK, nl.Addr{}, append([]nl.Option{nl.WithAnySender()}, opts...)...)
	if err != nil {
		t.Skipf("NETLINK_USERSOCK: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_USERSOCK)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: c.PortID()}
	return c, func(b []byte) {
		t.Helper()
		if err := unix.Sendto(fd, b, 0, to); err != nil {
			t.Fatal(err)
		}
	}
}

var uevent = []byte("add@/devices/virtual/net/v0\x00ACTION=add\x00DEVPATH=/devices/virtual/net/v0\x00SUBSYSTEM=net\x00SEQNUM=7\x00")

func TestRawFramingDeliversEachDatagramWhole(t *testing.T) {
	c, send := userPair(t, nl.WithFraming(nl.FramingRaw))
	if c.Framing() != nl.FramingRaw {
		t.Fatalf("Framing = %v", c.Framing())
	}
	check := func(what string, m nl.Message) {
		t.Helper()
		if !bytes.Equal(m.Data, uevent) {
			t.Errorf("%s: Data = %q", what, m.Data)
		}
		if m.Header.PortID == 0 {
			t.Errorf("%s: PortID 0, want the user-space sender's port", what)
		}
	}

	send(uevent)
	ms, err := c.Receive()
	if err != nil || len(ms) != 1 {
		t.Fatalf("Receive = %d messages, %v; want 1", len(ms), err)
	}
	check("Receive", ms[0])

	send(uevent)
	n := 0
	if err := c.ReceiveFunc(func(m nl.Message, _ int32) error { n++; check("ReceiveFunc", m); return nil }); err != nil || n != 1 {
		t.Fatalf("ReceiveFunc: %d messages, %v", n, err)
	}

	send(uevent)
	ms, err = c.ReceiveAndDecode(ctx(t))
	if err != nil || len(ms) != 1 {
		t.Fatalf("ReceiveAndDecode = %d messages, %v; want 1", len(ms), err)
	}
	check("ReceiveAndDecode", ms[0])

	send(uevent)
	send(uevent)
	n = 0
	if got, err := c.Drain(func(m nl.Message) { n++; check("Drain", m) }); err != nil || got != 2 || n != 2 {
		t.Fatalf("Drain = %d datagrams, %d messages, %v; want 2, 2", got, n, err)
	}
	if s := c.Stats(); s.Messages != 5 || s.Datagrams != 5 {
		t.Errorf("Stats: %d messages in %d datagrams, want 5 in 5", s.Messages, s.Datagrams)
	}

	if _, err := c.Execute(ctx(t), nl.Message{Header: nl.Header{Type: nl.MinType}}); !errors.Is(err, nl.ErrNoReplies) {
		t.Errorf("Execute on a raw socket: %v, want ErrNoReplies", err)
	}
	if err := c.ExecuteBatch(ctx(t), []nl.Message{{Header: nl.Header{Type: nl.MinType}}}, func(int, error) {}); !errors.Is(err, nl.ErrNoReplies) {
		t.Errorf("ExecuteBatch on a raw socket: %v, want ErrNoReplies", err)
	}
}

func TestNetlinkFramingRejectsARawDatagram(t *testing.T) {
	c, send := userPair(t)
	send(uevent)
	if _, err := c.Receive(); !errors.Is(err, nl.ErrBadLength) {
		t.Fatalf("Receive of a uevent-shaped datagram on a netlink-framed socket: %v, want ErrBadLength", err)
	}
}

func TestConnectorFramingTreatsDoneAsAMessage(t *testing.T) {
	for _, tc := range []struct {
		framing nl.Framing
		wantErr bool
	}{
		{nl.FramingNetlink, true},
		{nl.FramingConnector, false},
	} {
		t.Run(tc.framing.String(), func(t *testing.T) {
			c, send := userPair(t, nl.WithFraming(tc.framing))
			b := nl.AppendMessage(nil, doneWith(1, 0))
			b = nl.AppendMessage(b, doneWith(1, 0))
			send(b)
			ms, err := c.ReceiveAndDecode(ctx(t))
			if len(ms) != 2 {
				t.Fatalf("ReceiveAndDecode = %d messages, want 2", len(ms))
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("ReceiveAndDecode error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	c, send := userPair(t, nl.WithFraming(nl.FramingConnector))
	send(nl.AppendMessage(doneWith(1, 0).Data[:0:0], errorWith(-int32(unix.EPERM))))
	if _, err := c.ReceiveAndDecode(ctx(t)); !errors.Is(err, unix.EPERM) {
		t.Errorf("NLMSG_ERROR on a connector socket: %v, want EPERM", err)
	}
	if err := c.ExecuteFunc(ctx(t), nl.Message{}, func(nl.Message) error { return nil }); !errors.Is(err, nl.ErrNoReplies) {
		t.Errorf("ExecuteFunc on a connector socket: %v, want ErrNoReplies", err)
	}
}
