//go:build linux

// Command exporter serves Prometheus metrics of live kernel tables: it
// watches the routes, links, addresses and neighbours of one network
// namespace with nlrx's watchers, which share one poller, and exports their
// counters and table sizes, read when Prometheus scrapes, with those of the
// poller, the Go runtime and the process.
//
//	exporter [-netns PATH] [-listen ADDRESS] [-namespace LABEL] [-route-tables]
//
// It answers on http://127.0.0.1:9469/metrics by default once every
// watcher has its first snapshot, and stops cleanly on SIGINT or SIGTERM.
// A watcher that fails stops it with an error (exit status 1), so that a
// supervisor restarts it. README.md lists the metrics.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListen is the address the exporter serves on by default.
const DefaultListen = "127.0.0.1:9469"

// shutdownGrace bounds how long a stop waits for scrapes in progress.
const shutdownGrace = 5 * time.Second

func main() {
	var cfg config
	flag.StringVar(&cfg.netns, "netns", "", "watch the network namespace at `path` (/run/netns/NAME, /proc/PID/ns/net; default: this process's)")
	listen := flag.String("listen", DefaultListen, "serve /metrics on this `address`")
	flag.StringVar(&cfg.label, "namespace", "", "the namespace label's `value` (default: the -netns path, or \"self\")")
	flag.BoolVar(&cfg.routeTables, "route-tables", false, "also export nlrx_routes by routing table and family, counted from a copy of the route table at each scrape (its cost grows with the table: see README.md)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "exporter: no arguments expected; see -help")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err == nil {
		err = serve(ctx, ln, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "exporter:", err)
		os.Exit(1)
	}
}

// config is what the flags choose.
type config struct {
	netns       string // namespace path; "" for the process's own
	label       string // the namespace label; "" for netns, or "self"
	routeTables bool   // export nlrx_routes
}

// serve watches the namespace cfg names and serves its metrics on ln until
// ctx is done (then it returns nil, once the scrapes in progress have
// ended, for at most shutdownGrace; or at once while the watchers are still
// starting) or a watcher fails (its error). It closes ln.
func serve(ctx context.Context, ln net.Listener, cfg config) error {
	e, err := newExporter(ctx, cfg)
	if err != nil {
		ln.Close()
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil // stopped before the first snapshots were in
		}
		return err
	}
	defer e.close()

	srv := &http.Server{
		Handler:           e.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stderr, "exporter: http: ", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	failed := e.follow()
	var end error
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	case end = <-failed:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		end = errors.Join(end, fmt.Errorf("stopping the HTTP server: %w", err))
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		end = errors.Join(end, err)
	}
	return end
}

// exporter holds the watchers of one namespace, their poller and the
// registry that serves their metrics.
type exporter struct {
	ns        *nl.NetNS // nil for the process's own namespace
	p         *poller.Poller
	routes    *watch.RouteWatcher
	links     *watch.LinkWatcher
	addresses *watch.AddressWatcher
	neighbors *watch.NeighborWatcher
	reg       *prometheus.Registry

	stop context.CancelFunc // ends follow's goroutines
	wg   sync.WaitGroup
}

// newExporter starts the four watchers on one poller and waits for their
// first snapshots (for ctx).
func newExporter(ctx context.Context, cfg config) (_ *exporter, err error) {
	e := &exporter{stop: func() {}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	label := cfg.label
	if label == "" {
		label = cmp.Or(cfg.netns, "self")
	}
	opts := []watch.Option{watch.WithLabel(label)}
	if cfg.netns != "" {
		// One handle for every watcher: they all see the namespace the
		// path named at start, even if the path is remounted meanwhile.
		if e.ns, err = nl.OpenNetNS(cfg.netns); err != nil {
			return nil, fmt.Errorf("-netns: %w", err)
		}
		opts = append(opts, watch.WithNetNS(e.ns.Path()))
	}
	if e.p, err = poller.New(); err != nil {
		return nil, err
	}
	opts = append(opts, watch.WithPoller(e.p))
	if e.routes, err = watch.Routes(opts...); err != nil {
		return nil, fmt.Errorf("route watcher: %w", err)
	}
	if e.links, err = watch.Links(opts...); err != nil {
		return nil, fmt.Errorf("link watcher: %w", err)
	}
	if e.addresses, err = watch.Addresses(opts...); err != nil {
		return nil, fmt.Errorf("address watcher: %w", err)
	}
	if e.neighbors, err = watch.Neighbors(opts...); err != nil {
		return nil, fmt.Errorf("neighbour watcher: %w", err)
	}
	for _, w := range e.watchers() {
		w.start()
	}
	for _, w := range e.watchers() {
		if err := w.waitReady(ctx); err != nil {
			return nil, fmt.Errorf("%s watcher: first snapshot: %w", w.name, err)
		}
	}

	var routes *watch.RouteWatcher
	if cfg.routeTables {
		routes = e.routes
	}
	ws := make([]watched, 0, 4)
	for _, w := range e.watchers() {
		ws = append(ws, w.watched)
	}
	e.reg = prometheus.NewRegistry()
	e.reg.MustRegister(
		newCollector(label, e.p, ws, routes),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return e, nil
}

// running is one watcher as the exporter drives it.
type running struct {
	watched
	start     func()
	waitReady func(context.Context) error
	close     func() error
	// wait returns the error that stops the watcher, nil once it is
	// closed, or ctx's.
	wait func(context.Context) error
}

func runningOf[K comparable, V any](name string, w *watch.Watcher[K, V]) running {
	return running{
		watched:   watchOf(name, w),
		start:     w.Start,
		waitReady: w.WaitReady,
		close:     w.Close,
		wait: func(ctx context.Context) error {
			// An inline subscriber that does nothing: a function call per
			// change, on the poller's goroutine. A watcher that already
			// failed ends it at once with its error.
			return stream.ForEach(ctx, w.Events(), func(watch.Event[V]) error { return nil })
		},
	}
}

// watchers returns the exporter's watchers that exist, in a fixed order.
func (e *exporter) watchers() []running {
	var rs []running
	if e.routes != nil {
		rs = append(rs, runningOf("routes", e.routes))
	}
	if e.links != nil {
		rs = append(rs, runningOf("links", e.links))
	}
	if e.addresses != nil {
		rs = append(rs, runningOf("addresses", e.addresses))
	}
	if e.neighbors != nil {
		rs = append(rs, runningOf("neighbors", e.neighbors))
	}
	return rs
}

// follow returns a channel that receives the first failure of a watcher or
// of the poller. Its goroutines (one per watcher) end with close.
func (e *exporter) follow() <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	failed := make(chan error, 5)
	for _, w := range e.watchers() {
		e.wg.Go(func() {
			if err := w.wait(ctx); err != nil && ctx.Err() == nil {
				failed <- fmt.Errorf("%s watcher: %w", w.name, err)
			}
		})
	}
	e.wg.Go(func() {
		select {
		case <-e.p.Done():
			failed <- fmt.Errorf("poller stopped: %w", cmp.Or(e.p.Err(), poller.ErrPollerClosed))
		case <-ctx.Done():
		}
	})
	return failed
}

// handler serves /metrics, and a page that points to it at /.
func (e *exporter) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(e.reg,
		promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{
			ErrorLog:      log.New(os.Stderr, "exporter: metrics: ", 0),
			ErrorHandling: promhttp.ContinueOnError,
		})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>nlrx exporter</title></head><body><h1>nlrx exporter</h1><p><a href="/metrics">Metrics</a></p></body></html>`+"\n")
	})
	return mux
}

// close stops follow's goroutines, the watchers and the poller, and
// releases the namespace handle.
func (e *exporter) close() {
	e.stop()
	for _, w := range e.watchers() {
		w.close()
	}
	e.wg.Wait()
	if e.p != nil {
		e.p.Close()
	}
	if e.ns != nil {
		e.ns.Close()
	}
}
