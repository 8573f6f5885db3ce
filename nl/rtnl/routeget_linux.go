//go:build linux

package rtnl

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
)

// GetRouteOptions describe the packet whose route GetRoute looks up, as the
// arguments of `ip route get` do. The zero value is a locally sent packet
// with no source, mark or interface constraint.
type GetRouteOptions struct {
	Src  netip.Addr // RTA_SRC: the packet's source address (`from`)
	IIF  uint32     // RTA_IIF: the packet arrives on this interface (`iif`); a forwarding look-up, which needs Src
	OIF  uint32     // RTA_OIF: the packet must leave through this interface (`oif`)
	Mark uint32     // RTA_MARK: the packet's firewall mark (`mark`)
	// FIBMatch returns the routing-table entry that matched (RTM_F_FIB_MATCH;
	// `ip route get fibmatch`), with its prefix, protocol, metrics and
	// next hops, instead of the route resolved for this one destination.
	FIBMatch bool
}

// GetRouteRequest returns the RTM_GETROUTE request for dst: dst as a
// host prefix, the options as attributes, and RTM_F_LOOKUP_TABLE for IPv4
// so that the reply names the table that matched (IPv6 replies always do).
// One allocation.
func GetRouteRequest(dst netip.Addr, o GetRouteOptions) (nl.Message, error) {
	if !dst.IsValid() {
		return nl.Message{}, fmt.Errorf("rtnl: get route: invalid destination")
	}
	r := Route{Dst: netip.PrefixFrom(dst, dst.BitLen()), IIF: o.IIF, OIF: o.OIF, Mark: o.Mark}
	r.Family = r.family()
	if o.Src.IsValid() {
		r.Src = netip.PrefixFrom(o.Src, o.Src.BitLen())
	}
	if r.Family == FamilyInet {
		r.Flags |= RouteFlagLookupTable
	}
	if o.FIBMatch {
		r.Flags |= RouteFlagFIBMatch
	}
	return r.Message(TypeGetRoute, nl.FlagRequest)
}

// GetRoute asks the kernel which route a packet to dst would take (`ip
// route get`) and returns it: for a plain look-up, a host route to dst with
// the gateway, output interface, preferred source and table the kernel
// chose (after policy rules), and RouteFlagCloned if it came from the route
// cache; with o.FIBMatch, the table entry itself. An unreachable
// destination fails with an error matching unix.ENETUNREACH (or the errno
// of the unreachable, prohibit or blackhole route that matched). One
// request and its reply.
func GetRoute(ctx context.Context, c *nl.Conn, dst netip.Addr, o GetRouteOptions) (Route, error) {
	m, err := GetRouteRequest(dst, o)
	if err != nil {
		return Route{}, err
	}
	var r Route
	found := false
	err = c.ExecuteFunc(ctx, m, func(m nl.Message) error {
		if m.Header.Type != TypeNewRoute || found {
			return nil
		}
		found = true
		return r.UnmarshalBinary(m.Data)
	})
	if err == nil && !found {
		err = fmt.Errorf("%w: no RTM_NEWROUTE in the reply", ErrMessageType)
	}
	if err != nil {
		return Route{}, fmt.Errorf("rtnl: get route to %v: %w", dst, err)
	}
	return r, nil
}
