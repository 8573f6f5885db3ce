package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	jsi "github.com/jsimonetti/rtnetlink/v2"
	mdl "github.com/mdlayher/netlink"
	"github.com/nlrx/nlrx/nl"
	vish "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "dump",
		title: "Full IPv4 route dump, decoded",
		run:   runDump,
		full:  size{routes: 100_000, rounds: 31, warmup: 2},
		quick: size{routes: 10_000, rounds: 5, warmup: 1},
	})
}

// dumpEnv holds the sockets and handles every dump implementation uses.
// They are opened once, before any round, so that rounds measure dumps and
// not socket set-up; each is bound to the scenario's namespace.
type dumpEnv struct {
	ns     *benchNS
	routes int
	// ipLines is what `ip route show` printed, counted once before the
	// rounds (the timed runs write to /dev/null).
	ipLines int
	raw     *rawSocket
	nlrx    *nl.Conn
	mdl     *mdl.Conn
	jsi     *jsi.Conn
	vish    *vish.Handle
	vishNS  netns.NsHandle
	// decoded is the raw-decode floor's output, reused across rounds.
	decoded []rawRoute
	// extra are implementations added from other files (rtnl, poller …)
	// once their packages exist; see dumpExtras.
	closers []func()
}

// dumpExtra adds implementations to the dump scenario. Files that measure
// a newer nlrx package append to dumpExtras from init.
type dumpExtra func(e *dumpEnv) ([]impl, error)

var dumpExtras []dumpExtra

func (e *dumpEnv) close() {
	for _, c := range e.closers {
		c()
	}
}

func openDumpEnv(ns *benchNS, routes int) (*dumpEnv, error) {
	e := &dumpEnv{ns: ns, routes: routes}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	err := ns.Do(func() error {
		s, err := openRawSocket(0)
		e.raw = s
		return err
	})
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.raw.close)

	if e.nlrx, err = nl.DialRoute(nl.WithNetNS(ns.Path())); err != nil {
		return nil, fmt.Errorf("nlrx: %w", err)
	}
	e.closers = append(e.closers, func() { e.nlrx.Close() })

	fd := int(ns.file.Fd())
	if e.mdl, err = mdl.Dial(unix.NETLINK_ROUTE, &mdl.Config{NetNS: fd}); err != nil {
		return nil, fmt.Errorf("mdlayher/netlink: %w", err)
	}
	e.closers = append(e.closers, func() { e.mdl.Close() })
	if e.jsi, err = jsi.Dial(&mdl.Config{NetNS: fd}); err != nil {
		return nil, fmt.Errorf("jsimonetti/rtnetlink: %w", err)
	}
	e.closers = append(e.closers, func() { e.jsi.Close() })

	if e.vishNS, err = netns.GetFromPath(ns.Path()); err != nil {
		return nil, fmt.Errorf("vishvananda/netns: %w", err)
	}
	e.closers = append(e.closers, func() { e.vishNS.Close() })
	if e.vish, err = vish.NewHandleAt(e.vishNS); err != nil {
		return nil, fmt.Errorf("vishvananda/netlink: %w", err)
	}
	e.closers = append(e.closers, e.vish.Close)
	ok = true
	return e, nil
}

// checkItems fails a run that did not see every route added: a dump that
// comes back short must not be timed as if it were complete.
func (e *dumpEnv) checkItems(name string, n int) error {
	if n < e.routes {
		return fmt.Errorf("%s returned %d routes, fewer than the %d added", name, n, e.routes)
	}
	return nil
}

func dumpCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

var rtmsgINET = []byte{unix.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// inProc wraps an in-process dump in measureInProc and checks its count.
func (e *dumpEnv) inProc(name, api, floor string, fn func() (runResult, error)) impl {
	return impl{name: name, api: api, floor: floor, run: func() (sample, error) {
		return measureInProc(func() (runResult, error) {
			res, err := fn()
			if err == nil {
				err = e.checkItems(name, res.items)
			}
			return res, err
		})
	}}
}

func (e *dumpEnv) impls() ([]impl, error) {
	const floor = "raw"
	ims := []impl{
		e.inProc("raw", "x/sys/unix socket, write, recvfrom loop (64 KiB buffer), headers walked, nothing decoded", "", func() (runResult, error) {
			n := 0
			recvs, err := e.raw.dump(func([]byte) { n++ })
			return runResult{items: n, recvs: recvs}, err
		}),
		e.inProc("raw-decode", "raw + decode to a 104-byte netip struct, appended to a slice reused across rounds", floor, func() (runResult, error) {
			out := e.decoded[:0]
			recvs, err := e.raw.dump(func(p []byte) {
				if r, ok := decodeRawRoute(p); ok {
					out = append(out, r)
				}
			})
			e.decoded = out
			return runResult{items: len(out), recvs: recvs}, err
		}),
		e.inProc("nlrx-execute", "nl.Conn.Execute: []nl.Message (copied into an arena), not decoded", floor, func() (runResult, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			d0 := e.nlrx.Stats().Datagrams
			ms, err := e.nlrx.Execute(ctx, nl.Message{Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagDump}, Data: rtmsgINET})
			n := 0
			for _, m := range ms {
				if m.Header.Type == unix.RTM_NEWROUTE {
					n++
				}
			}
			return runResult{items: n, recvs: int(e.nlrx.Stats().Datagrams - d0)}, err
		}),
		e.inProc("nlrx-execfunc", "nl.Conn.ExecuteFunc: zero-copy callback, messages counted, not decoded", floor, func() (runResult, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			d0 := e.nlrx.Stats().Datagrams
			n := 0
			err := e.nlrx.ExecuteFunc(ctx, nl.Message{Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagDump}, Data: rtmsgINET}, func(m nl.Message) error {
				if m.Header.Type == unix.RTM_NEWROUTE {
					n++
				}
				return nil
			})
			return runResult{items: n, recvs: int(e.nlrx.Stats().Datagrams - d0)}, err
		}),
	}
	for _, x := range dumpExtras {
		more, err := x(e)
		if err != nil {
			return nil, err
		}
		ims = append(ims, more...)
	}
	ims = append(ims,
		e.inProc("mdl-execute", "mdlayher/netlink Conn.Execute (default Config): []netlink.Message, not decoded", floor, func() (runResult, error) {
			ms, err := e.mdl.Execute(mdl.Message{
				Header: mdl.Header{Type: mdl.HeaderType(unix.RTM_GETROUTE), Flags: mdl.Request | mdl.Dump},
				Data:   rtmsgINET,
			})
			return runResult{items: len(ms), recvs: -1}, err
		}),
		e.inProc("jsi-list", "jsimonetti/rtnetlink/v2 Conn.Route.List(): []RouteMessage (AF_UNSPEC)", floor, func() (runResult, error) {
			rs, err := e.jsi.Route.List()
			return runResult{items: len(rs), recvs: -1}, err
		}),
		e.inProc("vish-list", "vishvananda/netlink Handle.RouteList(nil, FAMILY_V4): []Route, main table", floor, func() (runResult, error) {
			rs, err := e.vish.RouteList(nil, vish.FAMILY_V4)
			return runResult{items: len(rs), recvs: -1}, err
		}),
		e.inProc("vish-iter", "vishvananda/netlink Handle.RouteListFilteredIter(FAMILY_V4, &Route{}, 0, fn): one Route at a time", floor, func() (runResult, error) {
			n := 0
			err := e.vish.RouteListFilteredIter(vish.FAMILY_V4, &vish.Route{}, 0, func(vish.Route) bool { n++; return true })
			return runResult{items: n, recvs: -1}, err
		}),
		e.procImpl("raw-proc", "the raw floor as a whole process: nsenter --net=NS bench (dump-once child), start to exit", ""),
		e.procImpl("ip-route-show", "nsenter --net=NS ip route show >/dev/null, start to exit", "raw-proc"),
	)
	return ims, nil
}

// procImpl measures a whole process, start-up included: the raw floor as
// a child of this harness, or ip(8). Both go through nsenter, which execs
// them in place, so they pay the same entry into the namespace.
func (e *dumpEnv) procImpl(name, api, floor string) impl {
	return impl{name: name, api: api, floor: floor, run: func() (sample, error) {
		var cmd *exec.Cmd
		var devnull *os.File
		if name == "ip-route-show" {
			cmd = e.ns.cmd("ip", "route", "show")
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			devnull = f
			defer devnull.Close()
			cmd.Stdout = devnull
		} else {
			exe, err := os.Executable()
			if err != nil {
				return nil, err
			}
			cmd = e.ns.cmd(exe)
			cmd.Env = append(os.Environ(), envChild+"=dump-raw")
		}
		smp, out, err := measureProc(cmd)
		if err != nil {
			return nil, err
		}
		if devnull == nil {
			n, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				return nil, fmt.Errorf("%s: bad output %q", name, out)
			}
			if err := e.checkItems(name, n); err != nil {
				return nil, err
			}
			smp[mItems] = float64(n)
		} else {
			smp[mItems] = float64(e.ipLines)
		}
		return smp, nil
	}}
}

// childDumpRaw is the dump-once child: it runs inside the namespace
// (nsenter put it there), dumps with the raw floor and prints the count.
func childDumpRaw() int {
	s, err := openRawSocket(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n := 0
	if _, err := s.dump(func([]byte) { n++ }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(n)
	return 0
}

func runDump(env *runEnv, sz size) ([]*ScenarioResult, error) {
	if err := needTools("ip", "nsenter"); err != nil {
		return nil, err
	}
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	ifindex, err := ns.setupVeth()
	if err != nil {
		return nil, err
	}
	env.progress.status(fmt.Sprintf("adding %d routes", sz.routes))
	adder, err := newRouteAdder(ns)
	if err != nil {
		return nil, err
	}
	adder.buildRoutes(firstRoute, sz.routes, ifindex)
	ctx, cancel := dumpCtx()
	addTook, err := adder.add(ctx, ifindex)
	cancel()
	adder.close()
	if err != nil {
		return nil, err
	}
	out, err := ns.ip("route", "show")
	if err != nil {
		return nil, err
	}
	ipLines := bytes.Count([]byte(out), []byte("\n"))
	if ipLines < sz.routes {
		return nil, fmt.Errorf("ip route show lists %d routes, fewer than the %d added", ipLines, sz.routes)
	}

	e, err := openDumpEnv(ns, sz.routes)
	if err != nil {
		return nil, err
	}
	defer e.close()
	e.ipLines = ipLines
	ims, err := e.impls()
	if err != nil {
		return nil, err
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)

	res := &ScenarioResult{
		Name:    "dump",
		Title:   "Full IPv4 route dump (RTM_GETROUTE, NLM_F_DUMP), decoded",
		Primary: mWall,
		Setup: []string{
			fmt.Sprintf("%s IPv4 /32 routes via a veth in a private network namespace, added in %.0f ms by pipelined RTM_NEWROUTE (%d per datagram); the main table also holds 10.99.0.0/24, the local table 2 routes.", count(sz.routes), ms(addTook), routeBatch),
			fmt.Sprintf("%d rounds after %d warm-up rounds; in each round every implementation dumps once, each round starting one implementation further down the table (A B C, B C A, …). Before each in-process dump the heap is collected and returned to the OS (outside the timed region).", sz.rounds, sz.warmup),
			"Ratios are medians of per-round ratios to the floor of the same round: in-process rows to `raw`, whole-process rows to `raw-proc`.",
			"CPU: getrusage(RUSAGE_SELF) deltas (all threads, GC included) for in-process rows; the child's own rusage from wait4 for whole-process rows. Allocations: runtime.MemStats deltas (Mallocs, TotalAlloc).",
			"Receive syscalls: counted in the raw loops; datagrams received (nl.Conn.Stats) for nlrx; not countable in process for the peers (go-peers.md measured them with strace: mdl and jsi 2,780 recvmsg per 100k-route dump, vish 163).",
		},
		Rows: buildRows(ss, []string{mWall, mCPU, mAllocs, mBytes, mItems, mRecvs, mMaxRSS}, mWall, []string{mCPU}),
		Notes: []string{
			"`mdl-execute` and `nlrx-execute`/`nlrx-execfunc` return messages without decoding routes; `jsi-list` and `vish-*` decode to their own route types; `raw-decode` decodes to netip values.",
			"`ip route show` formats text; its output goes to /dev/null, as in go-peers.md. `raw-proc` is this binary started afresh in the namespace for one raw dump.",
		},
		columns: dumpColumns,
	}
	res.Targets = []Target{
		{What: "typed dump, wall time × raw floor", Impl: "nlrx-list", Metric: "ratio", Limit: 1.3},
		{What: "typed dump, allocations per dump", Impl: "nlrx-list", Metric: mAllocs, Limit: 2000},
		{What: "typed dump into a reused slice, wall × floor", Impl: "nlrx-append", Metric: "ratio", Limit: 1.3},
	}
	res.charts = []chartSpec{{file: "dump.svg", title: fmt.Sprintf("Route dump, %s routes: wall time ÷ floor (median, min–max)", count(sz.routes)), metric: "ratio"}}
	return []*ScenarioResult{res}, nil
}

var dumpColumns = []column{
	{"impl", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"routes", func(r *Row) string { return fmtCount(r.Metrics[mItems]) }},
	{"wall ms, median (min–max)", func(r *Row) string { return fmtStat(r.Metrics[mWall], 1) }},
	{"× floor (min–max)", func(r *Row) string { return fmtRatio(r) }},
	{"CPU ms", func(r *Row) string { return fmtStat(r.Metrics[mCPU], 1) }},
	{"CPU × floor", func(r *Row) string { return fmtRatioStat(r.Ratios[mCPU], r.Floor) }},
	{"allocs", func(r *Row) string { return fmtCount(r.Metrics[mAllocs]) }},
	{"MB allocated", func(r *Row) string { return fmtMB(r.Metrics[mBytes]) }},
	{"recv syscalls", func(r *Row) string { return fmtCount(r.Metrics[mRecvs]) }},
	{"API", func(r *Row) string { return r.API }},
}
