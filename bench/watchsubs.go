package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	mdl "github.com/mdlayher/netlink"
	"github.com/nlrx/nlrx/nl"
	vish "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// watchSub is one subscriber of the watch scenario. open runs in the child
// process: it subscribes inside the namespace at nsPath and returns the
// effective receive buffer (0 if unknown) and the receive loop, which
// counts into st until the process exits. open == nil means `ip monitor`.
type watchSub struct {
	name   string
	api    string
	floor  string
	rcvbuf int
	// rcvbufText describes the buffer where the subscriber sets its own
	// or hides it ("asked → effective"); empty: from rcvbuf and the child.
	rcvbufText string
	open       func(nsPath string, rcvbuf int, st *subState) (effective int, loop func(), err error)
}

// subState is what a subscriber's loop reports.
type subState struct {
	events   atomic.Int64
	overruns atomic.Int64
	dead     atomic.Bool
	mu       sync.Mutex
	deadErr  error
}

func (st *subState) die(err error) {
	st.mu.Lock()
	st.deadErr = err
	st.mu.Unlock()
	st.dead.Store(true)
}

// watchSubs lists the subscribers in table order; the first is the floor.
// A new nlrx variant (a poller-based reader, a route watcher) is one more
// entry, appended from its own file with addWatchSub.
var watchSubs = []watchSub{
	{name: "raw", api: "x/sys/unix blocking recvfrom loop, 64 KiB buffer, headers walked", rcvbuf: bigRcvbuf, open: openRawSub},
	{name: "raw-default", api: "the same, default receive buffer", floor: "raw", open: openRawSub},
	{name: "raw-mmsg", api: "x/sys/unix blocking recvmmsg(MSG_WAITFORONE), 64 × 8 KiB", floor: "raw", rcvbuf: bigRcvbuf, open: openRawMmsgSub},
	{name: "nlrx-conn", api: "nl.DialRoute(WithGroups(RTNLGRP_IPV4_ROUTE), WithReadBuffer(32 MiB)), Receive loop", floor: "raw", rcvbuf: bigRcvbuf, open: openNlrxConnSub},
	{name: "nlrx-conn-default", api: "the same without WithReadBuffer", floor: "raw", open: openNlrxConnSub},
	{name: "vish-default", api: "vishvananda/netlink RouteSubscribeWithOptions, default options", floor: "raw", open: openVishSub, rcvbufText: "default → 208 KiB (not readable through the API)"},
	{name: "vish-32M", api: "RouteSubscribeWithOptions, ReceiveBufferSize 32 MiB, ReceiveBufferForceSize", floor: "raw", rcvbuf: bigRcvbuf, open: openVishSub, rcvbufText: "32 MiB, SO_RCVBUFFORCE as root (not readable through the API)"},
	{name: "mdl-default", api: "mdlayher/netlink Dial + JoinGroup(RTNLGRP_IPV4_ROUTE), Receive loop, reads on after ENOBUFS", floor: "raw", open: openMdlSub},
	{name: "mdl-32M", api: "the same with SetReadBuffer(32 MiB)", floor: "raw", rcvbuf: bigRcvbuf, open: openMdlSub},
	{name: "ip-monitor", api: "ip -4 monitor route (iproute2), a process; lines counted", floor: "raw", rcvbufText: "1 MiB (set by ip) → 2 MiB (strace in go-peers.md)"},
}

// addWatchSub appends a subscriber before ip-monitor (which stays last).
func addWatchSub(s watchSub) {
	last := watchSubs[len(watchSubs)-1]
	watchSubs = append(watchSubs[:len(watchSubs)-1], s, last)
}

// countMsgs counts the messages of any type in a datagram.
func countMsgs(b []byte) (n int) {
	_ = walkMessages(b, func(rawMsg) error { n++; return nil })
	return n
}

// countRouteMsgs counts the RTM_NEWROUTE messages in a datagram.
func countRouteMsgs(b []byte) (n int64) {
	_ = walkMessages(b, func(m rawMsg) error {
		if m.typ == unix.RTM_NEWROUTE {
			n++
		}
		return nil
	})
	return n
}

func openRawIn(nsPath string, rcvbuf int) (*rawSocket, int, error) {
	h, err := nl.OpenNetNS(nsPath)
	if err != nil {
		return nil, 0, err
	}
	defer h.Close()
	var s *rawSocket
	err = h.Do(func() error {
		var err error
		s, err = openRawSocket(unix.RTMGRP_IPV4_ROUTE)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	eff, err := s.setReadBuffer(rcvbuf)
	if err != nil {
		s.close()
		return nil, 0, err
	}
	return s, eff, nil
}

func openRawSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	s, eff, err := openRawIn(nsPath, rcvbuf)
	if err != nil {
		return 0, nil, err
	}
	return eff, func() {
		for {
			n, err := s.recv()
			if errors.Is(err, unix.ENOBUFS) {
				st.overruns.Add(1)
				continue
			}
			if err != nil {
				st.die(err)
				return
			}
			st.events.Add(countRouteMsgs(s.buf[:n]))
		}
	}, nil
}

func openRawMmsgSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	s, eff, err := openRawIn(nsPath, rcvbuf)
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
				st.events.Add(countRouteMsgs(bufs[i*size : i*size+int(hdrs[i].Len)]))
			}
		}
	}, nil
}

func openNlrxConnSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	opts := []nl.Option{nl.WithNetNS(nsPath), nl.WithGroups(unix.RTNLGRP_IPV4_ROUTE)}
	if rcvbuf > 0 {
		opts = append(opts, nl.WithReadBuffer(rcvbuf))
	}
	c, err := nl.DialRoute(opts...)
	if err != nil {
		return 0, nil, err
	}
	eff, _ := c.ReadBufferSize()
	return eff, func() {
		for {
			ms, err := c.Receive()
			if errors.Is(err, unix.ENOBUFS) {
				st.overruns.Add(1)
				continue
			}
			if err != nil {
				st.die(err)
				return
			}
			for _, m := range ms {
				if m.Header.Type == unix.RTM_NEWROUTE {
					st.events.Add(1)
				}
			}
		}
	}, nil
}

func openVishSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	h, err := netns.GetFromPath(nsPath)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan vish.RouteUpdate, 1024)
	done := make(chan struct{})
	opts := vish.RouteSubscribeOptions{
		Namespace: &h,
		ErrorCallback: func(err error) {
			// v1.3.1 formats errors with %v: the errno is only in the text.
			if strings.Contains(err.Error(), unix.ENOBUFS.Error()) {
				st.overruns.Add(1)
			}
			st.mu.Lock()
			st.deadErr = err
			st.mu.Unlock()
		},
	}
	if rcvbuf > 0 {
		opts.ReceiveBufferSize = rcvbuf
		opts.ReceiveBufferForceSize = !inUserNS()
	}
	if err := vish.RouteSubscribeWithOptions(ch, done, opts); err != nil {
		return 0, nil, err
	}
	return 0, func() {
		for u := range ch {
			// It joins the IPv6 route group too; count what the others see.
			if u.Type == unix.RTM_NEWROUTE && u.Family == vish.FAMILY_V4 {
				st.events.Add(1)
			}
		}
		st.mu.Lock()
		err := st.deadErr
		st.mu.Unlock()
		st.die(fmt.Errorf("channel closed: %v", err))
	}, nil
}

func openMdlSub(nsPath string, rcvbuf int, st *subState) (int, func(), error) {
	f, err := os.Open(nsPath)
	if err != nil {
		return 0, nil, err
	}
	c, err := mdl.Dial(unix.NETLINK_ROUTE, &mdl.Config{NetNS: int(f.Fd())})
	f.Close()
	if err != nil {
		return 0, nil, err
	}
	if err := c.JoinGroup(unix.RTNLGRP_IPV4_ROUTE); err != nil {
		return 0, nil, err
	}
	if rcvbuf > 0 {
		if err := c.SetReadBuffer(rcvbuf); err != nil {
			return 0, nil, err
		}
	}
	eff, _ := c.ReadBuffer()
	return eff, func() {
		for {
			ms, err := c.Receive()
			if errors.Is(err, unix.ENOBUFS) {
				st.overruns.Add(1)
				continue
			}
			if err != nil {
				st.die(err)
				return
			}
			for _, m := range ms {
				if m.Header.Type == unix.RTM_NEWROUTE {
					st.events.Add(1)
				}
			}
		}
	}, nil
}

// childWatch is the subscriber process of the watch scenario.
func childWatch() int {
	name := os.Getenv(envWatchSub)
	sub := lookupSub(name) // the watch scenario's subscribers, or the conntrack scenario's
	if sub == nil {
		fmt.Fprintf(os.Stderr, "no subscriber %q\n", name)
		return 2
	}
	n, _ := strconv.ParseInt(os.Getenv(envWatchN), 10, 64)
	rcvbuf, _ := strconv.Atoi(os.Getenv(envWatchRcvbuf))
	idleMs, _ := strconv.Atoi(os.Getenv(envWatchIdle))
	st := &subState{}
	eff, loop, err := sub.open(childNSPath, rcvbuf, st)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: subscribing: %v\n", name, err)
		return 1
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := rusageSelf()
	go loop()
	fmt.Printf("ready %d\n", eff)
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintf(os.Stderr, "%s: waiting for done: %v\n", name, err)
		return 1
	}
	var queued func() int64
	if h, err := nl.OpenNetNS(childNSPath); err == nil {
		defer h.Close()
		queued = func() int64 {
			q, err := queuedEventBytes(h)
			if err != nil {
				return 0
			}
			return q
		}
	}
	waitQuiet(st.events.Load, n, time.Duration(idleMs)*time.Millisecond, st.dead.Load, queued)
	u1, s1 := rusageSelf()
	runtime.ReadMemStats(&m1)
	r := watchChildResult{
		Events:   st.events.Load(),
		Overruns: st.overruns.Load(),
		Dead:     st.dead.Load(),
		CPUms:    ms(u1 - u0 + s1 - s0),
		Allocs:   m1.Mallocs - m0.Mallocs,
		Bytes:    m1.TotalAlloc - m0.TotalAlloc,
	}
	if r.Dead {
		st.mu.Lock()
		r.DeadErr = fmt.Sprint(st.deadErr)
		st.mu.Unlock()
	}
	b, _ := json.Marshal(r)
	fmt.Printf("%s\n", b)
	return 0
}
