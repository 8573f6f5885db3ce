//go:build linux

package operators_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/operators"
)

// TestRouteGroupMatchesTheKernelsNumbers checks the constants this package
// spells out (so that it builds everywhere) against x/sys/unix.
func TestRouteGroupMatchesTheKernelsNumbers(t *testing.T) {
	tests := []struct {
		typ    uint16
		family byte
		want   uint32
	}{
		{unix.RTM_NEWLINK, unix.AF_UNSPEC, unix.RTNLGRP_LINK},
		{unix.RTM_DELLINK, unix.AF_UNSPEC, unix.RTNLGRP_LINK},
		{unix.RTM_NEWADDR, unix.AF_INET, unix.RTNLGRP_IPV4_IFADDR},
		{unix.RTM_DELADDR, unix.AF_INET6, unix.RTNLGRP_IPV6_IFADDR},
		{unix.RTM_NEWROUTE, unix.AF_INET, unix.RTNLGRP_IPV4_ROUTE},
		{unix.RTM_DELROUTE, unix.AF_INET6, unix.RTNLGRP_IPV6_ROUTE},
		{unix.RTM_NEWROUTE, unix.AF_MPLS, unix.RTNLGRP_MPLS_ROUTE},
		{unix.RTM_NEWNEIGH, unix.AF_BRIDGE, unix.RTNLGRP_NEIGH},
		{unix.RTM_DELNEIGH, unix.AF_INET, unix.RTNLGRP_NEIGH},
		{unix.RTM_NEWRULE, unix.AF_INET, unix.RTNLGRP_IPV4_RULE},
		{unix.RTM_DELRULE, unix.AF_INET6, unix.RTNLGRP_IPV6_RULE},
		{unix.RTM_NEWNETCONF, unix.AF_INET, unix.RTNLGRP_IPV4_NETCONF},
		{unix.RTM_DELNETCONF, unix.AF_INET6, unix.RTNLGRP_IPV6_NETCONF},
		{unix.RTM_NEWNSID, unix.AF_UNSPEC, unix.RTNLGRP_NSID},
		{unix.RTM_DELNSID, unix.AF_UNSPEC, unix.RTNLGRP_NSID},
		{unix.RTM_NEWNEXTHOP, unix.AF_INET, unix.RTNLGRP_NEXTHOP},
		{unix.RTM_DELNEXTHOP, unix.AF_INET6, unix.RTNLGRP_NEXTHOP},
	}
	for _, tt := range tests {
		if got := operators.RouteGroup(msg(tt.typ, 0, tt.family)); got != tt.want {
			t.Errorf("type %d family %d: got %d, want %d", tt.typ, tt.family, got, tt.want)
		}
	}
}
