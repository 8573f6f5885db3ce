package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"golang.org/x/sys/unix"
)

func init() {
	register(&scenario{
		name:  "scale",
		title: "1, 64 and 1,024 sockets: one epoll poller against a goroutine per socket",
		run:   runScale,
		full:  size{rounds: 5, warmup: 1},
		quick: size{rounds: 2, warmup: 0},
	})
}

// scaleLevel is one socket count and how many route events each
// measurement sends to every socket (so the larger counts stay short).
type scaleLevel struct {
	sockets int
	events  int
}

var (
	scaleFull  = []scaleLevel{{1, 20_000}, {64, 2_000}, {1024, 400}}
	scaleQuick = []scaleLevel{{1, 1_000}, {64, 200}, {256, 200}}
)

// scaleChunk is how many routes are added before waiting for every socket
// to have every event: below the 256 events a default receive buffer holds,
// so nothing overruns and every design is measured on the same work.
const scaleChunk = 200

// scaleConsumer is one way of reading many sockets. start opens nothing: it
// receives the sockets (conns, or raw fds for the floor), starts reading
// them into tl, and returns a function that stops and waits.
type scaleConsumer struct {
	name  string
	api   string
	raw   bool
	start func(conns []*nl.Conn, fds []int, tl *tally) (stop func(), err error)
}

var scaleConsumers = []scaleConsumer{
	{"raw-epoll", "one OS thread: x/sys/unix epoll_wait + recvfrom(MSG_DONTWAIT) until EAGAIN, 64 KiB buffer", true, startRawEpoll},
	{"poller", "poller.New(): one epoll loop, recvmmsg batches; a counting handler", false, startScalePoller},
	{"goroutine-receive", "one goroutine per socket in an nl.Conn.Receive loop (Go netpoller)", false, startScaleReceivers},
	{"goroutine-rawconn", "one goroutine per socket in SyscallConn().Read with recvmsg(MSG_DONTWAIT) into a reused buffer (Go netpoller, no allocation)", false, startScaleRawConn},
}

// feeder adds and deletes routes through a long-lived `ip -batch -`, a
// separate process: the kernel builds and queues each notification for
// every listener inside the adding syscall, and that work must not be
// billed to the consumer measured here.
type feeder struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr strings.Builder
	exited chan struct{} // closed when ip exits (it stops at the first error)
}

func startFeeder(ns *benchNS) (*feeder, error) {
	f := &feeder{cmd: ns.cmd("ip", "-batch", "-"), exited: make(chan struct{})}
	f.cmd.Stderr = &f.stderr
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var err error
	if f.stdin, err = f.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := f.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		f.cmd.Wait()
		close(f.exited)
	}()
	return f, nil
}

func (f *feeder) send(lines []byte) error {
	if _, err := f.stdin.Write(lines); err != nil {
		return fmt.Errorf("ip -batch: %w: %s", err, strings.TrimSpace(f.stderr.String()))
	}
	return nil
}

func (f *feeder) close() {
	f.stdin.Close()
	<-f.exited
}

func runScale(env *runEnv, sz size) ([]*ScenarioResult, error) {
	if err := needTools("ip", "nsenter"); err != nil {
		return nil, err
	}
	levels := scaleFull
	if env.quick {
		levels = scaleQuick
	}
	ns, err := newBenchNS()
	if err != nil {
		return nil, err
	}
	defer ns.close()
	if _, err := ns.setupVeth(); err != nil {
		return nil, err
	}
	fd, err := startFeeder(ns)
	if err != nil {
		return nil, err
	}
	defer fd.close()
	tl := newTally()

	var ims []impl
	for li, lv := range levels {
		// Each level has its own routes (10.100+li.0.0/16) and alternates
		// adding and deleting them, so every measurement sends the same
		// number of fresh events and the table stays small.
		base := routeAddr(netip.MustParseAddr("10.100.0.0"), li<<16)
		var add, del [][]byte
		for c := 0; c < lv.events; c += scaleChunk {
			var a, d strings.Builder
			for i := c; i < min(c+scaleChunk, lv.events); i++ {
				fmt.Fprintf(&a, "route add %s/32 dev v0\n", routeAddr(base, i))
				fmt.Fprintf(&d, "route del %s/32 dev v0\n", routeAddr(base, i))
			}
			add, del = append(add, []byte(a.String())), append(del, []byte(d.String()))
		}
		added := new(bool) // shared by the level's consumers: the table's state
		floor := fmt.Sprintf("raw-epoll ×%d", lv.sockets)
		for _, sc := range scaleConsumers {
			name := fmt.Sprintf("%s ×%d", sc.name, lv.sockets)
			f := floor
			if name == floor {
				f = ""
			}
			ims = append(ims, impl{name: name, api: sc.api, floor: f, run: func() (sample, error) {
				chunks := add
				if *added {
					chunks = del
				}
				*added = !*added
				return scaleOnce(ns, fd, tl, sc, lv, chunks)
			}})
		}
	}
	env.progress.setTotal((sz.warmup + sz.rounds) * len(ims))
	ss := runInterleaved(env.progress, sz.warmup, sz.rounds, ims)
	for _, s := range ss {
		for _, r := range s.rounds {
			items := r.get(mItems)
			r[mCPUnsPerEvent] = r.get(mCPU) * 1e6 / items
			r[mAllocsPerEv] = r.get(mAllocs) / items
		}
	}
	rows := buildRows(ss, []string{mWall, mCPU, mCPUnsPerEvent, mAllocsPerEv, mItems, mGoroutines}, mCPUnsPerEvent, nil)
	var desc []string
	for _, lv := range levels {
		desc = append(desc, fmt.Sprintf("%s sockets × %s events", count(lv.sockets), count(lv.events)))
	}
	res := &ScenarioResult{
		Name:    "scale",
		Title:   "Route events delivered to many sockets: one epoll poller against a goroutine per socket",
		Primary: mCPUnsPerEvent,
		Setup: []string{
			"Every socket joins RTNLGRP_IPV4_ROUTE with the default receive buffer; a long-lived `ip -batch -` (another process, so the kernel's fan-out work is not billed here) adds or deletes routes in chunks of " + fmt.Sprint(scaleChunk) + ", and the next chunk goes only once every socket has every event, so no queue overruns.",
			"Sizes: " + strings.Join(desc, ", ") + " per measurement (each event reaches every socket). Sockets and readers are set up before and torn down after the timed part.",
			fmt.Sprintf("%d rounds after %d warm-up rounds, each round starting one row further down; CPU per delivered event is getrusage(RUSAGE_SELF) over the timed part divided by sockets × events, the ratio is to `raw-epoll` with as many sockets in the same round.", sz.rounds, sz.warmup),
		},
		Rows:    rows,
		columns: scaleColumns,
		charts:  []chartSpec{{file: "scale.svg", title: "Events to many sockets: CPU per delivered event ÷ raw epoll floor", metric: "ratio"}},
	}
	return []*ScenarioResult{res}, nil
}

const mGoroutines = "goroutines"

// scaleOnce opens the sockets for one measurement, starts the consumer,
// sends the chunks, and waits for each to reach every socket.
func scaleOnce(ns *benchNS, fd *feeder, tl *tally, sc scaleConsumer, lv scaleLevel, chunks [][]byte) (sample, error) {
	var conns []*nl.Conn
	var fds []int
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		for _, f := range fds {
			unix.Close(f)
		}
	}()
	err := ns.Do(func() error {
		for range lv.sockets {
			if sc.raw {
				fd, err := openRawFD(unix.RTMGRP_IPV4_ROUTE)
				if err != nil {
					return err
				}
				fds = append(fds, fd)
				continue
			}
			// Inside Do the socket is made in the namespace directly,
			// without a locked thread per socket.
			c, err := nl.DialRoute(nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE))
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("opening %d sockets: %w", lv.sockets, err)
	}
	tl.reset()
	stop, err := sc.start(conns, fds, tl)
	if err != nil {
		return nil, err
	}
	goroutines := runtime.NumGoroutine()
	runtime.GC()
	debug.FreeOSMemory()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := rusageSelf()
	t0 := time.Now()
	sent := 0
	for i, ch := range chunks {
		if err := fd.send(ch); err != nil {
			stop()
			return nil, err
		}
		sent += strings.Count(string(ch), "\n")
		if err := tl.waitFor(int64(sent*lv.sockets), 30*time.Second, fd.exited); err != nil {
			stop()
			// Send the rest anyway, so that the routes end up all added
			// or all deleted and the next measurement starts from a
			// known table.
			for _, rest := range chunks[i+1:] {
				fd.send(rest)
			}
			return nil, fmt.Errorf("%s: %w (ip -batch: %s)", sc.name, err, strings.TrimSpace(fd.stderr.String()))
		}
	}
	wall := time.Since(t0)
	u1, s1 := rusageSelf()
	runtime.ReadMemStats(&m1)
	stop()
	return sample{
		mWall:       ms(wall),
		mCPU:        ms(u1 - u0 + s1 - s0),
		mAllocs:     float64(m1.Mallocs - m0.Mallocs),
		mItems:      float64(sent * lv.sockets),
		mGoroutines: float64(goroutines),
	}, nil
}

func startScalePoller(conns []*nl.Conn, _ []int, tl *tally) (func(), error) {
	p, err := poller.New()
	if err != nil {
		return nil, err
	}
	h := func(b *poller.Batch) {
		if len(b.Messages) > 0 {
			tl.add(len(b.Messages))
		}
	}
	for _, c := range conns {
		if _, err := p.Add(c, h); err != nil {
			p.Close()
			return nil, err
		}
	}
	return func() { p.Close(); <-p.Done() }, nil
}

func startScaleReceivers(conns []*nl.Conn, _ []int, tl *tally) (func(), error) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for {
				ms, err := c.Receive()
				if err != nil && !errors.Is(err, unix.ENOBUFS) {
					return // closed at the end of the measurement
				}
				tl.add(len(ms))
			}
		})
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}, nil
}

func startScaleRawConn(conns []*nl.Conn, _ []int, tl *tally) (func(), error) {
	var wg sync.WaitGroup
	for _, c := range conns {
		rc, err := c.SyscallConn()
		if err != nil {
			return nil, err
		}
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			var from unix.RawSockaddrNetlink
			_ = rc.Read(func(fd uintptr) bool {
				for {
					n, errno := recvmsgInto(int(fd), buf, &from, unix.MSG_DONTWAIT)
					switch {
					case errno == unix.EAGAIN:
						return false // park in the netpoller until readable
					case errno == unix.EINTR || errno == unix.ENOBUFS:
						continue
					case errno != 0:
						return true
					case from.Pid != 0:
						continue
					}
					tl.add(countMsgs(buf[:n]))
				}
			})
		})
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}, nil
}

// recvmsgInto is recvmsg(2) into p, with the sender's address in from,
// without allocating.
func recvmsgInto(fd int, p []byte, from *unix.RawSockaddrNetlink, flags int) (int, unix.Errno) {
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(from)), Namelen: unix.SizeofSockaddrNetlink, Iov: &iov, Iovlen: 1}
	n, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	return int(n), errno
}

// startRawEpoll is the floor: one locked OS thread, one epoll set, raw
// syscalls, no Go netpoller and no allocation; an eventfd stops it.
func startRawEpoll(_ []*nl.Conn, fds []int, tl *tally) (func(), error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	add := func(fd int) error {
		return unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
	}
	for _, fd := range append([]int{efd}, fds...) {
		if err := add(fd); err != nil {
			unix.Close(epfd)
			unix.Close(efd)
			return nil, err
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		buf := make([]byte, 64<<10)
		evs := make([]unix.EpollEvent, 128)
		var from unix.RawSockaddrNetlink
		for {
			n, err := unix.EpollWait(epfd, evs, -1)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			for _, ev := range evs[:n] {
				fd := int(ev.Fd)
				if fd == efd {
					return
				}
				for {
					k, errno := recvmsgInto(fd, buf, &from, unix.MSG_DONTWAIT)
					if errno == unix.EAGAIN || (errno != 0 && errno != unix.EINTR && errno != unix.ENOBUFS) {
						break
					}
					if errno == 0 && from.Pid == 0 {
						tl.add(countMsgs(buf[:k]))
					}
				}
			}
		}
	}()
	return func() {
		var one [8]byte
		one[0] = 1
		unix.Write(efd, one[:])
		<-done
		unix.Close(epfd)
		unix.Close(efd)
	}, nil
}

var scaleColumns = []column{
	{"reader × sockets", func(r *Row) string { return "`" + r.Impl + "`" }},
	{"CPU ns per delivered event, median (min–max)", func(r *Row) string { return fmtStat(r.Metrics[mCPUnsPerEvent], 0) }},
	{"× floor (min–max)", func(r *Row) string {
		if r.Floor == "" {
			return "1 (floor)"
		}
		if !r.Ratio.Valid() {
			return "—"
		}
		return fmtStat(r.Ratio, 2) + "×"
	}},
	{"wall ms", func(r *Row) string { return fmtStat(r.Metrics[mWall], 0) }},
	{"events delivered", func(r *Row) string { return fmtCount(r.Metrics[mItems]) }},
	{"allocs/event", func(r *Row) string { return fmtStat(r.Metrics[mAllocsPerEv], 3) }},
	{"goroutines", func(r *Row) string { return fmtCount(r.Metrics[mGoroutines]) }},
	{"API", func(r *Row) string { return r.API }},
}
