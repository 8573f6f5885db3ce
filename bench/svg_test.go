package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// parseSVG checks that b is well-formed XML with an <svg> root and returns
// how many elements of each name it holds and all its text.
func parseSVG(t *testing.T, b []byte) (map[string]int, string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	counts := map[string]int{}
	var text strings.Builder
	depth, root := 0, ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = tok.Name.Local
				if tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root namespace %q, want the SVG namespace", tok.Name.Space)
				}
			}
			depth++
			counts[tok.Name.Local]++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tok)
		}
	}
	if root != "svg" || depth != 0 {
		t.Fatalf("root element %q, depth at end %d; want a closed <svg>", root, depth)
	}
	return counts, text.String()
}

func TestSVGChartIsWellFormedWithOneBarPerImplementation(t *testing.T) {
	bars := []bar{
		{label: "raw", median: 1, lo: 1, hi: 1, floor: true},
		{label: "vish <list> & \"iter\"", median: 11.4, lo: 9.8, hi: 14.4},
		{label: "mdl", median: 3.2, lo: 3.2, hi: 3.2},
		{label: "broken", median: math.NaN(), lo: math.NaN(), hi: math.Inf(1)},
	}
	var b bytes.Buffer
	if err := writeSVG(&b, "Dump: wall ÷ floor <100k>", bars, "×", 1); err != nil {
		t.Fatal(err)
	}
	counts, text := parseSVG(t, b.Bytes())
	// One background rect plus one bar per implementation.
	if counts["rect"] != 1+len(bars) {
		t.Errorf("%d rects, want %d", counts["rect"], 1+len(bars))
	}
	for _, want := range []string{"vish <list> & \"iter\"", "Dump: wall ÷ floor <100k>", "11.4×", "3.20×"} {
		if !strings.Contains(text, want) {
			t.Errorf("chart text lacks %q", want)
		}
	}
	if strings.Contains(b.String(), "NaN") || strings.Contains(b.String(), "Inf") {
		t.Error("chart coordinates contain NaN or Inf")
	}
}

func TestSVGChartWithNoBarsIsStillWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := writeSVG(&b, "empty", nil, "%", 0); err != nil {
		t.Fatal(err)
	}
	parseSVG(t, b.Bytes())
}

func TestChartBarsTakeRatiosAndMarkTheFloor(t *testing.T) {
	s := &ScenarioResult{Rows: []*Row{
		{Impl: "raw", Rounds: 3},
		{Impl: "peer", Floor: "raw", Ratio: Stat{Median: 2, Min: 1.5, Max: 3, N: 3}},
		{Impl: "ip", Floor: "raw-proc", Ratio: Stat{Median: 4, Min: 4, Max: 4, N: 3}},
		{Impl: "dead", Floor: "raw"},
	}}
	bs := chartBars(s, chartSpec{metric: "ratio"})
	if len(bs) != 3 {
		t.Fatalf("%d bars, want 3 (a row without a value is left out)", len(bs))
	}
	if !bs[0].floor || bs[0].median != 1 {
		t.Errorf("floor bar %+v, want a floor at 1", bs[0])
	}
	if bs[1].label != "peer" || bs[2].label != "ip (÷ raw-proc)" {
		t.Errorf("bar labels %q, %q: want the floor named only where it is not the nearest floor above", bs[1].label, bs[2].label)
	}
	s.Rows[1].Metrics = map[string]Stat{mEvents: {Median: 50, Min: 25, Max: 100, N: 3}}
	bs = chartBars(s, chartSpec{metric: mEvents, scale: 2})
	if len(bs) != 1 || bs[0].median != 100 || bs[0].hi != 200 {
		t.Errorf("metric bars %+v, want one scaled bar", bs)
	}
}

func TestNiceStepGivesRoundTicks(t *testing.T) {
	tests := []struct {
		top  float64
		want float64
	}{
		{1, 0.2}, {14.4, 5}, {3.2, 1}, {100, 20}, {0, 1}, {math.NaN(), 1},
	}
	for _, tt := range tests {
		if got := niceStep(tt.top, 5); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("niceStep(%v) = %v, want %v", tt.top, got, tt.want)
		}
	}
}
