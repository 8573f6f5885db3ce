package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nlrx/nlrx/internal/userns"
)

// envChild selects a child role when the harness starts itself: "dump-raw"
// (one raw dump, as a whole process) or "watch" (one subscriber).
const envChild = "NLRX_BENCH_CHILD"

func main() {
	switch os.Getenv(envChild) {
	case "dump-raw":
		os.Exit(childDumpRaw())
	case "watch":
		os.Exit(childWatch())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `usage: go run . [flags] [scenario ...]

Measures nlrx against the raw x/sys/unix floor and the Go peers, each
scenario in a private network namespace it makes and removes. With no
scenario named, every available one runs.

scenarios: %s

flags:
`, scenarioNames())
	fs.PrintDefaults()
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		quick  = fs.Bool("quick", false, "every scenario at reduced size (10,000 routes, few rounds): under a minute")
		outDir = fs.String("out", "", "write results.json, results.md and SVG charts to `DIR`")
		mdFile = fs.String("md", "", "also write the Markdown report to `FILE` (charts linked into -out DIR)")
		format = fs.String("format", "both", "what to print on stdout: md, json or both (Markdown, then JSON)")
		list   = fs.Bool("list", false, "list the scenarios and whether they can run, then exit")
		env    = runEnv{warmup: -1}
	)
	fs.IntVar(&env.routes, "routes", 0, "override the number of routes (events) per scenario")
	fs.IntVar(&env.rounds, "rounds", 0, "override the number of measured rounds")
	fs.IntVar(&env.warmup, "warmup", -1, "override the number of warm-up rounds")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *list {
		for _, s := range scenarios {
			state := "available"
			if s.unavailable != "" {
				state = "not yet available: " + s.unavailable
			}
			fmt.Fprintf(stdout, "%-7s %s (%s)\n", s.name, s.title, state)
		}
		return 0
	}
	switch *format {
	case "md", "json", "both":
	default:
		fmt.Fprintf(stderr, "bench: -format must be md, json or both, not %q\n", *format)
		return 2
	}
	env.quick = *quick
	torun, skipped, err := selectScenarios(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if len(torun) == 0 {
		fmt.Fprintf(stderr, "bench: no scenario can run yet\n")
		return 1
	}
	if os.Geteuid() != 0 && !inUserNS() {
		// Namespaces need CAP_SYS_ADMIN: get it in a user namespace of our own.
		code, err := userns.Reexec()
		if err != nil {
			fmt.Fprintf(stderr, "bench: cannot run: needs root, or unprivileged user namespaces (user.max_user_namespaces, kernel.unprivileged_userns_clone): %v\n", err)
			return 1
		}
		return code
	}

	rep := &Report{
		Machine: describeMachine(),
		Command: "cd bench && go run . " + strings.Join(args, " "),
		Quick:   *quick,
		Started: time.Now().UTC(),
	}
	rep.Command = strings.TrimSpace(rep.Command)
	env.progress = newProgress(stderr, 2)
	for _, s := range skipped {
		fmt.Fprintf(stderr, "bench: skipping %s: not yet available (%s)\n", s.name, s.unavailable)
	}
	failed := false
	for _, s := range torun {
		sz := env.sizeFor(s)
		env.progress.begin(s.name, (sz.warmup+sz.rounds)*4)
		t0 := time.Now()
		results, err := s.run(&env, sz)
		if err != nil {
			results = []*ScenarioResult{{Name: s.name, Title: s.title, Error: err.Error()}}
			env.progress.warn("cannot run: %v", err)
			failed = true
		}
		secs := time.Since(t0).Seconds()
		env.progress.end()
		for _, res := range results {
			res.checkTargets()
			if res.Seconds == 0 {
				res.Seconds = secs / float64(len(results))
			}
			for _, r := range res.Rows {
				if r.Error != "" {
					failed = true
				}
			}
			rep.Scenarios = append(rep.Scenarios, res)
		}
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Machine.LoadEnd = loadavg()

	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	js = append(js, '\n')
	if *format != "json" {
		writeMarkdown(stdout, rep, "-", skipped)
	}
	if *format == "both" {
		fmt.Fprintln(stdout)
	}
	if *format != "md" {
		stdout.Write(js)
	}
	if *outDir != "" {
		if err := writeOut(*outDir, rep, js, skipped); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if *mdFile != "" {
		chartDir := "-"
		if *outDir != "" {
			if rel, err := filepath.Rel(filepath.Dir(*mdFile), *outDir); err == nil {
				chartDir = rel
			}
		}
		var b bytes.Buffer
		writeMarkdown(&b, rep, chartDir, skipped)
		if err := os.WriteFile(*mdFile, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	if failed {
		fmt.Fprintf(stderr, "bench: FAILED: a scenario or an implementation could not be measured (see above)\n")
		return 1
	}
	return 0
}

// writeOut writes results.json, results.md and every chart to dir.
func writeOut(dir string, rep *Report, js []byte, skipped []*scenario) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), js, 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	writeMarkdown(&md, rep, "", skipped)
	if err := os.WriteFile(filepath.Join(dir, "results.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	for _, s := range rep.Scenarios {
		for _, c := range s.charts {
			unit, ref := c.unit, c.ref
			if c.metric == "ratio" {
				unit, ref = "×", 1
			}
			var b bytes.Buffer
			if err := writeSVG(&b, c.title, chartBars(s, c), unit, ref); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, c.file), b.Bytes(), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
