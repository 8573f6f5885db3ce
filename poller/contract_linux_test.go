//go:build linux

package poller_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"github.com/nlrx/nlrx/poller"
)

// The tests in this file hold the poller to its concurrency contract
// (package documentation), on fake-kernel sockets (nltest), which need no
// privilege and deliver exactly what is injected.

// modes are the two ways a loop waits.
var modes = []struct {
	name string
	opts []poller.Option
}{
	{"goroutine", nil},
	{"dedicated-thread", []poller.Option{poller.WithDedicatedThread()}},
}

// fakeConn returns a fake-kernel Conn and its kernel, closed when the test
// ends.
func fakeConn(t *testing.T) (*nl.Conn, *nltest.Kernel) {
	t.Helper()
	c, k, err := nltest.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		k.Close()
	})
	return c, k
}

// event is a datagram holding one message whose payload is the number i.
func event(i int) nltest.Datagram {
	return nltest.Datagram{Messages: []nl.Message{{Header: nl.Header{Type: 0x70}, Data: []byte{byte(i), byte(i >> 8), 0, 0}}}}
}

func eventNumber(m nl.Message) int { return int(m.Data[0]) | int(m.Data[1])<<8 }

// waitClosed fails the test unless ch is closed within d.
func waitClosed(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
	}
}

// barrier returns once p's loop has served a socket registered after this
// call began: what was queued before on p's other sockets has had its turn.
func barrier(t *testing.T, p *poller.Poller) {
	t.Helper()
	c, k := fakeConn(t)
	served := make(chan struct{})
	var once sync.Once
	r, err := p.Add(c, func(b *poller.Batch) {
		if len(b.Messages) > 0 {
			once.Do(func() { close(served) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Remove()
	if err := k.Inject(event(0)); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, served, 10*time.Second, "a round of the loop")
}

// returnsPromptly runs fn and fails the test if it has not returned within
// a bound: the failure mode of a call that waits for a handler.
func returnsPromptly(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return within 10 s: it waits for a handler", what)
		return nil
	}
}

func TestFakeKernelFeedsThePoller(t *testing.T) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(poller.WithDatagramSize(poller.MinDatagramSize))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	type seen struct {
		numbers []int
		events  []poller.EventKind
	}
	got := make(chan seen, 16)
	r, err := p.Add(c, func(b *poller.Batch) {
		var s seen
		for _, m := range b.Messages {
			s.numbers = append(s.numbers, eventNumber(m))
		}
		for _, ev := range b.Events {
			s.events = append(s.events, ev.Kind)
		}
		got <- s
	})
	if err != nil {
		t.Fatal(err)
	}
	spoofed := event(99)
	spoofed.Sender = 1234
	big := nltest.Datagram{Raw: nl.AppendMessage(nil, nl.Message{Header: nl.Header{Type: 0x70}, Data: make([]byte, 2*poller.MinDatagramSize)})}
	if err := k.Inject(event(1), spoofed, event(2), big, event(3)); err != nil {
		t.Fatal(err)
	}
	var numbers []int
	var events []poller.EventKind
	timeout := time.After(10 * time.Second)
	for len(numbers) < 3 {
		select {
		case s := <-got:
			numbers = append(numbers, s.numbers...)
			events = append(events, s.events...)
		case <-timeout:
			t.Fatalf("after 10 s the handler saw messages %v and events %v; want 1, 2, 3 and a truncation", numbers, events)
		}
	}
	if fmt.Sprint(numbers) != "[1 2 3]" || fmt.Sprint(events) != fmt.Sprint([]poller.EventKind{poller.Truncated}) {
		t.Errorf("messages %v, events %v; want [1 2 3] and one Truncated (the datagram longer than the buffer)", numbers, events)
	}
	if st := r.Stats(); st.Spoofed != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v: want 1 spoofed datagram, none malformed", st)
	}
}

// TestRemoveAndCloseNeverWaitForAHandler calls Remove and Close from every
// place a user may: the registration's own handler, a goroutine that the
// handler is waiting for, another goroutine while the loop is busy, another
// poller's handler. Each must return promptly, and Done must then report
// when the last handler call is over.
func TestRemoveAndCloseNeverWaitForAHandler(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Run("Remove from its own handler", func(t *testing.T) { testRemoveFromItsHandler(t, mode.opts) })
			t.Run("Close from a handler", func(t *testing.T) { testCloseFromAHandler(t, mode.opts) })
			t.Run("Remove from a goroutine the handler waits for", func(t *testing.T) { testFromAGoroutineTheHandlerWaitsFor(t, mode.opts, false) })
			t.Run("Close from a goroutine the handler waits for", func(t *testing.T) { testFromAGoroutineTheHandlerWaitsFor(t, mode.opts, true) })
			t.Run("Remove during a busy drain", func(t *testing.T) { testDuringABusyDrain(t, mode.opts, false) })
			t.Run("Close during a busy drain", func(t *testing.T) { testDuringABusyDrain(t, mode.opts, true) })
			t.Run("Close each other from two pollers' handlers", func(t *testing.T) { testCrossPollerClose(t, mode.opts) })
		})
	}
}

func testRemoveFromItsHandler(t *testing.T, opts []poller.Option) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	var calls, late atomic.Int32
	var removed atomic.Bool
	removeErr := make(chan error, 1)
	r, err := p.Add(c, func(b *poller.Batch) {
		if removed.Load() {
			late.Add(1)
		}
		if calls.Add(1) == 1 {
			removeErr <- b.Source.Remove()
			removed.Store(true)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	k.Inject(event(1))
	select {
	case err := <-removeErr:
		if err != nil {
			t.Fatalf("Remove from its handler: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Remove from its handler did not return within 10 s")
	}
	waitClosed(t, r.Done(), 10*time.Second, "Done after Remove from the handler")
	k.Inject(event(2), event(3))
	barrier(t, p)
	if err := r.Remove(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Remove: %v, want os.ErrClosed", err)
	}
	if p.Len() != 0 || late.Load() != 0 {
		t.Errorf("Len %d, %d calls after Remove; want 0, 0", p.Len(), late.Load())
	}
}

func testCloseFromAHandler(t *testing.T, opts []poller.Option) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	closeErr := make(chan error, 1)
	var closedEvents atomic.Int32
	if _, err := p.Add(c, func(b *poller.Batch) {
		for _, ev := range b.Events {
			if ev.Kind == poller.Closed && errors.Is(ev.Err, poller.ErrPollerClosed) {
				closedEvents.Add(1)
			}
		}
		if len(b.Messages) > 0 {
			closeErr <- b.Source.Poller().Close()
		}
	}); err != nil {
		t.Fatal(err)
	}
	k.Inject(event(1))
	select {
	case err := <-closeErr:
		if err != nil {
			t.Fatalf("Close from a handler: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close from a handler did not return within 10 s")
	}
	waitClosed(t, p.Done(), 10*time.Second, "Done after Close from a handler")
	if n := closedEvents.Load(); n != 1 || p.Err() != nil {
		t.Errorf("%d Closed events, Err %v; want 1, nil", n, p.Err())
	}
	if err := p.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v, want os.ErrClosed", err)
	}
}

// testFromAGoroutineTheHandlerWaitsFor: the handler hands each message to
// a consumer over an unbuffered channel, twice, as a subscriber with a
// blocking buffer would take it; the consumer, having taken it once, stops
// the poller (or removes the registration) while the handler waits to hand
// it over again.
func testFromAGoroutineTheHandlerWaitsFor(t *testing.T, opts []poller.Option, closePoller bool) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(append(opts, poller.WithBatchSize(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	handoff := make(chan int)
	var stopped atomic.Bool
	var late atomic.Int32
	r, err := p.Add(c, func(b *poller.Batch) {
		if stopped.Load() {
			late.Add(1)
		}
		for _, m := range b.Messages {
			handoff <- eventNumber(m)
			handoff <- eventNumber(m)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	k.Inject(event(1), event(2))
	select {
	case <-handoff:
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
	}
	// The loop is now in the handler, blocked handing the message over
	// again.
	what, done := "Remove", r.Done()
	stop := r.Remove
	if closePoller {
		what, done, stop = "Close", p.Done(), p.Close
	}
	if err := returnsPromptly(t, what+" while the handler waits for its caller", stop); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatal("Done closed while the handler is still running")
	default:
	}
	<-handoff // let the handler return
	waitClosed(t, done, 10*time.Second, "Done once the handler returned")
	stopped.Store(true)
	if !closePoller {
		k.Inject(event(3))
		barrier(t, p)
	}
	if late.Load() != 0 {
		t.Errorf("%d handler calls after Done", late.Load())
	}
}

// testDuringABusyDrain stops the poller, or removes the registration, from
// another goroutine while the loop drains a socket that never runs dry.
func testDuringABusyDrain(t *testing.T, opts []poller.Option, closePoller bool) {
	leakCheck(t)
	c, k := fakeConn(t)
	p, err := poller.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAndWait(t, p)
	var delivered atomic.Int64
	var stopped atomic.Bool
	var late atomic.Int32
	busy := make(chan struct{})
	var once sync.Once
	r, err := p.Add(c, func(b *poller.Batch) {
		if stopped.Load() {
			late.Add(1)
		}
		if delivered.Add(int64(len(b.Messages))) > 100 {
			once.Do(func() { close(busy) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := 0; k.Inject(event(i)) == nil; i++ {
		}
	}()
	defer func() {
		k.Close() // ends an Inject waiting for a reader that is gone
		<-fed
	}()
	waitClosed(t, busy, 10*time.Second, "a busy drain")
	what, done := "Remove", r.Done()
	stop := r.Remove
	if closePoller {
		what, done, stop = "Close", p.Done(), p.Close
	}
	if err := returnsPromptly(t, what+" during a busy drain", stop); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, done, 10*time.Second, "Done after "+what+" during a busy drain")
	stopped.Store(true)
	if !closePoller {
		barrier(t, p) // the injector goes on: the removed socket has data
	}
	if late.Load() != 0 {
		t.Errorf("%d handler calls after Done", late.Load())
	}
}

// testCrossPollerClose: the handlers of two pollers each close the other
// poller and remove the other's registration, at the same time.
func testCrossPollerClose(t *testing.T, opts []poller.Option) {
	leakCheck(t)
	var ps [2]*poller.Poller
	var regs [2]*poller.Registration
	var ks [2]*nltest.Kernel
	var arrived, release sync.WaitGroup
	arrived.Add(2)
	release.Add(1)
	errs := make(chan error, 4)
	for i := range ps {
		var err error
		if ps[i], err = poller.New(opts...); err != nil {
			t.Fatal(err)
		}
		defer closeAndWait(t, ps[i])
	}
	for i := range ps {
		c, k := fakeConn(t)
		ks[i] = k
		var first sync.Once
		var err error
		regs[i], err = ps[i].Add(c, func(b *poller.Batch) {
			if len(b.Messages) == 0 {
				return
			}
			first.Do(func() {
				arrived.Done()
				release.Wait() // both loops are in a handler now
				other := 1 - i
				errs <- regs[other].Remove()
				errs <- ps[other].Close()
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range ks {
		k.Inject(event(1))
	}
	arrived.Wait()
	release.Done()
	var failures []string
	for range 4 {
		select {
		case err := <-errs:
			if err != nil && !errors.Is(err, os.ErrClosed) {
				failures = append(failures, err.Error())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a handler's Remove or Close of the other poller did not return within 10 s")
		}
	}
	if len(failures) > 0 {
		t.Errorf("errors: %s", strings.Join(failures, "; "))
	}
	for i := range ps {
		waitClosed(t, ps[i].Done(), 10*time.Second, fmt.Sprintf("poller %d stopping", i))
	}
}

// TestEachSocketGetsItsBudget: two sockets with a backlog each are served
// in turns of at most the budget, never one to the end before the other.
func TestEachSocketGetsItsBudget(t *testing.T) {
	const budget, backlog = 2, 8
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			leakCheck(t)
			p, err := poller.New(append(mode.opts, poller.WithBudget(budget), poller.WithBatchSize(1))...)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAndWait(t, p)
			var mu sync.Mutex
			var order []string
			gate := make(chan struct{})
			var first sync.Once
			all := make(chan struct{})
			var ks [2]*nltest.Kernel
			for i, name := range []string{"a", "b"} {
				c, k := fakeConn(t)
				ks[i] = k
				if _, err := p.Add(c, func(b *poller.Batch) {
					first.Do(func() { <-gate }) // hold the loop while both backlogs build up
					mu.Lock()
					defer mu.Unlock()
					for range b.Messages {
						order = append(order, name)
					}
					if len(b.Messages) > 0 && len(order) == 2*backlog {
						close(all)
					}
				}, poller.WithData(name)); err != nil {
					t.Fatal(err)
				}
			}
			ks[0].Inject(event(0))
			for i, k := range ks {
				for n := range backlog - 1 + i {
					if err := k.Inject(event(n)); err != nil {
						t.Fatal(err)
					}
				}
			}
			close(gate)
			waitClosed(t, all, 10*time.Second, "every datagram delivered")
			mu.Lock()
			defer mu.Unlock()
			seq := strings.Join(order, "")
			// Once both sockets have been served, neither is served
			// more than the budget in a row while the other has data.
			both := strings.Index(seq, "b")
			lastA := strings.LastIndex(seq, "a")
			if both < 0 || both > lastA {
				t.Fatalf("service order %s: socket a was drained to the end before b was served", seq)
			}
			end := min(strings.LastIndex(seq, "a"), strings.LastIndex(seq, "b"))
			run := 1
			for i := both + 1; i <= end; i++ {
				if seq[i] == seq[i-1] {
					run++
				} else {
					run = 1
				}
				if run > budget {
					t.Fatalf("service order %s: %d datagrams in a row from %c, budget %d", seq, run, seq[i], budget)
				}
			}
			t.Logf("service order %s", seq)
		})
	}
}

// Remove from another goroutine while the loop is reading: what the loop
// has taken from the socket still reaches the handler (before Done), and
// what it has not is still in the socket. Dropping a batch read just
// before Remove lost those notifications for good: a watcher that pauses
// its socket to dump (Remove, then Add again) missed them.
func TestRemoveLosesNothingRead(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			leakCheck(t)
			c, k := fakeConn(t)
			p, err := poller.New(mode.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer closeAndWait(t, p)
			const n = 4000
			var mu sync.Mutex
			var got []int
			busy := make(chan struct{})
			var once sync.Once
			r, err := p.Add(c, func(b *poller.Batch) {
				mu.Lock()
				for _, m := range b.Messages {
					got = append(got, eventNumber(m))
				}
				if len(got) > 200 {
					once.Do(func() { close(busy) })
				}
				mu.Unlock()
			})
			if err != nil {
				t.Fatal(err)
			}
			fed := make(chan struct{})
			go func() {
				defer close(fed)
				for i := 0; i < n && k.Inject(event(i)) == nil; i++ {
				}
			}()
			defer func() {
				k.Close()
				<-fed
			}()
			waitClosed(t, busy, 10*time.Second, "a busy drain")
			if err := r.Remove(); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, r.Done(), 10*time.Second, "Done after Remove")
			mu.Lock()
			delivered := len(got)
			mu.Unlock()
			deadline := time.Now().Add(10 * time.Second)
			for len(got) < n && time.Now().Before(deadline) {
				if _, err := c.Drain(func(m nl.Message) { got = append(got, eventNumber(m)) }); err != nil {
					t.Fatal(err)
				}
			}
			for i, v := range got {
				if v != i {
					t.Fatalf("the handler got %d datagrams before Done, the socket held the rest; number %d is %d (want every number once, in order): %v", delivered, i, v, got[max(0, i-3):min(len(got), i+4)])
				}
			}
			if len(got) != n {
				t.Fatalf("got %d of %d numbers", len(got), n)
			}
		})
	}
}
