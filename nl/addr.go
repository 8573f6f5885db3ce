package nl

// Addr is a netlink socket address (struct sockaddr_nl); the family is
// always AF_NETLINK. It is the counterpart of Guile-Netlink's get-addr.
//
// The zero value addresses the kernel. As a local address for Dial, PortID 0
// lets the kernel pick a unique port id, and Groups is the legacy bitmask of
// multicast groups 1–32 joined at bind time (group g is bit 1<<(g-1)); use
// WithGroups or JoinGroup for any group number.
type Addr struct {
	PortID uint32
	Groups uint32
}

// GroupMask returns the bind-time bitmask for groups 1–32, and false if any
// group is 0 or above 32 (those can only be joined with JoinGroup).
func GroupMask(groups ...uint32) (mask uint32, ok bool) {
	ok = true
	for _, g := range groups {
		if g == 0 || g > 32 {
			ok = false
			continue
		}
		mask |= 1 << (g - 1)
	}
	return mask, ok
}
