package nl

// Option configures Dial and DialRoute.
type Option func(*config)

type config struct {
	groups        []uint32
	netns         string
	readBuffer    int
	writeBuffer   int
	datagramSize  int
	blocking      bool
	sockFlags     int
	noStrict      bool
	anySender     bool
	listenAllNSID bool
	framing       Framing
	framingSet    bool
}

// The sizes of a Conn's user-space receive buffer. MinDatagramSize and
// MaxDatagramSize are the poller's too (poller.MinDatagramSize…); the
// defaults differ, each for its use.
const (
	// DefaultDatagramSize is the default. The kernel sizes dump datagrams
	// from the reader's largest buffer up to 32 KiB (netlink_recvmsg's
	// max_recvmsg_len), except where a dump needs more for one message
	// (cb->min_dump_alloc: a link with many SR-IOV VFs), so a request
	// socket gets twice that: a datagram cut short is an error, not a
	// retry. A poller's buffer per datagram is 32 KiB by default: it has
	// 64 of them, and a truncated notification costs a resync, not a
	// failed request.
	DefaultDatagramSize = 64 << 10
	// MinDatagramSize is the smallest WithDatagramSize accepts: the
	// kernel's NLMSG_GOODSIZE, the size of its ordinary notifications.
	MinDatagramSize = 8 << 10
	// MaxDatagramSize bounds the growth of the buffer after a truncated
	// datagram.
	MaxDatagramSize = 16 << 20
)

// WithGroups joins the given multicast groups (RTNLGRP_* for rtnetlink) right
// after bind, with NETLINK_ADD_MEMBERSHIP, so any group number works, not
// only 1–32.
func WithGroups(groups ...uint32) Option {
	return func(c *config) { c.groups = append(c.groups, groups...) }
}

// WithNetNS opens the socket inside the network namespace at path (for
// example /run/netns/NAME or /proc/PID/ns/net). The socket stays bound to
// that namespace for its whole life. The calling goroutine's thread is not
// touched: the socket is made on a separate locked thread.
func WithNetNS(path string) Option { return func(c *config) { c.netns = path } }

// WithReadBuffer sets the socket's kernel receive buffer (SO_RCVBUFFORCE,
// falling back to SO_RCVBUF without CAP_NET_ADMIN, where the kernel caps it
// at twice net.core.rmem_max). The kernel doubles the value; the effective
// size is Conn.ReadBufferSize. Event sockets need several MiB to absorb
// bursts: each queued route event costs about 832 bytes.
func WithReadBuffer(bytes int) Option { return func(c *config) { c.readBuffer = bytes } }

// WithWriteBuffer sets SO_SNDBUF (SO_SNDBUFFORCE when permitted). A sent
// datagram must be at most the send buffer minus 32 bytes.
func WithWriteBuffer(bytes int) Option { return func(c *config) { c.writeBuffer = bytes } }

// WithDatagramSize sets the size of the Conn's user-space receive buffer
// (from MinDatagramSize to MaxDatagramSize; DefaultDatagramSize if unset).
// The buffer grows by itself after a truncated datagram, up to
// MaxDatagramSize.
func WithDatagramSize(bytes int) Option {
	return func(c *config) { c.datagramSize = min(max(bytes, MinDatagramSize), MaxDatagramSize) }
}

// WithBlocking makes a blocking socket. Receive then blocks an OS thread
// instead of parking in the Go runtime's netpoller, and neither Close nor a
// context can interrupt it. Sockets are nonblocking by default.
func WithBlocking() Option { return func(c *config) { c.blocking = true } }

// WithSocketFlags adds flags to the type argument of socket(2), as Guile's
// #:flags does. SOCK_CLOEXEC is always set, SOCK_NONBLOCK unless WithBlocking.
func WithSocketFlags(flags int) Option { return func(c *config) { c.sockFlags |= flags } }

// WithoutStrictCheck leaves NETLINK_GET_STRICT_CHK off. With it on (the
// default for NETLINK_ROUTE), the kernel rejects malformed dump requests and
// applies dump filters (table, device …) itself.
func WithoutStrictCheck() Option { return func(c *config) { c.noStrict = true } }

// WithAnySender accepts datagrams from any sender, not only the kernel. Only
// for protocols where user-space peers talk to each other (NETLINK_USERSOCK,
// for instance): by default a datagram whose sender port id is not 0 is
// dropped and counted in Stats.Spoofed, because anything else can be forged.
func WithAnySender() Option { return func(c *config) { c.anySender = true } }

// WithListenAllNSID sets NETLINK_LISTEN_ALL_NSID: the socket also receives
// multicast messages from every namespace that has an id in the socket's
// namespace, each tagged with that id (see Conn.ReceiveFrom).
func WithListenAllNSID() Option { return func(c *config) { c.listenAllNSID = true } }

// WithFraming overrides the framing Dial picks from the protocol
// (ProtocolFraming): how the socket's datagrams are read. Needed only for a
// protocol this package does not know, or for a test.
func WithFraming(f Framing) Option {
	return func(c *config) { c.framing, c.framingSet = f, true }
}
