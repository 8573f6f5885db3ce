//go:build linux

package poller_test

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

// TestRawFramingDeliversEachDatagramAsOneMessage feeds a socket that is not
// netlink-framed (uevent-shaped datagrams) to the poller, registered both
// ways: Add takes the Conn's framing, AddFD the one WithFraming gives.
func TestRawFramingDeliversEachDatagramAsOneMessage(t *testing.T) {
	leakCheck(t)
	datagrams := [][]byte{
		[]byte("add@/devices/virtual/net/v0\x00ACTION=add\x00SEQNUM=1\x00"),
		[]byte("remove@/devices/virtual/net/v0\x00ACTION=remove\x00SEQNUM=2\x00"),
		{1, 2, 3}, // shorter than a netlink header: whole all the same
	}
	for _, how := range []string{"Add", "AddFD"} {
		t.Run(how, func(t *testing.T) {
			c, err := nl.Dial(unix.NETLINK_USERSOCK, nl.Addr{}, nl.WithFraming(nl.FramingRaw))
			if err != nil {
				t.Skipf("NETLINK_USERSOCK: %v", err)
			}
			defer c.Close()
			sender, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_USERSOCK)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(sender)
			if err := unix.Bind(sender, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
				t.Fatal(err)
			}
			sa, err := unix.Getsockname(sender)
			if err != nil {
				t.Fatal(err)
			}
			senderPort := sa.(*unix.SockaddrNetlink).Pid

			p, err := poller.New()
			if err != nil {
				t.Fatal(err)
			}
			defer closeAndWait(t, p)
			type got struct {
				data  []byte
				port  uint32
				event poller.EventKind
			}
			ch := make(chan got, 16)
			h := func(b *poller.Batch) {
				for _, m := range b.Messages {
					ch <- got{data: bytes.Clone(m.Data), port: m.Header.PortID}
				}
				for _, ev := range b.Events {
					ch <- got{event: ev.Kind}
				}
			}
			var r *poller.Registration
			if how == "Add" {
				r, err = p.Add(c, h, poller.WithAnySender())
			} else {
				var fd int
				rc, _ := c.SyscallConn()
				rc.Control(func(f uintptr) { fd = int(f) })
				r, err = p.AddFD(fd, h, poller.WithAnySender(), poller.WithFraming(nl.FramingRaw))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Remove()
			if r.Framing() != nl.FramingRaw {
				t.Errorf("Registration.Framing = %v, want raw", r.Framing())
			}
			to := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: c.PortID()}
			for _, d := range datagrams {
				if err := unix.Sendto(sender, d, 0, to); err != nil {
					t.Fatal(err)
				}
			}
			for i, want := range datagrams {
				select {
				case g := <-ch:
					if g.event != 0 {
						t.Fatalf("datagram %d: event %v, want a message", i, g.event)
					}
					if !bytes.Equal(g.data, want) || g.port != senderPort {
						t.Errorf("datagram %d: %q from port %d, want %q from %d", i, g.data, g.port, want, senderPort)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("datagram %d not delivered within 10 s", i)
				}
			}
			if st := r.Stats(); st.Malformed != 0 || st.Messages != uint64(len(datagrams)) {
				t.Errorf("Stats: %d messages, %d malformed; want %d, 0", st.Messages, st.Malformed, len(datagrams))
			}
		})
	}
}

func TestAddFDReadsNetlinkFramingByDefault(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_USERSOCK)
	if err != nil {
		t.Skipf("NETLINK_USERSOCK: %v", err)
	}
	defer unix.Close(fd)
	r, err := p.AddFD(fd, func(*poller.Batch) {})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	if r.Framing() != nl.FramingNetlink {
		t.Errorf("AddFD framing = %v, want netlink", r.Framing())
	}
}
