package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func nan() float64 { return math.NaN() }

func TestMedianOfOddEvenAndEmptyInputs(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one value", []float64{7}, 7},
		{"odd count, unsorted", []float64{9, 1, 5}, 5},
		{"even count averages the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"duplicates", []float64{2, 2, 2, 9}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := median(in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("median reordered its input: %v", in)
			}
		})
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestSummarizeGivesMedianAndRangeSkippingMissingRounds(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Stat
	}{
		{"plain", []float64{3, 1, 2}, Stat{Median: 2, Min: 1, Max: 3, N: 3}},
		{"NaN rounds are left out", []float64{nan(), 10, 30, nan()}, Stat{Median: 20, Min: 10, Max: 30, N: 2}},
		{"nothing measured", []float64{nan(), nan()}, Stat{}},
		{"empty", nil, Stat{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
	if (Stat{}).Valid() {
		t.Error("the zero Stat claims to hold a value")
	}
}

func TestRatiosPairRoundsByIndex(t *testing.T) {
	got := ratios([]float64{2, 9, 6, 8}, []float64{1, 3, nan(), 0, 5})
	want := []float64{2, 3, nan(), nan()}
	if len(got) != len(want) {
		t.Fatalf("ratios gave %d values, want %d (the shorter series)", len(got), len(want))
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && got[i] != want[i]) {
			t.Errorf("round %d: ratio %v, want %v", i, got[i], want[i])
		}
	}
}

func TestRatioStatIsTheMedianOfPerRoundRatiosNotTheRatioOfMedians(t *testing.T) {
	// The machine slows down in the last two rounds; both series slow
	// down with it. Per-round ratios stay at 2; the ratio of medians
	// would not.
	impl := []float64{2, 2, 2, 20, 20}
	floor := []float64{1, 1, 1, 10, 10}
	got := ratioStat(impl, floor)
	if got.Median != 2 || got.Min != 2 || got.Max != 2 || got.N != 5 {
		t.Errorf("ratioStat = %+v, want median 2 over 5 rounds", got)
	}
	odd := ratioStat([]float64{3, 10, 1}, []float64{1, 2, 1})
	if odd.Median != 3 || odd.Min != 1 || odd.Max != 5 {
		t.Errorf("ratioStat = %+v, want median 3, range 1–5", odd)
	}
}

func TestBuildRowsDividesEachImplByItsFloorInTheSameRound(t *testing.T) {
	floor := &series{impl: impl{name: "raw"}, rounds: []sample{{mWall: 10, mCPU: 4}, {mWall: 20, mCPU: 8}, {mWall: 30, mCPU: 12}}}
	peer := &series{impl: impl{name: "peer", floor: "raw"}, rounds: []sample{{mWall: 30, mCPU: 8}, {mWall: 40, mCPU: 16}, {mWall: 90, mCPU: 24}}}
	proc := &series{impl: impl{name: "proc"}, rounds: []sample{{mWall: 5}, {mWall: 5}, {mWall: 5}}}
	ip := &series{impl: impl{name: "ip", floor: "proc"}, rounds: []sample{{mWall: 20}, {mWall: 25}}, err: errTest}
	rows := buildRows([]*series{floor, peer, proc, ip}, []string{mWall, mCPU}, mWall, []string{mCPU})
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	if r := rows[0]; r.Ratio.Median != 1 || r.Floor != "" {
		t.Errorf("floor row: ratio %+v floor %q, want 1 and none", r.Ratio, r.Floor)
	}
	if r := rows[1]; r.Ratio != (Stat{Median: 3, Min: 2, Max: 3, N: 3}) {
		t.Errorf("peer wall ratio %+v, want median 3, range 2–3", r.Ratio)
	}
	if r := rows[1]; r.Ratios[mCPU].Median != 2 {
		t.Errorf("peer CPU ratio %+v, want 2", r.Ratios[mCPU])
	}
	if r := rows[1]; r.Metrics[mWall] != (Stat{Median: 40, Min: 30, Max: 90, N: 3}) {
		t.Errorf("peer wall %+v", r.Metrics[mWall])
	}
	if r := rows[3]; r.Ratio.Median != 4.5 || r.Ratio.N != 2 || r.Error == "" || r.Rounds != 2 {
		t.Errorf("failed impl row %+v: want ratio over its 2 rounds to proc, and its error", r)
	}
	if r := rows[2]; r.Metrics[mCPU].Valid() {
		t.Errorf("a metric never measured shows a value: %+v", r.Metrics[mCPU])
	}
}

var errTest = &testError{}

type testError struct{}

func (*testError) Error() string { return "boom" }

func TestRunInterleavedRotatesTheOrderAndDropsWarmUp(t *testing.T) {
	var order []string
	mk := func(name string) impl {
		return impl{name: name, run: func() (sample, error) {
			order = append(order, name)
			return sample{mWall: float64(len(order))}, nil
		}}
	}
	ss := runInterleaved(&progress{}, 1, 3, []impl{mk("a"), mk("b"), mk("c")})
	want := "a b c b c a c a b a b c"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("run order %q, want %q", got, want)
	}
	for _, s := range ss {
		if len(s.rounds) != 3 {
			t.Errorf("%s kept %d rounds, want 3 (warm-up dropped)", s.impl.name, len(s.rounds))
		}
	}
}

func TestRunInterleavedStopsRunningAFailedImpl(t *testing.T) {
	calls := 0
	bad := impl{name: "bad", run: func() (sample, error) {
		calls++
		if calls == 2 {
			return nil, errTest
		}
		return sample{mWall: 1}, nil
	}}
	good := impl{name: "good", run: func() (sample, error) { return sample{mWall: 1}, nil }}
	ss := runInterleaved(&progress{}, 0, 4, []impl{good, bad})
	if calls != 2 || ss[1].err == nil || len(ss[1].rounds) != 1 {
		t.Errorf("failed impl: %d calls, err %v, %d rounds; want 2 calls, the error, 1 round", calls, ss[1].err, len(ss[1].rounds))
	}
	if len(ss[0].rounds) != 4 {
		t.Errorf("the other impl kept %d rounds, want 4", len(ss[0].rounds))
	}
}

func TestFormattingOfNumbersAndStats(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{fmtNum(1234567, 0), "1,234,567"},
		{fmtNum(-1234.5, 1), "-1,234.5"},
		{fmtNum(999, 2), "999.00"},
		{fmtNum(nan(), 1), "—"},
		{fmtStat(Stat{Median: 2, Min: 1, Max: 3, N: 3}, 1), "2.0 (1.0–3.0)"},
		{fmtStat(Stat{Median: 2, Min: 2, Max: 2, N: 3}, 0), "2"},
		{fmtStat(Stat{}, 1), "—"},
		{fmtRatioStat(Stat{Median: 1.5, Min: 1.2, Max: 2, N: 3}, "raw"), "1.50 (1.20–2.00)×"},
		{fmtRatioStat(Stat{Median: 4, Min: 4, Max: 4, N: 1}, "raw-proc"), "4.00× of `raw-proc`"},
		{fmtRatioStat(Stat{}, ""), "1 (floor)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSelectScenariosRefusesUnknownAndUnavailableNames(t *testing.T) {
	saved := scenarios
	t.Cleanup(func() { scenarios = saved })
	scenarios = nil
	register(&scenario{name: "dump"})
	register(&scenario{name: "later", unavailable: "its package has not landed"})

	if _, _, err := selectScenarios([]string{"nosuch"}); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Errorf("unknown scenario: err %v", err)
	}
	if _, _, err := selectScenarios([]string{"later"}); err == nil || !strings.Contains(err.Error(), "not yet available") {
		t.Errorf("unavailable scenario asked for: err %v", err)
	}
	run, skipped, err := selectScenarios(nil)
	if err != nil || len(run) != 1 || run[0].name != "dump" || len(skipped) != 1 || skipped[0].name != "later" {
		t.Errorf("all: run %v skipped %v err %v; want dump run and later skipped", run, skipped, err)
	}
	run, _, err = selectScenarios([]string{"dump", "dump"})
	if err != nil || len(run) != 1 {
		t.Errorf("a scenario named twice runs %d times (err %v), want once", len(run), err)
	}
}

func TestSizeForAppliesQuickAndOverrides(t *testing.T) {
	s := &scenario{full: size{routes: 100, rounds: 9, warmup: 2}, quick: size{routes: 10, rounds: 2, warmup: 1}}
	tests := []struct {
		env  runEnv
		want size
	}{
		{runEnv{warmup: -1}, size{100, 9, 2}},
		{runEnv{quick: true, warmup: -1}, size{10, 2, 1}},
		{runEnv{routes: 50, rounds: 3, warmup: 0}, size{50, 3, 0}},
	}
	for _, tt := range tests {
		if got := tt.env.sizeFor(s); got != tt.want {
			t.Errorf("sizeFor(%+v) = %+v, want %+v", tt.env, got, tt.want)
		}
	}
}

func TestCheckTargetsComparesMediansRatiosAndCompleteRuns(t *testing.T) {
	s := &ScenarioResult{
		Rows: []*Row{
			{Impl: "a", Ratio: Stat{Median: 1.2, N: 3}, Metrics: map[string]Stat{mAllocs: {Median: 3000, N: 3}}, Rounds: 4, Counts: map[string]int{"complete": 3}},
		},
		Targets: []Target{
			{Impl: "a", Metric: "ratio", Limit: 1.3},
			{Impl: "a", Metric: mAllocs, Limit: 2000},
			{Impl: "a", Metric: "complete", Limit: 1, AtLeast: true},
			{Impl: "missing", Metric: "ratio", Limit: 1},
		},
	}
	s.checkTargets()
	want := []struct {
		got           float64
		met, measured bool
	}{{1.2, true, true}, {3000, false, true}, {0.75, false, true}, {0, false, false}}
	for i, w := range want {
		tg := s.Targets[i]
		if tg.Got != w.got || tg.Met != w.met || tg.Measured != w.measured {
			t.Errorf("target %d: got %v met %v measured %v; want %v %v %v", i, tg.Got, tg.Met, tg.Measured, w.got, w.met, w.measured)
		}
	}
}

func TestParseNetlinkRmemSumsQueuesOfGroupMembersOnly(t *testing.T) {
	in := []byte(`sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
00000000b7d82257 0   0          00000000 0        0        0     2        0        4
000000004230c102 0   4026       00000440 123456   0        0     2        7        480
00000000deadbeef 0   4027       00000000 999      0        0     2        0        481
00000000feedf00d 0   4028       00000040 1000     0        0     2        0        482
`)
	if got := parseNetlinkRmem(in); got != 124456 {
		t.Errorf("parseNetlinkRmem = %d, want 124456 (the two group members)", got)
	}
	if got := parseNetlinkRmem([]byte("no header here\n1 2 3\n")); got != 0 {
		t.Errorf("parseNetlinkRmem without a header = %d, want 0", got)
	}
}
