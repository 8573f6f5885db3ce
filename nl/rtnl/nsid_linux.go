//go:build linux

package rtnl

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// NSPeer names a network namespace in a namespace-id request: a process
// in it (NSPeerPID) or an open namespace file (NSPeerFD). The zero value
// names none; requests with it fail without reaching the kernel.
type NSPeer struct {
	v    uint32
	kind uint8 // 0 none, peerPID, peerFD
}

const (
	peerPID = 1 + iota
	peerFD
)

// NSPeerPID names the network namespace of process pid (NETNSA_PID).
func NSPeerPID(pid int) NSPeer { return NSPeer{v: uint32(pid), kind: peerPID} }

// NSPeerFD names the network namespace of the open namespace file fd
// (NETNSA_FD): /run/netns/NAME or /proc/PID/ns/net opened, or
// (*nl.NetNS).FD().
func NSPeerFD(fd int) NSPeer { return NSPeer{v: uint32(fd), kind: peerFD} }

// String returns "pid N", "fd N" or "no namespace".
func (p NSPeer) String() string {
	switch p.kind {
	case peerPID:
		return fmt.Sprintf("pid %d", p.v)
	case peerFD:
		return fmt.Sprintf("fd %d", p.v)
	}
	return "no namespace"
}

// errNoPeer refuses a request with the zero NSPeer.
var errNoPeer = errors.New("rtnl: no namespace given (use NSPeerPID or NSPeerFD)")

// request returns the NSID that names p in a request.
func (p NSPeer) request() (NSID, error) {
	n := NSID{ID: NSIDNotAssigned}
	switch p.kind {
	case peerPID:
		n.PID = p.v
	case peerFD:
		n.FD, n.HasFD = p.v, true
	default:
		return n, errNoPeer
	}
	return n, nil
}

// GetNSID returns the id that the namespace of c gives peer (RTM_GETNSID;
// `ip netns id` run in the peer prints it), or NSIDNotAssigned if it has
// none; the socket's own namespace has none unless one was set. The
// kernel tags a datagram with its source's id only when that is another
// namespace: a socket's own namespace's messages always read
// NSIDNotAssigned, even when it holds an id for itself. A peer
// that names no namespace fails with the kernel's error (ESRCH for a
// missing process, EINVAL or EBADF for a file that is not a namespace).
// One request and its reply.
func GetNSID(ctx context.Context, c *nl.Conn, peer NSPeer) (int32, error) {
	n, err := peer.request()
	if err != nil {
		return NSIDNotAssigned, err
	}
	m, err := n.Message(TypeGetNSID, nl.FlagRequest)
	if err != nil {
		return NSIDNotAssigned, err
	}
	id := NSIDNotAssigned
	var decErr error
	err = c.ExecuteFunc(ctx, m, func(r nl.Message) error {
		if r.Header.Type != TypeNewNSID {
			return nil
		}
		var got NSID
		if decErr = got.UnmarshalBinary(r.Data); decErr == nil {
			id = got.ID
		}
		return nil
	})
	if err == nil {
		err = decErr
	}
	if err != nil {
		return NSIDNotAssigned, fmt.Errorf("rtnl: get namespace id of %v: %w", peer, err)
	}
	return id, nil
}

// SetNSID gives peer the id id in the namespace of c (RTM_NEWNSID; `ip
// netns set NAME ID`); with id NSIDNotAssigned the kernel picks the lowest
// free id (GetNSID tells which). From then on a socket there with
// nl.WithListenAllNSID hears the peer's notifications, tagged with the id,
// and a notification goes to RTNLGRP_NSID. An id is never changed: a
// peer that has one already, or an id in use, fails with an error matching
// unix.EEXIST. The id goes when the peer namespace does (RTM_DELNSID).
// Needs CAP_NET_ADMIN. One request and its ACK.
func SetNSID(ctx context.Context, c *nl.Conn, peer NSPeer, id int32) error {
	n, err := peer.request()
	what := fmt.Sprintf("set namespace id %s of %v", nsidText(id), peer)
	if err != nil {
		return fmt.Errorf("rtnl: %s: %w", what, err)
	}
	b := make([]byte, sizeofRtgenmsg, 32)
	e := nl.NewAttributeEncoder(b)
	e.Int32(netnsaNSID, id) // required, even to let the kernel choose
	n.appendRequest(e)
	b, err = e.Bytes()
	m := nl.Message{Header: nl.Header{Type: TypeNewNSID, Flags: nl.FlagRequest}, Data: b}
	return execute(ctx, c, m, err, what)
}

// ListNSIDs returns the ids the namespace of c has given its peers
// (RTM_GETNSID dump; `ip netns list-id`), in increasing order. The kernel
// says which ids exist, not which namespaces they name: GetNSID on a
// namespace's file or process gives its id. One request; one reply
// datagram per 32 KiB of entries.
func ListNSIDs(ctx context.Context, c *nl.Conn) ([]NSID, error) {
	req := nl.Message{
		Header: nl.Header{Type: TypeGetNSID, Flags: nl.FlagRequest | nl.FlagDump},
		Data:   make([]byte, sizeofRtgenmsg),
	}
	var out []NSID
	var decErr error
	err := c.ExecuteFunc(ctx, req, func(m nl.Message) error {
		if m.Header.Type != TypeNewNSID {
			return nil
		}
		var n NSID
		if err := n.UnmarshalBinary(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		out = append(out, n)
		return nil
	})
	return out, dumpErr("dump namespace ids", err, decErr)
}
