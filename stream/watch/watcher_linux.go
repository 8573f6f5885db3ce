//go:build linux

package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
	"golang.org/x/sys/unix"
)

// WithPoller makes the watcher read its event socket on p, shared with
// other watchers (many namespaces on one poller, say). By default each
// watcher makes a poller of its own, waiting on a thread of its own
// (poller.WithDedicatedThread), and closes it with the watcher: one OS
// thread per watcher. With many watchers, share a poller instead.
func WithPoller(p *poller.Poller) Option { return func(c *config) { c.poller = p } }

// spec is what distinguishes one table from another.
type spec[K comparable, V any] struct {
	name string
	// protocol is the sockets' netlink protocol: NETLINK_ROUTE if 0.
	protocol int
	groups   []uint32
	// noFamily and noTable say that WithFamily and WithTable do not apply
	// to this table: asking for them is an error.
	noFamily, noTable bool
	// dump lists the table on c, calling fn for each entry; the entry is
	// valid only during the call.
	dump func(ctx context.Context, c *nl.Conn, fn func(*V) error) error
	// decode fills v from a notification and says whether it deletes the
	// entry; ok is false for messages of other types.
	decode func(m nl.Message, v *V) (del, ok bool, err error)
	key    func(*V) K
	equal  func(a, b *V) bool
	keep   func(*V) bool
	// compare orders keys, for the events of a dump-and-diff that the dump
	// itself does not order (deletions).
	compare func(a, b K) int
	// group, when set, maps a key to the set of entries one notification
	// can change (a route's lookup group): a verification does not count
	// as repairs the differences in groups that notifications in flight
	// touched.
	group func(K) K
	// copyOf, when set, returns key k as copy n: the table may hold
	// entries that no key tells apart (rtnl.RouteKey.Copy); twins reports
	// whether the kernel can hold such entries under k (else two are a
	// collision: the key misses what tells them apart).
	copyOf func(k K, n uint8) (c K, twins bool)
	// side, when set, follows the messages that are not entries (links,
	// for routes) and mirrors the changes the kernel makes to the table
	// without a notification per entry.
	side side[K, V]
	// disturbed, when set, tells from the notifications that arrived
	// while a dump ran which entries the dump may have missed or listed
	// twice: a dump the kernel resumes by position rather than by key
	// (the IPv6 FIB's) does that when the table changes between two of
	// its datagrams, without flagging the dump interrupted.
	disturbed func(inflight []drained) func(K) bool
	// unsteady, when set, tells the groups whose dump may be wrong with no
	// sign of it in the notifications (IPv6 routes: see routeUnsteady). A
	// verification repairs such a group only when two dumps in a row
	// differ from the model there.
	unsteady func(K) bool
}

// side follows what a table depends on without being part of it, and may
// take over how notifications change the table.
type side[K comparable, V any] interface {
	// load reads the initial state, before the first dump.
	load(ctx context.Context, c *nl.Conn) error
	// observe takes any message read from the event socket that is not an
	// entry. It reports whether the kernel may have changed the table
	// without a notification per entry, so that a verification is due.
	observe(m nl.Message) (verify bool)
	// settle applies to t the silent changes observed since the last call,
	// by the kernel's own rules, calling fn for each entry it changes (old
	// nil: added; cur nil: deleted).
	settle(t *store[K, V], fn func(old, cur *V))
	// discard forgets the silent changes observed since the last settle:
	// the dump about to run shows them.
	discard()
	// entry applies a notification of an entry (flags from its header)
	// and may change other entries it implies (fn as for settle); it
	// returns false to leave the notification to the watcher, and verify
	// true when what the kernel did next cannot be told from notifications
	// (a dump must show it).
	entry(t *store[K, V], v *V, flags uint16, del bool, fn func(old, cur *V)) (handled, verify bool)
	// unsure reports whether the entries of group k (spec.group) may
	// differ from the kernel's for want of information rather than by a
	// missed rule: a verification does not count them as repairs.
	unsure(k K) bool
	// reindex tells the side that t was replaced by a dump whose entries
	// came in the order of keys; for the groups kept reports true, the
	// entries are the side's own, not the dump's (nil: none).
	reindex(t *store[K, V], keys []K, kept func(K) bool)
	// members appends the keys of group g's entries in t to buf, in the
	// kernel's order.
	members(t *store[K, V], g K, buf []K) []K
	// pending reports whether the side still waits for a verification it
	// asked for (made-up entries a dump must confirm).
	awaiting() bool
}

// Stats counts what a watcher did. All counters only grow.
type Stats struct {
	Messages     uint64 // kernel notifications read
	Added        uint64 // Added events emitted (synthetic ones included)
	Changed      uint64 // Changed events emitted
	Deleted      uint64 // Deleted events emitted
	Unchanged    uint64 // notifications that changed nothing (already known)
	Ignored      uint64 // notifications filtered out or not for this table
	DecodeErrors uint64 // notifications that could not be decoded
	Overruns     uint64 // overruns, truncated or malformed datagrams
	Resyncs      uint64 // dump-and-diff passes after an overrun
	DumpRetries  uint64 // dumps repeated because of NLM_F_DUMP_INTR
	// DisturbedDumps counts the dumps of resyncs (and first snapshots)
	// taken again, within WithDumpRetries, because what changed while they
	// ran may have made the kernel list entries twice or skip some without
	// flagging the dump (an IPv6 route table's walk restarts; see Routes).
	DisturbedDumps uint64
	// Verifications counts the dumps that checked the table after the
	// kernel changed it silently (a link down or away, an address gone, an
	// MTU or nexthop change), on Resync and on WithAudit's schedule.
	Verifications uint64
	// Repairs counts the entries a verification found wrong and set right
	// (emitted as Synthetic events), leaving out those that notifications
	// in flight during its dump explain. Non-zero means the kernel changed
	// the table by a rule the watcher does not follow: please report it.
	Repairs uint64
	// Collisions counts dumped entries whose key another entry of the same
	// dump had already, where the kernel's own rules should make keys
	// unique (the table keeps both, as copies, rtnl.RouteKey.Copy, where
	// its keys have copies, else the last). Non-zero means the key does not
	// tell the kernel's entries apart: please report it. IPv6 routes can be
	// twins (see rtnl.RouteKey.Copy): they are no collision.
	Collisions uint64
	// ReadBuffer is the event socket's effective receive buffer in bytes.
	ReadBuffer int
}

type counters struct {
	messages, added, changed, deleted, unchanged, ignored, decodeErrors,
	overruns, resyncs, dumpRetries, disturbedRetries, verifications, repairs, collisions atomic.Uint64
}

// Watcher keeps a copy of one kernel table in step with the kernel and
// reports every change as an Event.
//
// It subscribes first, then dumps, then applies the notifications that
// queued meanwhile, so nothing that changes between the dump and the first
// notification is lost, and nothing is applied twice (a notification that
// matches the table changes nothing). When the kernel reports lost
// notifications (ENOBUFS), or a datagram arrives truncated, it keeps its
// socket, dumps the table again, diffs it against its copy, emits the
// differences as synthetic events between ResyncStarted and ResyncComplete,
// and carries on. NETLINK_NO_ENOBUFS is never used.
//
// Live events flow on the poller's goroutine, dumps' events on one of the
// watcher's, one at a time (see the package doc for what a subscriber may
// call): a subscriber that takes the default inline delivery runs there,
// and a slow one makes the kernel queue fill, which ends in an overrun and
// a resync, never in a wrong table.
type Watcher[K comparable, V any] struct {
	sp    spec[K, V]
	cfg   config
	table Table[K, V]
	pub   *stream.Publisher[Event[V]]

	ev, req   *nl.Conn
	p         *poller.Poller
	ownPoller bool
	readBuf   int

	ctx    context.Context
	cancel context.CancelFunc
	start  sync.Once
	ready  chan struct{} // closed after the initial snapshot, or on failure
	done   chan struct{} // closed once Close has released everything
	// delivering is true while the watcher's handler or dump delivers
	// events (to subscribers, which may call Close).
	delivering atomic.Bool
	wg         sync.WaitGroup

	mu     sync.Mutex // guards reg, err, closed, waiters, again
	reg    *poller.Registration
	err    error
	closed bool
	// waiters are the Resync calls waiting for a verification that
	// started after they were made; again asks the dump-and-diff in
	// progress for one more verification when it ends.
	waiters      []chan error
	again        bool
	againOverrun bool // notifications were lost during a verification's dump

	c counters

	// Scratch values for apply, which runs on one goroutine at a time (the
	// poller's, never during a resync). Locals would escape to the heap
	// through the spec's function values: one allocation per message.
	cur, old  V
	sideEvs   []Event[V]
	collectFn func(old, cur *V) // w.collect, bound once: a method value per call would allocate
	liveFn    func(old, cur *V) // w.collectLive, likewise
	verifyDue bool              // a silent change was seen: verify after this batch
	// track, while notifications read after a dump are applied, records
	// what they change (see replay).
	track *tracker[K, V]
	// excused lists the groups a resync left uncertain: the verification
	// that follows does not count their differences as repairs.
	// suspect holds the unsteady groups (spec.unsteady) the last
	// verification found different and left as the model has them.
	suspect map[K]bool
	// repairText describes, for the log, the first repairs of each group
	// in provisional.
	repairText map[K][]string
	// excusedAll, if set, excuses the entries a disturbed resync's dump
	// may have missed or doubled (spec.disturbed).
	excused    map[K]bool
	excusedAll func(K) bool
	// provisional counts, per group, the repairs a verification found;
	// the verification that follows at once counts them in Stats.Repairs
	// unless what arrived in between explains them: a notification that
	// changed the group (early) or of a link, address or nexthop
	// (earlySide). The kernel sends those after the change, which a dump
	// that does not take the RTNL lock may show first.
	provisional map[K]int
	early       map[K]bool
	earlySide   bool
}

func newWatcher[K comparable, V any](sp spec[K, V], opts []Option) (*Watcher[K, V], error) {
	cfg := config{readBuffer: DefaultReadBuffer, retries: DefaultDumpRetries}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.check(sp.name, sp.noFamily, sp.noTable); err != nil {
		return nil, err
	}
	var nlopts []nl.Option
	if cfg.netns != "" {
		nlopts = append(nlopts, nl.WithNetNS(cfg.netns))
	}
	// The event socket never sends, so no reply is ever mistaken for a
	// notification; it joins its groups before anything is dumped.
	// Only the poller reads it, so it is a blocking socket: out of the Go
	// runtime's netpoller, which would otherwise wake for every event as
	// well (the poller reads with MSG_DONTWAIT regardless).
	if sp.protocol == 0 {
		sp.protocol = unix.NETLINK_ROUTE
	}
	ev, err := nl.Dial(sp.protocol, nl.Addr{}, append(nlopts, nl.WithBlocking(), nl.WithGroups(sp.groups...), nl.WithReadBuffer(cfg.readBuffer))...)
	if err != nil {
		return nil, fmt.Errorf("watch %s: event socket: %w", sp.name, err)
	}
	req, err := nl.Dial(sp.protocol, nl.Addr{}, nlopts...)
	if err != nil {
		ev.Close()
		return nil, fmt.Errorf("watch %s: request socket: %w", sp.name, err)
	}
	w := &Watcher[K, V]{sp: sp, cfg: cfg, ev: ev, req: req, ready: make(chan struct{}), done: make(chan struct{})}
	w.table.m = newStore[K, V](sp.group)
	w.collectFn = w.collect
	w.liveFn = w.collectLive
	w.readBuf, _ = ev.ReadBufferSize()
	if p, ok := cfg.poller.(*poller.Poller); ok && p != nil {
		w.p = p
	} else {
		// A thread of its own in epoll_wait: one wake-up per burst of
		// events, the cheapest way to read a socket that is outside the
		// runtime's netpoller (see poller.WithDedicatedThread).
		if w.p, err = poller.New(poller.WithDedicatedThread()); err != nil {
			ev.Close()
			req.Close()
			return nil, fmt.Errorf("watch %s: %w", sp.name, err)
		}
		w.ownPoller = true
	}
	w.pub = stream.NewPublisher[Event[V]](stream.WithCopy(func(dst, src []Event[V]) { copy(dst, src) }))
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w, nil
}

// Table returns the watcher's copy of the kernel table.
func (w *Watcher[K, V]) Table() *Table[K, V] { return &w.table }

// Events returns the stream of changes. The watcher starts (dumps the
// table, then follows the kernel) when the first subscriber is attached, so
// that subscriber sees every entry as Added, then SnapshotComplete, then the
// live changes. Later subscribers see the changes from when they attach;
// they can read Table for the state (or use operators.Share on one
// subscription). The options choose the subscriber's delivery and
// backpressure policy (stream.WithBuffer); the default is inline delivery
// on the poller's goroutine.
func (w *Watcher[K, V]) Events(opts ...stream.SubscribeOption) stream.Observable[Event[V]] {
	opts = append(opts[:len(opts):len(opts)], stream.OnSubscribe(func() { w.Start() }))
	return w.pub.Observable(opts...)
}

// Start starts the watcher without waiting for a subscriber, for callers
// that only want Table. It returns at once; Ready reports when the first
// snapshot is in place. Calling it again does nothing.
func (w *Watcher[K, V]) Start() {
	w.start.Do(func() {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.resync(modeInitial)
		}()
		if w.cfg.audit > 0 {
			w.wg.Add(1)
			go w.audit(w.cfg.audit)
		}
	})
}

// Ready is closed once the initial snapshot is applied (or the watcher
// failed: see Err).
func (w *Watcher[K, V]) Ready() <-chan struct{} { return w.ready }

// WaitReady starts the watcher if needed and waits for the initial
// snapshot, for ctx, or for the watcher's failure.
func (w *Watcher[K, V]) WaitReady(ctx context.Context) error {
	w.Start()
	select {
	case <-w.ready:
		return w.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Err returns the error that stopped the watcher, if any.
func (w *Watcher[K, V]) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stats returns the watcher's counters.
func (w *Watcher[K, V]) Stats() Stats {
	return Stats{
		Messages: w.c.messages.Load(), Added: w.c.added.Load(), Changed: w.c.changed.Load(),
		Deleted: w.c.deleted.Load(), Unchanged: w.c.unchanged.Load(), Ignored: w.c.ignored.Load(),
		DecodeErrors: w.c.decodeErrors.Load(), Overruns: w.c.overruns.Load(),
		Resyncs: w.c.resyncs.Load(), DumpRetries: w.c.dumpRetries.Load(), DisturbedDumps: w.c.disturbedRetries.Load(),
		Verifications: w.c.verifications.Load(), Repairs: w.c.repairs.Load(), Collisions: w.c.collisions.Load(),
		ReadBuffer: w.readBuf,
	}
}

// Close stops the watcher: it leaves the poller, stops a dump in
// progress, closes its sockets (and its own poller) and completes the
// event stream. It may be called from anywhere, more than once, the
// watcher's own subscribers included. Called while the watcher is
// delivering an event (from a subscriber with inline delivery, say), it
// returns at once and the watcher finishes closing as the delivery
// returns; otherwise it returns once everything is released. Done reports
// the end in both cases.
func (w *Watcher[K, V]) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	reg := w.reg
	w.reg = nil
	w.mu.Unlock()
	w.cancel()
	if reg != nil {
		reg.Remove()
	}
	if w.delivering.Load() {
		go w.release(reg)
		return nil
	}
	w.release(reg)
	return nil
}

// release waits for the watcher's handler and goroutines to return, then
// frees what they used.
func (w *Watcher[K, V]) release(reg *poller.Registration) {
	if reg != nil {
		<-reg.Done()
	}
	w.wg.Wait()
	w.ev.Close()
	w.req.Close()
	if w.ownPoller {
		w.p.Close()
		<-w.p.Done() // its loop has closed its descriptors
	}
	w.pub.Complete()
	w.finishReady()
	close(w.done)
}

// Done is closed once a closed watcher has released everything.
func (w *Watcher[K, V]) Done() <-chan struct{} { return w.done }

func (w *Watcher[K, V]) finishReady() {
	select {
	case <-w.ready:
	default:
		close(w.ready)
	}
}

func (w *Watcher[K, V]) fail(err error) {
	w.mu.Lock()
	if w.err == nil && !w.closed {
		w.err = err
	}
	closed := w.closed
	w.mu.Unlock()
	if !closed {
		w.log(slog.LevelError, "watcher failed", "err", err)
		w.pub.Error(err)
	}
}

// log records a message with WithLogger's logger, if any; never per event.
func (w *Watcher[K, V]) log(level slog.Level, msg string, args ...any) {
	if l := w.cfg.logger; l != nil {
		l.Log(context.Background(), level, msg, append([]any{"watch", w.sp.name, "namespace", w.cfg.label}, args...)...)
	}
}

func (w *Watcher[K, V]) emit(e Event[V]) { w.emitRef(&e) }

// emitRef is emit of an event the caller owns: an Event[rtnl.Route] is over
// 600 bytes, and each copy of one holding pointers is a typedmemmove.
func (w *Watcher[K, V]) emitRef(e *Event[V]) {
	e.Namespace = w.cfg.label
	if w.track != nil && (e.Kind == Added || e.Kind == Changed || e.Kind == Deleted) {
		w.track.changes = append(w.track.changes, *e)
	}
	switch e.Kind {
	case Added:
		w.c.added.Add(1)
	case Changed:
		w.c.changed.Add(1)
	case Deleted:
		w.c.deleted.Add(1)
	}
	w.pub.Push(*e)
}

// handle applies one batch of notifications. It runs on the poller's
// goroutine; it is the hot path: no allocation per message.
func (w *Watcher[K, V]) handle(b *poller.Batch) {
	w.delivering.Store(true)
	defer w.delivering.Store(false)
	stale := false
	b.Segments(func(ms []nl.Message, ev *poller.Event) {
		for i := range ms {
			switch {
			case !stale:
				if w.apply(&ms[i]) {
					w.verifyDue = true
				}
			case w.sp.side != nil:
				// The dump to come supersedes the entries; what they
				// depend on is still followed.
				w.sp.side.observe(ms[i])
			}
		}
		if ev == nil {
			return
		}
		switch ev.Kind {
		case poller.Closed:
			if w.ctx.Err() == nil {
				w.fail(fmt.Errorf("watch %s: event socket: %w", w.sp.name, ev.Err))
			}
		default: // overrun, truncated or malformed: notifications were lost
			w.c.overruns.Add(1)
			w.log(slog.LevelWarn, "notifications lost; resyncing", "err", ev.Err)
			w.emit(Event[V]{Kind: Overrun, Err: ev.Err})
			stale = true
		}
	})
	if w.ctx.Err() != nil {
		return
	}
	switch {
	case stale:
		w.verifyDue = false
		w.pause(modeOverrun)
	case w.verifyDue:
		w.verifyDue = false
		w.pause(modeVerify)
	}
}

// mode says why the table is dumped.
type mode uint8

const (
	modeInitial mode = iota // the first snapshot
	modeOverrun             // notifications were lost: a resync
	modeVerify              // the kernel may have changed the table silently
)

// pause stops reading the event socket and dumps the table on a goroutine
// of its own; the dump re-registers the socket when it is done. It returns
// false if there is nothing to pause (closed, or a dump in progress).
func (w *Watcher[K, V]) pause(m mode) bool {
	w.mu.Lock()
	reg := w.reg
	w.reg = nil
	if w.closed || reg == nil {
		switch {
		case w.closed:
		case m == modeVerify:
			w.again = true
		case m == modeOverrun:
			// A batch read before the registration was removed (the
			// poller delivers it) reported a loss: the pass to come, or
			// the next, must be a resync.
			w.againOverrun = true
		}
		w.mu.Unlock()
		return false
	}
	w.wg.Add(1)
	w.mu.Unlock()
	reg.Remove()
	go func() {
		defer w.wg.Done()
		// The handler may be running still (pause is called from it):
		// one goroutine at a time applies changes.
		<-reg.Done()
		w.resync(m)
	}()
	return true
}

// Resync verifies the table against a fresh dump and waits for the
// verification to end: it stops reading notifications, applies those
// already queued, dumps the table, repairs what differs (Synthetic events,
// counted in Stats.Repairs) and reads on. It returns the watcher's error
// if it failed or was closed meanwhile, or ctx's. Cost: one dump of the
// table. Do not call it from one of the watcher's own subscribers with
// inline delivery: the verification delivers its events to them.
func (w *Watcher[K, V]) Resync(ctx context.Context) error {
	w.Start()
	select {
	case <-w.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	ch := make(chan error, 1)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return fmt.Errorf("watch %s: resync: %w", w.sp.name, ErrClosed)
	}
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	w.waiters = append(w.waiters, ch)
	w.mu.Unlock()
	w.pause(modeVerify)
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// audit verifies the table every interval until the watcher closes.
func (w *Watcher[K, V]) audit(interval time.Duration) {
	defer w.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
			if err := w.Resync(w.ctx); err != nil && w.ctx.Err() == nil && w.Err() != nil {
				return
			}
		}
	}
}

// ErrClosed is returned by a watcher's methods after Close.
var ErrClosed = errors.New("watcher closed")

// apply applies one notification and reports whether the kernel may have
// changed the table silently (a verification is due).
func (w *Watcher[K, V]) apply(m *nl.Message) (verify bool) {
	w.c.messages.Add(1)
	v := &w.cur
	del, ok, err := w.sp.decode(*m, v)
	if err != nil {
		w.c.decodeErrors.Add(1)
		w.log(slog.LevelWarn, "notification not decoded", "type", m.Header.Type, "err", err)
		return false
	}
	if !ok {
		if w.sp.side == nil {
			w.c.ignored.Add(1)
			return false
		}
		verify = w.sp.side.observe(*m)
		t := &w.table
		t.mu.Lock()
		w.sp.side.settle(t.m, w.collectFn)
		if len(w.sideEvs) > 0 {
			t.gen++
		}
		t.mu.Unlock()
		w.emitSide()
		return verify
	}
	if !w.sp.keep(v) {
		w.c.ignored.Add(1)
		return false
	}
	t := &w.table
	t.mu.Lock()
	if w.sp.side != nil {
		handled, check := w.sp.side.entry(t.m, v, m.Header.Flags, del, w.liveFn)
		verify = check
		if len(w.sideEvs) > 0 {
			t.gen++
			if handled {
				t.mu.Unlock()
				w.emitSide()
				return verify
			}
			// Entries the notification implies go first: they were
			// applied first.
			t.mu.Unlock()
			w.emitSide()
			t.mu.Lock()
		} else if handled {
			t.mu.Unlock()
			w.c.unchanged.Add(1)
			return verify
		}
	}
	k := w.sp.key(v)
	old, exists := t.m.get(k)
	w.old = old
	switch {
	case del && !exists:
		t.mu.Unlock()
		w.c.unchanged.Add(1)
	case del:
		t.m.del(k)
		t.gen++
		t.mu.Unlock()
		w.emit(Event[V]{Kind: Deleted, Value: w.old})
	case exists && w.sp.equal(&w.old, v):
		t.mu.Unlock()
		w.c.unchanged.Add(1)
	default:
		t.m.set(k, v)
		t.gen++
		t.mu.Unlock()
		if exists {
			w.emit(Event[V]{Kind: Changed, Value: *v, Old: w.old})
		} else {
			w.emit(Event[V]{Kind: Added, Value: *v})
		}
	}
	// A side that leaves the notification to the watcher may still ask
	// for a verification (a VXLAN remote that was appended or replaced).
	return verify
}

// collect records a change the side made by a kernel rule as a synthetic
// event in w.sideEvs.
func (w *Watcher[K, V]) collect(old, cur *V) { w.record(old, cur, true) }

// collectLive records a change the side made for a notification.
func (w *Watcher[K, V]) collectLive(old, cur *V) { w.record(old, cur, false) }

func (w *Watcher[K, V]) record(old, cur *V, synthetic bool) {
	// Filled in place: the slots past len are zero (emitSide clears them).
	n := len(w.sideEvs)
	if n < cap(w.sideEvs) {
		w.sideEvs = w.sideEvs[:n+1]
	} else {
		w.sideEvs = append(w.sideEvs, Event[V]{})
	}
	e := &w.sideEvs[n]
	e.Synthetic = synthetic
	switch {
	case old == nil:
		e.Kind, e.Value = Added, *cur
	case cur == nil:
		e.Kind, e.Value = Deleted, *old
	default:
		e.Kind, e.Value, e.Old = Changed, *cur, *old
	}
}

// emitSide emits the events collect recorded.
func (w *Watcher[K, V]) emitSide() {
	for i := range w.sideEvs {
		w.emitRef(&w.sideEvs[i])
	}
	clear(w.sideEvs)
	w.sideEvs = w.sideEvs[:0]
}

// barrier returns once the kernel has finished what it was doing under
// the RTNL lock when the call was made: a link request waits for the lock.
// The kernel announces a link going down, or an address going, before it
// flushes the routes that go with it, all under that lock, while route
// dumps do not take it; a dump that follows the barrier shows the flush.
func (w *Watcher[K, V]) barrier() {
	if w.sp.protocol != unix.NETLINK_ROUTE {
		return // no request of other families is known to wait for the lock
	}
	rtnl.LinkByIndex(w.ctx, w.req, 1) // the loopback; an error changes nothing
}

// drained is a notification read from the event socket during a
// dump-and-diff, kept until the diff is done.
type drained struct {
	h    nl.Header
	data []byte
}

// resync dumps the table, replaces the copy with the dump, emits the
// differences, and (re)registers the event socket with the poller. It runs
// while the event socket is not registered, so nothing else applies
// changes meanwhile.
func (w *Watcher[K, V]) resync(m mode) {
	w.delivering.Store(true)
	registered := false
	defer func() {
		if !registered {
			w.delivering.Store(false)
		}
	}()
	for {
		if !w.dumpAndDiff(m) {
			w.finishWaiters(w.Err())
			return
		}
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			w.finishWaiters(ErrClosed)
			return
		}
		if w.againOverrun {
			w.againOverrun = false
			w.again = false
			w.mu.Unlock()
			m = modeOverrun
			continue
		}
		if w.again {
			// Verifications asked for while this one ran must see a
			// dump taken after they asked.
			w.again = false
			w.mu.Unlock()
			m = modeVerify
			continue
		}
		// From here the handler delivers.
		w.delivering.Store(false)
		registered = true
		reg, err := w.p.Add(w.ev, w.handle)
		if err != nil {
			w.mu.Unlock()
			w.fail(fmt.Errorf("watch %s: %w", w.sp.name, err))
			w.finishWaiters(w.Err())
			return
		}
		w.reg = reg
		waiters := w.waiters
		w.waiters = nil
		w.mu.Unlock()
		for _, ch := range waiters {
			ch <- nil
		}
		return
	}
}

func (w *Watcher[K, V]) finishWaiters(err error) {
	if err == nil {
		err = ErrClosed
	}
	w.mu.Lock()
	waiters := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	for _, ch := range waiters {
		ch <- err
	}
}

// dumpAndDiff is one dump-and-diff; it returns false if the watcher
// failed.
func (w *Watcher[K, V]) dumpAndDiff(m mode) bool {
	if m == modeVerify {
		w.mu.Lock()
		if w.againOverrun {
			// Notifications were lost since this pass was asked for.
			w.againOverrun, m = false, modeOverrun
		}
		w.mu.Unlock()
	}
	switch m {
	case modeOverrun:
		w.provisional, w.early, w.earlySide = nil, nil, false // unknowable now
		w.suspect = nil
		w.c.resyncs.Add(1)
		w.emit(Event[V]{Kind: ResyncStarted})
	case modeVerify:
		w.c.verifications.Add(1)
	}
	start := time.Now()
	var fresh *store[K, V]
	var order []K
	var slots []int32 // order's slots in fresh
	var st ResyncStats
	var inflight []drained
	quiet := true
	for {
		st.Attempts++
		// Everything queued now is older than the dump that follows. After
		// a loss it is set aside (the dump supersedes it); for a
		// verification it is applied, so that what the dump finds is what
		// the notifications do not explain.
		var fn func(nl.Message)
		var queued []drained
		if m == modeVerify {
			fn = func(msg nl.Message) {
				queued = append(queued, drained{msg.Header, slices.Clone(msg.Data)})
				var v V
				if _, ok, err := w.sp.decode(msg, &v); err != nil || !ok {
					w.earlySide = true
				}
			}
		}
		lost := w.ev.Stats().Overruns
		n, err := w.ev.Drain(fn)
		if m == modeVerify && w.ev.Stats().Overruns != lost {
			// Notifications were lost while the verification read what
			// was queued (its subscriber was slow, say): it is a resync.
			m = w.lostDuringVerify()
			queued = nil // the side's load below supersedes them
		}
		if len(queued) > 0 {
			// Applied with their groups recorded: a repair the last
			// verification found in a group they changed may be theirs.
			tr := w.replay(queued)
			if w.early == nil {
				w.early = make(map[K]bool)
			}
			for g := range tr.touched {
				w.early[g] = true
			}
		}
		st.Drained += n
		if err != nil {
			if w.ctx.Err() == nil {
				w.fail(fmt.Errorf("watch %s: event socket: %w", w.sp.name, err))
			}
			w.finishReady()
			return false
		}
		if w.sp.side != nil {
			w.sp.side.discard()
		}
		w.barrier()
		// After a loss the side's own state (links, addresses, nexthops)
		// may be as stale as the table: it is read again too, after the
		// drain. What was queued is older than this read, and applying it
		// afterwards would undo it (a link's down message queued before a
		// resync, applied to a link that is up again by then, marks its
		// routes linkdown when the kernel has cleared the flag); what
		// arrives from now on is applied after the dump.
		if m != modeVerify && w.sp.side != nil {
			if err := w.sp.side.load(w.ctx, w.req); err != nil {
				if w.ctx.Err() == nil {
					w.fail(fmt.Errorf("watch %s: %w", w.sp.name, err))
				}
				w.finishReady()
				return false
			}
		}
		// Slots come in chunks: a dump of n entries costs n/1024
		// allocations, not n.
		if fresh == nil {
			fresh = newStore[K, V](w.sp.group)
		} else {
			fresh.reset() // a retry
		}
		order, slots = order[:0], slots[:0]
		collisions := 0
		err = w.sp.dump(w.ctx, w.req, func(v *V) error {
			if w.sp.keep(v) {
				k := w.sp.key(v)
				i, added := fresh.put(k, v)
				if added {
					order, slots = append(order, k), append(slots, i)
					return nil
				}
				{
					if w.sp.copyOf == nil {
						collisions++
						fresh.set(k, v)
						return nil
					}
					// Twins (rtnl.RouteKey.Copy), where the kernel can
					// hold them; elsewhere the key misses what tells
					// them apart.
					if _, twins := w.sp.copyOf(k, 0); !twins {
						collisions++
					}
					for n := uint8(1); ; n++ {
						if c, _ := w.sp.copyOf(k, n); n == 255 {
							k = c
							break
						} else if !fresh.has(c) {
							k = c
							break
						}
					}
				}
				fresh.set(k, v)
				i, _ = fresh.put(k, v) // k's slot: it is there
				order, slots = append(order, k), append(slots, i)
			}
			return nil
		})
		if errors.Is(err, nl.ErrDumpInterrupted) && st.Attempts <= w.cfg.retries {
			w.c.dumpRetries.Add(1)
			continue
		}
		if err != nil {
			if w.ctx.Err() == nil {
				w.fail(fmt.Errorf("watch %s: dump: %w", w.sp.name, err))
			}
			w.finishReady()
			return false
		}
		var ok bool
		if inflight, quiet, ok = w.drainInflight(); !ok {
			return false
		}
		if m != modeVerify && w.sp.disturbed != nil && w.sp.disturbed(inflight) != nil && st.Attempts <= w.cfg.retries {
			// The kernel may have listed entries twice or skipped some
			// without flagging the dump (spec.disturbed). A verification
			// keeps its model where that happened, but a resync has no
			// model to keep: it dumps again. What arrived meanwhile is
			// older than that dump.
			w.c.disturbedRetries.Add(1)
			continue
		}
		w.c.collisions.Add(uint64(collisions))
		if collisions > 0 {
			w.log(slog.LevelWarn, "dumped entries share a key: the key does not tell the kernel's entries apart (please report)", "collisions", collisions)
		}
		break
	}

	if m == modeVerify {
		return w.verifyAgainst(fresh, order, slots, inflight, quiet, st, start)
	}

	var evs []Event[V]
	if w.table.Len() == 0 {
		// The first snapshot (or a table the kernel had emptied): an
		// Added event per entry, made without regrowing the slice.
		evs = make([]Event[V], 0, len(order))
	}
	var gone []K
	const synthetic = true
	t := &w.table
	t.mu.Lock()
	found := 0 // the dumped keys the table has
	for j, k := range order {
		v := &fresh.at(slots[j]).val
		old := t.m.ref(k)
		switch {
		case old == nil:
			evs = append(evs, Event[V]{Kind: Added, Value: *v, Synthetic: synthetic})
			st.Added++
			continue
		case !w.sp.equal(old, v):
			evs = append(evs, Event[V]{Kind: Changed, Value: *v, Old: *old, Synthetic: synthetic})
			st.Changed++
		}
		found++
	}
	if found != t.m.Len() { // else every entry of the table was dumped
		for k := range t.m.all() {
			if !fresh.has(k) {
				gone = append(gone, k)
			}
		}
	}
	if w.sp.compare != nil {
		slices.SortFunc(gone, w.sp.compare)
	}
	for _, k := range gone {
		evs = append(evs, Event[V]{Kind: Deleted, Value: t.m.val(k), Synthetic: synthetic})
		st.Deleted++
	}
	t.m = fresh
	if w.sp.side != nil {
		// The dump built the table in its own order: nothing to reorder.
		w.sp.side.reindex(t.m, nil, nil)
	}
	t.gen++
	st.Entries = t.m.Len()
	t.mu.Unlock()
	st.Took = time.Since(start)

	for _, e := range evs {
		w.emit(e)
	}
	switch m {
	case modeInitial:
		w.emit(Event[V]{Kind: SnapshotComplete, Resync: st})
		w.finishReady()
	case modeOverrun:
		w.log(slog.LevelInfo, "resync complete", "added", st.Added, "changed", st.Changed, "deleted", st.Deleted,
			"entries", st.Entries, "took", st.Took)
		w.emit(Event[V]{Kind: ResyncComplete, Resync: st})
	}
	if len(inflight) == 0 {
		return true
	}
	// After a loss there is no model of the table before the dump to tell
	// which of these the dump shows already. Applying one again is
	// harmless for most (a delete, an add of what is there), not for all:
	// a replace takes the first route of its group, which may by then be
	// another. A verification follows, and the groups they touched are not
	// counted as repairs there: their difference is this pass's doing.
	var disturbed func(K) bool
	if w.sp.disturbed != nil {
		disturbed = w.sp.disturbed(inflight)
	}
	tr := w.replay(inflight)
	if len(tr.touched) > 0 || disturbed != nil {
		w.mu.Lock()
		if w.excused == nil {
			w.excused = make(map[K]bool)
		}
		for g := range tr.touched {
			w.excused[g] = true
		}
		w.excusedAll = disturbed
		w.again = true
		w.mu.Unlock()
	}
	if w.verifyDue {
		w.verifyDue = false
		w.mu.Lock()
		w.again = true
		w.mu.Unlock()
	}
	return true
}

// drainInflight reads what arrived during a dump, which may or may not be
// in it. The kernel changes state and then notifies, under the RTNL lock;
// after a second barrier, whatever the dump saw changing has been
// notified. quiet is false if anything but the table's own entries
// arrived (links, addresses…: anything may follow) or notifications were
// lost; ok is false if the watcher failed.
func (w *Watcher[K, V]) drainInflight() (inflight []drained, quiet, ok bool) {
	quiet = true
	w.barrier()
	lost := w.ev.Stats().Overruns
	_, err := w.ev.Drain(func(msg nl.Message) {
		inflight = append(inflight, drained{msg.Header, slices.Clone(msg.Data)})
		var v V
		if _, ok, err := w.sp.decode(msg, &v); err != nil || !ok {
			quiet = false
		}
	})
	if err != nil {
		if w.ctx.Err() == nil {
			w.fail(fmt.Errorf("watch %s: event socket: %w", w.sp.name, err))
		}
		w.finishReady()
		return nil, false, false
	}
	if w.ev.Stats().Overruns != lost {
		// Lost after the dump: the table is right as of the dump, and a
		// resync follows this pass. What the dump shows may be explained
		// by what was lost: no repairs are counted.
		quiet = false
		w.c.overruns.Add(1)
		w.log(slog.LevelWarn, "notifications lost during a dump; resyncing", "err", unix.ENOBUFS)
		w.emit(Event[V]{Kind: Overrun, Err: unix.ENOBUFS})
		w.mu.Lock()
		w.againOverrun = true
		w.mu.Unlock()
	}
	return inflight, quiet, true
}

// tracker records, while notifications in flight during a dump are
// applied, the states each group they change goes through.
type tracker[K comparable, V any] struct {
	changes []Event[V] // the current message's changes
	touched map[K]bool
	// states lists for each touched group its entries before the first
	// change and after each message that changed it.
	states map[K][]map[K]V
	buf    []K
}

// replay applies msgs (read after a dump) to the table, emitting their
// events, and records the states of the groups they change.
func (w *Watcher[K, V]) replay(msgs []drained) *tracker[K, V] {
	tr := &tracker[K, V]{touched: make(map[K]bool), states: make(map[K][]map[K]V)}
	w.track = tr
	defer func() { w.track = nil }()
	for i := range msgs {
		msg := nl.Message{Header: msgs[i].h, Data: msgs[i].data}
		tr.changes = tr.changes[:0]
		if w.apply(&msg) {
			w.verifyDue = true
		}
		if len(tr.changes) == 0 {
			continue
		}
		var groups []K
		for _, c := range tr.changes {
			for _, v := range [2]*V{&c.Value, &c.Old} {
				if v == &c.Old && c.Kind != Changed {
					continue
				}
				if g := w.groupOf(w.sp.key(v)); !slices.Contains(groups, g) {
					groups = append(groups, g)
				}
			}
		}
		w.table.mu.Lock()
		for _, g := range groups {
			after := w.groupState(g, &tr.buf)
			if !tr.touched[g] {
				tr.touched[g] = true
				before := maps.Clone(after)
				for j := len(tr.changes) - 1; j >= 0; j-- {
					c := &tr.changes[j]
					switch c.Kind {
					case Added:
						if w.groupOf(w.sp.key(&c.Value)) == g {
							delete(before, w.sp.key(&c.Value))
						}
					case Deleted:
						if k := w.sp.key(&c.Value); w.groupOf(k) == g {
							before[k] = c.Value
						}
					case Changed:
						if k := w.sp.key(&c.Value); w.groupOf(k) == g {
							delete(before, k)
						}
						if k := w.sp.key(&c.Old); w.groupOf(k) == g {
							before[k] = c.Old
						}
					}
				}
				tr.states[g] = append(tr.states[g], before)
			}
			tr.states[g] = append(tr.states[g], after)
		}
		w.table.mu.Unlock()
	}
	return tr
}

// soleMember is members for a side whose groups are single entries.
func soleMember[K comparable, V any](t *store[K, V], g K, buf []K) []K {
	if t.has(g) {
		buf = append(buf, g)
	}
	return buf
}

// groupState copies the table's entries of group g; t.mu is held.
func (w *Watcher[K, V]) groupState(g K, buf *[]K) map[K]V {
	t := w.table.m
	var keys []K
	if w.sp.side != nil {
		keys = w.sp.side.members(t, g, (*buf)[:0])
		*buf = keys
	} else if t.has(g) {
		keys = []K{g}
	}
	s := make(map[K]V, len(keys))
	for _, k := range keys {
		s[k] = t.val(k)
	}
	return s
}

// sameState reports whether two states of a group hold the same entries.
func (w *Watcher[K, V]) sameState(a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || !w.sp.equal(&x, &y) {
			return false
		}
	}
	return true
}

// verifyAgainst ends a verification: the table is the model before the
// dump; fresh (in dump order) is the dump, and inflight what arrived
// while it ran. The notifications are applied to the model first, as they
// would have been without a dump. Then each group is judged:
//   - a group no notification in flight changed must equal the dump; what
//     differs is a repair (a kernel rule the model missed);
//   - a group they changed went through several states while the dump ran;
//     if the dump shows one of them, the model is right and stays; if it
//     shows none, the model may be wrong there: it stays for now and
//     another verification follows, which finds the group quiet or not.
//
// Applying the notifications to the dump instead would apply twice what
// the dump shows already, which a route's replace does not survive.
func (w *Watcher[K, V]) verifyAgainst(fresh *store[K, V], order []K, slots []int32, inflight []drained, quiet bool, st ResyncStats, start time.Time) bool {
	var disturbed func(K) bool
	if w.sp.disturbed != nil {
		disturbed = w.sp.disturbed(inflight)
	}
	tr := w.replay(inflight)
	w.mu.Lock()
	excused, excusedAll := w.excused, w.excusedAll
	w.excused, w.excusedAll = nil, nil
	w.mu.Unlock()
	// The repairs the last verification found count now, unless what
	// arrived since can explain them: a notification of their group, or a
	// link, address or nexthop change, whose silent effect the last dump
	// may have shown before the notification was sent.
	confirmed := 0
	var what []string
	for g, n := range w.provisional {
		if !w.earlySide && !w.early[g] && !tr.touched[g] {
			w.c.repairs.Add(uint64(n))
			confirmed += n
			what = append(what, w.repairText[g]...)
		}
	}
	if confirmed > 0 {
		slices.Sort(what)
		w.log(slog.LevelWarn, "a verification repaired entries by a kernel rule the watcher does not follow (please report)",
			"repairs", confirmed, "entries", strings.Join(what, "; "))
	}
	w.provisional, w.early, w.earlySide, w.repairText = nil, nil, false, nil

	var evs []Event[V]
	var set []K               // the keys of the entries added or changed
	added := make(map[K]bool) // the groups to order: those that gained entries
	repairs := 0
	unexplained := false
	repaired := func(g K) {
		if quiet && !excused[g] && (excusedAll == nil || !excusedAll(g)) && (w.sp.side == nil || !w.sp.side.unsure(g)) {
			repairs++
			if w.provisional == nil {
				w.provisional, w.repairText = make(map[K]int), make(map[K][]string)
			}
			w.provisional[g]++
			if e := &evs[len(evs)-1]; len(w.repairText[g]) < 4 { // the event just made, for the log
				w.repairText[g] = append(w.repairText[g], fmt.Sprintf("%s %v", e.Kind, e.Value))
			}
		}
	}
	const synthetic = true
	t := &w.table
	t.mu.Lock()
	// The dump's entries of the touched groups, to compare with the
	// states the groups went through.
	dumped := make(map[K]map[K]V, len(tr.touched))
	for _, k := range order {
		if g := w.groupOf(k); tr.touched[g] {
			s := dumped[g]
			if s == nil {
				s = make(map[K]V)
				dumped[g] = s
			}
			s[k] = fresh.val(k)
		}
	}
	for g := range tr.touched {
		d := dumped[g]
		if d == nil {
			d = map[K]V{}
		}
		if !slices.ContainsFunc(tr.states[g], func(s map[K]V) bool { return w.sameState(s, d) }) {
			unexplained = true
		}
	}
	// The order for the side's index: the dump's, with each touched
	// group's entries in the model's order where the group first shows.
	keys := make([]K, 0, len(order))
	placed := make(map[K]bool, len(tr.touched))
	place := func(g K) {
		if !placed[g] {
			placed[g] = true
			if w.sp.side != nil {
				keys = w.sp.side.members(t.m, g, keys)
			} else {
				keys = soleMember(t.m, g, keys)
			}
		}
	}
	var diffs []diff[K, V]
	var held map[K]bool // the unsteady groups left as the model has them
	hold := func(g K) {
		if w.sp.unsteady != nil && w.sp.unsteady(g) && !w.suspect[g] {
			if held == nil {
				held = make(map[K]bool)
			}
			held[g] = true
		}
	}
	found := 0 // the dumped keys the table has
	for j, k := range order {
		g := w.groupOf(k)
		if tr.touched[g] {
			place(g)
			continue
		}
		v := &fresh.at(slots[j]).val
		old := t.m.ref(k)
		if old != nil {
			found++
		}
		if disturbed != nil && disturbed(g) {
			// The dump may be wrong here: the model stays, and another
			// verification follows if they differ.
			if old == nil || !w.sp.equal(old, v) {
				unexplained = true
			}
			place(g)
			continue
		}
		keys = append(keys, k)
		if old == nil || !w.sp.equal(old, v) {
			diffs = append(diffs, diff[K, V]{k: k, g: g, v: v, old: old})
			hold(g)
		}
	}
	var gone []K
	// Unless every entry of the table was dumped, and no group was
	// touched.
	for k := range t.m.all() {
		if found == t.m.Len() && len(tr.touched) == 0 {
			break
		}
		g := w.groupOf(k)
		if tr.touched[g] {
			place(g)
			continue
		}
		if !fresh.has(k) {
			if disturbed != nil && disturbed(g) {
				unexplained = true // perhaps skipped by the dump: kept
				place(g)
				continue
			}
			gone = append(gone, k)
			hold(g)
		}
	}
	// What differs is repaired, but in the unsteady groups the last
	// verification did not find different: there the model stays and
	// another verification follows.
	if len(held) > 0 {
		unexplained = true
	}
	w.suspect = held
	for _, d := range diffs {
		switch {
		case held[d.g]:
		case d.old == nil:
			evs = append(evs, Event[V]{Kind: Added, Value: *d.v, Synthetic: synthetic})
			set = append(set, d.k)
			added[d.g] = true
			st.Added++
			repaired(d.g)
		default:
			evs = append(evs, Event[V]{Kind: Changed, Value: *d.v, Old: *d.old, Synthetic: synthetic})
			set = append(set, d.k)
			st.Changed++
			repaired(d.g)
		}
	}
	gone = slices.DeleteFunc(gone, func(k K) bool { return held[w.groupOf(k)] })
	if w.sp.compare != nil {
		slices.SortFunc(gone, w.sp.compare)
	}
	for _, k := range gone {
		evs = append(evs, Event[V]{Kind: Deleted, Value: t.m.val(k), Synthetic: synthetic})
		st.Deleted++
		repaired(w.groupOf(k))
		t.m.del(k)
	}
	for _, k := range set {
		t.m.set(k, fresh.ref(k))
	}
	if w.sp.side != nil {
		// The groups of more than one entry take the order of keys (an
		// entry added went last in its group); the others have one.
		for i := 1; i < len(keys); i++ {
			if g := w.groupOf(keys[i]); g == w.groupOf(keys[i-1]) {
				added[g] = true
			}
		}
		keys = slices.DeleteFunc(keys, func(k K) bool { g := w.groupOf(k); return !added[g] || held[g] })
		w.sp.side.reindex(t.m, keys, func(g K) bool { return tr.touched[g] || held[g] })
	}
	if len(evs) > 0 {
		t.gen++
	}
	st.Entries = t.m.Len()
	t.mu.Unlock()
	st.Took = time.Since(start)
	for _, e := range evs {
		w.emit(e)
	}
	if unexplained || repairs > 0 || w.verifyDue || (w.sp.side != nil && w.sp.side.awaiting()) {
		w.verifyDue = false
		w.mu.Lock()
		w.again = true
		w.mu.Unlock()
	}
	return true
}

// diff is an entry a verification's dump shows otherwise than the table:
// old nil for an entry the table lacks.
type diff[K comparable, V any] struct {
	k, g K
	v    *V
	old  *V
}

// lostDuringVerify turns a verification into a resync: notifications
// were lost.
func (w *Watcher[K, V]) lostDuringVerify() mode {
	w.provisional, w.early, w.earlySide = nil, nil, false
	w.c.overruns.Add(1)
	w.log(slog.LevelWarn, "notifications lost during a verification; resyncing", "err", unix.ENOBUFS)
	w.emit(Event[V]{Kind: Overrun, Err: unix.ENOBUFS})
	w.c.resyncs.Add(1)
	w.emit(Event[V]{Kind: ResyncStarted})
	return modeOverrun
}

func (w *Watcher[K, V]) groupOf(k K) K {
	if w.sp.group != nil {
		return w.sp.group(k)
	}
	return k
}
