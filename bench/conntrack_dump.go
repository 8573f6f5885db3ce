package main

import (
	"context"
	"fmt"
	"os"

	mdl "github.com/mdlayher/netlink"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	timo "github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "ctdump",
		title: "Full conntrack table dump, 100,000 flows, decoded",
		run:   runCTDump,
		full:  size{routes: 100_000, rounds: 15, warmup: 2},
		quick: size{routes: 10_000, rounds: 3, warmup: 1},
	})
}

// ctRawDump sends IPCTNL_MSG_CT_GET with NLM_F_DUMP for every family on
// the raw socket s and calls fn with each flow message's payload. It
// returns the number of datagrams received.
func ctRawDump(s *rawSocket, fn func(payload []byte)) (recvs int, err error) {
	var nfgen [4]byte // struct nfgenmsg: AF_UNSPEC, version 0, res_id 0
	return s.dumpOf(conntrack.TypeGet, nfgen[:], conntrack.TypeNew, fn)
}

func runCTDump(env *runEnv, sz size) ([]*ScenarioResult, error) {
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	c, err := conntrack.Dial(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(4<<20))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	flows := make([]conntrack.Flow, sz.routes)
	for i := range flows {
		flows[i] = ctFlow(i)
	}
	ctx := context.Background()
	if err := conntrack.CreateFlows(ctx, c, flows); err != nil {
		return nil, err
	}
	defer conntrack.Flush(ctx, c, conntrack.Filter{})

	var raw *rawSocket
	err = ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			unix.Close(fd)
			return err
		}
		raw = &rawSocket{fd: fd, buf: make([]byte, rawBufSize), seq: 1}
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer raw.close()
	f, err := os.Open(ns.Path())
	if err != nil {
		return nil, err
	}
	tc, err := timo.Dial(&mdl.Config{NetNS: int(f.Fd())})
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("ti-mo/conntrack: %w", err)
	}
	defer tc.Close()

	n := sz.routes
	check := func(name string, got int) error {
		if got < n {
			return fmt.Errorf("%s returned %d flows, fewer than the %d made", name, got, n)
		}
		return nil
	}
	in := func(name, api, floor string, fn func() (runResult, error)) impl {
		return impl{name: name, api: api, floor: floor, run: func() (sample, error) {
			return measureInProc(func() (runResult, error) {
				res, err := fn()
				if err == nil {
					err = check(name, res.items)
				}
				return res, err
			})
		}}
	}
	var reused []conntrack.Flow
	const floor = "ct-raw"
	ims := []impl{
		in("ct-raw", "x/sys/unix socket, write, recvfrom loop (64 KiB buffer), headers walked, nothing decoded", "", func() (runResult, error) {
			k := 0
			recvs, err := ctRawDump(raw, func([]byte) { k++ })
			return runResult{items: k, recvs: recvs}, err
		}),
		in("ct-nlrx-foreach", "conntrack.ForEach: each flow decoded in place from the receive buffer, counted", floor, func() (runResult, error) {
			k := 0
			d0 := c.Stats().Datagrams
			err := conntrack.ForEach(ctx, c, conntrack.Filter{}, func(*conntrack.Flow) error { k++; return nil })
			return runResult{items: k, recvs: int(c.Stats().Datagrams - d0)}, err
		}),
		in("ct-nlrx-append", "conntrack.Append into a slice reused across rounds", floor, func() (runResult, error) {
			d0 := c.Stats().Datagrams
			var err error
			reused, err = conntrack.Append(ctx, c, reused[:0], conntrack.Filter{})
			return runResult{items: len(reused), recvs: int(c.Stats().Datagrams - d0)}, err
		}),
		in("ct-nlrx-list", "conntrack.List: a fresh []Flow", floor, func() (runResult, error) {
			d0 := c.Stats().Datagrams
			fs, err := conntrack.List(ctx, c, conntrack.Filter{})
			return runResult{items: len(fs), recvs: int(c.Stats().Datagrams - d0)}, err
		}),
		in("ct-timo-dump", "ti-mo/conntrack Conn.Dump(nil): []Flow", floor, func() (runResult, error) {
			fs, err := tc.Dump(nil)
			return runResult{items: len(fs), recvs: -1}, err
		}),
	}
	if needTools("conntrack", "nsenter") == nil {
		ims = append(ims, impl{name: "conntrack-L", api: "conntrack -L (conntrack-tools), a process; output to /dev/null", floor: floor, run: func() (sample, error) {
			cmd := ns.cmd("conntrack", "-L")
			smp, _, err := measureProc(cmd)
			return smp, err
		}})
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	res := &ScenarioResult{
		Name:    "ctdump",
		Title:   "Full conntrack table dump (IPCTNL_MSG_CT_GET, NLM_F_DUMP), decoded",
		Primary: mWall,
		Setup: []string{
			fmt.Sprintf("%s UDP flows made in a private namespace by ctnetlink creates (conntrack.CreateFlows), no traffic.", count(n)),
			fmt.Sprintf("%d rounds after %d warm-up rounds; in each round every implementation dumps once, each round starting one implementation further down. Before each in-process dump the heap is collected (outside the timed region).", sz.rounds, sz.warmup),
			"Ratios are medians of per-round ratios to `ct-raw` of the same round; `conntrack-L` is a whole process (start-up and text output included), measured with wait4.",
		},
		Rows:    buildRows(ss, []string{mWall, mCPU, mAllocs, mBytes, mItems, mRecvs}, mWall, []string{mCPU}),
		columns: ctDumpColumns,
	}
	res.Targets = []Target{
		{What: "typed dump in place, wall × raw floor", Impl: "ct-nlrx-foreach", Metric: "ratio", Limit: 1.3},
		{What: "typed dump into a reused slice, wall × raw floor", Impl: "ct-nlrx-append", Metric: "ratio", Limit: 1.3},
	}
	res.charts = []chartSpec{{file: "ctdump.svg", title: fmt.Sprintf("Conntrack dump, %s flows: wall time ÷ floor (median, min–max)", count(n)), metric: "ratio"}}
	return []*ScenarioResult{res}, nil
}

// ctDumpColumns are the dump scenario's, counting flows.
var ctDumpColumns = func() []column {
	cs := append([]column(nil), dumpColumns...)
	cs[1] = column{"flows", func(r *Row) string { return fmtCount(r.Metrics[mItems]) }}
	return cs
}()
