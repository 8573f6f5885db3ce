//go:build linux

package watch_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// Print the routing table as a snapshot, then every change, until the
// context ends.
func Example() {
	w, err := watch.Routes(watch.WithTable(rtnl.TableMain))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = stream.ForEach(ctx, w.Events(), func(e watch.Event[rtnl.Route]) error {
		switch e.Kind {
		case watch.Added, watch.Changed, watch.Deleted:
			_ = e.Value // a route: print it, program it, count it…
		case watch.SnapshotComplete:
			fmt.Println("snapshot complete")
		case watch.ResyncComplete:
			log.Printf("resynced after an overrun: %+v", e.Resync)
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Fatal(err)
	}
	// Output: snapshot complete
}

// A link table, read by key. The example runs in a fresh network
// namespace, which holds the loopback link only (index 1, down).
func ExampleLinks() {
	ns, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	w, err := watch.Links(watch.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.WaitReady(ctx); err != nil { // the snapshot is in the table
		log.Fatal(err)
	}
	lo, ok := w.Table().Get(1)
	fmt.Println(ok, lo.Name, lo.Up(), w.Table().Len())
	// Output: true lo false 1
}

// Several watchers share one poller: one epoll instance and one goroutine
// read all their sockets. Their subscribers may run concurrently with each
// other (each watcher's never with itself).
func ExampleWithPoller() {
	ns, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	p, err := poller.New()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	links, err := watch.Links(watch.WithNetNS(ns.Path()), watch.WithPoller(p))
	if err != nil {
		log.Fatal(err)
	}
	defer links.Close()
	addrs, err := watch.Addresses(watch.WithNetNS(ns.Path()), watch.WithPoller(p))
	if err != nil {
		log.Fatal(err)
	}
	defer addrs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ready := range []func(context.Context) error{links.WaitReady, addrs.WaitReady} {
		if err := ready(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(links.Table().Len(), "link,", addrs.Table().Len(), "addresses")
	// Output: 1 link, 0 addresses
}

// A table described by a Spec, for what nlrx has no watcher of its own:
// here the IPv4 addresses of the namespace, keyed by prefix. The watcher
// subscribes first, dumps, and dumps again after a loss, as the typed
// watchers do.
func ExampleNew() {
	ns, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	w, err := watch.New(watch.Spec[netip.Prefix, rtnl.Address]{
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
		Key:   func(a *rtnl.Address) netip.Prefix { return a.Prefix },
		Equal: func(a, b *rtnl.Address) bool { return a.Index == b.Index && a.Label == b.Label && a.Flags == b.Flags },
	}, watch.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p := netip.MustParsePrefix("192.0.2.7/24")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = stream.ForEach(ctx, w.Events(), func(e watch.Event[rtnl.Address]) error {
		switch e.Kind {
		case watch.SnapshotComplete: // ip addr add 192.0.2.7/24 dev lo
			return rtnl.AddAddress(ctx, c, rtnl.Address{Family: rtnl.FamilyInet, Index: 1, Prefix: p})
		case watch.Added:
			fmt.Println("added", e.Value.Prefix)
			return stream.ErrStop
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	_, ok := w.Table().Get(p)
	fmt.Println(w.Table().Len(), ok)
	// Output:
	// added 192.0.2.7/24
	// 1 true
}

// The policy-routing rules of a fresh namespace, then a rule added while
// the watcher runs, found in the table by its key.
func ExampleRules() {
	ns, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer ns.Close()
	w, err := watch.Rules(watch.WithNetNS(ns.Path()), watch.WithFamily(rtnl.FamilyInet))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	added := make(chan rtnl.Rule, 1)
	subscribed := make(chan struct{})
	go stream.ForEach(ctx, w.Events(stream.OnSubscribe(func() { close(subscribed) })), func(e watch.Event[rtnl.Rule]) error {
		if e.Kind == watch.Added && !e.Synthetic {
			added <- e.Value
		}
		return nil
	})
	<-subscribed
	if err := w.WaitReady(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Table().Len(), "rules")
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r := rtnl.Rule{Family: rtnl.FamilyInet, Priority: 100, Mark: 0x1, Mask: 0xffffffff, Table: 100, Action: rtnl.RuleActionTable}
	if err := rtnl.AddRule(ctx, c, r); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-added)
	_, ok := w.Table().Get(r.Key())
	fmt.Println(ok, w.Table().Len(), "rules")
	// Output:
	// 3 rules
	// 100: from all fwmark 0x1 lookup 100
	// true 4 rules
}
