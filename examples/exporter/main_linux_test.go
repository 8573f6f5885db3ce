//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// inUserNS marks the test binary re-run inside a user namespace of its own.
const inUserNS = "NLRX_EXPORTER_IN_USERNS"

// skipReason says why the tests that need a namespace cannot run.
var skipReason string

// TestMain re-runs the tests, for a user who is not root, inside a new user
// and network namespace in which they are root (the main module's
// internal/userns does the same, but internal packages cannot be imported
// from this module).
func TestMain(m *testing.M) {
	if os.Geteuid() != 0 && os.Getenv(inUserNS) == "" {
		code, err := reexec()
		if err == nil {
			os.Exit(code)
		}
		skipReason = fmt.Sprintf("needs root, or unprivileged user namespaces (user.max_user_namespaces, kernel.unprivileged_userns_clone): %v", err)
	}
	if os.Getenv(inUserNS) != "" {
		// The re-run's own network namespace is new: the tests' HTTP
		// server and client need its loopback.
		if err := loopbackUp(); err != nil {
			fmt.Fprintln(os.Stderr, "loopback up in the user namespace:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func loopbackUp() error {
	c, err := nl.DialRoute()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	index, err := rtnl.LinkIndex(ctx, c, "lo")
	if err != nil {
		return err
	}
	return rtnl.SetLinkUp(ctx, c, index)
}

func reexec() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), inUserNS+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &ee) {
		return ee.ExitCode(), nil
	} else if err != nil {
		return 0, err
	}
	return 0, nil
}

// wait bounds every wait of these tests.
const wait = 15 * time.Second

// space is a private network namespace with a veth pair v0–v1, both up,
// and a request socket in it.
type space struct {
	*nl.NetNS
	c  *nl.Conn
	v0 uint32 // v0's index
}

func newSpace(t testing.TB) *space {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	ns, err := nl.NewNetNS()
	if err != nil {
		t.Skipf("cannot make a network namespace (needs CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &space{NetNS: ns, c: c}
	ctx := t.Context()
	if err := rtnl.AddVeth(ctx, c, "v0", "v1"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lo", "v0", "v1"} {
		index, err := rtnl.LinkIndex(ctx, c, name)
		if err == nil {
			err = rtnl.SetLinkUp(ctx, c, index)
		}
		if err != nil {
			t.Fatalf("%s up: %v", name, err)
		}
		if name == "v0" {
			s.v0 = index
		}
	}
	return s
}

// kernel counts the entries of the namespace's tables as the watchers keep
// them (see watch.Routes, watch.Neighbors).
type kernel struct {
	routes, links, addresses, neighbors int
	byTable                             map[routeKey]int
}

func (s *space) kernel(t testing.TB) kernel {
	t.Helper()
	ctx := t.Context()
	routes, err := rtnl.ListRoutes(ctx, s.c, rtnl.RouteFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var k kernel
	var kept []rtnl.Route
	for _, r := range routes {
		if (r.Family == rtnl.FamilyInet || r.Family == rtnl.FamilyInet6) && r.Flags&rtnl.RouteFlagCloned == 0 {
			kept = append(kept, r)
		}
	}
	k.routes, k.byTable = len(kept), routeCounts(kept)
	links, err := rtnl.ListLinks(ctx, s.c)
	if err != nil {
		t.Fatal(err)
	}
	k.links = len(links)
	addrs, err := rtnl.ListAddresses(ctx, s.c, rtnl.AddressFilter{})
	if err != nil {
		t.Fatal(err)
	}
	k.addresses = len(addrs)
	neighs, err := rtnl.ListNeighbors(ctx, s.c, rtnl.NeighborFilter{})
	if err != nil {
		t.Fatal(err)
	}
	const unkept = rtnl.NeighIncomplete | rtnl.NeighFailed | rtnl.NeighNoARP
	for _, n := range neighs {
		if (n.Family == rtnl.FamilyInet || n.Family == rtnl.FamilyInet6) && n.State != rtnl.NeighNone && n.State&unkept == 0 {
			k.neighbors++
		}
	}
	return k
}

// start runs serve on a port of its own and returns the /metrics URL. When
// the test ends it stops serve, as a signal would, and checks that serve
// returns nil and closes its port within the bound.
func start(t *testing.T, cfg config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after the stop: %v, want nil", err)
			}
		case <-time.After(wait):
			t.Fatalf("serve did not return within %v of the stop", wait)
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the stop", addr)
		}
	})
	return "http://" + addr + "/metrics"
}

// metrics is one scrape, parsed.
type metrics map[string]*dto.MetricFamily

var client = &http.Client{Timeout: wait}

func scrape(t testing.TB, url string) metrics {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// get returns the value of the sample of family name whose labels include
// labels (name=value pairs), and whether there is one.
func (m metrics) get(name string, labels ...string) (float64, bool) {
	f := m[name]
	if f == nil {
		return 0, false
	}
next:
	for _, s := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range s.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return value(f, s), true
	}
	return 0, false
}

// must is get for a sample that has to be there.
func (m metrics) must(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	v, ok := m.get(name, labels...)
	if !ok {
		t.Fatalf("no sample %s%v in the scrape", name, labels)
	}
	return v
}

func value(f *dto.MetricFamily, s *dto.Metric) float64 {
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return s.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return s.GetGauge().GetValue()
	case dto.MetricType_UNTYPED:
		return s.GetUntyped().GetValue()
	}
	return math.NaN()
}

// waitFor scrapes until ok holds of a scrape, for at most wait, and
// returns that scrape.
func waitFor(t testing.TB, url, what string, ok func(metrics) bool) metrics {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m := scrape(t, url)
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(20 * time.Millisecond) // a scrape's spacing, not a synchronisation
	}
}

var tables = []string{"routes", "links", "addresses", "neighbors"}

// The metrics a user's dashboards and alerts name: each per table, or of
// the poller.
var (
	watchCounters = []string{"messages", "overruns", "resyncs", "verifications", "repairs", "collisions",
		"decode_errors", "unchanged", "ignored", "dump_retries"}
	pollerCounters = []string{"wakeups", "syscalls", "datagrams", "messages", "bytes", "batches",
		"overruns", "truncations", "malformed", "spoofed", "handler_seconds"}
)

// checkShape checks every metric the exporter promises: present for each
// table, of its type, with a HELP text, carrying the namespace label, and
// no counter negative or not a number.
func checkShape(t *testing.T, m metrics, namespace string) {
	t.Helper()
	typed := map[string]dto.MetricType{
		"nlrx_watch_entries":           dto.MetricType_GAUGE,
		"nlrx_watch_read_buffer_bytes": dto.MetricType_GAUGE,
		"nlrx_watch_events_total":      dto.MetricType_COUNTER,
	}
	for _, c := range watchCounters {
		typed["nlrx_watch_"+c+"_total"] = dto.MetricType_COUNTER
	}
	for _, c := range pollerCounters {
		typed["nlrx_poller_"+c+"_total"] = dto.MetricType_COUNTER
	}
	for name, want := range typed {
		f := m[name]
		if f == nil {
			t.Errorf("%s missing", name)
			continue
		}
		if f.GetType() != want {
			t.Errorf("%s is a %v, want a %v", name, f.GetType(), want)
		}
		if len(f.GetHelp()) < 20 {
			t.Errorf("%s: HELP %q says too little", name, f.GetHelp())
		}
		for _, s := range f.GetMetric() {
			if v := value(f, s); v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s%v = %v", name, s.GetLabel(), v)
			}
		}
		if strings.HasPrefix(name, "nlrx_watch_") {
			for _, table := range tables {
				m.must(t, name, "table", table, "namespace", namespace)
			}
		} else {
			m.must(t, name, "namespace", namespace)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_open_fds", "process_resident_memory_bytes", "promhttp_metric_handler_requests_total"} {
		if m[name] == nil {
			t.Errorf("%s missing: the Go, process and handler collectors should be registered", name)
		}
	}
}

// checkEntries waits until every table's size in the scrape equals the
// kernel's, both read again each time, and returns that scrape.
func checkEntries(t *testing.T, s *space, url string) (metrics, kernel) {
	t.Helper()
	var k kernel
	m := waitFor(t, url, "the exported table sizes equal the kernel's", func(m metrics) bool {
		k = s.kernel(t)
		for table, want := range map[string]int{"routes": k.routes, "links": k.links, "addresses": k.addresses, "neighbors": k.neighbors} {
			if v, ok := m.get("nlrx_watch_entries", "table", table); !ok || v != float64(want) {
				return false
			}
		}
		return true
	})
	return m, k
}

// checkRouteTables checks nlrx_routes against the kernel's count per
// routing table and family, both ways.
func checkRouteTables(t *testing.T, m metrics, k kernel) {
	t.Helper()
	for key, want := range k.byTable {
		if got := m.must(t, "nlrx_routes", "table", rtnl.TableName(key.table), "family", key.family.String()); got != float64(want) {
			t.Errorf("nlrx_routes{table=%q,family=%q} = %v, the kernel has %d", rtnl.TableName(key.table), key.family, got, want)
		}
	}
	if n := len(m["nlrx_routes"].GetMetric()); n != len(k.byTable) {
		t.Errorf("nlrx_routes has %d samples, the kernel %d tables and families", n, len(k.byTable))
	}
}

// grew fails the test unless the sample grew from before to after.
func grew(t *testing.T, before, after metrics, name string, labels ...string) {
	t.Helper()
	b, a := before.must(t, name, labels...), after.must(t, name, labels...)
	if a <= b {
		t.Errorf("%s%v went from %v to %v, want it to grow", name, labels, b, a)
	}
}

// noCounterFell fails the test if any counter of after is below its value
// in before.
func noCounterFell(t *testing.T, before, after metrics) {
	t.Helper()
	for name, f := range before {
		if f.GetType() != dto.MetricType_COUNTER || !strings.HasPrefix(name, "nlrx_") {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			if a := after.must(t, name, labels...); a < value(f, s) {
				t.Errorf("counter %s%v fell from %v to %v", name, labels, value(f, s), a)
			}
		}
	}
}

func TestMetricsFollowTheNamespace(t *testing.T) {
	s := newSpace(t)
	ctx := t.Context()
	if err := rtnl.AddAddress(ctx, s.c, rtnl.Address{Index: s.v0, Prefix: netip.MustParsePrefix("192.0.2.1/24")}); err != nil {
		t.Fatal(err)
	}
	mac, _ := rtnl.ParseHardwareAddr("02:00:00:00:00:02")
	if err := rtnl.AddNeighbor(ctx, s.c, rtnl.Neighbor{Family: rtnl.FamilyInet, Index: s.v0, State: rtnl.NeighPermanent,
		Dst: netip.MustParseAddr("192.0.2.2"), LLAddr: mac}); err != nil {
		t.Fatal(err)
	}
	url := start(t, config{netns: s.Path(), label: "test", routeTables: true})

	first, k := checkEntries(t, s, url)
	checkShape(t, first, "test")
	checkRouteTables(t, first, k)
	if k.neighbors < 1 || k.addresses < 2 || k.links != 3 {
		t.Fatalf("the namespace has %+v: fewer entries than the test made", k)
	}

	// Routes added live: the route table and the counters follow.
	const added = 100
	routes := make([]rtnl.Route, added)
	for i := range routes {
		routes[i] = rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 32),
			OIF: s.v0, Scope: rtnl.ScopeLink, Table: rtnl.TableMain}
	}
	if err := rtnl.AddRoutes(ctx, s.c, routes); err != nil {
		t.Fatal(err)
	}
	second, k2 := checkEntries(t, s, url)
	if k2.routes < k.routes+added {
		t.Fatalf("the kernel has %d routes after %d were added to %d", k2.routes, added, k.routes)
	}
	checkShape(t, second, "test")
	checkRouteTables(t, second, k2)
	noCounterFell(t, first, second)
	if d := second.must(t, "nlrx_watch_messages_total", "table", "routes") - first.must(t, "nlrx_watch_messages_total", "table", "routes"); d < added {
		t.Errorf("nlrx_watch_messages_total{table=\"routes\"} grew by %v after %d routes were added", d, added)
	}
	// The kernel may add routes of its own meanwhile (IPv6 link-local ones,
	// as addrconf brings v0 and v1 up), so at least the test's were added,
	// and the table grew by what was added less what was deleted.
	delta := func(kind string) float64 {
		return second.must(t, "nlrx_watch_events_total", "table", "routes", "kind", kind) -
			first.must(t, "nlrx_watch_events_total", "table", "routes", "kind", kind)
	}
	if d := delta("added"); d < added {
		t.Errorf("nlrx_watch_events_total{table=\"routes\",kind=\"added\"} grew by %v after %d routes were added", d, added)
	}
	if d := delta("added") - delta("deleted"); d != float64(k2.routes-k.routes) {
		t.Errorf("route events added less deleted: %v, the kernel's table grew by %d", d, k2.routes-k.routes)
	}
	for _, c := range []string{"wakeups", "syscalls", "datagrams", "messages", "bytes", "batches", "handler_seconds"} {
		grew(t, first, second, "nlrx_poller_"+c+"_total")
	}

	// A link down: the kernel drops v0's routes without a notification per
	// route; the route watcher applies the rule, verifies with a dump and
	// should find nothing to repair.
	if err := rtnl.SetLinkDown(ctx, s.c, s.v0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, url, "a verification after the link went down", func(m metrics) bool {
		v, _ := m.get("nlrx_watch_verifications_total", "table", "routes")
		return v > second.must(t, "nlrx_watch_verifications_total", "table", "routes")
	})
	third, k3 := checkEntries(t, s, url)
	if k3.routes >= k2.routes {
		t.Fatalf("the kernel has %d routes after v0 went down, %d before", k3.routes, k2.routes)
	}
	checkRouteTables(t, third, k3)
	noCounterFell(t, second, third)
	grew(t, second, third, "nlrx_watch_events_total", "table", "routes", "kind", "deleted")
	for _, table := range tables {
		for _, c := range []string{"repairs", "collisions", "decode_errors", "overruns"} {
			if v := third.must(t, "nlrx_watch_"+c+"_total", "table", table); v != 0 {
				t.Errorf("nlrx_watch_%s_total{table=%q} = %v, want 0", c, table, v)
			}
		}
	}
}

func TestRouteTablesOnlyWithTheFlag(t *testing.T) {
	s := newSpace(t)
	url := start(t, config{netns: s.Path()})
	m, _ := checkEntries(t, s, url)
	if f := m["nlrx_routes"]; f != nil {
		t.Errorf("nlrx_routes exported without -route-tables: %v", f)
	}
	// The namespace label defaults to -netns's path.
	m.must(t, "nlrx_watch_entries", "table", "routes", "namespace", s.Path())
}

func TestServeFailsOnAPathThatIsNoNetworkNamespace(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err = serve(ctx, ln, config{netns: "/proc/self/ns/uts"})
	if err == nil || !strings.Contains(err.Error(), "-netns") {
		t.Errorf("serve with a UTS namespace: %v, want an error about -netns", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("the listener is still open after serve failed")
	}
}

func TestAStoppedPollerIsAFailure(t *testing.T) {
	s := newSpace(t)
	e, err := newExporter(t.Context(), config{netns: s.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	failed := e.follow()
	e.p.Close()
	select {
	case err := <-failed:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("the failure reported: %v, want one that matches os.ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatalf("no failure reported within %v of the poller's close", wait)
	}
}

func TestRouteCountsByTableAndFamily(t *testing.T) {
	r := func(table uint32, f rtnl.Family) rtnl.Route { return rtnl.Route{Table: table, Family: f} }
	got := routeCounts([]rtnl.Route{
		r(rtnl.TableMain, rtnl.FamilyInet), r(rtnl.TableMain, rtnl.FamilyInet), r(rtnl.TableMain, rtnl.FamilyInet6),
		r(rtnl.TableLocal, rtnl.FamilyInet), r(100, rtnl.FamilyInet6),
	})
	want := map[routeKey]int{
		{rtnl.TableMain, rtnl.FamilyInet}: 2, {rtnl.TableMain, rtnl.FamilyInet6}: 1,
		{rtnl.TableLocal, rtnl.FamilyInet}: 1, {100, rtnl.FamilyInet6}: 1,
	}
	if len(got) != len(want) {
		t.Fatalf("routeCounts = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("routeCounts[%v] = %d, want %d", k, got[k], n)
		}
	}
	if n := len(routeCounts(nil)); n != 0 {
		t.Errorf("routeCounts(nil) has %d keys", n)
	}
}

// BenchmarkGather measures a scrape's collection (the registry's Gather,
// without HTTP) of a namespace with 100,000 routes, without and with
// -route-tables: the figures README.md quotes.
func BenchmarkGather(b *testing.B) {
	s := newSpace(b)
	const n = 100_000
	routes := make([]rtnl.Route, n)
	for i := range routes {
		routes[i] = rtnl.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32),
			OIF: s.v0, Scope: rtnl.ScopeLink, Table: rtnl.TableMain}
	}
	if err := rtnl.AddRoutes(b.Context(), s.c, routes); err != nil {
		b.Fatal(err)
	}
	for _, routeTables := range []bool{false, true} {
		b.Run(fmt.Sprintf("route-tables=%v", routeTables), func(b *testing.B) {
			e, err := newExporter(b.Context(), config{netns: s.Path(), routeTables: routeTables})
			if err != nil {
				b.Fatal(err)
			}
			defer e.close()
			if got := e.routes.Table().Len(); got < n {
				b.Fatalf("the watcher has %d routes, want at least %d", got, n)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
