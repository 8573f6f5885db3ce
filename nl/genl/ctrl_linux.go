//go:build linux

package genl

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// Dial opens a generic netlink (NETLINK_GENERIC) socket bound to a port the
// kernel picks; opts are nl's (nl.WithNetNS, nl.WithGroups …). It is the
// counterpart of Guile-Netlink's connect-generic. Cost: that of nl.Dial.
func Dial(opts ...nl.Option) (*nl.Conn, error) {
	c, err := nl.Dial(unix.NETLINK_GENERIC, nl.Addr{}, opts...)
	if err != nil {
		return nil, fmt.Errorf("genl: %w", err)
	}
	return c, nil
}

// familyRequest returns CTRL_CMD_GETFAMILY for name, or the dump of every
// family for "".
func familyRequest(name string) nl.Message {
	h := Header{Command: CmdGetFamily, Version: ControllerVersion}
	if name == "" {
		return NewRequest(ControllerID, nl.FlagRequest|nl.FlagDump, h, nil)
	}
	e := nl.NewAttributeEncoder(make([]byte, 0, len(name)+8))
	e.String(attrFamilyName, name)
	b, _ := e.Bytes()
	return NewRequest(ControllerID, nl.FlagRequest, h, b)
}

// GetFamily asks the controller for the family named name
// (CTRL_CMD_GETFAMILY; Guile's family-id and `genl ctrl get name NAME`)
// and returns its id, version, header size, operations and multicast
// groups. A family the kernel does not have (or does not show in this
// network namespace) fails with an error matching unix.ENOENT. One request
// and its reply.
func GetFamily(ctx context.Context, c *nl.Conn, name string) (Family, error) {
	var f Family
	found := false
	err := c.ExecuteFunc(ctx, familyRequest(name), func(m nl.Message) error {
		if found || m.Header.Type != ControllerID {
			return nil
		}
		found = true
		return f.UnmarshalBinary(m.Data)
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: no reply describes a family", ErrNotController)
	}
	if err != nil {
		return Family{}, fmt.Errorf("genl: get family %q: %w", name, err)
	}
	return f, nil
}

// ListFamilies returns every family the controller shows in the socket's
// network namespace, in the kernel's order (by id), as `genl ctrl list`
// does (Guile's get-families). One dump; it allocates each family's
// strings and slices.
func ListFamilies(ctx context.Context, c *nl.Conn) ([]Family, error) {
	var out []Family
	var decErr error
	err := c.ExecuteFunc(ctx, familyRequest(""), func(m nl.Message) error {
		if m.Header.Type != ControllerID {
			return nil
		}
		var f Family
		if err := f.UnmarshalBinary(m.Data); err != nil {
			if decErr == nil {
				decErr = err
			}
			return nil
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("genl: list families: %w", err)
	}
	return out, decErr
}

// JoinGroup resolves the multicast group named group of the family named
// family and joins it on c (NETLINK_ADD_MEMBERSHIP), returning the group.
// The look-up is a request on c, so call it before c starts receiving
// notifications. A missing family fails with an error matching
// unix.ENOENT; a family without that group fails naming the groups it has.
func JoinGroup(ctx context.Context, c *nl.Conn, family, group string) (MulticastGroup, error) {
	f, err := GetFamily(ctx, c, family)
	if err != nil {
		return MulticastGroup{}, err
	}
	g, ok := f.Group(group)
	if !ok {
		names := make([]string, len(f.Groups))
		for i, g := range f.Groups {
			names[i] = g.Name
		}
		return MulticastGroup{}, fmt.Errorf("genl: family %q has no multicast group %q (it has %q)", family, group, names)
	}
	if err := c.JoinGroup(g.ID); err != nil {
		return MulticastGroup{}, fmt.Errorf("genl: join %s/%s: %w", family, group, err)
	}
	return g, nil
}
