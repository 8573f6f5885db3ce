//go:build linux

package rtnl_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// TestWriteFuzzCorpus captures real kernel messages of every kind the fuzz
// targets decode and writes them as seed corpus files under testdata/fuzz.
// It runs only when NLRX_WRITE_CORPUS=1:
//
//	NLRX_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./nl/rtnl/
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("link", "add", "br0", "type", "bridge")
	ns.IP("link", "add", "v2", "type", "veth", "peer", "name", "v3")
	ns.IP("link", "set", "v2", "master", "br0", "mtu", "9000", "group", "3")
	ns.IP("link", "property", "add", "dev", "v0", "altname", "v0-alternative-name")
	ns.IP("addr", "add", "10.0.0.1/24", "dev", "v0", "label", "v0:x")
	ns.IP("addr", "add", "10.0.9.1", "peer", "10.0.9.2/32", "dev", "v1")
	ns.IP("addr", "add", "10.0.1.1/24", "dev", "v1")
	ns.IP("addr", "add", "2001:db8::1/64", "dev", "v0", "nodad", "valid_lft", "600", "preferred_lft", "300")
	ns.IP("addr", "add", "2001:db8:1::1/64", "dev", "v1", "nodad")
	ns.IP("addr", "add", "2001:db8:7::1/64", "dev", "v1", "nodad", "noprefixroute")
	ns.Batch([]string{
		"route add 10.9.0.0/24 via 10.0.0.2 proto static metric 5 mtu lock 1400 advmss 1300 congctl cubic",
		"route add 10.9.1.0/24 nexthop via 10.0.0.2 dev v0 weight 2 nexthop via 10.0.1.2 dev v1",
		"route add blackhole 10.9.2.0/24 table 1000",
		"route add 10.9.3.0/24 via inet6 2001:db8::2 dev v0",
		"route add 10.9.4.1 dev v0 src 10.0.0.1 tos 0x10",
		"route add 10.9.5.0/24 via 10.0.0.2 onlink dev v0 realm 5",
		"route add 2001:db8:9::/64 nexthop via 2001:db8::2 dev v0 nexthop via 2001:db8:1::2 dev v1 weight 4",
		"route add 2001:db8:a::/64 via 2001:db8::2 pref high expires 300",
		"route add unreachable 2001:db8:b::/48 table 300 metric 1",
		"route add 2001:db8:c::/64 from 2001:db8:d::/64 via 2001:db8::3",
		"neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev v0",
		"neigh add 10.0.0.8 lladdr 02:00:00:00:00:08 dev v0 nud stale",
		"neigh add fe80::7 lladdr 02:00:00:00:00:0a dev v1 router",
		"neigh add proxy 10.0.0.99 dev v0",
		"rule add pref 100 from 10.0.0.0/8 to 192.0.2.0/24 tos 0x10 table 1000",
		"rule add pref 101 not fwmark 0x10/0xff iif v0 oif nosuch table main suppress_prefixlength 0 suppress_ifgroup 3",
		"rule add pref 102 uidrange 100-200 ipproto tcp sport 1-1023 dport 443 proto static table 7",
		"rule add pref 103 tun_id 7 goto 999",
		"rule add pref 104 l3mdev",
		"rule add pref 105 from 10.1.0.0/16 realms 3/4 blackhole",
		"rule add pref 106 from 10.2.0.0/16 to 10.3.0.1 prohibit",
		"rule add pref 107 nop",
	})
	c := ns.Dial()
	ctx := testCtx(t)

	dump := func(typ uint16, payload []byte) []nl.Message {
		ms, err := c.Execute(ctx, nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagDump}, Data: payload})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	write := func(target string, ms []nl.Message, max int) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		n := 0
		for _, m := range ms {
			sum := sha256.Sum256(m.Data)
			if seen[string(sum[:])] || n == max {
				continue
			}
			seen[string(sum[:])] = true
			n++
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m.Data)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d seeds from %d messages", target, n, len(ms))
	}
	write("FuzzDecodeRoute", dump(rtnl.TypeGetRoute, make([]byte, 12)), 40)
	write("FuzzDecodeLink", dump(rtnl.TypeGetLink, make([]byte, 16)), 10)
	write("FuzzDecodeIfStats", dump(rtnl.TypeGetStats, rtnl.StatsRequest(0, rtnl.StatsLink64|rtnl.StatsAFSpec).Data), 5)
	write("FuzzDecodeAddress", dump(rtnl.TypeGetAddress, make([]byte, 8)), 20)
	write("FuzzDecodeNeighbor", append(dump(rtnl.TypeGetNeighbor, make([]byte, 12)),
		dump(rtnl.TypeGetNeighbor, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, rtnl.NeighFlagProxy, 0})...), 20)
	write("FuzzDecodeRule", dump(rtnl.TypeGetRule, make([]byte, 12)), 20)

	// Namespace ids: two peers with ids, dumped from ns and, with
	// NETNSA_TARGET_NSID, from the first peer (entries with a current id).
	peers := []*nstest.NS{nstest.New(t), nstest.New(t)}
	for i, p := range peers {
		if err := rtnl.SetNSID(ctx, c, rtnl.NSPeerFD(p.FD()), int32(5+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rtnl.SetNSID(ctx, peers[0].Dial(), rtnl.NSPeerFD(peers[1].FD()), 9); err != nil {
		t.Fatal(err)
	}
	target := rtnl.NSID{ID: rtnl.NSIDNotAssigned, Target: 5, HasTarget: true}
	inTarget, err := target.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	write("FuzzDecodeNSID", append(dump(rtnl.TypeGetNSID, make([]byte, 4)), dump(rtnl.TypeGetNSID, inTarget)...), 10)
}

// TestWriteLinkInfoCorpus captures the kernel's messages about links of
// the kinds it has here (the others are built in FuzzDecodeLinkInfo) and
// writes them as seeds of FuzzDecodeLinkInfo. It runs only when
// NLRX_WRITE_CORPUS=1, as TestWriteFuzzCorpus.
func TestWriteLinkInfoCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.Batch([]string{
		"link add br0 type bridge stp_state 1",
		"link add x0 type vxlan id 5 dstport 4789 remote 10.0.0.1 local 10.0.0.2 dev v0 ttl 5",
		"link add x1 type vxlan id 6 remote 2001:db8::1 nolearning srcport 1000 2000 dstport 8472",
		"link add x2 type vxlan external dstport 4789",
		"link add m0 link v0 type macvlan mode bridge",
		"link add m1 link v1 type macvtap mode passthru nopromisc",
		"link add ifb0 type ifb",
		"tuntap add t0 mode tun",
		"tuntap add t1 mode tap multi_queue user 4242 vnet_hdr",
	})
	c := ns.Dial()
	ms, err := c.Execute(testCtx(t), nl.Message{Header: nl.Header{Type: rtnl.TypeGetLink, Flags: nl.FlagDump}, Data: make([]byte, 16)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeLinkInfo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		var l rtnl.Link
		if l.UnmarshalBinary(m.Data) != nil || l.Kind.IsZero() || l.Kind.Is("veth") {
			continue
		}
		sum := sha256.Sum256(m.Data)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m.Data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	t.Logf("FuzzDecodeLinkInfo: %d seeds from %d messages", n, len(ms))
}
