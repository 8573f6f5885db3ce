//go:build linux

// Command forkstat prints process events like forkstat(8): forks, execs,
// exits with their code and the process's lifetime, uid, gid and session
// changes, renames, ptrace and core dumps, read from the kernel's proc
// connector through an nlrx poller as a typed stream.
//
//	forkstat [-e fork,exec,exit,uid,gid,sid,comm,ptrace,coredump | -e all]
//
// It needs root in the initial namespaces (the kernel takes subscriptions
// only from there). With -e the kernel filters the events itself (Linux
// 6.6 and later). A line says so when the kernel dropped events.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/cnproc"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

var kinds = map[string]cnproc.What{
	"fork": cnproc.WhatFork, "exec": cnproc.WhatExec, "exit": cnproc.WhatExit,
	"uid": cnproc.WhatUID, "gid": cnproc.WhatGID, "sid": cnproc.WhatSID,
	"comm": cnproc.WhatComm, "ptrace": cnproc.WhatPtrace, "coredump": cnproc.WhatCoredump,
}

func main() {
	list := flag.String("e", "all", "comma-separated `events` to show: fork, exec, exit, uid, gid, sid, comm, ptrace, coredump, or all")
	flag.Parse()
	filter, err := parseEvents(*list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "forkstat:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := monitor(ctx, os.Stdout, filter, nil); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "forkstat:", err)
		os.Exit(1)
	}
}

func parseEvents(s string) (cnproc.What, error) {
	var w cnproc.What
	for _, k := range strings.Split(s, ",") {
		if k == "all" {
			return 0, nil
		}
		v, ok := kinds[k]
		if !ok {
			return 0, fmt.Errorf("-e: unknown event %q", k)
		}
		w |= v
	}
	return w, nil
}

// monitor prints events to w until ctx ends; ready, if set, is called once
// the subscription is in place (the connector takes it during the send).
func monitor(ctx context.Context, w io.Writer, filter cnproc.What, ready func()) error {
	conn, err := cnproc.Dial(nl.WithReadBuffer(8 << 20))
	if err != nil {
		return err
	}
	defer conn.Close()
	p, err := poller.New()
	if err != nil {
		return err
	}
	defer func() { p.Close(); <-p.Done() }()
	pub := stream.NewPublisher[nl.Message]()
	reg, err := p.Add(conn, stream.PollerHandler(pub))
	if err != nil {
		return err
	}
	defer func() { reg.Remove(); <-reg.Done(); pub.Complete() }()

	// Subscribe to the kernel once the stream's subscriber is in place, so
	// that nothing after the subscription is missed.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	events := operators.Decode(pub.Observable(stream.OnSubscribe(func() {
		if _, err := cnproc.Listen(conn, filter); err != nil {
			cancel(err)
			return
		}
		if ready != nil {
			ready()
		}
	})), cnproc.Decode)
	pr := &printer{w: w, started: map[uint32]time.Duration{}}
	fmt.Fprintf(w, "%-8s %-8s %7s %-12s %8s %s\n", "Time", "Event", "PID", "Info", "Duration", "Process")
	err = events.Subscribe(ctx, stream.ObserverFuncs[cnproc.Event]{
		OnNext: func(e cnproc.Event) error {
			if e.What == cnproc.WhatNone {
				return nil // acknowledgements, ours and other listeners'
			}
			return pr.print(e)
		},
		OnGap: func(g stream.Gap) error {
			_, err := fmt.Fprintf(w, "%s events lost: %v\n", time.Now().Format(time.TimeOnly), g.Cause)
			return err
		},
	})
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

type printer struct {
	w       io.Writer
	started map[uint32]time.Duration // process start (fork) by pid
}

func (p *printer) print(e cnproc.Event) error {
	info, dur := "", ""
	pid := e.PID
	switch e.What {
	case cnproc.WhatFork:
		if e.PID != e.TGID {
			info = "thread"
		} else {
			p.started[e.PID] = e.Timestamp
		}
		info = strings.TrimSpace(fmt.Sprintf("%s parent %d", info, e.ParentTGID))
	case cnproc.WhatExit:
		if e.Exited() {
			info = fmt.Sprint(e.ExitStatus())
		} else {
			info = e.Signal().String()
		}
		if t, ok := p.started[e.PID]; ok {
			dur = fmt.Sprintf("%.3fs", (e.Timestamp - t).Seconds())
			delete(p.started, e.PID)
		}
	case cnproc.WhatUID, cnproc.WhatGID:
		info = fmt.Sprintf("%d/%d", e.Real, e.Effective)
	case cnproc.WhatComm:
		info = e.Comm
	case cnproc.WhatPtrace:
		info = fmt.Sprintf("tracer %d", e.TracerTGID)
		if e.TracerPID == 0 {
			info = "detach"
		}
	}
	_, err := fmt.Fprintf(p.w, "%-8s %-8s %7d %-12s %8s %s\n", time.Now().Format(time.TimeOnly), e.What, pid, info, dur, process(e.TGID))
	return err
}

// process names a process from /proc: its command line, or its comm, or
// "" once it has gone.
func process(pid uint32) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err == nil && len(b) > 0 {
		return string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err == nil {
		return "[" + strings.TrimSpace(string(b)) + "]"
	}
	return ""
}
