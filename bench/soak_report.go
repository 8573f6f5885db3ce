package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

func one(v float64) Stat { return Stat{Median: v, Min: v, Max: v, N: 1} }

func fmtMiB(bytes float64) string { return fmtNum(bytes/(1<<20), 1) + " MiB" }

// slopePerMinute is the least-squares slope of ys over xs (minutes).
func slopePerMinute(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 3 {
		return math.NaN()
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

// soakQuantity is one resource row: how to read it from a sample, how to
// print it, and what growth fails the soak.
type soakQuantity struct {
	name   string
	metric string
	get    func(r soakResources) float64
	show   func(v float64) string
	limit  string
	// fail says why end (at the same live count as start) is too much;
	// nil reports the quantity only.
	fail func(start, end float64) string
	// leak compares after Close with before the soak (goroutines, fds).
	leak bool
}

var soakQuantities = []soakQuantity{
	{
		name: "Go heap after GC", metric: "heap_bytes",
		get:   func(r soakResources) float64 { return r.heap },
		show:  fmtMiB,
		limit: "end ≤ 2 × start + 16 MiB",
		fail: func(start, end float64) string {
			if end > 2*start+16<<20 {
				return fmt.Sprintf("the heap grew from %s to %s at the same table size", fmtMiB(start), fmtMiB(end))
			}
			return ""
		},
	},
	{
		name: "RSS (VmRSS)", metric: "rss_kib",
		get:   func(r soakResources) float64 { return r.rssKiB },
		show:  func(v float64) string { return fmtMiB(v * 1024) },
		limit: "reported only (RSS keeps freed pages a while)",
	},
	{
		name: "goroutines", metric: "goroutines",
		get:   func(r soakResources) float64 { return float64(r.goroutines) },
		show:  func(v float64) string { return fmtNum(v, 0) },
		limit: "end ≤ start + 4; after Close ≤ before",
		fail: func(start, end float64) string {
			if end > start+4 {
				return fmt.Sprintf("goroutines grew from %.0f to %.0f", start, end)
			}
			return ""
		},
		leak: true,
	},
	{
		name: "open descriptors", metric: "fds",
		get:   func(r soakResources) float64 { return float64(r.fds) },
		show:  func(v float64) string { return fmtNum(v, 0) },
		limit: "end ≤ start + 2; after Close = before",
		fail: func(start, end float64) string {
			if end > start+2 {
				return fmt.Sprintf("open descriptors grew from %.0f to %.0f", start, end)
			}
			return ""
		},
		leak: true,
	},
}

// results reports the soak; the second result, also in the first, is the
// resource table, whose after-Close column fillAfterClose completes.
func (s *soakRun) results(loopErr, leakErr error, before soakResources, gLeft, fdLeft int, took, user, sys time.Duration) ([]*ScenarioResult, *ScenarioResult) {
	cfg, ch := &s.cfg, s.churn
	changes := ch.changes()
	cpu := user + sys

	kr := &Row{
		Impl: "churn",
		API:  "rtnl.AddRoutes / ReplaceRoutes / DeleteRoutes through one nl.Conn (an ACK per route, batched); rtnl.SetLinkDown / SetLinkUp",
		Metrics: map[string]Stat{
			"added": one(float64(ch.added)), "changed": one(float64(ch.replaced)), "deleted": one(float64(ch.deleted)),
			"flushed": one(float64(ch.flushed)), "flaps": one(float64(ch.flaps)), "bursts": one(float64(ch.bursts)),
			"changes": one(float64(changes)), "peak_live": one(float64(ch.peakLive)),
			"collisions":    one(float64(s.collisions)),
			"changes_per_s": one(float64(changes) / took.Seconds()),
			"seconds":       one(took.Seconds()),
			mCPU:            one(ms(cpu)), mUser: one(ms(user)), mSys: one(ms(sys)),
		},
		Text: map[string]string{
			"rcvbuf": "—",
			"other":  fmt.Sprintf("%s flushed by %d link downs", count(int(ch.flushed)), ch.flaps),
			"notif":  "—",
		},
		Counts: map[string]int{"complete": s.churnOK},
		Rounds: s.checkpoints,
	}
	if changes > 0 {
		kr.Metrics["cpu_us_per_change"] = one(ms(cpu) * 1000 / float64(changes))
	}
	var churnErrs []string
	if s.churnErr != nil {
		churnErrs = append(churnErrs, s.churnErr.Error())
	}
	kr.Error = strings.Join(churnErrs, "; ")
	if s.collisions > 0 {
		// Reported, not failed (see the watchers' collisions).
		if kr.Text == nil {
			kr.Text = map[string]string{}
		}
		kr.Text["collisions"] = fmt.Sprintf("%d routes of the checkpoints' kernel dumps had a key (rtnl.RouteKey) another route of the same dump had: %s",
			s.collisions, strings.Join(s.collided, "; "))
	}
	rows := []*Row{kr}
	for _, w := range s.watchers {
		st := w.w.Stats()
		row := &Row{
			Impl: w.name,
			API:  w.api,
			Metrics: map[string]Stat{
				"added": one(float64(w.live[0].Load())), "changed": one(float64(w.live[1].Load())), "deleted": one(float64(w.live[2].Load())),
				"synthetic_added": one(float64(w.synth[0].Load())), "synthetic_changed": one(float64(w.synth[1].Load())),
				"synthetic_deleted": one(float64(w.synth[2].Load())),
				"overruns":          one(float64(w.overruns.Load())), "resyncs": one(float64(w.resyncs.Load())),
				"notifications": one(float64(st.Messages)), "unchanged": one(float64(st.Unchanged)),
				"ignored": one(float64(st.Ignored)), "decode_errors": one(float64(st.DecodeErrors)),
				"dump_retries": one(float64(st.DumpRetries)), "rcvbuf": one(float64(st.ReadBuffer)),
				"settle_ms":     summarize(w.settleMs),
				"verifications": one(float64(st.Verifications)), "repairs": one(float64(st.Repairs)),
				"collisions": one(float64(st.Collisions)),
			},
			Text: map[string]string{
				"rcvbuf": fmtBytes(one(float64(st.ReadBuffer))),
				"other": fmt.Sprintf("%s / %s / %s", count(int(w.synth[0].Load())), count(int(w.synth[1].Load())),
					count(int(w.synth[2].Load()))),
				"notif":        fmt.Sprintf("%s (%s)", count(int(st.Messages)), count(int(st.Unchanged))),
				"audit":        fmt.Sprintf("%s / %s / %s", count(int(st.Verifications)), count(int(st.Repairs)), count(int(st.Collisions))),
				"audit_series": auditSeries(w.audits),
			},
			Counts: map[string]int{"complete": w.equal},
			Rounds: w.checks,
		}
		var errs []string
		if w.failed > 0 {
			errs = append(errs, fmt.Sprintf("the table differed from the kernel at %d of %d checkpoints; first at %s", w.failed, w.checks, w.firstFailure))
			if w.failed > 1 {
				errs = append(errs, "last at "+w.lastFailure)
			}
		}
		if w.stopped != "" {
			errs = append(errs, w.stopped)
		}
		if st.Repairs > 0 {
			// Reported, not failed: the tables were right at every
			// checkpoint (the verification repaired them); a repair names
			// a kernel rule the model does not follow yet.
			w.repairMu.Lock()
			if row.Text == nil {
				row.Text = map[string]string{}
			}
			row.Text["repairs"] = fmt.Sprintf("verifications repaired %d entries (first at checkpoint %d); repair events: %s",
				st.Repairs, firstRise(w.audits, 1), strings.Join(w.repaired, "; "))
			w.repairMu.Unlock()
		}
		if st.Collisions > 0 {
			// Reported, not failed: IPv6 can hold two identical routes
			// (a replace into a route equal to another), which one key
			// cannot tell apart (issue 12, open).
			if row.Text == nil {
				row.Text = map[string]string{}
			}
			row.Text["collisions"] = fmt.Sprintf("%d dumped routes had a key another route of the same dump had (first at checkpoint %d)", st.Collisions, firstRise(w.audits, 2))
		}
		if st.DecodeErrors > 0 {
			errs = append(errs, fmt.Sprintf("%d notifications could not be decoded", st.DecodeErrors))
		}
		if w.closeErr != nil {
			errs = append(errs, w.closeErr.Error())
		}
		row.Error = strings.Join(errs, "; ")
		rows = append(rows, row)
	}
	rows = append(rows, s.nexthopRow())
	if loopErr != nil {
		attributed := false
		for _, r := range rows {
			attributed = attributed || r.Error != ""
		}
		if !attributed {
			kr.Error = loopErr.Error()
		}
	}

	mixAsked, mixRefused := s.mix.totals()
	res := &ScenarioResult{
		Name:    "soak",
		Title:   fmt.Sprintf("Soak: %d route watchers and a nexthop watcher under %s of churn, checked against the kernel", len(s.watchers), took.Round(time.Second)),
		Primary: "checkpoints",
		Setup: []string{
			fmt.Sprintf("A private namespace with two veth pairs (v0 10.99.0.1/24, w0 10.99.1.1/24). For %s (%d periods of %s, the first %d a warm-up) one goroutine changes IPv4 /32 routes through rtnl.AddRoutes, ReplaceRoutes and DeleteRoutes: destinations from a pool of %s (10.100.0.0/14, reused over and over, every fourth in table 100), in phases of %s–%s at a random rate (log-uniform, %s–%s changes/s) that move the live count towards a random window of %s–%s routes; one phase in five opens with a burst (fill to %s, drain to %s, or replace half); a replace changes the link, the protocol or the MTU.",
				cfg.duration(), cfg.periods, cfg.period, cfg.warmup, count(2*cfg.maxLive), cfg.phaseMin, cfg.phaseMax,
				count(int(cfg.rateMin)), count(int(cfg.rateMax)), count(cfg.maxLive/10), count(cfg.maxLive), count(cfg.maxLive), count(cfg.maxLive/10)),
			fmt.Sprintf("Every %s–%s one of the links goes down for 50–500 ms while the churn goes on through the other: the kernel flushes the routes through it without a notification per route, the watchers apply the kernel's rule themselves on the link's RTM_NEWLINK (routes whose every next hop is on it go), and dump again when it comes back up.", cfg.flapMin, cfg.flapMax),
			fmt.Sprintf("Beside it, on links of its own (veth pairs x0–y0, x1–y1, x2–y2 and the bridge br0), a second churn, the mix, runs ip commands (one `ip -force -batch -` every %s) over a few destinations of each family (10.97.0.0/16, 2001:db8:97::/48, the default routes) in table main and 101: add, append, prepend, replace, change and delete of routes sharing destination, table and metric (gateways, devices, protocols, preferred sources, mtu; unicast, blackhole, unreachable, prohibit; single-path, multipath, through nexthop objects) at %s–%s a second in phases of %s–%s, and about %s a second nexthop objects and groups added, replaced and deleted, addresses added and deleted (last ones and preferred sources included), links taken down, their carrier dropped (peer down), their MTU changed (below 1280 too) for 0.1–2 s, and x2 enslaved to br0 and released. What the kernel refuses is counted by kind (soak-mix below).",
				cfg.mix.interval, fmtNum(cfg.mix.rateMin, 0), fmtNum(cfg.mix.rateMax, 0), cfg.mix.phaseMin, cfg.mix.phaseMax, fmtNum(cfg.mix.structural, 0)),
			soakWatchersText(cfg.watchers, cfg.period),
			fmt.Sprintf("At each checkpoint (every %s; checkpoint 0 is the first snapshot) the churn stops, the live count is brought to %s, the churn's own model is checked against a kernel dump (rtnl.AppendRoutes, every IPv4 table), and then each watcher must become quiet (no resync due or running, the namespace's event queues empty, nothing read for 25 ms) with a Table equal to a fresh dump (of IPv4, and of IPv6 for a watcher of both families; Route.Equal on every route, cloned routes left out; the dump a multiset keyed by rtnl.RouteKey, two routes under one key a difference and a collision) within %s. Each watcher's Stats.Verifications, Repairs and Collisions are recorded at every checkpoint; a Repair or a Collision fails the soak. A table that stays different for %s while its watcher is quiet fails the checkpoint and the soak, with a summary, and the soak goes on (the table stays wrong until the watcher resyncs for another reason). Settle time is from the pause to equality.", cfg.period, count(cfg.checkpointLive()), cfg.settle, stableWrong),
			fmt.Sprintf("Churn seed %d. Figures over the whole soak; the churn row counts what was asked of the kernel, the watcher rows what each subscriber received (live events, then synthetic ones from resyncs).", cfg.seed),
		},
		Rows:    rows,
		columns: soakColumns,
		Seconds: took.Seconds(),
	}
	for _, sp := range cfg.watchers {
		res.Targets = append(res.Targets, Target{What: "table equal to the kernel at every checkpoint", Impl: sp.name, Metric: "complete", Limit: 1, AtLeast: true})
	}
	for _, sp := range cfg.watchers {
		res.Targets = append(res.Targets, Target{What: "entries repaired by verifications", Impl: sp.name, Metric: "repairs", Limit: 0},
			Target{What: "key collisions in its dumps", Impl: sp.name, Metric: "collisions", Limit: 0})
	}
	nh := s.nexthops.name
	res.Targets = append(res.Targets,
		Target{What: "table equal to the kernel at every checkpoint", Impl: nh, Metric: "complete", Limit: 1, AtLeast: true},
		Target{What: "entries repaired by verifications", Impl: nh, Metric: "repairs", Limit: 0},
		Target{What: "key collisions in the checkpoints' dumps", Impl: "churn", Metric: "collisions", Limit: 0})
	res.Notes = append(res.Notes, fmt.Sprintf("The churn made %s changes that the kernel notifies (%s adds, %s replaces, %s deletes; %s/s on average) and flushed %s routes with %d link downs, which it does not notify route by route.",
		count(int(changes)), count(int(ch.added)), count(int(ch.replaced)), count(int(ch.deleted)), fmtNum(float64(changes)/took.Seconds(), 0), count(int(ch.flushed)), ch.flaps))
	res.Notes = append(res.Notes, fmt.Sprintf("The mix ran %s operations in %s batches; the kernel refused %s of them (%.0f %%; by kind in soak-mix).",
		count(mixAsked), count(s.mix.batches), count(mixRefused), 100*float64(mixRefused)/math.Max(float64(mixAsked), 1)))
	for _, r := range rows {
		for _, k := range []string{"repairs", "collisions"} {
			if t := r.Text[k]; t != "" {
				res.Notes = append(res.Notes, fmt.Sprintf("`%s`: %s.", r.Impl, t))
			}
		}
	}
	for _, w := range s.watchers {
		live := w.live[0].Load() + w.live[1].Load() + w.live[2].Load()
		st := w.w.Stats()
		res.Notes = append(res.Notes, fmt.Sprintf("`%s` received %s live events (%.1f %% of the churn's notified changes) and %s no-op notifications; %s synthetic events came from %s resyncs after %s overruns and the link downs.",
			w.name, count(int(live)), 100*float64(live)/math.Max(float64(changes), 1), count(int(st.Unchanged)),
			count(int(w.synth[0].Load()+w.synth[1].Load()+w.synth[2].Load())), count(int(w.resyncs.Load())), count(int(w.overruns.Load()))))
	}
	res.Notes = append(res.Notes,
		"Live events exceed the churn's changes by the kernel's own routes (the prefix and broadcast routes of a link that comes back up); a notification that a resync's dump already reflected counts as a no-op, not an event, so a watcher that resyncs sees fewer live events than changes.",
		fmt.Sprintf("Process CPU during the soak: %.1f s user, %.1f s system (%.0f %% of one core); it holds the kernel's work for the churn's requests as well as the watchers' reading, decoding and dumps.",
			user.Seconds(), sys.Seconds(), 100*cpu.Seconds()/took.Seconds()))

	rr := s.resourceResult(leakErr, before, gLeft, fdLeft, took)
	return []*ScenarioResult{res, s.mixResult(took), rr}, rr
}

// nexthopRow reports the nexthop watcher in the soak's table.
func (s *soakRun) nexthopRow() *Row {
	w := s.nexthops
	st := w.w.Stats()
	row := &Row{
		Impl: w.name,
		API:  w.api,
		Metrics: map[string]Stat{
			"added": one(float64(w.live[0].Load())), "changed": one(float64(w.live[1].Load())), "deleted": one(float64(w.live[2].Load())),
			"synthetic_added": one(float64(w.synth[0].Load())), "synthetic_changed": one(float64(w.synth[1].Load())),
			"synthetic_deleted": one(float64(w.synth[2].Load())),
			"overruns":          one(float64(st.Overruns)), "resyncs": one(float64(st.Resyncs)),
			"notifications": one(float64(st.Messages)), "unchanged": one(float64(st.Unchanged)),
			"rcvbuf": one(float64(st.ReadBuffer)), "settle_ms": summarize(w.settleMs),
			"verifications": one(float64(st.Verifications)), "repairs": one(float64(st.Repairs)),
			"collisions": one(float64(st.Collisions)),
		},
		Text: map[string]string{
			"rcvbuf": fmtBytes(one(float64(st.ReadBuffer))),
			"other": fmt.Sprintf("%s / %s / %s", count(int(w.synth[0].Load())), count(int(w.synth[1].Load())),
				count(int(w.synth[2].Load()))),
			"notif":        fmt.Sprintf("%s (%s)", count(int(st.Messages)), count(int(st.Unchanged))),
			"audit":        fmt.Sprintf("%s / %s / %s", count(int(st.Verifications)), count(int(st.Repairs)), count(int(st.Collisions))),
			"audit_series": auditSeries(w.audits),
		},
		Counts: map[string]int{"complete": w.equal},
		Rounds: w.checks,
	}
	var errs []string
	if w.failed > 0 {
		errs = append(errs, fmt.Sprintf("the table differed from the kernel at %d of %d checkpoints; first at %s", w.failed, w.checks, w.firstFailure))
		if w.failed > 1 {
			errs = append(errs, "last at "+w.lastFailure)
		}
	}
	if w.stopped != "" {
		errs = append(errs, w.stopped)
	}
	if st.Repairs > 0 {
		if row.Text == nil {
			row.Text = map[string]string{}
		}
		row.Text["repairs"] = fmt.Sprintf("verifications repaired %d nexthops (first at checkpoint %d)", st.Repairs, firstRise(w.audits, 1))
	}
	if st.Collisions > 0 {
		errs = append(errs, fmt.Sprintf("%d dumped nexthops had an ID another of the same dump had", st.Collisions))
	}
	if st.DecodeErrors > 0 {
		errs = append(errs, fmt.Sprintf("%d notifications could not be decoded", st.DecodeErrors))
	}
	if w.closeErr != nil {
		errs = append(errs, w.closeErr.Error())
	}
	row.Error = strings.Join(errs, "; ")
	return row
}

// auditSeries prints Verifications/Repairs/Collisions at each checkpoint.
func auditSeries(audits [][3]uint64) string {
	var b strings.Builder
	for i, a := range audits {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d/%d/%d", a[0], a[1], a[2])
	}
	return b.String()
}

// firstRise returns the first checkpoint at which counter i of audits was
// above zero, or -1.
func firstRise(audits [][3]uint64, i int) int {
	for k, a := range audits {
		if a[i] > 0 {
			return k
		}
	}
	return -1
}

// mixResult is the table of the mix's operations by kind.
func (s *soakRun) mixResult(took time.Duration) *ScenarioResult {
	m := s.mix
	var rows []*Row
	for _, kind := range slices.Sorted(maps.Keys(m.counts)) {
		c := m.counts[kind]
		reasons := slices.SortedFunc(maps.Keys(c.reasons), func(a, b string) int {
			if d := c.reasons[b] - c.reasons[a]; d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		var rs []string
		for i, r := range reasons {
			if i == 3 {
				rs = append(rs, fmt.Sprintf("%d other reasons", len(reasons)-3))
				break
			}
			rs = append(rs, fmt.Sprintf("%s (%s)", r, count(c.reasons[r])))
		}
		rows = append(rows, &Row{
			Impl:    kind,
			Metrics: map[string]Stat{"asked": one(float64(c.asked)), "refused": one(float64(c.refused))},
			Text:    map[string]string{"reasons": strings.Join(rs, "; ")},
			Rounds:  c.asked,
		})
	}
	asked, refused := m.totals()
	res := &ScenarioResult{
		Name:    "soak-mix",
		Title:   "Soak: the mix's operations by kind",
		Primary: "asked",
		Setup: []string{
			fmt.Sprintf("Every line the mix gave ip, by kind (family, command and form), and how many the kernel refused, with its most frequent reasons; a refusal is a request the state of the moment does not allow (a gateway whose address went, a nexthop that is gone, a route that exists), not a failure. %s operations in %s batches, %s refused.",
				count(asked), count(m.batches), count(refused)),
			"Run with NLRX_SOAK_LOG=FILE to log every line with its outcome, the checkpoints, and the events of every verification that repaired a watcher's table.",
		},
		Rows: rows,
		columns: []column{
			{"kind", func(r *Row) string { return r.Impl }},
			{"asked", func(r *Row) string { return soakCount(r, "asked") }},
			{"refused by the kernel", func(r *Row) string { return soakCount(r, "refused") }},
			{"most frequent reasons", func(r *Row) string { return r.Text["reasons"] }},
		},
		Seconds: took.Seconds(),
	}
	if m.err != nil {
		res.Rows = append(res.Rows, &Row{Impl: "mix", Metrics: map[string]Stat{}, Text: map[string]string{}, Error: m.err.Error()})
	}
	return res
}

// soakWatchersText describes the watchers for the report.
func soakWatchersText(specs []soakWatcherSpec, period time.Duration) string {
	var parts []string
	for _, sp := range specs {
		parts = append(parts, fmt.Sprintf("`%s`: %s", sp.name, sp.api(period)))
	}
	return fmt.Sprintf("%d route watchers follow the namespace from before the first route, each on its own poller with an inline subscriber (the default delivery): %s; and `nlrx-nexthop-watcher`, watch.Nexthops(WithNetNS, WithAudit(%s)), whose table is checked against rtnl.ListNexthops (`ip nexthop`) at every checkpoint too. A subscriber that sleeps holds up the reading of its socket, so that watcher overruns and resyncs over and over; with 256 KiB, hundreds of notifications are queued behind each loss report. Every watcher verifies its table with a dump after the changes the kernel makes silently (Stats.Verifications), and repairs and counts what its rules missed (Stats.Repairs).",
		len(specs), strings.Join(parts, "; "), period)
}

// fillAfterClose completes the resource rows with the sample taken after
// Close.
func fillAfterClose(rr *ScenarioResult, after soakResources) {
	for i, q := range soakQuantities {
		rr.Rows[i].Metrics["after_close"] = one(q.get(after))
	}
	rr.Notes = append(rr.Notes, fmt.Sprintf("Peak RSS of the whole process (VmHWM, earlier scenarios included): %s.", fmtMiB(after.hwmKiB*1024)))
}

func (s *soakRun) resourceResult(leakErr error, before soakResources, gLeft, fdLeft int, took time.Duration) *ScenarioResult {
	cfg := &s.cfg
	var base, end soakSample
	if len(s.samples) > 0 {
		base = s.samples[min(cfg.warmup, len(s.samples)-1)]
		end = s.samples[len(s.samples)-1]
	}
	var rows []*Row
	for _, q := range soakQuantities {
		var series, xs, ys []float64
		var text []string
		for _, smp := range s.samples {
			v := q.get(smp.res)
			series = append(series, v)
			text = append(text, q.show(v))
			if smp.checkpoint >= base.checkpoint {
				xs, ys = append(xs, smp.at.Minutes()), append(ys, v)
			}
		}
		row := &Row{
			Impl:    q.name,
			Metrics: map[string]Stat{"before": one(q.get(before)), "checkpoints": summarize(series)},
			Text:    map[string]string{"limit": q.limit, "series": strings.Join(text, " ")},
			Rounds:  len(s.samples),
		}
		slope := slopePerMinute(xs, ys)
		if len(s.samples) > 0 {
			row.Metrics["start"], row.Metrics["end"] = one(q.get(base.res)), one(q.get(end.res))
			row.Metrics["growth"] = one(q.get(end.res) - q.get(base.res))
			if !math.IsNaN(slope) {
				row.Metrics["slope_per_min"] = one(slope)
			}
		}
		var errs []string
		if q.fail != nil && end.checkpoint > base.checkpoint {
			if msg := q.fail(q.get(base.res), q.get(end.res)); msg != "" {
				errs = append(errs, fmt.Sprintf("%s between checkpoint %d and checkpoint %d", msg, base.checkpoint, end.checkpoint))
			}
		}
		if q.leak {
			left := gLeft
			if q.metric == "fds" {
				left = fdLeft
			}
			row.Metrics["left"] = one(float64(left))
			if left > 0 && leakErr != nil {
				errs = append(errs, "after Close: "+leakErr.Error())
			}
		}
		row.Error = strings.Join(errs, "; ")
		row.Text["trend"] = "—"
		if !math.IsNaN(slope) {
			row.Text["trend"] = q.show(math.Abs(slope)) + "/min"
			// A slope that prints as zero gets no sign.
			if slope < 0 && strings.Trim(q.show(-slope), "0., MiB") != "" {
				row.Text["trend"] = "−" + row.Text["trend"]
			}
		}
		rows = append(rows, row)
	}
	return &ScenarioResult{
		Name:    "soak-resources",
		Title:   "Soak: the process's memory, goroutines and descriptors",
		Primary: "end",
		Setup: []string{
			fmt.Sprintf("Sampled after every checkpoint, once the watchers are equal to the kernel, after runtime.GC: Go heap (MemStats.HeapAlloc), VmRSS, runtime.NumGoroutine, entries of /proc/self/fd. Start is checkpoint %d (after the warm-up), end checkpoint %d, both at %s live routes; the trend is the least-squares slope from start to end.",
				base.checkpoint, end.checkpoint, count(cfg.checkpointLive())),
			"Before is the process before the soak's namespace was made; after Close is once the watchers, the churn's socket and the namespace are closed (goroutines and descriptors are waited for, up to 10 s). The process holds the harness too, and whatever earlier scenarios left, alike in every sample.",
		},
		Rows:    rows,
		columns: soakResourceColumns(base, end),
		Seconds: took.Seconds(),
		Notes: []string{
			"Per-checkpoint values are in results.json (rows[].text.series).",
		},
		Targets: []Target{
			{What: "goroutines left after Close", Impl: "goroutines", Metric: "left", Limit: 0},
			{What: "descriptors left after Close", Impl: "open descriptors", Metric: "left", Limit: 0},
		},
	}
}

func soakCount(r *Row, k string) string {
	st, ok := r.Metrics[k]
	if !ok {
		return "—"
	}
	return fmtCount(st)
}

var soakColumns = []column{
	{"row", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"read buffer", func(r *Row) string { return r.Text["rcvbuf"] }},
	{"Added", func(r *Row) string { return soakCount(r, "added") }},
	{"Changed", func(r *Row) string { return soakCount(r, "changed") }},
	{"Deleted", func(r *Row) string { return soakCount(r, "deleted") }},
	{"flushed / synthetic A / C / D", func(r *Row) string { return r.Text["other"] }},
	{"overruns", func(r *Row) string { return soakCount(r, "overruns") }},
	{"resyncs", func(r *Row) string { return soakCount(r, "resyncs") }},
	{"notifications read (no-ops)", func(r *Row) string { return r.Text["notif"] }},
	{"checkpoints equal to the kernel", func(r *Row) string { return fmt.Sprintf("%d/%d", r.Counts["complete"], r.Rounds) }},
	{"verifications / repairs / collisions", func(r *Row) string {
		if t, ok := r.Text["audit"]; ok {
			return t
		}
		return "— / — / " + soakCount(r, "collisions")
	}},
	{"settle ms (every queue empty), median (min–max)", func(r *Row) string { return fmtStat(r.Metrics["settle_ms"], 0) }},
	{"API", func(r *Row) string { return r.API }},
}

func soakResourceColumns(base, end soakSample) []column {
	show := func(k string) func(r *Row) string {
		return func(r *Row) string {
			st, ok := r.Metrics[k]
			if !ok || !st.Valid() {
				return "—"
			}
			for _, q := range soakQuantities {
				if q.name == r.Impl {
					return q.show(st.Median)
				}
			}
			return fmtAuto(st.Median)
		}
	}
	return []column{
		{"quantity", func(r *Row) string { return r.Impl }},
		{"before the soak", show("before")},
		{fmt.Sprintf("start (checkpoint %d)", base.checkpoint), show("start")},
		{fmt.Sprintf("end (checkpoint %d)", end.checkpoint), show("end")},
		{"min–max over checkpoints", func(r *Row) string {
			st := r.Metrics["checkpoints"]
			if !st.Valid() {
				return "—"
			}
			for _, q := range soakQuantities {
				if q.name == r.Impl {
					return q.show(st.Min) + " – " + q.show(st.Max)
				}
			}
			return "—"
		}},
		{"trend after warm-up", func(r *Row) string { return r.Text["trend"] }},
		{"after Close", show("after_close")},
		{"fails the soak if", func(r *Row) string { return r.Text["limit"] }},
		{"verdict", func(r *Row) string {
			if r.Error != "" {
				return "**failed**"
			}
			if strings.HasPrefix(r.Text["limit"], "reported") {
				return "—"
			}
			return "ok"
		}},
	}
}
