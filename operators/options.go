package operators

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/stream"
)

// Option configures the operators that take options; an operator ignores
// the options that do not concern it.
type Option func(*config)

type config struct {
	clock      Clock
	dropBad    bool
	badCount   *atomic.Uint64
	maxGroups  int
	concurrent int
	framing    nl.Framing
}

func newConfig(opts []Option) config {
	c := config{clock: systemClock{}, maxGroups: DefaultMaxGroups}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithClock makes a time-based operator (BufferTime, Debounce, Throttle,
// Sample, Timeout, Retry's backoff) read time and arm timers through c
// instead of the system clock, so that tests can drive time.
func WithClock(c Clock) Option {
	return func(cfg *config) {
		if c != nil {
			cfg.clock = c
		}
	}
}

// DropInvalid makes Decode drop the items its decoder rejects instead of
// failing the stream, adding one to count (if not nil) for each.
func DropInvalid(count *atomic.Uint64) Option {
	return func(cfg *config) { cfg.dropBad, cfg.badCount = true, count }
}

// WithFraming tells TakeUntilDone and CollectUntilDone the framing of the
// socket their messages come from (nl.Conn.Framing, nl.FramingNetlink by
// default), which decides what ends a reply: on a connector socket
// (nl.FramingConnector) every message has the type NLMSG_DONE and none
// ends it; only NLMSG_ERROR does.
func WithFraming(f nl.Framing) Option { return func(cfg *config) { cfg.framing = f } }

// DefaultMaxGroups is the number of live groups GroupBy allows by default.
const DefaultMaxGroups = 4096

// MaxGroups bounds the number of groups GroupBy keeps; the stream fails
// with ErrTooManyGroups when a new key would exceed it.
func MaxGroups(n int) Option {
	return func(cfg *config) {
		if n > 0 {
			cfg.maxGroups = n
		}
	}
}

// Concurrency lets FlatMap run up to n inner Observables at once (n > 1),
// each on its own goroutine, merging their items; the default, 1, runs them
// one after another on the delivering goroutine and keeps their order.
func Concurrency(n int) Option {
	return func(cfg *config) { cfg.concurrent = n }
}

// ErrNilFunc is the error of an operator given a nil function.
var ErrNilFunc = errors.New("operators: nil function")

func nilFunc[T any](op string) stream.Observable[T] {
	return stream.Error[T](fmt.Errorf("%s: %w", op, ErrNilFunc))
}

// guard forwards to an Observer and remembers the first error it returned,
// so that a combinator can tell its downstream's errors (ErrStop included,
// which Subscribe turns into nil) from its sources' errors.
type guard[T any] struct {
	down stream.Observer[T]
	err  error
}

func (g *guard[T]) Next(v T) error {
	err := g.down.Next(v)
	if err != nil && g.err == nil {
		g.err = err
	}
	return err
}

func (g *guard[T]) NextBatch(items []T) error {
	err := g.down.NextBatch(items)
	if err != nil && g.err == nil {
		g.err = err
	}
	return err
}

func (g *guard[T]) Gap(gp stream.Gap) error {
	err := g.down.Gap(gp)
	if err != nil && g.err == nil {
		g.err = err
	}
	return err
}
