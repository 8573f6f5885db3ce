//go:build linux

package rtnl_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The text and JSON forms of every value, compared with what ip(8) and
// bridge(8) print for the same kernel state: the text line for line (as
// multisets, with whitespace and ip's line breaks folded), the JSON object
// field for field.

// formsNS makes a namespace with links, addresses, routes, nexthops,
// neighbours and forwarding entries of many shapes: a veth pair v0–v1; a
// pair v2–v3 whose v3 is down, so that v2 is up without a carrier and its
// routes are linkdown; v3 in bridge br0. No link has an IPv6 link-local
// address (addrgenmode none), so that nothing changes on its own between
// two dumps.
func formsNS(t *testing.T) *nstest.NS {
	t.Helper()
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("link", "add", "v2", "type", "veth", "peer", "name", "v3")
	ns.IP("link", "add", "br0", "type", "bridge")
	for _, l := range []string{"v2", "v3", "br0"} {
		ns.IP("link", "set", l, "addrgenmode", "none")
	}
	ns.Batch([]string{
		"link set v3 master br0",
		"link set v2 up mtu 9000 txqueuelen 50 group 7",
		"link set v1 alias uplink-port",
		"link property add dev v0 altname v0-alt altname an-alternative-name-longer-than-ifnamsiz",
		"link property add dev br0 altname bridge-zero",

		"addr add 10.0.0.1/24 brd + dev v0",
		"addr add 10.0.0.2/24 dev v0 label v0:lab",
		"addr add 10.0.0.5 peer 10.0.0.6/32 dev v0",
		"addr add 2001:db8::1/64 dev v0 nodad",
		"addr add 2001:db8:1::1/64 dev v1 nodad",
		"addr add 192.0.2.1/24 dev v1 valid_lft 4000 preferred_lft 3000",
		"addr add 10.1.0.1/24 dev v1 metric 20 noprefixroute",
		"addr add 10.2.0.1/24 dev v2",
		"addr add 2001:db8:2a::1/64 dev v2 nodad",

		"route add 10.9.0.0/24 nexthop via 10.0.0.2 dev v0 weight 2 nexthop via 10.0.0.3 dev v0",
		"route add blackhole 10.8.0.0/24 table 77 mtu lock 1400 rtt 10ms",
		"route add unreachable 10.8.1.0/24",
		"route add prohibit 10.8.2.0/24 table default proto static",
		"route add throw 10.8.3.0/24 table 1000 metric 5",
		"route add 10.7.0.0/24 via inet6 2001:db8::2 dev v0",
		"route add 10.6.0.0/24 via 10.0.0.2 dev v0 src 10.0.0.1 metric 7 proto bgp advmss 1300 hoplimit 64 congctl cubic features ecn initcwnd 10",
		"route add 10.5.0.0/16 via 192.0.2.9 dev v0 onlink",
		"route add 10.4.0.0/24 tos 0x10 dev v0",
		"route add 10.2.9.0/24 via 10.2.0.9 dev v2",
		"route add 2001:db8:2::/64 via 2001:db8::2 dev v0 proto ra pref high expires 300",
		"route add 2001:db8:3::/64 nexthop via 2001:db8::2 dev v0 nexthop via 2001:db8:1::2 dev v1 weight 3",
		"route add unreachable 2001:db8:dead::/48",
		"route add blackhole 2001:db8:beef::/48 table 77",
		"route add 2001:db8:6::/64 dev v1 mtu 1300 table 77",
		"route add 2001:db8:2b::/64 via 2001:db8:2a::9 dev v2 metric 9",

		"nexthop add id 1 via 10.0.0.2 dev v0",
		"nexthop add id 2 blackhole",
		"nexthop add id 3 group 1",
		"nexthop add id 5 via 2001:db8::2 dev v0 proto static",
		"nexthop add id 6 group 5",
		"route add 10.3.0.0/24 nhid 1",
		"route add 10.3.1.0/24 nhid 3",
		"route add 2001:db8:30::/64 nhid 6",

		"neigh add 10.0.0.7 lladdr 02:00:00:00:00:07 dev v0",
		"neigh add 10.0.0.8 lladdr 02:00:00:00:00:08 dev v0 nud stale",
		"neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev v0 nud reachable",
		"neigh add 10.0.0.10 dev v0 nud failed",
		"neigh add 2001:db8::7 lladdr 02:00:00:00:00:0a dev v0 router nud permanent",
		"neigh add proxy 10.0.0.50 dev v0",
		"neigh add proxy 2001:db8::50 dev v0",
	})
	// Optional kernel features: VLAN filtering bridges
	// (CONFIG_BRIDGE_VLAN_FILTERING, for an entry of a vlan), resilient
	// groups (Linux 5.13), source routes (CONFIG_IPV6_SUBTREES).
	for _, l := range [][]string{
		{"link", "set", "br0", "type", "bridge", "vlan_filtering", "1"},
		{"nexthop", "add", "id", "4", "group", "1", "type", "resilient", "buckets", "8", "idle_timer", "60"},
		{"-6", "route", "add", "2001:db8:4::/64", "from", "2001:db8:5::/48", "via", "2001:db8::2", "dev", "v0"},
	} {
		if _, err := ns.TryIP(l...); err != nil {
			t.Logf("not compared: %v", err)
		}
	}
	for _, l := range [][]string{
		{"fdb", "add", "02:00:00:00:00:31", "dev", "v3", "master", "static"},
		{"fdb", "add", "02:00:00:00:00:32", "dev", "v3", "master", "vlan", "1"},
		{"fdb", "add", "02:00:00:00:00:33", "dev", "v3", "self", "permanent"},
	} {
		if out, err := ns.Cmd("bridge", l...).CombinedOutput(); err != nil {
			t.Logf("not compared: bridge %s: %v: %s", strings.Join(l, " "), err, out)
		}
	}
	settleLinks(t, ns)
	return ns
}

var (
	lineBreak = regexp.MustCompile(`\\\s*|\s*\n\s+`)
	spaces    = regexp.MustCompile(`\s+`)
	// Words of ip's text that no value holds: the queueing discipline, the
	// link mode, M-DOWN (the state of a link's peer); the expiry and
	// lifetimes, which count down between two dumps.
	ipOnly     = regexp.MustCompile(` qdisc \S+| mode \S+|,M-DOWN`)
	countdowns = regexp.MustCompile(`(expires|valid_lft|preferred_lft) -?[0-9]+sec`)
)

// textLines folds ip's output into one line per entry (a line that starts
// with whitespace continues the one before, as does one after a "\" of
// -oneline) and normalises each line.
func textLines(out string) map[string]int {
	lines := map[string]int{}
	for _, l := range strings.Split(lineBreak.ReplaceAllString(out, " "), "\n") {
		if l = normText(l); l != "" {
			lines[l]++
		}
	}
	return lines
}

func normText(s string) string {
	s = ipOnly.ReplaceAllString(s, "")
	s = countdowns.ReplaceAllString(s, "$1 Nsec")
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// jsonKey returns the canonical form of a JSON object (keys sorted) with
// the fields that count down replaced and the fields of drop removed.
func jsonKey(t *testing.T, m map[string]any, drop ...string) string {
	t.Helper()
	for _, k := range drop {
		delete(m, k)
	}
	if _, ok := m["expires"]; ok {
		m["expires"] = "N"
	}
	for _, k := range []string{"valid_life_time", "preferred_life_time"} {
		if v, ok := m[k].(float64); ok && v != float64(rtnl.LifetimeForever) {
			m[k] = "N"
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// withNames turns each "K_index": N of a JSON value into "K": names[N], as
// AppendJSONNames writes it.
func withNames(v any, names map[uint32]string) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if base, ok := strings.CutSuffix(k, "_index"); ok {
				if n, ok := x.(float64); ok && names[uint32(n)] != "" && base != "family" && base != "operstate" {
					out[base] = names[uint32(n)]
					continue
				}
			}
			out[k] = withNames(x, names)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = withNames(x, names)
		}
		return out
	}
	return v
}

// formCheck gathers the forms of one kind of value and ip's: text lines
// (text, want) and canonical JSON objects (jsonGot, jsonWant), each a
// multiset, and the values whose MarshalJSON is not their AppendJSONNames
// with indexes in place of names.
type formCheck struct {
	what        string
	text, want  map[string]int
	jsonGot     map[string]int
	jsonWant    map[string]int
	plainFailed []string
}

func newFormCheck(what string) *formCheck {
	return &formCheck{what: what, text: map[string]int{}, want: map[string]int{}, jsonGot: map[string]int{}, jsonWant: map[string]int{}}
}

// add records one value: its text with names, its JSON with names and
// its MarshalJSON.
func (f *formCheck) add(t *testing.T, text []byte, named []byte, plain []byte, names map[uint32]string, drop ...string) {
	t.Helper()
	f.text[normText(string(text))]++
	m := decodeObject(t, named)
	p := decodeObject(t, plain)
	if a, b := jsonKey(t, withNames(p, names).(map[string]any)), jsonKey(t, decodeObject(t, named)); a != b {
		f.plainFailed = append(f.plainFailed, fmt.Sprintf("MarshalJSON %s, with names %s", plain, named))
	}
	f.jsonGot[jsonKey(t, m, drop...)]++
}

func (f *formCheck) addIP(t *testing.T, m map[string]any, drop ...string) {
	t.Helper()
	f.jsonWant[jsonKey(t, m, drop...)]++
}

func (f *formCheck) check(t *testing.T) {
	t.Helper()
	compareSets(t, f.what+" (text)", f.text, f.want)
	compareSets(t, f.what+" (JSON)", f.jsonGot, f.jsonWant)
	if len(f.plainFailed) > 0 {
		t.Errorf("%s: MarshalJSON is not AppendJSONNames with indexes:\n%s", f.what, strings.Join(f.plainFailed, "\n"))
	}
}

func TestTextAndJSONMatchIP(t *testing.T) {
	ns := formsNS(t)
	c := ns.Dial()
	ctx := testCtx(t)
	names := linkNames(t, ctx, c)
	name := func(i uint32) string { return names[i] }

	t.Run("routes", func(t *testing.T) {
		routes, err := rtnl.ListRoutes(ctx, c, rtnl.RouteFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for fi, fam := range []rtnl.Family{rtnl.FamilyInet, rtnl.FamilyInet6} {
			f := newFormCheck(fam.String() + " routes")
			linkdown := 0
			for i := range routes {
				r := &routes[i]
				if r.Family != fam {
					continue
				}
				plain, _ := json.Marshal(r)
				f.add(t, r.AppendTextNames(nil, name), r.AppendJSONNames(nil, name), plain, names)
				if r.Flags&rtnl.RouteFlagLinkDown != 0 {
					linkdown++
				}
			}
			opt := []string{"-4", "-6"}[fi]
			f.want = textLines(ns.IP(opt, "route", "show", "table", "all"))
			for _, j := range ipJSON(t, ns, opt, "route", "show", "table", "all") {
				f.addIP(t, j)
			}
			f.check(t)
			if linkdown < 2 {
				t.Errorf("%d linkdown %v routes, want those of v2", linkdown, fam)
			}
		}
	})

	t.Run("links", func(t *testing.T) {
		links, err := rtnl.ListLinks(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		f := newFormCheck("links")
		// Ours beyond ip's: the carrier counters at the top level, and,
		// before iproute2 6.3, the IPv4 offload sizes.
		drop := []string{"carrier_changes", "carrier_up_count", "carrier_down_count", "stats64"}
		if !ipVersionAtLeast(t, 6, 3) {
			drop = append(drop, "gso_ipv4_max_size", "gro_ipv4_max_size")
		}
		before := map[string]*rtnl.LinkStats{}
		alt := 0
		for i := range links {
			l := &links[i]
			plain, _ := json.Marshal(l)
			f.add(t, l.AppendTextNames(nil, name), l.AppendJSONNames(nil, name), plain, names, drop...)
			if !l.HasStats {
				t.Errorf("%s: no IFLA_STATS64 in the dump", l.Name)
			}
			if l.CarrierUpCount+l.CarrierDownCount != l.CarrierChanges {
				t.Errorf("%s: carrier up %d + down %d != changes %d", l.Name, l.CarrierUpCount, l.CarrierDownCount, l.CarrierChanges)
			}
			before[l.Name.String()] = &l.Stats
			alt += len(l.AltNames())
		}
		if alt != 3 {
			t.Errorf("%d alternative names in the dump, want 3", alt)
		}
		f.want = textLines(ns.IP("-oneline", "link", "show"))
		ipStats := map[string]map[string]any{}
		for _, j := range ipJSON(t, ns, "-details", "-stats", "-stats", "link", "show") {
			ipStats[str(j["ifname"])], _ = j["stats64"].(map[string]any)
			if fl, ok := j["flags"].([]any); ok {
				j["flags"] = slicesDelete(fl, "M-DOWN")
			}
			if li, ok := j["linkinfo"].(map[string]any); ok {
				j["linkinfo"] = map[string]any{"info_kind": li["info_kind"]}
			}
			f.addIP(t, j, "qdisc", "linkmode", "promiscuity", "allmulti", "inet6_addr_gen_mode", "stats64")
		}
		f.check(t)

		// The counters move between two dumps: ip's lie between ours
		// before and after, field by field, as JSON.
		after, err := rtnl.ListLinks(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		for i := range after {
			l := &after[i]
			b := before[l.Name.String()]
			if b == nil {
				t.Fatalf("%s appeared", l.Name)
			}
			var lo, hi map[string]any
			bl, al := *l, *l
			bl.Stats = *b
			lo = decodeObject(t, bl.AppendJSONNames(nil, name))["stats64"].(map[string]any)
			hi = decodeObject(t, al.AppendJSONNames(nil, name))["stats64"].(map[string]any)
			ips := ipStats[l.Name.String()]
			if ips == nil {
				t.Fatalf("%s: no stats64 from ip", l.Name)
			}
			for _, dir := range []string{"rx", "tx"} {
				ipd, lod, hid := ips[dir].(map[string]any), lo[dir].(map[string]any), hi[dir].(map[string]any)
				for k, v := range ipd {
					x, a, z := v.(float64), lod[k], hid[k]
					if a == nil {
						a = 0.0 // printed only when not 0
					}
					if z == nil {
						z = 0.0
					}
					if x < a.(float64) || x > z.(float64) {
						t.Errorf("%s: ip's stats64.%s.%s %v, ours %v before and %v after", l.Name, dir, k, x, a, z)
					}
				}
				for k := range hid {
					if _, ok := ipd[k]; !ok {
						t.Errorf("%s: stats64.%s.%s, which ip does not print", l.Name, dir, k)
					}
				}
			}
		}
	})

	t.Run("addresses", func(t *testing.T) {
		// iproute2 prints an address's protocol (IFA_PROTO) from 6.4 on.
		ipPrintsAddrProto := ipVersionAtLeast(t, 6, 4)
		addrProto := regexp.MustCompile(` proto (kernel_lo|kernel_ra|kernel_ll|unspec|[0-9]+)`)
		addrs, err := rtnl.ListAddresses(ctx, c, rtnl.AddressFilter{})
		if err != nil {
			t.Fatal(err)
		}
		f := newFormCheck("addresses")
		for i := range addrs {
			a := &addrs[i]
			plain, _ := json.Marshal(a)
			// The plain form is the named one without "dev": its index
			// is "index" in both.
			named := decodeObject(t, a.AppendJSONNames(nil, name))
			noDev := decodeObject(t, a.AppendJSONNames(nil, name))
			delete(noDev, "dev")
			if jsonKey(t, noDev) != jsonKey(t, decodeObject(t, plain)) {
				f.plainFailed = append(f.plainFailed, fmt.Sprintf("MarshalJSON %s, with names %v", plain, named))
			}
			text := normText(string(a.AppendTextNames(nil, name)))
			if !ipPrintsAddrProto {
				text = addrProto.ReplaceAllString(text, "")
				delete(named, "protocol")
			}
			f.text[text]++
			f.jsonGot[jsonKey(t, named)]++
		}
		f.want = textLines(ns.IP("-oneline", "addr", "show"))
		for _, l := range ipJSON(t, ns, "-oneline", "addr", "show") {
			for _, ai := range l["addr_info"].([]any) {
				f.addIP(t, ai.(map[string]any))
			}
		}
		f.check(t)
	})

	t.Run("nexthops", func(t *testing.T) {
		nhs, err := rtnl.ListNexthops(ctx, c, rtnl.NexthopFilter{})
		if err != nil {
			t.Fatal(err)
		}
		f := newFormCheck("nexthops")
		for i := range nhs {
			n := &nhs[i]
			plain, _ := json.Marshal(n)
			f.add(t, n.AppendTextNames(nil, name), n.AppendJSONNames(nil, name), plain, names)
		}
		f.want = textLines(ns.IP("nexthop", "show"))
		for _, j := range ipJSON(t, ns, "nexthop", "show") {
			f.addIP(t, j)
		}
		f.check(t)
	})

	t.Run("neighbours", func(t *testing.T) {
		for _, proxy := range []bool{false, true} {
			f := newFormCheck(fmt.Sprintf("neighbours (proxy %v)", proxy))
			neighs, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{Proxy: proxy})
			if err != nil {
				t.Fatal(err)
			}
			for i := range neighs {
				n := &neighs[i]
				if n.Family == rtnl.FamilyBridge || n.Dst.IsMulticast() {
					continue
				}
				plain, _ := json.Marshal(n)
				f.add(t, n.AppendTextNames(nil, name), n.AppendJSONNames(nil, name), plain, names)
			}
			args := []string{"neigh", "show", "nud", "all"}
			if proxy {
				args = []string{"neigh", "show", "proxy"}
			}
			// Multicast entries come and go with the kernel's own
			// group joins.
			for l, n := range textLines(ns.IP(args...)) {
				if !multicast(strings.Fields(l)[0]) {
					f.want[l] = n
				}
			}
			for _, j := range ipJSON(t, ns, args...) {
				if !multicast(str(j["dst"])) {
					f.addIP(t, j)
				}
			}
			f.check(t)
		}
	})

	t.Run("forwarding entries", func(t *testing.T) {
		fdb, err := rtnl.ListNeighbors(ctx, c, rtnl.NeighborFilter{Family: rtnl.FamilyBridge})
		if err != nil {
			t.Fatal(err)
		}
		f := newFormCheck("forwarding entries")
		for i := range fdb {
			n := &fdb[i]
			plain, _ := json.Marshal(n)
			f.add(t, n.AppendTextNames(nil, name), n.AppendJSONNames(nil, name), plain, names)
		}
		out, err := ns.Cmd("bridge", "fdb", "show").Output()
		if err != nil {
			t.Fatalf("bridge fdb show: %v", err)
		}
		f.want = textLines(string(out))
		out, err = ns.Cmd("bridge", "-json", "fdb", "show").Output()
		if err != nil {
			t.Fatalf("bridge -json fdb show: %v", err)
		}
		var js []map[string]any
		if err := json.Unmarshal(out, &js); err != nil {
			t.Fatalf("bridge -json fdb show: %v: %s", err, out)
		}
		for _, j := range js {
			f.addIP(t, j)
		}
		f.check(t)
	})
}

// ipVersionAtLeast reports whether ip -V is iproute2 major.minor or later.
func ipVersionAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	out, err := exec.Command("ip", "-V").Output()
	if err != nil {
		t.Fatalf("ip -V: %v", err)
	}
	var ma, mi int
	i := strings.Index(string(out), "iproute2-")
	if i < 0 {
		t.Fatalf("ip -V: %q has no version", out)
	}
	if _, err := fmt.Sscanf(string(out[i:]), "iproute2-%d.%d", &ma, &mi); err != nil {
		t.Fatalf("ip -V: %q: %v", out, err)
	}
	return ma > major || ma == major && mi >= minor
}

func multicast(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.IsMulticast()
}

func slicesDelete(s []any, v any) []any {
	out := s[:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// TestJSONOfARouteNotificationMatchesIPRoute: a route decoded from a
// notification marshals as ip -json shows the route in the table.
func TestJSONOfARouteNotificationMatchesIPRoute(t *testing.T) {
	ns := nstest.New(t)
	quietVeth(t, ns, "v0", "v1")
	ns.IP("addr", "add", "10.0.0.1/24", "dev", "v0")
	ev := ns.Dial(nl.WithGroups(rtnl.GroupIPv4Route))
	if err := ev.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	ns.IP("route", "add", "10.20.0.0/16", "via", "10.0.0.2", "dev", "v0", "proto", "static", "metric", "3")
	names := linkNames(t, testCtx(t), ns.Dial())
	for {
		msgs, err := ev.Receive()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			r, err := rtnl.DecodeRoute(m)
			if err != nil || r.Dst != pfx("10.20.0.0/16") {
				continue
			}
			got := jsonKey(t, decodeObject(t, r.AppendJSONNames(nil, func(i uint32) string { return names[i] })))
			want := jsonKey(t, ipJSON(t, ns, "route", "show", "10.20.0.0/16")[0])
			if got != want {
				t.Errorf("notification: %s\nip -j:        %s", got, want)
			}
			return
		}
	}
}
