//go:build linux

package main

import (
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream/watch"
	"github.com/prometheus/client_golang/prometheus"
)

// watched is one watcher as the collector sees it: its name (the table
// label) and what a scrape reads from it.
type watched struct {
	name    string
	stats   func() watch.Stats
	entries func() int
}

// watchOf adapts a watcher of any table to watched.
func watchOf[K comparable, V any](name string, w *watch.Watcher[K, V]) watched {
	return watched{name: name, stats: w.Stats, entries: w.Table().Len}
}

// counter is one counter read from a stats value at scrape time.
type counter[S any] struct {
	desc  *prometheus.Desc
	value func(S) float64
}

// collector is a prometheus.Collector over the watchers of one namespace
// and their shared poller. It reads their counters (atomic loads) and table
// sizes when scraped and keeps no state and no goroutine of its own, so a
// scrape costs a few hundred nanoseconds per watcher; with routes set
// (-route-tables) it also copies the route table, which costs time and
// memory in proportion to the table (see README.md).
type collector struct {
	poller  *poller.Poller
	watched []watched
	routes  *watch.RouteWatcher // nil: no nlrx_routes

	entries, readBuffer, events, routesByTable *prometheus.Desc
	watchCounters                              []counter[watch.Stats]
	pollerCounters                             []counter[poller.Stats]
}

// newCollector describes the metrics of the watchers ws on p, each with
// the constant label namespace. routes, if not nil, adds nlrx_routes.
func newCollector(namespace string, p *poller.Poller, ws []watched, routes *watch.RouteWatcher) *collector {
	ns := prometheus.Labels{"namespace": namespace}
	table := []string{"table"}
	wc := func(name, help string, value func(watch.Stats) uint64) counter[watch.Stats] {
		return counter[watch.Stats]{
			desc:  prometheus.NewDesc("nlrx_watch_"+name+"_total", help, table, ns),
			value: func(s watch.Stats) float64 { return float64(value(s)) },
		}
	}
	pc := func(name, help string, value func(poller.Stats) uint64) counter[poller.Stats] {
		return counter[poller.Stats]{
			desc:  prometheus.NewDesc("nlrx_poller_"+name+"_total", help, nil, ns),
			value: func(s poller.Stats) float64 { return float64(value(s)) },
		}
	}
	c := &collector{poller: p, watched: ws, routes: routes}
	c.entries = prometheus.NewDesc("nlrx_watch_entries",
		"Entries in the watcher's copy of the kernel table (routes, links, addresses, neighbours).", table, ns)
	c.readBuffer = prometheus.NewDesc("nlrx_watch_read_buffer_bytes",
		"The effective receive buffer of the watcher's event socket: the room the kernel has for notifications before it drops them (an overrun).", table, ns)
	c.events = prometheus.NewDesc("nlrx_watch_events_total",
		"Changes the watcher applied to its table, by kind (added, changed, deleted), those of dumps (snapshot, resyncs, repairs) included.",
		[]string{"table", "kind"}, ns)
	c.watchCounters = []counter[watch.Stats]{
		wc("messages", "Kernel notifications the watcher read.",
			func(s watch.Stats) uint64 { return s.Messages }),
		wc("unchanged", "Notifications that changed nothing: the table had them already.",
			func(s watch.Stats) uint64 { return s.Unchanged }),
		wc("ignored", "Notifications for another table or left out by the watcher's filter.",
			func(s watch.Stats) uint64 { return s.Ignored }),
		wc("decode_errors", "Notifications the watcher could not decode (a malformed message, or a kernel newer than nlrx); each is skipped.",
			func(s watch.Stats) uint64 { return s.DecodeErrors }),
		wc("overruns", "Times the kernel dropped notifications for the watcher (ENOBUFS: its socket buffer was full) or a datagram arrived truncated or malformed; each is followed by a resync.",
			func(s watch.Stats) uint64 { return s.Overruns }),
		wc("resyncs", "Dump-and-diff passes after an overrun, which make the table equal to the kernel's again.",
			func(s watch.Stats) uint64 { return s.Resyncs }),
		wc("dump_retries", "Dumps repeated because the kernel flagged them inconsistent (NLM_F_DUMP_INTR).",
			func(s watch.Stats) uint64 { return s.DumpRetries }),
		wc("verifications", "Dumps that checked the table after the kernel changed it without a notification per entry (a link down or away, an address gone, an MTU or nexthop change), on request or on the audit schedule.",
			func(s watch.Stats) uint64 { return s.Verifications }),
		wc("repairs", "Entries a verification found wrong and set right: the kernel changed the table by a rule the watcher missed. Should stay 0; anything else is worth a report to nlrx.",
			func(s watch.Stats) uint64 { return s.Repairs }),
		wc("collisions", "Dumped entries whose key another entry of the same dump had already: the watcher's key does not tell the kernel's entries apart. Should stay 0; anything else is worth a report to nlrx.",
			func(s watch.Stats) uint64 { return s.Collisions }),
	}
	c.pollerCounters = []counter[poller.Stats]{
		pc("wakeups", "Returns from epoll_wait of the poller that reads every watcher's event socket.",
			func(s poller.Stats) uint64 { return s.Wakeups }),
		pc("syscalls", "Receive syscalls (recvmmsg), those that found the socket empty or failed included.",
			func(s poller.Stats) uint64 { return s.Syscalls }),
		pc("datagrams", "Datagrams accepted from the kernel, truncated and malformed ones included.",
			func(s poller.Stats) uint64 { return s.Datagrams }),
		pc("messages", "Netlink messages handed to the watchers.",
			func(s poller.Stats) uint64 { return s.Messages }),
		pc("bytes", "Bytes of the datagrams accepted from the kernel.",
			func(s poller.Stats) uint64 { return s.Bytes }),
		pc("batches", "Handler calls: one per receive syscall that read something.",
			func(s poller.Stats) uint64 { return s.Batches }),
		pc("overruns", "ENOBUFS reports: a socket's buffer was full and the kernel dropped messages (the watcher resyncs).",
			func(s poller.Stats) uint64 { return s.Overruns }),
		pc("truncations", "Datagrams cut short (MSG_TRUNC) because they did not fit the receive buffer, which then grows.",
			func(s poller.Stats) uint64 { return s.Truncations }),
		pc("malformed", "Datagrams with an out-of-bounds message header, dropped.",
			func(s poller.Stats) uint64 { return s.Malformed }),
		pc("spoofed", "Datagrams dropped because their sender was not the kernel (another process sent to a watcher's socket).",
			func(s poller.Stats) uint64 { return s.Spoofed }),
	}
	c.pollerCounters = append(c.pollerCounters, counter[poller.Stats]{
		desc: prometheus.NewDesc("nlrx_poller_handler_seconds_total",
			"Time spent in the watchers' handlers on the poller's goroutine: applying notifications to the tables.", nil, ns),
		value: func(s poller.Stats) float64 { return s.HandlerTime.Seconds() },
	})
	if routes != nil {
		c.routesByTable = prometheus.NewDesc("nlrx_routes",
			"Routes in the watched routing tables, by table (iproute2's name or number) and family (inet, inet6), as `ip route show table all` counts them. Computed from a copy of the route table at each scrape (-route-tables).",
			[]string{"table", "family"}, ns)
	}
	return c
}

// Describe sends the descriptions of every metric Collect sends.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.readBuffer
	ch <- c.events
	for _, m := range c.watchCounters {
		ch <- m.desc
	}
	for _, m := range c.pollerCounters {
		ch <- m.desc
	}
	if c.routesByTable != nil {
		ch <- c.routesByTable
	}
}

// Collect reads the watchers' and the poller's counters and the tables'
// sizes now.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, w := range c.watched {
		s := w.stats()
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(w.entries()), w.name)
		ch <- prometheus.MustNewConstMetric(c.readBuffer, prometheus.GaugeValue, float64(s.ReadBuffer), w.name)
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Added), w.name, "added")
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Changed), w.name, "changed")
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Deleted), w.name, "deleted")
		for _, m := range c.watchCounters {
			ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, m.value(s), w.name)
		}
	}
	ps := c.poller.Stats()
	for _, m := range c.pollerCounters {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, m.value(ps))
	}
	if c.routes != nil {
		for k, n := range routeCounts(c.routes.Table().Values()) {
			ch <- prometheus.MustNewConstMetric(c.routesByTable, prometheus.GaugeValue, float64(n),
				rtnl.TableName(k.table), k.family.String())
		}
	}
}

// routeKey is what nlrx_routes counts by.
type routeKey struct {
	table  uint32
	family rtnl.Family
}

// routeCounts counts routes by routing table and family.
func routeCounts(routes []rtnl.Route) map[routeKey]int {
	m := map[routeKey]int{}
	for i := range routes {
		m[routeKey{routes[i].Table, routes[i].Family}]++
	}
	return m
}
