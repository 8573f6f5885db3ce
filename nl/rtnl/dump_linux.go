//go:build linux

package rtnl

import (
	"context"
	"errors"

	"github.com/nlrx/nlrx/nl"
)

// DefaultDumpAttempts is how many times List* and Append* dump a table
// that the kernel keeps flagging as interrupted (NLM_F_DUMP_INTR) before
// they give up and return the last dump with nl.ErrDumpInterrupted.
//
// The kernel sets the flag when the table changed while it was dumped (its
// generation counter moved between two datagrams): the dump may then miss
// an entry or hold one twice. A retry costs another whole dump, and on a
// table that changes faster than it can be dumped every attempt is
// interrupted, so the count is small.
const DefaultDumpAttempts = 4

// DumpOption changes how a List* or Append* dump handles an interruption.
type DumpOption func(*dumpConfig)

type dumpConfig struct{ attempts int }

// DumpAttempts sets how many times a List* or Append* dump is tried when
// the kernel flags it as interrupted (DefaultDumpAttempts by default). The
// last attempt's entries are returned whether or not it was interrupted,
// with an error matching nl.ErrDumpInterrupted if it was: DumpAttempts(1)
// returns the first dump as the kernel gave it, as ForEach* does. n below
// 1 counts as 1.
func DumpAttempts(n int) DumpOption { return func(c *dumpConfig) { c.attempts = max(n, 1) } }

func dumpAttempts(opts []DumpOption) int {
	c := dumpConfig{attempts: DefaultDumpAttempts}
	for _, o := range opts {
		o(&c)
	}
	return c.attempts
}

// errRestart stops a dump at its first message flagged NLM_F_DUMP_INTR
// when another attempt will follow: the rest of it would be thrown away.
var errRestart = errors.New("rtnl: dump interrupted; restarting it")

// interrupted reports whether a walk that may restart should stop at m.
func interrupted(restart bool, m nl.Message) bool {
	return restart && m.Header.Flags&nl.FlagDumpIntr != 0
}

// retrying reports whether attempt (from 1) of n ended with err in a way
// that calls for another.
func retrying(err error, attempt, n int) bool {
	return attempt < n && (errors.Is(err, errRestart) || errors.Is(err, nl.ErrDumpInterrupted))
}

// dumpEntered, when set (by tests), is called with the attempt's number
// when collect is handed the first entry of an attempt: the dump is under
// way, and a change made then interrupts it.
var dumpEntered func(attempt int)

// collect appends to dst what walk hands to its callback, dumping again
// from scratch (dst cut back to its length on entry) while the kernel
// flags the dump as interrupted and attempts remain. walk is told whether
// it may stop at the first interrupted message (restart): it may on every
// attempt but the last.
func collect[T any](dst []T, opts []DumpOption, walk func(restart bool, fn func(*T) error) error) ([]T, error) {
	n := dumpAttempts(opts)
	base := len(dst)
	for attempt := 1; ; attempt++ {
		dst = dst[:base]
		first := true
		err := walk(attempt < n, func(v *T) error {
			if first && dumpEntered != nil {
				dumpEntered(attempt)
			}
			first = false
			dst = append(dst, *v)
			return nil
		})
		if !retrying(err, attempt, n) {
			return dst, err
		}
	}
}

// walk is the loop of the ForEach dumps: it sends req on c and hands fn
// each reply of type typ, decoded by decode into one value reused for
// every message (valid only until fn returns), if keep (nil: every one)
// keeps it. Replies that fail to decode are skipped and reported, joined,
// after the dump (dumpErr, under what); an error of fn ends the walk and
// is returned as it is; with restart, an interrupted dump ends it with
// errRestart.
func walk[T any](ctx context.Context, c *nl.Conn, req nl.Message, typ uint16, what string, restart bool,
	decode func(*T, []byte) error, keep func(*T) bool, fn func(*T) error) error {
	var v T
	var decErr, fnErr error
	err := c.ExecuteFunc(ctx, req, func(m nl.Message) error {
		if m.Header.Type != typ {
			return nil
		}
		if interrupted(restart, m) {
			return errRestart
		}
		if err := decode(&v, m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		if keep != nil && !keep(&v) {
			return nil
		}
		fnErr = fn(&v)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dumpErr(what, err, decErr)
}
