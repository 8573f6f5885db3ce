// Command bench measures nlrx against the raw x/sys/unix floor and the Go
// netlink peers (vishvananda/netlink, mdlayher/netlink,
// jsimonetti/rtnetlink) and reactive libraries (rxgo, samber/ro), side by
// side, and writes results a reader can check.
//
//	cd bench && go run . [flags] [scenario ...]
//	cd bench && go run . -quick                  # every scenario, reduced, under a minute
//	cd bench && go run . -out results -md RESULTS.md
//
// Scenarios (each in its own file, registered from init):
//
//	dump    a full IPv4 route dump, decoded (dump.go, dump_rtnl.go)
//	watch   a route watch while routes are added at full speed (watch.go,
//	        watchsubs.go, watch_poller.go, watch_watcher.go)
//	batch   the recvmmsg vlen × datagram-buffer grid of package poller
//	scale   1, 64 and 1,024 sockets: one poller against a goroutine each
//	stream  Filter → Map → collect against rxgo and samber/ro
//	soak    route watchers under 10 minutes of route churn and link flaps,
//	        with a second churn of ip commands beside it (append, prepend,
//	        replace across types, multipath, nexthop objects, addresses,
//	        carriers, MTU, a bridge port; soak_mix.go), checked against
//	        the kernel (both families, as a multiset) every 5 s with their
//	        verifications' repairs counted, memory and goroutines watched
//	        (soak*.go); a round is a 5 s period (-rounds 12 is a minute);
//	        -quick runs 30 s; a full run skips it unless named;
//	        NLRX_SOAK_LOG=FILE logs what the mix did and what was repaired
//	rules   an IPv4 policy-routing rule dump of 10,000 rules, decoded,
//	        against vishvananda/netlink's RuleList (rules.go)
//
// Method. Each scenario makes its own network namespace and removes it
// (as root with unshare on a locked thread; as another user the harness
// re-runs itself in a new user and network namespace). Each measurement
// has warm-up rounds, then rounds in which every implementation runs once,
// interleaved, each round starting one implementation further along; the
// tables give medians with min–max, and every comparison is the median of
// per-round ratios to a floor measured in the same rounds, so machine-wide
// drift on a shared machine cancels out.
//
// Output: a progress bar on stderr; the Markdown report and the JSON
// report on stdout (-format); with -out DIR, results.json, results.md and
// one SVG chart per table. A scenario that cannot run (no privilege,
// missing ip or nsenter) makes the harness exit non-zero with the reason,
// and no table is printed for it.
//
// Linux only. The module has its own go.mod, with a replace of the nlrx
// module by the checkout it sits in, so the peers never enter nlrx's
// go.mod and the code measured is the code next to it.
package main
