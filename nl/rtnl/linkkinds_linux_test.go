//go:build linux

package rtnl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// The requests for the link kinds are compared (up to attribute order)
// with the ones ip sends for the same command, whether or not this kernel
// has the kind.
func TestLinkKindRequestsMatchIPs(t *testing.T) {
	ns := nstest.New(t)
	ns.IP("link", "add", "p0", "type", "veth", "peer", "name", "p1")
	c := ns.Dial()
	p0, err := rtnl.LinkIndex(testCtx(t), c, "p0")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		info rtnl.LinkInfo
	}{
		{"link add d0 type dummy", rtnl.Dummy{}},
		{"link add ifb0 type ifb", rtnl.IFB{}},
		{"link add wg0 type wireguard", rtnl.WireGuard{}},
		{"link add nk0 type netkit", rtnl.Netkit{}},
		{"link add vrf0 type vrf table 10", rtnl.VRF{Table: 10}},
		{"link add x0 type vxlan id 5 dstport 4789 remote 10.0.0.1 local 10.0.0.2 dev p0 ttl 5",
			rtnl.VXLAN{ID: 5, Port: 4789, Group: addr("10.0.0.1"), Local: addr("10.0.0.2"), Parent: p0, TTL: 5}},
		{"link add x1 type vxlan nolearning external", rtnl.VXLAN{NoLearning: true, External: true}},
		{"link add x2 type vxlan id 7 group 239.1.1.1 dev p0 srcport 1000 2000 ageing 100 maxaddress 50 proxy l2miss l3miss tos 8",
			rtnl.VXLAN{ID: 7, Group: addr("239.1.1.1"), Parent: p0, PortLow: 1000, PortHigh: 2000, Ageing: 100, Limit: 50,
				Proxy: true, L2Miss: true, L3Miss: true, TOS: 8}},
		{"link add x3 type vxlan id 8 remote 2001:db8::1 local 2001:db8::2 dstport 4789 gbp",
			rtnl.VXLAN{ID: 8, Group: addr("2001:db8::1"), Local: addr("2001:db8::2"), Port: 4789, GBP: true}},
		{"link add m0 link p0 type macvlan mode bridge", rtnl.MACVLAN{Parent: p0, Mode: rtnl.MACVLANBridge}},
		{"link add m1 link p0 type macvtap mode passthru nopromisc",
			rtnl.MACVLAN{Parent: p0, Tap: true, Mode: rtnl.MACVLANPassthru, Flags: rtnl.MACVLANNoPromisc}},
		{"link add i0 link p0 type ipvlan mode l3 private", rtnl.IPVLAN{Parent: p0, Mode: rtnl.IPVLANL3, Flags: rtnl.IPVLANPrivate}},
		{"link add t0 type ipip remote 10.0.0.1 local 10.0.0.2", rtnl.IPTunnel{Remote: addr("10.0.0.1"), Local: addr("10.0.0.2")}},
		{"link add t1 type sit remote 10.0.0.1 ttl 7 tos 0x10", rtnl.IPTunnel{Kind: "sit", Remote: addr("10.0.0.1"), TTL: 7, TOS: 0x10}},
		{"link add t3 type ipip remote 10.0.0.1 nopmtudisc", rtnl.IPTunnel{Remote: addr("10.0.0.1"), NoPMTUDisc: true}},
		{"link add t2 type ip6tnl remote 2001:db8::1 local 2001:db8::2",
			rtnl.IPTunnel{Kind: "ip6tnl", Remote: addr("2001:db8::1"), Local: addr("2001:db8::2"), TTL: 64, EncapLimit: 4,
				Encap: rtnl.TunnelEncap{Flags: rtnl.TunnelEncapCsum6}}},
		{"link add g0 type gre remote 10.0.0.1 local 10.0.0.2 key 5", rtnl.GRE{Remote: addr("10.0.0.1"), Local: addr("10.0.0.2"), IKey: 5, OKey: 5}},
		{"link add g1 type gretap remote 10.0.0.1 ttl 9 dev p0 csum", rtnl.GRE{Kind: "gretap", Remote: addr("10.0.0.1"), TTL: 9, Link: p0,
			IFlags: rtnl.GRECsum, OFlags: rtnl.GRECsum}},
		{"link add t5 type ip6tnl remote 2001:db8::1 tclass 0x12 flowlabel 0x345 encaplimit none hoplimit 5",
			rtnl.IPTunnel{Kind: "ip6tnl", Remote: addr("2001:db8::1"), TTL: 5, FlowInfo: 0x12<<20 | 0x345,
				Flags: 0x1, EncapLimit: 4, Encap: rtnl.TunnelEncap{Flags: rtnl.TunnelEncapCsum6}}}, // IP6_TNL_F_IGN_ENCAP_LIMIT
		{"link add gn0 type geneve id 5 remote 10.0.0.1", rtnl.Geneve{ID: 5, Remote: addr("10.0.0.1")}},
		{"link add gn2 type geneve external ttl inherit udpcsum", rtnl.Geneve{External: true, TTLInherit: true, UDPCsum: true}},
		{"link add x4 type vxlan id 9 dstport 4789 ttl inherit noudpcsum rsc", rtnl.VXLAN{ID: 9, Port: 4789, TTLInherit: true, NoUDPCsum: true, RSC: true}},
		{"link add i1 link p0 type ipvlan", rtnl.IPVLAN{Parent: p0}},
		{"link add i2 link p0 type ipvtap mode l3s vepa", rtnl.IPVLAN{Parent: p0, Tap: true, Mode: rtnl.IPVLANL3S, Flags: rtnl.IPVLANVEPA}},
		{"link add m2 link p0 type macvlan mode private bcqueuelen 100", rtnl.MACVLAN{Parent: p0, Mode: rtnl.MACVLANPrivate, BCQueueLen: 100}},
		{"link add g3 type gre remote 10.0.0.1 ikey 1 okey 2 iseq oseq icsum encap fou encap-sport 5555 encap-dport 5556",
			rtnl.GRE{Remote: addr("10.0.0.1"), IKey: 1, OKey: 2, IFlags: rtnl.GRESeq | rtnl.GRECsum, OFlags: rtnl.GRESeq,
				Encap: rtnl.TunnelEncap{Type: 1, SPort: 5555, DPort: 5556}}},
		{"link add t4 type ipip remote 10.0.0.1 dev p0 ttl 10 tos 0x20 fwmark 7 encap gue encap-dport 6000 encap-csum",
			rtnl.IPTunnel{Remote: addr("10.0.0.1"), Link: p0, TTL: 10, TOS: 0x20, FWMark: 7,
				Encap: rtnl.TunnelEncap{Type: 2, DPort: 6000, Flags: rtnl.TunnelEncapCsum}}},
		{"link add gn1 type geneve id 6 remote 2001:db8::1 dstport 6082 ttl 3 tos 4",
			rtnl.Geneve{ID: 6, Remote: addr("2001:db8::1"), Port: 6082, TTL: 3, TOS: 4}},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			name := strings.Fields(tc.ip)[2]
			if strings.Fields(tc.ip)[2] == "link" {
				name = strings.Fields(tc.ip)[4]
			}
			got, err := rtnl.NewLinkRequest(rtnl.Link{Name: rtnl.MakeName(name)}, tc.info)
			if err != nil {
				t.Fatal(err)
			}
			want := ipRequest(t, ns, strings.Fields(tc.ip)...)
			if got, want := renderLinkRequest(got), renderLinkRequest(want); got != want {
				t.Errorf("request differs from ip's:\n got  %s\n ip's %s", got, want)
			}
		})
	}
}

// The kinds this kernel has are created through the library, read back
// and decoded (Link.Info), and compared with what ip -d shows; the others
// are skipped, naming their module.
func TestAddLinkKindsDecodeAsIPShows(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddVeth(ctx, c, "p0", "p1"); err != nil {
		t.Fatal(err)
	}
	p0, err := rtnl.LinkIndex(ctx, c, "p0")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		info   rtnl.LinkInfo // to create
		module string        // that provides the kind, for the skip message
		want   rtnl.LinkInfo // as Info decodes the kernel's report
		ip     map[string]any
	}{
		{name: "d0", info: rtnl.Dummy{}, module: "dummy", want: rtnl.Dummy{}},
		{name: "ifb0", info: rtnl.IFB{}, module: "ifb", want: rtnl.IFB{}},
		{name: "wg0", info: rtnl.WireGuard{}, module: "wireguard", want: rtnl.WireGuard{}},
		{name: "vrf0", info: rtnl.VRF{Table: 10}, module: "vrf", want: rtnl.VRF{Table: 10}, ip: map[string]any{"table": 10}},
		{name: "x0", module: "vxlan",
			info: rtnl.VXLAN{ID: 5, Port: 4789, Group: addr("10.0.0.1"), Local: addr("10.0.0.2"), Parent: p0, TTL: 5, TOS: 8, Ageing: 100, Limit: 7, L2Miss: true},
			want: rtnl.VXLAN{ID: 5, Port: 4789, Group: addr("10.0.0.1"), Local: addr("10.0.0.2"), Parent: p0, TTL: 5, TOS: 8, Ageing: 100, Limit: 7, L2Miss: true},
			ip: map[string]any{"id": 5, "remote": "10.0.0.1", "local": "10.0.0.2", "link": "p0", "port": 4789, "ttl": 5, "ageing": 100,
				"limit": 7, "learning": true, "l2miss": true, "udp_csum": true}},
		{name: "x1", module: "vxlan",
			info: rtnl.VXLAN{ID: 6, Group: addr("10.0.0.1"), NoLearning: true, PortLow: 1000, PortHigh: 2000, NoUDPCsum: true, TTLInherit: true},
			want: rtnl.VXLAN{ID: 6, Group: addr("10.0.0.1"), NoLearning: true, PortLow: 1000, PortHigh: 2000, NoUDPCsum: true, TTLInherit: true, Port: 8472, Ageing: 300},
			ip:   map[string]any{"id": 6, "remote": "10.0.0.1", "learning": false, "port": 8472, "udp_csum": false}}, // ip -j shows no ttl for inherit
		{name: "x3", module: "vxlan", info: rtnl.VXLAN{ID: 9, Group: addr("2001:db8::1"), Local: addr("2001:db8::2"), GBP: true, Label: 0x12345},
			want: rtnl.VXLAN{ID: 9, Group: addr("2001:db8::1"), Local: addr("2001:db8::2"), GBP: true, Label: 0x12345, Port: 8472, Ageing: 300},
			ip:   map[string]any{"id": 9, "remote6": "2001:db8::1", "local6": "2001:db8::2", "gbp": true, "label": "0x12345"}},
		{name: "x2", module: "vxlan", info: rtnl.VXLAN{External: true},
			want: rtnl.VXLAN{External: true, Port: 8472, Ageing: 300}, ip: map[string]any{"external": true}},
		{name: "m0", module: "macvlan", info: rtnl.MACVLAN{Parent: p0, Mode: rtnl.MACVLANBridge, BCQueueLen: 500},
			want: rtnl.MACVLAN{Parent: p0, Mode: rtnl.MACVLANBridge, BCQueueLen: 500}, ip: map[string]any{"mode": "bridge", "bcqueuelen": 500}},
		{name: "m1", module: "macvtap", info: rtnl.MACVLAN{Parent: p0, Tap: true, Mode: rtnl.MACVLANPassthru, Flags: rtnl.MACVLANNoPromisc},
			want: rtnl.MACVLAN{Parent: p0, Tap: true, Mode: rtnl.MACVLANPassthru, Flags: rtnl.MACVLANNoPromisc, BCQueueLen: 1000},
			ip:   map[string]any{"mode": "passthru", "nopromisc": true, "bcqueuelen": 1000}},
		{name: "i0", module: "ipvlan", info: rtnl.IPVLAN{Parent: p0, Mode: rtnl.IPVLANL3, Flags: rtnl.IPVLANPrivate},
			want: rtnl.IPVLAN{Parent: p0, Mode: rtnl.IPVLANL3, Flags: rtnl.IPVLANPrivate}, ip: map[string]any{"mode": "l3", "private": true}},
		{name: "t0", module: "ipip", info: rtnl.IPTunnel{Remote: addr("10.0.0.1"), Local: addr("10.0.0.2"), TTL: 9},
			want: rtnl.IPTunnel{Kind: "ipip", Remote: addr("10.0.0.1"), Local: addr("10.0.0.2"), TTL: 9, Proto: unix.IPPROTO_IPIP},
			ip:   map[string]any{"remote": "10.0.0.1", "local": "10.0.0.2", "ttl": 9, "pmtudisc": true}},
		{name: "g0", module: "ip_gre", info: rtnl.GRE{Kind: "gretap", Remote: addr("10.0.0.1"), IKey: 5, OKey: 6},
			want: rtnl.GRE{Kind: "gretap", Remote: addr("10.0.0.1"), IKey: 5, OKey: 6, IFlags: rtnl.GREKey, OFlags: rtnl.GREKey},
			ip:   map[string]any{"remote": "10.0.0.1", "ikey": "0.0.0.5", "okey": "0.0.0.6"}},
		{name: "gn0", module: "geneve", info: rtnl.Geneve{ID: 5, Remote: addr("10.0.0.1"), TTL: 3},
			want: rtnl.Geneve{ID: 5, Remote: addr("10.0.0.1"), TTL: 3, Port: 6081}, ip: map[string]any{"id": 5, "remote": "10.0.0.1", "ttl": 3, "port": 6081}},
		{name: "nk0", module: "netkit", info: rtnl.Netkit{Peer: rtnl.Link{Name: rtnl.MakeName("nk1")}, PeerPolicy: rtnl.NetkitDrop},
			want: rtnl.Netkit{Primary: true, PeerPolicy: rtnl.NetkitDrop}, ip: map[string]any{"mode": "l3", "type": "primary"}},
	} {
		t.Run(tc.info.LinkKind()+" "+tc.name, func(t *testing.T) {
			err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName(tc.name)}, tc.info)
			skipMissingKind(t, err, tc.info.LinkKind(), tc.module)
			if err != nil {
				t.Fatal(err)
			}
			l, err := rtnl.LinkByName(ctx, c, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Info()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Info of the kernel's report:\n got  %+v\n want %+v\n data % x", got, tc.want, l.InfoData())
			}
			j := ipLinkJSON(t, ns, tc.name)
			if li, _ := j["linkinfo"].(map[string]any); str(li["info_kind"]) != tc.info.LinkKind() {
				t.Errorf("ip shows kind %v, want %s", li["info_kind"], tc.info.LinkKind())
			}
			want := map[string]any{}
			for k, v := range tc.ip {
				want["data:"+k] = v
			}
			checkIPLink(t, tc.name, j, want)
			if t.Failed() {
				t.Logf("ip's info_data: %v", infoData(j))
			}
			if err := rtnl.DeleteLink(ctx, c, l.Index); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Tun and tap devices are made through /dev/net/tun in the namespace, and
// their IFLA_TUN_* attributes decode as ip shows them.
func TestTunLinksAddAndDecodeAsIPShows(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		tun  rtnl.Tun
		want rtnl.Tun
		ip   map[string]any
	}{
		{"tun0", rtnl.Tun{}, rtnl.Tun{Persist: true},
			map[string]any{"type": "tun", "pi": false, "vnet_hdr": false, "multi_queue": false, "persist": true}},
		{"tap0", rtnl.Tun{Tap: true, PI: true, VNetHdr: true, Owner: 4242, HasOwner: true, Group: 4243, HasGroup: true},
			rtnl.Tun{Tap: true, PI: true, VNetHdr: true, Persist: true, Owner: 4242, HasOwner: true, Group: 4243, HasGroup: true},
			map[string]any{"type": "tap", "pi": true, "vnet_hdr": true, "persist": true, "user": 4242, "group": 4243}},
		{"tap1", rtnl.Tun{Tap: true, MultiQueue: true}, rtnl.Tun{Tap: true, MultiQueue: true, Persist: true},
			map[string]any{"type": "tap", "multi_queue": true, "numqueues": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ns.Do(func() error { return rtnl.AddTun(tc.name, tc.tun) })
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
				t.Skipf("the kernel has no tun devices: module tun not available (%v)", err)
			}
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				t.Skipf("no permission to open /dev/net/tun (root's, or a user's with access to the device, needed): %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			l, err := rtnl.LinkByName(ctx, c, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Info()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Info: %+v, want %+v", got, tc.want)
			}
			j := ipLinkJSON(t, ns, tc.name)
			want := map[string]any{}
			for k, v := range tc.ip {
				want["data:"+k] = v
			}
			checkIPLink(t, tc.name, j, want)
			if t.Failed() {
				t.Logf("ip's info_data: %v", infoData(j))
			}
			if err := rtnl.DeleteLink(ctx, c, l.Index); err != nil {
				t.Fatal(err)
			}
		})
	}
	// OpenTun's device lives as long as its file.
	var f interface{ Close() error }
	if err := ns.Do(func() (err error) { f, err = rtnl.OpenTun("tun9", rtnl.Tun{}); return err }); err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			t.Skipf("no permission to open /dev/net/tun (root's, or a user's with access to the device, needed): %v", err)
		}
		t.Fatal(err)
	}
	if ipLinkJSON(t, ns, "tun9") == nil {
		t.Error("OpenTun's device is not there")
	}
	f.Close()
	if ipLinkJSON(t, ns, "tun9") != nil {
		t.Error("OpenTun's device outlived its file")
	}
	if _, err := rtnl.NewLinkRequest(rtnl.Link{Name: rtnl.MakeName("tun1")}, rtnl.Tun{}); err == nil {
		t.Error("NewLinkRequest took a Tun")
	}
	if err := rtnl.AddTun("sixteen-bytes-xx", rtnl.Tun{}); err == nil {
		t.Error("AddTun took a 16-byte name")
	}
	var ne *nl.Error
	if err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName("tun2")}, rtnl.RawLinkInfo{Kind: "tun"}); !errors.Is(err, unix.EOPNOTSUPP) || !errors.As(err, &ne) {
		t.Errorf("the kernel took a tun in RTM_NEWLINK: %v", err)
	}
}

// What Info decodes from the kernel's report is a request the kernel
// takes: a link copied from a dump has the same options (the VXLAN with
// the next VNI, which must be unique).
func TestLinkKindCopiedFromADump(t *testing.T) {
	ns := nstest.New(t)
	c := ns.Dial()
	ctx := testCtx(t)
	if err := rtnl.AddVeth(ctx, c, "p0", "p1"); err != nil {
		t.Fatal(err)
	}
	p0, err := rtnl.LinkIndex(ctx, c, "p0")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, module string
		info         rtnl.LinkInfo
		next         func(rtnl.LinkInfo) rtnl.LinkInfo
	}{
		{"x0", "vxlan", rtnl.VXLAN{ID: 5, Port: 4789, Group: addr("239.1.1.1"), Parent: p0, TTL: 3, NoLearning: true,
			PortLow: 100, PortHigh: 200, Ageing: 60, Proxy: true},
			func(i rtnl.LinkInfo) rtnl.LinkInfo { v := i.(rtnl.VXLAN); v.ID++; return v }},
		{"x1", "vxlan", rtnl.VXLAN{ID: 7, Group: addr("2001:db8::1"), TTLInherit: true, NoUDPCsum: true},
			func(i rtnl.LinkInfo) rtnl.LinkInfo { v := i.(rtnl.VXLAN); v.ID++; return v }},
		{"m0", "macvlan", rtnl.MACVLAN{Parent: p0, Mode: rtnl.MACVLANBridge, BCQueueLen: 10}, nil},
		{"br0", "bridge", rtnl.Bridge{STP: true}, nil},
	} {
		t.Run(tc.info.LinkKind()+" "+tc.name, func(t *testing.T) {
			err := rtnl.AddLink(ctx, c, rtnl.Link{Name: rtnl.MakeName(tc.name)}, tc.info)
			skipMissingKind(t, err, tc.info.LinkKind(), tc.module)
			if err != nil {
				t.Fatal(err)
			}
			l, err := rtnl.LinkByName(ctx, c, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			info, err := l.Info()
			if err != nil {
				t.Fatal(err)
			}
			if tc.next != nil {
				info = tc.next(info)
			}
			tmpl := l
			tmpl.Index, tmpl.Name, tmpl.Address, tmpl.Flags, tmpl.Change = 0, rtnl.MakeName(tc.name+"c"), rtnl.HardwareAddr{}, 0, 0
			if err := rtnl.AddLink(ctx, c, tmpl, info); err != nil {
				t.Fatalf("AddLink of the decoded %+v: %v", info, err)
			}
			cp, err := rtnl.LinkByName(ctx, c, tc.name+"c")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := cp.Info(); err != nil || got != info {
				t.Errorf("the copy's Info: %+v, %v; want %+v", got, err, info)
			}
		})
	}
}
