//go:build linux

package nl_test

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
)

// The edges of Conn's promises on the fake kernel (no privilege needed):
// sequence numbering, a datagram exactly as large as the buffer, the
// namespace id of an ordinary socket, the counts Drain and Stats report,
// the errors ReceiveFunc and ReceiveAndDecode return, ExecuteBatch's
// window and Execute's allocations. Each test failed on a mutant of the
// package that the other tests let live (bench/MUTATION.md).

// fakeEvent is a message as a kernel event would carry it.
func fakeEvent(typ uint16, payload int) nl.Message {
	return nl.Message{Header: nl.Header{Type: typ}, Data: make([]byte, payload)}
}

// bounded sets a read deadline on c so that a receive the test expects to
// return at once fails instead of hanging.
func bounded(t *testing.T, c *nl.Conn) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
}

func TestSendNumbersOnlyZeroSequences(t *testing.T) {
	got := make(chan nl.Message, 4)
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram { got <- req; return nil })
	var first, given uint32
	var err1, err2 error
	within(t, "two Sends", func() { // a send returns once the datagram is out
		first, err1 = c.Send(nl.Message{Header: nl.Header{Type: typeGet}})
		given, err2 = c.Send(nl.Message{Header: nl.Header{Type: typeGet, Seq: 1234}})
	})
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if first == 0 || given != 1234 {
		t.Fatalf("Send returned sequences %d and %d; want a fresh non-zero one, then 1234 as given", first, given)
	}
	for _, want := range []uint32{first, 1234} {
		select {
		case req := <-got:
			if req.Header.Seq != want {
				t.Fatalf("the kernel got sequence %d, want %d", req.Header.Seq, want)
			}
		case <-time.After(wait):
			t.Fatal("the kernel got no request")
		}
	}
	if next := c.NextSeq(); next != first+1 {
		t.Fatalf("NextSeq after one numbered Send = %d, want %d: a given sequence must not use one up", next, first+1)
	}
}

// A datagram that fills the receive buffer exactly is whole, not
// truncated.
func TestReceiveTakesADatagramThatFillsTheBuffer(t *testing.T) {
	c, k := dialFake(t, nil, nl.WithDatagramSize(nl.MinDatagramSize))
	bounded(t, c)
	if err := k.Inject(nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, nl.MinDatagramSize-nl.HeaderLen)}}); err != nil {
		t.Fatal(err)
	}
	ms, err := c.Receive()
	if err != nil || len(ms) != 1 || len(ms[0].Data) != nl.MinDatagramSize-nl.HeaderLen {
		t.Fatalf("a %d-byte datagram in a %d-byte buffer: %d messages, %v", nl.MinDatagramSize, nl.MinDatagramSize, len(ms), err)
	}
	if st := c.Stats(); st.Truncated != 0 || st.Bytes != nl.MinDatagramSize {
		t.Fatalf("stats %+v: want no truncation and %d bytes", st, nl.MinDatagramSize)
	}
}

// Without WithListenAllNSID every datagram is from the socket's own
// namespace: -1.
func TestReceiveFromReportsTheOwnNamespaceAsMinusOne(t *testing.T) {
	c, k := dialFake(t, nil)
	bounded(t, c)
	ev := nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, 16)}}
	if err := k.Inject(ev, ev); err != nil {
		t.Fatal(err)
	}
	if _, nsid, err := c.ReceiveFrom(); err != nil || nsid != -1 {
		t.Fatalf("ReceiveFrom: nsid %d, %v; want -1", nsid, err)
	}
	var nsid int32 = 99
	if err := c.ReceiveFunc(func(_ nl.Message, id int32) error { nsid = id; return nil }); err != nil || nsid != -1 {
		t.Fatalf("ReceiveFunc: nsid %d, %v; want -1", nsid, err)
	}
}

// ReceiveFunc calls fn for every message of the datagram, and stops at
// fn's first error and returns it.
func TestReceiveFuncStopsAtFnsFirstError(t *testing.T) {
	c, k := dialFake(t, nil)
	bounded(t, c)
	three := nltest.Datagram{Messages: []nl.Message{fakeEvent(1, 4), fakeEvent(2, 4), fakeEvent(3, 4)}}
	if err := k.Inject(three, three); err != nil {
		t.Fatal(err)
	}
	var seen []uint16
	if err := c.ReceiveFunc(func(m nl.Message, _ int32) error { seen = append(seen, m.Header.Type); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []uint16{1, 2, 3}) {
		t.Fatalf("fn saw %v, want every message: [1 2 3]", seen)
	}
	seen = nil
	stop := errors.New("stop")
	err := c.ReceiveFunc(func(m nl.Message, _ int32) error {
		seen = append(seen, m.Header.Type)
		if m.Header.Type == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []uint16{1, 2}) {
		t.Fatalf("ReceiveFunc returned %v after %v; want fn's error after [1 2]", err, seen)
	}
}

// Drain returns how many datagrams it read.
func TestDrainCountsTheDatagramsItRead(t *testing.T) {
	c, k := dialFake(t, nil)
	ev := nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, 16), fakeEvent(unix.RTM_NEWLINK, 16)}}
	if err := k.Inject(ev, ev, ev); err != nil {
		t.Fatal(err)
	}
	var msgs int
	n, err := c.Drain(func(nl.Message) { msgs++ })
	if err != nil || n != 3 || msgs != 6 {
		t.Fatalf("Drain read %d datagrams (%d messages), %v; want 3 (6)", n, msgs, err)
	}
	if n, err := c.Drain(nil); err != nil || n != 0 {
		t.Fatalf("Drain of an empty socket: %d, %v", n, err)
	}
}

// ReceiveAndDecode counts the messages it returns in Stats and returns the
// first kernel error among them.
func TestReceiveAndDecodeCountsAndReturnsTheFirstKernelError(t *testing.T) {
	c, k := dialFake(t, nil)
	req := nl.Message{Header: nl.Header{Type: typeItem, Seq: 7, PortID: nltest.PortID}}
	part := nltest.Reply(req, typeItem, nl.FlagMulti, make([]byte, 4))
	if err := k.Inject(
		nltest.Datagram{Messages: []nl.Message{part, part}},
		nltest.Datagram{Messages: []nl.Message{part, nltest.Done(req, syscall.EINTR, "")}},
	); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	before := c.Stats().Messages
	ms, err := c.ReceiveAndDecode(ctx)
	var kerr *nl.Error
	if !errors.As(err, &kerr) || kerr.Errno != syscall.EINTR || len(ms) != 4 {
		t.Fatalf("ReceiveAndDecode: %d messages, %v; want 4 and the DONE's EINTR", len(ms), err)
	}
	if n := c.Stats().Messages - before; n != 4 {
		t.Fatalf("Stats.Messages grew by %d, want 4", n)
	}
	// Two errors: the first is the one returned.
	if err := k.Inject(nltest.Datagram{Messages: []nl.Message{
		nltest.Reply(req, typeItem, nl.FlagMulti, make([]byte, 4)),
		nltest.Error(req, syscall.EPERM, "", 0).Messages[0],
		nltest.Done(req, syscall.EBUSY, ""),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReceiveAndDecode(ctx); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("ReceiveAndDecode: %v, want the first error, EPERM", err)
	}
}

// ExecuteBatch sizes its windows from the receive buffer, one request per
// KiB between 16 and 4096: only each window's last request asks for an ACK.
func TestExecuteBatchWindowFollowsTheReadBuffer(t *testing.T) {
	c, k := dialFake(t, func(req nl.Message) []nltest.Datagram {
		if req.Header.Flags&nl.FlagAck != 0 {
			return []nltest.Datagram{nltest.Ack(req)}
		}
		return nil
	})
	rbuf, err := c.ReadBufferSize()
	if err != nil {
		t.Fatal(err)
	}
	window := max(16, min(4096, rbuf/1024))
	reqs := make([]nl.Message, 2*window+3)
	for i := range reqs {
		reqs[i] = getReq(uint32(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var outcomes int
	within(t, "ExecuteBatch", func() { // a read the context cannot wake would hang
		err = c.ExecuteBatch(ctx, reqs, func(i int, err error) {
			if err != nil || i != outcomes {
				t.Errorf("outcome %d: request %d, %v", outcomes, i, err)
			}
			outcomes++
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var acked []int
	for i, m := range k.Requests() {
		if m.Header.Flags&nl.FlagAck != 0 {
			acked = append(acked, i)
		}
	}
	want := []int{window - 1, 2*window - 1, 2*window + 2}
	if outcomes != len(reqs) || !slices.Equal(acked, want) {
		t.Fatalf("a %d-byte receive buffer: ACKs asked at requests %v, want %v (windows of %d); %d outcomes",
			rbuf, acked, want, window, outcomes)
	}
}

// Execute copies a dump's replies into shared arenas: far fewer
// allocations than replies.
func TestExecuteAllocatesPerArenaNotPerReply(t *testing.T) {
	const items, per = 2000, 100
	var dump []nltest.Datagram
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram {
		// Prepared once: the fake kernel's own allocations are counted too.
		if dump == nil {
			ps := make([][]byte, items)
			for i := range ps {
				ps[i] = make([]byte, 16)
			}
			for _, d := range nltest.Multipart(req, typeItem, ps, per) {
				var b []byte
				for _, m := range d.Messages {
					b = nl.AppendMessage(b, m)
				}
				dump = append(dump, nltest.Datagram{Raw: b})
			}
		}
		for _, d := range dump { // the dump's sequence number is the request's
			for b := d.Raw; len(b) >= nl.HeaderLen; {
				h, _ := nl.DecodeHeader(b)
				h.Seq = req.Header.Seq
				nl.PutHeader(b, h)
				b = b[nl.Align(int(h.Length)):]
			}
		}
		return dump
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var n int
	allocs := testing.AllocsPerRun(3, func() {
		ms, err := c.Execute(ctx, dumpReq())
		if err != nil {
			t.Fatal(err)
		}
		n = len(ms)
	})
	if n != items {
		t.Fatalf("%d replies, want %d", n, items)
	}
	if allocs > items/10 {
		t.Fatalf("Execute of a %d-reply dump allocates %.0f times, want far fewer than one per reply", items, allocs)
	}
}

// ExecuteBatch numbers its requests consecutively with sequence numbers no
// other request gets: after those used before it, before those NextSeq
// gives after it.
func TestExecuteBatchUsesTheSequencesItReserves(t *testing.T) {
	c, k := dialFake(t, func(req nl.Message) []nltest.Datagram {
		if req.Header.Flags&nl.FlagAck != 0 {
			return []nltest.Datagram{nltest.Ack(req)}
		}
		return nil
	})
	reqs := make([]nl.Message, 40)
	for i := range reqs {
		reqs[i] = getReq(uint32(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	before := c.NextSeq()
	var err error
	within(t, "ExecuteBatch", func() { err = c.ExecuteBatch(ctx, reqs, func(int, error) {}) })
	if err != nil {
		t.Fatal(err)
	}
	after := c.NextSeq()
	got := k.Requests()
	if len(got) != len(reqs) {
		t.Fatalf("the kernel got %d requests, want %d", len(got), len(reqs))
	}
	for i, m := range got {
		if want := before + 1 + uint32(i); m.Header.Seq != want {
			t.Fatalf("request %d has sequence %d, want %d (NextSeq gave %d before the batch and %d after)", i, m.Header.Seq, want, before, after)
		}
	}
	if last := got[len(got)-1].Header.Seq; after != last+1 {
		t.Fatalf("NextSeq after the batch = %d, want %d: the batch's numbers must not be handed out again", after, last+1)
	}
}

// A window whose requests add up to more than the socket's send buffer
// goes in several datagrams of at most 128 KiB, not in one the kernel
// refuses (EMSGSIZE): the send buffer here is 132,000 bytes, a little over
// 128 KiB. The requests are NLMSG_NOOPs, which the kernel skips,
// acknowledging the last of each window.
func TestExecuteBatchSplitsAWindowIntoDatagrams(t *testing.T) {
	c := nstest.New(t).Dial(nl.WithWriteBuffer(66000))
	rbuf, err := c.ReadBufferSize()
	if err != nil {
		t.Fatal(err)
	}
	window := max(16, min(4096, rbuf/1024))
	const size = 2 << 10 // a window of them is well over the send buffer
	reqs := make([]nl.Message, window)
	for i := range reqs {
		reqs[i] = nl.Message{Header: nl.Header{Type: nl.TypeNoop}, Data: make([]byte, size)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var outcomes int
	if err := c.ExecuteBatch(ctx, reqs, func(_ int, err error) {
		if err != nil {
			t.Error(err)
		}
		outcomes++
	}); err != nil {
		t.Fatalf("a window of %d requests of %d bytes: %v", window, size, err)
	}
	if outcomes != window {
		t.Fatalf("%d outcomes, want %d", outcomes, window)
	}
}

// Once the fake kernel is closed, a receive gets what was sent before and
// then fails with ECONNRESET instead of waiting (package nltest's promise,
// kept by the fake Conn of this package).
func TestFakeKernelGoneEndsReceivesWithECONNRESET(t *testing.T) {
	c, k, err := nltest.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bounded(t, c)
	if err := k.Inject(nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, 4)}}); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if ms, err := c.Receive(); err != nil || len(ms) != 1 {
		t.Fatalf("the datagram sent before Close: %d messages, %v", len(ms), err)
	}
	if _, err := c.Receive(); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("a receive after the kernel went away: %v, want ECONNRESET", err)
	}
}

// The fake kernel's truncation and namespace ids reach the Conn as the
// real kernel's would: ErrTruncated and a count, the id of the namespace a
// datagram came from with WithListenAllNSID, -1 for its own.
func TestFakeKernelTruncatesAndReportsNamespaceIDs(t *testing.T) {
	c, k := dialFake(t, nil, nl.WithListenAllNSID())
	bounded(t, c)
	five := int32(5)
	if err := k.Inject(
		nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, 64)}, Truncate: 20},
		nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, 4)}, NSID: &five},
		nltest.Datagram{Messages: []nl.Message{fakeEvent(unix.RTM_NEWLINK, 4)}},
	); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Receive(); !errors.Is(err, nl.ErrTruncated) || c.Stats().Truncated != 1 {
		t.Fatalf("a truncated datagram: %v, %d counted; want ErrTruncated, 1", err, c.Stats().Truncated)
	}
	for _, want := range []int32{5, -1} {
		if ms, nsid, err := c.ReceiveFrom(); err != nil || len(ms) != 1 || nsid != want {
			t.Fatalf("ReceiveFrom: %d messages, nsid %d, %v; want 1 from %d", len(ms), nsid, err, want)
		}
	}
}

// NewNetNS makes a namespace of its own, which Do enters on a locked
// thread, leaving the caller's as it was.
func TestNewNetNSMakesAnotherNamespace(t *testing.T) {
	ino := func(path string) uint64 {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	own := ino("/proc/self/ns/net")
	ns, err := nl.NewNetNS()
	if errors.Is(err, unix.EPERM) {
		t.Skip("NewNetNS needs CAP_SYS_ADMIN:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	made := ino(ns.Path())
	if made == own {
		t.Fatal("NewNetNS returned the caller's own namespace")
	}
	var inside uint64
	if err := ns.Do(func() error { inside = ino("/proc/thread-self/ns/net"); return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != made || ino("/proc/thread-self/ns/net") != own {
		t.Fatalf("Do ran in namespace %d, want %d; the caller is in %d, want %d", inside, made, ino("/proc/thread-self/ns/net"), own)
	}
}

// The messages a dump request reads for an abandoned dump before its own
// count in Stats.Messages like any others.
func TestStatsCountTheRestOfAnAbandonedDump(t *testing.T) {
	const items, per = 10, 2 // 5 datagrams of 2 items, then DONE: 11 messages a dump
	c, k := dialFake(t, fakeDumper(items, per))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stop := errors.New("enough")
	if err := c.ExecuteFunc(ctx, dumpReq(), func(nl.Message) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("abandoned dump: %v", err)
	}
	// Inject waits until the fake kernel has sent the whole first dump, as
	// the real kernel has queued a dump's next batch before a read returns;
	// the empty datagram carries no message.
	if err := k.Inject(nltest.Datagram{Raw: []byte{}}); err != nil {
		t.Fatal(err)
	}
	ms, err := c.Execute(ctx, dumpReq()) // reads the rest of the first dump first
	if err != nil || len(ms) != items {
		t.Fatalf("second dump: %d replies, %v", len(ms), err)
	}
	// The first dump's first datagram was read only up to fn's error.
	if st := c.Stats(); st.Messages < 2*(items+1)-1 || st.Messages > 2*(items+1) {
		t.Fatalf("Stats %+v after two dumps of %d messages", st, items+1)
	}
}

// SendMessages numbers the messages without a sequence number
// consecutively and keeps the others', and returns them in order.
func TestSendMessagesNumbersOnlyZeroSequences(t *testing.T) {
	got := make(chan nl.Message, 4)
	c, _ := dialFake(t, func(req nl.Message) []nltest.Datagram { got <- req; return nil })
	var seqs []uint32
	var err error
	within(t, "SendMessages", func() {
		seqs, err = c.SendMessages([]nl.Message{
			{Header: nl.Header{Type: typeGet}},
			{Header: nl.Header{Type: typeGet, Seq: 99}},
			{Header: nl.Header{Type: typeGet}},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 3 || seqs[0] == 0 || seqs[1] != 99 || seqs[2] != seqs[0]+1 {
		t.Fatalf("sequences %v: want n, 99, n+1", seqs)
	}
	for i, want := range seqs {
		select {
		case req := <-got:
			if req.Header.Seq != want {
				t.Fatalf("message %d reached the kernel with sequence %d, want %d", i, req.Header.Seq, want)
			}
		case <-time.After(wait):
			t.Fatalf("message %d did not reach the kernel", i)
		}
	}
}
