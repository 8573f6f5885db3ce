//go:build linux

// Command ueventmon prints the kernel's device events like `udevadm
// monitor --kernel`, read through an nlrx poller as a typed stream:
//
//	ueventmon [-netns NAME] [-property] [-subsystem-match SUBSYSTEM]…
//
// Each event is a line "KERNEL[monotonic seconds] action devpath
// (subsystem)"; with -property its variables follow, one KEY=VALUE a line,
// then a blank line. Events of network devices are per network namespace:
// -netns watches another namespace's (/run/netns/NAME, or a path). When the
// kernel drops events because the socket's queue overflowed, a line says so.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/uevent"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

type subsystems []string

func (s *subsystems) String() string     { return strings.Join(*s, ",") }
func (s *subsystems) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	netns := flag.String("netns", "", "`NAME` of the network namespace whose network devices to watch (/run/netns/NAME), or a path to one")
	property := flag.Bool("property", false, "print each event's variables")
	var match subsystems
	flag.Var(&match, "subsystem-match", "print only events of `SUBSYSTEM` (repeatable)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *netns != "" && !strings.Contains(*netns, "/") {
		*netns = "/run/netns/" + *netns
	}
	fmt.Println("monitor will print the received events for:")
	fmt.Println("KERNEL - the kernel uevent")
	fmt.Println()
	err := monitor(ctx, os.Stdout, config{netns: *netns, property: *property, subsystems: match}, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "ueventmon:", err)
		os.Exit(1)
	}
}

type config struct {
	netns      string
	property   bool
	subsystems []string
}

// monitor prints events to w until ctx ends; ready, if set, is called once
// the subscription is in place.
func monitor(ctx context.Context, w io.Writer, cfg config, ready func()) error {
	var opts []nl.Option
	if cfg.netns != "" {
		opts = append(opts, nl.WithNetNS(cfg.netns))
	}
	conn, err := uevent.Dial(uevent.GroupKernel, append(opts, nl.WithReadBuffer(4<<20))...)
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := poller.New()
	if err != nil {
		return err
	}
	defer func() { p.Close(); <-p.Done() }()

	// The poller reads the socket and publishes each datagram; the
	// subscriber decodes it on the poller's goroutine (inline), so the
	// messages need no copy.
	pub := stream.NewPublisher[nl.Message]()
	reg, err := p.Add(conn, stream.PollerHandler(pub))
	if err != nil {
		return err
	}
	defer func() { reg.Remove(); <-reg.Done(); pub.Complete() }()

	events := operators.Filter(operators.Decode(pub.Observable(stream.OnSubscribe(func() {
		if ready != nil {
			ready()
		}
	})), uevent.Decode), func(e uevent.Event) bool {
		return len(cfg.subsystems) == 0 || slices.Contains(cfg.subsystems, e.Subsystem)
	})
	return events.Subscribe(ctx, stream.ObserverFuncs[uevent.Event]{
		OnNext: func(e uevent.Event) error { return printEvent(w, e, cfg.property) },
		OnGap: func(g stream.Gap) error {
			_, err := fmt.Fprintf(w, "KERNEL[%s] events lost: %v\n", now(), g.Cause)
			return err
		},
	})
}

func now() string {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return fmt.Sprintf("%d.%06d", ts.Sec, ts.Nsec/1000)
}

func printEvent(w io.Writer, e uevent.Event, property bool) error {
	if _, err := fmt.Fprintf(w, "KERNEL[%s] %-8s %s (%s)\n", now(), e.Action, e.DevPath, e.Subsystem); err != nil {
		return err
	}
	if !property {
		return nil
	}
	for _, v := range e.Env {
		if _, err := fmt.Fprintf(w, "%s=%s\n", v.Key, v.Value); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}
