package main

import (
	"math"
	"time"
)

// Report is everything one run of the harness measured. It is what
// results.json holds; results.md and the charts are rendered from it.
type Report struct {
	Machine   Machine           `json:"machine"`
	Command   string            `json:"command"`
	Quick     bool              `json:"quick"`
	Started   time.Time         `json:"started"`
	Seconds   float64           `json:"seconds"`
	Scenarios []*ScenarioResult `json:"scenarios"`
}

// ScenarioResult is the outcome of one scenario: one row per implementation,
// each compared with the floor measured in the same rounds.
type ScenarioResult struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Setup describes sizes, rounds and method, one sentence a line.
	Setup []string `json:"setup"`
	// Primary is the metric whose per-round ratio to the floor the chart
	// shows and Row.Ratio holds.
	Primary string   `json:"primary_metric"`
	Rows    []*Row   `json:"rows"`
	Notes   []string `json:"notes,omitempty"`
	Seconds float64  `json:"seconds"`
	// Error is set when the scenario could not run at all.
	Error string `json:"error,omitempty"`
	// Targets are the design targets (DESIGN.md) this scenario checks.
	Targets []Target `json:"targets,omitempty"`

	columns []column
	charts  []chartSpec
}

// Row is one implementation's results in a scenario.
type Row struct {
	Impl string `json:"impl"`
	API  string `json:"api"`
	// Floor names the row this one is divided by, round by round; empty for
	// a floor itself.
	Floor string `json:"floor,omitempty"`
	// Ratio is the median (and range) of per-round ratios of the primary
	// metric to the floor's.
	Ratio Stat `json:"ratio"`
	// Ratios holds per-round ratios to the floor of other metrics.
	Ratios  map[string]Stat   `json:"ratios,omitempty"`
	Metrics map[string]Stat   `json:"metrics"`
	Text    map[string]string `json:"text,omitempty"`
	// Counts holds how many rounds met a condition (complete deliveries,
	// dead subscriptions), out of Rounds.
	Counts map[string]int `json:"counts,omitempty"`
	Rounds int            `json:"rounds"`
	Error  string         `json:"error,omitempty"`
}

// sample is what one run of one implementation measured, by metric name.
// A metric that could not be measured in that run is absent or NaN.
type sample map[string]float64

// get returns the metric or NaN.
func (s sample) get(k string) float64 {
	if v, ok := s[k]; ok {
		return v
	}
	return math.NaN()
}

// impl is one implementation taking part in an interleaved measurement.
type impl struct {
	name string
	api  string
	// floor is the impl whose rounds this one is divided by ("" for a floor).
	floor string
	run   func() (sample, error)
}

// series collects one impl's samples, round by round. A failed impl keeps
// its error and stops being run.
type series struct {
	impl   impl
	rounds []sample
	err    error
}

// values returns metric k for every round, NaN where it is missing.
func (s *series) values(k string) []float64 {
	out := make([]float64, len(s.rounds))
	for i, r := range s.rounds {
		out[i] = r.get(k)
	}
	return out
}

// runInterleaved runs every impl once per round (A B C, B C A, C A B …),
// after warm-up rounds whose samples are dropped. Each round starts one
// impl further along, so that no impl, the floor least of all, always runs
// in the same position (the first dump after a process start-up, say, runs
// measurably slower). An impl that fails is recorded and left out of later
// rounds; the others go on.
func runInterleaved(p *progress, warmup, rounds int, impls []impl) []*series {
	ss, _ := runRounds(p, warmup, rounds, impls, nil)
	return ss
}

// runRounds is runInterleaved with a set-up step before each round (nil
// for none) that all of the round's impls share, such as queueing the
// events they will drain. A failed set-up ends the measurement.
func runRounds(p *progress, warmup, rounds int, impls []impl, before func(round int) error) ([]*series, error) {
	ss := make([]*series, len(impls))
	for i, im := range impls {
		ss[i] = &series{impl: im}
	}
	for r := range warmup + rounds {
		if before != nil {
			if err := before(r); err != nil {
				return ss, err
			}
		}
		for i := range ss {
			s := ss[(i+r)%len(ss)]
			label := s.impl.name
			if r < warmup {
				label += " (warm-up)"
			}
			p.step(label)
			if s.err != nil {
				continue
			}
			smp, err := s.impl.run()
			if err != nil {
				s.err = err
				p.warn("%s: %v", s.impl.name, err)
				continue
			}
			if r >= warmup {
				s.rounds = append(s.rounds, smp)
			}
		}
	}
	return ss, nil
}

// buildRows summarises series into rows: every metric in metrics, the
// primary metric's ratio to the floor, and the ratios of ratioMetrics.
// Ratios pair rounds by index, which is valid because a failed impl stops
// being sampled only after its last good round and its floor is sampled in
// every round before.
func buildRows(ss []*series, metrics []string, primary string, ratioMetrics []string) []*Row {
	byName := map[string]*series{}
	for _, s := range ss {
		byName[s.impl.name] = s
	}
	var rows []*Row
	for _, s := range ss {
		row := &Row{
			Impl:    s.impl.name,
			API:     s.impl.api,
			Floor:   s.impl.floor,
			Metrics: map[string]Stat{},
			Ratios:  map[string]Stat{},
			Rounds:  len(s.rounds),
		}
		if s.err != nil {
			row.Error = s.err.Error()
		}
		for _, k := range metrics {
			row.Metrics[k] = summarize(s.values(k))
		}
		floor := s
		if s.impl.floor != "" {
			floor = byName[s.impl.floor]
		}
		if floor != nil {
			row.Ratio = ratioStat(s.values(primary), floor.values(primary))
			for _, k := range ratioMetrics {
				row.Ratios[k] = ratioStat(s.values(k), floor.values(k))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// Target is one design target checked against a row: the row's metric
// median (or its ratio to the floor, or the fraction of complete runs) must
// be at most Limit, or at least Limit when AtLeast.
type Target struct {
	What    string  `json:"what"`
	Impl    string  `json:"impl"`
	Metric  string  `json:"metric"` // a metric name, "ratio", or "complete"
	Limit   float64 `json:"limit"`
	AtLeast bool    `json:"at_least,omitempty"`
	Got     float64 `json:"got"`
	Met     bool    `json:"met"`
	// Measured is false when the row is missing or has no value.
	Measured bool `json:"measured"`
}

// checkTargets fills in Got, Met and Measured from the scenario's rows.
func (s *ScenarioResult) checkTargets() {
	for i := range s.Targets {
		t := &s.Targets[i]
		for _, r := range s.Rows {
			if r.Impl != t.Impl {
				continue
			}
			switch t.Metric {
			case "ratio":
				t.Got, t.Measured = r.Ratio.Median, r.Ratio.Valid()
			case "complete":
				if r.Rounds > 0 {
					t.Got, t.Measured = float64(r.Counts["complete"])/float64(r.Rounds), true
				}
			default:
				st := r.Metrics[t.Metric]
				t.Got, t.Measured = st.Median, st.Valid()
			}
		}
		t.Met = t.Measured && ((t.AtLeast && t.Got >= t.Limit) || (!t.AtLeast && t.Got <= t.Limit))
	}
}
