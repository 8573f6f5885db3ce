//go:build linux

package rtnl

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// Test hooks: waitLookedUp, if set, runs after WaitForLink's first
// look-up found nothing and before it reads notifications; waitResync
// runs when lost notifications make it look again.
var waitLookedUp, waitResync func()

// lookupBuffer is the receive buffer of WaitForLink's look-up socket: a
// caller's small buffer for notifications must not make the kernel drop
// the ACK that follows a link's description (several KiB).
const lookupBuffer = 256 << 10

// errFound stops a walk once the wanted link is seen.
var errFound = errors.New("rtnl: link found")

// WaitForLink waits until a link named name exists and returns it (Guile's
// wait-for-link). opts are nl.DialRoute's: nl.WithNetNS chooses the
// namespace; nl.WithReadBuffer sizes the notification socket only (the
// look-up socket keeps a buffer that always holds a reply and its ACK).
//
// It is driven by the kernel's notifications, not by polling: it joins
// RTNLGRP_LINK on one socket first, then asks for the link on another, and
// only then reads the notifications queued since the join, so a link that
// appears at any moment is seen. If notifications were lost (ENOBUFS) it
// asks again. ctx bounds the wait; its end returns ctx's error.
//
// Costs: two sockets, opened and closed here; one request; then one receive
// per link notification (decoded without allocating).
func WaitForLink(ctx context.Context, name string, opts ...nl.Option) (Link, error) {
	if len(name) >= NameLen || name == "" {
		return Link{}, fmt.Errorf("rtnl: wait for link %q: a name has 1 to %d bytes", name, NameLen-1)
	}
	l, err := waitLink(ctx, LinkFilter{Name: name}, nil, opts)
	if err != nil {
		return Link{}, fmt.Errorf("rtnl: wait for link %q: %w", name, err)
	}
	return l, nil
}

// WaitForLinkFunc waits until a link for which match returns true exists
// (or, for a link that changes, until a change makes match true) and
// returns that link. It works as WaitForLink, with a dump of every link in
// place of the single look-up; match runs on the calling goroutine and
// must not keep its argument.
func WaitForLinkFunc(ctx context.Context, match func(l *Link) bool, opts ...nl.Option) (Link, error) {
	l, err := waitLink(ctx, LinkFilter{}, match, opts)
	if err != nil {
		return Link{}, fmt.Errorf("rtnl: wait for link: %w", err)
	}
	return l, nil
}

func waitLink(ctx context.Context, f LinkFilter, match func(*Link) bool, opts []nl.Option) (Link, error) {
	if err := ctx.Err(); err != nil {
		return Link{}, err
	}
	// Events first: whatever happens after this join is queued.
	ev, err := nl.DialRoute(append(opts[:len(opts):len(opts)], nl.WithGroups(GroupLink))...)
	if err != nil {
		return Link{}, err
	}
	defer ev.Close()
	req, err := nl.DialRoute(append(opts[:len(opts):len(opts)], nl.WithReadBuffer(lookupBuffer))...)
	if err != nil {
		return Link{}, err
	}
	defer req.Close()

	var found Link
	take := func(l *Link) error {
		if match != nil && !match(l) {
			return nil
		}
		found = *l
		return errFound
	}
	lookup := func() (bool, error) {
		err := ForEachLinkMatching(ctx, req, f, take)
		if errors.Is(err, errFound) {
			return true, nil
		}
		return false, err
	}
	if ok, err := lookup(); ok || err != nil {
		return found, err
	}
	if waitLookedUp != nil {
		waitLookedUp()
	}

	// The receive wakes when ctx ends; the socket's deadline is left
	// as it was.
	stop := ev.InterruptOnDone(ctx)
	defer stop()
	var l Link
	for {
		err := ev.ReceiveFunc(func(m nl.Message, _ int32) error {
			if m.Header.Type != TypeNewLink || l.UnmarshalBinary(m.Data) != nil || !f.Match(&l) {
				return nil
			}
			return take(&l)
		})
		switch {
		case errors.Is(err, errFound):
			return found, nil
		case errors.Is(err, unix.ENOBUFS):
			// Notifications were lost: the link may have appeared
			// among them, so look again.
			if waitResync != nil {
				waitResync()
			}
			if ok, err := lookup(); ok || err != nil {
				return found, err
			}
		case err != nil:
			if cerr := ctx.Err(); cerr != nil {
				return Link{}, cerr
			}
			return Link{}, err
		}
	}
}
