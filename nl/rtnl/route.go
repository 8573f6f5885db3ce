package rtnl

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/nlrx/nlrx/nl"
)

// Route is one route: a struct rtmsg and the attributes the kernel sends with
// it in RTM_NEWROUTE and RTM_DELROUTE, decoded into plain values.
//
// The zero value of each field means "not set". Decoding a single-path IPv4
// or IPv6 route without metrics does not allocate; a route with metrics
// allocates its Metrics, a multipath route its Multipath slice (one
// allocation each). A Route is 184 bytes on 64-bit platforms: what most
// routes lack (metrics, next hops) is held out of line.
//
// Copying a Route copies the Metrics pointer and the Multipath slice
// header, not what they point to: the copies share them. Decoding never
// changes a Metrics or a next-hop slice it handed out, and the package never
// changes those of a Route it is given; treat them as immutable too, and
// to change one, give the Route a new one (see Metrics).
type Route struct {
	Family   Family    // rtm_family: FamilyInet, FamilyInet6 (or FamilyIPMR, FamilyIP6MR; MPLS and other families decode without addresses)
	Type     RouteType // rtm_type; AddRoute sends RouteUnicast for the zero value
	Protocol Protocol  // rtm_protocol
	Scope    Scope     // rtm_scope
	TOS      uint8     // rtm_tos (IPv4 only)
	Pref     RoutePref // RTA_PREF: IPv6 router preference

	EncapType uint16 // RTA_ENCAP_TYPE (LWTUNNEL_ENCAP_*); the RTA_ENCAP nest itself is not decoded

	// Table is the routing table: RTA_TABLE when present (it always is in
	// the kernel's messages), else rtm_table.
	Table    uint32
	Priority uint32 // RTA_PRIORITY: the metric ("metric" in ip route)
	OIF      uint32 // RTA_OIF: output interface index
	IIF      uint32 // RTA_IIF: input interface index
	Flags    uint32 // rtm_flags: RouteFlag* (RTM_F_* and RTNH_F_*)
	Mark     uint32 // RTA_MARK: firewall mark (route lookups)

	// Expires is the remaining lifetime in seconds: the expiry in
	// RTA_CACHEINFO, which the kernel sends for expiring IPv6 routes, or
	// RTA_EXPIRES (seconds as a u32 in requests; clock ticks as a u64 in
	// multicast forwarding entries, where it is the entry's age). 0 means
	// no expiry; a negative value is a route past its expiry that the
	// kernel has not collected yet (ip route shows it as negative too).
	Expires int32

	// NexthopID is the nexthop object the route forwards through
	// (RTA_NH_ID, "nhid" in ip route); 0 for a route with its own next
	// hops. The kernel also reports the object's next hops in the route
	// (Gateway, OIF, Multipath) unless net.ipv4.nexthop_compat_mode is 0.
	NexthopID uint32

	// Dst is the destination: RTA_DST with rtm_dst_len. For IPv4 and IPv6
	// routes it is always valid; the default route is 0.0.0.0/0 or ::/0.
	Dst netip.Prefix
	// Src is the source selector of a source-specific (IPv6 subtree) route:
	// RTA_SRC with rtm_src_len. The zero Prefix means none.
	Src netip.Prefix
	// Gateway is the next hop: RTA_GATEWAY, or the address in RTA_VIA, which
	// the kernel uses when the gateway's family differs from the route's (an
	// IPv4 route through an IPv6 next hop). Encoding picks RTA_VIA for such
	// a gateway.
	Gateway netip.Addr
	PrefSrc netip.Addr // RTA_PREFSRC: preferred source address ("src" in ip route)

	// Metrics holds the route's metrics (RTA_METRICS); nil for a route
	// without any, as most are. It may be shared with other Routes (copies
	// of this one, or routes of one dump with the same metrics), so do not
	// change what it points to: set a new one instead,
	//
	//	m := *r.Metrics // or Metrics{} if r.Metrics is nil
	//	m.MTU = 1400
	//	r.Metrics = &m
	//
	// Equal compares metrics by their values, a nil Metrics equal to a
	// zero one.
	Metrics *Metrics

	// Multipath holds the next hops of an ECMP route (RTA_MULTIPATH); nil for
	// a single-path route. Like Metrics it may be shared: replace the
	// slice rather than change its elements.
	Multipath []NextHop
}

// NextHop is one hop of a multipath route (struct rtnexthop and its
// attributes).
type NextHop struct {
	Gateway netip.Addr // RTA_GATEWAY or RTA_VIA in the hop
	OIF     uint32     // rtnh_ifindex
	Weight  uint16     // rtnh_hops + 1: 1 to 256; 0 encodes as 1
	Flags   uint8      // rtnh_flags: RouteFlag* values below 0x100
}

// Metrics holds the route metrics of RTA_METRICS (RTAX_*). A zero field is
// not set: the kernel leaves zero metrics out of its messages, and encoding
// does the same.
type Metrics struct {
	Lock              uint32 // RTAX_LOCK: bit 1<<RTAX_x locks metric x against PMTU/TCP updates
	MTU               uint32 // RTAX_MTU
	Window            uint32 // RTAX_WINDOW
	RTT               uint32 // RTAX_RTT
	RTTVar            uint32 // RTAX_RTTVAR
	SSThresh          uint32 // RTAX_SSTHRESH
	CWnd              uint32 // RTAX_CWND
	AdvMSS            uint32 // RTAX_ADVMSS
	Reordering        uint32 // RTAX_REORDERING
	HopLimit          uint32 // RTAX_HOPLIMIT
	InitCWnd          uint32 // RTAX_INITCWND
	Features          uint32 // RTAX_FEATURES
	RTOMin            uint32 // RTAX_RTO_MIN
	InitRWnd          uint32 // RTAX_INITRWND
	QuickAck          uint32 // RTAX_QUICKACK
	FastOpenNoCookie  uint32 // RTAX_FASTOPEN_NO_COOKIE
	CongestionControl string // RTAX_CC_ALGO ("congctl"); decoding the kernel's algorithms does not allocate
}

// field returns the metric of type t (RTAX_*), or nil for RTAX_CC_ALGO and
// unknown types.
func (m *Metrics) field(t uint16) *uint32 {
	switch t {
	case 1:
		return &m.Lock
	case 2:
		return &m.MTU
	case 3:
		return &m.Window
	case 4:
		return &m.RTT
	case 5:
		return &m.RTTVar
	case 6:
		return &m.SSThresh
	case 7:
		return &m.CWnd
	case 8:
		return &m.AdvMSS
	case 9:
		return &m.Reordering
	case 10:
		return &m.HopLimit
	case 11:
		return &m.InitCWnd
	case 12:
		return &m.Features
	case 13:
		return &m.RTOMin
	case 14:
		return &m.InitRWnd
	case 15:
		return &m.QuickAck
	case 17:
		return &m.FastOpenNoCookie
	}
	return nil
}

// metricTypes lists the numeric RTAX_* types in encoding order.
var metricTypes = [...]uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17}

// IsZero reports whether no metric is set; a nil *Metrics has none.
func (m *Metrics) IsZero() bool {
	if m == nil {
		return true
	}
	// Field by field: comparing with Metrics{} calls the struct's generated
	// equality (a memequal of 64 bytes and a string compare).
	return m.Lock|m.MTU|m.Window|m.RTT|m.RTTVar|m.SSThresh|m.CWnd|m.AdvMSS|m.Reordering|m.HopLimit|
		m.InitCWnd|m.Features|m.RTOMin|m.InitRWnd|m.QuickAck|m.FastOpenNoCookie == 0 && m.CongestionControl == ""
}

// Equal reports whether m and o hold the same metrics; nil equals a zero
// Metrics.
func (m *Metrics) Equal(o *Metrics) bool {
	switch {
	case m == o:
		return true
	case m == nil:
		return o.IsZero()
	case o == nil:
		return m.IsZero()
	}
	return *m == *o
}

// congestionNames are the kernel's congestion-control algorithms; decoding
// returns these strings instead of allocating new ones.
var congestionNames = [...]string{"reno", "cubic", "bbr", "bic", "cdg", "dctcp", "highspeed", "htcp",
	"hybla", "illinois", "lp", "nv", "scalable", "vegas", "veno", "westwood", "yeah", "dctcp-reno"}

func congestionName(b []byte) string {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	for _, s := range congestionNames {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

// RouteKey identifies a route the way the kernel tells routes apart: no two
// routes of one routing table have the same key, and two messages with the
// same key describe the same route, so RouteKey can index a map of the
// routing table. It is comparable.
//
// IPv4 keeps, under one destination, table, TOS and metric, a list of
// routes that differ by type and forwarding information (ip route append
// and prepend add to it; the kernel's own prefix routes of two links in one
// subnet share it); the kernel refuses a second route equal in both. So an
// IPv4 key holds the type and the forwarding information: the interface and
// gateway in the open and the rest (protocol, scope, preferred source,
// metrics, multipath hops, encapsulation) as a digest, Info.
//
// IPv6 keeps, under one destination, source, table and metric, one route
// per next hop (fe80::/64 is a route on every interface, all with metric
// 256), except that the routes with a gateway join into one multipath
// route. So a single-path IPv6 key holds its interface and gateway, and a
// multipath one holds neither. Routes through a nexthop object (NexthopID)
// are keyed by the object, not by the next hops it resolves to, which change
// with it. The flags that the kernel changes on its own (dead, linkdown)
// are never part of a key.
//
// A RouteKey is 80 bytes and holds no pointers, so that a table of a
// million routes costs the garbage collector nothing to scan; its parts
// are read with its methods.
type RouteKey struct {
	dst, src, gw [16]byte
	info         uint64 // IPv4: a digest of the rest of the forwarding information
	table        uint32
	priority     uint32
	oif          uint32
	nhid         uint32
	dstLen       uint8
	srcLen       uint8 // with hasSrc&1: the source selector's length
	family       Family
	tos          uint8
	typ          RouteType // IPv4 only
	// flags: keySrc (a source selector), keyGw4, keyGw6 (the gateway's
	// family).
	flags uint8
	copy  uint8 // see Copy
}

const (
	keySrc = 1 << iota
	keyGw4
	keyGw6
)

// Key returns the route's identity. It does not allocate.
func (r *Route) Key() RouteKey {
	k := RouteKey{table: r.Table, priority: r.Priority, family: r.Family, tos: r.TOS, nhid: r.NexthopID}
	if r.Dst.IsValid() {
		k.dst, k.dstLen = r.Dst.Addr().As16(), uint8(r.Dst.Bits())
	}
	if r.Src.IsValid() {
		k.src, k.srcLen = r.Src.Addr().As16(), uint8(r.Src.Bits())
		k.flags |= keySrc
	}
	switch {
	case r.Family == FamilyInet:
		k.typ = r.Type
		if r.NexthopID == 0 {
			k.oif = r.OIF
			k.setGateway(r.Gateway)
		}
		k.info = r.infoDigest()
	case r.Family == FamilyInet6 && r.NexthopID == 0 && len(r.Multipath) == 0:
		k.oif = r.OIF
		k.setGateway(r.Gateway)
		// IPv6 refuses a second route through the same next hop, but a
		// replace can make one: a blackhole in place of a local route,
		// beside a throw route or another blackhole of another protocol,
		// all on lo.
		k.info = uint64(r.EncapType) | uint64(r.Protocol)<<16
		k.typ = r.Type
	}
	return k
}

func (k *RouteKey) setGateway(a netip.Addr) {
	k.flags &^= keyGw4 | keyGw6
	k.gw = [16]byte{}
	switch {
	case a.Is4():
		k.gw, k.flags = a.As16(), k.flags|keyGw4
	case a.IsValid():
		k.gw, k.flags = a.As16(), k.flags|keyGw6
	}
}

// Group returns the part of a route's key that the kernel's lookups,
// replaces and deletes select by: the destination, source, table, TOS and
// metric. Several routes may share one (see RouteKey).
func (k RouteKey) Group() RouteKey {
	return RouteKey{dst: k.dst, src: k.src, table: k.table, priority: k.priority, family: k.family, tos: k.tos,
		dstLen: k.dstLen, srcLen: k.srcLen, flags: k.flags & keySrc}
}

func (k *RouteKey) addr(b *[16]byte) netip.Addr {
	if k.family.addrLen() == 4 {
		return netip.AddrFrom4([4]byte(b[12:]))
	}
	return netip.AddrFrom16(*b)
}

// Dst returns the destination.
func (k RouteKey) Dst() netip.Prefix {
	if k.family.addrLen() == 0 {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(k.addr(&k.dst), int(k.dstLen))
}

// Src returns the source selector, or the zero Prefix.
func (k RouteKey) Src() netip.Prefix {
	if k.flags&keySrc == 0 || k.family.addrLen() == 0 {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(k.addr(&k.src), int(k.srcLen))
}

// Gateway returns the gateway the key holds (single-path routes), or the
// zero Addr.
func (k RouteKey) Gateway() netip.Addr {
	switch {
	case k.flags&keyGw4 != 0:
		return netip.AddrFrom4([4]byte(k.gw[12:]))
	case k.flags&keyGw6 != 0:
		return netip.AddrFrom16(k.gw)
	}
	return netip.Addr{}
}

func (k RouteKey) Family() Family    { return k.family }   // the route's family
func (k RouteKey) Table() uint32     { return k.table }    // the routing table
func (k RouteKey) Priority() uint32  { return k.priority } // the metric
func (k RouteKey) TOS() uint8        { return k.tos }      // the TOS (IPv4)
func (k RouteKey) Type() RouteType   { return k.typ }      // the type (IPv4 only; RouteUnspec for IPv6)
func (k RouteKey) OIF() uint32       { return k.oif }      // the interface the key holds (single-path routes)
func (k RouteKey) NexthopID() uint32 { return k.nhid }     // the nexthop object
func (k RouteKey) Info() uint64      { return k.info }     // the digest of the rest of an IPv4 route's forwarding information

// Copy tells apart routes that nothing else does: IPv6 refuses to add a
// route through a next hop another route of its group has, but a replace
// does not check, so `ip -6 route add X dev a`, `append X dev b`, `replace
// X dev b` leaves two routes X dev b that no attribute tells apart. A key
// from Route.Key is copy 0; a table that holds such twins (a dump, a
// watcher) keys the second copy 1, in the kernel's order.
func (k RouteKey) Copy() uint8 { return k.copy }

// WithCopy returns k as copy n (see Copy).
func (k RouteKey) WithCopy(n uint8) RouteKey {
	k.copy = n
	return k
}

// Compare orders keys by family, table, destination, source, TOS, metric
// and the rest, as a sort wants (-1, 0, +1).
func (k RouteKey) Compare(o RouteKey) int {
	if c := cmp.Compare(k.family, o.family); c != 0 {
		return c
	}
	if c := cmp.Compare(k.table, o.table); c != 0 {
		return c
	}
	if c := bytes.Compare(k.dst[:], o.dst[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(k.dstLen, o.dstLen); c != 0 {
		return c
	}
	if c := cmp.Compare(k.flags&keySrc, o.flags&keySrc); c != 0 {
		return c
	}
	if c := bytes.Compare(k.src[:], o.src[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(k.srcLen, o.srcLen); c != 0 {
		return c
	}
	if c := cmp.Compare(k.tos, o.tos); c != 0 {
		return c
	}
	if c := cmp.Compare(k.priority, o.priority); c != 0 {
		return c
	}
	if c := cmp.Compare(k.typ, o.typ); c != 0 {
		return c
	}
	if c := cmp.Compare(k.oif, o.oif); c != 0 {
		return c
	}
	if c := cmp.Compare(k.flags, o.flags); c != 0 {
		return c
	}
	if c := bytes.Compare(k.gw[:], o.gw[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(k.nhid, o.nhid); c != 0 {
		return c
	}
	if c := cmp.Compare(k.info, o.info); c != 0 {
		return c
	}
	return cmp.Compare(k.copy, o.copy)
}

// infoDigest is a digest of what identifies an IPv4 route's forwarding
// information (the kernel's fib_info) beyond the interface and gateway that
// RouteKey holds in the open. Routes that differ only there are rare; the
// digest keeps the key small and comparable. It mixes a word at a time
// (digestMix), the common route (no source, hops or metrics) in one step.
func (r *Route) infoDigest() uint64 {
	h := uint64(14695981039346656037)
	onlink := r.Flags & RouteFlagOnlink
	if r.NexthopID != 0 {
		onlink = 0 // the nexthop object's, which may change
	}
	h = digestMix(h, uint64(r.Protocol)|uint64(r.Scope)<<8|uint64(r.EncapType)<<16|uint64(onlink)<<32)
	if r.PrefSrc.IsValid() {
		h = digestAddr(h, r.PrefSrc)
	}
	if r.NexthopID == 0 {
		for i := range r.Multipath {
			hop := &r.Multipath[i]
			h = digestMix(h, uint64(hop.OIF)|uint64(hop.Weight)<<32|uint64(uint32(hop.Flags)&RouteFlagOnlink)<<48)
			if hop.Gateway.IsValid() {
				h = digestAddr(h, hop.Gateway)
			}
		}
	}
	if !r.Metrics.IsZero() {
		for _, t := range metricTypes {
			h = digestMix(h, uint64(*r.Metrics.field(t)))
		}
		for i := 0; i < len(r.Metrics.CongestionControl); i++ {
			h = digestMix(h, uint64(r.Metrics.CongestionControl[i]))
		}
	}
	return h
}

// digestMix folds the word v into the digest h: a xor, then a bijective
// multiply and xor-shift, so that two sequences of words of one length that
// differ in one word never give the same digest.
func digestMix(h, v uint64) uint64 {
	h ^= v
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>32
}

func digestAddr(h uint64, a netip.Addr) uint64 {
	b := a.As16()
	h = digestMix(h, binary.LittleEndian.Uint64(b[:8]))
	h = digestMix(h, binary.LittleEndian.Uint64(b[8:]))
	if a.Is4() {
		h = digestMix(h, 4)
	}
	return h
}

// Equal reports whether r and o hold the same values: metrics by value,
// not by pointer, and the next hops of an IPv6 multipath route as a set
// (IPv6 lists a group's hops starting from the member a message is about,
// so the same group comes in different orders). It does not allocate for
// up to 64 hops.
func (r *Route) Equal(o *Route) bool {
	return r.Family == o.Family && r.Type == o.Type && r.Protocol == o.Protocol && r.Scope == o.Scope &&
		r.TOS == o.TOS && r.Pref == o.Pref && r.EncapType == o.EncapType && r.Table == o.Table &&
		r.Priority == o.Priority && r.OIF == o.OIF && r.IIF == o.IIF && r.Flags == o.Flags &&
		r.Mark == o.Mark && r.Expires == o.Expires && r.NexthopID == o.NexthopID && r.Dst == o.Dst && r.Src == o.Src &&
		r.Gateway == o.Gateway && r.PrefSrc == o.PrefSrc && r.Metrics.Equal(o.Metrics) &&
		(slices.Equal(r.Multipath, o.Multipath) || r.Family == FamilyInet6 && sameHops(r.Multipath, o.Multipath))
}

// sameHops reports whether a and b hold the same hops in any order.
func sameHops(a, b []NextHop) bool {
	if len(a) != len(b) {
		return false
	}
	var small [64]bool
	var used []bool
	if len(b) <= len(small) {
		used = small[:len(b)]
	} else {
		used = make([]bool, len(b))
	}
	for _, h := range a {
		found := false
		for j := range b {
			if !used[j] && b[j] == h {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ErrMessageType reports a message of a type the decoder does not handle
// (a link message given to DecodeRoute, for instance).
var ErrMessageType = errors.New("rtnl: unexpected message type")

// DecodeRoute decodes an RTM_NEWROUTE, RTM_DELROUTE or RTM_GETROUTE message.
// The result does not alias m.Data. It does not allocate for a single-path
// route.
func DecodeRoute(m nl.Message) (Route, error) {
	var r Route
	switch m.Header.Type {
	case TypeNewRoute, TypeDelRoute, TypeGetRoute:
	default:
		return r, fmt.Errorf("%w: %d is not a route message", ErrMessageType, m.Header.Type)
	}
	err := r.decode(m.Data, nil)
	return r, err
}

// UnmarshalBinary decodes the payload of a route message (struct rtmsg and
// attributes) into r, replacing all of r. It does not allocate for a
// single-path route, and r does not alias b.
func (r *Route) UnmarshalBinary(b []byte) error {
	*r = Route{}
	return r.decode(b, nil)
}

func shortErr(what string, n, want int) error {
	return fmt.Errorf("rtnl: %s: %w: %d bytes, want at least %d", what, nl.ErrShortMessage, n, want)
}

// metricsCache lets the routes of one dump share their Metrics: it holds
// the last metrics decoded, which the next route with the same values
// reuses instead of allocating its own. Routes with metrics tend to come
// in runs of equal ones (the routes of one link, of one router
// advertisement).
type metricsCache struct{ last *Metrics }

// intern returns a *Metrics holding m: c's last one if equal, else a new
// one (one allocation), which becomes c's last. A nil c always allocates.
func (c *metricsCache) intern(m *Metrics) *Metrics {
	if c != nil && c.last != nil && *c.last == *m {
		return c.last
	}
	p := new(Metrics)
	*p = *m
	if c != nil {
		c.last = p
	}
	return p
}

// decode decodes b into r, which must be the zero Route; mc, if not nil,
// shares metrics between the routes it decodes.
func (r *Route) decode(b []byte, mc *metricsCache) error {
	if len(b) < sizeofRtmsg {
		return shortErr("route", len(b), sizeofRtmsg)
	}
	r.Family = Family(b[0])
	dstLen, srcLen := int(b[1]), int(b[2])
	r.TOS = b[3]
	r.Table = uint32(b[4])
	r.Protocol = Protocol(b[5])
	r.Scope = Scope(b[6])
	r.Type = RouteType(b[7])
	r.Flags = binary.NativeEndian.Uint32(b[8:12])
	alen := r.Family.addrLen()
	if alen != 0 && (dstLen > alen*8 || srcLen > alen*8) {
		return fmt.Errorf("rtnl: route: prefix length /%d or /%d too long for family %v", dstLen, srcLen, r.Family)
	}
	var dst, src netip.Addr
	var cacheExpires int32
	hasSrc := srcLen != 0
	d := nl.NewAttributeDecoder(b[sizeofRtmsg:])
	for d.Next() {
		switch d.Type() {
		case rtaDst:
			dst = addrAttr(&d, alen)
		case rtaSrc:
			src = addrAttr(&d, alen)
			hasSrc = true
		case rtaTable:
			r.Table = d.Uint32()
		case rtaOIF:
			r.OIF = d.Uint32()
		case rtaIIF:
			r.IIF = d.Uint32()
		case rtaGateway:
			r.Gateway = addrAttr(&d, alen)
		case rtaVia:
			if alen != 0 {
				r.Gateway = viaAttr(&d)
			}
		case rtaPrefSrc:
			r.PrefSrc = addrAttr(&d, alen)
		case rtaPriority:
			r.Priority = d.Uint32()
		case rtaMark:
			r.Mark = d.Uint32()
		case rtaPref:
			r.Pref = RoutePref(d.Uint8())
		case rtaEncapType:
			r.EncapType = d.Uint16()
		case rtaExpires:
			if d.Len() == 8 {
				// Multicast forwarding entries: a u64 of clock ticks.
				r.Expires = int32(min(d.Uint64()/userHZ, math.MaxInt32))
			} else {
				// Seconds as a u32: past math.MaxInt32 it is as far off.
				r.Expires = int32(min(d.Uint32(), math.MaxInt32))
			}
		case rtaNHID:
			r.NexthopID = d.Uint32()
		case rtaCacheInfo:
			if d.Len() >= sizeofCacheinfo {
				cacheExpires = int32(binary.NativeEndian.Uint32(d.Bytes()[8:12]))
			}
		case rtaMetrics:
			var m Metrics
			decodeMetrics(&d, &m)
			if !m.IsZero() {
				r.Metrics = mc.intern(&m)
			}
		case rtaMultipath:
			hops, err := decodeMultipath(d.Bytes(), alen)
			if err != nil {
				d.Propagate(err)
			}
			r.Multipath = hops
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: route: %w", err)
	}
	if alen != 0 {
		if !dst.IsValid() {
			dst = zeroAddr(alen)
		}
		r.Dst = netip.PrefixFrom(dst, dstLen)
		if hasSrc {
			if !src.IsValid() {
				src = zeroAddr(alen)
			}
			r.Src = netip.PrefixFrom(src, srcLen)
		}
	}
	if r.Expires == 0 && cacheExpires != 0 {
		// rta_expires counts clock ticks (USER_HZ), negative once the
		// route is past its expiry; round away from zero so that a route
		// about to expire does not read as never expiring.
		e := int64(cacheExpires)
		if e > 0 {
			e = (e + userHZ - 1) / userHZ
		} else {
			e = (e - userHZ + 1) / userHZ
		}
		r.Expires = int32(e)
	}
	return nil
}

func zeroAddr(alen int) netip.Addr {
	if alen == 4 {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// addrAttr decodes an address attribute of a family whose addresses are
// alen bytes long; for alen 0 (not an IP family) it returns the zero Addr.
func addrAttr(d *nl.AttributeDecoder, alen int) netip.Addr {
	b := d.Bytes()
	switch {
	case alen == 0:
		return netip.Addr{}
	case len(b) != alen:
		d.Propagate(fmt.Errorf("attribute type %d: %d-byte address, want %d", d.Type(), len(b), alen))
		return netip.Addr{}
	case alen == 4:
		return netip.AddrFrom4([4]byte(b))
	}
	return netip.AddrFrom16([16]byte(b))
}

// viaAttr decodes RTA_VIA (struct rtvia: a u16 family and an address). A
// family other than IPv4 or IPv6 (AF_PACKET, for MPLS) gives the zero Addr.
func viaAttr(d *nl.AttributeDecoder) netip.Addr {
	b := d.Bytes()
	if len(b) < 2 {
		d.Propagate(fmt.Errorf("RTA_VIA: %w: %d bytes", nl.ErrShortMessage, len(b)))
		return netip.Addr{}
	}
	fam, a := binary.NativeEndian.Uint16(b), b[2:]
	switch {
	case fam == afInet && len(a) == 4:
		return netip.AddrFrom4([4]byte(a))
	case fam == afInet6 && len(a) == 16:
		return netip.AddrFrom16([16]byte(a))
	case fam == afInet || fam == afInet6:
		d.Propagate(fmt.Errorf("RTA_VIA: %d-byte address for family %d", len(a), fam))
	}
	return netip.Addr{}
}

func decodeMetrics(d *nl.AttributeDecoder, m *Metrics) {
	md := d.Nested()
	for md.Next() {
		t := md.Type()
		if t == rtaxCCAlgo {
			m.CongestionControl = congestionName(md.Bytes())
			continue
		}
		if p := m.field(t); p != nil {
			*p = md.Uint32()
		}
	}
	d.Propagate(md.Err())
}

// decodeMultipath decodes the rtnexthop list of RTA_MULTIPATH into one
// exactly sized slice.
func decodeMultipath(b []byte, alen int) ([]NextHop, error) {
	n := 0
	for rest := b; len(rest) > 0; n++ {
		if len(rest) < sizeofRtnexthop {
			return nil, fmt.Errorf("RTA_MULTIPATH: %w: %d trailing bytes", nl.ErrShortMessage, len(rest))
		}
		l := int(binary.NativeEndian.Uint16(rest))
		if l < sizeofRtnexthop || l > len(rest) {
			return nil, fmt.Errorf("RTA_MULTIPATH: %w: next hop of %d bytes, %d left", nl.ErrBadLength, l, len(rest))
		}
		rest = rest[min(nl.Align(l), len(rest)):]
	}
	if n == 0 {
		return nil, nil
	}
	hops := make([]NextHop, n)
	for i := range hops {
		l := int(binary.NativeEndian.Uint16(b))
		h := &hops[i]
		h.Flags = b[2]
		h.Weight = uint16(b[3]) + 1
		h.OIF = binary.NativeEndian.Uint32(b[4:8])
		d := nl.NewAttributeDecoder(b[sizeofRtnexthop:l])
		for d.Next() {
			switch d.Type() {
			case rtaGateway:
				h.Gateway = addrAttr(&d, alen)
			case rtaVia:
				if alen != 0 {
					h.Gateway = viaAttr(&d)
				}
			}
		}
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("RTA_MULTIPATH: hop %d: %w", i, err)
		}
		b = b[min(nl.Align(l), len(b)):]
	}
	return hops, nil
}

// family returns the route's family, inferred from its addresses when
// Family is not set.
func (r *Route) family() Family {
	if r.Family != 0 {
		return r.Family
	}
	for _, a := range [...]netip.Addr{r.Dst.Addr(), r.Src.Addr(), r.PrefSrc, r.Gateway} {
		if f := familyOf(a); f != 0 {
			return f
		}
	}
	for _, h := range r.Multipath {
		if f := familyOf(h.Gateway); f != 0 {
			return f
		}
	}
	return 0
}

// checkFamily reports an address whose family does not match the route's.
func checkFamily(what string, a netip.Addr, fam Family) error {
	if a.IsValid() && !fits(a, fam.addrLen()) {
		return fmt.Errorf("rtnl: route: %s %v is not an %v address", what, a, fam)
	}
	return nil
}

// AppendBinary appends the payload of a route message (struct rtmsg and
// attributes) to b (encoding.BinaryAppender). A zero Family is inferred from
// the addresses. It allocates only if b lacks capacity.
func (r *Route) AppendBinary(b []byte) ([]byte, error) {
	fam := r.family()
	alen := fam.addrLen()
	if alen == 0 && (r.Dst.IsValid() || r.Src.IsValid() || r.Gateway.IsValid() || r.PrefSrc.IsValid()) {
		return b, fmt.Errorf("rtnl: route: family %v does not carry IP addresses", fam)
	}
	if alen != 0 {
		for _, c := range [...]struct {
			what string
			a    netip.Addr
		}{{"destination", r.Dst.Addr()}, {"source", r.Src.Addr()}, {"preferred source", r.PrefSrc}} {
			if err := checkFamily(c.what, c.a, fam); err != nil {
				return b, err
			}
		}
	}
	table := r.Table
	if table > 255 {
		table = TableCompat
	}
	var dstLen, srcLen uint8
	if r.Dst.IsValid() {
		dstLen = uint8(r.Dst.Bits())
	}
	if r.Src.IsValid() {
		srcLen = uint8(r.Src.Bits())
	}
	b = append(b, byte(fam), dstLen, srcLen, r.TOS, byte(table), byte(r.Protocol), byte(r.Scope), byte(r.Type))
	b = binary.NativeEndian.AppendUint32(b, r.Flags)
	e := nl.NewAttributeEncoder(b)
	if r.Table != 0 {
		e.Uint32(rtaTable, r.Table)
	}
	if a := r.Dst.Addr(); r.Dst.IsValid() && (dstLen != 0 || !a.IsUnspecified()) {
		putAddr(e, rtaDst, a)
	}
	if r.Src.IsValid() {
		putAddr(e, rtaSrc, r.Src.Addr())
	}
	if r.OIF != 0 {
		e.Uint32(rtaOIF, r.OIF)
	}
	if r.IIF != 0 {
		e.Uint32(rtaIIF, r.IIF)
	}
	putGateway(e, r.Gateway, fam)
	if r.PrefSrc.IsValid() {
		putAddr(e, rtaPrefSrc, r.PrefSrc)
	}
	if r.Priority != 0 {
		e.Uint32(rtaPriority, r.Priority)
	}
	if r.Mark != 0 {
		e.Uint32(rtaMark, r.Mark)
	}
	if r.Pref != 0 {
		e.Uint8(rtaPref, uint8(r.Pref))
	}
	if r.EncapType != 0 {
		e.Uint16(rtaEncapType, r.EncapType)
	}
	if r.Expires > 0 { // a request cannot ask for an expiry in the past
		e.Uint32(rtaExpires, uint32(r.Expires))
	}
	if r.NexthopID != 0 {
		e.Uint32(rtaNHID, r.NexthopID)
	}
	if !r.Metrics.IsZero() {
		mark := e.BeginNested(rtaMetrics)
		for _, t := range metricTypes {
			if v := *r.Metrics.field(t); v != 0 {
				e.Uint32(t, v)
			}
		}
		if r.Metrics.CongestionControl != "" {
			e.String(rtaxCCAlgo, r.Metrics.CongestionControl)
		}
		e.EndNested(mark)
	}
	if len(r.Multipath) > 0 {
		if err := putMultipath(e, r.Multipath, fam); err != nil {
			return b, err
		}
	}
	return e.Bytes()
}

// putAddr appends an address attribute: 4 bytes for IPv4, 16 for IPv6
// (IPv4-mapped IPv6 addresses stay 16 bytes, unlike AttributeEncoder.Addr).
func putAddr(e *nl.AttributeEncoder, t uint16, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		e.Raw(t, v[:])
		return
	}
	v := a.As16()
	e.Raw(t, v[:])
}

// putGateway appends RTA_GATEWAY, or RTA_VIA when the gateway's family is
// not the route's.
func putGateway(e *nl.AttributeEncoder, gw netip.Addr, fam Family) {
	if !gw.IsValid() {
		return
	}
	if fits(gw, fam.addrLen()) {
		putAddr(e, rtaGateway, gw)
		return
	}
	gf := familyOf(gw)
	var v [18]byte
	n := 2
	if gf == FamilyInet {
		binary.NativeEndian.PutUint16(v[:], afInet)
		a := gw.As4()
		n += copy(v[2:], a[:])
	} else {
		binary.NativeEndian.PutUint16(v[:], afInet6)
		a := gw.As16()
		n += copy(v[2:], a[:])
	}
	e.Raw(rtaVia, v[:n])
}

// putMultipath appends RTA_MULTIPATH. Its payload is not an attribute
// list: each hop is a struct rtnexthop followed by the hop's attributes, its
// length counting both, so lengths are patched in once known. The nest goes
// without NLA_F_NESTED, as the kernel sends it.
func putMultipath(e *nl.AttributeEncoder, hops []NextHop, fam Family) error {
	mark := e.Len()
	var hdr [nl.AttrHeaderLen]byte
	binary.NativeEndian.PutUint16(hdr[2:], rtaMultipath)
	e.Append(hdr[:])
	for _, h := range hops {
		if h.Weight > 256 {
			return fmt.Errorf("rtnl: route: next-hop weight %d above 256", h.Weight)
		}
		start := e.Len()
		var nh [sizeofRtnexthop]byte
		nh[2] = h.Flags
		nh[3] = uint8(max(h.Weight, 1) - 1)
		binary.NativeEndian.PutUint32(nh[4:], h.OIF)
		e.Append(nh[:])
		putGateway(e, h.Gateway, fam)
		b, _ := e.Bytes()
		binary.NativeEndian.PutUint16(b[start:], uint16(len(b)-start))
	}
	b, err := e.Bytes()
	if err != nil {
		return err
	}
	if n := len(b) - mark; n > nl.MaxAttrLen {
		return fmt.Errorf("rtnl: route: %w: RTA_MULTIPATH of %d bytes, the limit is %d", nl.ErrBadLength, n, nl.MaxAttrLen)
	}
	binary.NativeEndian.PutUint16(b[mark:], uint16(len(b)-mark))
	return nil
}

// MarshalBinary returns the payload of a route message
// (encoding.BinaryMarshaler). One allocation.
func (r *Route) MarshalBinary() ([]byte, error) { return r.AppendBinary(make([]byte, 0, 128)) }

// Message returns r as a request of type typ (TypeNewRoute, TypeDelRoute,
// TypeGetRoute) with the given header flags (nl.FlagCreate, nl.FlagExcl, …).
// Sequence number and length are left for nl.Conn to fill in. One
// allocation for the payload.
func (r *Route) Message(typ, flags uint16) (nl.Message, error) {
	b, err := r.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
