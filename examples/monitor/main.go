//go:build linux

// Command monitor prints every change of the kernel's networking tables, as
// `ip monitor all` and `bridge monitor fdb` do: links, addresses, routes,
// neighbours, policy rules, nexthop objects and bridge forwarding entries,
// each line tagged with its kind ([LINK], [ADDR], [ROUTE], [NEIGH], [RULE],
// [NEXTHOP], [FDB]) and in the form `ip … show` (`bridge fdb show`)
// prints, "Deleted " before what went.
//
//	monitor [-netns NAME] [-json] [-snapshot] [KIND…]
//
// KIND is link, address, route, neigh, rule, nexthop (ip monitor's names)
// or fdb; several may be given, the default is all. Unlike ip monitor, it
// does not lose changes silently: each kind is a watcher (stream/watch),
// all on one poller, and when the kernel drops notifications the line
// "# KIND: overrun …" says so and the watcher resynchronises, printing what
// changed meanwhile. The kernel also changes routes without a notification
// (a link down, an address or nexthop gone): those changes are printed
// too, as the watcher follows them. -snapshot prints the tables first.
// -json prints one object per line: {"kind":"route","event":"added",
// "value":{… as ip -json prints it …}}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

// kinds are the tables monitor follows, in ip monitor's names and order.
var kinds = []string{"link", "address", "route", "neigh", "rule", "nexthop", "fdb"}

type config struct {
	netns    string
	json     bool
	snapshot bool
	kinds    []string
	// ready, if set, is closed once every watcher has its snapshot.
	ready chan<- struct{}
}

func main() {
	var cfg config
	flag.StringVar(&cfg.netns, "netns", "", "`NAME` of the network namespace to watch (/run/netns/NAME), or a path to one")
	flag.BoolVar(&cfg.json, "json", false, "print one JSON object per change")
	flag.BoolVar(&cfg.snapshot, "snapshot", false, "print the tables before their changes")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: monitor [-netns NAME] [-json] [-snapshot] [%s]…\n", strings.Join(kinds, "|"))
		flag.PrintDefaults()
	}
	flag.Parse()
	ks, err := parseKinds(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		os.Exit(2)
	}
	cfg.kinds = ks
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		os.Exit(1)
	}
}

// parseKinds takes ip monitor's object names ("all", "link", "address",
// "route", "neigh", "rule", "nexthop", and their short forms).
func parseKinds(args []string) ([]string, error) {
	if len(args) == 0 {
		return kinds, nil
	}
	var out []string
	for _, a := range args {
		k := ""
		switch strings.ToLower(a) {
		case "all":
			return kinds, nil
		case "link", "l":
			k = "link"
		case "address", "addr", "a":
			k = "address"
		case "route", "r":
			k = "route"
		case "neigh", "neighbor", "neighbour", "n":
			k = "neigh"
		case "rule":
			k = "rule"
		case "nexthop", "nh":
			k = "nexthop"
		case "fdb":
			k = "fdb"
		default:
			return nil, fmt.Errorf("unknown object %q: want all or %s", a, strings.Join(kinds, ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// run watches cfg's kinds and prints their changes to w until ctx ends or
// a watcher fails.
func run(ctx context.Context, cfg config, w io.Writer) error {
	p, err := poller.New()
	if err != nil {
		return err
	}
	defer p.Close()
	opts := []watch.Option{watch.WithPoller(p)}
	if cfg.netns != "" {
		ns := cfg.netns
		if !strings.Contains(ns, "/") {
			ns = "/run/netns/" + ns
		}
		opts = append(opts, watch.WithNetNS(ns), watch.WithLabel(cfg.netns))
	}
	// The link watcher names interfaces for the others, so it runs even
	// when links are not printed.
	links, err := watch.Links(opts...)
	if err != nil {
		return err
	}
	defer links.Close()
	names := newNamer(links, cfg.netns)
	defer names.close()
	out := &printer{w: w, json: cfg.json, names: names.name}

	g, gctx := errgroup.WithContext(ctx)
	var ready []<-chan struct{}
	start := func(follow func(context.Context) error, r <-chan struct{}) {
		g.Go(func() error { return follow(gctx) })
		ready = append(ready, r)
	}
	want := func(k string) bool { return slices.Contains(cfg.kinds, k) }
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	add := func(c func() error, err error) error {
		if err == nil {
			closers = append(closers, c)
		}
		return err
	}
	if want("link") {
		start(follower(links, "LINK", "link", cfg.snapshot, out), links.Ready())
	} else {
		links.Start()
		ready = append(ready, links.Ready())
	}
	if want("address") {
		a, err := watch.Addresses(opts...)
		if err := add(closer(a, err)); err != nil {
			return err
		}
		start(follower(a, "ADDR", "address", cfg.snapshot, out), a.Ready())
	}
	if want("route") {
		r, err := watch.Routes(opts...)
		if err := add(closer(r, err)); err != nil {
			return err
		}
		start(follower(r, "ROUTE", "route", cfg.snapshot, out), r.Ready())
	}
	if want("neigh") {
		n, err := watch.Neighbors(opts...)
		if err := add(closer(n, err)); err != nil {
			return err
		}
		start(follower(n, "NEIGH", "neigh", cfg.snapshot, out), n.Ready())
	}
	if want("rule") {
		r, err := watch.Rules(opts...)
		if err := add(closer(r, err)); err != nil {
			return err
		}
		start(follower(r, "RULE", "rule", cfg.snapshot, out), r.Ready())
	}
	if want("nexthop") {
		n, err := watch.Nexthops(opts...)
		if err := add(closer(n, err)); err != nil {
			return err
		}
		start(follower(n, "NEXTHOP", "nexthop", cfg.snapshot, out), n.Ready())
	}
	if want("fdb") {
		f, err := watch.FDB(opts...)
		if err := add(closer(f, err)); err != nil {
			return err
		}
		start(follower(f, "FDB", "fdb", cfg.snapshot, out), f.Ready())
	}
	if cfg.ready != nil {
		g.Go(func() error {
			for _, r := range ready {
				select {
				case <-r:
				case <-gctx.Done():
					return nil
				}
			}
			close(cfg.ready)
			return nil
		})
	}
	return g.Wait()
}

// namer names interface indexes for the printer: from the link watcher's
// table, else from the names it has seen (a deleted link's entries and
// routes may be printed after the link's own deletion, each watcher on its
// own goroutine), else by asking the kernel (a link the watcher has not
// seen yet).
type namer struct {
	links *watch.LinkWatcher
	c     *nl.Conn
	mu    sync.Mutex
	seen  map[uint32]string
}

func newNamer(links *watch.LinkWatcher, netns string) *namer {
	n := &namer{links: links, seen: make(map[uint32]string)}
	var opts []nl.Option
	if netns != "" {
		if !strings.Contains(netns, "/") {
			netns = "/run/netns/" + netns
		}
		opts = append(opts, nl.WithNetNS(netns))
	}
	if c, err := nl.DialRoute(opts...); err == nil {
		n.c = c
	}
	return n
}

func (n *namer) name(index uint32) string {
	if l, ok := n.links.Table().Get(index); ok {
		s := l.Name.String()
		n.mu.Lock()
		n.seen[index] = s
		n.mu.Unlock()
		return s
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.seen[index]; ok {
		return s
	}
	if n.c == nil || index == 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l, err := rtnl.LinkByIndex(ctx, n.c, index)
	if err != nil {
		return ""
	}
	n.seen[index] = l.Name.String()
	return n.seen[index]
}

func (n *namer) close() {
	if n.c != nil {
		n.c.Close()
	}
}

// closer returns w's Close, for run's deferred closing.
func closer[K comparable, V any](w *watch.Watcher[K, V], err error) (func() error, error) {
	if err != nil {
		return nil, err
	}
	return w.Close, nil
}

// printable is what every rtnl value monitor prints has.
type printable interface {
	AppendTextNames(b []byte, names func(index uint32) string) []byte
	AppendJSONNames(b []byte, names func(index uint32) string) []byte
}

// follower prints w's events under tag (name in JSON) until ctx ends. Before the
// snapshot is complete, the snapshot's own events are printed only if
// snapshot is set.
func follower[K comparable, V any, P interface {
	*V
	printable
}](w *watch.Watcher[K, V], tag, name string, snapshot bool, out *printer) func(context.Context) error {
	live := false
	return func(ctx context.Context) error {
		err := stream.ForEach(ctx, w.Events(), func(e watch.Event[V]) error {
			switch e.Kind {
			case watch.SnapshotComplete:
				live = true
				return nil
			case watch.Added, watch.Changed, watch.Deleted:
				if !live && !snapshot {
					return nil
				}
				return out.change(tag, name, e.Kind, P(&e.Value), e.Synthetic)
			case watch.Overrun:
				return out.note(name, "overrun", fmt.Sprintf("%v; resynchronising", e.Err))
			case watch.ResyncComplete:
				return out.note(name, "resynchronised", fmt.Sprintf("%d added, %d changed, %d deleted, %d entries",
					e.Resync.Added, e.Resync.Changed, e.Resync.Deleted, e.Resync.Entries))
			}
			return nil
		})
		if errors.Is(err, context.Canceled) || errors.Is(err, watch.ErrClosed) {
			return nil
		}
		return err
	}
}

// printer writes the lines of every watcher, one at a time.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	names func(uint32) string
	buf   []byte
}

// jsonChange is the -json form of a change.
type jsonChange struct {
	Kind      string          `json:"kind"`
	Event     string          `json:"event"`
	Synthetic bool            `json:"synthetic,omitempty"` // a change the kernel made without a notification
	Value     json.RawMessage `json:"value,omitempty"`
	Note      string          `json:"note,omitempty"`
}

func (p *printer) change(tag, name string, kind watch.Kind, v printable, synthetic bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf[:0]
	if p.json {
		j := jsonChange{Kind: name, Event: strings.ToLower(kind.String()), Synthetic: synthetic,
			Value: v.AppendJSONNames(nil, p.names)}
		var err error
		if b, err = json.Marshal(j); err != nil {
			return err
		}
	} else {
		b = append(append(append(b, '['), tag...), ']')
		if kind == watch.Deleted {
			b = append(b, "Deleted "...)
		}
		b = v.AppendTextNames(b, p.names)
	}
	p.buf = append(b, '\n')
	_, err := p.w.Write(p.buf)
	return err
}

func (p *printer) note(name, event, text string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b []byte
	if p.json {
		var err error
		if b, err = json.Marshal(jsonChange{Kind: name, Event: event, Note: text}); err != nil {
			return err
		}
	} else {
		b = fmt.Appendf(nil, "# %s: %s: %s", name, event, text)
	}
	_, err := p.w.Write(append(b, '\n'))
	return err
}

// The values monitor prints.
var (
	_ printable = (*rtnl.Link)(nil)
	_ printable = (*rtnl.Address)(nil)
	_ printable = (*rtnl.Route)(nil)
	_ printable = (*rtnl.Neighbor)(nil)
	_ printable = (*rtnl.Rule)(nil)
	_ printable = (*rtnl.Nexthop)(nil)
	_ printable = (*rtnl.FDBEntry)(nil)
)
