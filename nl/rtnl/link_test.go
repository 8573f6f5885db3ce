package rtnl_test

import (
	"encoding/binary"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// ifinfomsg builds a link message payload by hand, as the kernel sends it.
func ifinfomsg(fam rtnl.Family, index, flags, change uint32, attrs func(e *nl.AttributeEncoder)) []byte {
	b := make([]byte, 16)
	b[0] = byte(fam)
	binary.NativeEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.NativeEndian.PutUint32(b[4:], index)
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	e := nl.NewAttributeEncoder(b)
	if attrs != nil {
		attrs(e)
	}
	b, _ = e.Bytes()
	return b
}

// What a bridge sends about a port (net/bridge/br_netlink.c, br_ifinfo_notify):
// family AF_BRIDGE, the port's name, master, MTU, operstate, address and
// IFLA_LINK, and its port state in IFLA_PROTINFO; no kind, queue length or
// broadcast address. Seen on 6.18 for `ip link set v0 master br0`.
func TestDecodeLinkKeepsTheFamilyOfABridgePortMessage(t *testing.T) {
	b := ifinfomsg(rtnl.FamilyBridge, 3, rtnl.LinkBroadcast|rtnl.LinkMulticast, 0, func(e *nl.AttributeEncoder) {
		e.String(3, "v0") // IFLA_IFNAME
		e.Uint32(10, 6)   // IFLA_MASTER
		e.Uint32(4, 1500) // IFLA_MTU
		e.Uint8(16, 2)    // IFLA_OPERSTATE: down
		e.Raw(1, []byte{2, 0, 0, 0, 0, 1})
		e.Uint32(5, 2)         // IFLA_LINK
		m := e.BeginNested(12) // IFLA_PROTINFO
		e.Uint8(1, 3)          // IFLA_BRPORT_STATE: forwarding
		e.EndNested(m)
	})
	for _, typ := range []uint16{rtnl.TypeNewLink, rtnl.TypeDelLink} {
		l, err := rtnl.DecodeLink(nl.Message{Header: nl.Header{Type: typ}, Data: b})
		if err != nil {
			t.Fatal(err)
		}
		want := rtnl.Link{Family: rtnl.FamilyBridge, Index: 3, Type: 1, Flags: rtnl.LinkBroadcast | rtnl.LinkMulticast,
			Name: rtnl.MakeName("v0"), Master: 6, MTU: 1500, OperState: rtnl.OperDown, Link: 2,
			Address: mustHW(t, "02:00:00:00:00:01")}
		if l != want {
			t.Errorf("type %d:\n got  %+v\n want %+v", typ, l, want)
		}
	}
}

func TestDecodeLinkReadsAliasAndLinkNetNSID(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attrs  func(e *nl.AttributeEncoder)
		alias  string
		nsid   int32
		inNSID bool
	}{
		{name: "peer in this namespace", attrs: func(e *nl.AttributeEncoder) { e.Uint32(5, 2) }},
		{name: "peer in the namespace with id 0", attrs: func(e *nl.AttributeEncoder) {
			e.Uint32(37, 0) // IFLA_LINK_NETNSID
			e.Uint32(5, 2)
		}, inNSID: true},
		{name: "peer in a namespace with no id", attrs: func(e *nl.AttributeEncoder) {
			e.Uint32(37, 0xffffffff) // NETNSA_NSID_NOT_ASSIGNED
			e.Uint32(5, 2)
		}, nsid: -1, inNSID: true},
		{name: "alias", attrs: func(e *nl.AttributeEncoder) { e.String(20, "uplink to rack 4") }, alias: "uplink to rack 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l rtnl.Link
			if err := l.UnmarshalBinary(ifinfomsg(0, 3, 0, 0, tc.attrs)); err != nil {
				t.Fatal(err)
			}
			if l.Alias != tc.alias {
				t.Errorf("Alias %q, want %q", l.Alias, tc.alias)
			}
			if id, ok := l.LinkNetNSID(); id != tc.nsid || ok != tc.inNSID {
				t.Errorf("LinkNetNSID() = %d, %v; want %d, %v", id, ok, tc.nsid, tc.inNSID)
			}
		})
	}
}

func TestLinkRoundTripsFamilyAliasAndLinkNetNSID(t *testing.T) {
	peer := rtnl.Link{Index: 4, Type: 1, Name: rtnl.MakeName("v1"), Kind: rtnl.MakeName("veth"), Link: 9, Alias: "peer"}
	peer.SetLinkNetNSID(0, true)
	port := rtnl.Link{Family: rtnl.FamilyBridge, Index: 3, Type: 1, Name: rtnl.MakeName("v0"), Master: 6}
	for _, l := range []rtnl.Link{peer, port} {
		m, err := l.Message(rtnl.TypeNewLink, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rtnl.DecodeLink(m)
		if err != nil {
			t.Fatal(err)
		}
		if got != l {
			t.Errorf("round trip changed the link:\n got  %+v\n want %+v", got, l)
		}
	}
	var none rtnl.Link
	none.SetLinkNetNSID(5, false)
	if id, ok := none.LinkNetNSID(); id != 0 || ok || none != (rtnl.Link{}) {
		t.Errorf("SetLinkNetNSID(5, false) left %d, %v (%+v)", id, ok, none)
	}
}

// A link moved to another namespace leaves with an RTM_DELLINK that says
// where it went (IFLA_NEW_NETNSID, IFLA_NEW_IFINDEX); a deleted one without.
func TestLinkMovedToReadsTheDestinationOfAMove(t *testing.T) {
	moved := ifinfomsg(0, 2, 0, 0xffffffff, func(e *nl.AttributeEncoder) {
		e.String(3, "v1")
		e.Uint32(45, 1) // IFLA_NEW_NETNSID
		e.Uint32(49, 7) // IFLA_NEW_IFINDEX
		e.Uint32(5, 3)
	})
	deleted := ifinfomsg(0, 2, 0, 0xffffffff, func(e *nl.AttributeEncoder) { e.String(3, "v1") })
	for _, tc := range []struct {
		name  string
		m     nl.Message
		nsid  int32
		index uint32
		ok    bool
	}{
		{"moved", nl.Message{Header: nl.Header{Type: rtnl.TypeDelLink}, Data: moved}, 1, 7, true},
		{"deleted", nl.Message{Header: nl.Header{Type: rtnl.TypeDelLink}, Data: deleted}, 0, 0, false},
		{"not a deletion", nl.Message{Header: nl.Header{Type: rtnl.TypeNewLink}, Data: moved}, 0, 0, false},
		{"short", nl.Message{Header: nl.Header{Type: rtnl.TypeDelLink}, Data: moved[:8]}, 0, 0, false},
	} {
		nsid, index, ok := rtnl.LinkMovedTo(tc.m)
		if nsid != tc.nsid || index != tc.index || ok != tc.ok {
			t.Errorf("%s: LinkMovedTo = %d, %d, %v; want %d, %d, %v", tc.name, nsid, index, ok, tc.nsid, tc.index, tc.ok)
		}
	}
}
