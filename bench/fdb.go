package main

import (
	"fmt"
	"strings"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
	vish "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "fdb",
		title: "bridge forwarding database dump, decoded, and a watcher's first snapshot",
		run:   runFDB,
		full:  size{routes: 20_000, rounds: 31, warmup: 2},
		quick: size{routes: 2_000, rounds: 5, warmup: 1},
	})
}

// fdbLines are bridge -batch lines adding n static entries on port v1 of
// br0 (no VLANs: the test kernel has no CONFIG_BRIDGE_VLAN_FILTERING).
func fdbLines(n int) []string {
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("fdb add 02:00:%02x:%02x:%02x:01 dev v1 master static", i>>16&0xff, i>>8&0xff, i&0xff))
	}
	return lines
}

// dumpFDB is the raw floor's loop for forwarding entries: an RTM_GETNEIGH
// dump for AF_BRIDGE, fn called with each entry's payload.
func (s *rawSocket) dumpFDB(fn func(payload []byte)) (recvs int, err error) {
	var ndm [12]byte // struct ndmsg
	ndm[0] = unix.AF_BRIDGE
	return s.dumpOf(unix.RTM_GETNEIGH, ndm[:], unix.RTM_NEWNEIGH, fn)
}

func runFDB(env *runEnv, sz size) ([]*ScenarioResult, error) {
	if err := needTools("ip", "bridge", "nsenter"); err != nil {
		return nil, err
	}
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	if err := ns.batch("link add br0 type bridge", "link add v0 type veth peer name v1",
		"link set v1 master br0", "link set v0 up", "link set v1 up", "link set br0 up"); err != nil {
		return nil, err
	}
	env.progress.status(fmt.Sprintf("adding %d forwarding entries", sz.routes))
	cmd := ns.cmd("bridge", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(fdbLines(sz.routes), "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bridge -batch: %w: %s", err, strings.TrimSpace(string(out)))
	}

	var raw *rawSocket
	if err := ns.Do(func() (err error) { raw, err = openRawSocket(0); return err }); err != nil {
		return nil, err
	}
	defer raw.close()
	// The dump holds the entries added, the bridge's and ports' own and
	// the ports' address lists: the raw floor counts them once.
	want := 0
	if _, err := raw.dumpFDB(func([]byte) { want++ }); err != nil {
		return nil, err
	}
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		return nil, fmt.Errorf("nlrx: %w", err)
	}
	defer c.Close()
	// What a watcher holds (every entry but the ordinary devices' address
	// lists), from one watcher made before the rounds.
	snapshot := func() (int, error) {
		w, err := watch.FDB(watch.WithNetNS(ns.Path()))
		if err != nil {
			return 0, err
		}
		defer w.Close()
		w.Start()
		ctx, cancel := dumpCtx()
		defer cancel()
		if err := w.WaitReady(ctx); err != nil {
			return 0, err
		}
		return w.Table().Len(), nil
	}
	table, err := snapshot()
	if err != nil {
		return nil, fmt.Errorf("nlrx: watch.FDB: %w", err)
	}
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

	check := func(name string, want int, fn func() (runResult, error)) func() (sample, error) {
		return func() (sample, error) {
			return measureInProc(func() (runResult, error) {
				res, err := fn()
				if err == nil && res.items != want {
					err = fmt.Errorf("%s returned %d entries, want %d", name, res.items, want)
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
	const floor = "raw"
	ims := []impl{
		{name: "raw", api: "x/sys/unix socket, write, recvfrom loop (64 KiB buffer), headers walked, nothing decoded", run: check("raw", want, func() (runResult, error) {
			n := 0
			recvs, err := raw.dumpFDB(func([]byte) { n++ })
			return runResult{items: n, recvs: recvs}, err
		})},
		{name: "nlrx-list", api: "rtnl.ListFDB(ctx, c, FDBFilter{}): a fresh []rtnl.FDBEntry", floor: floor, run: check("nlrx-list", want, nlrx(func() (int, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			es, err := rtnl.ListFDB(ctx, c, rtnl.FDBFilter{})
			return len(es), err
		}))},
		{name: "nlrx-foreach", api: "rtnl.ForEachFDB: each entry decoded into one reused *rtnl.FDBEntry, callback", floor: floor, run: check("nlrx-foreach", want, nlrx(func() (int, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			n := 0
			err := rtnl.ForEachFDB(ctx, c, rtnl.FDBFilter{}, func(*rtnl.FDBEntry) error { n++; return nil })
			return n, err
		}))},
		{name: "nlrx-watch", api: "watch.FDB(WithNetNS): sockets, subscription, the links and the dump, table built, WaitReady, Close", floor: floor, run: check("nlrx-watch", table, func() (runResult, error) {
			n, err := snapshot()
			return runResult{items: n, recvs: -1}, err
		})},
		{name: "vish-list", api: "vishvananda/netlink Handle.NeighList(0, FAMILY_BRIDGE): []Neigh", floor: floor, run: check("vish-list", want, func() (runResult, error) {
			es, err := vh.NeighList(0, unix.AF_BRIDGE)
			return runResult{items: len(es), recvs: -1}, err
		})},
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	res := &ScenarioResult{
		Name:    "fdb",
		Title:   "Bridge forwarding database dump (RTM_GETNEIGH AF_BRIDGE, NLM_F_DUMP), decoded, and a watcher's first snapshot",
		Primary: mWall,
		Setup: []string{
			fmt.Sprintf("%s static entries on port v1 of bridge br0 in a private network namespace, added by bridge -batch; the dump holds %s entries with the bridge's and ports' own and the ports' address lists, the watcher's table %s.", count(sz.routes), count(want), count(table)),
			fmt.Sprintf("%d rounds after %d warm-up rounds, interleaved as in the dump scenario; ratios are medians of per-round ratios to `raw`.", sz.rounds, sz.warmup),
		},
		Rows:    buildRows(ss, []string{mWall, mCPU, mAllocs, mBytes, mItems, mRecvs}, mWall, []string{mCPU}),
		Notes:   []string{"`nlrx-watch` includes what a watcher does before its table is ready: two sockets, the multicast subscription, a link dump for the local-entry rules, the FDB dump into its table."},
		columns: fdbColumns,
	}
	return []*ScenarioResult{res}, nil
}

var fdbColumns = dumpTableColumns("entries")
