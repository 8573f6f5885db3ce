//go:build linux

package watch_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream/watch"
)

// ByNSID keys one watcher per namespace with the id a socket listening to
// every namespace tags that namespace's notifications with: each tagged
// address notification is found in the table of the watcher of its key.
func TestByNSIDKeysWatchersAsListenAllNSIDTagsTheirMessages(t *testing.T) {
	a, b, c := nstest.New(t), nstest.New(t), nstest.New(t)
	for _, ns := range []*nstest.NS{a, b, c} {
		ns.IP("link", "add", "x0", "type", "veth", "peer", "name", "x1")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := a.Dial()
	if err := rtnl.SetNSID(ctx, conn, rtnl.NSPeerFD(c.FD()), 7); err != nil {
		t.Fatal(err) // c has an id already; b gets one from ByNSID
	}
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Close(); <-p.Done() }()

	ws, err := watch.ByNSID(ctx, conn, []string{b.Path(), c.Path(), a.Path()}, watch.Addresses, watch.WithPoller(p))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, w := range ws {
			w.Close()
			<-w.Done()
		}
	}()
	idB, err := rtnl.GetNSID(ctx, conn, rtnl.NSPeerFD(b.FD()))
	if err != nil || idB == nl.NSIDNotAssigned {
		t.Fatalf("b's id after ByNSID: %d, %v; want one assigned", idB, err)
	}
	if keys := slices.Sorted(maps.Keys(ws)); !slices.Equal(keys, slices.Sorted(slices.Values([]int32{nl.NSIDNotAssigned, 7, idB}))) {
		t.Fatalf("keys %v, want -1 (a, the socket's own), 7 (c) and %d (b)", keys, idB)
	}
	for _, w := range ws {
		w.Start()
		if err := w.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Every namespace's address notifications, tagged, on one socket.
	var mu sync.Mutex
	type tagged struct {
		nsid int32
		addr string
	}
	var heard []tagged
	arrived := make(chan struct{}, 1)
	listener := a.Dial(nl.WithGroups(unix.RTNLGRP_IPV4_IFADDR), nl.WithListenAllNSID())
	if _, err := p.Add(listener, func(bt *poller.Batch) {
		mu.Lock()
		defer mu.Unlock()
		for i, m := range bt.Messages {
			if ad, err := rtnl.DecodeAddress(m); err == nil && m.Header.Type == rtnl.TypeNewAddress {
				heard = append(heard, tagged{bt.NSID(i), ad.Prefix.String()})
			}
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
	}, poller.WithNSID()); err != nil {
		t.Fatal(err)
	}
	for i, ns := range []*nstest.NS{a, b, c} {
		ns.IP("addr", "add", fmt.Sprintf("198.51.100.%d/32", i+1), "dev", "x0")
	}
	for {
		mu.Lock()
		n := len(heard)
		mu.Unlock()
		if n >= 3 {
			break
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatalf("heard %d address notifications, want 3", n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[int32]bool{}
	for _, h := range heard {
		w, ok := ws[h.nsid]
		if !ok {
			t.Errorf("%v tagged with nsid %d: no watcher has that key", h.addr, h.nsid)
			continue
		}
		seen[h.nsid] = true
		found := false
		deadline := time.Now().Add(10 * time.Second)
		for !found && time.Now().Before(deadline) {
			found = slices.ContainsFunc(w.Table().Values(), func(ad rtnl.Address) bool { return ad.Prefix.String() == h.addr })
			if !found {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if !found {
			t.Errorf("%v tagged with nsid %d is not in the table of the watcher keyed %d", h.addr, h.nsid, h.nsid)
		}
	}
	if len(seen) != 3 {
		t.Errorf("notifications came tagged with %v, want three namespaces", seen)
	}
}

func TestByNSIDRefusesTwoPathsOfOneNamespaceAndClosesWhatItMade(t *testing.T) {
	a, b := nstest.New(t), nstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var made []*watch.AddressWatcher
	newW := func(opts ...watch.Option) (*watch.AddressWatcher, error) {
		w, err := watch.Addresses(opts...)
		if err == nil {
			made = append(made, w)
		}
		return w, err
	}
	ws, err := watch.ByNSID(ctx, a.Dial(), []string{b.Path(), "/proc/self/fd/" + fmt.Sprint(b.FD())}, newW)
	if err == nil || ws != nil || !strings.Contains(err.Error(), "same namespace") {
		t.Fatalf("ByNSID with b twice: %v, %v; want an error naming the same namespace", ws, err)
	}
	if len(made) != 1 {
		t.Fatalf("%d watchers made, want 1", len(made))
	}
	select {
	case <-made[0].Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher made before the error was not closed")
	}
	if _, err := watch.ByNSID(ctx, a.Dial(), []string{"/proc/self/ns/uts"}, watch.Addresses); err == nil {
		t.Error("ByNSID of a namespace of another type succeeded")
	}
	if _, err := watch.ByNSID(ctx, a.Dial(), []string{"/nonexistent"}, watch.Addresses); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ByNSID of a missing path: %v, want fs.ErrNotExist", err)
	}
}
