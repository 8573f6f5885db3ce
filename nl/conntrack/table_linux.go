//go:build linux

package conntrack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
	"github.com/nlrx/nlrx/stream"
)

// FlowKey identifies a flow in a namespace's table: its zone and original
// tuple (the kernel's key; the reply tuple is another way to find it).
type FlowKey struct {
	Zone uint16
	Orig Tuple
}

// Key returns the flow's key. The zone is the flow's zone, whether it
// applies to both directions (Zone) or to the original one (Orig.Zone).
func (f *Flow) Key() FlowKey {
	z := zoneOf(f)
	o := f.Orig
	o.Zone = 0
	return FlowKey{Zone: z, Orig: o}
}

// TableStats counts what a Table did. All counters only grow.
type TableStats struct {
	Events   uint64 // events applied
	Resyncs  uint64 // dumps after the first: two per loss of events (see Table), one per Resync
	Overruns uint64 // losses of events: kernel overruns (ENOBUFS), or a full queue
}

// Table mirrors the conntrack table of a namespace, or the part of it that
// passes a Filter, for programs that keep a copy (a flow exporter, a
// NAT-aware proxy): it joins the event groups, dumps the table, applies
// the events that follow, and dumps again whenever events were lost
// (an overrun), replacing its copy with the kernel's. After an overrun the
// kernel drops every event until the socket's queue is empty and reports
// the loss once, so the table dumps twice: at the overrun, and again 100 ms
// later, once the poller has emptied the queue.
//
// The values are the flows as last reported: a dump's entry, or an event
// merged onto it (an UPDATE event carries status, timeout, mark and what
// changed, not the counters; a NEW or UPDATE event's fields replace the
// copy's where they are set). Counters and timestamps are as of the last
// dump or event that carried them.
//
// The kernel sends no event at all for a flow made while nothing listened
// in its namespace, if net.netfilter.nf_conntrack_events is 2 (the
// default: the event extension is attached only when a listener exists):
// such a flow's updates and end reach the table only through a dump, at
// the next resync. Set the sysctl to 1, or call Resync from time to time,
// where flows older than the table matter.
//
// Cost: two sockets (events and requests), a goroutine, and, per event,
// one copy into a subscriber queue and one map update under a mutex.
// Get and Len take a read lock; Flows copies the table.
type Table struct {
	f   Filter
	evc *nl.Conn
	req *nl.Conn
	src *Source

	mu        sync.RWMutex
	m         map[FlowKey]Flow
	gen       uint64
	ready     chan struct{}
	readyOnce sync.Once
	done      chan struct{}
	err       error
	// changed is closed and replaced when the table changes.
	changed chan struct{}

	events, resyncs, overruns atomic.Uint64
	cancel                    context.CancelFunc
}

// WatchTable starts a Table of the namespace at netns ("" for the
// caller's) holding the flows that pass f, read by poller p (nil: a poller
// of its own). readBuffer is the event socket's receive buffer in bytes
// (0: the kernel's default; a larger one loses fewer events in bursts,
// which each cost a dump). The first dump runs in the background; Ready
// is closed once it is in.
func WatchTable(p *poller.Poller, netns string, f Filter, readBuffer int) (*Table, error) {
	var opts []nl.Option
	if netns != "" {
		opts = append(opts, nl.WithNetNS(netns))
	}
	evOpts := opts
	if readBuffer > 0 {
		evOpts = append(evOpts[:len(evOpts):len(evOpts)], nl.WithReadBuffer(readBuffer))
	}
	evc, err := DialEvents(nil, evOpts...)
	if err != nil {
		return nil, fmt.Errorf("conntrack: table: event socket: %w", err)
	}
	req, err := Dial(opts...)
	if err != nil {
		evc.Close()
		return nil, fmt.Errorf("conntrack: table: request socket: %w", err)
	}
	src, err := Listen(p, evc)
	if err != nil {
		evc.Close()
		req.Close()
		return nil, err
	}
	t := &Table{f: f, evc: evc, req: req, src: src, m: make(map[FlowKey]Flow),
		ready: make(chan struct{}), done: make(chan struct{}), changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	subscribed := make(chan struct{})
	go t.run(ctx, subscribed)
	// Subscribe before the first dump, so that no event of the dump's
	// time is missed; the dump runs where this gap lands among them.
	select {
	case <-subscribed:
		src.Publisher().Gap(stream.Gap{Cause: errFirstDump})
	case <-t.done:
	}
	return t, nil
}

func (t *Table) run(ctx context.Context, subscribed chan struct{}) {
	defer close(t.done)
	defer t.readyOnce.Do(func() { close(t.ready) })
	var settle *time.Timer // the pending dump after an overrun's; callbacks run here
	defer func() {
		if settle != nil {
			settle.Stop()
		}
	}()
	// A queue of its own: the poller never waits for a dump; events that
	// come meanwhile wait in it, in order, and apply after the dump. A
	// full queue drops events with a gap, which costs a resync like an
	// overrun.
	obs := stream.ObserverFuncs[Event]{
		OnBatch: func(evs []Event) error {
			t.apply(evs)
			return nil
		},
		OnGap: func(g stream.Gap) error {
			first := errors.Is(g, errFirstDump)
			// A loss is any gap but the table's own markers (the
			// Publisher merges gaps that meet: a merged one is a loss).
			loss := g.Cause != errFirstDump && g.Cause != errResync && g.Cause != errSettle
			if loss {
				t.overruns.Add(1)
			}
			if err := t.resync(ctx, !first); err != nil {
				return err
			}
			t.readyOnce.Do(func() { close(t.ready) })
			if loss {
				// After an overrun the kernel drops every event until the
				// socket's queue is empty (netlink's congestion state), and
				// says so once: the events it dropped while this dump ran
				// are seen by one more dump, once the poller has read the
				// queue.
				if settle != nil {
					settle.Stop()
				}
				settle = time.AfterFunc(settleDelay, func() {
					if ctx.Err() == nil {
						t.src.Publisher().Gap(stream.Gap{Cause: errSettle})
					}
				})
			}
			return nil
		},
	}
	err := t.src.Events(stream.WithBuffer(1<<16, stream.DropNewest), stream.OnSubscribe(func() { close(subscribed) })).Subscribe(ctx, obs)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
	}
}

// errFirstDump marks, in the stream of events, where the first dump goes:
// the events published after it apply after the dump.
var errFirstDump = errors.New("conntrack: table: first dump")

// errSettle marks the dump that follows an overrun's, settleDelay later.
var errSettle = errors.New("conntrack: table: resync after an overrun")

// settleDelay is how long after an overrun's dump the table dumps again:
// time for the poller to empty the socket's queue, which ends the kernel's
// dropping of events.
const settleDelay = 100 * time.Millisecond

// errResync marks where a resync asked for with Resync goes.
var errResync = errors.New("conntrack: table: resync requested")

// Resync asks for a dump that replaces the table, in order with the
// events: those published before it apply first. It returns at once; the
// dump runs on the table's goroutine (Stats().Resyncs counts it). Use it
// for flows that send no events: see Table.
func (t *Table) Resync() { t.src.Publisher().Gap(stream.Gap{Cause: errResync}) }

// resync replaces the table with a dump; again says it is not the first.
func (t *Table) resync(ctx context.Context, again bool) error {
	m := make(map[FlowKey]Flow, len(t.m))
	err := ForEach(ctx, t.req, t.f, func(fl *Flow) error {
		m[fl.Key()] = *fl
		return nil
	})
	if errors.Is(err, nl.ErrDumpInterrupted) {
		err = nil // every flow is in; the events that follow correct it
	}
	if err != nil {
		return fmt.Errorf("conntrack: table: dump: %w", err)
	}
	if again {
		t.resyncs.Add(1)
	}
	t.mu.Lock()
	t.m = m
	t.bumpLocked()
	t.mu.Unlock()
	return nil
}

func (t *Table) bumpLocked() {
	t.gen++
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *Table) apply(evs []Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range evs {
		ev := &evs[i]
		fl := &ev.Flow
		k := fl.Key()
		switch ev.Type {
		case EventDestroy:
			if old, ok := t.m[k]; ok && (fl.ID == 0 || old.ID == 0 || old.ID == fl.ID) {
				delete(t.m, k)
			}
		default:
			if !t.f.Match(fl) {
				// An update may move a flow out of the filter (its mark,
				// say): it leaves the table.
				delete(t.m, k)
				continue
			}
			cur, ok := t.m[k]
			if !ok || ev.Type == EventNew && cur.ID != fl.ID {
				t.m[k] = *fl
				continue
			}
			merge(&cur, fl)
			t.m[k] = cur
		}
	}
	t.events.Add(uint64(len(evs)))
	t.bumpLocked()
}

// merge copies onto cur the fields of an event's flow that are set.
func merge(cur, ev *Flow) {
	cur.Reply = ev.Reply
	cur.Status = ev.Status
	if ev.Timeout != 0 {
		cur.Timeout = ev.Timeout
	}
	cur.Mark = ev.Mark
	if !ev.Labels.IsZero() {
		cur.Labels = ev.Labels
	}
	if ev.ID != 0 {
		cur.ID = ev.ID
	}
	if ev.TCP != (TCPInfo{}) {
		cur.TCP = ev.TCP
	}
	if ev.CountersOrig != (Counters{}) || ev.CountersReply != (Counters{}) {
		cur.CountersOrig, cur.CountersReply = ev.CountersOrig, ev.CountersReply
	}
	if ev.Start != 0 {
		cur.Start = ev.Start
	}
	if ev.Helper != "" {
		cur.Helper = ev.Helper
	}
}

// Ready is closed once the first dump is in (or the table failed).
func (t *Table) Ready() <-chan struct{} { return t.ready }

// Get returns the flow with key k.
func (t *Table) Get(k FlowKey) (Flow, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	f, ok := t.m[k]
	return f, ok
}

// Len returns the number of flows.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// Flows returns a copy of the table, in no order, with its generation (a
// count of changes: two equal generations mean the same table). It
// allocates the slice.
func (t *Table) Flows() ([]Flow, uint64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Flow, 0, len(t.m))
	for _, f := range t.m {
		out = append(out, f)
	}
	return out, t.gen
}

// Changed returns a channel closed at the next change of the table.
func (t *Table) Changed() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.changed
}

// Stats returns a snapshot of the table's counters.
func (t *Table) Stats() TableStats {
	return TableStats{Events: t.events.Load(), Resyncs: t.resyncs.Load(), Overruns: t.overruns.Load()}
}

// Err returns the error that stopped the table, if any (a dump that
// failed, the poller's end).
func (t *Table) Err() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.err
}

// Close stops the table and closes its sockets; it waits for its
// goroutine. It must not be called from a subscriber of the same poller.
func (t *Table) Close() error {
	t.cancel()
	t.src.Close()
	<-t.done
	<-t.src.Done()
	return errors.Join(t.evc.Close(), t.req.Close())
}

// Done is closed once the table has stopped.
func (t *Table) Done() <-chan struct{} { return t.done }
