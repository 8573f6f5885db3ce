package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
)

// chartSpec says what one chart of a scenario shows.
type chartSpec struct {
	file  string
	title string
	// metric is "ratio" for Row.Ratio, or a key of Row.Metrics.
	metric string
	// scale multiplies the values (0 means 1); unit follows them ("×" for
	// ratios); ref draws a reference line (0: 1 for ratios, none otherwise).
	scale float64
	unit  string
	ref   float64
}

// bar is one horizontal bar: the median, with a whisker for min–max.
type bar struct {
	label          string
	median, lo, hi float64
	floor          bool
}

// chartBars extracts the bars of a chart from a scenario's rows; rows
// without a value are left out.
func chartBars(s *ScenarioResult, c chartSpec) []bar {
	scale := c.scale
	if scale == 0 {
		scale = 1
	}
	var bs []bar
	lastFloor := ""
	for _, r := range s.Rows {
		st := r.Ratio
		label := r.Impl
		if r.Floor == "" {
			lastFloor = r.Impl
		}
		if c.metric != "ratio" {
			st = r.Metrics[c.metric]
		} else if r.Floor == "" {
			st = Stat{Median: 1, Min: 1, Max: 1, N: max(r.Rounds, 1)}
		} else if r.Floor != lastFloor {
			// The chart says each ratio is to the nearest floor above it;
			// name the floor where that is not so.
			label += " (÷ " + r.Floor + ")"
		}
		if !st.Valid() {
			continue
		}
		bs = append(bs, bar{label: label, median: st.Median * scale, lo: st.Min * scale, hi: st.Max * scale, floor: r.Floor == ""})
	}
	return bs
}

// niceStep returns a round tick spacing (1, 2 or 5 × 10^k) giving about n
// ticks up to top.
func niceStep(top float64, n int) float64 {
	if top <= 0 || math.IsNaN(top) || math.IsInf(top, 0) {
		return 1
	}
	raw := top / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeSVG draws a horizontal bar chart: one bar per implementation at its
// median, a whisker from min to max, a dashed reference line (the floor at
// 1× for ratio charts), and the median printed after the whisker. It is
// plain SVG 1.1 with no scripts or external references.
func writeSVG(w io.Writer, title string, bars []bar, unit string, ref float64) error {
	const (
		right   = 90.0
		top     = 62.0
		rowH    = 26.0
		barH    = 16.0
		bottom  = 40.0
		plotW   = 520.0
		charW   = 7.0 // a generous average advance of 12 px sans-serif
		fontCSS = "font-family:sans-serif;font-size:12px"
	)
	longest := len([]rune(title)) / 2
	for _, b := range bars {
		longest = max(longest, len([]rune(b.label)))
	}
	left := math.Max(120, float64(longest)*charW+16)
	width := left + plotW + right
	height := top + rowH*float64(len(bars)) + bottom
	hi := ref
	for _, b := range bars {
		hi = math.Max(hi, math.Max(b.hi, b.median))
	}
	if !(hi > 0) || math.IsInf(hi, 0) {
		hi = 1
	}
	// Trim float noise (10,000 × 0.01 is a hair above 100) so that a round
	// maximum does not push the axis one step further.
	hi *= 1 - 1e-9
	step := niceStep(hi, 5)
	axisMax := math.Ceil(hi/step) * step
	x := func(v float64) float64 {
		if math.IsNaN(v) || v < 0 {
			v = 0
		}
		return left + plotW*math.Min(v, axisMax)/axisMax
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" style="%s">`+"\n", width, height, width, height, fontCSS)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%.0f" y="22" style="font-size:14px;font-weight:bold">%s</text>`+"\n", 10.0, esc(title))
	if ref == 1 && unit == "×" {
		fmt.Fprintf(&b, `<text x="%.0f" y="40" fill="#555555">%s</text>`+"\n", 10.0, esc("Grey bars are floors; each ratio is to the nearest floor above it, round by round. Bar: median; whisker: min–max."))
	} else {
		fmt.Fprintf(&b, `<text x="%.0f" y="40" fill="#555555">%s</text>`+"\n", 10.0, esc("Bar: median over the rounds; whisker: min–max."))
	}
	plotBottom := top + rowH*float64(len(bars))
	for t := 0.0; t <= axisMax+step/2; t += step {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", x(t), top-6, x(t), plotBottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555555">%s</text>`+"\n", x(t), plotBottom+16, esc(fmtNum(t, tickPrec(step))+unit))
	}
	if ref > 0 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333" stroke-dasharray="4,3"/>`+"\n", x(ref), top-10, x(ref), plotBottom+4)
	}
	for i, br := range bars {
		y := top + rowH*float64(i)
		fill := "#4a7fb5"
		if br.floor {
			fill = "#8a8a8a"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+barH-3, esc(br.label))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", left, y, math.Max(x(br.median)-left, 0.5), barH, fill)
		if br.hi > br.lo {
			cy := y + barH/2
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222222"/>`+"\n", x(br.lo), cy, x(br.hi), cy)
			for _, v := range []float64{br.lo, br.hi} {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222222"/>`+"\n", x(v), cy-4, x(v), cy+4)
			}
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", math.Max(x(br.hi), x(br.median))+6, y+barH-3, esc(fmtNum(br.median, valuePrec(br.median))+unit))
	}
	fmt.Fprintf(&b, "</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func tickPrec(step float64) int {
	if step >= 1 {
		return 0
	}
	return int(math.Ceil(-math.Log10(step)))
}

func valuePrec(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	}
	return 2
}
