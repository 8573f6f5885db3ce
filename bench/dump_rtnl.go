package main

import (
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The nlrx route-listing rows of the dump scenario: package nl/rtnl's typed
// dumps on the scenario's nl.Conn.
func init() {
	dumpExtras = append(dumpExtras, func(e *dumpEnv) ([]impl, error) {
		filter := rtnl.RouteFilter{Family: rtnl.FamilyInet}
		var reused []rtnl.Route
		list := func() (runResult, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			d0 := e.nlrx.Stats().Datagrams
			rs, err := rtnl.ListRoutes(ctx, e.nlrx, filter)
			return runResult{items: len(rs), recvs: int(e.nlrx.Stats().Datagrams - d0)}, err
		}
		appendReused := func() (runResult, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			d0 := e.nlrx.Stats().Datagrams
			var err error
			reused, err = rtnl.AppendRoutes(ctx, e.nlrx, reused[:0], filter)
			return runResult{items: len(reused), recvs: int(e.nlrx.Stats().Datagrams - d0)}, err
		}
		forEach := func() (runResult, error) {
			ctx, cancel := dumpCtx()
			defer cancel()
			d0 := e.nlrx.Stats().Datagrams
			n := 0
			err := rtnl.ForEachRoute(ctx, e.nlrx, filter, func(*rtnl.Route) error { n++; return nil })
			return runResult{items: n, recvs: int(e.nlrx.Stats().Datagrams - d0)}, err
		}
		return []impl{
			e.inProc("nlrx-list", "rtnl.ListRoutes(ctx, c, RouteFilter{Family: FamilyInet}): a fresh []rtnl.Route, decoded", "raw", list),
			e.inProc("nlrx-append", "rtnl.AppendRoutes(ctx, c, prev[:0], filter): []rtnl.Route reused across rounds (as raw-decode)", "raw", appendReused),
			e.inProc("nlrx-foreach", "rtnl.ForEachRoute: each route decoded into one reused *rtnl.Route, callback", "raw", forEach),
		}, nil
	})
}
