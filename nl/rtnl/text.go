package rtnl

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// The text forms of Route, Link, Address, Neighbor and Nexthop: what
// iproute2 6.x prints for one entry (ip route, ip link, ip addr, ip neigh,
// bridge fdb, ip nexthop show), in its order and words, on one line: where
// ip breaks an entry into several lines (a link's link/ether line, an
// address's lifetimes, a route's next hops) the text goes on after a space,
// as `ip -oneline` does with its "\" left out.
//
// Three forms share one formatter per type: String (one allocation, for the
// string), AppendText (encoding.TextAppender: none if b has room) and
// AppendTextNames, which takes a function that names interface indexes.
// Without a name, an interface prints as ip prints an index it cannot name:
// "if3".

// appendIfName appends the name of interface index i, or "if" and the
// index when names is nil or does not know it.
func appendIfName(b []byte, i uint32, names func(index uint32) string) []byte {
	if names != nil {
		if s := names(i); s != "" {
			return append(b, s...)
		}
	}
	return strconv.AppendUint(append(b, "if"...), uint64(i), 10)
}

// appendHostOrPrefix appends p as ip prints a destination: the address
// alone for a host prefix (/32, /128), else address/length.
func appendHostOrPrefix(b []byte, p netip.Prefix) []byte {
	if p.IsSingleIP() {
		return p.Addr().AppendTo(b)
	}
	return p.AppendTo(b)
}

// appendRouteDst appends a route's destination as ip route prints it:
// "default" for none or a zero-length unspecified prefix.
func appendRouteDst(b []byte, p netip.Prefix) []byte {
	if !p.IsValid() || p.Bits() == 0 && p.Addr().IsUnspecified() {
		return append(b, "default"...)
	}
	return appendHostOrPrefix(b, p)
}

// routeFlagNames are the RTNH_F_* and RTM_F_* flags of a route, a next hop
// or a nexthop object, in the order and words of iproute2's print_rt_flags.
var routeFlagNames = [...]struct {
	bit  uint32
	name string
}{
	{RouteFlagDead, "dead"}, {RouteFlagOnlink, "onlink"}, {RouteFlagPervasive, "pervasive"},
	{RouteFlagOffload, "offload"}, {RouteFlagTrap, "trap"}, {RouteFlagNotify, "notify"},
	{RouteFlagLinkDown, "linkdown"}, {RouteFlagUnresolved, "unresolved"}, {RouteFlagOffloadHW, "rt_offload"},
	{RouteFlagTrapHW, "rt_trap"}, {RouteFlagOffloadFailed, "rt_offload_failed"},
}

func appendRouteFlags(b []byte, flags uint32) []byte {
	for _, f := range routeFlagNames {
		if flags&f.bit != 0 {
			b = append(append(b, ' '), f.name...)
		}
	}
	return b
}

// dsfieldNames are the TOS names of iproute2's rt_dsfield file.
var dsfieldNames = map[uint8]string{
	0x28: "AF11", 0x30: "AF12", 0x38: "AF13", 0x48: "AF21", 0x50: "AF22", 0x58: "AF23",
	0x68: "AF31", 0x70: "AF32", 0x78: "AF33", 0x88: "AF41", 0x90: "AF42", 0x98: "AF43",
	0x20: "CS1", 0x40: "CS2", 0x60: "CS3", 0x80: "CS4", 0xa0: "CS5", 0xc0: "CS6", 0xe0: "CS7", 0xb8: "EF",
}

// appendTOS appends a TOS as ip does: its rt_dsfield name, or 0x and two
// hexadecimal digits.
func appendTOS(b []byte, tos uint8) []byte {
	if s, ok := dsfieldNames[tos]; ok {
		return append(b, s...)
	}
	const hex = "0123456789abcdef"
	return append(b, '0', 'x', hex[tos>>4], hex[tos&15])
}

// encapNames are the LWTUNNEL_ENCAP_* types by the names ip prints.
var encapNames = [...]string{1: "mpls", 2: "ip", 3: "ila", 4: "ip6", 5: "seg6", 6: "bpf", 7: "seg6local", 8: "rpl", 9: "ioam6", 10: "xfrm"}

func encapName(t uint16) string {
	if int(t) < len(encapNames) && encapNames[t] != "" {
		return encapNames[t]
	}
	return strconv.Itoa(int(t))
}

// metricNames are iproute2's names of the RTAX_* metrics, by type.
var metricNames = [...]string{2: "mtu", 3: "window", 4: "rtt", 5: "rttvar", 6: "ssthresh", 7: "cwnd", 8: "advmss",
	9: "reordering", 10: "hoplimit", 11: "initcwnd", 12: "features", 13: "rto_min", 14: "initrwnd", 15: "quickack",
	16: "congctl", 17: "fastopen_no_cookie"}

const (
	rtaxRTT         = 4
	rtaxRTTVar      = 5
	rtaxHopLimit    = 10
	rtaxFeatures    = 12
	rtaxRTOMin      = 13
	rtaxFeatureECN  = 1 // RTAX_FEATURE_ECN
	metricTypeFirst = 2 // RTAX_MTU: ip prints the metrics from here on
	metricTypeLast  = 17
)

// metric returns what ip shows of metric type t (RTAX_MTU to
// RTAX_FASTOPEN_NO_COOKIE): its value (RTT in ms, as ip divides them),
// whether it is locked, and whether ip shows it at all.
func (m *Metrics) metric(t uint16) (v uint32, locked, shown bool) {
	locked = m.Lock&(1<<t) != 0
	if t == rtaxCCAlgo {
		return 0, locked, locked || m.CongestionControl != ""
	}
	v = *m.field(t)
	switch {
	case t == rtaxHopLimit && v == math.MaxUint32:
		return 0, false, false
	case t == rtaxRTT:
		v /= 8
	case t == rtaxRTTVar:
		v /= 4
	}
	return v, locked, locked || *m.field(t) != 0
}

// appendMetrics appends the metrics as ip route prints them: "mtu lock
// 1400 rtt 10ms congctl cubic".
func appendMetrics(b []byte, m *Metrics) []byte {
	for t := uint16(metricTypeFirst); t <= metricTypeLast; t++ {
		v, locked, shown := m.metric(t)
		if !shown {
			continue
		}
		b = append(append(b, ' '), metricNames[t]...)
		b = append(b, ' ')
		if locked {
			b = append(b, "lock "...)
		}
		switch t {
		case rtaxCCAlgo:
			b = append(b, m.CongestionControl...)
		case rtaxFeatures:
			if v&rtaxFeatureECN != 0 {
				b = append(b, "ecn"...)
				if v&^rtaxFeatureECN != 0 {
					b = append(b, ' ')
				}
			}
			if v&^rtaxFeatureECN != 0 {
				b = strconv.AppendUint(append(b, "0x"...), uint64(v), 16)
			}
		case rtaxRTT, rtaxRTTVar, rtaxRTOMin:
			if v >= 1000 {
				b = strconv.AppendFloat(b, float64(v)/1e3, 'g', 6, 64)
				b = append(b, 's')
			} else {
				b = strconv.AppendUint(b, uint64(v), 10)
				b = append(b, "ms"...)
			}
		default:
			b = strconv.AppendUint(b, uint64(v), 10)
		}
	}
	return b
}

// appendGateway appends " via" and a gateway, with its family when it is
// not the route's (RTA_VIA).
func appendGateway(b []byte, gw netip.Addr, alen int) []byte {
	b = append(b, " via "...)
	if !fits(gw, alen) {
		b = append(append(b, familyOf(gw).String()...), ' ')
	}
	return gw.AppendTo(b)
}

// String formats the route as `ip route show table all` prints it, on one
// line ("default via 192.0.2.1 dev if2 proto dhcp src 192.0.2.10 metric
// 100"; the next hops of a multipath route follow as "nexthop via … dev …
// weight …"), with interface indexes ("dev if3") in place of names; see
// AppendTextNames. As in ip, the table is left out when it is main, the
// protocol when it is boot, the scope when it is global, the type when it
// is unicast (or not set), and a route in no family prints no family
// words. It allocates the string.
func (r Route) String() string {
	var buf [256]byte
	return string(r.appendText(buf[:0], nil))
}

// AppendText appends the String form of r to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (r Route) AppendText(b []byte) ([]byte, error) { return r.appendText(b, nil), nil }

// AppendTextNames appends the String form of r to b with interface names:
// names(index) returns the name of an interface, or "" for one it does not
// know, which prints as "if" and the index. A nil names prints only
// indexes. It allocates only if b lacks capacity.
func (r *Route) AppendTextNames(b []byte, names func(index uint32) string) []byte {
	return r.appendText(b, names)
}

func (r *Route) appendText(b []byte, names func(index uint32) string) []byte {
	fam := r.family()
	alen := fam.addrLen()
	if r.Type != RouteUnicast && r.Type != RouteUnspec {
		b = append(append(b, r.Type.String()...), ' ')
	}
	b = appendRouteDst(b, r.Dst)
	if r.Src.IsValid() {
		b = appendHostOrPrefix(append(b, " from "...), r.Src)
	}
	if r.NexthopID != 0 {
		b = strconv.AppendUint(append(b, " nhid "...), uint64(r.NexthopID), 10)
	}
	if r.EncapType != 0 {
		b = append(append(b, " encap "...), encapName(r.EncapType)...)
	}
	if r.TOS != 0 {
		b = appendTOS(append(b, " tos "...), r.TOS)
	}
	if r.Gateway.IsValid() {
		b = appendGateway(b, r.Gateway, alen)
	}
	if r.OIF != 0 {
		b = appendIfName(append(b, " dev "...), r.OIF, names)
	}
	if r.Table != TableMain && r.Table != TableUnspec {
		b = append(append(b, " table "...), TableName(r.Table)...)
	}
	if r.Flags&RouteFlagCloned == 0 {
		if r.Protocol != ProtoBoot {
			b = append(append(b, " proto "...), r.Protocol.String()...)
		}
		if r.Scope != ScopeUniverse {
			b = append(append(b, " scope "...), r.Scope.String()...)
		}
	}
	if r.PrefSrc.IsValid() {
		b = r.PrefSrc.AppendTo(append(b, " src "...))
	}
	if r.hasMetric(fam) {
		b = strconv.AppendUint(append(b, " metric "...), uint64(r.Priority), 10)
	}
	b = appendRouteFlags(b, r.Flags)
	if r.Mark != 0 {
		if r.Mark >= 16 {
			b = strconv.AppendUint(append(b, " mark 0x"...), uint64(r.Mark), 16)
		} else {
			b = strconv.AppendUint(append(b, " mark "...), uint64(r.Mark), 10)
		}
	}
	if r.Expires != 0 {
		b = strconv.AppendInt(append(b, " expires "...), int64(r.Expires), 10)
		b = append(b, "sec"...)
	}
	if !r.Metrics.IsZero() {
		b = appendMetrics(b, r.Metrics)
	}
	if r.IIF != 0 {
		b = appendIfName(append(b, " iif "...), r.IIF, names)
	}
	if fam == FamilyInet6 {
		b = append(append(b, " pref "...), r.Pref.String()...)
	}
	for i := range r.Multipath {
		h := &r.Multipath[i]
		b = append(b, " nexthop"...)
		if h.Gateway.IsValid() {
			b = appendGateway(b, h.Gateway, alen)
		}
		if h.OIF != 0 {
			b = appendIfName(append(b, " dev "...), h.OIF, names)
		}
		if fam != FamilyMPLS {
			b = strconv.AppendUint(append(b, " weight "...), uint64(max(h.Weight, 1)), 10)
		}
		b = appendRouteFlags(b, uint32(h.Flags))
	}
	return b
}

// hasMetric reports whether the kernel sends RTA_PRIORITY for the route,
// which ip prints: always for IPv6, else when it is not 0.
func (r *Route) hasMetric(fam Family) bool { return r.Priority != 0 || fam == FamilyInet6 }

// linkFlagNames are the IFF_* flags in the order and words of iproute2's
// print_link_flags (IFF_RUNNING shows as NO-CARRIER when it is missing
// from a link that is up).
var linkFlagNames = [...]struct {
	bit  uint32
	name string
}{
	{LinkLoopback, "LOOPBACK"}, {LinkBroadcast, "BROADCAST"}, {LinkPointToPt, "POINTOPOINT"},
	{LinkMulticast, "MULTICAST"}, {LinkNoARP, "NOARP"}, {LinkAllMulti, "ALLMULTI"}, {LinkPromisc, "PROMISC"},
	{LinkMaster, "MASTER"}, {LinkSlave, "SLAVE"}, {LinkDebug, "DEBUG"}, {LinkDynamic, "DYNAMIC"},
	{LinkAutoMedia, "AUTOMEDIA"}, {LinkPortSel, "PORTSEL"}, {LinkNoTrailers, "NOTRAILERS"}, {LinkUp, "UP"},
	{LinkLowerUp, "LOWER_UP"}, {LinkDormant, "DORMANT"}, {LinkEcho, "ECHO"},
}

// linkFlagWords calls f with each word ip prints for flags, and returns the
// bits it has no word for.
func linkFlagWords(flags uint32, f func(string)) (rest uint32) {
	if flags&LinkUp != 0 && flags&LinkRunning == 0 {
		f("NO-CARRIER")
	}
	flags &^= LinkRunning
	for _, n := range linkFlagNames {
		if flags&n.bit != 0 {
			f(n.name)
			flags &^= n.bit
		}
	}
	return flags
}

// linkTypeNames are iproute2's names of the ARPHRD_* link types.
var linkTypeNames = map[uint16]string{
	0: "netrom", 1: "ether", 2: "eether", 3: "ax25", 4: "pronet", 5: "chaos", 6: "ieee802", 7: "arcnet",
	8: "atalk", 15: "dlci", 19: "atm", 23: "metricom", 24: "ieee1394", 32: "infiniband", 256: "slip",
	257: "cslip", 258: "slip6", 259: "cslip6", 260: "rsrvd", 264: "adapt", 270: "rose", 271: "x25",
	272: "hwx25", 280: "can", 512: "ppp", 513: "hdlc", 516: "lapb", 517: "ddcmp", 518: "rawhdlc",
	768: "ipip", 769: "tunnel6", 770: "frad", 771: "skip", 772: "loopback", 773: "ltalk", 774: "fddi",
	775: "bif", 776: "sit", 777: "ip/ddp", 778: "gre", 779: "pimreg", 780: "hippi", 781: "ash",
	782: "econet", 783: "irda", 784: "fcpp", 785: "fcal", 786: "fcpl", 787: "fcfb0", 788: "fcfb1",
	789: "fcfb2", 790: "fcfb3", 791: "fcfb4", 792: "fcfb5", 793: "fcfb6", 794: "fcfb7", 795: "fcfb8",
	796: "fcfb9", 797: "fcfb10", 798: "fcfb11", 799: "fcfb12", 800: "tr", 801: "ieee802.11",
	802: "ieee802.11/prism", 803: "ieee802.11/radiotap", 804: "ieee802.15.4", 805: "ieee802.15.4/monitor",
	820: "phonet", 821: "phonet_pipe", 822: "caif", 823: "gre6", 824: "netlink", 825: "6lowpan",
	0xfffe: "none", 0xffff: "void",
}

// appendLinkType appends the ARPHRD_* type as ip does: its name, or the
// number in brackets.
func appendLinkType(b []byte, t uint16) []byte {
	if s, ok := linkTypeNames[t]; ok {
		return append(b, s...)
	}
	return append(strconv.AppendUint(append(b, '['), uint64(t), 10), ']')
}

// Link types whose link-layer addresses are IP addresses.
const (
	arphrdTunnel  = 768 // ARPHRD_TUNNEL
	arphrdTunnel6 = 769 // ARPHRD_TUNNEL6
	arphrdSIT     = 776 // ARPHRD_SIT
	arphrdIPGRE   = 778 // ARPHRD_IPGRE
	arphrdIP6GRE  = 823 // ARPHRD_IP6GRE
)

// appendLinkAddr appends a link-layer address as ip does: an IP address
// for the tunnels whose addresses are the endpoints', else hexadecimal.
func appendLinkAddr(b []byte, a *HardwareAddr, typ uint16) []byte {
	switch {
	case a.n == 4 && (typ == arphrdTunnel || typ == arphrdSIT || typ == arphrdIPGRE):
		return netip.AddrFrom4([4]byte(a.b[:4])).AppendTo(b)
	case a.n == 16 && (typ == arphrdTunnel6 || typ == arphrdIP6GRE):
		return netip.AddrFrom16([16]byte(a.b[:16])).AppendTo(b)
	}
	b, _ = a.AppendText(b)
	return b
}

// appendGroup appends a link's group as ip does when
// /etc/iproute2/group names only group 0.
func appendGroup(b []byte, g uint32) []byte {
	if g == 0 {
		return append(b, "default"...)
	}
	return strconv.AppendUint(b, uint64(g), 10)
}

// permDiffers reports whether ip prints the permanent address: when the
// link has one that is not its address.
func (l *Link) permDiffers() bool {
	return !l.PermAddress.IsZero() && l.PermAddress != l.Address
}

// String formats the link as `ip -oneline link show` prints it: "3:
// v0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master if5 state UP
// group default qlen 1000 link/ether 02:00:00:00:00:01 brd
// ff:ff:ff:ff:ff:ff link-netnsid 0", with interface indexes in place of the
// names of the parent or peer and the master (see AppendTextNames), then
// the permanent address where it differs, the alias and the alternative
// names. The queueing discipline and link mode, which Link does not hold,
// are left out, and so are what ip shows only with -details or -stats
// (Kind, the MTU range, the offload limits, the counters); the operational
// state and group print always, as the kernel always sends them. It
// allocates the string.
func (l Link) String() string {
	var buf [192]byte
	return string(l.appendText(buf[:0], nil))
}

// AppendText appends the String form of l to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (l Link) AppendText(b []byte) ([]byte, error) { return l.appendText(b, nil), nil }

// AppendTextNames appends the String form of l to b with the names of the
// parent or peer (Link) and the master: names(index) returns an interface's
// name, or "" for one it does not know. A peer in another namespace
// (LinkNetNSID) prints as its index, as in ip. It allocates only if b lacks
// capacity.
func (l *Link) AppendTextNames(b []byte, names func(index uint32) string) []byte {
	return l.appendText(b, names)
}

func (l *Link) appendText(b []byte, names func(index uint32) string) []byte {
	b = strconv.AppendUint(b, uint64(l.Index), 10)
	b = append(append(b, ": "...), l.Name.b[:l.Name.Len()]...)
	if l.Link != 0 {
		b = append(b, '@')
		if l.hasLinkNetNSID {
			b = appendIfName(b, l.Link, nil)
		} else {
			b = appendIfName(b, l.Link, names)
		}
	}
	b = append(b, ": <"...)
	first := true
	rest := linkFlagWords(l.Flags, func(s string) {
		if !first {
			b = append(b, ',')
		}
		b, first = append(b, s...), false
	})
	if rest != 0 {
		if !first {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(rest), 16)
	}
	b = append(b, '>')
	if l.MTU != 0 {
		b = strconv.AppendUint(append(b, " mtu "...), uint64(l.MTU), 10)
	}
	if l.Master != 0 {
		b = appendIfName(append(b, " master "...), l.Master, names)
	}
	if int(l.OperState) < len(operNames) {
		b = append(append(b, " state "...), operNames[l.OperState]...)
	} else {
		b = strconv.AppendUint(append(b, " state 0x"...), uint64(l.OperState), 16)
	}
	b = appendGroup(append(b, " group "...), l.Group)
	if l.TxQLen != 0 {
		b = strconv.AppendUint(append(b, " qlen "...), uint64(l.TxQLen), 10)
	}
	b = appendLinkType(append(b, " link/"...), l.Type)
	if !l.Address.IsZero() {
		b = appendLinkAddr(append(b, ' '), &l.Address, l.Type)
	}
	if !l.Broadcast.IsZero() {
		if l.Flags&LinkPointToPt != 0 {
			b = append(b, " peer "...)
		} else {
			b = append(b, " brd "...)
		}
		b = appendLinkAddr(b, &l.Broadcast, l.Type)
	}
	if l.permDiffers() {
		b = appendLinkAddr(append(b, " permaddr "...), &l.PermAddress, l.Type)
	}
	if l.hasLinkNetNSID {
		if l.linkNetNSID >= 0 {
			b = strconv.AppendInt(append(b, " link-netnsid "...), int64(l.linkNetNSID), 10)
		} else {
			b = append(b, " link-netnsid unknown"...)
		}
	}
	if l.Alias != "" {
		b = append(append(b, " alias "...), l.Alias...)
	}
	for s := l.altNames; s != ""; {
		i := strings.IndexByte(s, 0)
		b = append(append(b, " altname "...), s[:i]...)
		s = s[i+1:]
	}
	return b
}

// addrFlagNames are the IFA_F_* flags in the order and words of
// iproute2's print_ifa_flags. IFA_F_SECONDARY is "temporary" for IPv6, and
// IFA_F_PERMANENT shows as "dynamic" when it is missing.
var addrFlagNames = [...]struct {
	bit  uint32
	name string
}{
	{AddrSecondary, "secondary"}, {AddrNoDAD, "nodad"}, {AddrOptimistic, "optimistic"},
	{AddrDADFailed, "dadfailed"}, {AddrHomeAddress, "home"}, {AddrDeprecated, "deprecated"},
	{AddrTentative, "tentative"}, {AddrPermanent, "dynamic"}, {AddrManageTempAddr, "mngtmpaddr"},
	{AddrNoPrefixRoute, "noprefixroute"}, {AddrMcAutoJoin, "autojoin"}, {AddrStablePrivacy, "stable-privacy"},
}

// addrFlagWords calls f with each word ip prints for an address's flags,
// and returns the bits it has no word for.
func addrFlagWords(flags uint32, fam Family, f func(string)) (rest uint32) {
	for _, n := range addrFlagNames {
		switch {
		case n.bit == AddrPermanent:
			if flags&AddrPermanent == 0 {
				f(n.name)
			}
		case flags&n.bit == 0:
		case n.bit == AddrSecondary && fam == FamilyInet6:
			f("temporary")
		default:
			f(n.name)
		}
		flags &^= n.bit
	}
	return flags
}

// addrProtoNames are the names of IFA_PROTO values (IFAPROT_*).
var addrProtoNames = [...]string{"unspec", "kernel_lo", "kernel_ra", "kernel_ll"}

func addrProtoName(p uint8) string {
	if int(p) < len(addrProtoNames) {
		return addrProtoNames[p]
	}
	return strconv.Itoa(int(p))
}

// family returns the address's family, from Prefix when Family is not set.
func (a *Address) family() Family {
	if a.Family != 0 {
		return a.Family
	}
	return familyOf(a.Prefix.Addr())
}

// hasCacheInfo reports whether the address carries IFA_CACHEINFO (the
// kernel always sends it).
func (a *Address) hasCacheInfo() bool {
	return a.PreferredLifetime != 0 || a.ValidLifetime != 0 || a.Created != 0 || a.Updated != 0
}

// String formats the address as `ip -oneline addr show` prints it: "3: if3
// inet 10.0.0.1/24 brd 10.0.0.255 scope global v0 valid_lft forever
// preferred_lft forever", with the interface's index in place of its name
// (see AppendTextNames); the label, which ip prints after the flags, is
// IFA_LABEL. It allocates the string.
func (a Address) String() string {
	var buf [160]byte
	return string(a.appendText(buf[:0], nil))
}

// AppendText appends the String form of a to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (a Address) AppendText(b []byte) ([]byte, error) { return a.appendText(b, nil), nil }

// AppendTextNames appends the String form of a to b with the name of its
// interface: names(index) returns an interface's name, or "" for one it
// does not know. It allocates only if b lacks capacity.
func (a *Address) AppendTextNames(b []byte, names func(index uint32) string) []byte {
	return a.appendText(b, names)
}

func (a *Address) appendText(b []byte, names func(index uint32) string) []byte {
	fam := a.family()
	b = strconv.AppendUint(b, uint64(a.Index), 10)
	b = appendIfName(append(b, ": "...), a.Index, names)
	switch fam {
	case FamilyInet, FamilyInet6, FamilyBridge, FamilyMPLS:
		b = append(append(b, ' '), fam.String()...)
	default:
		b = strconv.AppendUint(append(b, " family "...), uint64(fam), 10)
	}
	if a.Prefix.IsValid() {
		b = a.Prefix.Addr().AppendTo(append(b, ' '))
		if a.Peer.IsValid() {
			b = a.Peer.AppendTo(append(b, " peer "...))
		}
		b = strconv.AppendUint(append(b, '/'), uint64(a.Prefix.Bits()), 10)
		if a.RoutePriority != 0 {
			b = strconv.AppendUint(append(b, " metric "...), uint64(a.RoutePriority), 10)
		}
	}
	if a.Broadcast.IsValid() {
		b = a.Broadcast.AppendTo(append(b, " brd "...))
	}
	b = append(append(b, " scope "...), a.Scope.String()...)
	rest := addrFlagWords(a.Flags, fam, func(s string) { b = append(append(b, ' '), s...) })
	if rest != 0 {
		b = append(b, " flags "...)
		if rest < 0x10 {
			b = append(b, '0')
		}
		b = strconv.AppendUint(b, uint64(rest), 16)
	}
	if a.Protocol != 0 {
		b = append(append(b, " proto "...), addrProtoName(a.Protocol)...)
	}
	if !a.Label.IsZero() {
		b = append(append(b, ' '), a.Label.b[:a.Label.Len()]...)
	}
	if a.hasCacheInfo() {
		b = append(b, " valid_lft "...)
		if a.ValidLifetime == LifetimeForever {
			b = append(b, "forever"...)
		} else {
			b = append(strconv.AppendUint(b, uint64(a.ValidLifetime), 10), "sec"...)
		}
		b = append(b, " preferred_lft "...)
		switch {
		case a.PreferredLifetime == LifetimeForever:
			b = append(b, "forever"...)
		case a.Flags&AddrDeprecated != 0:
			b = append(strconv.AppendInt(b, int64(int32(a.PreferredLifetime)), 10), "sec"...)
		default:
			b = append(strconv.AppendUint(b, uint64(a.PreferredLifetime), 10), "sec"...)
		}
	}
	return b
}

// neighFlagWords calls f with the words ip neigh prints for an entry's
// flags, in its order.
func (n *Neighbor) neighFlagWords(f func(string)) {
	for _, w := range [...]struct {
		on   bool
		name string
	}{
		{n.Flags&NeighFlagRouter != 0, "router"},
		{n.Flags&NeighFlagProxy != 0, "proxy"},
		{n.FlagsExt&NeighExtManaged != 0, "managed"},
		{n.Flags&NeighFlagExtLearned != 0, "extern_learn"},
		{n.Flags&NeighFlagOffloaded != 0, "offload"},
	} {
		if w.on {
			f(w.name)
		}
	}
}

// fdbFlagWords calls f with the words bridge fdb prints for a forwarding
// entry's flags, in its order.
func (n *Neighbor) fdbFlagWords(f func(string)) {
	for _, w := range [...]struct {
		on   bool
		name string
	}{
		{n.Flags&NeighFlagSelf != 0, "self"},
		{n.Flags&NeighFlagRouter != 0, "router"},
		{n.Flags&NeighFlagExtLearned != 0, "extern_learn"},
		{n.Flags&NeighFlagOffloaded != 0, "offload"},
		{n.Flags&NeighFlagMaster != 0, "master"},
		{n.Flags&NeighFlagSticky != 0, "sticky"},
		{n.FlagsExt&NeighExtLocked != 0, "locked"},
	} {
		if w.on {
			f(w.name)
		}
	}
}

// neighStateWords calls f with the NUD_* names of the bits of s, in
// iproute2's order.
func neighStateWords(s NeighState, f func(string)) {
	for i, name := range neighStateNames {
		if s&(1<<i) != 0 {
			f(name)
		}
	}
}

// fdbState returns the word bridge fdb prints for an entry's state, and
// false for a state it prints as a number.
func fdbState(s NeighState) (string, bool) {
	switch {
	case s&NeighPermanent != 0:
		return "permanent", true
	case s&NeighNoARP != 0:
		return "static", true
	case s&NeighStale != 0:
		return "stale", true
	case s&NeighReachable != 0:
		return "", true
	}
	return "", false
}

// String formats the entry as `ip neigh show` prints it ("10.0.0.2 dev if3
// lladdr 02:00:00:00:00:02 router REACHABLE"), or, for a bridge forwarding
// entry (FamilyBridge), as `bridge fdb show` does ("02:00:00:00:00:02 dev
// if3 vlan 10 master if5 permanent"), with interface indexes in place of
// names (see AppendTextNames). It allocates the string.
func (n Neighbor) String() string {
	var buf [128]byte
	return string(n.appendText(buf[:0], nil))
}

// AppendText appends the String form of n to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (n Neighbor) AppendText(b []byte) ([]byte, error) { return n.appendText(b, nil), nil }

// AppendTextNames appends the String form of n to b with interface names:
// names(index) returns an interface's name, or "" for one it does not
// know. It allocates only if b lacks capacity.
func (n *Neighbor) AppendTextNames(b []byte, names func(index uint32) string) []byte {
	return n.appendText(b, names)
}

func (n *Neighbor) appendText(b []byte, names func(index uint32) string) []byte {
	start := len(b)
	sep := func() {
		if len(b) > start {
			b = append(b, ' ')
		}
	}
	word := func(s string) { sep(); b = append(b, s...) }
	if n.Family == FamilyBridge {
		if !n.LLAddr.IsZero() {
			b, _ = n.LLAddr.AppendText(b)
		}
		if n.Index != 0 {
			sep()
			b = appendIfName(append(b, "dev "...), n.Index, names)
		}
		if n.Dst.IsValid() {
			sep()
			b = n.Dst.AppendTo(append(b, "dst "...))
		}
		if n.VLAN != 0 {
			sep()
			b = strconv.AppendUint(append(b, "vlan "...), uint64(n.VLAN), 10)
		}
		n.fdbFlagWords(word)
		if n.Master != 0 {
			sep()
			b = appendIfName(append(b, "master "...), n.Master, names)
		}
		if s, ok := fdbState(n.State); !ok {
			sep()
			b = strconv.AppendUint(append(b, "state=0x"...), uint64(n.State), 16)
		} else if s != "" {
			word(s)
		}
		return b
	}
	if n.Dst.IsValid() {
		b = n.Dst.AppendTo(b)
	}
	if n.Index != 0 {
		sep()
		b = appendIfName(append(b, "dev "...), n.Index, names)
	}
	if !n.LLAddr.IsZero() {
		sep()
		b, _ = n.LLAddr.AppendText(append(b, "lladdr "...))
	}
	n.neighFlagWords(word)
	neighStateWords(n.State, word)
	return b
}

// String formats n as `ip nexthop show` does, with interface indexes
// ("dev if3") in place of names (see AppendTextNames): "id 1 via 10.0.0.2
// dev if3 scope link onlink", "id 10 group 1/2,3 type resilient buckets 32
// idle_timer 120 unbalanced_timer 0 unbalanced_time 0", "id 5 blackhole".
// As in ip, the scope is left out when it is global, the protocol when it
// is unspec, and the weight of a group member when it is 1; times are in
// seconds. It allocates the string.
func (n Nexthop) String() string {
	var buf [128]byte
	return string(n.appendText(buf[:0], nil))
}

// AppendText appends the String form of n to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (n Nexthop) AppendText(b []byte) ([]byte, error) { return n.appendText(b, nil), nil }

// AppendTextNames appends the String form of n to b with interface names:
// names(index) returns an interface's name, or "" for one it does not
// know. It allocates only if b lacks capacity.
func (n *Nexthop) AppendTextNames(b []byte, names func(index uint32) string) []byte {
	return n.appendText(b, names)
}

// hasResilient reports whether n carries NHA_RES_GROUP, which ip prints.
func (n *Nexthop) hasResilient() bool {
	return n.GroupType == NexthopGroupResilient || !n.Resilient.IsZero()
}

func (n *Nexthop) appendText(b []byte, names func(index uint32) string) []byte {
	b = strconv.AppendUint(append(b, "id "...), uint64(n.ID), 10)
	if len(n.Group) > 0 {
		b = append(b, " group "...)
		for i, m := range n.Group {
			if i > 0 {
				b = append(b, '/')
			}
			b = strconv.AppendUint(b, uint64(m.ID), 10)
			if w := max(m.Weight, 1); w != 1 {
				b = strconv.AppendUint(append(b, ','), uint64(w), 10)
			}
		}
	}
	if n.GroupType != NexthopGroupMultipath {
		b = append(append(b, " type "...), n.GroupType.String()...)
	}
	if n.hasResilient() {
		r := &n.Resilient
		b = strconv.AppendUint(append(b, " buckets "...), uint64(r.Buckets), 10)
		b = strconv.AppendFloat(append(b, " idle_timer "...), r.IdleTimer.Seconds(), 'g', 6, 64)
		b = strconv.AppendFloat(append(b, " unbalanced_timer "...), r.UnbalancedTimer.Seconds(), 'g', 6, 64)
		b = strconv.AppendFloat(append(b, " unbalanced_time "...), r.UnbalancedTime.Seconds(), 'g', 6, 64)
	}
	if n.EncapType != 0 {
		b = append(append(b, " encap "...), encapName(n.EncapType)...)
	}
	if n.Gateway.IsValid() {
		b = n.Gateway.AppendTo(append(b, " via "...))
	}
	if n.OIF != 0 {
		b = appendIfName(append(b, " dev "...), n.OIF, names)
	}
	if n.Scope != ScopeUniverse {
		b = append(append(b, " scope "...), n.Scope.String()...)
	}
	if n.Blackhole {
		b = append(b, " blackhole"...)
	}
	if n.Protocol != ProtoUnspec {
		b = append(append(b, " proto "...), n.Protocol.String()...)
	}
	b = appendRouteFlags(b, n.Flags)
	if n.FDB {
		b = append(b, " fdb"...)
	}
	return b
}
