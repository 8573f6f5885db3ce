//go:build linux

package poller_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/poller"
)

// The edges of the poller's promises: Segments' runs, a Group's size and
// balance, the registration of a raw fd. Each test failed on a mutant of
// the package that the other tests let live (bench/MUTATION.md).

// Segments never hands fn an empty run: not before an event at the start,
// nor between two events at one position, nor after a last event.
func TestSegmentsHasNoEmptyRun(t *testing.T) {
	ms := make([]nl.Message, 3)
	for i := range ms {
		ms[i].Header.Seq = uint32(i)
	}
	for _, tc := range []struct {
		at   []int
		want string
	}{
		{nil, "[0 1 2]"},
		{[]int{0}, "ev [0 1 2]"},
		{[]int{0, 0, 2, 2}, "ev ev [0 1] ev ev [2]"},
		{[]int{1, 3}, "[0] ev [1 2] ev"},
		{[]int{3, 3}, "[0 1 2] ev ev"},
	} {
		b := poller.Batch{Messages: ms}
		for _, at := range tc.at {
			b.Events = append(b.Events, poller.Event{At: at, Kind: poller.Overrun})
		}
		got := ""
		b.Segments(func(run []nl.Message, ev *poller.Event) {
			if got != "" {
				got += " "
			}
			if ev != nil {
				got += "ev"
				return
			}
			seqs := make([]uint32, len(run))
			for i, m := range run {
				seqs[i] = m.Header.Seq
			}
			got += fmt.Sprint(seqs)
		})
		if got != tc.want {
			t.Errorf("events at %v: %q, want %q", tc.at, got, tc.want)
		}
	}
}

// NewGroup starts n pollers, GOMAXPROCS of them for n ≤ 0, and Add spreads
// sockets evenly over them.
func TestGroupSizeAndBalance(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tc := range []struct{ n, want int }{{0, runtime.GOMAXPROCS(0)}, {-1, runtime.GOMAXPROCS(0)}, {3, 3}} {
		g, err := poller.NewGroup(ctx, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(g.Pollers()); got != tc.want {
			t.Errorf("NewGroup(%d): %d pollers, want %d", tc.n, got, tc.want)
		}
		g.Close()
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
	}

	const pollers, each = 4, 3
	g, err := poller.NewGroup(ctx, pollers)
	if err != nil {
		t.Fatal(err)
	}
	var regs []*poller.Registration
	for range pollers * each {
		c, _ := fakeConn(t)
		r, err := g.Add(c, func(*poller.Batch) {})
		if err != nil {
			t.Fatal(err)
		}
		regs = append(regs, r)
	}
	for i, p := range g.Pollers() {
		if n := p.Len(); n != each {
			t.Errorf("poller %d has %d registrations, want %d: Add must pick the least loaded", i, n, each)
		}
	}
	// Removing from one poller makes it the one the next Add picks.
	if err := regs[0].Remove(); err != nil {
		t.Fatal(err)
	}
	c, _ := fakeConn(t)
	r, err := g.Add(c, func(*poller.Batch) {})
	if err != nil {
		t.Fatal(err)
	}
	if r.Poller() != regs[0].Poller() {
		t.Error("Add after a Remove did not pick the poller that had one registration fewer")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v, want os.ErrClosed", err)
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// rawSocket returns a netlink socket the test opened itself, as AddFD
// takes, and closes it when the test ends.
func rawSocket(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// A registration made with AddFD can be removed, and the fd is the
// caller's to close afterwards. Socket descriptor 0 is as good as any
// other (a daemon that closed its stdin gets it for its next socket).
func TestAddFDRegistrationsCanBeRemoved(t *testing.T) {
	leakCheck(t)
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	fd := rawSocket(t)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 4)
	r, err := p.AddFD(fd, func(b *poller.Batch) { got <- len(b.Messages) }, poller.WithAnySender())
	if err != nil {
		t.Fatal(err)
	}
	// A datagram from another user-space socket: the poller reads the fd.
	from := rawSocket(t)
	if err := unix.Sendto(from, forged(16), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: sa.(*unix.SockaddrNetlink).Pid}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != 1 {
			t.Fatalf("the handler got %d messages, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing read from the AddFD socket")
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, r.Done(), 10*time.Second, "Done after removing an AddFD registration")
	if p.Len() != 0 {
		t.Fatalf("Len = %d after Remove", p.Len())
	}

	// fd 0: this process's stdin, moved aside for the test (or, if the
	// process has none, free already).
	stdin, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 3)
	switch {
	case err == unix.EBADF:
		defer unix.Close(0)
	case err != nil:
		t.Fatal("moving stdin aside:", err)
	default:
		defer func() {
			unix.Dup3(stdin, 0, 0)
			unix.Close(stdin)
		}()
	}
	if err := unix.Dup3(fd, 0, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, err = p.AddFD(0, func(*poller.Batch) {})
	if err != nil {
		t.Fatalf("AddFD(0) of a netlink socket: %v", err)
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, r.Done(), 10*time.Second, "Done after removing fd 0")
}

// A loop counts its wake-ups, and an idle loop sleeps until something
// happens, in both ways of waiting: it does not wake (and count a Wakeup)
// while nothing is ready. The 100 ms
// are the window observed, not a synchronisation.
func TestIdleLoopDoesNotWake(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			p, err := poller.New(mode.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAndWait(t, p)
			barrier(t, p) // the loop has run a round's handler
			// The round publishes its counters once it has served every
			// socket, after the handler barrier waited for: wait for it.
			before := p.Stats().Wakeups
			for deadline := time.Now().Add(10 * time.Second); before == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
				before = p.Stats().Wakeups
			}
			if before == 0 || before > 10 {
				t.Fatalf("Stats.Wakeups = %d after the loop woke for one event", before)
			}
			time.Sleep(100 * time.Millisecond)
			if n := p.Stats().Wakeups - before; n > 1 {
				t.Fatalf("an idle poller woke %d times in 100 ms", n)
			}
		})
	}
}

// epollFDs returns the epoll descriptors the process has open.
func epollFDs(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := make(map[string]bool)
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:[eventpoll]" {
			fds[e.Name()] = true
		}
	}
	return fds
}

// threadsWaitingIn counts the threads blocked in epoll_wait on one of fds
// (/proc/self/task/*/syscall: the syscall number, then its arguments).
func threadsWaitingIn(t *testing.T, fds map[string]bool) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/syscall")
		if err != nil {
			continue // the thread has exited
		}
		var nr int
		var arg0 uint64
		if _, err := fmt.Sscanf(string(b), "%d 0x%x", &nr, &arg0); err != nil {
			continue // running
		}
		if (nr == unix.SYS_EPOLL_WAIT || nr == unix.SYS_EPOLL_PWAIT) && fds[fmt.Sprint(arg0)] {
			n++
		}
	}
	return n
}

// An idle poller parks its loop in the Go runtime's netpoller and holds no
// thread; with WithDedicatedThread each loop holds one, blocked in
// epoll_wait on the poller's epoll instance.
func TestOnlyADedicatedThreadLoopHoldsAThread(t *testing.T) {
	if _, err := os.ReadFile("/proc/self/task/" + fmt.Sprint(unix.Gettid()) + "/syscall"); err != nil {
		t.Skip("needs /proc/PID/task/TID/syscall (a kernel with CONFIG_HAVE_ARCH_TRACEHOOK, and ptrace access to this process):", err)
	}
	const n = 6
	start := func(opts ...poller.Option) map[string]bool {
		before := epollFDs(t)
		for range n {
			p, err := poller.New(opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeAndWait(t, p) })
			barrier(t, p) // its loop has run and gone back to waiting
		}
		fds := make(map[string]bool)
		for fd := range epollFDs(t) {
			if !before[fd] {
				fds[fd] = true
			}
		}
		if len(fds) != n {
			t.Fatalf("%d new epoll descriptors for %d pollers", len(fds), n)
		}
		return fds
	}
	parked := start()
	k := n
	for range 5 { // a loop finishing its round may be in a non-blocking epoll_wait
		k = min(k, threadsWaitingIn(t, parked))
	}
	if k != 0 {
		t.Fatalf("%d threads blocked in epoll_wait on %d idle default pollers, want 0: the loop must park in the netpoller", k, n)
	}
	dedicated := start(poller.WithDedicatedThread())
	deadline := time.Now().Add(10 * time.Second)
	for threadsWaitingIn(t, dedicated) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d dedicated-thread pollers have a thread in epoll_wait after 10 s", threadsWaitingIn(t, dedicated), n)
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded above
	}
}

// A datagram that fills the buffer exactly is whole; after one that did
// not fit, the buffers grow so that the next of that size fits, whatever
// its size (12 KiB here, a whole number of pages).
func TestDatagramsAtTheBufferSize(t *testing.T) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(poller.WithDatagramSize(poller.MinDatagramSize))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	type seen struct {
		sizes  []int
		events []poller.EventKind
	}
	got := make(chan seen, 16)
	r, err := p.Add(c, func(b *poller.Batch) {
		var s seen
		for _, m := range b.Messages {
			s.sizes = append(s.sizes, nl.HeaderLen+len(m.Data))
		}
		for _, ev := range b.Events {
			s.events = append(s.events, ev.Kind)
		}
		got <- s
	})
	if err != nil {
		t.Fatal(err)
	}
	datagram := func(size int) nltest.Datagram {
		return nltest.Datagram{Raw: nl.AppendMessage(nil, nl.Message{Header: nl.Header{Type: 0x70}, Data: make([]byte, size-nl.HeaderLen)})}
	}
	const exact, big = poller.MinDatagramSize, 12 << 10
	var sizes []int
	var events []poller.EventKind
	timeout := time.After(10 * time.Second)
	collect := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case s := <-got:
				sizes = append(sizes, s.sizes...)
				events = append(events, s.events...)
			case <-timeout:
				t.Fatalf("after 10 s, waiting for %s: messages of %v bytes, events %v", what, sizes, events)
			}
		}
	}
	if err := k.Inject(datagram(exact), datagram(big)); err != nil {
		t.Fatal(err)
	}
	// Datagrams read by the same recvmmsg as the one cut short are cut
	// with it: the buffers grow once its batch is delivered.
	collect("the truncation", func() bool { return len(events) > 0 })
	if err := k.Inject(datagram(big), event(7)); err != nil {
		t.Fatal(err)
	}
	collect("the second datagrams", func() bool { return len(sizes) >= 3 })
	if fmt.Sprint(sizes) != fmt.Sprint([]int{exact, big, 20}) || fmt.Sprint(events) != fmt.Sprint([]poller.EventKind{poller.Truncated}) {
		t.Fatalf("messages of %v bytes, events %v; want %d, %d and 20 bytes and one truncation (the first %d-byte datagram)",
			sizes, events, exact, big, big)
	}
	if st := r.Stats(); st.Truncations != 1 || st.Datagrams != 4 {
		t.Fatalf("stats %+v: want 4 datagrams, 1 truncated", st)
	}
}

// Grown buffers keep batching: the datagrams queued after a truncation
// are read by one recvmmsg, not one each (the arena keeps its total size
// with fewer, larger slots, but more than one).
func TestGrownBuffersStillBatch(t *testing.T) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(poller.WithDatagramSize(poller.MinDatagramSize))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	truncated := make(chan struct{})
	release := make(chan struct{})
	got := make(chan int, 16)
	first := true
	r, err := p.Add(c, func(b *poller.Batch) {
		if first && len(b.Events) > 0 && b.Events[0].Kind == poller.Truncated {
			first = false
			close(truncated)
			select { // the queue fills while the handler holds the loop
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		got <- len(b.Messages)
	})
	if err != nil {
		t.Fatal(err)
	}
	big := nltest.Datagram{Raw: nl.AppendMessage(nil, nl.Message{Header: nl.Header{Type: 0x70}, Data: make([]byte, 12<<10)})}
	if err := k.Inject(big); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, truncated, 10*time.Second, "the truncation")
	const n = 8 // within the fake socket's queue of 10
	for i := range n {
		if err := k.Inject(event(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := r.Stats().Syscalls
	close(release)
	for seen := 0; seen < n; {
		select {
		case m := <-got:
			seen += m
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d events after the truncation", seen, n)
		}
	}
	if calls := r.Stats().Syscalls - before; calls > 2 {
		t.Fatalf("%d receive syscalls for %d queued datagrams after the buffers grew, want 1 (2 at most)", calls, n)
	}
}

// Adding a Conn that is already closed fails, and registers nothing.
func TestAddRejectsAClosedConn(t *testing.T) {
	leakCheck(t)
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	c, _ := fakeConn(t)
	c.Close()
	if r, err := p.Add(c, func(*poller.Batch) {}); err == nil || r != nil {
		t.Fatalf("Add of a closed Conn: %v, %v; want an error", r, err)
	}
	if p.Len() != 0 {
		t.Fatalf("Len = %d after a failed Add", p.Len())
	}
}
