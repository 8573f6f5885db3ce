//go:build linux

package watch

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// Spec describes a kernel table for New to watch: how to dump it, which
// multicast groups notify its changes, how to read a notification, and what
// identifies an entry. With it, any table the kernel dumps and notifies (an
// rtnetlink kind nlrx does not type, a generic netlink family's objects)
// gets what the typed watchers give: subscribe first, dump, reconcile, and
// dump again after a loss, with the differences emitted as Synthetic events.
//
// The kernel rules the typed watchers follow (the route watcher's FIB
// model, the nexthops on a link that goes) are theirs alone: a table built
// from a Spec changes by its notifications and its dumps only. Audits
// (WithAudit) and Resync find what changed without a notification.
type Spec[K comparable, V any] struct {
	// Name names the table in errors and logs; "custom" if empty.
	Name string
	// Protocol is the netlink protocol of the watcher's sockets:
	// unix.NETLINK_ROUTE if 0.
	Protocol int
	// Groups are the multicast groups whose notifications change the
	// table (rtnl.Group*, or a generic netlink family's group IDs). At
	// least one.
	Groups []uint32
	// Dump lists the table on c, calling fn for each entry, which is
	// valid only during the call: rtnl's ForEach* functions have this
	// shape. An nl.ErrDumpInterrupted error dumps again (WithDumpRetries).
	Dump func(ctx context.Context, c *nl.Conn, fn func(*V) error) error
	// Decode fills v from a notification and reports whether it deletes
	// the entry; ok is false for a message of another type, which the
	// watcher leaves alone (Stats.Ignored). An error counts in
	// Stats.DecodeErrors and drops the message.
	Decode func(m nl.Message, v *V) (del, ok bool, err error)
	// Key returns an entry's identity. Entries the kernel holds apart must
	// have different keys: a dump that shows two under one key counts
	// Stats.Collisions, and the table keeps the last.
	Key func(*V) K
	// Equal reports whether two entries under one key are the same: a
	// notification that changes nothing Equal sees emits no event.
	Equal func(a, b *V) bool
	// Keep, if set, leaves out the entries it reports false for, from
	// dumps and notifications alike (another family, say).
	Keep func(*V) bool
	// Compare, if set, orders keys: a resync emits its deletions in that
	// order (its additions and changes come in the dump's).
	Compare func(a, b K) int
}

// New watches the table s describes. WithNetNS, WithLabel, WithReadBuffer,
// WithDumpRetries, WithPoller, WithAudit and WithLogger apply; WithFamily
// and WithTable do not (filter in Spec.Dump and Spec.Keep), and asking for
// them is an error, as is a Spec without Groups, Dump, Decode, Key or
// Equal.
func New[K comparable, V any](s Spec[K, V], opts ...Option) (*Watcher[K, V], error) {
	name := s.Name
	if name == "" {
		name = "custom"
	}
	var missing []string
	for _, f := range []struct {
		what string
		set  bool
	}{{"Groups", len(s.Groups) > 0}, {"Dump", s.Dump != nil}, {"Decode", s.Decode != nil}, {"Key", s.Key != nil}, {"Equal", s.Equal != nil}} {
		if !f.set {
			missing = append(missing, f.what)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("watch %s: %w: %v", name, ErrIncompleteSpec, missing)
	}
	keep := s.Keep
	if keep == nil {
		keep = func(*V) bool { return true }
	}
	protocol := s.Protocol
	if protocol == 0 {
		protocol = unix.NETLINK_ROUTE
	}
	return newWatcher(spec[K, V]{
		name:     name,
		protocol: protocol,
		groups:   s.Groups,
		noFamily: true,
		noTable:  true,
		dump:     s.Dump,
		decode:   s.Decode,
		key:      s.Key,
		equal:    s.Equal,
		keep:     keep,
		compare:  s.Compare,
	}, opts)
}

// ErrIncompleteSpec is returned by New for a Spec that lacks what every
// watcher needs.
var ErrIncompleteSpec = errors.New("incomplete spec")
