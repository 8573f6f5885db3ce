//go:build linux

package rtnl_test

import (
	"testing"

	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// The package defines its own constants so that the codecs build everywhere;
// they must equal the kernel's, as x/sys/unix has them.
func TestConstantsMatchTheKernel(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"RTM_NEWLINK", uint64(rtnl.TypeNewLink), unix.RTM_NEWLINK},
		{"RTM_DELLINK", uint64(rtnl.TypeDelLink), unix.RTM_DELLINK},
		{"RTM_GETLINK", uint64(rtnl.TypeGetLink), unix.RTM_GETLINK},
		{"RTM_SETLINK", uint64(rtnl.TypeSetLink), unix.RTM_SETLINK},
		{"RTM_NEWADDR", uint64(rtnl.TypeNewAddress), unix.RTM_NEWADDR},
		{"RTM_DELADDR", uint64(rtnl.TypeDelAddress), unix.RTM_DELADDR},
		{"RTM_GETADDR", uint64(rtnl.TypeGetAddress), unix.RTM_GETADDR},
		{"RTM_NEWROUTE", uint64(rtnl.TypeNewRoute), unix.RTM_NEWROUTE},
		{"RTM_DELROUTE", uint64(rtnl.TypeDelRoute), unix.RTM_DELROUTE},
		{"RTM_GETROUTE", uint64(rtnl.TypeGetRoute), unix.RTM_GETROUTE},
		{"RTM_NEWNEIGH", uint64(rtnl.TypeNewNeighbor), unix.RTM_NEWNEIGH},
		{"RTM_DELNEIGH", uint64(rtnl.TypeDelNeighbor), unix.RTM_DELNEIGH},
		{"RTM_GETNEIGH", uint64(rtnl.TypeGetNeighbor), unix.RTM_GETNEIGH},
		{"RTNLGRP_LINK", uint64(rtnl.GroupLink), unix.RTNLGRP_LINK},
		{"RTNLGRP_NEIGH", uint64(rtnl.GroupNeighbor), unix.RTNLGRP_NEIGH},
		{"RTNLGRP_IPV4_IFADDR", uint64(rtnl.GroupIPv4Address), unix.RTNLGRP_IPV4_IFADDR},
		{"RTNLGRP_IPV4_ROUTE", uint64(rtnl.GroupIPv4Route), unix.RTNLGRP_IPV4_ROUTE},
		{"RTNLGRP_IPV6_IFADDR", uint64(rtnl.GroupIPv6Address), unix.RTNLGRP_IPV6_IFADDR},
		{"RTNLGRP_IPV6_ROUTE", uint64(rtnl.GroupIPv6Route), unix.RTNLGRP_IPV6_ROUTE},
		{"AF_INET", uint64(rtnl.FamilyInet), unix.AF_INET},
		{"AF_INET6", uint64(rtnl.FamilyInet6), unix.AF_INET6},
		{"AF_BRIDGE", uint64(rtnl.FamilyBridge), unix.AF_BRIDGE},
		{"AF_MPLS", uint64(rtnl.FamilyMPLS), unix.AF_MPLS},
		{"RTPROT_KERNEL", uint64(rtnl.ProtoKernel), unix.RTPROT_KERNEL},
		{"RTPROT_BOOT", uint64(rtnl.ProtoBoot), unix.RTPROT_BOOT},
		{"RTPROT_STATIC", uint64(rtnl.ProtoStatic), unix.RTPROT_STATIC},
		{"RTPROT_RA", uint64(rtnl.ProtoRA), unix.RTPROT_RA},
		{"RTPROT_DHCP", uint64(rtnl.ProtoDHCP), unix.RTPROT_DHCP},
		{"RTPROT_MROUTED", uint64(rtnl.ProtoMrouted), unix.RTPROT_MROUTED},
		{"RTPROT_KEEPALIVED", uint64(rtnl.ProtoKeepalive), unix.RTPROT_KEEPALIVED},
		{"RTPROT_BABEL", uint64(rtnl.ProtoBabel), unix.RTPROT_BABEL},
		{"RTPROT_OVN", uint64(rtnl.ProtoOVN), unix.RTPROT_OVN},
		{"RTPROT_OPENR", uint64(rtnl.ProtoOpenR), unix.RTPROT_OPENR},
		{"RTPROT_BGP", uint64(rtnl.ProtoBGP), unix.RTPROT_BGP},
		{"RTPROT_EIGRP", uint64(rtnl.ProtoEIGRP), unix.RTPROT_EIGRP},
		{"RT_SCOPE_SITE", uint64(rtnl.ScopeSite), unix.RT_SCOPE_SITE},
		{"RT_SCOPE_LINK", uint64(rtnl.ScopeLink), unix.RT_SCOPE_LINK},
		{"RT_SCOPE_HOST", uint64(rtnl.ScopeHost), unix.RT_SCOPE_HOST},
		{"RT_SCOPE_NOWHERE", uint64(rtnl.ScopeNowhere), unix.RT_SCOPE_NOWHERE},
		{"RTN_UNICAST", uint64(rtnl.RouteUnicast), unix.RTN_UNICAST},
		{"RTN_LOCAL", uint64(rtnl.RouteLocal), unix.RTN_LOCAL},
		{"RTN_BLACKHOLE", uint64(rtnl.RouteBlackhole), unix.RTN_BLACKHOLE},
		{"RTN_XRESOLVE", uint64(rtnl.RouteXResolve), unix.RTN_XRESOLVE},
		{"RT_TABLE_COMPAT", uint64(rtnl.TableCompat), unix.RT_TABLE_COMPAT},
		{"RT_TABLE_DEFAULT", uint64(rtnl.TableDefault), unix.RT_TABLE_DEFAULT},
		{"RT_TABLE_MAIN", uint64(rtnl.TableMain), unix.RT_TABLE_MAIN},
		{"RT_TABLE_LOCAL", uint64(rtnl.TableLocal), unix.RT_TABLE_LOCAL},
		{"RTNH_F_DEAD", uint64(rtnl.RouteFlagDead), unix.RTNH_F_DEAD},
		{"RTNH_F_ONLINK", uint64(rtnl.RouteFlagOnlink), unix.RTNH_F_ONLINK},
		{"RTNH_F_OFFLOAD", uint64(rtnl.RouteFlagOffload), unix.RTNH_F_OFFLOAD},
		{"RTNH_F_LINKDOWN", uint64(rtnl.RouteFlagLinkDown), unix.RTNH_F_LINKDOWN},
		{"RTNH_F_UNRESOLVED", uint64(rtnl.RouteFlagUnresolved), unix.RTNH_F_UNRESOLVED},
		{"RTNH_F_TRAP", uint64(rtnl.RouteFlagTrap), unix.RTNH_F_TRAP},
		{"RTM_F_NOTIFY", uint64(rtnl.RouteFlagNotify), unix.RTM_F_NOTIFY},
		{"RTM_F_CLONED", uint64(rtnl.RouteFlagCloned), unix.RTM_F_CLONED},
		{"RTM_F_PREFIX", uint64(rtnl.RouteFlagPrefix), unix.RTM_F_PREFIX},
		{"RTM_F_LOOKUP_TABLE", uint64(rtnl.RouteFlagLookupTable), unix.RTM_F_LOOKUP_TABLE},
		{"RTM_F_FIB_MATCH", uint64(rtnl.RouteFlagFIBMatch), unix.RTM_F_FIB_MATCH},
		{"RTM_F_OFFLOAD_FAILED", uint64(rtnl.RouteFlagOffloadFailed), unix.RTM_F_OFFLOAD_FAILED},
		{"RTM_F_TRAP", uint64(rtnl.RouteFlagTrapHW), unix.RTM_F_TRAP},
		{"RTM_F_OFFLOAD", uint64(rtnl.RouteFlagOffloadHW), unix.RTM_F_OFFLOAD},
		{"IFF_UP", uint64(rtnl.LinkUp), unix.IFF_UP},
		{"IFF_LOOPBACK", uint64(rtnl.LinkLoopback), unix.IFF_LOOPBACK},
		{"IFF_RUNNING", uint64(rtnl.LinkRunning), unix.IFF_RUNNING},
		{"IFF_MULTICAST", uint64(rtnl.LinkMulticast), unix.IFF_MULTICAST},
		{"IFF_LOWER_UP", uint64(rtnl.LinkLowerUp), unix.IFF_LOWER_UP},
		{"IFF_DORMANT", uint64(rtnl.LinkDormant), unix.IFF_DORMANT},
		{"IFF_ECHO", uint64(rtnl.LinkEcho), unix.IFF_ECHO},
		{"IFA_F_SECONDARY", uint64(rtnl.AddrSecondary), unix.IFA_F_SECONDARY},
		{"IFA_F_NODAD", uint64(rtnl.AddrNoDAD), unix.IFA_F_NODAD},
		{"IFA_F_TENTATIVE", uint64(rtnl.AddrTentative), unix.IFA_F_TENTATIVE},
		{"IFA_F_PERMANENT", uint64(rtnl.AddrPermanent), unix.IFA_F_PERMANENT},
		{"IFA_F_NOPREFIXROUTE", uint64(rtnl.AddrNoPrefixRoute), unix.IFA_F_NOPREFIXROUTE},
		{"IFA_F_STABLE_PRIVACY", uint64(rtnl.AddrStablePrivacy), unix.IFA_F_STABLE_PRIVACY},
		{"NUD_INCOMPLETE", uint64(rtnl.NeighIncomplete), unix.NUD_INCOMPLETE},
		{"NUD_REACHABLE", uint64(rtnl.NeighReachable), unix.NUD_REACHABLE},
		{"NUD_FAILED", uint64(rtnl.NeighFailed), unix.NUD_FAILED},
		{"NUD_NOARP", uint64(rtnl.NeighNoARP), unix.NUD_NOARP},
		{"NUD_PERMANENT", uint64(rtnl.NeighPermanent), unix.NUD_PERMANENT},
		{"NTF_USE", uint64(rtnl.NeighFlagUse), unix.NTF_USE},
		{"NTF_SELF", uint64(rtnl.NeighFlagSelf), unix.NTF_SELF},
		{"NTF_PROXY", uint64(rtnl.NeighFlagProxy), unix.NTF_PROXY},
		{"NTF_EXT_LEARNED", uint64(rtnl.NeighFlagExtLearned), unix.NTF_EXT_LEARNED},
		{"NTF_OFFLOADED", uint64(rtnl.NeighFlagOffloaded), unix.NTF_OFFLOADED},
		{"NTF_ROUTER", uint64(rtnl.NeighFlagRouter), unix.NTF_ROUTER},
	} {
		if c.got != c.want {
			t.Errorf("%s: rtnl has %#x, the kernel %#x", c.name, c.got, c.want)
		}
	}
}
