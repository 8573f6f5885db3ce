//go:build linux

package watch_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// The differential test drives a private namespace with random ip(8)
// commands — routes added, appended, prepended, replaced, changed, deleted
// and flushed across types, tables, metrics, TOS, gateways, multipath and
// nexthop objects; addresses added, deleted and flushed; links down and up,
// their carrier, MTU and bridge membership; nexthop objects added,
// replaced and deleted — and after each one requires the route watcher's
// table (and a fresh dump) to equal the kernel's as ip shows it, compared
// as multisets (fibChecker). What the kernel refuses is logged and
// skipped: the reference is whatever the kernel did. The commands and the
// queries go through long-running `ip -batch` processes (fibShell): an exec
// per command would cost more than the comparison.
//
// A plain run makes about 10,000 actions (-rapid.checks × -rapid.steps,
// 100 × 100 unless given; 60 × 100 under -race, which makes it about 2.5
// times slower), and stops starting checks after 150 s
// (NLRX_DIFF_BUDGET) so that a loaded machine does not stall CI.
// NLRX_DIFF_LONG=N makes one run of N actions instead, compared every 100
// actions and at the end, for example
//
//	NLRX_DIFF_LONG=200000 go test -run Differential -timeout 3h ./stream/watch/
//
// NLRX_DIFF_KINDS=route4,link keeps only the actions whose names start
// with one of the given words. A failure logs the shrunk sequence of ip
// commands that the kernel applied (and -rapid.seed to replay it).

// diffLink is one veth pair of the test network: name is the end the
// routes use, peer the other end (its state is name's carrier).
type diffLink struct {
	name, peer string
	v4, v6     string // subnet prefixes: v4+".1/24", v6+"::1/64"
}

var diffLinks = []diffLink{
	{"v0", "v1", "192.0.2", "2001:db8:1"},
	{"v2", "v3", "198.51.100", "2001:db8:2"},
	{"v4", "v5", "203.0.113", "2001:db8:3"},
}

var (
	diffDsts4 = []string{"198.18.1.0/24", "198.18.2.0/24", "198.18.0.0/16", "198.18.1.1", "default"}
	diffDsts6 = []string{"2001:db8:101::/64", "2001:db8:102::/64", "2001:db8:100::/48", "2001:db8:101::1", "default"}
)

// fibShell is a long-running `ip -force -batch -` in a namespace, so a
// command costs a line written and read instead of an exec. Each command is
// followed by one that fails with a known message, which marks the end of
// the command's output (standard output and error share one pipe, so the
// order holds). ip exits on some malformed arguments; the shell then
// reports the command as refused and starts again.
type fibShell struct {
	start func() (*exec.Cmd, io.WriteCloser, *os.File, error)
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	r     *os.File
}

const fibSentinel = "nlrx-sentinel" // no link has this name

func startFibShell(cmd func(string, ...string) *exec.Cmd, opts ...string) (*fibShell, error) {
	s := &fibShell{start: func() (*exec.Cmd, io.WriteCloser, *os.File, error) {
		c := cmd("ip", append(slices.Clone(opts), "-force", "-batch", "-")...)
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, nil, err
		}
		c.Stdout, c.Stderr = w, w
		in, err := c.StdinPipe()
		if err == nil {
			err = c.Start()
		}
		w.Close()
		if err != nil {
			r.Close()
			return nil, nil, nil, err
		}
		return c, in, r, nil
	}}
	return s, s.restart()
}

func (s *fibShell) restart() error {
	c, in, r, err := s.start()
	if err != nil {
		return err
	}
	s.cmd, s.in, s.r, s.out = c, in, r, bufio.NewReaderSize(r, 256<<10)
	return nil
}

// run runs one command line and returns what it printed; err is set when
// ip reported a failure.
func (s *fibShell) run(line string) ([]byte, error) {
	if _, err := fmt.Fprintf(s.in, "%s\nlink show dev %s\n", line, fibSentinel); err != nil {
		return nil, fmt.Errorf("ip -batch: %w", err)
	}
	var out []byte
	failed := false
	for {
		l, err := s.out.ReadBytes('\n')
		if err != nil {
			out = append(out, l...)
			s.close()
			if rerr := s.restart(); rerr != nil {
				return out, fmt.Errorf("ip -batch exited on %q and cannot start again: %w", line, rerr)
			}
			return out, fmt.Errorf("ip %s: %s", line, bytes.TrimSpace(out))
		}
		if bytes.Contains(l, []byte(`"`+fibSentinel+`"`)) {
			if _, err := s.out.ReadBytes('\n'); err != nil { // its "Command failed"
				return nil, fmt.Errorf("ip -batch: %w", err)
			}
			break
		}
		if bytes.HasPrefix(l, []byte("Command failed")) {
			failed = true
			continue
		}
		out = append(out, l...)
	}
	if failed {
		return out, fmt.Errorf("ip %s: %s", line, bytes.TrimSpace(out))
	}
	return out, nil
}

func (s *fibShell) close() {
	s.in.Close()
	s.cmd.Wait()
	s.r.Close()
}

// diffNS is a namespace made for one rapid check (nstest's are tied to a
// *testing.T and would live until the whole test ends).
type diffNS struct {
	ns *nl.NetNS
}

func (d *diffNS) cmd(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + d.ns.Path(), "--", name}, args...)...)
}

// diffMachine is the state of one check.
type diffMachine struct {
	ns      *diffNS
	fc      *fibChecker
	log     []string // the ip commands applied, as one could type them
	every   int      // compare after this many actions
	since   int      // actions since the last comparison
	actions int
	bridge  bool // br0 exists

	sh, sh4, sh6 *fibShell // ip -j, ip -j -4, ip -j -6

	inIP, inCompare time.Duration

	synMu sync.Mutex
	synOn bool     // the snapshot is complete
	syn   []string // synthetic events since
	// lastCmd and lastAt are the number of the last ip command applied
	// (its line in the log, from 1) and when it was sent, under synMu: each
	// synthetic event is stamped with them, which tells a rule's events
	// (right after the command that triggers them) from a verification's
	// repairs (after its dump), and a race from a rule.
	lastCmd int
	lastAt  time.Time
	verifs  uint64 // Stats.Verifications when the last event was stamped
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// diffFailed is set once a comparison failed in this process.
var diffFailed atomic.Bool

// diffStats adds up the runs of one test, for the rate.
type diffStats struct {
	mu              sync.Mutex
	checks, actions int
	compares, polls int
	overBudget      int           // checks left out once the time budget was spent
	busy            time.Duration // in actions and comparisons, setup left out
	inIP, inCompare time.Duration
	setup           time.Duration
}

func (m *diffMachine) ip(t *rapid.T, args ...string) {
	t0 := time.Now()
	defer func() { m.inIP += time.Since(t0) }()
	// A batch line cannot carry -4 or -6: each family has its shell.
	sh := m.sh
	switch args[0] {
	case "-4":
		sh = m.sh4
	case "-6":
		sh = m.sh6
	}
	rest := args
	if sh != m.sh {
		rest = args[1:]
	}
	m.synMu.Lock()
	m.lastCmd, m.lastAt = len(m.log)+1, time.Now()
	m.synMu.Unlock()
	_, err := sh.run(strings.Join(rest, " "))
	line := "ip " + strings.Join(args, " ")
	if err != nil {
		_, msg, _ := strings.Cut(err.Error(), ": ")
		line += "   # refused: " + strings.Join(strings.Fields(msg), " ")
	}
	m.log = append(m.log, line)
	m.actions++
	t.Log(line)
}

func (m *diffMachine) link(t *rapid.T) diffLink {
	return rapid.SampledFrom(diffLinks).Draw(t, "link")
}

func (m *diffMachine) gateway(t *rapid.T, fam int, l diffLink) []string {
	if fam == 4 {
		switch rapid.IntRange(0, 5).Draw(t, "gw") {
		case 0:
			return []string{"via", "inet6", l.v6 + "::2", "dev", l.name}
		case 1:
			return []string{"via", l.v4 + ".9", "dev", l.name, "onlink"}
		case 2, 3:
			return []string{"via", l.v4 + ".2"}
		}
		return []string{"via", l.v4 + ".3", "dev", l.name}
	}
	switch rapid.IntRange(0, 3).Draw(t, "gw") {
	case 0:
		return []string{"via", "fe80::2", "dev", l.name}
	case 1:
		return []string{"via", l.v6 + "::2"}
	}
	return []string{"via", l.v6 + "::3", "dev", l.name}
}

// nexthop draws where a unicast route goes.
func (m *diffMachine) nexthop(t *rapid.T, fam int) []string {
	switch rapid.IntRange(0, 5).Draw(t, "nexthop") {
	case 0, 1:
		return m.gateway(t, fam, m.link(t))
	case 2:
		return []string{"dev", m.link(t).name}
	case 3, 4:
		var args []string
		for range rapid.IntRange(2, 3).Draw(t, "hops") {
			args = append(args, "nexthop")
			args = append(args, m.gateway(t, fam, m.link(t))...)
			if w := rapid.IntRange(0, 3).Draw(t, "weight"); w > 0 {
				args = append(args, "weight", strconv.Itoa(w))
			}
		}
		return args
	}
	return []string{"nhid", rapid.SampledFrom([]string{"1", "2", "3", "4", "10", "11"}).Draw(t, "nhid")}
}

func (m *diffMachine) route(t *rapid.T, fam int) {
	args := []string{"-4"} // "default" and "via inet6" would make an IPv6 route without it
	if fam == 6 {
		args = []string{"-6"}
	}
	verb := rapid.SampledFrom([]string{"add", "add", "append", "prepend", "replace", "replace", "change", "del", "del", "flush"}).Draw(t, "verb")
	args = append(args, "route", verb)
	table := rapid.SampledFrom([]string{"", "", "100", "200"}).Draw(t, "table")
	if verb == "flush" {
		if table == "" {
			dsts := diffDsts4
			if fam == 6 {
				dsts = diffDsts6
			}
			args = append(args, rapid.SampledFrom(dsts[:3]).Draw(t, "dst"))
		} else {
			args = append(args, "table", table)
		}
		m.ip(t, args...)
		return
	}
	typ := rapid.SampledFrom([]string{"unicast", "unicast", "unicast", "unicast", "blackhole", "unreachable", "prohibit", "local", "throw"}).Draw(t, "type")
	if typ != "unicast" {
		args = append(args, typ)
	}
	dsts := diffDsts4
	if fam == 6 {
		dsts = diffDsts6
	}
	args = append(args, rapid.SampledFrom(dsts).Draw(t, "dst"))
	if table != "" {
		args = append(args, "table", table)
	}
	if metric := rapid.SampledFrom([]string{"", "", "10", "1024"}).Draw(t, "metric"); metric != "" {
		args = append(args, "metric", metric)
	}
	if fam == 4 {
		if tos := rapid.SampledFrom([]string{"", "", "", "0x10"}).Draw(t, "tos"); tos != "" {
			args = append(args, "tos", tos)
		}
	}
	if verb == "del" && rapid.Bool().Draw(t, "bare del") {
		m.ip(t, args...)
		return
	}
	if verb != "del" {
		// Before the next hops: ip takes nothing after a "nexthop" list.
		switch rapid.IntRange(0, 7).Draw(t, "extra") {
		case 0:
			args = append(args, "mtu", "1400")
		case 1:
			args = append(args, "mtu", "1300", "advmss", "1200")
		case 2:
			l := m.link(t)
			if fam == 4 {
				args = append(args, "src", l.v4+".1")
			} else {
				args = append(args, "src", l.v6+"::1")
			}
		case 3:
			args = append(args, "proto", "static")
		}
	}
	switch typ {
	case "unicast":
		args = append(args, m.nexthop(t, fam)...)
	case "local":
		args = append(args, "dev", m.link(t).name)
	}
	m.ip(t, args...)
}

func (m *diffMachine) address(t *rapid.T) {
	l := m.link(t)
	fam := rapid.SampledFrom([]int{4, 6}).Draw(t, "family")
	// Adds outnumber deletions so that gateways stay reachable often
	// enough for routes to be accepted.
	verb := rapid.SampledFrom([]string{"add", "add", "add", "del", "del", "add", "del", "flush"}).Draw(t, "verb")
	famOpt := "-4"
	if fam == 6 {
		famOpt = "-6"
	}
	if verb == "flush" {
		m.ip(t, famOpt, "addr", "flush", "dev", l.name)
		return
	}
	var addr string
	if fam == 4 {
		addr = rapid.SampledFrom([]string{l.v4 + ".1/24", l.v4 + ".5/24", l.v4 + ".129/25"}).Draw(t, "addr")
	} else {
		addr = rapid.SampledFrom([]string{l.v6 + "::1/64", l.v6 + "::5/64", l.v6 + ":1::1/80"}).Draw(t, "addr")
	}
	args := []string{famOpt, "addr", verb, addr, "dev", l.name}
	if verb == "add" {
		if rapid.IntRange(0, 3).Draw(t, "metric") == 0 {
			args = append(args, "metric", "257")
		}
		if fam == 6 {
			args = append(args, "nodad")
		}
	}
	m.ip(t, args...)
}

func (m *diffMachine) linkChange(t *rapid.T) {
	l := m.link(t)
	// Down is rarer than up: most routes need their link up to be added.
	switch rapid.IntRange(0, 11).Draw(t, "change") {
	case 0:
		m.ip(t, "link", "set", l.name, "down")
	case 1, 2, 3:
		m.ip(t, "link", "set", l.name, "up")
	case 4:
		m.ip(t, "link", "set", l.peer, "down") // l loses its carrier
	case 5, 6:
		m.ip(t, "link", "set", l.peer, "up")
	case 7, 8:
		m.ip(t, "link", "set", l.name, "mtu", rapid.SampledFrom([]string{"1280", "1400", "1500"}).Draw(t, "mtu"))
	case 9, 10:
		if !m.bridge {
			m.ip(t, "link", "set", l.peer, "up")
			return
		}
		m.ip(t, "link", "set", l.name, "master", "br0")
	default:
		m.ip(t, "link", "set", l.name, "nomaster")
	}
}

func (m *diffMachine) nexthopObject(t *rapid.T) {
	verb := rapid.SampledFrom([]string{"add", "add", "replace", "del"}).Draw(t, "verb")
	group := rapid.IntRange(0, 2).Draw(t, "group") == 0
	if group {
		id := rapid.SampledFrom([]string{"10", "11"}).Draw(t, "id")
		if verb == "del" {
			m.ip(t, "nexthop", "del", "id", id)
			return
		}
		members := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"1", "2", "3", "4"}), 1, 3, rapid.ID[string]).Draw(t, "members")
		for i := range members {
			if w := rapid.IntRange(1, 3).Draw(t, "weight"); w > 1 {
				members[i] += "," + strconv.Itoa(w)
			}
		}
		m.ip(t, "nexthop", verb, "id", id, "group", strings.Join(members, "/"))
		return
	}
	id := rapid.SampledFrom([]string{"1", "2", "3", "4"}).Draw(t, "id")
	if verb == "del" {
		m.ip(t, "nexthop", "del", "id", id)
		return
	}
	l := m.link(t)
	switch rapid.IntRange(0, 4).Draw(t, "kind") {
	case 0, 1:
		m.ip(t, "nexthop", verb, "id", id, "via", l.v4+".2", "dev", l.name)
	case 2:
		m.ip(t, "nexthop", verb, "id", id, "via", l.v6+"::2", "dev", l.name)
	case 3:
		m.ip(t, "nexthop", verb, "id", id, "dev", l.name)
	default:
		if rapid.Bool().Draw(t, "v6") {
			m.ip(t, "-6", "nexthop", verb, "id", id, "blackhole")
		} else {
			m.ip(t, "nexthop", verb, "id", id, "blackhole")
		}
	}
}

// compare fails the check if the watcher or a fresh dump differs from the
// kernel once the wait is over.
func (m *diffMachine) compare(t *rapid.T, st *diffStats) {
	m.since = 0
	t0 := time.Now()
	res, err := m.fc.converge()
	m.inCompare += time.Since(t0)
	st.mu.Lock()
	st.compares++
	st.mu.Unlock()
	if err != nil {
		t.Fatalf("the test cannot compare: %v", err)
	}
	if res.ok() {
		// Right, but by the model's rules or by a verification's repairs?
		ws := m.fc.w.Stats()
		if !diffStrict || ws.Repairs == 0 && ws.Collisions == 0 {
			return
		}
		m.synMu.Lock()
		// To stderr: rapid shows the log of its last replay only, and a
		// repair may depend on timing.
		fmt.Fprintf(os.Stderr, "differential: after %d actions: stats %+v; synthetic events after the snapshot (rules and repairs):\n  %s\nthe ip commands:\n  %s\n",
			m.actions, ws, strings.Join(m.syn, "\n  "), numbered(m.log))
		m.synMu.Unlock()
		m.fail(t, "the table equals the kernel's, but verifications repaired entries or counted collisions: a kernel rule the model missed")
	}
	m.fail(t, res.report())
}

// numbered joins the log's lines, each with its number (the synthetic
// events' stamps name them).
func numbered(log []string) string {
	var b strings.Builder
	for i, l := range log {
		if i > 0 {
			b.WriteString("\n  ")
		}
		fmt.Fprintf(&b, "#%d %s", i+1, l)
	}
	return b.String()
}

// diffStrict (NLRX_DIFF_STRICT=1) fails a check whose table was right only
// thanks to a verification's repairs: the model missed a kernel rule. Off by
// default until the rules it still finds are followed (see the issue 12 note).
var diffStrict = os.Getenv("NLRX_DIFF_STRICT") == "1"

// fail logs the ip commands applied and fails the check with msg.
func (m *diffMachine) fail(t *rapid.T, msg string) {
	diffFailed.Store(true)
	// What the kernel refused changed nothing: the sequence to replay is
	// the rest.
	var seq []string
	refused := 0
	for _, l := range m.log {
		if strings.Contains(l, "# refused") {
			refused++
			continue
		}
		seq = append(seq, l)
	}
	if len(seq) > 300 {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("nlrx-differential-%d.log", time.Now().UnixNano()))
		if err := os.WriteFile(path, []byte(strings.Join(m.log, "\n")+"\n"), 0o644); err == nil {
			t.Logf("all %d ip commands are in %s", len(m.log), path)
		}
		seq = seq[len(seq)-300:]
	}
	// The sequence goes to the log and the message stays short: rapid
	// keeps a smaller case only if it fails with the same message, and the
	// kernel refuses a command or two more or less from run to run.
	t.Logf("the ip commands applied (%d shown; %d refused by the kernel left out):\n  %s",
		len(seq), refused, strings.Join(seq, "\n  "))
	// The count stays out of the message: rapid keeps a shorter case only
	// if it fails with the same message.
	t.Logf("after %d actions", m.actions)
	t.Fatalf("%s", msg)
}

// diffSetup is the network each check starts from, applied in one batch
// after the watcher is ready.
func diffSetup() []string {
	var lines []string
	for _, l := range diffLinks {
		lines = append(lines,
			"link add "+l.name+" type veth peer name "+l.peer,
			"link set "+l.name+" up",
			"link set "+l.peer+" up",
			"addr add "+l.v4+".1/24 dev "+l.name,
			"addr add "+l.v6+"::1/64 dev "+l.name+" nodad",
		)
	}
	return lines
}

// setFlagDefault sets a flag unless the command line or the environment
// did.
func setFlagDefault(name, env, value string) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if _, ok := os.LookupEnv(env); ok || set {
		return
	}
	flag.Set(name, value)
}

func TestRouteWatcherDifferential(t *testing.T) {
	long, _ := strconv.Atoi(os.Getenv("NLRX_DIFF_LONG"))
	setFlagDefault("rapid.nofailfile", "RAPID_NOFAILFILE", "true") // no testdata/rapid in the tree
	setFlagDefault("rapid.shrinktime", "RAPID_SHRINKTIME", "60s")  // a replay takes a second or two
	// A fixed seed, so that a run of the test suite is a repeatable
	// check (CI must not pass or fail by chance); RAPID_SEED=0 or
	// -rapid.seed=0 draws a new one, to explore.
	setFlagDefault("rapid.seed", "RAPID_SEED", "20261201")
	budget := 150 * time.Second
	switch {
	case long > 0:
		setFlagDefault("rapid.checks", "RAPID_CHECKS", "1")
		budget = 0
	case raceEnabled():
		// The race detector makes a run about 2.5 times slower (59
		// actions/s against 142 on this 2-core machine): 6,000 fit.
		setFlagDefault("rapid.checks", "RAPID_CHECKS", "60")
		setFlagDefault("rapid.steps", "RAPID_STEPS", "100")
	default:
		setFlagDefault("rapid.checks", "RAPID_CHECKS", "100")
		setFlagDefault("rapid.steps", "RAPID_STEPS", "100")
	}
	if s := os.Getenv("NLRX_DIFF_BUDGET"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("NLRX_DIFF_BUDGET=%s: %v", s, err)
		}
		budget = d
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("needs nsenter")
	}
	probe := func() error {
		ns, err := nl.NewNetNS()
		if err != nil {
			return err
		}
		return ns.Close()
	}
	if err := probe(); err != nil {
		t.Skipf("cannot make a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	var kinds []string
	if s := os.Getenv("NLRX_DIFF_KINDS"); s != "" {
		kinds = strings.Split(s, ",")
	}
	st := &diffStats{}
	started := time.Now()
	t.Cleanup(func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		rate := 0.0
		if st.busy > 0 {
			rate = float64(st.actions) / st.busy.Seconds()
		}
		t.Logf("%d checks, %d actions, %d comparisons in %v (setup %v, ip %v, comparisons %v, %d polls): %.0f actions/s, %.0f actions/s with setup",
			st.checks, st.actions, st.compares, time.Since(started).Round(time.Millisecond), st.setup.Round(time.Millisecond),
			st.inIP.Round(time.Millisecond), st.inCompare.Round(time.Millisecond), st.polls,
			rate, float64(st.actions)/time.Since(started).Seconds())
		if st.overBudget > 0 {
			t.Logf("the time budget (%v, NLRX_DIFF_BUDGET) was spent: %d checks left out", budget, st.overBudget)
		}
	})
	rapid.Check(t, func(t *rapid.T) {
		if budget > 0 && time.Since(started) > budget && !diffFailed.Load() {
			// Out of time on a loaded machine: the checks left do nothing
			// (and are counted apart), rather than make CI wait.
			st.mu.Lock()
			st.overBudget++
			st.mu.Unlock()
			return
		}
		t0 := time.Now()
		m := diffStart(t, long > 0)
		actions := map[string]func(*rapid.T){
			"route4":   func(t *rapid.T) { m.route(t, 4) },
			"route4 ":  func(t *rapid.T) { m.route(t, 4) }, // twice as likely as the others
			"route6":   func(t *rapid.T) { m.route(t, 6) },
			"route6 ":  func(t *rapid.T) { m.route(t, 6) },
			"address":  m.address,
			"link":     m.linkChange,
			"nexthop":  m.nexthopObject,
			"nexthop ": m.nexthopObject,
		}
		if kinds != nil {
			for k := range actions {
				if !slices.ContainsFunc(kinds, func(p string) bool { return strings.HasPrefix(k, p) }) {
					delete(actions, k)
				}
			}
			if len(actions) == 0 {
				t.Fatalf("NLRX_DIFF_KINDS=%s keeps no action", os.Getenv("NLRX_DIFF_KINDS"))
			}
		}
		t1 := time.Now()
		defer func() {
			st.mu.Lock()
			st.checks++
			st.actions += m.actions
			st.busy += time.Since(t1)
			st.setup += t1.Sub(t0)
			st.inIP += m.inIP
			st.inCompare += m.inCompare
			st.polls += m.fc.polls
			st.mu.Unlock()
		}()
		if long == 0 {
			actions[""] = func(t *rapid.T) {
				if m.since++; m.since >= m.every {
					m.compare(t, st)
				}
			}
			t.Repeat(actions)
			return
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range actions {
				if !yield(k) {
					return
				}
			}
		})
		for i := range long {
			actions[rapid.SampledFrom(keys).Draw(t, "action")](t)
			if m.since++; m.since >= m.every {
				m.compare(t, st)
			}
			if i%10000 == 9999 {
				fmt.Fprintf(os.Stderr, "differential: %d/%d actions, %v\n", i+1, long, time.Since(t1).Round(time.Second))
			}
		}
		m.compare(t, st)
		refused := 0
		for _, l := range m.log {
			if strings.Contains(l, "# refused") {
				refused++
			}
		}
		fmt.Fprintf(os.Stderr, "differential: %d actions (%d ip commands, %d refused by the kernel), tables equal at every comparison; watcher stats %+v\n",
			long, len(m.log), refused, m.fc.w.Stats())
	})
}

// diffStart makes the namespace, starts the watcher, builds the network and
// checks the start.
func diffStart(t *rapid.T, long bool) *diffMachine {
	h, err := nl.NewNetNS()
	if err != nil {
		t.Fatalf("namespace: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	ns := &diffNS{ns: h}
	m := &diffMachine{ns: ns, every: 1}
	if long {
		m.every = 100
	}
	compat := rapid.SampledFrom([]string{"1", "0"}).Draw(t, "nexthop_compat_mode")
	for _, kv := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
		"net.ipv4.nexthop_compat_mode=" + compat} {
		if out, err := ns.cmd("sysctl", "-qw", kv).CombinedOutput(); err != nil {
			if !nstest.InUserNS() {
				t.Fatalf("sysctl %s: %v: %s", kv, err, out)
			}
			// Some are the initial user namespace's to set: go on with the
			// kernel's default.
			m.log = append(m.log, "# sysctl -w "+kv+": "+strings.TrimSpace(string(out)))
			continue
		}
		m.log = append(m.log, "sysctl -w "+kv)
	}
	if out, err := ns.cmd("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	m.log = append(m.log, "ip link set lo up")
	w, err := watch.Routes(watch.WithNetNS(h.Path()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	// The synthetic events after the snapshot (rules and repairs), for
	// the message of a check that finds repairs.
	subscribed := make(chan struct{})
	go w.Events(stream.OnSubscribe(func() { close(subscribed) })).Subscribe(context.Background(), stream.ObserverFuncs[watch.Event[rtnl.Route]]{
		OnNext: func(e watch.Event[rtnl.Route]) error {
			m.synMu.Lock()
			defer m.synMu.Unlock()
			// [command, time since it was sent, verifications started
			// since the last stamped event]
			stamp := func() string {
				v := w.Stats().Verifications
				st := fmt.Sprintf("[#%d +%v v+%d] ", m.lastCmd, time.Since(m.lastAt).Round(100*time.Microsecond), v-m.verifs)
				m.verifs = v
				return st
			}
			switch {
			case e.Kind == watch.SnapshotComplete:
				m.synOn = true
			case m.synOn && e.Synthetic && e.Kind == watch.Changed:
				m.syn = append(m.syn, stamp()+fmt.Sprintf("changed %s (flags %#x, hops %+v; was %s, flags %#x, hops %+v)", e.Value.String(), e.Value.Flags, e.Value.Multipath, e.Old.String(), e.Old.Flags, e.Old.Multipath))
			case m.synOn && e.Synthetic:
				m.syn = append(m.syn, stamp()+e.Kind.String()+" "+e.Value.String())
			}
			return nil
		},
	})
	<-subscribed
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := nl.DialRoute(nl.WithNetNS(h.Path()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, sh := range []struct {
		p    **fibShell
		opts []string
	}{{&m.sh, []string{"-j"}}, {&m.sh4, []string{"-j", "-4"}}, {&m.sh6, []string{"-j", "-6"}}} {
		s, err := startFibShell(ns.cmd, sh.opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.close)
		*sh.p = s
	}
	q := func(family string, args ...string) ([]byte, error) {
		switch family {
		case "-4":
			return m.sh4.run(strings.Join(args, " "))
		case "-6":
			return m.sh6.run(strings.Join(args, " "))
		}
		return m.sh.run(strings.Join(args, " "))
	}
	// A difference that has not moved for 2 s is a failure; once one was
	// seen, rapid replays shorter and shorter sequences to shrink it, and
	// half a second will do.
	stable := 2 * time.Second
	if diffFailed.Load() {
		stable = 500 * time.Millisecond
	}
	m.fc = &fibChecker{q: q, w: w, conn: conn, wait: fibWait, stable: stable}

	setup := diffSetup()
	bc := ns.cmd("ip", "-batch", "-")
	bc.Stdin = strings.NewReader(strings.Join(setup, "\n") + "\n")
	if out, err := bc.CombinedOutput(); err != nil {
		t.Fatalf("setup: %v: %s", err, out)
	}
	for _, l := range setup {
		m.log = append(m.log, "ip "+l)
	}
	if err := ns.cmd("ip", "link", "add", "br0", "type", "bridge").Run(); err == nil {
		m.bridge = true
		if out, err := ns.cmd("ip", "link", "set", "br0", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set br0 up: %v: %s", err, out)
		}
		m.log = append(m.log, "ip link add br0 type bridge", "ip link set br0 up")
	}
	names, err := fibLinkNames(q)
	if err != nil {
		t.Fatal(err)
	}
	m.fc.names = names
	for _, l := range m.log {
		t.Log(l)
	}
	res, err := m.fc.converge()
	if err != nil {
		t.Fatalf("the test cannot compare: %v", err)
	}
	if !res.ok() {
		t.Fatalf("after the setup: %s", res.report())
	}
	return m
}
