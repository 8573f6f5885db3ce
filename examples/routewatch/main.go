//go:build linux

// Command routewatch follows the routing table like `ip monitor route`,
// through the nlrx route watcher: it prints the table as a snapshot, then
// every change, and says so in-band when the kernel drops notifications and
// the watcher resynchronises.
//
//	routewatch [-netns NAME] [-family inet|inet6|all] [-table N] [-json]
//	routewatch -demo [-changes N]
//
// With -demo it makes a private network namespace, watches it, and churns
// its routes through the library (bursts of adds, replaces and deletes,
// 100,000 changes by default) while a progress line shows events per
// second, table size, overruns and resyncs. It ends by comparing the
// watched table with a fresh dump, prints the result and exits non-zero if
// they differ. As a normal user it re-runs itself inside a new user and
// network namespace; nothing outside that namespace changes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream"
	"github.com/nlrx/nlrx/stream/watch"
)

func main() {
	netns := flag.String("netns", "", "`NAME` of the network namespace to watch (/run/netns/NAME), or a path to one")
	family := flag.String("family", "all", "address family: inet, inet6 or all")
	table := flag.Uint("table", 0, "watch only routing table `N` (254 is main); 0 watches all")
	asJSON := flag.Bool("json", false, "print one JSON object per event")
	demo := flag.Bool("demo", false, "churn routes in a private namespace while watching it, then check the table")
	changes := flag.Int("changes", 100_000, "route changes the demo makes")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *demo {
		err = runDemo(ctx, *changes)
	} else {
		err = monitor(ctx, *netns, *family, uint32(*table), *asJSON)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "routewatch:", err)
		os.Exit(1)
	}
}

func familyOption(s string) (watch.Option, error) {
	switch s {
	case "inet", "4":
		return watch.WithFamily(rtnl.FamilyInet), nil
	case "inet6", "6":
		return watch.WithFamily(rtnl.FamilyInet6), nil
	case "all", "":
		return watch.WithFamily(0), nil
	}
	return nil, fmt.Errorf("-family %q: want inet, inet6 or all", s)
}

func monitor(ctx context.Context, netns, family string, table uint32, asJSON bool) error {
	fam, err := familyOption(family)
	if err != nil {
		return err
	}
	opts := []watch.Option{fam, watch.WithTable(table)}
	var nlopts []nl.Option
	if netns != "" {
		if !strings.Contains(netns, "/") {
			netns = "/run/netns/" + netns
		}
		opts = append(opts, watch.WithNetNS(netns))
		nlopts = append(nlopts, nl.WithNetNS(netns))
	}
	w, err := watch.Routes(opts...)
	if err != nil {
		return err
	}
	defer w.Close()
	names := newLinkNames(nlopts)
	defer names.close()

	out := newPrinter(os.Stdout, asJSON, names.name)
	defer out.flush()
	return stream.ForEach(ctx, w.Events(), func(e watch.Event[rtnl.Route]) error {
		return out.print(e)
	})
}

// linkNames names interface indexes, asking the kernel once per index.
type linkNames struct {
	c     *nl.Conn
	names map[uint32]string
}

func newLinkNames(opts []nl.Option) *linkNames {
	c, err := nl.DialRoute(opts...)
	if err != nil {
		return &linkNames{names: map[uint32]string{}}
	}
	return &linkNames{c: c, names: map[uint32]string{}}
}

func (l *linkNames) name(index uint32) string {
	if n, ok := l.names[index]; ok || l.c == nil {
		return n
	}
	link, err := rtnl.LinkByIndex(context.Background(), l.c, index)
	if err != nil {
		return ""
	}
	l.names[index] = link.Name.String()
	return l.names[index]
}

func (l *linkNames) close() {
	if l.c != nil {
		l.c.Close()
	}
}

type printer struct {
	w      *os.File
	json   bool
	ifName func(uint32) string
	buf    []byte
}

func newPrinter(w *os.File, asJSON bool, ifName func(uint32) string) *printer {
	return &printer{w: w, json: asJSON, ifName: ifName}
}

func (p *printer) flush() {
	p.w.Write(p.buf)
	p.buf = p.buf[:0]
}

// jsonEvent is the -json form of an event, one object per line. Route is
// the route as `ip -json route show` prints it, with interface names
// (rtnl.Route.AppendJSONNames): the fields of json.Marshal(route), "dev"
// in place of "dev_index".
type jsonEvent struct {
	Event     string          `json:"event"`
	Namespace string          `json:"namespace,omitempty"`
	Synthetic bool            `json:"synthetic,omitempty"`
	Route     json.RawMessage `json:"route,omitempty"`
	Error     string          `json:"error,omitempty"`

	Added   int `json:"added,omitempty"`
	Changed int `json:"changed,omitempty"`
	Deleted int `json:"deleted,omitempty"`
	Entries int `json:"entries,omitempty"`
}

func (p *printer) print(e watch.Event[rtnl.Route]) error {
	if p.json {
		j := jsonEvent{Event: e.Kind.String(), Namespace: e.Namespace, Synthetic: e.Synthetic}
		switch e.Kind {
		case watch.Added, watch.Changed, watch.Deleted:
			j.Route = e.Value.AppendJSONNames(nil, p.ifName)
		case watch.Overrun:
			j.Error = fmt.Sprint(e.Err)
		case watch.SnapshotComplete, watch.ResyncComplete:
			j.Added, j.Changed, j.Deleted, j.Entries = e.Resync.Added, e.Resync.Changed, e.Resync.Deleted, e.Resync.Entries
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		p.buf = append(append(p.buf, b...), '\n')
	} else {
		switch e.Kind {
		case watch.Added:
			p.buf = e.Value.AppendTextNames(p.buf, p.ifName)
		case watch.Changed:
			p.buf = e.Value.AppendTextNames(append(p.buf, "Replaced "...), p.ifName)
		case watch.Deleted:
			p.buf = e.Value.AppendTextNames(append(p.buf, "Deleted "...), p.ifName)
		case watch.SnapshotComplete:
			p.buf = fmt.Appendf(p.buf, "# snapshot complete: %d routes", e.Resync.Entries)
		case watch.Overrun:
			p.buf = fmt.Appendf(p.buf, "# overrun: %v; resynchronising", e.Err)
		case watch.ResyncStarted:
			p.buf = append(p.buf, "# resync started"...)
		case watch.ResyncComplete:
			p.buf = fmt.Appendf(p.buf, "# resync complete: %d added, %d changed, %d deleted, %d routes",
				e.Resync.Added, e.Resync.Changed, e.Resync.Deleted, e.Resync.Entries)
		}
		p.buf = append(p.buf, '\n')
	}
	// Flush per event while following live changes; a burst is written in
	// larger pieces.
	if len(p.buf) > 32<<10 || e.Kind != watch.Added || !e.Synthetic {
		p.flush()
	}
	return nil
}
