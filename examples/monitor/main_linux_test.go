//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// syncBuffer is a bytes.Buffer the monitor writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSuffix(s.b.String(), "\n"), "\n")
}

// start runs the monitor on ns until the test ends and returns its output
// once every watcher has its snapshot.
func start(t *testing.T, ns *nstest.NS, asJSON bool) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, config{netns: ns.Path(), json: asJSON, kinds: kinds, ready: ready}, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the monitor did not stop")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no snapshot")
	}
	return out
}

// waitLine waits for a line of out that matches re, after the first skip
// lines, and returns the index after it.
func waitLine(t *testing.T, out *syncBuffer, skip int, re string) int {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for {
		lines := out.lines()
		for i := skip; i < len(lines); i++ {
			if rx.MatchString(lines[i]) {
				return i + 1
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matches %q; the monitor printed:\n%s", re, strings.Join(lines, "\n"))
		}
		time.Sleep(5 * time.Millisecond) // polls the output; the watchers print when the kernel tells them
	}
}

// Each ip command's change is printed with its kind, in ip's form, and so
// are the changes the kernel makes without a notification (the route an
// address takes with it), which ip monitor does not show.
func TestMonitorPrintsEveryKindOfChange(t *testing.T) {
	ns := nstest.New(t)
	out := start(t, ns, false)
	steps := []struct {
		cmd  []string
		want string // a regular expression for one line
	}{
		{[]string{"link", "add", "v0", "type", "veth", "peer", "name", "v1"}, `^\[LINK\]\d+: v0@v1: `},
		{[]string{"link", "set", "v0", "up"}, `^\[LINK\]\d+: v0@v1: <.*UP`},
		{[]string{"link", "set", "v1", "up"}, `^\[LINK\]\d+: v1@v0: <.*UP`},
		{[]string{"addr", "add", "192.0.2.1/24", "dev", "v0"}, `^\[ADDR\].*inet 192\.0\.2\.1/24 .*v0`},
		{[]string{"route", "add", "198.51.100.0/24", "via", "192.0.2.2"}, `^\[ROUTE\]198\.51\.100\.0/24 via 192\.0\.2\.2 dev v0`},
		{[]string{"-6", "route", "add", "2001:db8:5::/64", "dev", "v0", "metric", "7"}, `^\[ROUTE\]2001:db8:5::/64 dev v0 .*metric 7`},
		{[]string{"neigh", "add", "192.0.2.9", "lladdr", "02:00:00:00:00:09", "dev", "v0", "nud", "permanent"}, `^\[NEIGH\]192\.0\.2\.9 dev v0 lladdr 02:00:00:00:00:09 PERMANENT`},
		{[]string{"rule", "add", "from", "10.0.0.0/8", "lookup", "100", "pref", "1000"}, `^\[RULE\]1000:\s+from 10\.0\.0\.0/8 lookup 100`},
		{[]string{"nexthop", "add", "id", "7", "via", "192.0.2.2", "dev", "v0"}, `^\[NEXTHOP\]id 7 via 192\.0\.2\.2 dev v0`},
		{[]string{"route", "add", "203.0.113.0/24", "nhid", "7"}, `^\[ROUTE\]203\.0\.113\.0/24 nhid 7`},
		{[]string{"rule", "del", "pref", "1000"}, `^\[RULE\]Deleted 1000:\s+from 10\.0\.0\.0/8 lookup 100`},
		{[]string{"neigh", "del", "192.0.2.9", "dev", "v0"}, `^\[NEIGH\]Deleted 192\.0\.2\.9 dev v0`},
		// The nexthop takes its route with it, silently.
		{[]string{"nexthop", "del", "id", "7"}, `^\[ROUTE\]Deleted 203\.0\.113\.0/24 nhid 7`},
		// The last address takes the route through it, silently.
		{[]string{"addr", "del", "192.0.2.1/24", "dev", "v0"}, `^\[ROUTE\]Deleted 198\.51\.100\.0/24 via 192\.0\.2\.2 dev v0`},
		{[]string{"link", "add", "br0", "type", "bridge"}, `^\[LINK\]\d+: br0: `},
		{[]string{"link", "set", "v1", "master", "br0"}, `^\[FDB\].* dev v1 .*master br0 permanent`},
		{[]string{"link", "set", "br0", "up"}, `^\[LINK\]\d+: br0: <.*UP`},
		{[]string{"fdb-add"}, `^\[FDB\]02:00:00:00:00:0a dev v1 master br0 static`},
		{[]string{"link", "del", "v0"}, `^\[LINK\]Deleted \d+: v0[:@]`},
		// The port's entries go with it.
		{nil, `^\[FDB\]Deleted 02:00:00:00:00:0a dev v1 master br0 static`},
	}
	next := 0
	for _, s := range steps {
		switch {
		case len(s.cmd) == 0:
		case s.cmd[0] == "fdb-add":
			if out, err := ns.Cmd("bridge", "fdb", "add", "02:00:00:00:00:0a", "dev", "v1", "master", "static").CombinedOutput(); err != nil {
				t.Fatalf("bridge fdb add: %v: %s", err, out)
			}
		default:
			ns.IP(s.cmd...)
		}
		waitLine(t, out, next, s.want)
	}
	lines := out.lines()
	tag := regexp.MustCompile(`^(\[(LINK|ADDR|ROUTE|NEIGH|RULE|NEXTHOP|FDB)\]|# )`)
	for _, l := range lines {
		if !tag.MatchString(l) {
			t.Errorf("a line without a kind: %q", l)
		}
	}
	waitLine(t, out, 0, `^\[NEXTHOP\]Deleted id 7`)
	waitLine(t, out, 0, `^\[ADDR\]Deleted .*192\.0\.2\.1/24`)
}

// With -json each line is an object with the change's kind, event and
// value, the value as ip -json prints it.
func TestMonitorJSON(t *testing.T) {
	ns := nstest.New(t)
	out := start(t, ns, true)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "192.0.2.1/24", "dev", "v0")
	ns.IP("route", "add", "198.51.100.0/24", "via", "192.0.2.2")
	ns.IP("route", "del", "198.51.100.0/24")
	waitLine(t, out, 0, `"kind":"route","event":"deleted"`)
	seen := map[string]bool{}
	for _, l := range out.lines() {
		var c struct {
			Kind, Event string
			Value       map[string]any
		}
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		seen[c.Kind+" "+c.Event] = true
		if c.Kind == "route" && c.Value["dst"] == "198.51.100.0/24" && (c.Value["gateway"] != "192.0.2.2" || c.Value["dev"] != "v0") {
			t.Errorf("route %v: want gateway 192.0.2.2, dev v0", c.Value)
		}
	}
	for _, want := range []string{"link added", "address added", "route added", "route deleted"} {
		if !seen[want] {
			t.Errorf("no %q line in %v", want, seen)
		}
	}
}

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		err  bool
	}{
		{nil, strings.Join(kinds, ","), false},
		{[]string{"all"}, strings.Join(kinds, ","), false},
		{[]string{"route", "addr", "route", "nh", "fdb"}, "route,address,nexthop,fdb", false},
		{[]string{"bogus"}, "", true},
	} {
		got, err := parseKinds(tc.args)
		if (err != nil) != tc.err || strings.Join(got, ",") != tc.want {
			t.Errorf("parseKinds(%q) = %v, %v; want %s (error %v)", tc.args, got, err, tc.want, tc.err)
		}
	}
}
