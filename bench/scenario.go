package main

import (
	"fmt"
	"slices"
	"strings"
)

// size is how big a scenario runs: routes (or events, items …), measured
// rounds and warm-up rounds.
type size struct {
	routes int
	rounds int
	warmup int
}

// scenario is one measurement the harness can run. Scenarios register
// themselves from their own files (init), so adding one touches no other
// file.
type scenario struct {
	name  string
	title string
	// unavailable, when set, says why the scenario cannot be built yet
	// (the package it measures has not landed). Asking for it explicitly
	// is then an error; running everything skips it with a note.
	unavailable string
	full, quick size
	run         func(env *runEnv, sz size) ([]*ScenarioResult, error)
}

var scenarios []*scenario

func register(s *scenario) {
	if lookup(s.name) != nil {
		panic("bench: scenario registered twice: " + s.name) // a programming error, found at start-up
	}
	scenarios = append(scenarios, s)
	order := []string{"dump", "watch", "batch", "scale", "stream", "soak"}
	slices.SortStableFunc(scenarios, func(a, b *scenario) int {
		ia, ib := slices.Index(order, a.name), slices.Index(order, b.name)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
}

func lookup(name string) *scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

func scenarioNames() string {
	var ns []string
	for _, s := range scenarios {
		n := s.name
		if s.unavailable != "" {
			n += " (not yet available)"
		}
		ns = append(ns, n)
	}
	return strings.Join(ns, ", ")
}

// runEnv is what a scenario gets from the driver.
type runEnv struct {
	quick    bool
	progress *progress
	// overrides from flags; zero means the scenario's own size.
	routes, rounds, warmup int
}

// sizeFor returns the scenario's size for this run, with flag overrides.
func (e *runEnv) sizeFor(s *scenario) size {
	sz := s.full
	if e.quick {
		sz = s.quick
	}
	if e.routes > 0 {
		sz.routes = e.routes
	}
	if e.rounds > 0 {
		sz.rounds = e.rounds
	}
	if e.warmup >= 0 {
		sz.warmup = e.warmup
	}
	return sz
}

// named holds the scenarios this run asked for by name (none: every
// available one), for a scenario too long for a full run of everything
// (soak) to tell whether it was asked for.
var named []string

// selectScenarios returns the scenarios named in args (all if none). A
// named scenario that is unknown or not yet available is an error; when
// none is named, unavailable ones are returned separately so the report can
// list them.
func selectScenarios(args []string) (run []*scenario, skipped []*scenario, err error) {
	named = args
	if len(args) == 0 {
		for _, s := range scenarios {
			if s.unavailable != "" {
				skipped = append(skipped, s)
				continue
			}
			run = append(run, s)
		}
		return run, skipped, nil
	}
	for _, a := range args {
		s := lookup(a)
		if s == nil {
			return nil, nil, fmt.Errorf("unknown scenario %q (have: %s)", a, scenarioNames())
		}
		if s.unavailable != "" {
			return nil, nil, fmt.Errorf("scenario %q is not yet available: %s", a, s.unavailable)
		}
		if !slices.Contains(run, s) {
			run = append(run, s)
		}
	}
	return run, nil, nil
}
