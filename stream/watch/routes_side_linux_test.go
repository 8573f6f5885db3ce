//go:build linux

package watch

import (
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// linkMessage encodes an RTM_NEWLINK of link index with flags and an
// operational state, as the kernel sends it.
func linkMessage(t *testing.T, index, flags uint32, oper rtnl.OperState) nl.Message {
	t.Helper()
	l := rtnl.Link{Index: index, Flags: flags, OperState: oper, MTU: 1500, Name: rtnl.MakeName("br0")}
	b, err := l.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: b}
}

// A carrier that comes back reaches the routes when linkwatch runs
// (NETDEV_CHANGE), and linkwatch's own message says so. A bridge that
// gains a port with a carrier sends a message first that shows
// IFF_LOWER_UP while still operationally down (bench/SOAK.md item 5): its
// routes are still linkdown then, and a watcher that cleared them at that
// message, then saw a verification put the flag back, kept it for good,
// since linkwatch's message changed nothing it followed.
func TestRouteSideCarrierReachesRoutesWithLinkwatch(t *testing.T) {
	const br = 5
	const (
		up      = rtnl.LinkUp | rtnl.LinkBroadcast | rtnl.LinkMulticast
		lower   = up | rtnl.LinkLowerUp
		running = lower | rtnl.LinkRunning
	)
	r4 := route(t, "10.97.1.0/24 dev 5 scope link")
	r4.Flags = rtnl.RouteFlagLinkDown
	cases := []struct {
		name string
		msgs []nl.Message // after the link's first message: up, no carrier
		// linkdown after each message
		want []bool
	}{
		{"linkwatch later", []nl.Message{
			linkMessage(t, br, lower, rtnl.OperDown), // br_add_if's, before linkwatch
			linkMessage(t, br, running, rtnl.OperUp), // linkwatch's
		}, []bool{true, false}},
		{"stacked link, lower layer down until linkwatch", []nl.Message{
			linkMessage(t, br, lower, rtnl.OperLowerLayerDown),
			linkMessage(t, br, running, rtnl.OperUp),
		}, []bool{true, false}},
		{"dormant: linkwatch ran, IFF_LOWER_UP counts", []nl.Message{
			linkMessage(t, br, lower, rtnl.OperDormant),
		}, []bool{false}},
		{"linkwatch at once", []nl.Message{
			linkMessage(t, br, running, rtnl.OperUp),
		}, []bool{false}},
		{"carrier on and off before linkwatch", []nl.Message{
			linkMessage(t, br, lower, rtnl.OperDown),
			linkMessage(t, br, up, rtnl.OperDown),
		}, []bool{true, true}},
		{"carrier lost: IFF_RUNNING stays until linkwatch", []nl.Message{
			linkMessage(t, br, running, rtnl.OperUp),
			linkMessage(t, br, up|rtnl.LinkRunning, rtnl.OperUp), // IFF_LOWER_UP gone, linkwatch not run
			linkMessage(t, br, up, rtnl.OperDown),                // linkwatch's
		}, []bool{false, false, true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newRouteSide()
			s.observe(linkMessage(t, br, up, rtnl.OperDown))
			s.settle(nil, nil)
			tab := newRoutes()
			tab.set(r4.Key(), &r4)
			for i, m := range c.msgs {
				s.observe(m)
				s.settle(tab, func(old, cur *rtnl.Route) {})
				got := tab.val(r4.Key()).Flags&rtnl.RouteFlagLinkDown != 0
				if got != c.want[i] {
					t.Errorf("after message %d (flags %#x): linkdown %v, want %v (the kernel's routes follow the carrier when linkwatch runs)",
						i+1, m.Data[8:12], got, c.want[i])
				}
			}
		})
	}
}

// vethMessage is linkMessage for a veth whose peer, in this namespace, is
// link peer.
func vethMessage(t *testing.T, index, peer, flags uint32, oper rtnl.OperState) nl.Message {
	t.Helper()
	l := rtnl.Link{Index: index, Flags: flags, OperState: oper, MTU: 1500, Name: rtnl.MakeName("v"), Kind: rtnl.MakeName("veth"), Link: peer}
	b, err := l.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: b}
}

// A veth's peer goes down and up again before linkwatch runs: the veth's
// carrier bit went and came back (veth_close, veth_open), a route made
// meanwhile is linkdown, and linkwatch's one message for the veth, the same
// as its last, follows a NETDEV_CHANGE that clears the flag
// (fib_netdev_event: fib_sync_up with RTNH_F_LINKDOWN).
func TestRouteSideVethCarrierFlapBeforeLinkwatch(t *testing.T) {
	const v0, v1 = 5, 6
	const (
		up      = rtnl.LinkUp | rtnl.LinkBroadcast | rtnl.LinkMulticast
		lower   = up | rtnl.LinkLowerUp
		running = lower | rtnl.LinkRunning
	)
	s := newRouteSide()
	s.observe(vethMessage(t, v0, v1, running, rtnl.OperUp))
	s.observe(vethMessage(t, v1, v0, running, rtnl.OperUp))
	s.settle(nil, nil)
	r4 := route(t, "198.18.1.0/24 dev 5 scope link")
	r4.Flags = rtnl.RouteFlagLinkDown // made while v0's carrier bit was off
	tab := newRoutes()
	tab.set(r4.Key(), &r4)
	noop := func(old, cur *rtnl.Route) {}

	s.observe(vethMessage(t, v1, v0, rtnl.LinkBroadcast|rtnl.LinkMulticast, rtnl.OperDown)) // v1 down
	s.settle(tab, noop)
	s.observe(vethMessage(t, v1, v0, lower, rtnl.OperDown)) // v1 up, before its linkwatch
	s.settle(tab, noop)
	if tab.val(r4.Key()).Flags&rtnl.RouteFlagLinkDown == 0 {
		t.Fatal("linkdown cleared before v0's linkwatch message")
	}
	s.observe(vethMessage(t, v0, v1, running, rtnl.OperUp)) // linkwatch's, as v0's last
	s.settle(tab, noop)
	if f := tab.val(r4.Key()).Flags; f&rtnl.RouteFlagLinkDown != 0 {
		t.Fatalf("route flags %#x after linkwatch's message: linkdown should be gone (fib_sync_up at NETDEV_CHANGE)", f)
	}
}
