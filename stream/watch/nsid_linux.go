//go:build linux

package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// ByNSID makes one watcher per network namespace, with newWatcher (Routes,
// Links, Addresses …) and opts, and returns them keyed by the id each
// namespace has in the namespace of c: the key that poller.Batch.NSID and
// stream.NSMessage give the same namespace's notifications on a socket
// there that listens to every namespace (nl.WithListenAllNSID), so that
// such a stream and the watchers' tables can be matched. c's own
// namespace, if among paths, is keyed nl.NSIDNotAssigned, as the kernel
// tags its messages whatever id it may hold for itself.
//
// A namespace that has no id in c's gets one, the kernel's choice
// (rtnl.SetNSID; needs CAP_NET_ADMIN there): without it, a socket
// listening to all namespaces would not hear that one. Each watcher is
// opened in its namespace (WithNetNS(path)) and its events are labelled
// "nsid N" unless opts has a WithLabel; give opts a WithPoller to read them
// all from one goroutine. Two paths that name the same namespace are an
// error. On error the watchers made so far are closed.
//
// Each watcher keeps its own sockets in its namespace, since a dump can
// only be made there, and with them every guarantee of a single watcher;
// the ids serve to name them. Cost per namespace: an open, a GetNSID (and a
// SetNSID), and the watcher's own.
func ByNSID[W io.Closer](ctx context.Context, c *nl.Conn, paths []string, newWatcher func(opts ...Option) (W, error), opts ...Option) (map[int32]W, error) {
	own, err := connNetNS(c)
	if err != nil {
		return nil, fmt.Errorf("watch: namespaces by id: %w", err)
	}
	out := make(map[int32]W, len(paths))
	from := make(map[int32]string, len(paths))
	fail := func(err error) (map[int32]W, error) {
		for _, w := range out {
			w.Close()
		}
		return nil, fmt.Errorf("watch: namespaces by id: %w", err)
	}
	for _, path := range paths {
		id, err := nsidOf(ctx, c, path, own)
		if err != nil {
			return fail(err)
		}
		if prev, dup := from[id]; dup {
			return fail(fmt.Errorf("%s and %s are the same namespace (nsid %d)", prev, path, id))
		}
		wopts := append([]Option{WithLabel(fmt.Sprintf("nsid %d", id))}, opts...)
		w, err := newWatcher(append(wopts, WithNetNS(path))...)
		if err != nil {
			return fail(err)
		}
		out[id], from[id] = w, path
	}
	return out, nil
}

// fileID identifies a namespace file, as the kernel's nsfs numbers them.
type fileID struct{ dev, ino uint64 }

func statID(fd int) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileID{}, os.NewSyscallError("fstat", err)
	}
	return fileID{st.Dev, st.Ino}, nil
}

// connNetNS identifies the network namespace of c's socket
// (ioctl SIOCGSKNS, Linux 4.9).
func connNetNS(c *nl.Conn) (fileID, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return fileID{}, err
	}
	var id fileID
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		nsfd, _, e := unix.Syscall(unix.SYS_IOCTL, fd, unix.SIOCGSKNS, 0)
		if e != 0 {
			ierr = fmt.Errorf("the socket's namespace: %w", os.NewSyscallError("ioctl SIOCGSKNS", e))
			return
		}
		id, ierr = statID(int(nsfd))
		unix.Close(int(nsfd))
	}); err != nil {
		return fileID{}, err
	}
	return id, ierr
}

// nsidOf returns the id the namespace at path has in c's, assigning one if
// it has none; own is c's namespace, which is NSIDNotAssigned.
func nsidOf(ctx context.Context, c *nl.Conn, path string, own fileID) (int32, error) {
	ns, err := nl.OpenNetNS(path)
	if err != nil {
		return 0, err
	}
	defer ns.Close()
	fid, err := statID(ns.FD())
	if err != nil {
		return 0, err
	}
	if fid == own {
		return nl.NSIDNotAssigned, nil
	}
	peer := rtnl.NSPeerFD(ns.FD())
	id, err := rtnl.GetNSID(ctx, c, peer)
	if err != nil || id != nl.NSIDNotAssigned {
		return id, err
	}
	// EEXIST: another process gave it one meanwhile, which GetNSID reads.
	if err := rtnl.SetNSID(ctx, c, peer, nl.NSIDNotAssigned); err != nil && !errors.Is(err, unix.EEXIST) {
		return 0, err
	}
	return rtnl.GetNSID(ctx, c, peer)
}
