package watch

import (
	"fmt"
	"sync"
	"time"
)

// Kind says what an Event reports.
type Kind uint8

// Event kinds. Added, Changed and Deleted carry a value; the others are
// in-band markers that say where the stream stands.
const (
	// Added: a new entry (from a kernel notification, the initial dump or a
	// resync).
	Added Kind = iota + 1
	// Changed: an entry with the same key now has other attributes.
	Changed
	// Deleted: an entry went away; Value is its last known state.
	Deleted
	// SnapshotComplete: the initial dump has been applied; from here the
	// table mirrors the kernel's and the events are live.
	SnapshotComplete
	// Overrun: the kernel dropped notifications (ENOBUFS), or a datagram
	// was truncated or malformed. A resync follows at once.
	Overrun
	// ResyncStarted: the watcher is dumping the table again.
	ResyncStarted
	// ResyncComplete: the table equals the fresh dump again; Resync counts
	// the synthetic events that brought it there.
	ResyncComplete
)

var kindNames = [...]string{Added: "added", Changed: "changed", Deleted: "deleted",
	SnapshotComplete: "snapshot-complete", Overrun: "overrun", ResyncStarted: "resync-started",
	ResyncComplete: "resync-complete"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// IsChange reports whether k is Added, Changed or Deleted: a change of the
// table, which carries a value, rather than an in-band marker.
func (k Kind) IsChange() bool { return k >= Added && k <= Deleted }

// Event is one change of a watched table, or an in-band marker. Tell them
// apart with IsChange, or switch on Kind:
//
//	switch e.Kind {
//	case watch.Added, watch.Changed, watch.Deleted:
//		// e.Value (and e.Old for Changed); e.Synthetic for a dump's
//	case watch.SnapshotComplete:
//		// the table is the kernel's; live changes from here
//	case watch.Overrun:
//		// notifications were lost (e.Err); a resync follows
//	case watch.ResyncStarted, watch.ResyncComplete:
//		// a dump again, and its result (e.Resync)
//	}
type Event[V any] struct {
	Kind Kind
	// Value is the entry for Added and Changed (its new state) and for
	// Deleted (its last state).
	Value V
	// Old is the previous state, for Changed.
	Old V
	// Synthetic is true for changes found by diffing a dump (the initial
	// snapshot or a resync) rather than reported by the kernel.
	Synthetic bool
	// Namespace labels the watcher's network namespace (WithNetNS,
	// WithLabel); empty for the caller's own.
	Namespace string
	// Resync counts what a resync did, for ResyncComplete and
	// SnapshotComplete.
	Resync ResyncStats
	// Err is the cause of an Overrun.
	Err error
}

// IsChange reports whether e is a change of the table (Added, Changed or
// Deleted), not an in-band marker.
func (e *Event[V]) IsChange() bool { return e.Kind.IsChange() }

// ResyncStats describes one dump-and-diff.
type ResyncStats struct {
	Added, Changed, Deleted int
	// Entries is the size of the table after it.
	Entries int
	// Attempts counts dumps, more than one when the kernel flagged
	// NLM_F_DUMP_INTR.
	Attempts int
	// Drained counts the datagrams read and set aside from the event
	// socket before the dump: notifications older than the dump, which it
	// supersedes.
	Drained int
	// Took is the time from the start of the dump to the end of the diff.
	Took time.Duration
}

// Table is a watcher's copy of a kernel table, keyed like the kernel keys
// it. It is safe for concurrent use; readers never block the watcher for
// longer than a map copy.
type Table[K comparable, V any] struct {
	mu sync.RWMutex
	m  *store[K, V]
	// gen counts changes applied, so two snapshots can be compared cheaply.
	gen uint64
}

// Get returns the entry with key k.
func (t *Table[K, V]) Get(k K) (V, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.m == nil {
		var zero V
		return zero, false
	}
	return t.m.get(k)
}

// Len returns the number of entries.
func (t *Table[K, V]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.m == nil {
		return 0
	}
	return t.m.Len()
}

// Snapshot returns a consistent copy of the table and its generation, which
// grows with every change applied. It allocates the copy.
func (t *Table[K, V]) Snapshot() (map[K]V, uint64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.m == nil {
		return map[K]V{}, t.gen
	}
	return t.m.toMap(), t.gen
}

// Values returns a consistent copy of the entries, in no particular order.
func (t *Table[K, V]) Values() []V {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.m == nil {
		return nil
	}
	vs := make([]V, 0, t.m.Len())
	for _, v := range t.m.all() {
		vs = append(vs, *v)
	}
	return vs
}
