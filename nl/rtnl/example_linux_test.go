//go:build linux

package rtnl_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// List the main IPv4 table of the current network namespace, with
// interface names, as `ip route show` does.
func ExampleForEachRoute() {
	ctx := context.Background()
	c, err := nl.DialRoute()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	names := map[uint32]string{}
	if err := rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		names[l.Index] = l.Name.String()
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	f := rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: rtnl.TableMain}
	err = rtnl.ForEachRoute(ctx, c, f, func(r *rtnl.Route) error {
		fmt.Printf("%s\n", r.AppendTextNames(nil, func(i uint32) string { return names[i] }))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// privateConn returns a socket in a new, empty network namespace, so that
// the examples change nothing else. Making a namespace needs CAP_SYS_ADMIN.
func privateConn() (*nl.Conn, *nl.NetNS) {
	ns, err := nl.NewNetNS()
	if err != nil {
		log.Fatal(err)
	}
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		log.Fatal(err)
	}
	return c, ns
}

// Make a macvlan on a veth and a tap device (`ip link add m0 link v0 type
// macvlan mode bridge; ip tuntap add tap0 mode tap`), and read their kinds'
// options back.
func ExampleAddTun() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		log.Fatal(err)
	}
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		log.Fatal(err)
	}
	err = rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("m0")}, rtnl.MACVLAN{Parent: v0, Mode: rtnl.MACVLANBridge})
	if err != nil {
		log.Fatal(err)
	}
	// /dev/net/tun makes the device in the namespace of the thread that
	// opens it.
	if err := ns.Do(func() error { return rtnl.AddTun("tap0", rtnl.Tun{Tap: true}) }); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"m0", "tap0"} {
		l, err := rtnl.LinkByName(ctx, c, name)
		if err != nil {
			log.Fatal(err)
		}
		info, err := l.Info()
		if err != nil {
			log.Fatal(err)
		}
		switch v := info.(type) {
		case rtnl.MACVLAN:
			fmt.Println(l.Name, v.LinkKind(), "mode", v.Mode, "on", v.Parent == v0)
		case rtnl.Tun:
			fmt.Println(l.Name, v.LinkKind(), "tap", v.Tap, "persist", v.Persist)
		}
	}
	// Prints:
	// m0 macvlan mode bridge on true
	// tap0 tun tap true persist true
	//
	// (Not run as a test: /dev/net/tun is often root's alone, mode 0600,
	// out of reach of the unprivileged test run; TestTunLinksAddAndDecodeAsIPShows
	// checks the same.)
}

// Make a bridge with a veth port: `ip link add br0 type bridge; ip link add
// v0 mtu 1400 type veth peer name v1; ip link set v0 master br0 up; ip link
// show master br0`.
func ExampleAddLink() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("br0")}, rtnl.Bridge{}); err != nil {
		log.Fatal(err)
	}
	v0 := rtnl.Link{Name: rtnl.MakeName("v0"), MTU: 1400}
	if err := rtnl.AddLink(ctx, c, v0, rtnl.Veth{Peer: rtnl.Link{Name: rtnl.MakeName("v1")}}); err != nil {
		log.Fatal(err)
	}
	br, err := rtnl.LinkIndex(ctx, c, "br0")
	if err != nil {
		log.Fatal(err)
	}
	port, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		log.Fatal(err)
	}
	if err := rtnl.SetLink(ctx, c, port, rtnl.WithMaster(br), rtnl.Up()); err != nil {
		log.Fatal(err)
	}
	ports, err := rtnl.ListLinksMatching(ctx, c, rtnl.LinkFilter{Master: br})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range ports {
		fmt.Println(l.Name, l.Kind, l.MTU, l.Up())
	}
	// Output: v0 veth 1400 true
}

// Wait for a link that another program is about to make.
func ExampleWaitForLink() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()

	found := make(chan string)
	go func() {
		l, err := rtnl.WaitForLink(ctx, "late1", nl.WithNetNS(ns.Path()))
		if err != nil {
			found <- err.Error()
			return
		}
		found <- l.Name.String() + " is a " + l.Kind.String()
	}()
	if err := rtnl.AddVeth(ctx, c, "late0", "late1"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-found)
	// Output: late1 is a veth
}

// Ask which route a packet would take: `ip route get 10.9.1.1`.
func ExampleGetRoute() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		log.Fatal(err)
	}
	var v0 uint32
	for _, name := range []string{"v0", "v1"} {
		i, err := rtnl.LinkIndex(ctx, c, name)
		if err != nil {
			log.Fatal(err)
		}
		if err := rtnl.SetLink(ctx, c, i, rtnl.Up()); err != nil {
			log.Fatal(err)
		}
		if name == "v0" {
			v0 = i
		}
	}
	err := rtnl.AddAddress(ctx, c, rtnl.Address{Prefix: netip.MustParsePrefix("10.0.0.1/24"), Index: v0})
	if err != nil {
		log.Fatal(err)
	}
	err = rtnl.AddRoute(ctx, c, rtnl.Route{Dst: netip.MustParsePrefix("10.9.0.0/16"), Gateway: netip.MustParseAddr("10.0.0.2")})
	if err != nil {
		log.Fatal(err)
	}
	r, err := rtnl.GetRoute(ctx, c, netip.MustParseAddr("10.9.1.1"), rtnl.GetRouteOptions{})
	if err != nil {
		log.Fatal(err)
	}
	dev, err := rtnl.LinkName(ctx, c, r.OIF)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Dst, "via", r.Gateway, "dev", dev, "src", r.PrefSrc, "table", rtnl.TableName(r.Table))
	// Output: 10.9.1.1/32 via 10.0.0.2 dev v0 src 10.0.0.1 table main
}

// Give a link an alternative name (`ip link property add dev v0 altname
// uplink-to-the-rack`), find it by that name, and read its counters the
// cheap way (RTM_GETSTATS), as a poller would.
func ExampleAddAltNames() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		log.Fatal(err)
	}
	v0, err := rtnl.LinkIndex(ctx, c, "v0")
	if err != nil {
		log.Fatal(err)
	}
	if err := rtnl.AddAltNames(ctx, c, v0, "uplink-to-the-rack"); err != nil {
		log.Fatal(err)
	}
	l, err := rtnl.LinkByIndex(ctx, c, v0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Name, l.AltNames(), l.MinMTU, l.MaxMTU)
	s, err := rtnl.GetLinkStats(ctx, c, v0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rx bytes", s.RxBytes, "tx bytes", s.TxBytes)
	// Output:
	// v0 [uplink-to-the-rack] 68 65535
	// rx bytes 0 tx bytes 0
}

// Send the traffic of a second uplink's addresses, and marked packets,
// through table 100, and make the main table's default route not count
// (`ip rule add pref 100 from 192.0.2.0/24 lookup 100; ip rule add pref
// 101 fwmark 0x1/0xff lookup 100; ip rule add pref 102 lookup main
// suppress_prefixlength 0; ip rule show`).
func ExampleAddRule() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	for _, r := range []rtnl.Rule{
		{Priority: 100, Src: netip.MustParsePrefix("192.0.2.0/24"), Table: 100},
		{Priority: 101, Family: rtnl.FamilyInet, Mark: 0x1, Mask: 0xff, Table: 100},
		{Priority: 102, Family: rtnl.FamilyInet, Table: rtnl.TableMain, HasSuppressPrefixLen: true},
	} {
		if err := rtnl.AddRule(ctx, c, r); err != nil {
			log.Fatal(err)
		}
	}
	for r, err := range rtnl.Rules(ctx, c, rtnl.RuleFilter{Family: rtnl.FamilyInet}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r)
	}
	// Output:
	// 0: from all lookup local
	// 100: from 192.0.2.0/24 lookup 100
	// 101: from all fwmark 0x1/0xff lookup 100
	// 102: from all lookup main suppress_prefixlength 0
	// 32766: from all lookup main
	// 32767: from all lookup default
}

// Give two other namespaces ids in ours (`ip netns set b 10; ip netns set
// c auto`), so that a socket here with nl.WithListenAllNSID hears their
// notifications tagged with those ids, then look them up (`ip netns
// list-id`, `ip netns id` in each).
func ExampleSetNSID() {
	ctx := context.Background()
	c, ns := privateConn()
	defer ns.Close()
	defer c.Close()
	peers := make([]*nl.NetNS, 2)
	for i := range peers {
		p, err := nl.NewNetNS()
		if err != nil {
			log.Fatal(err)
		}
		defer p.Close()
		peers[i] = p
	}
	if err := rtnl.SetNSID(ctx, c, rtnl.NSPeerFD(peers[0].FD()), 10); err != nil {
		log.Fatal(err)
	}
	// NSIDNotAssigned lets the kernel pick the lowest free id.
	if err := rtnl.SetNSID(ctx, c, rtnl.NSPeerFD(peers[1].FD()), rtnl.NSIDNotAssigned); err != nil {
		log.Fatal(err)
	}
	ids, err := rtnl.ListNSIDs(ctx, c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ids)
	for _, p := range append([]*nl.NetNS{ns}, peers...) {
		id, err := rtnl.GetNSID(ctx, c, rtnl.NSPeerFD(p.FD()))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(id)
	}
	// Output:
	// [nsid 0 nsid 10]
	// -1
	// 10
	// 0
}
