//go:build linux

package rtnl_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// ipRequest runs ip with args under strace in ns and returns the
// RTM_NEWLINK request it sent, whether or not the kernel accepted it. So
// the requests for link kinds this kernel lacks (vlan, bond) can still be
// compared with ip's.
func ipRequest(t *testing.T, ns *nstest.NS, args ...string) nl.Message {
	t.Helper()
	return toolRequest(t, ns, rtnl.TypeNewLink, "ip", args...)
}

// toolRequest runs tool (ip, bridge) with args under strace in ns and
// returns the first request of type typ it sent, whether or not the
// kernel accepted it.
func toolRequest(t *testing.T, ns *nstest.NS, typ uint16, tool string, args ...string) nl.Message {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatal("strace is needed to capture the requests of " + tool + " (apt-get install strace; .ci/run installs it)")
	}
	cmd := ns.Cmd("strace", append([]string{"-qq", "-e", "trace=sendmsg", "-e", "write=all", tool}, args...)...)
	out, _ := cmd.CombinedOutput() // the tool fails for what the kernel lacks; the request was still sent
	var dumps [][]byte
	var cur []byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " | ") || len(line) < 58 {
			if cur != nil {
				dumps, cur = append(dumps, cur), nil
			}
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(line[10:58], " ", ""))
		if err != nil {
			t.Fatalf("strace hex dump line %q: %v", line, err)
		}
		cur = append(cur, b...)
	}
	if cur != nil {
		dumps = append(dumps, cur)
	}
	for _, d := range dumps {
		var m nl.Message
		if err := m.UnmarshalBinary(d); err == nil && m.Header.Type == typ {
			return m
		}
	}
	t.Fatalf("no request of type %d in the strace output of %s %s:\n%s", typ, tool, strings.Join(args, " "), out)
	return nl.Message{}
}

// attrTree renders an attribute list for comparison: attributes sorted by
// type, the NLA_F_NESTED flag ignored (ip does not set it), the lists
// inside IFLA_LINKINFO and IFLA_INFO_DATA rendered in turn, and
// IFLA_INFO_KIND without the NUL that ip leaves out (the kernel takes the
// kind either way).
func attrTree(b []byte, depth int) string {
	d := nl.NewAttributeDecoder(b)
	var parts []string
	for d.Next() {
		nested := (depth == 0 && d.Type() == 18) || (depth == 1 && d.Type() == 2)
		if nested {
			parts = append(parts, fmt.Sprintf("%d{%s}", d.Type(), attrTree(d.Bytes(), depth+1)))
		} else if depth == 2 && d.Type() == 1 && d.Len() >= 16 {
			// VETH_INFO_PEER: a struct ifinfomsg, then the peer's attributes.
			parts = append(parts, fmt.Sprintf("1{%x %s}", d.Bytes()[:16], attrTree(d.Bytes()[16:], 3)))
		} else if depth == 1 && d.Type() == 1 {
			parts = append(parts, fmt.Sprintf("%d=%x", d.Type(), bytes.TrimRight(d.Bytes(), "\x00")))
		} else {
			parts = append(parts, fmt.Sprintf("%d=%x", d.Type(), d.Bytes()))
		}
	}
	if d.Err() != nil {
		parts = append(parts, "error: "+d.Err().Error())
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func renderLinkRequest(m nl.Message) string {
	if len(m.Data) < 16 {
		return fmt.Sprintf("short payload % x", m.Data)
	}
	// Flags without NLM_F_ACK, which nl.Conn adds when it sends.
	return fmt.Sprintf("flags=%#x ifinfomsg=%x attrs: %s", m.Header.Flags&^nl.FlagAck, m.Data[:16], attrTree(m.Data[16:], 0))
}

// The link requests are compared byte for byte (up to attribute order) with
// the ones ip sends for the same command, including for kinds the kernel
// here lacks.
func TestLinkRequestsMatchIPs(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "add", "p0", "type", "veth", "peer", "name", "p1")
	c := ns.Dial()
	ctx := testCtx(t)
	p0, err := rtnl.LinkIndex(ctx, c, "p0")
	if err != nil {
		t.Fatal(err)
	}
	newLink := func(l rtnl.Link, info rtnl.LinkInfo) nl.Message {
		m, err := rtnl.NewLinkRequest(l, info)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	setLink := func(s ...rtnl.LinkSetting) nl.Message {
		m, err := rtnl.SetLinkRequest(p0, s...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	name := func(s string) rtnl.Name { return rtnl.MakeName(s) }
	for _, tc := range []struct {
		ip  string
		req nl.Message
	}{
		{"link add link p0 name p0.10 type vlan id 10",
			newLink(rtnl.Link{Name: name("p0.10")}, rtnl.VLAN{Parent: p0, ID: 10})},
		{"link add link p0 name p0.11 type vlan id 11 protocol 802.1ad",
			newLink(rtnl.Link{Name: name("p0.11")}, rtnl.VLAN{Parent: p0, ID: 11, Protocol: rtnl.VLAN8021AD})},
		{"link add va type veth peer name vb",
			newLink(rtnl.Link{Name: name("va")}, rtnl.Veth{Peer: rtnl.Link{Name: name("vb")}})},
		{"link add vc mtu 1400 type veth peer name vd address 02:00:00:00:00:0d",
			newLink(rtnl.Link{Name: name("vc"), MTU: 1400}, rtnl.Veth{Peer: rtnl.Link{Name: name("vd"), Address: mustHW(t, "02:00:00:00:00:0d")}})},
		{"link add bond0 type bond mode active-backup miimon 100",
			newLink(rtnl.Link{Name: name("bond0")}, rtnl.Bond{Mode: rtnl.BondActiveBackup, MIIMon: 100})},
		{"link add bond1 type bond mode 802.3ad",
			newLink(rtnl.Link{Name: name("bond1")}, rtnl.Bond{Mode: rtnl.Bond8023AD})},
		{"link add br0 type bridge stp_state 1",
			newLink(rtnl.Link{Name: name("br0")}, rtnl.Bridge{STP: true})},
		{"link add br1 mtu 1400 txqueuelen 10 type bridge",
			newLink(rtnl.Link{Name: name("br1"), MTU: 1400, TxQLen: 10}, rtnl.Bridge{})},
		{"link add br2 up type bridge",
			newLink(rtnl.Link{Name: name("br2"), Flags: rtnl.LinkUp}, rtnl.Bridge{})},
		{"link set dev p0 up mtu 1400 promisc on arp off",
			setLink(rtnl.Up(), rtnl.WithMTU(1400), rtnl.Promisc(true), rtnl.ARP(false))},
		{"link set dev p0 down multicast off allmulticast on txqueuelen 0 group 3",
			setLink(rtnl.Down(), rtnl.Multicast(false), rtnl.AllMulticast(true), rtnl.WithTxQueueLen(0), rtnl.WithGroup(3))},
		{"link set dev p0 nomaster",
			setLink(rtnl.NoMaster())},
		{"link set dev p0 address 02:00:00:00:00:01 name q0", // last: p0 is q0 from now on
			setLink(rtnl.WithHardwareAddr(mustHW(t, "02:00:00:00:00:01")), rtnl.WithName("q0"))},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			want := ipRequest(t, ns, strings.Fields(tc.ip)...)
			if got, want := renderLinkRequest(tc.req), renderLinkRequest(want); got != want {
				t.Errorf("request differs from ip's:\n got  %s\n ip's %s", got, want)
			}
		})
	}
}

// The bytes of IFLA_INFO_DATA, for kinds whose attributes have a fixed
// layout.
func TestLinkInfoDataEncoding(t *testing.T) {
	for _, tc := range []struct {
		info rtnl.LinkInfo
		want []byte
	}{
		{rtnl.VLAN{Parent: 1, ID: 10}, []byte{6, 0, 1, 0, 10, 0, 0, 0}},
		{rtnl.VLAN{Parent: 1, ID: 4094, Protocol: rtnl.VLAN8021Q}, []byte{6, 0, 1, 0, 0xfe, 0x0f, 0, 0, 6, 0, 5, 0, 0x81, 0x00, 0, 0}},
		{rtnl.Bond{Mode: rtnl.BondBalanceALB}, []byte{5, 0, 1, 0, 6, 0, 0, 0}},
		{rtnl.Bridge{}, nil},
	} {
		var e nl.AttributeEncoder
		if err := tc.info.AppendLinkData(&e); err != nil {
			t.Fatal(err)
		}
		got, _ := e.Bytes()
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%T %+v: % x, want % x", tc.info, tc.info, got, tc.want)
		}
	}
	for _, bad := range []rtnl.LinkInfo{rtnl.VLAN{Parent: 1, ID: 4095}, rtnl.Bond{Mode: 7}} {
		var e nl.AttributeEncoder
		if err := bad.AppendLinkData(&e); err == nil {
			t.Errorf("%T %+v accepted", bad, bad)
		}
	}
	if _, err := rtnl.NewLinkRequest(rtnl.Link{Name: rtnl.MakeName("v")}, rtnl.VLAN{ID: 1}); err == nil {
		t.Error("VLAN without a parent accepted")
	}
	if _, err := rtnl.SetLinkRequest(0, rtnl.Up()); err == nil {
		t.Error("SetLinkRequest without an index accepted")
	}
	if _, err := rtnl.SetLinkRequest(1, rtnl.WithName("sixteen-bytes-xx")); err == nil {
		t.Error("SetLinkRequest with a 16-byte name accepted")
	}
	if s := rtnl.Bond8023AD.String() + " " + rtnl.BondMode(9).String(); s != "802.3ad 9" {
		t.Errorf("BondMode strings: %q", s)
	}
}
