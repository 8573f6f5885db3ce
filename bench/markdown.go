package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
)

// column is one column of a scenario's Markdown table.
type column struct {
	header string
	cell   func(r *Row) string
}

func fmtNum(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	s := fmt.Sprintf("%.*f", prec, v)
	// Thousands separators for the integer part keep large counts readable.
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

// fmtStat prints "median (min–max)", or a dash when nothing was measured.
func fmtStat(s Stat, prec int) string {
	if !s.Valid() {
		return "—"
	}
	if s.N == 1 || (s.Min == s.Max) {
		return fmtNum(s.Median, prec)
	}
	return fmt.Sprintf("%s (%s–%s)", fmtNum(s.Median, prec), fmtNum(s.Min, prec), fmtNum(s.Max, prec))
}

func fmtStatCount(s Stat) string { return fmtStat(s, 0) }

// count prints an integer with thousands separators.
func count(n int) string { return fmtNum(float64(n), 0) }

// fmtAuto prints integers without decimals and other values with two.
func fmtAuto(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmtNum(v, 0)
	}
	return fmtNum(v, 2)
}

// fmtCount prints the median of a count.
func fmtCount(s Stat) string {
	if !s.Valid() {
		return "—"
	}
	return fmtNum(s.Median, 0)
}

func fmtMB(s Stat) string {
	if !s.Valid() {
		return "—"
	}
	return fmtNum(s.Median/1e6, 2)
}

func fmtBytes(s Stat) string {
	if !s.Valid() {
		return "?"
	}
	v := s.Median
	switch {
	case v >= 1<<20:
		return fmtNum(v/(1<<20), 1) + " MiB"
	case v >= 1<<10:
		return fmtNum(v/(1<<10), 0) + " KiB"
	}
	return fmtNum(v, 0) + " B"
}

// fmtRatio prints a row's primary ratio to its floor; the floor itself
// prints as 1 (floor).
func fmtRatio(r *Row) string { return fmtRatioStat(r.Ratio, r.Floor) }

func fmtRatioStat(s Stat, floor string) string {
	if floor == "" {
		return "1 (floor)"
	}
	if !s.Valid() {
		return "—"
	}
	txt := fmtStat(s, 2) + "×"
	if floor != "raw" {
		txt += " of `" + floor + "`"
	}
	return txt
}

// writeMarkdown renders the report. chartDir is where the charts are,
// relative to the Markdown file ("" to leave charts out).
func writeMarkdown(w io.Writer, rep *Report, chartDir string, skipped []*scenario) {
	m := rep.Machine
	fmt.Fprintf(w, "# nlrx benchmark results\n\n")
	fmt.Fprintf(w, "- Command: `%s`\n", rep.Command)
	fmt.Fprintf(w, "- Date: %s (UTC), %.0f s in total\n", rep.Started.UTC().Format("2006-01-02 15:04"), rep.Seconds)
	fmt.Fprintf(w, "- Machine: %s, %d cores (GOMAXPROCS %d), %s RAM; Linux %s; %s; %s\n", m.CPU, m.Cores, m.GOMAXPROCS, m.Memory, m.Kernel, m.GoVersion, m.IPVersion)
	fmt.Fprintf(w, "- Source: nlrx %s\n", m.Source)
	fmt.Fprintf(w, "- net.core.rmem_default %s, rmem_max %s; privilege: %s\n", m.RmemDefault, m.RmemMax, m.Privilege)
	fmt.Fprintf(w, "- Load average (1 min) at start %s, at end %s: other work on the machine shares the CPUs, so compare ratios measured in the same run, not absolute times across runs.\n", m.LoadStart, m.LoadEnd)
	if rep.Quick {
		fmt.Fprintf(w, "- **Quick run** (`-quick`): reduced sizes, few rounds; for checking that the harness works, not for figures.\n")
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "- Scenario `%s` (%s) not run: not yet available (%s).\n", s.name, s.title, s.unavailable)
	}
	writeTargets(w, rep)
	for _, s := range rep.Scenarios {
		fmt.Fprintf(w, "\n## %s: %s\n\n", s.Name, s.Title)
		if s.Error != "" {
			fmt.Fprintf(w, "**Could not run:** %s\n", s.Error)
			continue
		}
		for _, l := range s.Setup {
			fmt.Fprintf(w, "- %s\n", l)
		}
		fmt.Fprintf(w, "- Took %.1f s.\n\n", s.Seconds)
		writeTable(w, s)
		var errs []string
		for _, r := range s.Rows {
			if r.Error != "" {
				errs = append(errs, fmt.Sprintf("- **`%s` failed** (after %d measured rounds): %s", r.Impl, r.Rounds, r.Error))
			}
		}
		if len(errs) > 0 {
			fmt.Fprintf(w, "\n%s\n", strings.Join(errs, "\n"))
		}
		if len(s.Notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range s.Notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
		if chartDir != "-" {
			for _, c := range s.charts {
				fmt.Fprintf(w, "\n![%s](%s)\n", c.title, filepath.ToSlash(filepath.Join(chartDir, c.file)))
			}
		}
	}
}

func writeTable(w io.Writer, s *ScenarioResult) {
	var hs, seps []string
	for _, c := range s.columns {
		hs = append(hs, c.header)
		seps = append(seps, "---")
	}
	fmt.Fprintf(w, "| %s |\n|%s|\n", strings.Join(hs, " | "), strings.Join(seps, "|"))
	for _, r := range s.Rows {
		var cs []string
		for _, c := range s.columns {
			cs = append(cs, strings.ReplaceAll(c.cell(r), "|", `\|`))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cs, " | "))
	}
}

// writeTargets summarises the design targets of every scenario that ran.
func writeTargets(w io.Writer, rep *Report) {
	var lines []string
	for _, s := range rep.Scenarios {
		for _, t := range s.Targets {
			verdict := "**missed**"
			switch {
			case !t.Measured:
				verdict = "not measured"
			case t.Met:
				verdict = "met"
			}
			op := "≤"
			if t.AtLeast {
				op = "≥"
			}
			got := fmtAuto(t.Got)
			if t.Metric == "complete" {
				got = fmtNum(100*t.Got, 0) + " % of runs"
			}
			lines = append(lines, fmt.Sprintf("| %s | %s | `%s` | %s %s | %s | %s |", s.Name, t.What, t.Impl, op, fmtTargetLimit(t), got, verdict))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Design targets (DESIGN.md)\n\n| scenario | target | row | limit | measured (median) | verdict |\n|---|---|---|---|---|---|\n%s\n", strings.Join(lines, "\n"))
}

func fmtTargetLimit(t Target) string {
	if t.Metric == "complete" {
		return fmtNum(100*t.Limit, 0) + " % of runs"
	}
	return fmtAuto(t.Limit)
}
