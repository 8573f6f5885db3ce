// Package sockdiag speaks NETLINK_SOCK_DIAG: the kernel's tables of TCP,
// UDP and Unix sockets as Socket and UnixSocket values, as `ss -tuanx`
// lists them (without its process lookup), and SOCK_DESTROY.
//
// # Values
//
// A Socket is one TCP or UDP socket (struct inet_diag_msg and its
// INET_DIAG_* attributes): family, protocol, state, local and remote
// netip.AddrPort, bound interface, uid, inode, cookie, timer, queues, and
// the extensions asked for with Filter.Ext: a decoded part of tcp_info
// (RTT, congestion window, byte counts …), memory counters, congestion
// control, TOS and traffic class; the kernel adds the shutdown state, the
// cgroup id and, for a caller with CAP_NET_ADMIN, the mark. A UnixSocket is
// one Unix socket (struct unix_diag_msg): type, state, path, inode, peer
// inode, queues, VFS inode, uid. Both decode without allocating (but a
// Unix path), encode (AppendBinary) for tests and fake kernels, are
// comparable with ==, and print as ss prints them.
//
// # Filters
//
// A Filter chooses the families and protocols (one dump each), the
// states (the kernel's bitmask, States) and the extensions, and carries a
// port filter, an Expr, that the kernel runs on each socket: SrcPort and
// DstPort compare a port (==, >=, <= and their negations), And, Or and
// Not combine them, and ParseExpr reads ss's syntax (`sport = :80 or
// dport >= :1024`). Expr.Bytecode compiles one as ss does
// (INET_DIAG_REQ_BYTECODE); CheckBytecode applies the kernel's audit
// (inet_diag_bc_audit) and RunBytecode its interpreter, so that a program
// can be checked before it is sent.
//
// # Requests (Linux)
//
// Dial opens a NETLINK_SOCK_DIAG socket (nl.Dial with its options, such
// as nl.WithNetNS: a dump lists the sockets of the socket's namespace). On
// it:
//
//	ForEach(ctx, c, f, fn)        a callback on each socket, decoded in place
//	Append(ctx, c, ss[:0], f)     a slice you reuse: no allocation per socket
//	List(ctx, c, f)               a fresh slice
//	Sockets(ctx, c, f)            a range loop: for s, err := range …
//	ForEachUnix, AppendUnix, ListUnix, UnixSockets   the same for Unix sockets
//	Get(ctx, c, s, ext)           one socket again, by its tuple and cookie
//	Destroy(ctx, c, s)            close one socket (ss -K; CONFIG_INET_DIAG_DESTROY)
//	DestroyMatching(ctx, c, f, match)   dump, then destroy what match selects
//
// The codec and the filters build on every platform; the helpers that use
// a socket are Linux only.
package sockdiag
