package operators

import (
	"context"
	"errors"
	"time"

	"github.com/nlrx/nlrx/stream"
)

// RetryPolicy bounds Retry.
type RetryPolicy struct {
	// MaxAttempts is the number of subscriptions in all, the first
	// included; below 1 it means DefaultRetryAttempts.
	MaxAttempts int
	// Backoff returns how long to wait after failed attempt n (1 for the
	// first) before the next one; nil means no wait.
	Backoff func(attempt int) time.Duration
	// Retryable reports whether err is worth another attempt; nil means
	// every error except the context's.
	Retryable func(err error) bool
}

// DefaultRetryAttempts is the MaxAttempts of a zero RetryPolicy.
const DefaultRetryAttempts = 3

// ExponentialBackoff returns a Backoff of base, 2·base, 4·base … capped at
// limit.
func ExponentialBackoff(base, limit time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < limit; i++ {
			d *= 2
		}
		return min(d, limit)
	}
}

// Retry subscribes to src again when it fails, as the policy allows, and
// fails with the last error once it does not. Items emitted before a
// failure stay emitted: a cold source replays from its start, so the
// subscriber sees them again (for a netlink dump interrupted by
// nl.ErrDumpInterrupted, retry the collection as a whole, or deduplicate).
// Errors returned by the subscriber are never retried. Waits between
// attempts use the clock (WithClock) and end early with ctx. Runs on the
// subscribing goroutine; no goroutine of its own.
func Retry[T any](src stream.Observable[T], policy RetryPolicy, opts ...Option) stream.Observable[T] {
	cfg := newConfig(opts)
	attempts := policy.MaxAttempts
	if attempts < 1 {
		attempts = DefaultRetryAttempts
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		g := &guard[T]{down: o}
		for attempt := 1; ; attempt++ {
			err := src.Subscribe(ctx, g)
			if g.err != nil {
				return g.err
			}
			if err == nil || attempt >= attempts || ctx.Err() != nil {
				return err
			}
			if policy.Retryable != nil {
				if !policy.Retryable(err) {
					return err
				}
			} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			if policy.Backoff != nil {
				if d := policy.Backoff(attempt); d > 0 {
					t := cfg.clock.NewTimer(d)
					select {
					case <-t.C():
					case <-ctx.Done():
						t.Stop()
						return ctx.Err()
					}
				}
			}
		}
	})
}
