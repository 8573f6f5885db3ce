//go:build linux

package cnproc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/cnproc"
	"github.com/nlrx/nlrx/operators"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

const wait = 10 * time.Second // bound on any single wait in these tests

// needInitialNamespaces skips unless the test runs as root in the initial
// user namespace, where the kernel takes subscriptions.
func needInitialNamespaces(t *testing.T) {
	t.Helper()
	if nstest.InUserNS() || os.Geteuid() != 0 {
		t.Skip("process events need root (CAP_NET_ADMIN) in the initial user and PID namespaces: the kernel ignores subscriptions from elsewhere, and the connector lives in the initial network namespace")
	}
}

// recorder keeps the whole machine's process events as the stream
// delivers them (the subscriber runs on the poller's goroutine); a test
// picks its child's by pid.
type recorder struct {
	mu     sync.Mutex
	events []cnproc.Event
	acks   []cnproc.Event
	gaps   []error
	change chan struct{}
}

func (r *recorder) next(e cnproc.Event) error {
	r.mu.Lock()
	if e.What == cnproc.WhatNone {
		r.acks = append(r.acks, e)
	} else {
		r.events = append(r.events, e)
	}
	r.mu.Unlock()
	select {
	case r.change <- struct{}{}:
	default:
	}
	return nil
}

// until waits, bounded, for ok to hold over the recorder's state.
func (r *recorder) until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		done := ok()
		r.mu.Unlock()
		if done {
			return
		}
		select {
		case <-r.change:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no %s within %v; saw %d events (gaps: %v)", what, wait, len(r.events), r.gaps)
		}
	}
}

func subscribe(t *testing.T, events cnproc.What) (*recorder, *nl.Conn, uint32) {
	t.Helper()
	needInitialNamespaces(t)
	c, err := cnproc.Dial(nl.WithReadBuffer(8 << 20))
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EPROTONOSUPPORT) {
			t.Skipf("NETLINK_CONNECTOR process events: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Framing() != nl.FramingConnector {
		t.Fatalf("connector socket framing = %v", c.Framing())
	}
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	pub := stream.NewPublisher[nl.Message]()
	reg, err := p.Add(c, stream.PollerHandler(pub))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{change: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- operators.Decode(pub.Observable(), cnproc.Decode).Subscribe(ctx, stream.ObserverFuncs[cnproc.Event]{
			OnNext: rec.next,
			OnGap: func(g stream.Gap) error {
				rec.mu.Lock()
				rec.gaps = append(rec.gaps, g)
				rec.mu.Unlock()
				return nil
			},
		})
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), wait)
	defer wcancel()
	if err := pub.WaitSubscribers(wctx, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		reg.Remove()
		<-reg.Done()
		p.Close()
		<-p.Done()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("event stream: %v", err)
		}
	})
	ack, err := cnproc.Listen(c, events)
	if err != nil {
		t.Fatal(err)
	}
	return rec, c, ack
}

// runChild starts the test binary as the child (see child) and waits for
// it; it returns its pid and exit code as the parent's wait(2) saw them.
func runChild(t *testing.T) (pid uint32, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return uint32(cmd.Process.Pid), cmd.ProcessState.ExitCode()
}

func TestEventsOfAChildProcess(t *testing.T) {
	rec, _, ack := subscribe(t, 0)
	rec.until(t, "acknowledgement of the subscription", func() bool {
		for _, a := range rec.acks {
			if a.Acknowledges(ack) {
				if err := a.AckErr(); err != nil {
					t.Fatalf("subscription acknowledged with %v", err)
				}
				return true
			}
		}
		return false
	})

	pid, code := runChild(t)
	if code != 7 {
		t.Fatalf("child exited with %d, want 7 (its steps failed from 100 up)", code)
	}
	of := rec.of(pid)
	rec.waitExit(t, pid)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	self := uint32(os.Getpid())
	// The child's own threads are forks too (PID ≠ TGID), from the same
	// parent as the process.
	forks := 0
	for _, f := range of(cnproc.WhatFork) {
		if f.ParentTGID != self {
			t.Errorf("fork %v, want the parent %d", f, self)
		}
		if f.PID == pid {
			forks++
		}
	}
	if forks != 1 {
		t.Errorf("%d forks of process %d in %v, want 1", forks, pid, of(cnproc.WhatFork))
	}
	if x := of(cnproc.WhatExec); len(x) != 1 || x[0].PID != pid {
		t.Errorf("exec events %v, want one of %d", x, pid)
	}
	if c := of(cnproc.WhatComm); len(c) == 0 || c[0].Comm != "nlrx-child" {
		t.Errorf("comm events %v, want the child's new name nlrx-child", c)
	}
	if s := of(cnproc.WhatSID); len(s) != 1 || s[0].PID != pid {
		t.Errorf("sid events %v, want one of %d", s, pid)
	}
	for _, w := range []cnproc.What{cnproc.WhatGID, cnproc.WhatUID} {
		ids := of(w)
		if len(ids) == 0 {
			t.Errorf("no %s event", w)
		}
		for _, e := range ids {
			if e.Real != 65534 || e.Effective != 65534 {
				t.Errorf("%v, want real and effective 65534", e)
			}
		}
	}
	leader := rec.leaderExit(pid)
	if !leader.Exited() || leader.ExitStatus() != code || leader.Signal() != 0 || leader.CoreDumped() {
		t.Errorf("exit %v: exited %v status %d, want exit status %d as wait(2) saw", leader, leader.Exited(), leader.ExitStatus(), code)
	}
	if leader.ExitSignal != uint32(unix.SIGCHLD) || leader.ParentTGID != self {
		t.Errorf("exit %v: signal %d parent %d, want SIGCHLD to %d", leader, leader.ExitSignal, leader.ParentTGID, self)
	}
	// In kernel order, the main thread's events: fork, exec, …, exit.
	var main []cnproc.What
	for _, e := range rec.events {
		if e.PID == pid && (e.What != cnproc.WhatFork || e.TGID == pid) {
			main = append(main, e.What)
		}
	}
	if len(main) < 3 || main[0] != cnproc.WhatFork || main[1] != cnproc.WhatExec || main[len(main)-1] != cnproc.WhatExit {
		t.Errorf("events of the child's main thread %v, want fork, exec, …, exit", main)
	}
}

// of returns a lookup of the events of kind w of process pid; call it
// with rec.mu held.
func (r *recorder) of(pid uint32) func(cnproc.What) []cnproc.Event {
	return func(w cnproc.What) []cnproc.Event {
		var out []cnproc.Event
		for _, e := range r.events {
			if e.What == w && e.TGID == pid {
				out = append(out, e)
			}
		}
		return out
	}
}

// leaderExit returns the exit event of pid's main thread; call it with
// rec.mu held, after waitExit.
func (r *recorder) leaderExit(pid uint32) *cnproc.Event {
	for i := range r.events {
		if e := &r.events[i]; e.What == cnproc.WhatExit && e.PID == pid {
			return e
		}
	}
	return nil
}

func (r *recorder) waitExit(t *testing.T, pid uint32) {
	t.Helper()
	r.until(t, "exit of the child's main thread", func() bool { return r.leaderExit(pid) != nil })
}

// TestListenFilterDeliversOnlyTheKindsAsked subscribes to exits only: the
// kernel then filters every other kind, of every process, and the child's
// exit still arrives with its code.
func TestListenFilterDeliversOnlyTheKindsAsked(t *testing.T) {
	rec, _, _ := subscribe(t, cnproc.WhatExit)
	// The connector runs the subscription during the send: it is in place.
	pid, code := runChild(t)
	rec.waitExit(t, pid)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if e := rec.leaderExit(pid); e.ExitStatus() != code {
		t.Errorf("exit %v: status %d, want %d", e, e.ExitStatus(), code)
	}
	// The socket is in the group from Dial on, and the filter applies
	// from Listen on: what other processes did in between arrives
	// unfiltered. The child started after Listen.
	for _, e := range rec.events {
		if e.What != cnproc.WhatExit && e.TGID == pid {
			t.Fatalf("a filter of exits delivered %v", e)
		}
	}
}

// TestConnectorMessagesAreNotTheEndOfAReply reads a process events socket
// with the calls that stop at NLMSG_DONE on other protocols:
// ReceiveAndDecode, and FromReceive through TakeUntilDone. Every connector
// message has the type DONE; none is an error or an end here.
func TestConnectorMessagesAreNotTheEndOfAReply(t *testing.T) {
	needInitialNamespaces(t)
	c, err := cnproc.Dial(nl.WithReadBuffer(8 << 20))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ack, err := cnproc.Listen(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	for acked := false; !acked; {
		ms, err := c.ReceiveAndDecode(ctx)
		if err != nil {
			t.Fatalf("ReceiveAndDecode on a connector socket: %v", err)
		}
		for _, m := range ms {
			if m.Header.Type != nl.TypeDone {
				t.Fatalf("connector message of type %d", m.Header.Type)
			}
			e, err := cnproc.Decode(m)
			if err != nil {
				t.Fatal(err)
			}
			acked = acked || e.Acknowledges(ack)
		}
	}

	// A stream of raw messages from the same socket: TakeUntilDone, told
	// the framing, lets DONE through, and the child's exit arrives.
	src := operators.TakeUntilDone(stream.FromReceive(c), operators.WithFraming(c.Framing()))
	// The child's pid is known once it has been waited for; a second
	// child then makes events behind its exit, so the stream reads on to
	// where the pid is known.
	pid := make(chan uint32, 1)
	go func() {
		p, _ := runChildQuiet()
		pid <- p
		runChildQuiet()
	}()
	var child uint32
	exited := map[uint32]bool{}
	n := 0
	err = operators.Decode(src, cnproc.Decode).Subscribe(ctx, stream.ObserverFuncs[cnproc.Event]{
		OnNext: func(e cnproc.Event) error {
			n++
			if e.What == cnproc.WhatExit && e.PID == e.TGID {
				exited[e.PID] = true
			}
			if child == 0 {
				select {
				case child = <-pid:
				default:
				}
			}
			if child != 0 && exited[child] {
				return stream.ErrStop
			}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("stream ended after %d events with %v, want the child's exit", n, err)
	}
}

// runChildQuiet is runChild for a goroutine: no test calls.
func runChildQuiet() (uint32, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	err := cmd.Wait()
	return uint32(cmd.Process.Pid), err
}

// TestWriteFuzzCorpus records the kernel's messages for a child's life
// (the acknowledgement, fork, exec, comm, sid, gid, uid and exit) as
// FuzzParse's seed corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	needInitialNamespaces(t)
	c, err := cnproc.Dial(nl.WithReadBuffer(8 << 20))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := cnproc.Listen(c, 0); err != nil {
		t.Fatal(err)
	}
	pid, _ := runChild(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kinds := map[cnproc.What]bool{}
	_, err = c.Drain(func(m nl.Message) {
		e, err := cnproc.Decode(m)
		if err != nil || kinds[e.What] || (e.TGID != pid && e.What != cnproc.WhatNone) {
			return
		}
		kinds[e.What] = true
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m.Data)
		if err := os.WriteFile(filepath.Join(dir, "kernel-"+e.What.String()), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeds of %d kinds", len(kinds))
}
