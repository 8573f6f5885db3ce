//go:build linux

package poller

import (
	"sync/atomic"
	"time"
)

// Stats counts what a poller or one registration did. All counters only
// grow. A registration's counters are updated once per batch, a poller's
// once per wake-up, with atomic adds: keeping them costs a few nanoseconds
// per batch and nothing per message, so they are always on.
type Stats struct {
	// Wakeups counts returns from epoll_wait (poller only).
	Wakeups uint64
	// Syscalls counts receive syscalls (recvmmsg), including those that
	// found the socket empty or failed.
	Syscalls uint64
	// Datagrams counts datagrams accepted from the kernel, truncated and
	// malformed ones included.
	Datagrams uint64
	// Messages counts messages delivered to handlers.
	Messages uint64
	// Bytes counts the bytes of the accepted datagrams.
	Bytes uint64
	// Batches counts handler calls.
	Batches uint64
	// Overruns counts ENOBUFS reports: each one means lost messages.
	Overruns uint64
	// Truncations counts datagrams cut short (MSG_TRUNC).
	Truncations uint64
	// Malformed counts datagrams with an out-of-bounds message header.
	Malformed uint64
	// Spoofed counts datagrams dropped because their sender was not the
	// kernel.
	Spoofed uint64
	// HandlerTime is the time spent in handlers, measured once per batch.
	HandlerTime time.Duration
}

func (s *Stats) add(o *Stats) {
	s.Wakeups += o.Wakeups
	s.Syscalls += o.Syscalls
	s.Datagrams += o.Datagrams
	s.Messages += o.Messages
	s.Bytes += o.Bytes
	s.Batches += o.Batches
	s.Overruns += o.Overruns
	s.Truncations += o.Truncations
	s.Malformed += o.Malformed
	s.Spoofed += o.Spoofed
	s.HandlerTime += o.HandlerTime
}

// counters is the atomic form of Stats. Only the loop goroutine writes;
// anyone may read.
type counters struct {
	wakeups, syscalls, datagrams, messages, bytes, batches  atomic.Uint64
	overruns, truncations, malformed, spoofed, handlerNanos atomic.Uint64
}

// add publishes s; zero fields cost a load and a branch, not an atomic add.
func (c *counters) add(s *Stats) {
	for _, f := range [...]struct {
		v *atomic.Uint64
		n uint64
	}{
		{&c.wakeups, s.Wakeups}, {&c.syscalls, s.Syscalls}, {&c.datagrams, s.Datagrams},
		{&c.messages, s.Messages}, {&c.bytes, s.Bytes}, {&c.batches, s.Batches},
		{&c.overruns, s.Overruns}, {&c.truncations, s.Truncations}, {&c.malformed, s.Malformed},
		{&c.spoofed, s.Spoofed}, {&c.handlerNanos, uint64(s.HandlerTime)},
	} {
		if f.n != 0 {
			f.v.Add(f.n)
		}
	}
}

func (c *counters) load() Stats {
	return Stats{
		Wakeups:     c.wakeups.Load(),
		Syscalls:    c.syscalls.Load(),
		Datagrams:   c.datagrams.Load(),
		Messages:    c.messages.Load(),
		Bytes:       c.bytes.Load(),
		Batches:     c.batches.Load(),
		Overruns:    c.overruns.Load(),
		Truncations: c.truncations.Load(),
		Malformed:   c.malformed.Load(),
		Spoofed:     c.spoofed.Load(),
		HandlerTime: time.Duration(c.handlerNanos.Load()),
	}
}
