package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The soak's second churn, the mix: what the route churn never does, on
// links of its own, so that it never breaks the route churn's model. Over
// a small pool of IPv4 and IPv6 destinations it adds, appends, prepends,
// replaces (across types: unicast, blackhole, unreachable, prohibit;
// single-path and multipath) and deletes routes that share destination,
// table and metric with other gateways, devices and protocols, some with a
// preferred source or an mtu, some through nexthop objects; it adds,
// replaces and deletes those nexthop objects and groups of them; it adds
// and deletes the links' addresses (the last one of a link, those routes
// use as source); it takes links down and up, drops their carrier by
// downing the peer, changes their MTU, and enslaves one of them to the
// bridge and releases it. Each batch is one `ip -force -batch -` in the
// namespace: ordinary ip commands, as an operator types them; what the
// kernel refuses is counted, by kind and reason, and goes on.
//
// Links: veth pairs x0–y0, x1–y1, x2–y2 and the bridge br0 (x2 is the
// port it gets and loses). Link i of mixLinks has 10.98.i.0/24 and
// 10.98.(16+i).0/24, 2001:db8:98:i::/64 and 2001:db8:98:(16+i)::/64;
// the destinations are 10.97.0.0/16 and 2001:db8:97::/48 and the default
// routes of table 101.
var mixLinks = [...]string{"x0", "x1", "br0", "x2"}

// mixPeers are the peers whose going down takes the carrier of mixLinks[i]
// ("" for the bridge, whose carrier is its port's).
var mixPeers = [...]string{"y0", "y1", "", "y2"}

const (
	mixTable  = 101
	mixPort   = 3 // x2, the link enslaved to br0 and released
	mixBridge = 2 // br0
)

var (
	mixDst4 = [...]string{"10.97.0.0/24", "10.97.1.0/24", "10.97.2.0/24", "10.97.3.0/24", "10.97.4.0/25", "0.0.0.0/0"}
	mixDst6 = [...]string{"2001:db8:97::/64", "2001:db8:97:1::/64", "2001:db8:97:2::/64", "2001:db8:97:3::/64", "2001:db8:97:4::/80", "::/0"}
	// mixProtos: "" is ip's default (boot).
	mixProtos = [...]string{"", "proto static", "proto 99", "proto babel"}
	mixTypes  = [...]string{"blackhole", "unreachable", "prohibit"}
)

// Nexthop object IDs: single nexthops 1–6 (1–3 IPv4 gateways, 4–5 IPv6
// gateways, 6 a device or a blackhole), groups 20–24 (24 resilient).
const (
	mixNexthops4    = 3
	mixNexthops6    = 5
	mixNexthops     = 6
	mixGroupFirst   = 20
	mixGroups       = 5
	mixResilientID  = 24
	mixRecentRoutes = 64
)

// soakMixConfig shapes the mix.
type soakMixConfig struct {
	interval         time.Duration // between batches
	rateMin, rateMax float64       // route operations per second, per phase
	structural       float64       // nexthop, address and link operations per second
	phaseMin         time.Duration
	phaseMax         time.Duration
}

func defaultMixConfig() soakMixConfig {
	return soakMixConfig{interval: 100 * time.Millisecond, rateMin: 20, rateMax: 300, structural: 3,
		phaseMin: time.Second, phaseMax: 5 * time.Second}
}

// mixCount is what the mix asked of one kind and what the kernel refused.
type mixCount struct {
	asked, refused int
	reasons        map[string]int
}

// mixOp is one line of a batch.
type mixOp struct {
	kind, line string
}

// mixSpec is a route the mix asked for: its ip arguments after the verb.
type mixSpec struct {
	six  bool
	spec string
}

// mixRestore undoes a link change once due (a link down comes back up).
type mixRestore struct {
	at   time.Time
	op   mixOp
	link int
	peer bool
}

// soakMix is the second churn. Its goroutine runs batches until stop; a
// checkpoint holds gate, so that no batch runs while the watchers settle.
type soakMix struct {
	ns  *benchNS
	cfg soakMixConfig
	rng *rand.Rand
	log *soakLog

	gate       sync.Mutex
	stop, done chan struct{}

	// Under gate.
	last, phaseEnd     time.Time
	rate               float64
	carry, carryStruct float64
	down, peerDown     [len(mixLinks)]bool
	lowMTU             [len(mixLinks)]bool
	enslaved           bool
	restores           []mixRestore
	recent             []mixSpec // routes asked for, for deletes that name one
	counts             map[string]*mixCount
	batches            int
	err                error // a failure of the mix itself: the soak stops
}

func newSoakMix(ns *benchNS, cfg soakMixConfig, seed uint64, log *soakLog) *soakMix {
	return &soakMix{
		ns: ns, cfg: cfg, log: log,
		rng:    rand.New(rand.NewPCG(seed^0x5eed, seed+0x6a09e667f3bcc909)),
		counts: map[string]*mixCount{},
	}
}

// setup makes the mix's links, brings them up and gives each its first
// addresses; it also brings the loopback up (blackhole nexthops need it).
func (m *soakMix) setup() error {
	lines := []string{"link set lo up", "link add br0 type bridge"}
	for i, l := range mixLinks {
		if p := mixPeers[i]; p != "" {
			lines = append(lines, fmt.Sprintf("link add %s type veth peer name %s", l, p), "link set "+p+" up")
		}
	}
	for i, l := range mixLinks {
		lines = append(lines, "link set "+l+" up",
			fmt.Sprintf("address add %s dev %s", mixAddr4(i, 0), l),
			fmt.Sprintf("address add %s dev %s nodad", mixAddr6(i, 0), l))
	}
	return m.ns.batch(lines...)
}

// teardown deletes the mix's links, so that the kernel frees their routes
// at once.
func (m *soakMix) teardown() {
	for i, l := range mixLinks {
		if mixPeers[i] != "" || i == mixBridge {
			_, _ = m.ns.ip("link", "del", l)
		}
	}
}

func mixAddr4(link, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("10.98.%d.1/24", link)
	case 1:
		return fmt.Sprintf("10.98.%d.100/24", link)
	}
	return fmt.Sprintf("10.98.%d.1/24", 16+link)
}

func mixAddr6(link, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("2001:db8:98:%x::1/64", link)
	case 1:
		return fmt.Sprintf("2001:db8:98:%x::100/64", link)
	}
	return fmt.Sprintf("2001:db8:98:%x::1/64", 16+link)
}

func mixGateway4(link, n int) string {
	if n == 2 {
		return fmt.Sprintf("10.98.%d.2", 16+link)
	}
	return fmt.Sprintf("10.98.%d.%d", link, 2+n)
}

func mixGateway6(link, n int) string {
	switch n {
	case 0, 1:
		return fmt.Sprintf("2001:db8:98:%x::%d", link, 2+n)
	case 2:
		return fmt.Sprintf("2001:db8:98:%x::2", 16+link)
	}
	return "fe80::2" // on-link through the device named with it
}

// start runs the mix on a goroutine of its own from now on.
func (m *soakMix) start(now time.Time) {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	m.last = now
	go m.run()
}

// halt stops the goroutine and waits for it.
func (m *soakMix) halt() {
	if m.stop == nil {
		return
	}
	close(m.stop)
	<-m.done
	m.stop = nil
}

// pause waits for the batch in progress and holds the mix until resume.
func (m *soakMix) pause() { m.gate.Lock() }

// resume lets the mix go on, without the backlog of the pause.
func (m *soakMix) resume(now time.Time) {
	m.last = now
	m.carry, m.carryStruct = 0, 0
	m.gate.Unlock()
}

func (m *soakMix) run() {
	defer close(m.done)
	tick := time.NewTicker(m.cfg.interval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		m.gate.Lock()
		if m.err == nil {
			m.err = m.batch(time.Now())
		}
		m.gate.Unlock()
	}
}

func (m *soakMix) uniform(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(m.rng.Int64N(int64(hi-lo)+1))
}

// batch makes and runs the operations due at now.
func (m *soakMix) batch(now time.Time) error {
	if !now.Before(m.phaseEnd) {
		m.rate = m.cfg.rateMin * math.Pow(m.cfg.rateMax/m.cfg.rateMin, m.rng.Float64())
		m.phaseEnd = now.Add(m.uniform(m.cfg.phaseMin, m.cfg.phaseMax))
	}
	dt := now.Sub(m.last).Seconds()
	m.last = now
	m.carry += m.rate * dt
	m.carryStruct += m.cfg.structural * dt
	var ops []mixOp
	restores := 0
	for i := 0; i < len(m.restores); {
		if r := m.restores[i]; !now.Before(r.at) {
			ops = append(ops, r.op)
			m.restored(r)
			m.restores = slices.Delete(m.restores, i, i+1)
			restores++
			continue
		}
		i++
	}
	// A backlog after a stall is dropped, as the route churn drops its own.
	n := min(int(m.carry), int(m.cfg.rateMax))
	m.carry -= math.Floor(m.carry)
	for range n {
		ops = append(ops, m.routeOp())
	}
	// Structural operations at random times, about structural per second.
	for m.carryStruct >= 1 || m.rng.Float64() < m.carryStruct {
		m.carryStruct = max(m.carryStruct-1, 0)
		ops = append(ops, m.structuralOp(now)...)
	}
	if len(ops) == 0 {
		return nil
	}
	// Restores stay first (they were due before the rest); the others in
	// a random order.
	rest := ops[restores:]
	m.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return m.execute(ops)
}

func (m *soakMix) restored(r mixRestore) {
	switch {
	case r.op.kind == "link restore" && r.peer:
		m.peerDown[r.link] = false
	case r.op.kind == "link restore" && strings.Contains(r.op.line, " mtu "):
		m.lowMTU[r.link] = false
	case r.op.kind == "link restore":
		m.down[r.link] = false
	}
}

// execute runs ops as one batch and counts what the kernel refused. ip
// -force reports each failed line ("Command failed -:N") after the
// kernel's message, and goes on.
func (m *soakMix) execute(ops []mixOp) error {
	m.batches++
	var in bytes.Buffer
	for _, op := range ops {
		in.WriteString(op.line)
		in.WriteByte('\n')
	}
	cmd := m.ns.cmd("ip", "-force", "-batch", "-")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	runErr := cmd.Run()
	failed := map[int]string{}
	var msg []string
	lastFailed := false
	for l := range strings.Lines(stderr.String()) {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, "Command failed -:"); ok {
			n, err := strconv.Atoi(rest)
			if err == nil {
				failed[n] = strings.Join(msg, " ")
			}
			msg = msg[:0]
			lastFailed = true
			continue
		}
		if l != "" {
			msg = append(msg, l)
			lastFailed = false
		}
	}
	if runErr != nil && !lastFailed {
		// ip stops at a line it cannot parse: the mix wrote it wrong.
		return fmt.Errorf("mix: ip -batch stopped: %v: %s (batch: %s)", runErr, strings.TrimSpace(stderr.String()),
			strings.ReplaceAll(strings.TrimSpace(in.String()), "\n", "; "))
	}
	for i, op := range ops {
		c := m.counts[op.kind]
		if c == nil {
			c = &mixCount{reasons: map[string]int{}}
			m.counts[op.kind] = c
		}
		c.asked++
		reason, bad := failed[i+1]
		if bad {
			c.refused++
			c.reasons[reasonOf(reason)]++
		}
		if m.log != nil {
			if bad {
				m.log.printf("mix %s  # refused: %s", op.line, reason)
			} else {
				m.log.printf("mix %s", op.line)
			}
		}
	}
	return nil
}

// reasonOf shortens the kernel's message to what names the reason.
func reasonOf(msg string) string {
	msg = strings.TrimPrefix(msg, "Error: ")
	msg = strings.TrimPrefix(msg, "RTNETLINK answers: ")
	if i := strings.Index(msg, " Error: "); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSuffix(msg, ".")
}

func (m *soakMix) pick(n int) int { return m.rng.IntN(n) }

// chance reports true with probability p.
func (m *soakMix) chance(p float64) bool { return m.rng.Float64() < p }

// routeOp makes one route operation.
func (m *soakMix) routeOp() mixOp {
	six := m.chance(0.5)
	fam := "ipv4"
	if six {
		fam = "ipv6"
	}
	verbs := [...]string{"add", "append", "prepend", "replace", "change", "del"}
	weights := [...]int{25, 15, 10, 25, 5, 20}
	verb := verbs[m.weighted(weights[:])]
	if verb == "del" {
		return m.deleteOp(six, fam)
	}
	spec, form := m.routeSpec(six)
	if len(m.recent) < mixRecentRoutes {
		m.recent = append(m.recent, mixSpec{six, spec})
	} else {
		m.recent[m.pick(len(m.recent))] = mixSpec{six, spec}
	}
	return mixOp{kind: fmt.Sprintf("%s route %s %s", fam, verb, form), line: "route " + verb + " " + spec}
}

func (m *soakMix) weighted(ws []int) int {
	total := 0
	for _, w := range ws {
		total += w
	}
	r := m.pick(total)
	for i, w := range ws {
		if r < w {
			return i
		}
		r -= w
	}
	return len(ws) - 1
}

// deleteOp deletes a route: the first of a destination's group, one the
// mix asked for before (named by all its attributes), or, for IPv6, one
// hop of a multipath route.
func (m *soakMix) deleteOp(six bool, fam string) mixOp {
	var cands []string
	for _, s := range m.recent {
		if s.six == six {
			cands = append(cands, s.spec)
		}
	}
	switch r := m.rng.Float64(); {
	case r < 0.5 && len(cands) > 0:
		s := cands[m.pick(len(cands))]
		if six && strings.Contains(s, " nexthop ") && m.chance(0.5) {
			// One hop of a multipath route: the destination's group and
			// the hop's gateway and device.
			head, hops, _ := strings.Cut(s, " nexthop ")
			hop := strings.Split(hops, " nexthop ")
			h := strings.Fields(hop[m.pick(len(hop))])
			var sel []string
			for i := 0; i+1 < len(h); i += 2 {
				if h[i] == "via" || h[i] == "dev" {
					sel = append(sel, h[i], h[i+1])
				}
			}
			return mixOp{kind: fam + " route del one hop", line: "route del " + groupOf(head) + " " + strings.Join(sel, " ")}
		}
		return mixOp{kind: fam + " route del named", line: "route del " + s}
	default:
		dst, table, metric := m.group(six)
		return mixOp{kind: fam + " route del first", line: "route del " + dst + table + metric}
	}
}

// groupOf keeps what names a route's group (destination, table, metric,
// TOS) from a spec.
func groupOf(spec string) string {
	f := strings.Fields(spec)
	var out []string
	for i := 0; i < len(f); i++ {
		switch {
		case i == 0 && slices.Contains(mixTypes[:], f[0]):
		case strings.Contains(f[i], "/"):
			out = append(out, f[i])
		case (f[i] == "table" || f[i] == "metric" || f[i] == "tos") && i+1 < len(f):
			out = append(out, f[i], f[i+1])
			i++
		}
	}
	return strings.Join(out, " ")
}

// group picks a destination, a table and a metric (as ip arguments).
func (m *soakMix) group(six bool) (dst, table, metric string) {
	dst = mixDst4[m.pick(len(mixDst4))]
	if six {
		dst = mixDst6[m.pick(len(mixDst6))]
	}
	if m.chance(0.4) {
		table = fmt.Sprintf(" table %d", mixTable)
	}
	if m.chance(0.4) {
		metric = " metric 100"
	}
	if !six && m.chance(0.05) {
		metric += " tos 0x10"
	}
	return dst, table, metric
}

// routeSpec makes the arguments of a route (everything after the verb)
// and names its form.
func (m *soakMix) routeSpec(six bool) (spec, form string) {
	dst, table, metric := m.group(six)
	var b strings.Builder
	if m.chance(0.25) {
		t := mixTypes[m.pick(len(mixTypes))]
		fmt.Fprintf(&b, "%s %s%s%s", t, dst, table, metric)
		if p := mixProtos[m.pick(len(mixProtos))]; p != "" {
			b.WriteString(" " + p)
		}
		return b.String(), t
	}
	b.WriteString(dst + table + metric)
	if p := mixProtos[m.pick(len(mixProtos))]; p != "" {
		b.WriteString(" " + p)
	}
	l := m.pick(len(mixLinks))
	if m.chance(0.12) {
		// A preferred source: an address of the link, or of another one;
		// it may be gone (the kernel refuses it then).
		sl, n := l, m.pick(3)
		if m.chance(0.3) {
			sl = m.pick(len(mixLinks))
		}
		a := mixAddr4(sl, n)
		if six {
			a = mixAddr6(sl, n)
		}
		b.WriteString(" src " + strings.Split(a, "/")[0])
	}
	if m.chance(0.25) {
		lock := ""
		if m.chance(0.1) {
			lock = "lock "
		}
		fmt.Fprintf(&b, " mtu %s%d", lock, 1280+m.pick(221))
	}
	if six && m.chance(0.05) {
		b.WriteString([...]string{" pref high", " pref low"}[m.pick(2)])
	}
	forms := [...]string{"gateway", "gateway without dev", "device", "multipath", "nhid", "via inet6"}
	weights := [...]int{35, 5, 15, 25, 15, 5}
	if six {
		weights[5] = 0
	}
	form = forms[m.weighted(weights[:])]
	switch form {
	case "gateway":
		gw := m.gateway(six, l)
		fmt.Fprintf(&b, " via %s dev %s", gw, mixLinks[l])
		if !six && m.chance(0.05) {
			b.WriteString(" onlink")
		}
	case "gateway without dev":
		gw := m.gateway(six, l)
		if strings.HasPrefix(gw, "fe80:") {
			gw = mixGateway6(l, 0) // a link-local gateway needs its device
		}
		b.WriteString(" via " + gw)
	case "device":
		b.WriteString(" dev " + mixLinks[l])
	case "via inet6":
		fmt.Fprintf(&b, " via inet6 %s dev %s", mixGateway6(l, m.pick(4)), mixLinks[l])
	case "nhid":
		fmt.Fprintf(&b, " nhid %d", m.nexthopID(six))
	case "multipath":
		hops := 2 + m.pick(2)
		for range hops {
			hl := m.pick(len(mixLinks))
			fmt.Fprintf(&b, " nexthop via %s dev %s", m.gateway(six, hl), mixLinks[hl])
			if m.chance(0.3) {
				fmt.Fprintf(&b, " weight %d", 1+m.pick(4))
			}
		}
	}
	return b.String(), form
}

// gateway picks a gateway of link l: mostly in its first subnet, whose
// address comes and goes less often than the others.
func (m *soakMix) gateway(six bool, l int) string {
	n := m.weighted([]int{45, 35, 10, 10})
	if six {
		return mixGateway6(l, n)
	}
	return mixGateway4(l, min(n, 2))
}

// nexthopID picks the nexthop of a route: mostly one of its family (IPv4
// routes may use IPv6 nexthops too), now and then any.
func (m *soakMix) nexthopID(six bool) int {
	switch {
	case m.chance(0.1):
		return [...]int{1, 2, 3, 4, 5, 6, 20, 21, 22, 23, 24}[m.pick(11)]
	case six:
		return [...]int{4, 5, 22, 23}[m.pick(4)]
	}
	return [...]int{1, 2, 3, 6, 20, 21, 24, 4, 22}[m.pick(9)]
}

// structuralOp makes a nexthop, address or link operation (a group may
// come with its members).
func (m *soakMix) structuralOp(now time.Time) []mixOp {
	switch m.weighted([]int{45, 30, 25}) {
	case 0:
		return m.nexthopOp()
	case 1:
		return []mixOp{m.addressOp()}
	}
	if op, ok := m.linkOp(now); ok {
		return []mixOp{op}
	}
	return nil
}

// nexthopOp makes a nexthop operation. The kernel deletes the nexthops of
// a link that goes down or loses its carrier, so most go as replace,
// which adds a missing one; half the group operations replace their
// members first.
func (m *soakMix) nexthopOp() []mixOp {
	verb := [...]string{"add", "replace", "del"}[m.weighted([]int{25, 55, 20})]
	if m.chance(0.5) {
		id := 1 + m.pick(mixNexthops)
		if verb == "del" {
			// The member of groups, and the nexthop of routes.
			return []mixOp{{kind: "nexthop del", line: fmt.Sprintf("nexthop del id %d", id)}}
		}
		return []mixOp{m.single(verb, id)}
	}
	id := mixGroupFirst + m.pick(mixGroups)
	if verb == "del" {
		return []mixOp{{kind: "nexthop del group", line: fmt.Sprintf("nexthop del id %d", id)}}
	}
	// Groups of one family: 20, 21 and the resilient 24 of the IPv4
	// nexthops, 22 and 23 of the IPv6 ones; now and then any (the kernel
	// refuses what does not mix).
	first, n := 1, mixNexthops4
	if id == 22 || id == 23 {
		first, n = mixNexthops4+1, mixNexthops6-mixNexthops4
	}
	if m.chance(0.1) {
		first, n = 1, mixNexthops
	}
	members := m.rng.Perm(n)[:1+m.pick(n)]
	var ops []mixOp
	withMembers := m.chance(0.5)
	var g []string
	for _, mb := range members {
		if withMembers {
			ops = append(ops, m.single("replace", first+mb))
		}
		s := strconv.Itoa(first + mb)
		if m.chance(0.3) {
			s += "," + strconv.Itoa(1+m.pick(4))
		}
		g = append(g, s)
	}
	line := fmt.Sprintf("nexthop %s id %d group %s", verb, id, strings.Join(g, "/"))
	if id == mixResilientID {
		line += " type resilient buckets 8"
	}
	return append(ops, mixOp{kind: "nexthop " + verb + " group", line: line})
}

// single adds or replaces the single nexthop id, of the kind its ID says.
func (m *soakMix) single(verb string, id int) mixOp {
	l := m.pick(len(mixLinks))
	var what, kind string
	switch {
	case id <= mixNexthops4:
		what, kind = fmt.Sprintf("via %s dev %s", mixGateway4(l, m.pick(2)), mixLinks[l]), "ipv4 gateway"
	case id <= mixNexthops6 && m.chance(0.8):
		what, kind = fmt.Sprintf("via %s dev %s", mixGateway6(l, m.pick(2)), mixLinks[l]), "ipv6 gateway"
	case id <= mixNexthops6:
		what, kind = "via fe80::2 dev "+mixLinks[l], "ipv6 link-local gateway"
	case m.chance(0.5):
		what, kind = "dev "+mixLinks[l], "device"
	default:
		what, kind = "blackhole", "blackhole"
	}
	return mixOp{kind: "nexthop " + verb + " " + kind, line: fmt.Sprintf("nexthop %s id %d %s", verb, id, what)}
}

func (m *soakMix) addressOp() mixOp {
	l := m.pick(len(mixLinks))
	n := m.pick(3)
	if m.chance(0.03) {
		return mixOp{kind: "address flush", line: "address flush dev " + mixLinks[l]}
	}
	verb := "add"
	if m.chance(0.4) {
		verb = "del"
	}
	if m.chance(0.5) {
		return mixOp{kind: "ipv4 address " + verb, line: fmt.Sprintf("address %s %s dev %s", verb, mixAddr4(l, n), mixLinks[l])}
	}
	line := fmt.Sprintf("address %s %s dev %s", verb, mixAddr6(l, n), mixLinks[l])
	if verb == "add" && m.chance(0.85) {
		line += " nodad"
	}
	return mixOp{kind: "ipv6 address " + verb, line: line}
}

// linkOp takes a link down, its peer down (its carrier goes) or its MTU
// below IPv6's minimum for a while, changes its MTU, or enslaves the port
// to the bridge or releases it.
func (m *soakMix) linkOp(now time.Time) (mixOp, bool) {
	l := m.pick(len(mixLinks))
	name := mixLinks[l]
	back := now.Add(m.uniform(100*time.Millisecond, 2*time.Second))
	switch m.weighted([]int{25, 20, 25, 5, 25}) {
	case 0:
		if m.down[l] {
			return mixOp{}, false
		}
		m.down[l] = true
		m.restores = append(m.restores, mixRestore{at: back, link: l, op: mixOp{kind: "link restore", line: "link set " + name + " up"}},
			m.readdress6(back, l))
		return mixOp{kind: "link down", line: "link set " + name + " down"}, true
	case 1:
		p := mixPeers[l]
		if p == "" || m.peerDown[l] {
			return mixOp{}, false
		}
		m.peerDown[l] = true
		m.restores = append(m.restores, mixRestore{at: back, link: l, peer: true, op: mixOp{kind: "link restore", line: "link set " + p + " up"}})
		return mixOp{kind: "link carrier off (peer down)", line: "link set " + p + " down"}, true
	case 2:
		if m.lowMTU[l] {
			return mixOp{}, false
		}
		return mixOp{kind: "link mtu", line: fmt.Sprintf("link set %s mtu %d", name, 1280+m.pick(221))}, true
	case 3:
		if m.lowMTU[l] {
			return mixOp{}, false
		}
		m.lowMTU[l] = true
		m.restores = append(m.restores, mixRestore{at: back, link: l, op: mixOp{kind: "link restore", line: "link set " + name + " mtu 1500"}},
			m.readdress6(back, l))
		return mixOp{kind: "link mtu below IPv6's minimum", line: "link set " + name + " mtu 1200"}, true
	}
	if m.enslaved {
		m.enslaved = false
		return mixOp{kind: "bridge release", line: "link set " + mixLinks[mixPort] + " nomaster"}, true
	}
	m.enslaved = true
	return mixOp{kind: "bridge enslave", line: fmt.Sprintf("link set %s master %s", mixLinks[mixPort], mixLinks[mixBridge])}, true
}

// readdress6 gives link l its first IPv6 address back after the kernel
// took them all (a link down, with keep_addr_on_down off, or an MTU below
// 1280): without it, IPv6 gateways on the link would stay unreachable.
func (m *soakMix) readdress6(at time.Time, l int) mixRestore {
	return mixRestore{at: at, link: l, op: mixOp{kind: "link restore address",
		line: fmt.Sprintf("address add %s dev %s nodad", mixAddr6(l, 0), mixLinks[l])}}
}

// asked and refused total the counts.
func (m *soakMix) totals() (asked, refused int) {
	for _, c := range m.counts {
		asked += c.asked
		refused += c.refused
	}
	return asked, refused
}

// soakLog is the soak's optional log of what it did (NLRX_SOAK_LOG=FILE):
// every line the mix ran, with the kernel's refusals, the checkpoints, and
// the events of every verification that repaired a watcher's table, each
// with its time into the soak: what a reproduction starts from.
type soakLog struct {
	mu    sync.Mutex
	w     io.WriteCloser
	start time.Time
}

// openSoakLog opens the log named by NLRX_SOAK_LOG, or returns nil.
func openSoakLog() (*soakLog, error) {
	path := os.Getenv("NLRX_SOAK_LOG")
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("soak: NLRX_SOAK_LOG: %w", err)
	}
	return &soakLog{w: f, start: time.Now()}, nil
}

func (l *soakLog) printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%9.3f ", time.Since(l.start).Seconds())
	fmt.Fprintf(l.w, format, args...)
	fmt.Fprintln(l.w)
}

func (l *soakLog) close() {
	if l != nil {
		l.w.Close()
	}
}
