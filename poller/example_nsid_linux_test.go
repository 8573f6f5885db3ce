//go:build linux

package poller_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
)

// One socket hears the address changes of its own namespace and of
// another that has an id in it, each tagged with where it came from. The
// example makes both namespaces, empty, and changes nothing else.
func ExampleWithNSID() {
	ctx := context.Background()
	here, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer here.Close()
	peer, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Close()
	req, err := nl.DialRoute(nl.WithNetNS(here.Path()))
	if err != nil {
		log.Fatal(err)
	}
	defer req.Close()
	if err := rtnl.SetNSID(ctx, req, rtnl.NSPeerFD(peer.FD()), 10); err != nil {
		log.Fatal(err)
	}

	c, err := nl.DialRoute(nl.WithNetNS(here.Path()), nl.WithListenAllNSID(),
		nl.WithGroups(rtnl.GroupIPv4Address))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	p, err := poller.New()
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		p.Close()
		<-p.Done()
	}()
	seen := make(chan string, 8)
	_, err = p.Add(c, func(b *poller.Batch) {
		for i, m := range b.Messages {
			if a, err := rtnl.DecodeAddress(m); err == nil {
				seen <- fmt.Sprintf("nsid %d: %v", b.NSID(i), a.Prefix)
			}
		}
	}, poller.WithNSID())
	if err != nil {
		log.Fatal(err)
	}

	for _, x := range []struct {
		ns   *nl.NetNS
		addr string
	}{{peer, "198.51.100.1/32"}, {here, "198.51.100.2/32"}} {
		conn, err := nl.DialRoute(nl.WithNetNS(x.ns.Path()))
		if err != nil {
			log.Fatal(err)
		}
		// The loopback link, index 1, down in a new namespace.
		err = rtnl.AddAddress(ctx, conn, rtnl.Address{Index: 1, Prefix: netip.MustParsePrefix(x.addr)})
		conn.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(<-seen)
	}
	// Output:
	// nsid 10: 198.51.100.1/32
	// nsid -1: 198.51.100.2/32
}
