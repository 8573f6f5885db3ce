package main

import (
	"math"
	"slices"
)

// Stat summarises one metric over the measured rounds: the median and the
// range. N is the number of rounds that produced a value; a Stat with N == 0
// has no value and is printed as a dash.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// Valid reports whether the Stat holds at least one value.
func (s Stat) Valid() bool { return s.N > 0 }

// median returns the median of xs (the mean of the two middle values for an
// even count) and NaN for an empty slice. xs is not modified.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// summarize returns the median and min–max of xs, skipping NaN values
// (rounds in which the metric was not measured).
func summarize(xs []float64) Stat {
	var vs []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			vs = append(vs, x)
		}
	}
	if len(vs) == 0 {
		return Stat{}
	}
	return Stat{Median: median(vs), Min: slices.Min(vs), Max: slices.Max(vs), N: len(vs)}
}

// ratios divides xs by floor round by round: the i-th result is
// xs[i]/floor[i]. A round where either value is missing (NaN) or the floor
// is not positive gives NaN, so it drops out of summarize. The slices are
// paired by index, which is why both must come from the same interleaved run.
func ratios(xs, floor []float64) []float64 {
	n := min(len(xs), len(floor))
	out := make([]float64, n)
	for i := range n {
		if math.IsNaN(xs[i]) || math.IsNaN(floor[i]) || floor[i] <= 0 {
			out[i] = math.NaN()
			continue
		}
		out[i] = xs[i] / floor[i]
	}
	return out
}

// ratioStat is the median of per-round ratios of xs to floor, with their
// range. This is not median(xs)/median(floor): pairing by round cancels the
// machine-wide drift that a shared, noisy machine shows between rounds.
func ratioStat(xs, floor []float64) Stat { return summarize(ratios(xs, floor)) }
