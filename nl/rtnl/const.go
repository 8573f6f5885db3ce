package rtnl

import (
	"net/netip"
	"strconv"
)

// The constants in this file carry the kernel's values and name the kernel's
// constant in their comment (RTPROT_BOOT, RT_SCOPE_LINK, RTN_LOCAL …), so
// they can be found from the uapi headers and from golang.org/x/sys/unix. They
// are defined here rather than taken from x/sys/unix so that the codecs
// compile on every platform.

// Message types handled by this package (RTM_*).
const (
	TypeNewLink     uint16 = 16 // RTM_NEWLINK
	TypeDelLink     uint16 = 17 // RTM_DELLINK
	TypeGetLink     uint16 = 18 // RTM_GETLINK
	TypeSetLink     uint16 = 19 // RTM_SETLINK
	TypeNewAddress  uint16 = 20 // RTM_NEWADDR
	TypeDelAddress  uint16 = 21 // RTM_DELADDR
	TypeGetAddress  uint16 = 22 // RTM_GETADDR
	TypeNewRoute    uint16 = 24 // RTM_NEWROUTE
	TypeDelRoute    uint16 = 25 // RTM_DELROUTE
	TypeGetRoute    uint16 = 26 // RTM_GETROUTE
	TypeNewNeighbor uint16 = 28 // RTM_NEWNEIGH
	TypeDelNeighbor uint16 = 29 // RTM_DELNEIGH
	TypeGetNeighbor uint16 = 30 // RTM_GETNEIGH
	TypeNewRule     uint16 = 32 // RTM_NEWRULE
	TypeDelRule     uint16 = 33 // RTM_DELRULE
	TypeGetRule     uint16 = 34 // RTM_GETRULE
)

// Multicast groups (RTNLGRP_*) carrying the notifications for the values of
// this package, for nl.WithGroups and nl.Conn.JoinGroup.
const (
	GroupLink        uint32 = 1  // RTNLGRP_LINK
	GroupNeighbor    uint32 = 3  // RTNLGRP_NEIGH
	GroupIPv4Address uint32 = 5  // RTNLGRP_IPV4_IFADDR
	GroupIPv4Route   uint32 = 7  // RTNLGRP_IPV4_ROUTE
	GroupIPv4Rule    uint32 = 8  // RTNLGRP_IPV4_RULE
	GroupIPv6Address uint32 = 9  // RTNLGRP_IPV6_IFADDR
	GroupIPv6Route   uint32 = 11 // RTNLGRP_IPV6_ROUTE
	GroupIPv6Rule    uint32 = 19 // RTNLGRP_IPV6_RULE
)

// Family is an address family (AF_*), as carried in the first byte of every
// rtnetlink header (rtm_family, ifa_family, ndm_family).
type Family uint8

// Address families.
const (
	FamilyAll    Family = 0   // AF_UNSPEC: in a filter, every family
	FamilyInet   Family = 2   // AF_INET
	FamilyInet6  Family = 10  // AF_INET6
	FamilyBridge Family = 7   // AF_BRIDGE (forwarding-database neighbours)
	FamilyMPLS   Family = 28  // AF_MPLS
	FamilyIPMR   Family = 128 // RTNL_FAMILY_IPMR: IPv4 multicast routes
	FamilyIP6MR  Family = 129 // RTNL_FAMILY_IP6MR: IPv6 multicast routes
)

// addrLen returns the length of the IP addresses a family carries, or 0 for
// a family whose addresses are not IP addresses.
func (f Family) addrLen() int {
	switch f {
	case FamilyInet, FamilyIPMR:
		return 4
	case FamilyInet6, FamilyIP6MR:
		return 16
	}
	return 0
}

// fits reports whether a is an address of a family whose addresses are alen
// bytes long (IPv4-mapped IPv6 addresses are 16 bytes long).
func fits(a netip.Addr, alen int) bool {
	return (a.Is4() && alen == 4) || (a.Is6() && alen == 16)
}

// familyOf returns the family of an IP address, or 0 for an invalid one.
// An IPv4-mapped IPv6 address is IPv6.
func familyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return FamilyInet
	case a.Is6():
		return FamilyInet6
	}
	return 0
}

// String returns the name iproute2 uses ("inet", "inet6", …) or the number.
func (f Family) String() string {
	switch f {
	case FamilyAll:
		return "unspec"
	case FamilyInet:
		return "inet"
	case FamilyInet6:
		return "inet6"
	case FamilyBridge:
		return "bridge"
	case FamilyMPLS:
		return "mpls"
	case FamilyIPMR:
		return "ipmr"
	case FamilyIP6MR:
		return "ip6mr"
	}
	return strconv.Itoa(int(f))
}

// Protocol is the origin of a route (rtm_protocol, RTPROT_*).
type Protocol uint8

// Route protocols. Values above ProtoStatic are not interpreted by the
// kernel; the names are those of /etc/iproute2/rt_protos.
const (
	ProtoUnspec    Protocol = 0   // RTPROT_UNSPEC
	ProtoRedirect  Protocol = 1   // RTPROT_REDIRECT: ICMP redirect (unused)
	ProtoKernel    Protocol = 2   // RTPROT_KERNEL: installed by the kernel (connected routes)
	ProtoBoot      Protocol = 3   // RTPROT_BOOT: installed at boot or by `ip route` without a protocol
	ProtoStatic    Protocol = 4   // RTPROT_STATIC: installed by the administrator
	ProtoGated     Protocol = 8   // RTPROT_GATED
	ProtoRA        Protocol = 9   // RTPROT_RA: router advertisement
	ProtoMRT       Protocol = 10  // RTPROT_MRT
	ProtoZebra     Protocol = 11  // RTPROT_ZEBRA
	ProtoBird      Protocol = 12  // RTPROT_BIRD
	ProtoDNRouted  Protocol = 13  // RTPROT_DNROUTED
	ProtoXORP      Protocol = 14  // RTPROT_XORP
	ProtoNTK       Protocol = 15  // RTPROT_NTK
	ProtoDHCP      Protocol = 16  // RTPROT_DHCP
	ProtoMrouted   Protocol = 17  // RTPROT_MROUTED
	ProtoKeepalive Protocol = 18  // RTPROT_KEEPALIVED
	ProtoBabel     Protocol = 42  // RTPROT_BABEL
	ProtoOVN       Protocol = 84  // RTPROT_OVN
	ProtoOpenR     Protocol = 99  // RTPROT_OPENR
	ProtoBGP       Protocol = 186 // RTPROT_BGP
	ProtoISIS      Protocol = 187 // RTPROT_ISIS
	ProtoOSPF      Protocol = 188 // RTPROT_OSPF
	ProtoRIP       Protocol = 189 // RTPROT_RIP
	ProtoEIGRP     Protocol = 192 // RTPROT_EIGRP
)

var protoNames = map[Protocol]string{
	ProtoUnspec: "unspec", ProtoRedirect: "redirect", ProtoKernel: "kernel", ProtoBoot: "boot",
	ProtoStatic: "static", ProtoGated: "gated", ProtoRA: "ra", ProtoMRT: "mrt", ProtoZebra: "zebra",
	ProtoBird: "bird", ProtoDNRouted: "dnrouted", ProtoXORP: "xorp", ProtoNTK: "ntk", ProtoDHCP: "dhcp",
	ProtoMrouted: "mrouted", ProtoKeepalive: "keepalived", ProtoBabel: "babel", ProtoOVN: "ovn",
	ProtoOpenR: "openr", ProtoBGP: "bgp", ProtoISIS: "isis", ProtoOSPF: "ospf", ProtoRIP: "rip",
	ProtoEIGRP: "eigrp",
}

// String returns the iproute2 name ("kernel", "boot", "static", …) or the
// number. It does not allocate for named protocols.
func (p Protocol) String() string {
	if s, ok := protoNames[p]; ok {
		return s
	}
	return strconv.Itoa(int(p))
}

// Scope is the distance to a destination (rtm_scope, ifa_scope, RT_SCOPE_*).
type Scope uint8

// Scopes.
const (
	ScopeUniverse Scope = 0   // RT_SCOPE_UNIVERSE: anywhere ("global")
	ScopeSite     Scope = 200 // RT_SCOPE_SITE
	ScopeLink     Scope = 253 // RT_SCOPE_LINK: on a directly attached link
	ScopeHost     Scope = 254 // RT_SCOPE_HOST: on this host
	ScopeNowhere  Scope = 255 // RT_SCOPE_NOWHERE: no destination
)

// String returns the iproute2 name ("global", "link", "host", …) or the
// number.
func (s Scope) String() string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// RouteType is the kind of a route (rtm_type, RTN_*); neighbours use the
// same numbers in ndm_type.
type RouteType uint8

// Route types.
const (
	RouteUnspec      RouteType = 0  // RTN_UNSPEC
	RouteUnicast     RouteType = 1  // RTN_UNICAST: a gateway or direct route
	RouteLocal       RouteType = 2  // RTN_LOCAL: accept locally
	RouteBroadcast   RouteType = 3  // RTN_BROADCAST: accept locally as broadcast, send as broadcast
	RouteAnycast     RouteType = 4  // RTN_ANYCAST: accept locally as broadcast, send as unicast
	RouteMulticast   RouteType = 5  // RTN_MULTICAST
	RouteBlackhole   RouteType = 6  // RTN_BLACKHOLE: drop silently
	RouteUnreachable RouteType = 7  // RTN_UNREACHABLE: ICMP host unreachable
	RouteProhibit    RouteType = 8  // RTN_PROHIBIT: ICMP administratively prohibited
	RouteThrow       RouteType = 9  // RTN_THROW: continue the lookup in another table
	RouteNAT         RouteType = 10 // RTN_NAT
	RouteXResolve    RouteType = 11 // RTN_XRESOLVE
)

var routeTypeNames = [...]string{"unspec", "unicast", "local", "broadcast", "anycast", "multicast",
	"blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"}

// String returns the iproute2 name ("unicast", "local", "blackhole", …) or
// the number.
func (t RouteType) String() string {
	if int(t) < len(routeTypeNames) {
		return routeTypeNames[t]
	}
	return strconv.Itoa(int(t))
}

// Routing tables (RT_TABLE_*). Any number from 1 to 2³²−1 names a table.
const (
	TableUnspec  uint32 = 0   // RT_TABLE_UNSPEC: in a filter, every table
	TableCompat  uint32 = 252 // RT_TABLE_COMPAT: rtm_table for tables above 255 (the real id is in RTA_TABLE)
	TableDefault uint32 = 253 // RT_TABLE_DEFAULT
	TableMain    uint32 = 254 // RT_TABLE_MAIN: where routes go by default
	TableLocal   uint32 = 255 // RT_TABLE_LOCAL: local and broadcast addresses
)

// TableName returns the iproute2 name of a table ("main", "local",
// "default") or its number.
func TableName(t uint32) string {
	switch t {
	case TableUnspec:
		return "unspec"
	case TableDefault:
		return "default"
	case TableMain:
		return "main"
	case TableLocal:
		return "local"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// Route flags (rtm_flags: RTM_F_*, and the next-hop flags RTNH_F_* that the
// kernel reports in rtm_flags for single-path routes and in rtnh_flags for
// each hop of a multipath route).
const (
	RouteFlagDead          uint32 = 0x1        // RTNH_F_DEAD: the next hop is dead
	RouteFlagPervasive     uint32 = 0x2        // RTNH_F_PERVASIVE
	RouteFlagOnlink        uint32 = 0x4        // RTNH_F_ONLINK: the gateway is on the link even without a matching prefix
	RouteFlagOffload       uint32 = 0x8        // RTNH_F_OFFLOAD
	RouteFlagLinkDown      uint32 = 0x10       // RTNH_F_LINKDOWN: the carrier is down
	RouteFlagUnresolved    uint32 = 0x20       // RTNH_F_UNRESOLVED
	RouteFlagTrap          uint32 = 0x40       // RTNH_F_TRAP
	RouteFlagNotify        uint32 = 0x100      // RTM_F_NOTIFY
	RouteFlagCloned        uint32 = 0x200      // RTM_F_CLONED: a cached (exception) route
	RouteFlagEqualize      uint32 = 0x400      // RTM_F_EQUALIZE
	RouteFlagPrefix        uint32 = 0x800      // RTM_F_PREFIX: made from an RA prefix
	RouteFlagLookupTable   uint32 = 0x1000     // RTM_F_LOOKUP_TABLE (route get requests)
	RouteFlagFIBMatch      uint32 = 0x2000     // RTM_F_FIB_MATCH (route get requests)
	RouteFlagOffloadHW     uint32 = 0x4000     // RTM_F_OFFLOAD: offloaded to hardware
	RouteFlagTrapHW        uint32 = 0x8000     // RTM_F_TRAP: trapping packets in hardware
	RouteFlagOffloadFailed uint32 = 0x20000000 // RTM_F_OFFLOAD_FAILED
)

// RoutePref is an IPv6 router preference (RTA_PREF, ICMPV6_ROUTER_PREF_*).
type RoutePref uint8

// Router preferences. The zero value is the default, medium.
const (
	PrefMedium RoutePref = 0 // ICMPV6_ROUTER_PREF_MEDIUM
	PrefHigh   RoutePref = 1 // ICMPV6_ROUTER_PREF_HIGH
	PrefLow    RoutePref = 3 // ICMPV6_ROUTER_PREF_LOW
)

// String returns "medium", "high", "low" or the number.
func (p RoutePref) String() string {
	switch p {
	case PrefMedium:
		return "medium"
	case PrefHigh:
		return "high"
	case PrefLow:
		return "low"
	}
	return strconv.Itoa(int(p))
}

// OperState is the RFC 2863 operational state of a link (IFLA_OPERSTATE,
// IF_OPER_*).
type OperState uint8

// Operational states.
const (
	OperUnknown        OperState = 0 // IF_OPER_UNKNOWN
	OperNotPresent     OperState = 1 // IF_OPER_NOTPRESENT
	OperDown           OperState = 2 // IF_OPER_DOWN
	OperLowerLayerDown OperState = 3 // IF_OPER_LOWERLAYERDOWN
	OperTesting        OperState = 4 // IF_OPER_TESTING
	OperDormant        OperState = 5 // IF_OPER_DORMANT
	OperUp             OperState = 6 // IF_OPER_UP
)

var operNames = [...]string{"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"}

// String returns the name iproute2 prints ("UP", "DOWN", …) or the number.
func (s OperState) String() string {
	if int(s) < len(operNames) {
		return operNames[s]
	}
	return strconv.Itoa(int(s))
}

// Link flags (ifi_flags, IFF_*).
const (
	LinkUp         uint32 = 0x1     // IFF_UP: administratively up
	LinkBroadcast  uint32 = 0x2     // IFF_BROADCAST
	LinkDebug      uint32 = 0x4     // IFF_DEBUG
	LinkLoopback   uint32 = 0x8     // IFF_LOOPBACK
	LinkPointToPt  uint32 = 0x10    // IFF_POINTOPOINT
	LinkNoTrailers uint32 = 0x20    // IFF_NOTRAILERS
	LinkRunning    uint32 = 0x40    // IFF_RUNNING: the carrier is up
	LinkNoARP      uint32 = 0x80    // IFF_NOARP
	LinkPromisc    uint32 = 0x100   // IFF_PROMISC
	LinkAllMulti   uint32 = 0x200   // IFF_ALLMULTI
	LinkMaster     uint32 = 0x400   // IFF_MASTER
	LinkSlave      uint32 = 0x800   // IFF_SLAVE
	LinkMulticast  uint32 = 0x1000  // IFF_MULTICAST
	LinkPortSel    uint32 = 0x2000  // IFF_PORTSEL
	LinkAutoMedia  uint32 = 0x4000  // IFF_AUTOMEDIA
	LinkDynamic    uint32 = 0x8000  // IFF_DYNAMIC
	LinkLowerUp    uint32 = 0x10000 // IFF_LOWER_UP
	LinkDormant    uint32 = 0x20000 // IFF_DORMANT
	LinkEcho       uint32 = 0x40000 // IFF_ECHO
)

// Address flags (IFA_F_*; ifa_flags holds the low 8 bits, IFA_FLAGS all 32).
const (
	AddrSecondary      uint32 = 0x01  // IFA_F_SECONDARY (IFA_F_TEMPORARY for IPv6)
	AddrNoDAD          uint32 = 0x02  // IFA_F_NODAD
	AddrOptimistic     uint32 = 0x04  // IFA_F_OPTIMISTIC
	AddrDADFailed      uint32 = 0x08  // IFA_F_DADFAILED
	AddrHomeAddress    uint32 = 0x10  // IFA_F_HOMEADDRESS
	AddrDeprecated     uint32 = 0x20  // IFA_F_DEPRECATED
	AddrTentative      uint32 = 0x40  // IFA_F_TENTATIVE
	AddrPermanent      uint32 = 0x80  // IFA_F_PERMANENT
	AddrManageTempAddr uint32 = 0x100 // IFA_F_MANAGETEMPADDR
	AddrNoPrefixRoute  uint32 = 0x200 // IFA_F_NOPREFIXROUTE
	AddrMcAutoJoin     uint32 = 0x400 // IFA_F_MCAUTOJOIN
	AddrStablePrivacy  uint32 = 0x800 // IFA_F_STABLE_PRIVACY
)

// LifetimeForever is the address lifetime that never ends (INFINITY_LIFE_TIME).
const LifetimeForever uint32 = 0xffffffff

// NeighState is the state of a neighbour entry (ndm_state, NUD_*): a bit
// mask, though the kernel sets one bit at a time.
type NeighState uint16

// Neighbour states.
const (
	NeighNone       NeighState = 0x00 // NUD_NONE
	NeighIncomplete NeighState = 0x01 // NUD_INCOMPLETE: resolution in progress
	NeighReachable  NeighState = 0x02 // NUD_REACHABLE
	NeighStale      NeighState = 0x04 // NUD_STALE
	NeighDelay      NeighState = 0x08 // NUD_DELAY
	NeighProbe      NeighState = 0x10 // NUD_PROBE
	NeighFailed     NeighState = 0x20 // NUD_FAILED
	NeighNoARP      NeighState = 0x40 // NUD_NOARP
	NeighPermanent  NeighState = 0x80 // NUD_PERMANENT
)

var neighStateNames = [...]string{"INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "NOARP", "PERMANENT"}

// String returns the iproute2 names of the bits set, joined by ",", or
// "NONE". It allocates only when more than one bit is set.
func (s NeighState) String() string {
	if s == 0 {
		return "NONE"
	}
	var out string
	for i, name := range neighStateNames {
		if s&(1<<i) == 0 {
			continue
		}
		if out != "" {
			out += ","
		}
		out += name
	}
	if rest := s &^ 0xff; rest != 0 {
		if out != "" {
			out += ","
		}
		out += "0x" + strconv.FormatUint(uint64(rest), 16)
	}
	return out
}

// Neighbour flags (ndm_flags, NTF_*).
const (
	NeighFlagUse        uint8 = 0x01 // NTF_USE
	NeighFlagSelf       uint8 = 0x02 // NTF_SELF
	NeighFlagMaster     uint8 = 0x04 // NTF_MASTER
	NeighFlagProxy      uint8 = 0x08 // NTF_PROXY
	NeighFlagExtLearned uint8 = 0x10 // NTF_EXT_LEARNED
	NeighFlagOffloaded  uint8 = 0x20 // NTF_OFFLOADED
	NeighFlagSticky     uint8 = 0x40 // NTF_STICKY
	NeighFlagRouter     uint8 = 0x80 // NTF_ROUTER
)

// Attribute types used by the codecs (RTA_*, RTAX_*, IFLA_*, IFA_*, NDA_*).
const (
	rtaDst       = 1  // RTA_DST
	rtaSrc       = 2  // RTA_SRC
	rtaIIF       = 3  // RTA_IIF
	rtaOIF       = 4  // RTA_OIF
	rtaGateway   = 5  // RTA_GATEWAY
	rtaPriority  = 6  // RTA_PRIORITY
	rtaPrefSrc   = 7  // RTA_PREFSRC
	rtaMetrics   = 8  // RTA_METRICS
	rtaMultipath = 9  // RTA_MULTIPATH
	rtaCacheInfo = 12 // RTA_CACHEINFO
	rtaTable     = 15 // RTA_TABLE
	rtaMark      = 16 // RTA_MARK
	rtaVia       = 18 // RTA_VIA
	rtaPref      = 20 // RTA_PREF
	rtaEncapType = 21 // RTA_ENCAP_TYPE
	rtaExpires   = 23 // RTA_EXPIRES
	rtaNHID      = 30 // RTA_NH_ID

	rtaxCCAlgo = 16 // RTAX_CC_ALGO

	iflaAddress   = 1  // IFLA_ADDRESS
	iflaBroadcast = 2  // IFLA_BROADCAST
	iflaIfname    = 3  // IFLA_IFNAME
	iflaMTU       = 4  // IFLA_MTU
	iflaLink      = 5  // IFLA_LINK
	iflaMaster    = 10 // IFLA_MASTER
	iflaTxQLen    = 13 // IFLA_TXQLEN
	iflaOperState = 16 // IFLA_OPERSTATE
	iflaLinkInfo  = 18 // IFLA_LINKINFO
	iflaNetNSPID  = 19 // IFLA_NET_NS_PID
	iflaGroup     = 27 // IFLA_GROUP
	iflaNetNSFD   = 28 // IFLA_NET_NS_FD
	iflaExtMask   = 29 // IFLA_EXT_MASK
	iflaInfoKind  = 1  // IFLA_INFO_KIND
	iflaInfoData  = 2  // IFLA_INFO_DATA

	rtextFilterSkipStats = 1 << 3 // RTEXT_FILTER_SKIP_STATS: leave out the per-family counters of IFLA_AF_SPEC (IPv6, ICMPv6)

	vethInfoPeer     = 1 // VETH_INFO_PEER: a struct ifinfomsg and the peer's attributes
	vlanAttrID       = 1 // IFLA_VLAN_ID
	vlanAttrProtocol = 5 // IFLA_VLAN_PROTOCOL (big-endian)
	bondAttrMode     = 1 // IFLA_BOND_MODE
	bondAttrMIIMon   = 3 // IFLA_BOND_MIIMON
	bridgeAttrSTP    = 5 // IFLA_BR_STP_STATE
	bridgeAttrVLANs  = 7 // IFLA_BR_VLAN_FILTERING

	// The bridge's running timers (IFLA_BR_HELLO_TIMER, IFLA_BR_TCN_TIMER,
	// IFLA_BR_TOPOLOGY_CHANGE_TIMER, IFLA_BR_GC_TIMER), which a Link does
	// not keep.
	bridgeAttrFirstTimer = 16
	bridgeAttrLastTimer  = 19
	// IFLA_BR_MCAST_QUERIER_STATE (the other querier's timer, among others)
	// and IFLA_BR_FDB_N_LEARNED (a count of learned entries) change without
	// a notification too.
	bridgeAttrQuerierState = 47
	bridgeAttrFDBLearned   = 48

	vrfAttrTable = 1 // IFLA_VRF_TABLE

	macvlanAttrMode       = 1 // IFLA_MACVLAN_MODE
	macvlanAttrFlags      = 2 // IFLA_MACVLAN_FLAGS
	macvlanAttrBCQueueLen = 7 // IFLA_MACVLAN_BC_QUEUE_LEN

	ipvlanAttrMode  = 1 // IFLA_IPVLAN_MODE
	ipvlanAttrFlags = 2 // IFLA_IPVLAN_FLAGS

	vxlanAttrID              = 1  // IFLA_VXLAN_ID
	vxlanAttrGroup           = 2  // IFLA_VXLAN_GROUP
	vxlanAttrLink            = 3  // IFLA_VXLAN_LINK
	vxlanAttrLocal           = 4  // IFLA_VXLAN_LOCAL
	vxlanAttrTTL             = 5  // IFLA_VXLAN_TTL
	vxlanAttrTOS             = 6  // IFLA_VXLAN_TOS
	vxlanAttrLearning        = 7  // IFLA_VXLAN_LEARNING
	vxlanAttrAgeing          = 8  // IFLA_VXLAN_AGEING
	vxlanAttrLimit           = 9  // IFLA_VXLAN_LIMIT
	vxlanAttrPortRange       = 10 // IFLA_VXLAN_PORT_RANGE: two be16
	vxlanAttrProxy           = 11 // IFLA_VXLAN_PROXY
	vxlanAttrRSC             = 12 // IFLA_VXLAN_RSC
	vxlanAttrL2Miss          = 13 // IFLA_VXLAN_L2MISS
	vxlanAttrL3Miss          = 14 // IFLA_VXLAN_L3MISS
	vxlanAttrPort            = 15 // IFLA_VXLAN_PORT (be16)
	vxlanAttrGroup6          = 16 // IFLA_VXLAN_GROUP6
	vxlanAttrLocal6          = 17 // IFLA_VXLAN_LOCAL6
	vxlanAttrUDPCsum         = 18 // IFLA_VXLAN_UDP_CSUM
	vxlanAttrGBP             = 23 // IFLA_VXLAN_GBP (flag)
	vxlanAttrCollectMetadata = 25 // IFLA_VXLAN_COLLECT_METADATA
	vxlanAttrLabel           = 26 // IFLA_VXLAN_LABEL (be32)
	vxlanAttrTTLInherit      = 28 // IFLA_VXLAN_TTL_INHERIT (flag)

	geneveAttrID              = 1  // IFLA_GENEVE_ID
	geneveAttrRemote          = 2  // IFLA_GENEVE_REMOTE
	geneveAttrTTL             = 3  // IFLA_GENEVE_TTL
	geneveAttrTOS             = 4  // IFLA_GENEVE_TOS
	geneveAttrPort            = 5  // IFLA_GENEVE_PORT (be16)
	geneveAttrCollectMetadata = 6  // IFLA_GENEVE_COLLECT_METADATA (flag)
	geneveAttrRemote6         = 7  // IFLA_GENEVE_REMOTE6
	geneveAttrUDPCsum         = 8  // IFLA_GENEVE_UDP_CSUM
	geneveAttrLabel           = 11 // IFLA_GENEVE_LABEL (be32)
	geneveAttrTTLInherit      = 12 // IFLA_GENEVE_TTL_INHERIT
	geneveAttrDF              = 13 // IFLA_GENEVE_DF

	iptunAttrLink            = 1  // IFLA_IPTUN_LINK
	iptunAttrLocal           = 2  // IFLA_IPTUN_LOCAL
	iptunAttrRemote          = 3  // IFLA_IPTUN_REMOTE
	iptunAttrTTL             = 4  // IFLA_IPTUN_TTL
	iptunAttrTOS             = 5  // IFLA_IPTUN_TOS
	iptunAttrEncapLimit      = 6  // IFLA_IPTUN_ENCAP_LIMIT
	iptunAttrFlowInfo        = 7  // IFLA_IPTUN_FLOWINFO
	iptunAttrFlags           = 8  // IFLA_IPTUN_FLAGS
	iptunAttrProto           = 9  // IFLA_IPTUN_PROTO
	iptunAttrPMTUDisc        = 10 // IFLA_IPTUN_PMTUDISC
	iptunAttrEncapType       = 15 // IFLA_IPTUN_ENCAP_TYPE, then _FLAGS, _SPORT, _DPORT
	iptunAttrCollectMetadata = 19 // IFLA_IPTUN_COLLECT_METADATA (flag)
	iptunAttrFWMark          = 20 // IFLA_IPTUN_FWMARK

	greAttrLink            = 1  // IFLA_GRE_LINK
	greAttrIFlags          = 2  // IFLA_GRE_IFLAGS (be16)
	greAttrOFlags          = 3  // IFLA_GRE_OFLAGS (be16)
	greAttrIKey            = 4  // IFLA_GRE_IKEY (be32)
	greAttrOKey            = 5  // IFLA_GRE_OKEY (be32)
	greAttrLocal           = 6  // IFLA_GRE_LOCAL
	greAttrRemote          = 7  // IFLA_GRE_REMOTE
	greAttrTTL             = 8  // IFLA_GRE_TTL
	greAttrTOS             = 9  // IFLA_GRE_TOS
	greAttrPMTUDisc        = 10 // IFLA_GRE_PMTUDISC
	greAttrEncapLimit      = 11 // IFLA_GRE_ENCAP_LIMIT
	greAttrFlowInfo        = 12 // IFLA_GRE_FLOWINFO
	greAttrFlags           = 13 // IFLA_GRE_FLAGS
	greAttrEncapType       = 14 // IFLA_GRE_ENCAP_TYPE, then _FLAGS, _SPORT, _DPORT
	greAttrCollectMetadata = 18 // IFLA_GRE_COLLECT_METADATA (flag)
	greAttrIgnoreDF        = 19 // IFLA_GRE_IGNORE_DF
	greAttrFWMark          = 20 // IFLA_GRE_FWMARK

	netkitAttrPeerInfo   = 1 // IFLA_NETKIT_PEER_INFO: a struct ifinfomsg and the peer's attributes
	netkitAttrPrimary    = 2 // IFLA_NETKIT_PRIMARY
	netkitAttrPolicy     = 3 // IFLA_NETKIT_POLICY
	netkitAttrPeerPolicy = 4 // IFLA_NETKIT_PEER_POLICY
	netkitAttrMode       = 5 // IFLA_NETKIT_MODE
	netkitAttrScrub      = 6 // IFLA_NETKIT_SCRUB
	netkitAttrPeerScrub  = 7 // IFLA_NETKIT_PEER_SCRUB
	netkitAttrHeadroom   = 8 // IFLA_NETKIT_HEADROOM
	netkitAttrTailroom   = 9 // IFLA_NETKIT_TAILROOM
	netkitL2             = 0 // NETKIT_L2 (NETKIT_L3 is 1)

	tunAttrOwner             = 1 // IFLA_TUN_OWNER
	tunAttrGroup             = 2 // IFLA_TUN_GROUP
	tunAttrType              = 3 // IFLA_TUN_TYPE: IFF_TUN 1, IFF_TAP 2
	tunAttrPI                = 4 // IFLA_TUN_PI
	tunAttrVNetHdr           = 5 // IFLA_TUN_VNET_HDR
	tunAttrPersist           = 6 // IFLA_TUN_PERSIST
	tunAttrMultiQueue        = 7 // IFLA_TUN_MULTI_QUEUE
	tunAttrNumQueues         = 8 // IFLA_TUN_NUM_QUEUES
	tunAttrNumDisabledQueues = 9 // IFLA_TUN_NUM_DISABLED_QUEUES

	ifaAddress    = 1  // IFA_ADDRESS
	ifaLocal      = 2  // IFA_LOCAL
	ifaLabel      = 3  // IFA_LABEL
	ifaBroadcast  = 4  // IFA_BROADCAST
	ifaCacheInfo  = 6  // IFA_CACHEINFO
	ifaFlags      = 8  // IFA_FLAGS
	ifaRTPriority = 9  // IFA_RT_PRIORITY
	ifaProto      = 11 // IFA_PROTO

	ndaDst     = 1 // NDA_DST
	ndaLLAddr  = 2 // NDA_LLADDR
	ndaProbes  = 4 // NDA_PROBES
	ndaVLAN    = 5 // NDA_VLAN
	ndaIfindex = 8 // NDA_IFINDEX
	ndaMaster  = 9 // NDA_MASTER

	afInet  = 2  // AF_INET, for RTA_VIA
	afInet6 = 10 // AF_INET6, for RTA_VIA
)

// Fixed header sizes.
const (
	sizeofRtmsg     = 12 // struct rtmsg
	sizeofRtnexthop = 8  // struct rtnexthop
	sizeofIfinfomsg = 16 // struct ifinfomsg
	sizeofIfaddrmsg = 8  // struct ifaddrmsg
	sizeofNdmsg     = 12 // struct ndmsg
	sizeofCacheinfo = 32 // struct rta_cacheinfo
	sizeofIfaCache  = 16 // struct ifa_cacheinfo
	userHZ          = 100
)
