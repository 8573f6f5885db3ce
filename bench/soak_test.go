package main

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// TestSoakKeepsWatchersEqualToTheKernelAndLeaksNothing runs the soak for
// five seconds at a small window: every checkpoint must find every table
// equal to the kernel (repairs and key collisions are reported), the slow watcher must have
// overrun and resynced, a link must have flapped, the mix must have run,
// and nothing may be left after Close.
func TestSoakKeepsWatchersEqualToTheKernelAndLeaksNothing(t *testing.T) {
	if err := needTools("ip", "nsenter"); err != nil {
		t.Fatal(err) // the test command's requirements: .ci/run installs them
	}
	probe, err := newBenchNS()
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("needs root (CAP_SYS_ADMIN for unshare(CLONE_NEWNET)): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	probe.close()
	cfg := soakConfig{
		maxLive: 2000, period: time.Second, periods: 5, warmup: 1, settle: 10 * time.Second,
		rateMin: 500, rateMax: 20_000, phaseMin: 300 * time.Millisecond, phaseMax: time.Second,
		flapMin: 1500 * time.Millisecond, flapMax: 2500 * time.Millisecond,
		mix: defaultMixConfig(), watchers: soakWatchers, seed: 7,
	}
	results, err := runSoakWith(&progress{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	writeMarkdown(&md, &Report{Scenarios: results}, "-", nil)
	defer func() {
		if t.Failed() {
			t.Logf("report:\n%s", md.String())
		}
	}()
	if len(results) != 3 {
		t.Fatalf("%d results, want the soak, its mix and its resources", len(results))
	}
	rows := map[string]*Row{}
	for _, res := range results {
		for _, r := range res.Rows {
			rows[r.Impl] = r
			if r.Error != "" {
				t.Errorf("%s: %s", r.Impl, r.Error)
			}
		}
	}
	checkpoints := cfg.periods + 1
	churn := rows["churn"]
	if churn == nil {
		t.Fatal("no churn row")
	}
	if c := churn.Metrics["changes"].Median; c < 1000 {
		t.Errorf("the churn made %.0f changes, want thousands", c)
	}
	if f := churn.Metrics["flaps"].Median; f < 1 {
		t.Error("no link went down")
	}
	for _, name := range []string{"churn", "nlrx-watcher", "nlrx-watcher-slow", "nlrx-watcher-slow-256k", "nlrx-watcher-all", "nlrx-nexthop-watcher"} {
		r := rows[name]
		if r == nil {
			t.Fatalf("no %s row", name)
		}
		if r.Rounds != checkpoints || r.Counts["complete"] != checkpoints {
			t.Errorf("%s: equal to the kernel at %d of %d checkpoints, want all %d", name, r.Counts["complete"], r.Rounds, checkpoints)
		}
		if name == "churn" || name == "nlrx-nexthop-watcher" {
			continue
		}
		// A watcher that audits verifies every period; the others when
		// the kernel changes the table silently, unless a resync for a
		// loss happened to cover it.
		if v := r.Metrics["verifications"].Median; name == "nlrx-watcher-all" && v < float64(cfg.periods-1) {
			t.Errorf("%s: %.0f verifications, want one a period at least", name, v)
		}
	}
	var asked, kinds float64
	for _, r := range results[1].Rows {
		asked += r.Metrics["asked"].Median
		kinds++
	}
	if asked < 50 || kinds < 10 {
		t.Errorf("the mix asked for %.0f operations of %.0f kinds, want at least 50 of 10", asked, kinds)
	}
	if ev := rows["nlrx-watcher"].Metrics["added"].Median; ev < 1000 {
		t.Errorf("nlrx-watcher saw %.0f live Added events, want thousands", ev)
	}
	// The first fill alone (1,000 routes in a few milliseconds) overflows
	// a 4 KiB buffer read by a consumer that sleeps.
	slow := rows["nlrx-watcher-slow"]
	if slow.Metrics["overruns"].Median < 1 || slow.Metrics["resyncs"].Median < 1 {
		t.Errorf("slow watcher: %.0f overruns, %.0f resyncs; want both", slow.Metrics["overruns"].Median, slow.Metrics["resyncs"].Median)
	}
	for _, name := range []string{"goroutines", "open descriptors"} {
		r := rows[name]
		if r == nil {
			t.Fatalf("no %s row", name)
		}
		if left := r.Metrics["left"]; !left.Valid() || left.Median != 0 {
			t.Errorf("%s left after Close: %+v", name, left)
		}
	}
	for _, want := range []string{"## soak:", "## soak-resources:", "`nlrx-watcher-slow`", "Go heap after GC"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestSoakRunsInAFullRunOnlyWhenAskedForByName(t *testing.T) {
	saved := named
	defer func() { named = saved }()
	named = nil
	var stderr strings.Builder
	env := &runEnv{progress: &progress{w: &stderr}}
	results, err := runSoak(env, lookup("soak").full)
	if err != nil || results != nil {
		t.Fatalf("full run, not named: %v, %d results; want it skipped", err, len(results))
	}
	if !strings.Contains(stderr.String(), "go run . soak") || !strings.Contains(stderr.String(), "10m0s") {
		t.Errorf("the note %q does not say how long it takes and how to ask for it", stderr.String())
	}
}

func TestSoakDurationComesFromRoundsAndQuick(t *testing.T) {
	s := lookup("soak")
	for _, tc := range []struct {
		quick bool
		sz    size
		want  time.Duration
	}{
		{false, s.full, 10 * time.Minute},
		{true, s.quick, 30 * time.Second},
		{false, size{routes: 20_000, rounds: 10, warmup: 2}, time.Minute},
	} {
		cfg, err := soakConfigFor(tc.quick, tc.sz)
		if err != nil || cfg.duration() != tc.want {
			t.Errorf("quick %v, %+v: %v (%v); want %v", tc.quick, tc.sz, cfg.duration(), err, tc.want)
		}
	}
	if _, err := soakConfigFor(false, size{routes: 10, rounds: 1}); err == nil {
		t.Error("a 10-route window was accepted")
	}
}

func TestDiffRoutesCountsMissingExtraAndChangedRoutes(t *testing.T) {
	route := func(dst string, oif uint32) rtnl.Route {
		return rtnl.Route{Family: rtnl.FamilyInet, Type: rtnl.RouteUnicast, Table: rtnl.TableMain, OIF: oif, Dst: netip.MustParsePrefix(dst)}
	}
	a, b, c := route("10.0.0.1/32", 2), route("10.0.0.2/32", 2), route("10.0.0.3/32", 2)
	// Flags the kernel changes on its own are no part of a key.
	bFlagged := route("10.0.0.2/32", 2)
	bFlagged.Flags = rtnl.RouteFlagLinkDown
	v6 := rtnl.Route{Family: rtnl.FamilyInet6, Type: rtnl.RouteUnicast, Table: rtnl.TableMain, OIF: 2, Dst: netip.MustParsePrefix("2001:db8::/64")}
	kernelOf := func(rs ...rtnl.Route) *soakKernel {
		k := &soakKernel{byKey: map[rtnl.RouteKey]*rtnl.Route{}}
		for i := range rs {
			k.add(&rs[i])
		}
		return k
	}
	tableOf := func(rs ...rtnl.Route) map[rtnl.RouteKey]rtnl.Route {
		m := map[rtnl.RouteKey]rtnl.Route{}
		for _, r := range rs {
			m[r.Key()] = r
		}
		return m
	}
	twinsOf := func(rs ...rtnl.Route) map[rtnl.RouteKey]rtnl.Route {
		m := map[rtnl.RouteKey]rtnl.Route{}
		for _, r := range rs {
			k := r.Key()
			for n := uint8(1); ; n++ {
				if _, taken := m[k]; !taken {
					break
				}
				k = k.WithCopy(n)
			}
			m[k] = r
		}
		return m
	}
	for _, tc := range []struct {
		name                              string
		kernel                            *soakKernel
		table                             map[rtnl.RouteKey]rtnl.Route
		family                            uint8
		missing, extra, changed, collided int
	}{
		{"equal", kernelOf(a, b), tableOf(a, b), 0, 0, 0, 0, 0},
		{"missing", kernelOf(a, b, c), tableOf(a), 0, 2, 0, 0, 0},
		{"extra", kernelOf(a), tableOf(a, c), 0, 0, 1, 0, 0},
		{"changed", kernelOf(a, b), tableOf(a, bFlagged), 0, 0, 0, 1, 0},
		{"all three", kernelOf(a, b), tableOf(bFlagged, c), 0, 1, 1, 1, 0},
		{"a key twice in the dump", kernelOf(a, b, b), tableOf(a, b), 0, 0, 0, 0, 1},
		{"the other family left out", kernelOf(a, v6), tableOf(a), unix.AF_INET, 0, 0, 0, 0},
		{"both families", kernelOf(a, v6), tableOf(a), 0, 1, 0, 0, 0},
		// IPv6 twins are copies of one key, as the watcher holds them.
		{"ipv6 twins held", kernelOf(a, v6, v6), twinsOf(a, v6, v6), 0, 0, 0, 0, 0},
		{"ipv6 twin missing", kernelOf(a, v6, v6), tableOf(a, v6), 0, 1, 0, 0, 0},
	} {
		d := diffRoutes(tc.kernel, tc.table, tc.family)
		if d.missing != tc.missing || d.extra != tc.extra || d.differ != tc.changed || d.collided != tc.collided {
			t.Errorf("%s: %s", tc.name, d)
		}
		if d.empty() != (tc.missing+tc.extra+tc.changed+tc.collided == 0) {
			t.Errorf("%s: empty() = %v", tc.name, d.empty())
		}
	}
}

func TestSlopePerMinuteIsTheLeastSquaresTrend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		xs, ys []float64
		want   float64
	}{
		{"flat", []float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{"rising", []float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{"noisy falling", []float64{0, 1, 2, 3, 4}, []float64{10, 9.5, 8, 7.5, 6}, -1},
	} {
		if got := slopePerMinute(tc.xs, tc.ys); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: slope %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := slopePerMinute([]float64{0, 1}, []float64{0, 1}); !math.IsNaN(got) {
		t.Errorf("two points: %v, want NaN (too few to call a trend)", got)
	}
}
