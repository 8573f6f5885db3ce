//go:build linux

package rtnl

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// AddLink creates the link l with the kind-specific options of info (`ip
// link add`): a Veth with its peer, a VLAN on its parent, a Bridge, a Bond,
// or any LinkInfo. l gives the name and, optionally, MTU, Address, TxQLen,
// Group, Master and Flags (LinkUp to create it up); a nil info sends l.Kind
// alone. A name already taken fails with an error matching unix.EEXIST; a
// kind the kernel lacks (its module is not loaded) fails with
// unix.EOPNOTSUPP and the text "Unknown device type". One request and its
// ACK.
func AddLink(ctx context.Context, c *nl.Conn, l Link, info LinkInfo) error {
	kind := l.Kind.String()
	if info != nil {
		kind = info.LinkKind()
	}
	m, err := NewLinkRequest(l, info)
	return execute(ctx, c, m, err, fmt.Sprintf("add link %s type %s", l.Name, kind))
}

// DeleteLink deletes the link with the given index (RTM_DELLINK; `ip link
// del`). Deleting one end of a veth pair deletes both. A missing link fails
// with an error matching unix.ENODEV. One request and its ACK.
func DeleteLink(ctx context.Context, c *nl.Conn, index uint32) error {
	l := Link{Index: index}
	m, err := l.Message(TypeDelLink, nl.FlagRequest)
	if err == nil && index == 0 {
		err = errors.New("no link index")
	}
	return execute(ctx, c, m, err, fmt.Sprintf("delete link %d", index))
}

// SetLink applies settings to the link with the given index in one request
// (`ip link set`): Up, Down, WithMTU, WithName, WithHardwareAddr,
// WithTxQueueLen, WithMaster, NoMaster, WithGroup, WithAlias, MoveToNamespace,
// Promisc, Multicast, AllMulticast, ARP, WithFlags. The kernel applies all
// or reports the first failure as an *nl.Error; a missing link fails with
// an error matching unix.ENODEV. One request and its ACK.
func SetLink(ctx context.Context, c *nl.Conn, index uint32, settings ...LinkSetting) error {
	m, err := SetLinkRequest(index, settings...)
	return execute(ctx, c, m, err, fmt.Sprintf("set link %d", index))
}

// ForEachLinkMatching calls fn for each link that passes f (`ip link show`
// with filters); *l is valid only until fn returns. A Name or Master that
// no link has selects nothing, without an error. Costs: one dump, or one
// request for a Name; no allocation per link. An interrupted dump is
// reported, not retried, as ForEachRoute says.
func ForEachLinkMatching(ctx context.Context, c *nl.Conn, f LinkFilter, fn func(l *Link) error) error {
	return forEachLink(ctx, c, f, false, fn)
}

func forEachLink(ctx context.Context, c *nl.Conn, f LinkFilter, restart bool, fn func(l *Link) error) error {
	if len(f.Name) >= NameLen {
		return nil // no link can have such a name
	}
	var l Link
	var decErr, fnErr error
	err := c.ExecuteFunc(ctx, f.Request(), func(m nl.Message) error {
		if m.Header.Type != TypeNewLink {
			return nil
		}
		if interrupted(restart, m) {
			return errRestart
		}
		if err := l.UnmarshalBinary(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		if !f.Match(&l) {
			return nil
		}
		fnErr = fn(&l)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if f.Name != "" && errors.Is(err, unix.ENODEV) {
		return decErr
	}
	return dumpErr("show links", err, decErr)
}

// ListLinksMatching returns the links that pass f, in the kernel's order
// (by index). It allocates the slice. An interrupted dump is retried as
// AppendRoutes says.
func ListLinksMatching(ctx context.Context, c *nl.Conn, f LinkFilter, opts ...DumpOption) ([]Link, error) {
	return collect[Link](nil, opts, func(restart bool, fn func(*Link) error) error {
		return forEachLink(ctx, c, f, restart, fn)
	})
}

// LinkIndex returns the index of the link named name (Guile's
// link-name->index). A missing link fails with an error matching
// unix.ENODEV. One request and its reply.
func LinkIndex(ctx context.Context, c *nl.Conn, name string) (uint32, error) {
	l, err := LinkByName(ctx, c, name)
	return l.Index, err
}

// LinkName returns the name of the link with the given index (Guile's
// link-index->name). A missing link fails with an error matching
// unix.ENODEV. One request and its reply; the string is allocated.
func LinkName(ctx context.Context, c *nl.Conn, index uint32) (string, error) {
	l, err := LinkByIndex(ctx, c, index)
	if err != nil {
		return "", err
	}
	return l.Name.String(), nil
}
