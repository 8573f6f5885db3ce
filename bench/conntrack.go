package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	mdl "github.com/mdlayher/netlink"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	timo "github.com/ti-mo/conntrack"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "conntrack",
		title: "Conntrack NEW events during 100,000 flow creates at full speed",
		run:   runConntrack,
		full:  size{routes: 100_000, rounds: 5, warmup: 1},
		quick: size{routes: 10_000, rounds: 2, warmup: 0},
	})
}

// ctSubs are the subscribers of the conntrack scenario, run as children
// like the watch scenario's (childWatch finds them by name); the first is
// the floor.
var ctSubs = []watchSub{
	{name: "ct-raw-mmsg", api: "x/sys/unix blocking recvmmsg(MSG_WAITFORONE), 64 × 8 KiB, NFNLGRP_CONNTRACK_NEW; headers walked", rcvbuf: bigRcvbuf, open: openCTRawMmsgSub},
	{name: "ct-nlrx-poller", api: "conntrack.DialEvents(New, WithBlocking, WithReadBuffer(32 MiB)) + conntrack.Listen(poller.New(WithDedicatedThread)); inline subscriber counts batches", floor: "ct-raw-mmsg", rcvbuf: bigRcvbuf, open: openCTNlrxSub},
	{name: "ct-nlrx-default", api: "conntrack.DialEvents(New) + conntrack.Listen(nil): default buffer and poller", floor: "ct-raw-mmsg", open: openCTNlrxSub},
	{name: "ct-timo-32M", api: "ti-mo/conntrack Dial + SetReadBuffer(32 MiB) + Listen(chan 1024, 1 worker, GroupCTNew)", floor: "ct-raw-mmsg", rcvbuf: bigRcvbuf, open: openCTTimoSub, rcvbufText: "32 MiB via SO_RCVBUF (capped at 2 × rmem_max; not readable through the API)"},
	{name: "ct-timo-default", api: "the same without SetReadBuffer", floor: "ct-raw-mmsg", open: openCTTimoSub, rcvbufText: "default (not readable through the API)"},
	{name: "conntrack-E", api: "conntrack -E -e NEW -b 32 MiB (conntrack-tools), a process; lines counted", floor: "ct-raw-mmsg", rcvbufText: "32 MiB asked with -b"},
}

func lookupSub(name string) *watchSub {
	for _, list := range [][]watchSub{watchSubs, ctSubs} {
		for i := range list {
			if list[i].name == name && list[i].open != nil {
				return &list[i]
			}
		}
	}
	return nil
}

// ctFlow is flow i of the scenario: UDP from 10.1.x.y to one of 65,536
// destinations, no two alike.
func ctFlow(i int) conntrack.Flow {
	return conntrack.Flow{
		Orig: conntrack.Tuple{Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 24), byte(i >> 16)}),
			Dst: netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), Proto: conntrack.ProtoUDP, SrcPort: 1024, DstPort: 53},
		Timeout: 600,
	}
}

type ctParams struct {
	ns    *benchNS
	c     *nl.Conn
	flows []conntrack.Flow
	idle  time.Duration
}

func runConntrack(env *runEnv, sz size) ([]*ScenarioResult, error) {
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	c, err := conntrack.Dial(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(4<<20))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := conntrack.List(context.Background(), c, conntrack.Filter{}); err != nil {
		return nil, fmt.Errorf("ctnetlink: %w", err)
	}
	p := &ctParams{ns: ns, c: c, flows: make([]conntrack.Flow, sz.routes), idle: 300 * time.Millisecond}
	for i := range p.flows {
		p.flows[i] = ctFlow(i)
	}
	if env.quick {
		p.idle = 200 * time.Millisecond
	}
	var ims []impl
	for _, s := range ctSubs {
		if s.open == nil && needTools("conntrack", "nsenter") != nil {
			continue
		}
		ims = append(ims, impl{name: s.name, api: s.api, floor: s.floor, run: func() (sample, error) {
			return ctOnce(p, s)
		}})
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)

	metrics := []string{mEvents, mOverruns, mCPUPerEvent, mBytesPerEv, mAllocsPerEv, mAddMs, mRate, mCPU, mProcCPU, mRcvbuf, mLossFraction}
	rows := buildRows(ss, metrics, mCPUPerEvent, nil)
	for i, s := range ss {
		rows[i].Counts = map[string]int{"complete": countRounds(s, mComplete), "dead": countRounds(s, mDead)}
		for _, w := range ctSubs {
			if w.name != s.impl.name {
				continue
			}
			txt := w.rcvbufText
			if txt == "" {
				txt = rcvbufText(w.rcvbuf) + " → " + fmtBytes(rows[i].Metrics[mRcvbuf])
			}
			rows[i].Text = map[string]string{"rcvbuf": txt}
		}
	}
	res := &ScenarioResult{
		Name:    "conntrack",
		Title:   "Conntrack events (NFNLGRP_CONNTRACK_NEW) during flow creates at full speed",
		Primary: mCPUPerEvent,
		Setup: []string{
			fmt.Sprintf("Each run creates %s UDP flows in a private namespace through ctnetlink (conntrack.CreateFlows: IPCTNL_MSG_CT_NEW with NLM_F_CREATE|NLM_F_EXCL, pipelined, one ACK per window), no traffic. The kernel emits one NEW event per flow; only those are subscribed to and counted. Between runs one flush (IPCTNL_MSG_CT_DELETE without a tuple) empties the table.", count(len(p.flows))),
			"Each subscriber runs in its own child process, subscribes, signals ready, and counts NEW events until it has all of them, its subscription died, or none came for " + p.idle.String() + " after the last create while its receive queue was empty.",
			fmt.Sprintf("%d rounds after %d warm-up rounds. CPU per event is the child's user+system CPU from subscription to the end of the run divided by the events it received; the ratio is to `ct-raw-mmsg` in the same round.", sz.rounds, sz.warmup),
		},
		Rows: rows,
		Notes: []string{
			"ti-mo/conntrack's event worker returns on the first receive error, ENOBUFS included, and its Listen goroutines then stop: a run where it overran is counted dead, with the events it had before.",
			"`conntrack -E` runs as a process; readiness is detected with probe flows (10.98.0.x, not counted); its CPU is the whole process's (start-up included) from wait4. It reports an overrun on stderr and goes on.",
		},
		columns: watchColumns,
	}
	res.Targets = []Target{
		{What: "every event delivered (32 MiB buffer)", Impl: "ct-nlrx-poller", Metric: "complete", Limit: 1, AtLeast: true},
		{What: "CPU per event within 1.3× the raw recvmmsg floor", Impl: "ct-nlrx-poller", Metric: "ratio", Limit: 1.3},
		{What: "bytes allocated per event (~0)", Impl: "ct-nlrx-poller", Metric: mBytesPerEv, Limit: 64},
	}
	res.charts = []chartSpec{
		{file: "conntrack.svg", title: fmt.Sprintf("Conntrack events, %s NEW: CPU per event ÷ floor (median, min–max)", count(len(p.flows))), metric: "ratio"},
	}
	return []*ScenarioResult{res}, nil
}

func ctOnce(p *ctParams, s watchSub) (smp sample, err error) {
	runtime.GC()
	if s.open == nil {
		smp, err = ctConntrackE(p)
	} else {
		smp, err = ctChild(p, s)
	}
	// Empty the table even after a failure, so the next run starts clean.
	ferr := conntrack.Flush(context.Background(), p.c, conntrack.Filter{})
	if err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	smp[mLossFraction] = 1 - smp[mEvents]/float64(len(p.flows))
	smp[mComplete] = b2f(smp[mEvents] >= float64(len(p.flows)))
	return smp, nil
}

func ctChild(p *ctParams, s watchSub) (sample, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		envChild+"=watch",
		envWatchSub+"="+s.name,
		envWatchN+"="+strconv.Itoa(len(p.flows)),
		envWatchRcvbuf+"="+strconv.Itoa(s.rcvbuf),
		envWatchIdle+"="+strconv.FormatInt(p.idle.Milliseconds(), 10),
	)
	cmd.ExtraFiles = []*os.File{p.ns.file}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := lineReader(stdout)
	fail := func(err error) (sample, error) {
		cmd.Process.Kill()
		cmd.Wait()
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	l, err := readLine(lines, 20*time.Second, "subscribing")
	if err != nil {
		return fail(err)
	}
	rcvbuf, ok := strings.CutPrefix(l, "ready ")
	if !ok {
		return fail(fmt.Errorf("child said %q, not ready", l))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	if err := conntrack.CreateFlows(ctx, p.c, p.flows); err != nil {
		return fail(err)
	}
	took := time.Since(start)
	if _, err := io.WriteString(stdin, "done\n"); err != nil {
		return fail(err)
	}
	l, err = readLine(lines, 60*time.Second, "waiting for the count")
	if err != nil {
		return fail(err)
	}
	var r watchChildResult
	if err := json.Unmarshal([]byte(l), &r); err != nil {
		return fail(fmt.Errorf("child result %q: %w", l, err))
	}
	stdin.Close()
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("child: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	smp := sample{
		mEvents:   float64(r.Events),
		mOverruns: float64(r.Overruns),
		mDead:     b2f(r.Dead),
		mCPU:      r.CPUms,
		mAddMs:    ms(took),
		mRate:     float64(len(p.flows)) / took.Seconds(),
		mRcvbuf:   math.NaN(),
	}
	if v, err := strconv.Atoi(rcvbuf); err == nil && v > 0 {
		smp[mRcvbuf] = float64(v)
	}
	if r.Events > 0 {
		smp[mCPUPerEvent] = r.CPUms * 1000 / float64(r.Events)
		smp[mBytesPerEv] = float64(r.Bytes) / float64(r.Events)
		smp[mAllocsPerEv] = float64(r.Allocs) / float64(r.Events)
	}
	if pu := procUsage(cmd.ProcessState); !math.IsNaN(pu.get(mCPU)) {
		smp[mProcCPU] = pu[mCPU]
	}
	return smp, nil
}

// openCTRawIn opens a blocking NETLINK_NETFILTER socket in the namespace,
// bound to NFNLGRP_CONNTRACK_NEW (group 1, bit 0 of the bind mask).
func openCTRawIn(nsPath string, rcvbuf int) (*rawSocket, int, error) {
	h, err := nl.OpenNetNS(nsPath)
	if err != nil {
		return nil, 0, err
	}
	defer h.Close()
	var fd int
	err = h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1 << (conntrack.GroupNew - 1)}); err != nil {
			unix.Close(fd)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	s := &rawSocket{fd: fd}
	eff, err := s.setReadBuffer(rcvbuf)
	if err != nil {
		s.close()
		return nil, 0, err
	}
	return s, eff, nil
}

// countCTNew counts the IPCTNL_MSG_CT_NEW messages in a datagram.
func countCTNew(b []byte) (n int64) {
	_ = walkMessages(b, func(m rawMsg) error {
		if m.typ == conntrack.TypeNew {
			n++
		}
		return nil
	})
	return n
}

func openCTRawMmsgSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	s, eff, err := openCTRawIn(nsPath, rcvbuf)
	if err != nil {
		return 0, nil, err
	}
	const vlen, size = 64, 8 << 10
	bufs := make([]byte, vlen*size)
	iovs := make([]unix.Iovec, vlen)
	names := make([]unix.RawSockaddrNetlink, vlen)
	hdrs := make([]unix.Mmsghdr, vlen)
	for i := range hdrs {
		iovs[i].Base = &bufs[i*size]
		iovs[i].SetLen(size)
		hdrs[i].Hdr.Iov = &iovs[i]
		hdrs[i].Hdr.SetIovlen(1)
		hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&names[i]))
	}
	return eff, func() {
		for {
			for i := range hdrs {
				hdrs[i].Hdr.Namelen = unix.SizeofSockaddrNetlink
				hdrs[i].Hdr.Flags = 0
			}
			n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd),
				uintptr(unsafe.Pointer(&hdrs[0])), vlen, unix.MSG_WAITFORONE, 0, 0)
			if errno == unix.EINTR {
				continue
			}
			if errno == unix.ENOBUFS {
				st.overruns.Add(1)
				continue
			}
			if errno != 0 {
				st.die(errno)
				return
			}
			for i := range int(n) {
				if hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
					st.die(errors.New("recvmmsg: datagram truncated (MSG_TRUNC)"))
					return
				}
				if names[i].Pid != 0 {
					continue
				}
				st.events.Add(countCTNew(bufs[i*size : i*size+int(hdrs[i].Len)]))
			}
		}
	}, nil
}

func openCTNlrxSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	opts := []nl.Option{nl.WithNetNS(nsPath)}
	var p *poller.Poller
	if rcvbuf > 0 {
		// The tuned set-up: a blocking socket read by a poller on a
		// thread of its own (see poller.WithDedicatedThread).
		opts = append(opts, nl.WithReadBuffer(rcvbuf), nl.WithBlocking())
		var err error
		if p, err = poller.New(poller.WithDedicatedThread()); err != nil {
			return 0, nil, err
		}
	}
	c, err := conntrack.DialEvents([]conntrack.EventType{conntrack.EventNew}, opts...)
	if err != nil {
		return 0, nil, err
	}
	src, err := conntrack.Listen(p, c)
	if err != nil {
		return 0, nil, err
	}
	eff, _ := c.ReadBufferSize()
	subscribed := make(chan struct{})
	go func() {
		err := src.Events(stream.OnSubscribe(func() { close(subscribed) })).Subscribe(context.Background(), stream.ObserverFuncs[conntrack.Event]{
			OnBatch: func(evs []conntrack.Event) error {
				st.events.Add(int64(len(evs)))
				return nil
			},
			OnGap: func(g stream.Gap) error {
				if errors.Is(g, unix.ENOBUFS) {
					st.overruns.Add(1)
				}
				return nil
			},
		})
		if err != nil {
			st.die(err)
		}
	}()
	<-subscribed
	return eff, func() {}, nil
}

func openCTTimoSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	f, err := os.Open(nsPath)
	if err != nil {
		return 0, nil, err
	}
	c, err := timo.Dial(&mdl.Config{NetNS: int(f.Fd())})
	f.Close()
	if err != nil {
		return 0, nil, err
	}
	if rcvbuf > 0 {
		if err := c.SetReadBuffer(rcvbuf); err != nil {
			c.Close()
			return 0, nil, err
		}
	}
	evCh := make(chan timo.Event, 1024)
	errCh, err := c.Listen(evCh, 1, []netfilter.NetlinkGroup{netfilter.GroupCTNew})
	if err != nil {
		c.Close()
		return 0, nil, err
	}
	return 0, func() {
		for {
			select {
			case <-evCh:
				st.events.Add(1)
			case err := <-errCh:
				if errors.Is(err, unix.ENOBUFS) {
					st.overruns.Add(1)
				}
				st.die(err)
				// The worker is gone; count what it had sent.
				for {
					select {
					case <-evCh:
						st.events.Add(1)
					default:
						return
					}
				}
			}
		}
	}, nil
}

// ctConntrackE runs `conntrack -E -e NEW` in the namespace and counts the
// lines it prints. It cannot say when it has subscribed, so probe flows
// are made one by one until one shows up in its output.
func ctConntrackE(p *ctParams) (sample, error) {
	cmd := p.ns.cmd("conntrack", "-E", "-e", "NEW", "-b", strconv.Itoa(bigRcvbuf))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var events, overruns atomic.Int64
	probeSeen := make(chan struct{}, 1)
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "src=10.98.") {
				select {
				case probeSeen <- struct{}{}:
				default:
				}
				continue
			}
			events.Add(1)
		}
	}()
	var errText strings.Builder
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ENOBUFS") || strings.Contains(sc.Text(), "No buffer space") {
				overruns.Add(1)
			} else if errText.Len() < 1000 {
				errText.WriteString(sc.Text() + "\n")
			}
		}
	}()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-outDone
		<-errDone
		cmd.Wait()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := false
	for i := 0; i < 100 && !ready; i++ {
		probe := conntrack.Flow{Orig: conntrack.Tuple{Src: netip.AddrFrom4([4]byte{10, 98, 0, byte(i)}), Dst: netip.AddrFrom4([4]byte{10, 98, 1, 1}),
			Proto: conntrack.ProtoUDP, SrcPort: 1, DstPort: 1}, Timeout: 600}
		if err := conntrack.Create(ctx, p.c, probe); err != nil {
			stop()
			return nil, fmt.Errorf("probe flow: %w", err)
		}
		select {
		case <-probeSeen:
			ready = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !ready {
		stop()
		return nil, fmt.Errorf("conntrack -E printed nothing for 100 probe flows: %s", strings.TrimSpace(errText.String()))
	}
	start := time.Now()
	if err := conntrack.CreateFlows(ctx, p.c, p.flows); err != nil {
		stop()
		return nil, err
	}
	took := time.Since(start)
	waitQuiet(events.Load, int64(len(p.flows)), p.idle, nil, func() int64 {
		q, err := queuedEventBytes(p.ns.NetNS)
		if err != nil {
			return 0
		}
		return q
	})
	exited := false
	select {
	case <-outDone:
		exited = true
	default:
	}
	stop()
	smp := procUsage(cmd.ProcessState)
	smp[mProcCPU] = smp.get(mCPU)
	smp[mEvents] = float64(events.Load())
	smp[mOverruns] = float64(overruns.Load())
	smp[mDead] = b2f(exited)
	smp[mAddMs] = ms(took)
	smp[mRate] = float64(len(p.flows)) / took.Seconds()
	smp[mRcvbuf] = math.NaN()
	if ev := events.Load(); ev > 0 {
		smp[mCPUPerEvent] = smp[mCPU] * 1000 / float64(ev)
	}
	return smp, nil
}
