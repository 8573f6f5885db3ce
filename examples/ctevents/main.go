//go:build linux

// Command ctevents prints conntrack events like `conntrack -E -o
// extended`, through nl/conntrack's event source on the nlrx poller: one
// line per event, and a line in-band when the kernel dropped events
// (an overrun), after which it goes on.
//
//	ctevents [-netns NAME] [-e NEW,UPDATE,DESTROY] [-buffer BYTES]
//	ctevents -demo N
//
// With -demo it makes a private network namespace, listens to it, creates
// N flows there in bulk through the library (no traffic: ctnetlink
// creates), deletes them with one flush, and prints how many NEW and
// DESTROY events arrived, how many were lost (overruns) and how long it
// took; it exits non-zero if an event was lost without a gap. As a normal
// user it re-runs itself inside a new user and network namespace.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	"github.com/nlrx/nlrx/stream"
)

func main() {
	netns := flag.String("netns", "", "`NAME` of the network namespace to watch (/run/netns/NAME), or a path to one")
	types := flag.String("e", "NEW,UPDATE,DESTROY", "event `TYPES` to print, comma-separated")
	buffer := flag.Int("buffer", 4<<20, "receive buffer in `BYTES` (a small one loses events in bursts)")
	demo := flag.Int("demo", 0, "create and flush `N` flows in a private namespace while listening, then report")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *demo > 0 {
		var r report
		if r, err = runDemo(ctx, *demo, *buffer); err == nil {
			fmt.Println(r)
			if r.silentLoss() {
				err = errors.New("events lost without a gap")
			}
		}
	} else {
		err = monitor(ctx, *netns, *types, *buffer)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "ctevents:", err)
		os.Exit(1)
	}
}

func parseTypes(s string) ([]conntrack.EventType, error) {
	var ts []conntrack.EventType
	for _, name := range strings.Split(s, ",") {
		switch strings.ToUpper(strings.TrimSpace(name)) {
		case "NEW":
			ts = append(ts, conntrack.EventNew)
		case "UPDATE":
			ts = append(ts, conntrack.EventUpdate)
		case "DESTROY":
			ts = append(ts, conntrack.EventDestroy)
		case "ALL":
			ts = append(ts, conntrack.EventNew, conntrack.EventUpdate, conntrack.EventDestroy)
		default:
			return nil, fmt.Errorf("-e %q: want NEW, UPDATE, DESTROY or ALL", name)
		}
	}
	return ts, nil
}

func listenOptions(netns string, buffer int) []nl.Option {
	opts := []nl.Option{nl.WithReadBuffer(buffer)}
	if netns != "" {
		if !strings.Contains(netns, "/") {
			netns = "/run/netns/" + netns
		}
		opts = append(opts, nl.WithNetNS(netns))
	}
	return opts
}

func monitor(ctx context.Context, netns, types string, buffer int) error {
	ts, err := parseTypes(types)
	if err != nil {
		return err
	}
	c, err := conntrack.DialEvents(ts, listenOptions(netns, buffer)...)
	if err != nil {
		return err
	}
	defer c.Close()
	src, err := conntrack.Listen(nil, c)
	if err != nil {
		return err
	}
	defer func() { src.Close(); <-src.Done() }()

	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	var line []byte
	// A queue of its own, so that a slow terminal delays this subscriber,
	// not the poller (which would then overrun).
	return src.Events(stream.WithBuffer(1<<16, stream.Block)).Subscribe(ctx, stream.ObserverFuncs[conntrack.Event]{
		OnBatch: func(evs []conntrack.Event) error {
			for i := range evs {
				line = append(line[:0], '[')
				line = append(line, evs[i].Type.String()...)
				line = append(line, "] "...)
				line, _ = evs[i].Flow.AppendText(line)
				line = append(line, '\n')
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
			return w.Flush()
		},
		OnGap: func(g stream.Gap) error {
			fmt.Fprintf(w, "# events lost: %v\n", g)
			return w.Flush()
		},
	})
}

// report is what the demo saw.
type report struct {
	flows, news, destroys, gaps int
	overruns                    uint64
	create, flush               time.Duration
}

func (r report) String() string {
	return fmt.Sprintf("%d flows: %d NEW and %d DESTROY events, %d gaps (%d overruns); create %v (%.0f flows/s), flush %v",
		r.flows, r.news, r.destroys, r.gaps, r.overruns, r.create.Round(time.Millisecond),
		float64(r.flows)/r.create.Seconds(), r.flush.Round(time.Millisecond))
}

// silentLoss reports events missing with no gap to say so.
func (r report) silentLoss() bool {
	return r.gaps == 0 && (r.news != r.flows || r.destroys != r.flows)
}

// demoFlow is flow i of the demo: UDP from 10.1.0.1 to one of 65,536
// addresses of 10.2.0.0/16.
func demoFlow(i int) conntrack.Flow {
	return conntrack.Flow{
		Orig: conntrack.Tuple{Src: netip.AddrFrom4([4]byte{10, 1, 0, 1}), Dst: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}),
			Proto: conntrack.ProtoUDP, SrcPort: uint16(1024 + i>>16), DstPort: 53},
		Timeout: 600,
	}
}

func runDemo(ctx context.Context, n, buffer int) (report, error) {
	r := report{flows: n}
	if os.Geteuid() != 0 && !userns.Inside() {
		code, err := userns.Reexec()
		if err != nil {
			return r, fmt.Errorf("the demo needs root or unprivileged user namespaces: %w", err)
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	ns, err := nl.NewNetNS()
	if err != nil {
		return r, fmt.Errorf("make a network namespace: %w", err)
	}
	defer ns.Close()
	// The kernel keeps at most nf_conntrack_max flows (for the whole
	// machine's namespaces together); make room if it is lower than n.
	raiseConntrackMax(n)

	c, err := conntrack.Dial(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(4<<20))
	if err != nil {
		return r, err
	}
	defer c.Close()
	ev, err := conntrack.DialEvents([]conntrack.EventType{conntrack.EventNew, conntrack.EventDestroy},
		nl.WithNetNS(ns.Path()), nl.WithReadBuffer(buffer))
	if err != nil {
		return r, err
	}
	defer ev.Close()
	src, err := conntrack.Listen(nil, ev)
	if err != nil {
		return r, err
	}
	defer func() { src.Close(); <-src.Done() }()

	sub := make(chan error, 1)
	subCtx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	allIn := make(chan struct{})
	go func() {
		sub <- src.Events().Subscribe(subCtx, stream.ObserverFuncs[conntrack.Event]{
			OnBatch: func(evs []conntrack.Event) error {
				for i := range evs {
					switch evs[i].Type {
					case conntrack.EventNew:
						r.news++
					case conntrack.EventDestroy:
						r.destroys++
					}
				}
				if r.destroys == n {
					close(allIn)
				}
				return nil
			},
			OnGap: func(stream.Gap) error { r.gaps++; return nil },
		})
	}()
	if err := src.Publisher().WaitSubscribers(ctx, 1); err != nil {
		return r, err
	}

	flows := make([]conntrack.Flow, n)
	for i := range flows {
		flows[i] = demoFlow(i)
	}
	start := time.Now()
	if err := conntrack.CreateFlows(ctx, c, flows); err != nil {
		return r, err
	}
	r.create = time.Since(start)
	start = time.Now()
	if err := conntrack.Flush(ctx, c, conntrack.Filter{}); err != nil {
		return r, err
	}
	r.flush = time.Since(start)
	// Wait for the last DESTROY, or a quiet second after a loss.
	select {
	case <-allIn:
	case <-time.After(time.Second + time.Duration(n)*time.Microsecond*20):
	}
	stopSub()
	<-sub
	r.overruns = src.Stats().Overruns
	return r, nil
}

func raiseConntrackMax(n int) {
	const path = "/proc/sys/net/netfilter/nf_conntrack_max"
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var max int
	fmt.Sscan(string(b), &max)
	if max < 2*n {
		os.WriteFile(path, []byte(fmt.Sprint(2*n)), 0o644)
	}
}
