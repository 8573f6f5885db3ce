package main

import (
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	vish "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "rules",
		title: "IPv4 policy-routing rule dump, decoded",
		run:   runRules,
		full:  size{routes: 10_000, rounds: 31, warmup: 2},
		quick: size{routes: 1_000, rounds: 5, warmup: 1},
	})
}

// ruleLines are ip -batch lines adding n IPv4 rules of four shapes (a
// source prefix, a fwmark under a mask, an input device, a transport
// protocol and port), each at its own priority.
func ruleLines(n int) []string {
	lines := make([]string, 0, n)
	for i := range n {
		sel := [...]string{
			fmt.Sprintf("from 10.%d.%d.0/24", i>>8&0xff, i&0xff),
			fmt.Sprintf("fwmark %#x/0xffff", i),
			fmt.Sprintf("iif v%d", i),
			fmt.Sprintf("ipproto tcp dport %d", 1+i%60000),
		}[i%4]
		lines = append(lines, fmt.Sprintf("rule add pref %d %s table %d", 1000+i, sel, 100+i%50))
	}
	return lines
}

// dumpRules is the raw floor's loop for rules: an RTM_GETRULE dump for
// AF_INET, fn called with each rule message's payload.
func (s *rawSocket) dumpRules(fn func(payload []byte)) (recvs int, err error) {
	var frh [12]byte // struct fib_rule_hdr
	frh[0] = unix.AF_INET
	return s.dumpOf(unix.RTM_GETRULE, frh[:], unix.RTM_NEWRULE, fn)
}

func runRules(env *runEnv, sz size) ([]*ScenarioResult, error) {
	if err := needTools("ip", "nsenter"); err != nil {
		return nil, err
	}
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	env.progress.status(fmt.Sprintf("adding %d rules", sz.routes))
	if err := ns.batch(ruleLines(sz.routes)...); err != nil {
		return nil, err
	}
	want := sz.routes + 3 // and the local, main and default rules

	var raw *rawSocket
	if err := ns.Do(func() (err error) { raw, err = openRawSocket(0); return err }); err != nil {
		return nil, err
	}
	defer raw.close()
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		return nil, fmt.Errorf("nlrx: %w", err)
	}
	defer c.Close()
	vishNS, err := netns.GetFromPath(ns.Path())
	if err != nil {
		return nil, fmt.Errorf("vishvananda/netns: %w", err)
	}
	defer vishNS.Close()
	vh, err := vish.NewHandleAt(vishNS)
	if err != nil {
		return nil, fmt.Errorf("vishvananda/netlink: %w", err)
	}
	defer vh.Close()

	check := func(name string, fn func() (runResult, error)) func() (sample, error) {
		return func() (sample, error) {
			return measureInProc(func() (runResult, error) {
				res, err := fn()
				if err == nil && res.items != want {
					err = fmt.Errorf("%s returned %d rules, want %d", name, res.items, want)
				}
				return res, err
			})
		}
	}
	nlrx := func(fn func() (int, error)) func() (runResult, error) {
		return func() (runResult, error) {
			d0 := c.Stats().Datagrams
			n, err := fn()
			return runResult{items: n, recvs: int(c.Stats().Datagrams - d0)}, err
		}
	}
	f := rtnl.RuleFilter{Family: rtnl.FamilyInet}
	var reused []rtnl.Rule
	const floor = "raw"
	ims := []impl{
		{name: "raw", api: "x/sys/unix socket, write, recvfrom loop (64 KiB buffer), headers walked, nothing decoded", run: check("raw", func() (runResult, error) {
			n := 0
			recvs, err := raw.dumpRules(func([]byte) { n++ })
			return runResult{items: n, recvs: recvs}, err
		})},
		{name: "nlrx-list", api: "rtnl.ListRules(ctx, c, RuleFilter{Family: FamilyInet}): a fresh []rtnl.Rule", floor: floor, run: check("nlrx-list", nlrx(func() (int, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			rs, err := rtnl.ListRules(ctx, c, f)
			return len(rs), err
		}))},
		{name: "nlrx-append", api: "rtnl.AppendRules(ctx, c, prev[:0], filter): []rtnl.Rule reused across rounds", floor: floor, run: check("nlrx-append", nlrx(func() (int, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			var err error
			reused, err = rtnl.AppendRules(ctx, c, reused[:0], f)
			return len(reused), err
		}))},
		{name: "nlrx-foreach", api: "rtnl.ForEachRule: each rule decoded into one reused *rtnl.Rule, callback", floor: floor, run: check("nlrx-foreach", nlrx(func() (int, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			n := 0
			err := rtnl.ForEachRule(ctx, c, f, func(*rtnl.Rule) error { n++; return nil })
			return n, err
		}))},
		{name: "vish-list", api: "vishvananda/netlink Handle.RuleList(FAMILY_V4): []Rule", floor: floor, run: check("vish-list", func() (runResult, error) {
			rs, err := vh.RuleList(vish.FAMILY_V4)
			return runResult{items: len(rs), recvs: -1}, err
		})},
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	res := &ScenarioResult{
		Name:    "rules",
		Title:   "IPv4 policy-routing rule dump (RTM_GETRULE, NLM_F_DUMP), decoded",
		Primary: mWall,
		Setup: []string{
			fmt.Sprintf("%s IPv4 rules in a private network namespace (source prefix, fwmark/mask, iif, ipproto tcp dport; one priority each), added by ip -batch, and the 3 default rules.", count(sz.routes)),
			fmt.Sprintf("%d rounds after %d warm-up rounds, interleaved as in the dump scenario; ratios are medians of per-round ratios to `raw`.", sz.rounds, sz.warmup),
		},
		Rows:    buildRows(ss, []string{mWall, mCPU, mAllocs, mBytes, mItems, mRecvs}, mWall, []string{mCPU}),
		Notes:   []string{"`vish-list` decodes to vishvananda/netlink's Rule (its own types, a *net.IPNet per prefix)."},
		columns: ruleColumns,
	}
	return []*ScenarioResult{res}, nil
}

var ruleColumns = dumpTableColumns("rules")

// dumpTableColumns are the columns of a table dump's rows (rules, FDB…),
// items counted as noun.
func dumpTableColumns(noun string) []column {
	return []column{
		{"impl", func(r *Row) string { return "`" + r.Impl + "`" }},
		{noun, func(r *Row) string { return fmtCount(r.Metrics[mItems]) }},
		{"wall ms, median (min–max)", func(r *Row) string { return fmtStat(r.Metrics[mWall], 2) }},
		{"× floor (min–max)", func(r *Row) string { return fmtRatio(r) }},
		{"CPU ms", func(r *Row) string { return fmtStat(r.Metrics[mCPU], 2) }},
		{"CPU × floor", func(r *Row) string { return fmtRatioStat(r.Ratios[mCPU], r.Floor) }},
		{"allocs", func(r *Row) string { return fmtCount(r.Metrics[mAllocs]) }},
		{"MB allocated", func(r *Row) string { return fmtMB(r.Metrics[mBytes]) }},
		{"recv syscalls", func(r *Row) string { return fmtCount(r.Metrics[mRecvs]) }},
		{"API", func(r *Row) string { return r.API }},
	}
}
