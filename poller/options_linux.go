//go:build linux

package poller

import (
	"log/slog"

	"github.com/nlrx/nlrx/nl"
)

// Defaults, chosen from the batch-grid benchmark recorded in
// bench/poller/RESULTS.md.
const (
	// DefaultBatchSize is the default number of datagrams one recvmmsg
	// call can return (vlen).
	DefaultBatchSize = 64
	// MinDatagramSize and MaxDatagramSize are nl's too; the defaults
	// differ, each for its use (see nl.DefaultDatagramSize).
	//
	// DefaultDatagramSize is the default buffer per datagram. The kernel
	// sizes dump datagrams from the reader's buffer up to 32 KiB (32,448
	// bytes of routes), so 32 KiB reads a 100,000-route dump in the fewest
	// datagrams; larger buffers only cost address space.
	DefaultDatagramSize = 32 << 10
	// DefaultBudget is the default number of datagrams read from one
	// socket per wake-up before the poller turns to the next ready socket.
	DefaultBudget = 256
	// DefaultMaxEvents is the default number of ready sockets taken from
	// one epoll_wait.
	DefaultMaxEvents = 128

	// MinDatagramSize is the smallest datagram buffer accepted: the
	// kernel's NLMSG_GOODSIZE, the size of its ordinary notifications.
	MinDatagramSize = 8 << 10
	// MaxDatagramSize bounds the growth of the datagram buffer after a
	// truncated datagram.
	MaxDatagramSize = 16 << 20
	// maxBatchSize is the kernel's UIO_MAXIOV, the largest vlen recvmmsg
	// takes.
	maxBatchSize = 1024
)

// Option configures New and NewGroup.
type Option func(*config)

type config struct {
	wait      waitMode
	batch     int
	datagram  int
	budget    int
	maxEvents int
	logger    *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{
		batch:     DefaultBatchSize,
		datagram:  DefaultDatagramSize,
		budget:    DefaultBudget,
		maxEvents: DefaultMaxEvents,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithBatchSize sets how many datagrams one recvmmsg call can return
// (vlen), from 1 to 1024. Each slot costs one datagram buffer of address
// space; only the pages datagrams actually reach become resident.
func WithBatchSize(n int) Option {
	return func(c *config) { c.batch = min(max(n, 1), maxBatchSize) }
}

// WithDatagramSize sets the buffer per datagram, at least MinDatagramSize.
// A datagram that does not fit is reported as Truncated and the buffers
// grow (up to MaxDatagramSize) so the next one fits; keeping the total
// batch memory about the same by lowering the batch size if needed.
func WithDatagramSize(bytes int) Option {
	return func(c *config) { c.datagram = min(max(bytes, MinDatagramSize), MaxDatagramSize) }
}

// WithBudget sets how many datagrams the poller reads from one socket per
// wake-up (at least 1) before it serves the next ready socket. A socket
// left with data stays ready (epoll is level-triggered) and is served again
// on the next round, after the others.
func WithBudget(datagrams int) Option {
	return func(c *config) { c.budget = max(datagrams, 1) }
}

// WithMaxEvents sets how many ready sockets one epoll_wait returns (at
// least 1).
func WithMaxEvents(n int) Option {
	return func(c *config) { c.maxEvents = max(n, 1) }
}

// waitMode is how the loop waits for readiness.
type waitMode uint8

const (
	// waitNetpoll parks the loop in the Go runtime's netpoller.
	waitNetpoll waitMode = iota
	// waitBlocking holds a thread in epoll_wait.
	waitBlocking
)

// WithDedicatedThread makes the loop wait in a blocking epoll_wait on a
// thread of its own instead of parking in the Go runtime's netpoller. Each
// event then costs one thread wake-up instead of a netpoller wake-up plus a
// goroutine switch: the cheapest way to read sockets that are not in the
// runtime's netpoller themselves, that is sockets dialled with
// nl.WithBlocking (BenchmarkScaleInterleaved: 0.5–0.6× the CPU per event of
// one goroutine per socket at 1, 64 and 1,024 sockets, against 1.0, 0.5 and
// 0.7–0.9× for the default). With ordinary nonblocking nl.Conns it costs
// more, not less: the runtime's netpoller still wakes for every event on
// its own thread. Costs one OS thread for the poller's lifetime.
func WithDedicatedThread() Option { return func(c *config) { c.wait = waitBlocking } }

// AddOption configures one registration.
type AddOption func(*Registration)

// WithData attaches a value to the registration, returned by
// Registration.Data: a token for handlers that serve several sockets.
func WithData(v any) AddOption { return func(r *Registration) { r.data = v } }

// WithAnySender accepts datagrams from any sender, not only the kernel.
// Only for protocols where user-space peers talk to each other: by default
// a datagram whose sender port id is not 0 is dropped and counted in
// Stats.Spoofed, since anything in it can be forged.
func WithAnySender() AddOption { return func(r *Registration) { r.anySender = true } }

// WithFraming sets how the registration's datagrams are read (see
// nl.Framing): nl.FramingRaw delivers each datagram as one message
// (nl.RawMessage, with the sender's port id in its header), for protocols
// that are not netlink-framed such as NETLINK_KOBJECT_UEVENT. Add takes the
// Conn's framing by itself; this option is for AddFD, or to override it.
func WithFraming(f nl.Framing) AddOption { return func(r *Registration) { r.framing = f } }

// WithNSID makes the poller read the namespace id of every datagram from
// the socket (the NETLINK_LISTEN_ALL_NSID control message) and report it
// in Batch.NSIDs, one per message. The socket must have been dialled with
// nl.WithListenAllNSID (or have the option set, for AddFD): only then does
// it receive the notifications of the other namespaces that have an id in
// its own, and only then does the kernel tag them. Messages from the
// socket's own namespace, and every message of a socket without the
// option, read nl.NSIDNotAssigned.
//
// Control data cut short (MSG_CTRUNC, which the 128 bytes kept per
// datagram leave no room for with netlink's control messages) would lose
// the id: such a datagram is reported as Truncated rather than delivered
// as the socket's own namespace's.
//
// Cost, for this registration only: a 128-byte control buffer per batch
// slot (made once per poller), 4 bytes per message, and the kernel's work
// of writing the control message: BenchmarkBurstNSID measured from 4 to 16
// percent more CPU per event than without WithNSID (1.24–1.25 µs against
// 1.29–1.44 µs, two runs on a loaded machine), nearly all of it in
// recvmmsg; the parse does not show in a profile. Registrations without it
// read no control data and pay nothing.
func WithNSID() AddOption { return func(r *Registration) { r.nsid = true } }

// WithLogger makes the poller log, at Warn and once per delivered batch
// with the counts, what it drops or reports instead of messages: datagrams
// from a sender other than the kernel (spoofed: dropped), truncated and
// malformed datagrams, and overruns (ENOBUFS: the kernel dropped messages).
// The handler runs on the poller's goroutine, before the batch's handler;
// it must not block. Without this option nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
