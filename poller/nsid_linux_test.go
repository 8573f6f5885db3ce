//go:build linux

package poller_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
)

// setNSID gives peer the namespace id id in ns (ip netns set), with a
// raw RTM_NEWNSID so that the poller's tests do not depend on rtnl's
// helpers.
func setNSID(t testing.TB, ns, peer *nstest.NS, id uint32) {
	t.Helper()
	const netnsaNSID, netnsaFD = 1, 3
	e := nl.NewAttributeEncoder(make([]byte, 4)) // struct rtgenmsg, padded
	e.Uint32(netnsaNSID, id)
	e.Uint32(netnsaFD, uint32(peer.FD()))
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	req := nl.Message{Header: nl.Header{Type: unix.RTM_NEWNSID}, Data: b}
	if _, err := ns.Dial().Execute(bound(t, 10*time.Second), req); err != nil {
		t.Fatalf("assigning namespace id %d: %v", id, err)
	}
}

// nsAddr is one address notification and the namespace id it came with.
type nsAddr struct {
	nsid int32
	addr string
}

// addrRecorder records the IPv4 address notifications a handler sees, as a
// multiset, and the batches' NSIDs slices.
type addrRecorder struct {
	mu       sync.Mutex
	seen     map[nsAddr]int
	n        int
	nilNSIDs int // batches with messages whose NSIDs was nil
	bad      []string
	tl       *tally
}

func newAddrRecorder() *addrRecorder {
	return &addrRecorder{seen: map[nsAddr]int{}, tl: newTally()}
}

func (r *addrRecorder) handle(b *poller.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b.NSIDs != nil && len(b.NSIDs) != len(b.Messages) {
		r.bad = append(r.bad, fmt.Sprintf("%d NSIDs for %d messages", len(b.NSIDs), len(b.Messages)))
	}
	if b.NSIDs == nil && len(b.Messages) > 0 {
		r.nilNSIDs++
	}
	for _, ev := range b.Events {
		if ev.Kind != poller.Closed {
			r.bad = append(r.bad, ev.Kind.String())
		}
	}
	k := 0
	for i, m := range b.Messages {
		if m.Header.Type != unix.RTM_NEWADDR {
			continue
		}
		var a rtnl.Address
		if err := a.UnmarshalBinary(m.Data); err != nil {
			r.bad = append(r.bad, err.Error())
			continue
		}
		r.seen[nsAddr{b.NSID(i), a.Prefix.String()}]++
		k++
	}
	r.n += k
	r.tl.add(k)
}

func (r *addrRecorder) result() (map[nsAddr]int, int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.seen), r.nilNSIDs, append([]string(nil), r.bad...)
}

// nsidWorld is three private namespaces: a, where the test listens, and b
// and c, which have the ids 10 and 20 in a. Each has a veth pair, down, so
// that adding an address makes exactly one IPv4 address notification.
type nsidWorld struct{ a, b, c *nstest.NS }

const nsidB, nsidC = 10, 20

func newNSIDWorld(t *testing.T) nsidWorld {
	w := nsidWorld{nstest.New(t), nstest.New(t), nstest.New(t)}
	for _, ns := range []*nstest.NS{w.a, w.b, w.c} {
		ns.IP("link", "add", "x0", "type", "veth", "peer", "name", "x1")
	}
	setNSID(t, w.a, w.b, nsidB)
	setNSID(t, w.a, w.c, nsidC)
	return w
}

// addAddresses adds n addresses to x0 in each of the namespaces, taking
// turns, and returns the multiset of notifications a listener in a with
// every namespace's messages should see.
func (w nsidWorld) addAddresses(n int) map[nsAddr]int {
	want := map[nsAddr]int{}
	for i := range n {
		for k, x := range []struct {
			ns   *nstest.NS
			nsid int32
		}{{w.b, nsidB}, {w.c, nsidC}, {w.a, nl.NSIDNotAssigned}} {
			p := fmt.Sprintf("198.51.%d.%d/32", k, i+1)
			x.ns.IP("addr", "add", p, "dev", "x0")
			want[nsAddr{x.nsid, p}]++
		}
	}
	return want
}

// ownOnly keeps the entries of the socket's own namespace.
func ownOnly(m map[nsAddr]int) map[nsAddr]int {
	out := map[nsAddr]int{}
	for k, v := range m {
		if k.nsid == nl.NSIDNotAssigned {
			out[k] = v
		}
	}
	return out
}

// untagged is m with every namespace id replaced by the not-assigned value.
func untagged(m map[nsAddr]int) map[nsAddr]int {
	out := map[nsAddr]int{}
	for k, v := range m {
		out[nsAddr{nl.NSIDNotAssigned, k.addr}] += v
	}
	return out
}

func TestWithNSIDTagsEachMessageWithItsNamespace(t *testing.T) {
	leakCheck(t)
	w := newNSIDWorld(t)
	for _, tc := range []struct {
		name      string
		listenAll bool // the socket has NETLINK_LISTEN_ALL_NSID
		withNSID  bool // the registration has poller.WithNSID
		fd        bool // registered with AddFD rather than Add
		queued    bool // the events queue before the registration, so one recvmmsg takes several
		want      func(all map[nsAddr]int) map[nsAddr]int
	}{
		{"every namespace, tagged", true, true, false, false, func(m map[nsAddr]int) map[nsAddr]int { return m }},
		{"every namespace, tagged, queued", true, true, false, true, func(m map[nsAddr]int) map[nsAddr]int { return m }},
		{"every namespace, tagged, AddFD", true, true, true, true, func(m map[nsAddr]int) map[nsAddr]int { return m }},
		{"every namespace, untagged", true, false, false, true, untagged},
		{"own namespace only", false, true, false, true, ownOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ns := range []*nstest.NS{w.a, w.b, w.c} {
				ns.IP("addr", "flush", "dev", "x0")
			}
			p, err := poller.New(poller.WithBatchSize(8))
			if err != nil {
				t.Fatal(err)
			}
			defer closeAndWait(t, p)
			rec := newAddrRecorder()
			var opts []poller.AddOption
			if tc.withNSID {
				opts = append(opts, poller.WithNSID())
			}
			var add func() *poller.Registration
			if tc.fd {
				fd := rawListener(t, w.a, tc.listenAll)
				add = func() *poller.Registration {
					r, err := p.AddFD(fd, rec.handle, opts...)
					if err != nil {
						t.Fatal(err)
					}
					return r
				}
			} else {
				copts := []nl.Option{nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR)}
				if tc.listenAll {
					copts = append(copts, nl.WithListenAllNSID())
				}
				c := w.a.Dial(copts...)
				add = func() *poller.Registration {
					r, err := p.Add(c, rec.handle, opts...)
					if err != nil {
						t.Fatal(err)
					}
					return r
				}
			}
			var r *poller.Registration
			if !tc.queued {
				r = add()
			}
			want := tc.want(w.addAddresses(4))
			if tc.queued {
				r = add()
			}
			total := 0
			for _, v := range want {
				total += v
			}
			if err := rec.tl.waitFor(bound(t, 10*time.Second), int64(total)); err != nil {
				t.Fatal(err)
			}
			r.Remove()
			<-r.Done()
			got, nilNSIDs, bad := rec.result()
			if len(bad) > 0 {
				t.Errorf("unexpected in the batches: %q", bad)
			}
			if !maps.Equal(got, want) {
				t.Errorf("got the address notifications\n %v\nwant\n %v", got, want)
			}
			if tc.withNSID != (nilNSIDs == 0) {
				t.Errorf("%d batches with messages had no NSIDs; WithNSID is %v", nilNSIDs, tc.withNSID)
			}
			if tc.queued {
				if st := r.Stats(); st.Syscalls >= st.Datagrams {
					t.Errorf("%d syscalls for %d datagrams: the queued datagrams were not read in batches", st.Syscalls, st.Datagrams)
				}
			}
		})
	}
}

// rawListener opens a netlink socket in ns without nl (unix.Socket, as an
// AddFD user would), joined to RTNLGRP_IPV4_IFADDR, closed when the test
// ends.
func rawListener(t *testing.T, ns *nstest.NS, listenAll bool) int {
	t.Helper()
	var fd int
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, unix.RTNLGRP_IPV4_IFADDR); err != nil {
			return err
		}
		if listenAll {
			return unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_LISTEN_ALL_NSID, 1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// A registration with WithNSID and one without share the poller's buffers:
// the one without sees no ids and no control data leaks into its reads.
func TestWithNSIDAndWithoutShareAPoller(t *testing.T) {
	leakCheck(t)
	w := newNSIDWorld(t)
	p, err := poller.New(poller.WithBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	tagged, plain := newAddrRecorder(), newAddrRecorder()
	for _, x := range []struct {
		rec  *addrRecorder
		opts []poller.AddOption
	}{{tagged, []poller.AddOption{poller.WithNSID()}}, {plain, nil}} {
		c := w.a.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR), nl.WithListenAllNSID())
		if _, err := p.Add(c, x.rec.handle, x.opts...); err != nil {
			t.Fatal(err)
		}
	}
	want := w.addAddresses(3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, rec := range []*addrRecorder{tagged, plain} {
		if err := rec.tl.waitFor(ctx, int64(len(want))); err != nil {
			t.Fatal(err)
		}
	}
	closeAndWait(t, p)
	got, _, bad := tagged.result()
	if !maps.Equal(got, want) || len(bad) > 0 {
		t.Errorf("tagged: got %v (%q), want %v", got, bad, want)
	}
	got, nilNSIDs, bad := plain.result()
	if !maps.Equal(got, untagged(want)) || len(bad) > 0 || nilNSIDs == 0 {
		t.Errorf("plain: got %v (%q, %d batches without ids), want %v", got, bad, nilNSIDs, untagged(want))
	}
}

// A truncated datagram makes the poller grow its buffers; the namespace
// ids of the datagrams read into the new ones are still right.
func TestWithNSIDSurvivesATruncationAndTheBuffersGrowth(t *testing.T) {
	leakCheck(t)
	w := newNSIDWorld(t)
	listener := w.a.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR), nl.WithListenAllNSID())
	sender := w.a.Dial()
	p, err := poller.New(poller.WithDatagramSize(poller.MinDatagramSize), poller.WithBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	var mu sync.Mutex
	var got []string
	tl := newTally()
	handler := func(b *poller.Batch) {
		mu.Lock()
		defer mu.Unlock()
		at := 0
		emit := func(to int) {
			for ; at < to; at++ {
				m := b.Messages[at]
				var a rtnl.Address
				if m.Header.Type != unix.RTM_NEWADDR || a.UnmarshalBinary(m.Data) != nil {
					got = append(got, fmt.Sprintf("%d type %d", b.NSID(at), m.Header.Type))
					continue
				}
				got = append(got, fmt.Sprintf("%d %v", b.NSID(at), a.Prefix))
			}
		}
		for _, ev := range b.Events {
			emit(ev.At)
			if ev.Kind != poller.Closed {
				got = append(got, ev.Kind.String())
			}
		}
		emit(len(b.Messages))
		tl.add(len(b.Messages) + len(b.Events))
	}
	if _, err := p.Add(listener, handler, poller.WithNSID(), poller.WithAnySender()); err != nil {
		t.Fatal(err)
	}
	ctx := bound(t, 10*time.Second)
	w.b.IP("addr", "add", "198.51.0.1/32", "dev", "x0")
	if err := tl.waitFor(ctx, 1); err != nil {
		t.Fatal(err)
	}
	sendRaw(t, sender, listener.PortID(), forged(12<<10)) // larger than the 8 KiB buffers
	if err := tl.waitFor(ctx, 2); err != nil {
		t.Fatal(err)
	}
	w.c.IP("addr", "add", "198.51.1.1/32", "dev", "x0")
	w.a.IP("addr", "add", "198.51.2.1/32", "dev", "x0")
	w.b.IP("addr", "add", "198.51.0.2/32", "dev", "x0")
	sendRaw(t, sender, listener.PortID(), forged(10<<10)) // fits now: a user-space sender's, not tagged
	if err := tl.waitFor(ctx, 6); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"10 198.51.0.1/32", "truncated", "20 198.51.1.1/32", "-1 198.51.2.1/32", "10 198.51.0.2/32", "-1 type 25"}
	if !slices.Equal(got, want) {
		t.Errorf("handler saw\n %q\nwant\n %q", got, want)
	}
}

// A namespace may hold an id for itself (rtnl.SetNSID on its own file),
// which GetNSID then reports; the kernel still sends its own messages
// without one, so they read NSIDNotAssigned.
func TestOwnNamespaceReadsNotAssignedEvenWithAnIDForItself(t *testing.T) {
	leakCheck(t)
	w := newNSIDWorld(t)
	setNSID(t, w.a, w.a, 30)
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	rec := newAddrRecorder()
	c := w.a.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR), nl.WithListenAllNSID())
	if _, err := p.Add(c, rec.handle, poller.WithNSID()); err != nil {
		t.Fatal(err)
	}
	want := w.addAddresses(1)
	if err := rec.tl.waitFor(bound(t, 10*time.Second), int64(len(want))); err != nil {
		t.Fatal(err)
	}
	if got, _, bad := rec.result(); !maps.Equal(got, want) || len(bad) > 0 {
		t.Errorf("got %v (%q), want %v", got, bad, want)
	}
}
