package watch

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nlrx/nlrx/nl/rtnl"
)

// Option configures a watcher.
type Option func(*config)

type config struct {
	netns      string
	label      string
	poller     any // *poller.Poller on Linux
	readBuffer int
	retries    int
	family     uint8
	familySet  bool
	table      uint32
	tableSet   bool
	audit      time.Duration
	logger     *slog.Logger
}

// DefaultReadBuffer is the receive buffer a watcher asks for: room for
// about 40,000 queued route notifications (each costs about 832 bytes of
// buffer), so a burst of 100,000 events per second can be absorbed while
// the handler catches up. Without CAP_NET_ADMIN the kernel caps it at
// twice net.core.rmem_max.
const DefaultReadBuffer = 32 << 20

// DefaultDumpRetries bounds the dumps of one resync that the kernel may flag
// as interrupted (NLM_F_DUMP_INTR) before the watcher gives up with
// nl.ErrDumpInterrupted.
const DefaultDumpRetries = 8

// WithNetNS watches the network namespace at path (/run/netns/NAME,
// /proc/PID/ns/net…). Events are labelled with path unless WithLabel says
// otherwise.
func WithNetNS(path string) Option {
	return func(c *config) {
		c.netns = path
		if c.label == "" {
			c.label = path
		}
	}
}

// WithLabel sets the Namespace label of the watcher's events.
func WithLabel(label string) Option { return func(c *config) { c.label = label } }

// WithReadBuffer sets the event socket's receive buffer (DefaultReadBuffer
// by default); see nl.WithReadBuffer.
func WithReadBuffer(bytes int) Option { return func(c *config) { c.readBuffer = bytes } }

// WithDumpRetries sets how many interrupted dumps a resync tolerates.
func WithDumpRetries(n int) Option { return func(c *config) { c.retries = n } }

// WithFamily restricts a route, address, neighbour, nexthop or rule watcher to
// one address family, rtnl.FamilyInet or rtnl.FamilyInet6 (unix.AF_INET and
// unix.AF_INET6 work too); by default it watches both. A link watcher
// refuses it.
func WithFamily(family rtnl.Family) Option {
	return func(c *config) { c.family = uint8(family); c.familySet = family != 0 }
}

// WithTable restricts a route watcher to one routing table (rtnl.TableMain,
// a number); by default it watches every table. Other watchers refuse it.
func WithTable(table uint32) Option { return func(c *config) { c.table = table; c.tableSet = true } }

// check reports options that do not apply to the watcher name or are out of
// range.
func (c *config) check(name string, noFamily, noTable bool) error {
	switch {
	case c.familySet && noFamily:
		return fmt.Errorf("watch %s: WithFamily does not apply to this watcher", name)
	case c.tableSet && noTable:
		return fmt.Errorf("watch %s: WithTable does not apply to this watcher (only to Routes)", name)
	case c.familySet && c.family != uint8(rtnl.FamilyInet) && c.family != uint8(rtnl.FamilyInet6):
		return fmt.Errorf("watch %s: WithFamily(%d): want rtnl.FamilyInet or rtnl.FamilyInet6", name, c.family)
	case c.readBuffer < 0:
		return fmt.Errorf("watch %s: WithReadBuffer(%d): a negative size", name, c.readBuffer)
	case c.retries < 0:
		return fmt.Errorf("watch %s: WithDumpRetries(%d): a negative count", name, c.retries)
	case c.audit < 0:
		return fmt.Errorf("watch %s: WithAudit(%v): a negative interval", name, c.audit)
	}
	return nil
}

// WithAudit makes the watcher verify its table against a fresh dump every
// interval, as Resync does, and repair what differs (counted in
// Stats.Repairs). Verifications also run by themselves after the changes
// the kernel makes silently; an audit is for what no rule foresaw. Cost: a
// dump of the table per interval, and a goroutine.
func WithAudit(interval time.Duration) Option { return func(c *config) { c.audit = interval } }

// WithLogger makes the watcher log what a user should hear of without
// reading Stats: its failure (Error), lost notifications and the resync
// that follows (Warn, then Info with what it changed), confirmed repairs
// and key collisions (Warn: a kernel rule the watcher missed, worth a
// report), and notifications it could not decode (Warn). Records carry
// the attributes watch (routes, links…) and namespace (WithLabel or
// WithNetNS; empty for the caller's own). Nothing is logged per event, and
// without this option nothing at all. The handler runs on the watcher's
// goroutines (the poller's, for lost notifications) and may call the
// watcher's methods, but should not block.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
