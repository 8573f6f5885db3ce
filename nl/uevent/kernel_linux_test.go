//go:build linux

package uevent_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/uevent"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

const wait = 10 * time.Second // bound on any single wait in these tests

// netEvents collects the net-subsystem uevents one namespace's socket
// delivers through a poller, a Publisher and operators.Decode: the stream
// a user builds.
type netEvents struct {
	mu     sync.Mutex
	events []uevent.Event
	gaps   int
	change chan struct{}
}

func watchNS(t *testing.T, p *poller.Poller, ns *nstest.NS) *netEvents {
	t.Helper()
	c, err := uevent.Dial(uevent.GroupKernel, nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Framing() != nl.FramingRaw {
		t.Fatalf("uevent socket framing = %v, want raw", c.Framing())
	}
	pub := stream.NewPublisher[nl.Message]()
	r, err := p.Add(c, stream.PollerHandler(pub))
	if err != nil {
		t.Fatal(err)
	}
	w := &netEvents{change: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- operators.Decode(pub.Observable(), uevent.Decode).Subscribe(ctx, stream.ObserverFuncs[uevent.Event]{
			OnNext: func(e uevent.Event) error {
				w.mu.Lock()
				if e.Subsystem == "net" {
					w.events = append(w.events, e)
				}
				w.mu.Unlock()
				select {
				case w.change <- struct{}{}:
				default:
				}
				return nil
			},
			OnGap: func(g stream.Gap) error {
				w.mu.Lock()
				w.gaps++
				w.mu.Unlock()
				return nil
			},
		})
	}()
	if err := pub.WaitSubscribers(bound(t), 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Remove()
		<-r.Done()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("event stream: %v", err)
		}
	})
	return w
}

func bound(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// waitFor blocks until the collected events contain want (action@interface
// strings), in order relative to each other, or fails the test.
func (w *netEvents) waitFor(t *testing.T, want ...string) []uevent.Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		w.mu.Lock()
		got := append([]uevent.Event(nil), w.events...)
		w.mu.Unlock()
		if containsInOrder(got, want) {
			return got
		}
		select {
		case <-w.change:
		case <-deadline:
			t.Fatalf("within %v saw %s, want %q among them", wait, describe(got), want)
		}
	}
}

func key(e uevent.Event) string { return string(e.Action) + "@" + e.Interface() }

// containsInOrder reports whether got holds every key of want, as a
// multiset, with each device's events in the order of want (the kernel
// announces a veth pair's two ends in an order of its own).
func containsInOrder(got []uevent.Event, want []string) bool {
	left := append([]string(nil), want...)
	for _, e := range got {
		k := key(e)
		for i, w := range left {
			if w == k {
				left = append(left[:i], left[i+1:]...)
				break
			}
			if strings.HasSuffix(w, "@"+e.Interface()) {
				break // an earlier event of this device is still missing
			}
		}
	}
	return len(left) == 0
}

func describe(es []uevent.Event) string {
	var s []string
	for _, e := range es {
		s = append(s, key(e))
	}
	return fmt.Sprintf("%q", s)
}

func ipIndex(t *testing.T, ns *nstest.NS, name string) int {
	t.Helper()
	var links []struct {
		Index int `json:"ifindex"`
	}
	if err := json.Unmarshal([]byte(ns.IP("-j", "link", "show", "dev", name)), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -j link show dev %s: %v", name, err)
	}
	return links[0].Index
}

// TestVethUeventsReachTheirOwnNamespaceOnly makes and deletes veth pairs
// in two private namespaces, each watched by its own uevent socket on one
// poller, and checks that each socket sees the add and remove events of
// its own namespace's devices, with the kernel's ifindex, and none of the
// other's.
func TestVethUeventsReachTheirOwnNamespaceOnly(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); <-p.Done() })
	wa, wb := watchNS(t, p, a), watchNS(t, p, b)

	b.IP("link", "add", "ueb0", "type", "veth", "peer", "name", "ueb1")
	a.IP("link", "add", "uea0", "type", "veth", "peer", "name", "uea1")
	idx := map[string]int{"uea0": ipIndex(t, a, "uea0"), "uea1": ipIndex(t, a, "uea1")}
	b.IP("link", "del", "ueb0")
	a.IP("link", "del", "uea0")
	// A last event in b, after a's, fences b's socket: whatever of a's
	// reached it would be queued ahead of this one.
	b.IP("link", "add", "ueb2", "type", "veth", "peer", "name", "ueb3")

	gotA := wa.waitFor(t, "add@uea0", "add@uea1", "remove@uea0", "remove@uea1")
	gotB := wb.waitFor(t, "add@ueb0", "add@ueb1", "remove@ueb0", "remove@ueb1", "add@ueb2")
	if _, err := a.TryIP("link", "show", "ueb2"); err == nil {
		t.Fatal("namespace a sees b's device: the namespaces are not private")
	}

	for _, e := range gotA {
		if !strings.HasPrefix(e.Interface(), "uea") {
			t.Errorf("namespace a's socket saw %v (%s) of another namespace", e, e.Interface())
		}
		if !e.Trusted() || e.Source != uevent.SourceKernel {
			t.Errorf("%v is not marked as the kernel's", e)
		}
		if e.Action == uevent.ActionAdd {
			if want := idx[e.Interface()]; e.IfIndex() != want {
				t.Errorf("%v: IFINDEX %d, ip says %d", e, e.IfIndex(), want)
			}
		}
		if want := "/devices/virtual/net/" + e.Interface(); e.DevPath != want || e.Seqnum == 0 {
			t.Errorf("%v: devpath %q seqnum %d, want %q and a seqnum", e, e.DevPath, e.Seqnum, want)
		}
	}
	for _, e := range gotB {
		if !strings.HasPrefix(e.Interface(), "ueb") {
			t.Errorf("namespace b's socket saw %v (%s) of another namespace", e, e.Interface())
		}
	}
	// Sequence numbers are the kernel's, increasing.
	for i := 1; i < len(gotA); i++ {
		if gotA[i].Seqnum <= gotA[i-1].Seqnum {
			t.Errorf("seqnum %d after %d", gotA[i].Seqnum, gotA[i-1].Seqnum)
		}
	}
	wa.mu.Lock()
	if wa.gaps != 0 {
		t.Errorf("%d gaps on a quiet socket", wa.gaps)
	}
	wa.mu.Unlock()
}

// TestForgedKernelUeventIsDropped sends a kernel-format uevent from a user
// socket to a uevent socket's port, the forgery udev's CVE-2009-1185 was
// about: the default socket drops and counts it, and one accepting any
// sender hands it to Decode, which rejects it with ErrSpoofed.
func TestForgedKernelUeventIsDropped(t *testing.T) {
	ns := nstest.New(t)
	forged := uevent.AppendKernel(nil, uevent.Event{Action: uevent.ActionAdd, DevPath: "/devices/virtual/net/evil",
		Env: []uevent.Var{{"ACTION", "add"}, {"DEVPATH", "/devices/virtual/net/evil"}, {"SUBSYSTEM", "net"}, {"SEQNUM", "1"}}})
	for _, tc := range []struct {
		name string
		opts []nl.Option
	}{
		{"default", nil},
		{"any sender", []nl.Option{nl.WithAnySender()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := uevent.Dial(uevent.GroupKernel, append([]nl.Option{nl.WithNetNS(ns.Path())}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var fd int
			err = ns.Do(func() error {
				var err error
				fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd)
			if err := unix.Sendto(fd, forged, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: c.PortID()}); err != nil {
				t.Fatal(err)
			}
			// A real event after it, to know the forgery was read.
			ns.IP("link", "add", "ue0", "type", "veth", "peer", "name", "ue1")
			defer ns.IP("link", "del", "ue0")
			c.SetReadDeadline(time.Now().Add(wait))
			for {
				ms, err := c.Receive()
				if err != nil {
					t.Fatal(err)
				}
				e, err := uevent.Decode(ms[0])
				if tc.opts == nil && err != nil {
					t.Fatalf("default socket delivered %q: %v", ms[0].Data, err)
				}
				if tc.opts != nil {
					if !errors.Is(err, uevent.ErrSpoofed) {
						t.Fatalf("first datagram on an any-sender socket: %v, want ErrSpoofed", err)
					}
					return
				}
				if e.Interface() == "ue0" {
					break
				}
			}
			if s := c.Stats(); s.Spoofed != 1 {
				t.Errorf("Stats.Spoofed = %d, want 1", s.Spoofed)
			}
		})
	}
}

// TestWriteFuzzCorpus records the datagrams the kernel sends for a veth
// pair's creation and deletion (net and queues devices) as FuzzParse's
// seed corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ns := nstest.New(t)
	c, err := uevent.Dial(uevent.GroupKernel, nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ns.IP("link", "add", "uc0", "type", "veth", "peer", "name", "uc1")
	ns.IP("link", "del", "uc0")
	n, err := c.Drain(func(m nl.Message) {
		sum := sha256.Sum256(m.Data)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(false)\n", m.Data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil || n == 0 {
		t.Fatalf("drained %d datagrams: %v", n, err)
	}
	t.Logf("%d seeds", n)
}

// TestUdevRebroadcastIsFlagged plays udevd: a process with CAP_NET_ADMIN
// in the namespace sends a libudev message to GroupUdev. A GroupUdev socket
// read through a poller (which must accept any sender too) delivers it
// marked SourceUdev, never as the kernel's.
func TestUdevRebroadcastIsFlagged(t *testing.T) {
	ns := nstest.New(t)
	c, err := uevent.Dial(uevent.GroupUdev, nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Close(); <-p.Done() }()
	got := make(chan uevent.Event, 1)
	bad := make(chan error, 1)
	r, err := p.Add(c, func(b *poller.Batch) {
		for _, m := range b.Messages {
			e, err := uevent.Decode(m)
			if err != nil {
				bad <- err
				continue
			}
			got <- e
		}
	}, poller.WithAnySender())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()

	var fd int
	err = ns.Do(func() error {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	msg := libudev("ACTION=add\x00DEVPATH=/devices/virtual/net/uu0\x00SUBSYSTEM=net\x00SEQNUM=9\x00TAGS=:systemd:\x00")
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: uevent.GroupUdev}); err != nil {
		if errors.Is(err, unix.EPERM) {
			t.Skipf("sending to the udev group needs CAP_NET_ADMIN in the namespace: %v", err)
		}
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Source != uevent.SourceUdev || e.Trusted() || e.DevPath != "/devices/virtual/net/uu0" || e.Seqnum != 9 {
			t.Errorf("udev message decoded as %v (trusted %v)", e, e.Trusted())
		}
	case err := <-bad:
		t.Fatalf("udev message rejected: %v", err)
	case <-time.After(wait):
		t.Fatal("udev message not delivered")
	}
}
