//go:build linux

package watch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// The conformance tests drive a namespace with ip(8) and compare the
// watchers' tables after each step with what `ip -j` shows, as multisets
// of one canonical line per entry: the fields both know, in one notation.

const equalsIPWait = 10 * time.Second // bound on each comparison

func ipJSONOf(ns *nstest.NS, args ...string) ([]map[string]any, error) {
	out, err := ns.TryIP(append([]string{"-j"}, args...)...)
	if err != nil {
		return nil, err
	}
	var v []map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("ip -j %s: %v", strings.Join(args, " "), err)
	}
	return v, nil
}

// ipStr renders a JSON scalar as ip printed it ("" for none).
func ipStr(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// Link flags by the names ip prints. ip leaves IFF_RUNNING out and prints
// NO-CARRIER for a link that is up without it; M-DOWN is about the link's
// IFLA_LINK, not the link.
var ipLinkFlags = map[string]uint32{
	"UP": rtnl.LinkUp, "BROADCAST": rtnl.LinkBroadcast, "DEBUG": rtnl.LinkDebug, "LOOPBACK": rtnl.LinkLoopback,
	"POINTOPOINT": rtnl.LinkPointToPt, "NOTRAILERS": rtnl.LinkNoTrailers, "NOARP": rtnl.LinkNoARP,
	"PROMISC": rtnl.LinkPromisc, "ALLMULTI": rtnl.LinkAllMulti, "MASTER": rtnl.LinkMaster, "SLAVE": rtnl.LinkSlave,
	"MULTICAST": rtnl.LinkMulticast, "PORTSEL": rtnl.LinkPortSel, "AUTOMEDIA": rtnl.LinkAutoMedia,
	"DYNAMIC": rtnl.LinkDynamic, "LOWER_UP": rtnl.LinkLowerUp, "DORMANT": rtnl.LinkDormant, "ECHO": rtnl.LinkEcho,
}

// ARPHRD_* by ip's link_type names, for the kinds these tests make.
var ipLinkTypes = map[string]uint16{"ether": 1, "loopback": 772, "none": 65534, "void": 0xffff}

func linkLine(l *rtnl.Link) string {
	nsid := "-"
	if id, ok := l.LinkNetNSID(); ok {
		nsid = strconv.Itoa(int(id))
	}
	return fmt.Sprintf("%d %s kind=%s type=%d mtu=%d flags=%#x oper=%v master=%d link=%d/%s address=%s broadcast=%s txqlen=%d group=%d alias=%q",
		l.Index, l.Name, l.Kind, l.Type, l.MTU, l.Flags, l.OperState, l.Master, l.Link, nsid, l.Address, l.Broadcast,
		l.TxQLen, l.Group, l.Alias)
}

// ipLinkLines returns the canonical lines of `ip -j -d link show`, and its
// names by index.
func ipLinkLines(ns *nstest.NS) ([]string, map[string]uint32, error) {
	js, err := ipJSONOf(ns, "-d", "link", "show")
	if err != nil {
		return nil, nil, err
	}
	names := map[string]uint32{}
	for _, j := range js {
		names[ipStr(j["ifname"])] = uint32(j["ifindex"].(float64))
	}
	index := func(name string) (uint32, error) {
		if i, ok := names[name]; ok {
			return i, nil
		}
		if n, ok := strings.CutPrefix(name, "if"); ok { // an index ip has no name for
			i, err := strconv.ParseUint(n, 10, 32)
			return uint32(i), err
		}
		return 0, fmt.Errorf("ip names link %q, which it does not list", name)
	}
	var lines []string
	for _, j := range js {
		var l rtnl.Link
		l.Index = uint32(j["ifindex"].(float64))
		l.Name = rtnl.MakeName(ipStr(j["ifname"]))
		if li, ok := j["linkinfo"].(map[string]any); ok {
			l.Kind = rtnl.MakeName(ipStr(li["info_kind"]))
		}
		typ, ok := ipLinkTypes[ipStr(j["link_type"])]
		if !ok {
			return nil, nil, fmt.Errorf("%s: link_type %q unknown to the test", l.Name, ipStr(j["link_type"]))
		}
		l.Type = typ
		mtu, _ := strconv.ParseUint(ipStr(j["mtu"]), 10, 32)
		txq, _ := strconv.ParseUint(ipStr(j["txqlen"]), 10, 32)
		l.MTU, l.TxQLen = uint32(mtu), uint32(txq)
		carrier := true
		for _, f := range j["flags"].([]any) {
			switch f := f.(string); f {
			case "NO-CARRIER":
				carrier = false
			case "M-DOWN":
			default:
				bit, ok := ipLinkFlags[f]
				if !ok {
					return nil, nil, fmt.Errorf("%s: flag %q unknown to the test", l.Name, f)
				}
				l.Flags |= bit
			}
		}
		if l.Flags&rtnl.LinkUp != 0 && carrier {
			l.Flags |= rtnl.LinkRunning
		}
		for i, s := range []string{"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"} {
			if ipStr(j["operstate"]) == s {
				l.OperState = rtnl.OperState(i)
			}
		}
		if m := ipStr(j["master"]); m != "" {
			if l.Master, err = index(m); err != nil {
				return nil, nil, err
			}
		}
		switch {
		case j["link_index"] != nil:
			i, _ := strconv.ParseUint(ipStr(j["link_index"]), 10, 32)
			l.Link = uint32(i)
			if id := ipStr(j["link_netnsid"]); id != "" {
				n, err := strconv.ParseInt(id, 10, 32)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: link_netnsid %q", l.Name, id)
				}
				l.SetLinkNetNSID(int32(n), true)
			}
		case ipStr(j["link"]) != "":
			if l.Link, err = index(ipStr(j["link"])); err != nil {
				return nil, nil, err
			}
		}
		for _, hw := range []struct {
			key string
			to  *rtnl.HardwareAddr
		}{{"address", &l.Address}, {"broadcast", &l.Broadcast}} {
			if s := ipStr(j[hw.key]); s != "" {
				if *hw.to, err = rtnl.ParseHardwareAddr(s); err != nil {
					return nil, nil, fmt.Errorf("%s: %s %q: %v", l.Name, hw.key, s, err)
				}
			}
		}
		if g := ipStr(j["group"]); g != "default" {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: group %q", l.Name, g)
			}
			l.Group = uint32(n)
		}
		l.Alias = ipStr(j["ifalias"])
		lines = append(lines, linkLine(&l))
	}
	return lines, names, nil
}

func neighLine(n *rtnl.Neighbor) string {
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{n.Flags&rtnl.NeighFlagRouter != 0, "router"}, {n.Flags&rtnl.NeighFlagProxy != 0, "proxy"},
		{n.Managed(), "managed"}, {n.Flags&rtnl.NeighFlagExtLearned != 0, "extern_learn"},
		{n.Flags&rtnl.NeighFlagOffloaded != 0, "offload"},
	} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	state := ""
	if n.State != rtnl.NeighNone {
		state = n.State.String()
	}
	lladdr := ""
	if !n.LLAddr.IsZero() {
		lladdr = n.LLAddr.String()
	}
	return fmt.Sprintf("%d %s lladdr=%s state=%s flags=%s", n.Index, n.Dst, lladdr, state, strings.Join(flags, ","))
}

// ipNeighLines returns the canonical lines of `ip -j neigh show`, less
// the entries a watcher leaves out: those being resolved or that failed to
// resolve (INCOMPLETE, FAILED), whose state the kernel changes without a
// notification (ip already leaves out NOARP, NONE and proxy entries).
func ipNeighLines(ns *nstest.NS, names map[string]uint32) ([]string, error) {
	js, err := ipJSONOf(ns, "neigh", "show")
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, j := range js {
		if ss, _ := j["state"].([]any); len(ss) == 0 || slices.Contains(ss, any("INCOMPLETE")) || slices.Contains(ss, any("FAILED")) {
			continue
		}
		var flags []string
		for _, f := range []string{"router", "proxy", "managed", "extern_learn", "offload"} {
			if _, ok := j[f]; ok {
				flags = append(flags, f)
			}
		}
		var states []string
		if ss, ok := j["state"].([]any); ok {
			for _, s := range ss {
				states = append(states, s.(string))
			}
		}
		idx, ok := names[ipStr(j["dev"])]
		if !ok {
			return nil, fmt.Errorf("neighbour %v on a link ip does not list", j)
		}
		lines = append(lines, fmt.Sprintf("%d %s lladdr=%s state=%s flags=%s", idx, ipStr(j["dst"]), ipStr(j["lladdr"]),
			strings.Join(states, ","), strings.Join(flags, ",")))
	}
	return lines, nil
}

// Address flags by the names ip prints; ip prints "dynamic" for an
// address without IFA_F_PERMANENT, and IFA_F_SECONDARY as "temporary" for
// IPv6.
var ipAddrFlags = []struct {
	bit  uint32
	name string
}{
	{rtnl.AddrNoDAD, "nodad"}, {rtnl.AddrOptimistic, "optimistic"}, {rtnl.AddrDADFailed, "dadfailed"},
	{rtnl.AddrHomeAddress, "home"}, {rtnl.AddrDeprecated, "deprecated"}, {rtnl.AddrTentative, "tentative"},
	{rtnl.AddrManageTempAddr, "mngtmpaddr"}, {rtnl.AddrNoPrefixRoute, "noprefixroute"}, {rtnl.AddrMcAutoJoin, "autojoin"},
	{rtnl.AddrStablePrivacy, "stable-privacy"},
}

func addrLine(a *rtnl.Address) string {
	var flags []string
	if a.Flags&rtnl.AddrSecondary != 0 {
		if a.Family == rtnl.FamilyInet6 {
			flags = append(flags, "temporary")
		} else {
			flags = append(flags, "secondary")
		}
	}
	if a.Flags&rtnl.AddrPermanent == 0 {
		flags = append(flags, "dynamic")
	}
	for _, f := range ipAddrFlags {
		if a.Flags&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	slices.Sort(flags)
	peer, brd := "", ""
	if a.Peer.IsValid() {
		peer = a.Peer.String()
	}
	if a.Broadcast.IsValid() {
		brd = a.Broadcast.String()
	}
	return fmt.Sprintf("%d %v %s peer=%s broadcast=%s scope=%v label=%s flags=%s", a.Index, a.Family, a.Prefix, peer, brd,
		a.Scope, a.Label, strings.Join(flags, ","))
}

// ipAddrLines returns the canonical lines of `ip -j addr show`.
func ipAddrLines(ns *nstest.NS) ([]string, error) {
	js, err := ipJSONOf(ns, "addr", "show")
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, j := range js {
		infos, _ := j["addr_info"].([]any)
		for _, ai := range infos {
			a := ai.(map[string]any)
			var flags []string
			for _, f := range append([]string{"secondary", "temporary", "dynamic"}, func() (s []string) {
				for _, f := range ipAddrFlags {
					s = append(s, f.name)
				}
				return s
			}()...) {
				if b, _ := a[f].(bool); b {
					flags = append(flags, f)
				}
			}
			slices.Sort(flags)
			lines = append(lines, fmt.Sprintf("%s %s %s/%s peer=%s broadcast=%s scope=%s label=%s flags=%s", ipStr(j["ifindex"]),
				ipStr(a["family"]), ipStr(a["local"]), ipStr(a["prefixlen"]), ipStr(a["address"]), ipStr(a["broadcast"]),
				ipStr(a["scope"]), ipStr(a["label"]), strings.Join(flags, ",")))
		}
	}
	return lines, nil
}

func lineCounts(lines []string) map[string]int {
	m := make(map[string]int, len(lines))
	for _, l := range lines {
		m[l]++
	}
	return m
}

// lineCountsDiff describes how got differs from want, or returns "".
func lineCountsDiff(got, want map[string]int) string {
	var b strings.Builder
	for _, l := range slices.Sorted(maps.Keys(want)) {
		if got[l] < want[l] {
			fmt.Fprintf(&b, "\n  missing (%d of %d): %s", want[l]-got[l], want[l], l)
		}
	}
	for _, l := range slices.Sorted(maps.Keys(got)) {
		if got[l] > want[l] {
			fmt.Fprintf(&b, "\n  extra   (%d of %d): %s", got[l]-want[l], got[l], l)
		}
	}
	return b.String()
}

// ipView is one watcher's table and ip's view of the same table, both as
// canonical lines.
type ipView struct {
	name string
	get  func() (got, want []string, err error)
}

func linkView(name string, ns *nstest.NS, w *watch.LinkWatcher) ipView {
	return ipView{name, func() ([]string, []string, error) {
		t, _ := w.Table().Snapshot()
		var got []string
		for _, l := range t {
			got = append(got, linkLine(&l))
		}
		want, _, err := ipLinkLines(ns)
		return got, want, err
	}}
}

func neighView(ns *nstest.NS, w *watch.NeighborWatcher) ipView {
	return ipView{"neighbours", func() ([]string, []string, error) {
		t, _ := w.Table().Snapshot()
		var got []string
		for _, n := range t {
			got = append(got, neighLine(&n))
		}
		_, names, err := ipLinkLines(ns)
		if err != nil {
			return nil, nil, err
		}
		want, err := ipNeighLines(ns, names)
		return got, want, err
	}}
}

func addrView(ns *nstest.NS, w *watch.AddressWatcher) ipView {
	return ipView{"addresses", func() ([]string, []string, error) {
		t, _ := w.Table().Snapshot()
		var got []string
		for _, a := range t {
			got = append(got, addrLine(&a))
		}
		want, err := ipAddrLines(ns)
		return got, want, err
	}}
}

// equalsIP compares every view until each agrees with ip, for at most
// equalsIPWait, and fails the test with the differences.
func equalsIP(t *testing.T, step string, views ...ipView) {
	t.Helper()
	deadline := time.Now().Add(equalsIPWait)
	for _, v := range views {
		for {
			got, want, err := v.get()
			if err != nil {
				t.Fatalf("after %q: %s: %v", step, v.name, err)
			}
			d := lineCountsDiff(lineCounts(got), lineCounts(want))
			if d == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %q: the %s watcher's table differs from ip's (%d entries, ip %d):%s", step, v.name,
					len(got), len(want), d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestLinkNeighborAndAddressWatchersEqualIP(t *testing.T) {
	ns, other := nstest.New(t), nstest.New(t)
	opt := watch.WithNetNS(ns.Path())
	lw, err := watch.Links(opt)
	if err != nil {
		t.Fatal(err)
	}
	nw, err := watch.Neighbors(opt)
	if err != nil {
		t.Fatal(err)
	}
	aw, err := watch.Addresses(opt)
	if err != nil {
		t.Fatal(err)
	}
	ow := newLinkWatcher(t, other)
	lr, nr, ar, or := record(t, lw, nil), record(t, nw, nil), record(t, aw, nil), record(t, ow, nil)
	lr.waitFor(t, "links", has[rtnl.Link](watch.SnapshotComplete, nil))
	nr.waitFor(t, "neighbours", has[rtnl.Neighbor](watch.SnapshotComplete, nil))
	ar.waitFor(t, "addresses", has[rtnl.Address](watch.SnapshotComplete, nil))
	or.waitFor(t, "links of the other namespace", has[rtnl.Link](watch.SnapshotComplete, nil))
	views := []ipView{linkView("links", ns, lw), neighView(ns, nw), addrView(ns, aw), linkView("other namespace's links", other, ow)}

	managed, noTun := true, false
	for _, step := range []string{
		"link add v0 type veth peer name v1",
		"link add v2 type veth peer name v3",
		"link set v0 up",
		"link set v1 up",
		"link set v2 up",
		"link add br0 type bridge",
		"link set br0 up",
		"link set v0 master br0",
		"link set v2 master br0",
		"link set v0 nomaster",
		"link set v0 master br0",
		"link set v1 mtu 1400",
		"link set v1 txqlen 500",
		"link set v1 address 02:00:00:00:01:01",
		"link set v1 alias uplink",
		"link set v1 group 7",
		"link set v1 down",
		"link set v1 up",
		"link set v0 promisc on",
		"link add mv0 link v1 type macvlan mode bridge",
		"link set mv0 up",
		"link add vx0 type vxlan id 42 dstport 4789 dev v1",
		"tuntap add tun0 mode tun",
		"link set tun0 up",
		"addr add 10.5.0.1/24 dev v1",
		"addr add 10.5.0.2/24 dev v1 label v1:b",
		"addr add 10.6.0.1 peer 10.6.0.2 dev mv0",
		"addr add 2001:db8::1/64 dev v1 nodad",
		"addr add 2001:db8:1::1/64 dev br0 noprefixroute",
		"neigh add 10.5.0.10 dev v1 lladdr 02:00:00:00:00:0a nud permanent",
		"neigh add 10.5.0.11 dev v1 lladdr 02:00:00:00:00:0b nud noarp",
		"neigh add 10.5.0.12 dev v1 lladdr 02:00:00:00:00:0c nud stale router",
		"neigh add 10.5.0.13 dev v1 lladdr 02:00:00:00:00:0d nud reachable extern_learn",
		"neigh add 10.5.0.9 dev v1 managed",
		"neigh add 2001:db8::9 dev v1 lladdr 02:00:00:00:00:09 nud permanent router",
		"neigh add 2001:db8:1::9 dev br0 lladdr 02:00:00:00:00:19 nud permanent",
		"neigh add proxy 10.5.0.99 dev v1",
		"neigh add 10.5.0.15 dev v1 nud none",
		"neigh add 10.5.0.16 dev v1 nud incomplete",
		"neigh add 10.5.0.17 dev v1 lladdr 02:00:00:00:00:17 nud failed",
		"neigh replace 10.5.0.13 dev v1 lladdr 02:00:00:00:00:0d nud failed",
		"neigh replace 10.5.0.12 dev v1 lladdr 02:00:00:00:00:0c nud noarp",
		"neigh replace 10.5.0.12 dev v1 lladdr 02:00:00:00:00:0c nud stale",
		"@ping 10.5.0.77",
		"neigh del proxy 10.5.0.99 dev v1",
		"neigh replace 10.5.0.10 dev v1 lladdr 02:00:00:00:00:1a nud stale",
		"neigh del 10.5.0.12 dev v1",
		"neigh del 10.5.0.11 dev v1",
		"neigh del 10.5.0.9 dev v1",
		"addr del 10.5.0.1/24 dev v1", // promotes nothing: 10.5.0.2 is secondary and goes with it
		"link set v3 netns OTHER",
		"@other link set v3 mtu 1300 up",
		"@other link set v3 netns NS", // back
		"link set v3 master br0",
		"link del br0", // with its ports and its neighbour
		"link set v1 netns OTHER",
		"@other link set v1 netns NS",
		"link del mv0", // vx0 went with v1's move: the kernel deletes a VXLAN whose device leaves
		"link del tun0",
		"link del v0",
		"link del v2",
	} {
		args := strings.Fields(step)
		target := ns
		switch args[0] {
		case "@other":
			target, args = other, args[1:]
		case "@ping": // makes an entry of its own: INCOMPLETE, then FAILED
			ns.Cmd("ping", "-c", "1", "-W", "0.3", args[1]).Run()
			equalsIP(t, step, views...)
			continue
		}
		for i, a := range args {
			switch a {
			case "OTHER":
				args[i] = other.Path()
			case "NS":
				args[i] = ns.Path()
			}
		}
		if !managed && strings.Contains(step, "10.5.0.9 ") || noTun && strings.Contains(step, "tun0") {
			continue
		}
		if _, err := target.TryIP(args...); err != nil {
			if strings.Contains(step, "managed") {
				// Managed neighbours came with Linux 5.16.
				t.Logf("skipping %q: the kernel refuses managed neighbours (NTF_EXT_MANAGED): %v", step, err)
				managed = false
				continue
			}
			if strings.Contains(step, "tuntap") && strings.Contains(err.Error(), "Permission denied") {
				// /dev/net/tun is the initial user namespace's to open.
				t.Logf("skipping %q: opening /dev/net/tun needs CAP_NET_ADMIN in the initial user namespace: %v", step, err)
				noTun = true
				continue
			}
			t.Fatal(err)
		}
		equalsIP(t, step, views...)
	}
	for _, w := range []interface{ Stats() watch.Stats }{lw, nw, aw, ow} {
		if st := w.Stats(); st.Resyncs != 0 || st.Overruns != 0 {
			t.Errorf("resyncs or overruns with the default buffer: %+v", st)
		}
	}
	linkEventsAgree(t, lw, lr)
	linkEventsAgree(t, ow, or)
}

// staller blocks the poller's goroutine, once armed, on the first live
// event, until released: the kernel queues what follows, and a small
// buffer overruns.
type staller[V any] struct {
	mu       sync.Mutex
	armed    bool
	stalled  chan struct{}
	release  chan struct{}
	released sync.Once
}

func stallWatcher[K comparable, V any](t *testing.T, w *watch.Watcher[K, V]) *staller[V] {
	t.Helper()
	s := &staller[V]{stalled: make(chan struct{}), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Events().Subscribe(ctx, stream.ObserverFuncs[watch.Event[V]]{OnNext: func(e watch.Event[V]) error {
			s.mu.Lock()
			block := s.armed && !e.Synthetic && (e.Kind == watch.Added || e.Kind == watch.Changed || e.Kind == watch.Deleted)
			if block {
				s.armed = false
			}
			s.mu.Unlock()
			if block {
				close(s.stalled)
				<-s.release
			}
			return nil
		}})
	}()
	t.Cleanup(func() { // before the recorder's cleanup closes the watcher
		s.free()
		cancel()
		w.Close()
		<-done
	})
	return s
}

func (s *staller[V]) arm() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

func (s *staller[V]) free() { s.released.Do(func() { close(s.release) }) }

// settledLinks waits, for at most 10 seconds, until the operational
// state of every link agrees with its flags (the kernel sets it
// asynchronously), and returns the links.
func settledLinks(t *testing.T, ns *nstest.NS) map[uint32]rtnl.Link {
	t.Helper()
	for deadline := time.Now().Add(equalsIPWait); ; time.Sleep(20 * time.Millisecond) {
		links := kernelLinks(t, ns)
		var unsettled []string
		for _, l := range links {
			up, lower := l.Flags&rtnl.LinkUp != 0, l.Flags&rtnl.LinkLowerUp != 0
			carrier := l.OperState == rtnl.OperUp || l.OperState == rtnl.OperUnknown
			if up && lower != carrier || !up && l.OperState == rtnl.OperUp {
				unsettled = append(unsettled, fmt.Sprintf("%s (flags %#x, %v)", l.Name, l.Flags, l.OperState))
			}
		}
		if len(unsettled) == 0 {
			return links
		}
		if time.Now().After(deadline) {
			t.Fatalf("links did not settle: %v", unsettled)
		}
	}
}

// A resync compares the kernel's dump with the table: the links that did
// not change while notifications were lost must not come out Changed.
func TestLinksResyncAfterAnOverrunReportsOnlyWhatChanged(t *testing.T) {
	ns := nstest.New(t)
	// Room for the setup's notifications, not for the burst's.
	w := newLinkWatcher(t, ns, watch.WithReadBuffer(64<<10))
	r := record(t, w, nil)
	s := stallWatcher(t, w)
	r.waitFor(t, "the snapshot", has[rtnl.Link](watch.SnapshotComplete, nil))
	for _, step := range []string{
		"link add v0 type veth peer name v1",
		"link set v0 up",
		"link set v1 up",
		"link add br0 type bridge",
		"link set v0 master br0",
		"link set br0 up",
		"link add mv0 link v1 type macvlan",
		"link set v1 mtu 1400",
	} {
		ns.IP(strings.Fields(step)...)
		equalsIP(t, step, linkView("links", ns, w))
	}
	if st := w.Stats(); st.Overruns != 0 {
		t.Fatalf("the setup overran the buffer: %+v", st)
	}
	// The kernel updates operational states a little later (linkwatch):
	// wait for them, so that the burst is the only change.
	before := settledLinks(t, ns)
	equalsIP(t, "settling", linkView("links", ns, w))

	s.arm()
	ns.IP("link", "add", "gate0", "type", "veth", "peer", "name", "gate1")
	select {
	case <-s.stalled:
	case <-time.After(wait):
		t.Fatal("the watcher never stalled")
	}
	var burst []string
	for i := range 100 {
		burst = append(burst, fmt.Sprintf("link add b%da type veth peer name b%db", i, i))
	}
	ns.Batch(burst)
	s.free()
	r.waitFor(t, "the resync", has[rtnl.Link](watch.ResyncComplete, nil))
	equalsIP(t, "the burst", linkView("links", ns, w))
	if st := w.Stats(); st.Overruns == 0 || st.Resyncs == 0 {
		t.Fatalf("no overrun with a 64 KiB buffer and a stalled consumer: %+v", st)
	}

	// The links the kernel shows as they were did not change.
	after := kernelLinks(t, ns)
	unchanged := map[uint32]bool{}
	for i, l := range before {
		unchanged[i] = after[i] == l
	}
	for _, name := range []string{"lo", "v0", "v1", "br0", "mv0"} {
		if !unchanged[linkIndexOf(t, before, name)] {
			t.Fatalf("%s changed during the burst: %+v, then %+v", name, before[linkIndexOf(t, before, name)], after[linkIndexOf(t, before, name)])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	in := false
	for _, e := range r.events {
		switch e.Kind {
		case watch.ResyncStarted:
			in = true
		case watch.ResyncComplete:
			in = false
		case watch.Changed:
			if in && unchanged[e.Value.Index] {
				t.Errorf("resync: %s reported changed, though nothing changed it:\n  old %+v\n  new %+v", e.Value.Name, e.Old, e.Value)
			}
		case watch.Deleted:
			if in {
				t.Errorf("resync: %s reported deleted", e.Value.Name)
			}
		}
	}
}
