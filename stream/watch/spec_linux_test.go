//go:build linux

package watch_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// ipv4Addresses is a Spec a user could write: the IPv4 addresses, from
// nothing but rtnl's exported dump and decoder.
func ipv4Addresses() watch.Spec[netip.Prefix, rtnl.Address] {
	return watch.Spec[netip.Prefix, rtnl.Address]{
		Name:   "ipv4-addresses",
		Groups: []uint32{rtnl.GroupIPv4Address},
		Dump: func(ctx context.Context, c *nl.Conn, fn func(*rtnl.Address) error) error {
			return rtnl.ForEachAddress(ctx, c, rtnl.AddressFilter{Family: rtnl.FamilyInet}, fn)
		},
		Decode: func(m nl.Message, a *rtnl.Address) (del, ok bool, err error) {
			switch m.Header.Type {
			case rtnl.TypeNewAddress, rtnl.TypeDelAddress:
				*a, err = rtnl.DecodeAddress(m)
				return m.Header.Type == rtnl.TypeDelAddress, true, err
			}
			return false, false, nil
		},
		// One address per prefix in these tests; the lifetimes and
		// times of a message are no change.
		Key:   func(a *rtnl.Address) netip.Prefix { return a.Prefix },
		Equal: func(a, b *rtnl.Address) bool { return a.Index == b.Index && a.Prefix == b.Prefix && a.Label == b.Label },
		Keep:  func(a *rtnl.Address) bool { return a.Family == rtnl.FamilyInet },
	}
}

func TestNewRefusesAnIncompleteSpec(t *testing.T) {
	full := ipv4Addresses()
	for _, tc := range []struct {
		name  string
		spoil func(*watch.Spec[netip.Prefix, rtnl.Address])
	}{
		{"Groups", func(s *watch.Spec[netip.Prefix, rtnl.Address]) { s.Groups = nil }},
		{"Dump", func(s *watch.Spec[netip.Prefix, rtnl.Address]) { s.Dump = nil }},
		{"Decode", func(s *watch.Spec[netip.Prefix, rtnl.Address]) { s.Decode = nil }},
		{"Key", func(s *watch.Spec[netip.Prefix, rtnl.Address]) { s.Key = nil }},
		{"Equal", func(s *watch.Spec[netip.Prefix, rtnl.Address]) { s.Equal = nil }},
	} {
		s := full
		tc.spoil(&s)
		_, err := watch.New(s)
		if !errors.Is(err, watch.ErrIncompleteSpec) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("without %s: %v", tc.name, err)
		}
	}
	for _, o := range []watch.Option{watch.WithFamily(rtnl.FamilyInet), watch.WithTable(254)} {
		if w, err := watch.New(full, o); err == nil {
			w.Close()
			t.Error("an option that does not apply was taken")
		}
	}
}

// A table from a Spec follows the kernel through changes and converges
// after notifications are lost.
func TestNewWatchesATableFromASpec(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	for i := range 20 {
		ns.IP("addr", "add", fmt.Sprintf("10.7.%d.1/24", i), "dev", "v0")
	}
	w, err := watch.New(ipv4Addresses(), watch.WithNetNS(ns.Path()), watch.WithReadBuffer(4096))
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	r := record(t, w, gate)
	r.waitFor(t, "the snapshot", has[rtnl.Address](watch.SnapshotComplete, nil))
	c := ns.Dial()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	same := func(step string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			as, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{Family: rtnl.FamilyInet})
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, a := range as {
				want = append(want, fmt.Sprint(a.Index, " ", a.Prefix))
			}
			for _, a := range w.Table().Values() {
				got = append(got, fmt.Sprint(a.Index, " ", a.Prefix))
			}
			slices.Sort(want)
			slices.Sort(got)
			if slices.Equal(want, got) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s:\nkernel:\n  %s\nwatcher:\n  %s", step, strings.Join(want, "\n  "), strings.Join(got, "\n  "))
			}
			r.waitChange(t, 50*time.Millisecond)
		}
	}
	same("the snapshot")

	// A stalled subscriber and a 4 KiB buffer: the notifications of 116
	// changes cannot all be queued.
	ns.IP("addr", "add", "10.9.0.1/24", "dev", "v1") // the subscriber stalls on this one
	r.waitFor(t, "the stalled event", has(watch.Added, func(a rtnl.Address) bool { return a.Prefix.String() == "10.9.0.1/24" }))
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("addr add 10.10.%d.1/24 dev v1", i))
	}
	for i := 4; i < 20; i++ {
		lines = append(lines, fmt.Sprintf("addr del 10.7.%d.1/24 dev v0", i))
	}
	ns.Batch(lines)
	close(gate)
	r.waitFor(t, "the resync", has[rtnl.Address](watch.ResyncComplete, nil))
	same("the resync")
	if st := w.Stats(); st.Overruns == 0 || st.Resyncs == 0 {
		t.Errorf("no overrun with a 4 KiB buffer and a stalled subscriber: %+v", st)
	}

	ns.IP("addr", "add", "10.8.0.1/24", "dev", "v1")
	ns.IP("addr", "del", "10.7.3.1/24", "dev", "v0")
	same("an add and a delete")
	if st := w.Stats(); st.Repairs != 0 || st.Collisions != 0 || st.DecodeErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}
