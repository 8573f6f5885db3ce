//go:build linux

package poller_test

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

// The benchmarks measure the process's CPU (getrusage RUSAGE_SELF: the
// loop thread, the runtime and the benchmark goroutine) and divide it by
// the messages delivered. The kernel work of building and queueing
// notifications runs in ip(8), another process, and is not counted.

const (
	dumpRoutes  = 100_000
	burstEvents = 100_000
	// truesize of one queued route event; a burst needs this much receive
	// buffer per event (research/netlink-facts.md §2.4).
	eventTruesize = 832
)

var (
	gridBatch    = []int{1, 8, 32, 64}
	gridDatagram = []int{8 << 10, 32 << 10, 64 << 10}
)

// usage is a snapshot of the process's CPU time and allocation count.
type usage struct {
	cpu     time.Duration
	mallocs uint64
	csw     int64 // context switches, voluntary and not
}

func takeUsage() usage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return usage{
		cpu:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		mallocs: ms.Mallocs,
		csw:     ru.Nvcsw + ru.Nivcsw,
	}
}

// report records per-message figures for what happened since u0.
func report(b *testing.B, u0 usage, msgs uint64, syscalls uint64) {
	u1 := takeUsage()
	if msgs == 0 {
		b.Fatal("no messages")
	}
	m := float64(msgs)
	b.ReportMetric(float64(u1.cpu-u0.cpu)/m, "cpu-ns/msg")
	b.ReportMetric(float64(u1.mallocs-u0.mallocs)/m, "allocs/msg")
	if syscalls > 0 {
		b.ReportMetric(float64(syscalls)/float64(b.N), "syscalls/op")
		b.ReportMetric(m/float64(syscalls), "msgs/syscall")
	}
	b.ReportMetric(m/float64(b.N), "msgs/op")
}

// BenchmarkDumpGrid reads a 100,000-route IPv4 dump through a poller for
// each batch size (vlen) and datagram buffer size.
func BenchmarkDumpGrid(b *testing.B) {
	ns := nstest.New(b)
	ns.Batch(routeLines("add", 0, dumpRoutes))
	req := nl.Message{
		Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagRequest | nl.FlagDump},
		Data:   make([]byte, unix.SizeofRtMsg),
	}
	req.Data[0] = unix.AF_INET
	for _, vlen := range gridBatch {
		for _, size := range gridDatagram {
			b.Run(fmt.Sprintf("vlen=%d/buf=%dK", vlen, size>>10), func(b *testing.B) {
				c := ns.Dial()
				b.Cleanup(func() { c.Close() })
				p, err := poller.New(poller.WithBatchSize(vlen), poller.WithDatagramSize(size))
				if err != nil {
					b.Fatal(err)
				}
				defer closeAndWait(b, p)
				done := make(chan error, 1)
				var msgs uint64
				r, err := p.Add(c, func(bt *poller.Batch) {
					msgs += uint64(len(bt.Messages))
					var err error
					end := len(bt.Events) > 0
					if end {
						err = bt.Events[0].Err
					}
					for _, m := range bt.Messages {
						if m.Header.Type == nl.TypeDone || m.Header.Type == nl.TypeError {
							end = true
							err = cmp.Or(err, nl.CheckMessage(m))
						}
					}
					if end {
						done <- err
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				dump := func() {
					if _, err := c.Send(req); err != nil {
						b.Fatal(err)
					}
					if err := <-done; err != nil {
						b.Fatal(err)
					}
				}
				dump() // the kernel sizes dump datagrams from the previous read
				s0 := r.Stats()
				msgs = 0
				u0 := takeUsage()
				b.ResetTimer()
				for range b.N {
					dump()
				}
				b.StopTimer()
				s1 := r.Stats()
				report(b, u0, msgs, s1.Syscalls-s0.Syscalls)
				b.ReportMetric(float64(s1.Datagrams-s0.Datagrams)/float64(b.N), "datagrams/op")
			})
		}
	}
}

// BenchmarkBurstGrid lets 100,000 route events queue in a socket that is
// not being read (a 128 MiB receive buffer holds them), then registers it
// and measures the drain, for each batch size and datagram buffer size.
// Iterations alternate adding and deleting the routes, so each one queues
// 100,000 fresh events. Use -benchtime=Nx: each iteration needs about a
// second of untimed setup.
func BenchmarkBurstGrid(b *testing.B) {
	ns := nstest.New(b)
	added := false
	for _, vlen := range gridBatch {
		for _, size := range gridDatagram {
			b.Run(fmt.Sprintf("vlen=%d/buf=%dK", vlen, size>>10), func(b *testing.B) {
				c := ns.Dial(nl.WithReadBuffer(64 << 20))
				b.Cleanup(func() { c.Close() })
				if n, err := c.ReadBufferSize(); err != nil || n < burstEvents*eventTruesize {
					b.Skipf("receive buffer %d bytes (%v) cannot hold %d events: needs CAP_NET_ADMIN for SO_RCVBUFFORCE", n, err, burstEvents)
				}
				p, err := poller.New(poller.WithBatchSize(vlen), poller.WithDatagramSize(size))
				if err != nil {
					b.Fatal(err)
				}
				defer closeAndWait(b, p)
				tl := newTally()
				var msgs, bad uint64
				handler := func(bt *poller.Batch) {
					msgs += uint64(len(bt.Messages))
					bad += uint64(len(bt.Events))
					tl.add(len(bt.Messages))
				}
				var total, syscalls uint64
				var cpu time.Duration
				var mallocs uint64
				b.StopTimer()
				for range b.N {
					verb := "add"
					if added {
						verb = "del"
					}
					if err := c.JoinGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
						b.Fatal(err)
					}
					ns.Batch(routeLines(verb, 0, burstEvents))
					added = !added
					if err := c.LeaveGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
						b.Fatal(err)
					}
					msgs = 0
					tl.n.Store(0)
					u0 := takeUsage()
					b.StartTimer()
					r, err := p.Add(c, handler)
					if err != nil {
						b.Fatal(err)
					}
					if err := tl.waitFor(bound(b, time.Minute), burstEvents); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					u1 := takeUsage()
					if err := r.Remove(); err != nil {
						b.Fatal(err)
					}
					if msgs != burstEvents || bad != 0 {
						b.Fatalf("drained %d messages and %d events, want %d and 0", msgs, bad, burstEvents)
					}
					total += msgs
					syscalls += r.Stats().Syscalls
					cpu += u1.cpu - u0.cpu
					mallocs += u1.mallocs - u0.mallocs
				}
				b.ReportMetric(float64(cpu)/float64(total), "cpu-ns/msg")
				b.ReportMetric(float64(mallocs)/float64(total), "allocs/msg")
				b.ReportMetric(float64(syscalls)/float64(b.N), "syscalls/op")
				b.ReportMetric(float64(total)/float64(syscalls), "msgs/syscall")
			})
		}
	}
}

// scaleImpl is one way of consuming route events from many sockets.
type scaleImpl struct {
	name string
	// sockets: "conn" (nl.DialRoute: nonblocking, in the Go runtime's
	// netpoller too), "blocking" (nl.WithBlocking: never in the runtime's
	// netpoller; the poller reads with MSG_DONTWAIT) or "raw" (unix.Socket).
	sockets string
	// start begins consuming; the returned stop ends it and waits.
	start func(b *testing.B, conns []*nl.Conn, fds []int, tl *tally) (stop func())
}

// open makes n sockets of the kind the implementation reads.
func (impl scaleImpl) open(b *testing.B, ns *nstest.NS, n int) ([]*nl.Conn, []int) {
	switch impl.sockets {
	case "conn":
		return dialMany(b, ns, n), nil
	case "blocking":
		return dialMany(b, ns, n, nl.WithBlocking()), nil
	default:
		return nil, rawSockets(b, ns, n)
	}
}

var scaleImpls = []scaleImpl{
	{"poller", "conn", startPoller()},
	{"poller-blocking", "blocking", startPoller()},
	{"poller-rawfd", "raw", startPoller()},
	{"poller-threadwait", "conn", startPoller(poller.WithDedicatedThread())},
	{"poller-threadwait-blocking", "blocking", startPoller(poller.WithDedicatedThread())},
	{"group2-blocking", "blocking", startGroup},
	{"goroutines-receive", "conn", startReceivers},
	{"goroutines-rawconn", "conn", startRawReaders},
}

func countingHandler(tl *tally) poller.Handler {
	return func(b *poller.Batch) {
		if len(b.Messages) > 0 {
			tl.add(len(b.Messages))
		}
	}
}

func startPoller(opts ...poller.Option) func(b *testing.B, conns []*nl.Conn, fds []int, tl *tally) func() {
	return func(b *testing.B, conns []*nl.Conn, fds []int, tl *tally) func() {
		p, err := poller.New(opts...)
		if err != nil {
			b.Fatal(err)
		}
		h := countingHandler(tl)
		for _, c := range conns {
			if _, err := p.Add(c, h); err != nil {
				b.Fatal(err)
			}
		}
		for _, fd := range fds {
			if _, err := p.AddFD(fd, h); err != nil {
				b.Fatal(err)
			}
		}
		return func() { closeAndWait(b, p) }
	}
}

func startGroup(b *testing.B, conns []*nl.Conn, fds []int, tl *tally) func() {
	g, err := poller.NewGroup(b.Context(), 2)
	if err != nil {
		b.Fatal(err)
	}
	h := countingHandler(tl)
	for _, c := range conns {
		if _, err := g.Add(c, h); err != nil {
			b.Fatal(err)
		}
	}
	return func() {
		g.Close()
		g.Wait()
	}
}

// startReceivers is the obvious design: one goroutine per socket blocked
// in Conn.Receive, that is in the Go runtime's netpoller.
func startReceivers(b *testing.B, conns []*nl.Conn, fds []int, tl *tally) func() {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for {
				ms, err := c.Receive()
				if err != nil {
					if errors.Is(err, os.ErrClosed) {
						return
					}
					if !errors.Is(err, unix.ENOBUFS) {
						b.Error(err)
						return
					}
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
	}
}

// startRawReaders is the same design without allocation: one goroutine per
// socket in a RawConn.Read loop of recvmsg calls into a reused buffer,
// checking the sender, parking in the runtime's netpoller on EAGAIN.
func startRawReaders(b *testing.B, conns []*nl.Conn, fds []int, tl *tally) func() {
	var wg sync.WaitGroup
	for _, c := range conns {
		rc, err := c.SyscallConn()
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			buf := make([]byte, 32<<10)
			var from unix.RawSockaddrNetlink
			rc.Read(func(fd uintptr) bool {
				for {
					n, errno := recvmsgRaw(int(fd), buf, &from)
					if errno == unix.EAGAIN {
						return false
					}
					if errno != 0 {
						if errno == unix.ENOBUFS {
							continue
						}
						return true
					}
					if from.Pid != 0 {
						continue
					}
					k := 0
					it := nl.NewMessageIter(buf[:n])
					for it.Next() {
						k++
					}
					tl.add(k)
				}
			})
		})
	}
	return func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}
}

func recvmsgRaw(fd int, p []byte, from *unix.RawSockaddrNetlink) (int, unix.Errno) {
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(from)), Namelen: unix.SizeofSockaddrNetlink, Iov: &iov, Iovlen: 1}
	r, _, e := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	return int(r), e
}

// rawSockets opens n rtnetlink sockets in ns with x/sys/unix, joined to
// RTNLGRP_IPV4_ROUTE; the Go runtime never sees them.
func rawSockets(b *testing.B, ns *nstest.NS, n int) []int {
	fds := make([]int, 0, n)
	b.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	err := ns.Do(func() error {
		for range n {
			fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
			if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
				return err
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, unix.RTNLGRP_IPV4_ROUTE); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return fds
}

// BenchmarkScale delivers the same route events to 1, 64 and 1,024
// sockets and measures CPU per delivered event for the poller and for one
// goroutine per socket. Each iteration adds (or deletes) 1,000 routes in
// chunks of 200, waiting after each chunk until every socket has every
// event, so that no default-sized receive queue (256 events) can overrun.
func BenchmarkScale(b *testing.B) {
	const events, chunk = 1000, 200
	ns := nstest.New(b)
	prod := startProducer(b, ns)
	lines := map[bool][][]string{}
	for _, del := range []bool{false, true} {
		verb := map[bool]string{false: "add", true: "del"}[del]
		for i := 0; i < events; i += chunk {
			lines[del] = append(lines[del], routeLines(verb, i, chunk))
		}
	}
	added := false
	for _, sockets := range []int{1, 64, 1024} {
		for _, impl := range scaleImpls {
			b.Run(fmt.Sprintf("sockets=%d/%s", sockets, impl.name), func(b *testing.B) {
				conns, fds := impl.open(b, ns, sockets)
				tl := newTally()
				stop := impl.start(b, conns, fds, tl)
				defer stop()
				ctx := bound(b, 5*time.Minute)
				u0 := takeUsage()
				b.ResetTimer()
				for range b.N {
					base := tl.n.Load()
					for i, chunkLines := range lines[added] {
						prod.send(b, chunkLines)
						if err := tl.waitFor(ctx, base+int64((i+1)*chunk*sockets)); err != nil {
							b.Fatal(err)
						}
					}
					added = !added
				}
				b.StopTimer()
				u1 := takeUsage()
				delivered := float64(b.N * events * sockets)
				if got := tl.n.Load(); got != int64(delivered) {
					b.Fatalf("delivered %d, want %d", got, int64(delivered))
				}
				b.ReportMetric(float64(u1.cpu-u0.cpu)/delivered, "cpu-ns/event")
				b.ReportMetric(float64(u1.mallocs-u0.mallocs)/delivered, "allocs/event")
				b.ReportMetric(float64(u1.csw-u0.csw)/delivered, "csw/event")
			})
		}
	}
}

// BenchmarkUnreadSocketCost measures what a socket costs the process while
// events queue in it and nobody reads it: an nl.Conn (nonblocking, so the
// Go runtime's netpoller has it registered, edge-triggered), an nl.Conn
// made with nl.WithBlocking (not registered) and a raw unix.Socket.
// "none" has no socket and gives the fixed cost of running ip(8), which the
// others subtract: cpu-ns/event is the extra CPU per queued event.
func BenchmarkUnreadSocketCost(b *testing.B) {
	const events = 5000 // 4 MiB of queue: fits an unprivileged 8 MiB buffer
	ns := nstest.New(b)
	added := false
	var noneCPU float64
	for _, kind := range []string{"none", "conn", "blocking", "raw"} {
		b.Run(kind, func(b *testing.B) {
			var fd int
			switch kind {
			case "conn", "blocking":
				opts := []nl.Option{nl.WithReadBuffer(8 << 20)}
				if kind == "blocking" {
					opts = append(opts, nl.WithBlocking())
				}
				// Closed when this sub-benchmark ends, so that it cannot
				// weigh on the next one.
				c := dialMany(b, ns, 1, opts...)[0]
				rc, err := c.SyscallConn()
				if err != nil {
					b.Fatal(err)
				}
				rc.Control(func(f uintptr) { fd = int(f) })
			case "raw":
				fd = rawSockets(b, ns, 1)[0]
				if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20); err != nil {
					b.Fatal(err)
				}
			}
			var cpu time.Duration
			b.StopTimer()
			for range b.N {
				lines := routeLines(map[bool]string{false: "add", true: "del"}[added], 0, events)
				u0 := takeUsage()
				b.StartTimer()
				ns.Batch(lines)
				b.StopTimer()
				cpu += takeUsage().cpu - u0.cpu
				added = !added
				if kind != "none" {
					if n := drainFD(b, fd); n != events {
						b.Fatalf("%d events queued, want %d (overrun?)", n, events)
					}
				}
			}
			perEvent := float64(cpu) / float64(b.N*events)
			if kind == "none" {
				noneCPU = perEvent
			}
			b.ReportMetric(perEvent, "cpu-ns/event-with-ip")
			b.ReportMetric(perEvent-noneCPU, "cpu-ns/event")
		})
	}
}

// drainFD reads everything queued in fd and returns the number of
// datagrams.
func drainFD(b *testing.B, fd int) int {
	buf := make([]byte, 32<<10)
	var from unix.RawSockaddrNetlink
	n := 0
	for {
		_, errno := recvmsgRaw(fd, buf, &from)
		switch errno {
		case 0:
			n++
		case unix.EAGAIN:
			return n
		default:
			b.Fatal(errno)
		}
	}
}

// BenchmarkScaleInterleaved is BenchmarkScale with the variants measured
// in turns within each iteration, so that each one sees the same machine
// conditions: every variant has its own sockets and consumer, running all
// along, but only the variant whose turn it is has its sockets joined to
// RTNLGRP_IPV4_ROUTE while its share of events is made. One metric per
// variant: <variant>-ns/event, the process CPU per delivered event.
func BenchmarkScaleInterleaved(b *testing.B) {
	const events, chunk = 1000, 200
	for _, sockets := range []int{1, 64, 1024} {
		b.Run(fmt.Sprintf("sockets=%d", sockets), func(b *testing.B) {
			ns := nstest.New(b)
			prod := startProducer(b, ns)
			var lines [2][][]string
			for i := 0; i < events; i += chunk {
				lines[0] = append(lines[0], routeLines("add", i, chunk))
				lines[1] = append(lines[1], routeLines("del", i, chunk))
			}
			type variant struct {
				impl scaleImpl
				join func(bool) // joins or leaves the group on every socket
				tl   *tally
				cpu  time.Duration
				stop func()
			}
			var vs []*variant
			for _, impl := range scaleImpls {
				if sockets == 1024 && (impl.name == "poller-rawfd" || impl.name == "group2-blocking") {
					continue // keeps the fd count and setup time down
				}
				v := &variant{impl: impl, tl: newTally()}
				conns, fds := impl.open(b, ns, sockets)
				v.join = func(on bool) {
					for _, c := range conns {
						var err error
						if on {
							err = c.JoinGroup(unix.RTNLGRP_IPV4_ROUTE)
						} else {
							err = c.LeaveGroup(unix.RTNLGRP_IPV4_ROUTE)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					opt := unix.NETLINK_DROP_MEMBERSHIP
					if on {
						opt = unix.NETLINK_ADD_MEMBERSHIP
					}
					for _, fd := range fds {
						if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, opt, unix.RTNLGRP_IPV4_ROUTE); err != nil {
							b.Fatal(err)
						}
					}
				}
				v.join(false)
				v.stop = impl.start(b, conns, fds, v.tl)
				vs = append(vs, v)
			}
			defer func() {
				for _, v := range vs {
					v.stop()
				}
			}()
			ctx := bound(b, 10*time.Minute)
			turn := 0
			b.ResetTimer()
			for i := range b.N {
				// Rotate the order so no variant always follows the same one.
				for k := range vs {
					v := vs[(i+k)%len(vs)]
					v.join(true)
					base := v.tl.n.Load()
					u0 := takeUsage()
					for j, chunkLines := range lines[turn%2] {
						prod.send(b, chunkLines)
						if err := v.tl.waitFor(ctx, base+int64((j+1)*chunk*sockets)); err != nil {
							b.Fatal(err)
						}
					}
					v.cpu += takeUsage().cpu - u0.cpu
					v.join(false)
					turn++
				}
			}
			b.StopTimer()
			for _, v := range vs {
				if got, want := v.tl.n.Load(), int64(b.N*events*sockets); got != want {
					b.Fatalf("%s: delivered %d, want %d", v.impl.name, got, want)
				}
				b.ReportMetric(float64(v.cpu)/float64(b.N*events*sockets), v.impl.name+"-ns/event")
			}
		})
	}
}

// BenchmarkBurstNSID is BurstGrid's drain at the default batch and
// datagram sizes for events from another namespace, heard through
// NETLINK_LISTEN_ALL_NSID, read without and with WithNSID: the cost of
// reading and parsing a control message per datagram. Use -benchtime=Nx.
func BenchmarkBurstNSID(b *testing.B) {
	listener, peer := nstest.New(b), nstest.New(b)
	setNSID(b, listener, peer, 10)
	added := false
	for _, withNSID := range []bool{false, true} {
		b.Run(fmt.Sprintf("nsid=%v", withNSID), func(b *testing.B) {
			c := listener.Dial(nl.WithReadBuffer(64<<20), nl.WithListenAllNSID())
			b.Cleanup(func() { c.Close() })
			if n, err := c.ReadBufferSize(); err != nil || n < burstEvents*eventTruesize {
				b.Skipf("receive buffer %d bytes (%v) cannot hold %d events: needs CAP_NET_ADMIN for SO_RCVBUFFORCE", n, err, burstEvents)
			}
			p, err := poller.New()
			if err != nil {
				b.Fatal(err)
			}
			defer closeAndWait(b, p)
			var opts []poller.AddOption
			if withNSID {
				opts = append(opts, poller.WithNSID())
			}
			tl := newTally()
			var msgs, tagged uint64
			handler := func(bt *poller.Batch) {
				msgs += uint64(len(bt.Messages))
				for i := range bt.Messages {
					if bt.NSID(i) == 10 {
						tagged++
					}
				}
				tl.add(len(bt.Messages))
			}
			var total uint64
			var cpu time.Duration
			var mallocs uint64
			b.StopTimer()
			for range b.N {
				verb := "add"
				if added {
					verb = "del"
				}
				if err := c.JoinGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
					b.Fatal(err)
				}
				peer.Batch(routeLines(verb, 0, burstEvents))
				added = !added
				if err := c.LeaveGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
					b.Fatal(err)
				}
				msgs, tagged = 0, 0
				tl.n.Store(0)
				u0 := takeUsage()
				b.StartTimer()
				r, err := p.Add(c, handler, opts...)
				if err != nil {
					b.Fatal(err)
				}
				if err := tl.waitFor(bound(b, time.Minute), burstEvents); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				u1 := takeUsage()
				if err := r.Remove(); err != nil {
					b.Fatal(err)
				}
				<-r.Done()
				if wantTagged := map[bool]uint64{false: 0, true: burstEvents}[withNSID]; msgs != burstEvents || tagged != wantTagged {
					b.Fatalf("drained %d messages, %d tagged; want %d, %d", msgs, tagged, burstEvents, wantTagged)
				}
				total += msgs
				cpu += u1.cpu - u0.cpu
				mallocs += u1.mallocs - u0.mallocs
			}
			b.ReportMetric(float64(cpu)/float64(total), "cpu-ns/msg")
			b.ReportMetric(float64(mallocs)/float64(total), "allocs/msg")
		})
	}
}
