//go:build linux

package sockdiag

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
)

// Dial opens a NETLINK_SOCK_DIAG socket, with nl's options (nl.WithNetNS
// for the sockets of another namespace). A dump lists the sockets of the
// namespace the socket was opened in. Any process may dump; the kernel
// reports marks (INET_DIAG_MARK) only to one with CAP_NET_ADMIN, and
// Destroy needs CAP_NET_ADMIN.
func Dial(opts ...nl.Option) (*nl.Conn, error) {
	return nl.Dial(unix.NETLINK_SOCK_DIAG, nl.Addr{}, opts...)
}

// ForEach dumps the TCP and UDP sockets that pass f (SOCK_DIAG_BY_FAMILY
// with NLM_F_DUMP, one request per family and protocol; `ss -tuna`) and
// calls fn for each, decoding straight from the socket's receive buffer:
// *s is reused for the next socket and is valid only until fn returns. If
// fn returns an error the walk stops and that error is returned; the rest
// of the dump is drained by the next request on c.
//
// Costs: per family and protocol one send and one receive per datagram
// (a 32 KiB datagram holds about 230 sockets without extensions); no
// allocation per socket but a congestion control name the package does
// not know. Sockets that fail to decode are skipped and reported, joined,
// after the dump. A kernel without the family's or protocol's diag module
// (CONFIG_INET_DIAG, CONFIG_INET_TCP_DIAG, CONFIG_INET_UDP_DIAG) answers
// with an error matching unix.ENOENT.
func ForEach(ctx context.Context, c *nl.Conn, f Filter, fn func(s *Socket) error) error {
	qs, err := f.queries()
	if err != nil {
		return fmt.Errorf("sockdiag: dump: %w", err)
	}
	reqs, err := f.Requests()
	if err != nil {
		return fmt.Errorf("sockdiag: dump: %w", err)
	}
	var s Socket
	var decErr, fnErr error
	for i, req := range reqs {
		proto := qs[i].proto
		err := c.ExecuteFunc(ctx, req, func(m nl.Message) error {
			if m.Header.Type != TypeByFamily {
				return nil
			}
			s = Socket{Protocol: proto}
			if err := s.decode(m.Data); err != nil {
				decErr = joinCapped(decErr, err)
				return nil
			}
			if !f.Match(&s) {
				return nil
			}
			fnErr = fn(&s)
			return fnErr
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
			return dumpErr(fmt.Sprintf("dump %v %v", qs[i].family, proto), err, decErr)
		}
		if err != nil {
			decErr = errors.Join(fmt.Errorf("sockdiag: dump %v %v: %w", qs[i].family, proto, err), decErr)
		}
	}
	return decErr
}

// Append dumps the sockets that pass f and appends them to dst, which it
// returns. Passing the previous result as dst[:0] reuses its memory: a
// dump then allocates nothing per socket. On error, dst holds the sockets
// received; with nl.ErrDumpInterrupted that is the whole (possibly
// inconsistent) dump.
func Append(ctx context.Context, c *nl.Conn, dst []Socket, f Filter) ([]Socket, error) {
	err := ForEach(ctx, c, f, func(s *Socket) error {
		dst = append(dst, *s)
		return nil
	})
	return dst, err
}

// List returns the sockets that pass f. It is Append(ctx, c, nil, f).
func List(ctx context.Context, c *nl.Conn, f Filter) ([]Socket, error) {
	return Append(ctx, c, nil, f)
}

// errBreak stops a walk when the loop's body breaks.
var errBreak = errors.New("sockdiag: iteration stopped")

// seq turns a ForEach-style walk into a sequence: a copy of each value,
// then, if the walk failed, one zero value with the error.
func seq[T any](walk func(fn func(*T) error) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		err := walk(func(v *T) error {
			if !yield(*v, nil) {
				return errBreak
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBreak) {
			var zero T
			yield(zero, err)
		}
	}
}

// Sockets dumps the sockets that pass f (ForEach) as a sequence:
//
//	for s, err := range sockdiag.Sockets(ctx, c, sockdiag.Filter{Protocol: sockdiag.ProtoTCP}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(&s)
//	}
//
// It yields a copy of each socket, then, if the dump failed, one zero
// Socket with the error ForEach would return. Breaking out of the loop
// stops reading; the rest of the dump is drained by the next request on
// c. Cost: one copy of the Socket per step over ForEach.
func Sockets(ctx context.Context, c *nl.Conn, f Filter) iter.Seq2[Socket, error] {
	return seq(func(fn func(*Socket) error) error { return ForEach(ctx, c, f, fn) })
}

// ForEachUnix dumps the Unix sockets that pass f (SOCK_DIAG_BY_FAMILY for
// AF_UNIX; `ss -xa`) as ForEach does inet ones: *u is reused, and valid
// only until fn returns. It allocates the Path of each named socket. A
// kernel without CONFIG_UNIX_DIAG answers with an error matching
// unix.ENOENT.
func ForEachUnix(ctx context.Context, c *nl.Conn, f UnixFilter, fn func(u *UnixSocket) error) error {
	var u UnixSocket
	var decErr, fnErr error
	err := c.ExecuteFunc(ctx, f.Request(), func(m nl.Message) error {
		if m.Header.Type != TypeByFamily {
			return nil
		}
		u = UnixSocket{}
		if err := u.decode(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		if !f.Match(&u) {
			return nil
		}
		fnErr = fn(&u)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dumpErr("dump unix", err, decErr)
}

// AppendUnix dumps the Unix sockets that pass f and appends them to dst,
// as Append does.
func AppendUnix(ctx context.Context, c *nl.Conn, dst []UnixSocket, f UnixFilter) ([]UnixSocket, error) {
	err := ForEachUnix(ctx, c, f, func(u *UnixSocket) error {
		dst = append(dst, *u)
		return nil
	})
	return dst, err
}

// ListUnix returns the Unix sockets that pass f.
func ListUnix(ctx context.Context, c *nl.Conn, f UnixFilter) ([]UnixSocket, error) {
	return AppendUnix(ctx, c, nil, f)
}

// UnixSockets dumps the Unix sockets that pass f (ForEachUnix) as a
// sequence, as Sockets does.
func UnixSockets(ctx context.Context, c *nl.Conn, f UnixFilter) iter.Seq2[UnixSocket, error] {
	return seq(func(fn func(*UnixSocket) error) error { return ForEachUnix(ctx, c, f, fn) })
}

// ErrNoDestroy reports a kernel built without CONFIG_INET_DIAG_DESTROY,
// which cannot close sockets for SOCK_DESTROY (EOPNOTSUPP).
var ErrNoDestroy = errors.New("sockdiag: the kernel cannot destroy sockets (it lacks CONFIG_INET_DIAG_DESTROY)")

// Destroy closes the TCP or UDP socket s (SOCK_DESTROY; `ss -K`), found
// by its family, protocol, addresses, ports, interface and, if not zero,
// cookie (a socket made anew with the same tuple has another cookie, and
// is left alone): a TCP connection is aborted (its owner's calls fail
// with ECONNABORTED; the peer gets a reset), a listener stops listening; a
// UDP socket's owner gets ECONNABORTED and the socket is disconnected (one
// bound with an explicit port stays bound, and listed).
// Pass a Socket from a dump.
//
// The TCP listener of an MPTCP socket (a Go 1.24+ listener's, by
// default) is listed by TCP dumps but the kernel refuses to destroy it
// with EINVAL.
//
// Errors: unix.ENOENT if no such socket exists (any more); unix.EPERM
// without CAP_NET_ADMIN; ErrNoDestroy (with unix.EOPNOTSUPP) on a kernel
// without CONFIG_INET_DIAG_DESTROY. One request and its ACK.
func Destroy(ctx context.Context, c *nl.Conn, s Socket) error {
	m, err := exactRequest(TypeDestroy, &s, 0)
	if err == nil {
		err = c.ExecuteFunc(ctx, m, func(nl.Message) error { return nil })
		if errors.Is(err, unix.EOPNOTSUPP) {
			err = fmt.Errorf("%w: %w", ErrNoDestroy, err)
		}
	}
	if err != nil {
		return fmt.Errorf("sockdiag: destroy %v %v %v -> %v: %w", s.Family, s.Protocol, s.Src, s.Dst, err)
	}
	return nil
}

// Get asks the kernel for the one TCP or UDP socket that s names (its
// family, protocol, addresses, ports, interface and, if not zero, cookie;
// SOCK_DIAG_BY_FAMILY without NLM_F_DUMP), with the extensions ext: a
// fresh look at a socket from a dump. A socket that no longer exists, or
// whose cookie differs, is an error matching unix.ENOENT. One request and
// its reply.
func Get(ctx context.Context, c *nl.Conn, s Socket, ext Extensions) (Socket, error) {
	q := s
	if q.Protocol == ProtoUDP {
		// The kernel's UDP lookup for one socket takes the request's
		// source as the remote end ("src and dst are swapped for
		// historical reasons", net/ipv4/udp_diag.c); its destroy does not.
		q.Src, q.Dst = s.Dst, s.Src
	}
	m, err := exactRequest(TypeByFamily, &q, ext)
	var got Socket
	found := false
	if err == nil {
		err = c.ExecuteFunc(ctx, m, func(r nl.Message) error {
			if r.Header.Type != TypeByFamily || found {
				return nil
			}
			found = true
			got.Protocol = s.Protocol
			return got.UnmarshalBinary(r.Data)
		})
	}
	if err == nil && !found {
		err = fmt.Errorf("%w: no SOCK_DIAG_BY_FAMILY in the reply", ErrMessageType)
	}
	if err != nil {
		return Socket{}, fmt.Errorf("sockdiag: get %v %v %v -> %v: %w", s.Family, s.Protocol, s.Src, s.Dst, err)
	}
	return got, nil
}

// DestroyMatching dumps the sockets that pass f and for which match (if
// not nil) returns true, destroys each (Destroy, by its cookie), and
// returns how many it destroyed; sockets gone meanwhile (ENOENT) do not
// count and are not errors: `ss -K` with a filter. Cost: a dump, then one
// request per socket.
func DestroyMatching(ctx context.Context, c *nl.Conn, f Filter, match func(*Socket) bool) (int, error) {
	var doomed []Socket
	err := ForEach(ctx, c, f, func(s *Socket) error {
		if match == nil || match(s) {
			doomed = append(doomed, *s)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i := range doomed {
		err := Destroy(ctx, c, doomed[i])
		switch {
		case err == nil:
			n++
		case errors.Is(err, unix.ENOENT):
		case ctx.Err() != nil, errors.Is(err, ErrNoDestroy), errors.Is(err, unix.EPERM):
			return n, errors.Join(append(errs, err)...)
		default:
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// maxDecodeErrors bounds the decoding errors kept from one dump.
const maxDecodeErrors = 8

func joinCapped(acc, err error) error {
	if acc == nil {
		return err
	}
	if j, ok := acc.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) >= maxDecodeErrors {
		return acc
	}
	return errors.Join(acc, err)
}

func dumpErr(what string, err, decErr error) error {
	if err != nil {
		err = fmt.Errorf("sockdiag: %s: %w", what, err)
	}
	return errors.Join(err, decErr)
}
