package rtnl

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The JSON forms of Route, Link, Address, Neighbor and Nexthop: the object
// `ip -json` prints for one entry (ip route, ip link, ip -oneline addr, ip
// neigh, bridge fdb, ip nexthop show), with its field names, its value types
// (a table or a group is a string, "main" or "77"; a metric is a number) and
// its habit of leaving out what it leaves out of its text (a main table, a
// boot protocol, a global scope), so that a program that reads ip -j reads
// these too.
//
// ip -j names interfaces ("dev": "v0"); a value holds only their indexes.
// MarshalJSON gives each such field as the index under the field's name
// with "_index" after it ("dev_index": 3, "master_index": 5, as ip itself
// prints "link_index" for a peer it cannot name), and AppendJSONNames,
// given a function that names indexes, gives ip's field ("dev": "v0"),
// falling back to the index for an interface it cannot name. Interface
// indexes that ip prints as numbers (a link's "ifindex", an address's
// "index") are there in both.

// jsonWriter appends JSON to b. open is true right after '{', '[' or a
// key, where the next value needs no comma before it.
type jsonWriter struct {
	b    []byte
	open bool
}

func (w *jsonWriter) sep() {
	if !w.open {
		w.b = append(w.b, ',')
	}
	w.open = false
}

func (w *jsonWriter) begin(c byte) {
	w.sep()
	w.b = append(w.b, c)
	w.open = true
}

func (w *jsonWriter) end(c byte) {
	w.b = append(w.b, c)
	w.open = false
}

// key starts the field k (and suffix, appended to it). Keys are the
// package's own constants and need no escaping.
func (w *jsonWriter) key(k, suffix string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, suffix...)
	w.b = append(w.b, '"', ':')
	w.open = true
}

func (w *jsonWriter) str(s string) {
	w.sep()
	w.b = appendJSONString(w.b, s)
}

func (w *jsonWriter) strBytes(s []byte) {
	w.sep()
	w.b = appendJSONString(w.b, s)
}

func (w *jsonWriter) uint(v uint64) {
	w.sep()
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *jsonWriter) int(v int64) {
	w.sep()
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jsonWriter) float(v float64) {
	w.sep()
	w.b = strconv.AppendFloat(w.b, v, 'g', 6, 64)
}

func (w *jsonWriter) null() {
	w.sep()
	w.b = append(w.b, "null"...)
}

func (w *jsonWriter) boolean(v bool) {
	w.sep()
	w.b = strconv.AppendBool(w.b, v)
}

// text writes the quoted output of f, which appends text that needs no
// escaping (addresses, prefixes, numbers).
func (w *jsonWriter) text(f func([]byte) []byte) {
	w.sep()
	w.b = append(f(append(w.b, '"')), '"')
}

func (w *jsonWriter) addr(a netip.Addr) { w.text(a.AppendTo) }

func (w *jsonWriter) fstr(k, s string)             { w.key(k, ""); w.str(s) }
func (w *jsonWriter) fuint(k string, v uint64)     { w.key(k, ""); w.uint(v) }
func (w *jsonWriter) fnull(k string)               { w.key(k, ""); w.null() }
func (w *jsonWriter) faddr(k string, a netip.Addr) { w.key(k, ""); w.addr(a) }

// dev writes interface index i under ip's key k when names knows it, else
// under k+"_index".
func (w *jsonWriter) dev(k string, i uint32, names func(index uint32) string) {
	if names != nil {
		if s := names(i); s != "" {
			w.fstr(k, s)
			return
		}
	}
	w.key(k, "_index")
	w.uint(uint64(i))
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func appendJSONString[S string | []byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&15])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// MarshalJSON returns the route as `ip -json route show table all` prints
// it: {"type":"blackhole","dst":"10.8.0.0/24","table":"77","flags":[]},
// {"dst":"default","gateway":"192.0.2.1","dev_index":2,"protocol":"dhcp",
// "metric":100,"flags":[]}; a gateway of another family is "via":
// {"family":"inet6","host":"2001:db8::2"}, the hops of a multipath route
// are "nexthops", the metrics "metrics": [{"mtu":1400}]. The interfaces
// are indexes (dev_index, iif_index; see AppendJSONNames). It never fails;
// one allocation.
func (r Route) MarshalJSON() ([]byte, error) {
	return r.appendJSON(make([]byte, 0, 192+96*len(r.Multipath)), nil), nil
}

// AppendJSONNames appends the JSON form of r (see MarshalJSON) to b, with
// interface names as ip prints them ("dev": "v0") where names(index)
// knows them. A nil names gives the indexes. It allocates only if b lacks
// capacity.
func (r *Route) AppendJSONNames(b []byte, names func(index uint32) string) []byte {
	return r.appendJSON(b, names)
}

// gateway writes a next hop's gateway as ip does: "gateway", or "via" with
// its family when it is not the route's.
func (w *jsonWriter) gateway(gw netip.Addr, alen int) {
	if fits(gw, alen) {
		w.faddr("gateway", gw)
		return
	}
	w.key("via", "")
	w.begin('{')
	w.fstr("family", familyOf(gw).String())
	w.faddr("host", gw)
	w.end('}')
}

func (w *jsonWriter) routeFlags(flags uint32) {
	w.key("flags", "")
	w.begin('[')
	for _, f := range routeFlagNames {
		if flags&f.bit != 0 {
			w.str(f.name)
		}
	}
	w.end(']')
}

func (w *jsonWriter) metrics(m *Metrics) {
	w.key("metrics", "")
	w.begin('[')
	w.begin('{')
	for t := uint16(metricTypeFirst); t <= metricTypeLast; t++ {
		v, _, shown := m.metric(t)
		if !shown {
			continue
		}
		switch t {
		case rtaxCCAlgo:
			w.fstr("congestion", m.CongestionControl)
		case rtaxFeatures:
			if v&rtaxFeatureECN != 0 {
				w.fnull("ecn")
			}
			if v&^rtaxFeatureECN != 0 {
				w.key("features", "")
				w.text(func(b []byte) []byte { return strconv.AppendUint(append(b, "0x"...), uint64(v), 16) })
			}
		default:
			w.fuint(metricNames[t], uint64(v))
		}
	}
	w.end('}')
	w.end(']')
}

func (r *Route) appendJSON(b []byte, names func(index uint32) string) []byte {
	fam := r.family()
	alen := fam.addrLen()
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	if r.Type != RouteUnicast && r.Type != RouteUnspec {
		w.fstr("type", r.Type.String())
	}
	w.key("dst", "")
	w.text(func(b []byte) []byte { return appendRouteDst(b, r.Dst) })
	if r.Src.IsValid() {
		w.key("from", "")
		w.text(func(b []byte) []byte { return appendHostOrPrefix(b, r.Src) })
	}
	if r.NexthopID != 0 {
		w.fuint("nhid", uint64(r.NexthopID))
	}
	if r.EncapType != 0 {
		w.fstr("encap", encapName(r.EncapType))
	}
	if r.TOS != 0 {
		w.key("tos", "")
		w.text(func(b []byte) []byte { return appendTOS(b, r.TOS) })
	}
	if r.Gateway.IsValid() {
		w.gateway(r.Gateway, alen)
	}
	if r.OIF != 0 {
		w.dev("dev", r.OIF, names)
	}
	if r.Table != TableMain && r.Table != TableUnspec {
		w.fstr("table", TableName(r.Table))
	}
	if r.Flags&RouteFlagCloned == 0 {
		if r.Protocol != ProtoBoot {
			w.fstr("protocol", r.Protocol.String())
		}
		if r.Scope != ScopeUniverse {
			w.fstr("scope", r.Scope.String())
		}
	}
	if r.PrefSrc.IsValid() {
		w.faddr("prefsrc", r.PrefSrc)
	}
	if r.hasMetric(fam) {
		w.fuint("metric", uint64(r.Priority))
	}
	w.routeFlags(r.Flags)
	if r.Mark != 0 {
		w.fuint("mark", uint64(r.Mark))
	}
	if r.Expires != 0 {
		w.key("expires", "")
		w.int(int64(r.Expires))
	}
	if !r.Metrics.IsZero() {
		w.metrics(r.Metrics)
	}
	if r.IIF != 0 {
		w.dev("iif", r.IIF, names)
	}
	if fam == FamilyInet6 {
		w.fstr("pref", r.Pref.String())
	}
	if len(r.Multipath) > 0 {
		w.key("nexthops", "")
		w.begin('[')
		for i := range r.Multipath {
			h := &r.Multipath[i]
			w.begin('{')
			if h.Gateway.IsValid() {
				w.gateway(h.Gateway, alen)
			}
			if h.OIF != 0 {
				w.dev("dev", h.OIF, names)
			}
			if fam != FamilyMPLS {
				w.fuint("weight", uint64(max(h.Weight, 1)))
			}
			w.routeFlags(uint32(h.Flags))
			w.end('}')
		}
		w.end(']')
	}
	w.end('}')
	return w.b
}

// linkAddr writes a link-layer address as ip does (see appendLinkAddr).
func (w *jsonWriter) linkAddr(k string, a *HardwareAddr, typ uint16) {
	w.key(k, "")
	w.text(func(b []byte) []byte { return appendLinkAddr(b, a, typ) })
}

// MarshalJSON returns the link as `ip -json link show` prints it:
// {"ifindex":3,"link_index":2,"ifname":"v0","flags":["BROADCAST",
// "MULTICAST","UP","LOWER_UP"],"mtu":1500,"master_index":5,"operstate":
// "UP","group":"default","txqlen":1000,"link_type":"ether","address":
// "02:00:00:00:00:01","broadcast":"ff:ff:ff:ff:ff:ff"}, and, beyond what
// ip prints without -details, what `ip -json -details -stats -stats`
// adds that Link holds: the kind ("linkinfo":{"info_kind":"veth"}), the
// MTU range, queue counts and offload limits ("min_mtu", "num_tx_queues",
// "gso_max_size" …, each when the kernel sent it or it is not 0),
// "parentbus", "parentdev", and, when HasStats, "stats64". Beyond ip, the
// carrier counters are also top-level fields ("carrier_changes",
// "carrier_up_count", "carrier_down_count"), and so is "num_vf". The
// parent or peer and the master are indexes (see AppendJSONNames). It
// never fails; one allocation.
func (l Link) MarshalJSON() ([]byte, error) {
	return l.appendJSON(make([]byte, 0, 256), nil), nil
}

// AppendJSONNames appends the JSON form of l (see MarshalJSON) to b, with
// the names of the parent or peer ("link") and the master ("master") where
// names(index) knows them; a peer in another namespace stays
// "link_index", as in ip. It allocates only if b lacks capacity.
func (l *Link) AppendJSONNames(b []byte, names func(index uint32) string) []byte {
	return l.appendJSON(b, names)
}

func (l *Link) appendJSON(b []byte, names func(index uint32) string) []byte {
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	w.fuint("ifindex", uint64(l.Index))
	if l.Link != 0 {
		if l.hasLinkNetNSID {
			w.dev("link", l.Link, nil)
		} else {
			w.dev("link", l.Link, names)
		}
	}
	w.key("ifname", "")
	w.strBytes(l.Name.b[:l.Name.Len()])
	w.key("flags", "")
	w.begin('[')
	rest := linkFlagWords(l.Flags, w.str)
	if rest != 0 {
		w.text(func(b []byte) []byte { return strconv.AppendUint(b, uint64(rest), 16) })
	}
	w.end(']')
	if l.MTU != 0 {
		w.fuint("mtu", uint64(l.MTU))
	}
	if l.Master != 0 {
		w.dev("master", l.Master, names)
	}
	if int(l.OperState) < len(operNames) {
		w.fstr("operstate", operNames[l.OperState])
	} else {
		w.fuint("operstate_index", uint64(l.OperState))
	}
	w.key("group", "")
	w.text(func(b []byte) []byte { return appendGroup(b, l.Group) })
	if l.TxQLen != 0 {
		w.fuint("txqlen", uint64(l.TxQLen))
	}
	w.key("link_type", "")
	w.text(func(b []byte) []byte { return appendLinkType(b, l.Type) })
	if !l.Address.IsZero() {
		w.linkAddr("address", &l.Address, l.Type)
	}
	if !l.Broadcast.IsZero() {
		if l.Flags&LinkPointToPt != 0 {
			w.key("link_pointtopoint", "")
			w.boolean(true)
		}
		w.linkAddr("broadcast", &l.Broadcast, l.Type)
	}
	if l.permDiffers() {
		w.linkAddr("permaddr", &l.PermAddress, l.Type)
	}
	if l.hasLinkNetNSID {
		w.key("link_netnsid", "")
		w.int(int64(l.linkNetNSID))
	}
	counts := l.counts()
	for i := range 2 { // min_mtu, max_mtu: before linkinfo, as in ip
		if l.hasCount(i) {
			w.fuint(linkCounts[i].json, uint64(*counts[i]))
		}
	}
	if !l.Kind.IsZero() {
		w.key("linkinfo", "")
		w.begin('{')
		w.key("info_kind", "")
		w.strBytes(l.Kind.b[:l.Kind.Len()])
		w.end('}')
	}
	for i := 2; i < len(counts); i++ {
		if l.hasCount(i) {
			w.fuint(linkCounts[i].json, uint64(*counts[i]))
		}
	}
	if l.ParentBus != "" {
		w.fstr("parentbus", l.ParentBus)
	}
	if l.ParentDev != "" {
		w.fstr("parentdev", l.ParentDev)
	}
	if l.Alias != "" {
		w.fstr("ifalias", l.Alias)
	}
	if l.HasStats {
		w.linkStats(&l.Stats, l.CarrierChanges, l.hasCount(countCarrierChanges))
	}
	if l.altNames != "" {
		w.key("altnames", "")
		w.begin('[')
		for s := l.altNames; s != ""; {
			i := strings.IndexByte(s, 0)
			w.str(s[:i])
			s = s[i+1:]
		}
		w.end(']')
	}
	w.end('}')
	return w.b
}

// linkStats writes the counters as `ip -json -stats -stats` prints them:
// "stats64":{"rx":{…},"tx":{…}}, with the compressed, nohandler and
// otherhost counters only when not 0, and the carrier changes (which the
// kernel sends apart from the counters) last in "tx".
func (w *jsonWriter) linkStats(s *LinkStats, carrierChanges uint32, hasCarrier bool) {
	w.key("stats64", "")
	w.begin('{')
	w.key("rx", "")
	w.begin('{')
	w.fuint("bytes", s.RxBytes)
	w.fuint("packets", s.RxPackets)
	w.fuint("errors", s.RxErrors)
	w.fuint("dropped", s.RxDropped)
	w.fuint("over_errors", s.RxOverErrors)
	w.fuint("multicast", s.Multicast)
	if s.RxCompressed != 0 {
		w.fuint("compressed", s.RxCompressed)
	}
	w.fuint("length_errors", s.RxLengthErrors)
	w.fuint("crc_errors", s.RxCRCErrors)
	w.fuint("frame_errors", s.RxFrameErrors)
	w.fuint("fifo_errors", s.RxFIFOErrors)
	w.fuint("missed_errors", s.RxMissedErrors)
	if s.RxNoHandler != 0 {
		w.fuint("nohandler", s.RxNoHandler)
	}
	if s.RxOtherhostDropped != 0 {
		w.fuint("otherhost", s.RxOtherhostDropped)
	}
	w.end('}')
	w.key("tx", "")
	w.begin('{')
	w.fuint("bytes", s.TxBytes)
	w.fuint("packets", s.TxPackets)
	w.fuint("errors", s.TxErrors)
	w.fuint("dropped", s.TxDropped)
	w.fuint("carrier_errors", s.TxCarrierErrors)
	w.fuint("collisions", s.Collisions)
	if s.TxCompressed != 0 {
		w.fuint("compressed", s.TxCompressed)
	}
	w.fuint("aborted_errors", s.TxAbortedErrors)
	w.fuint("fifo_errors", s.TxFIFOErrors)
	w.fuint("window_errors", s.TxWindowErrors)
	w.fuint("heartbeat_errors", s.TxHeartbeatErrors)
	if hasCarrier {
		w.fuint("carrier_changes", uint64(carrierChanges))
	}
	w.end('}')
	w.end('}')
}

// MarshalJSON returns the address as `ip -json -oneline addr show` prints
// one: {"index":3,"family":"inet","local":"10.0.0.1","prefixlen":24,
// "broadcast":"10.0.0.255","scope":"global","label":"v0",
// "valid_life_time":4294967295,"preferred_life_time":4294967295}, a peer as
// "address", each flag as a field of its own ("nodad":true, "dynamic":true
// for an address without IFA_F_PERMANENT), and the interface's name, "dev",
// only from AppendJSONNames. It never fails; one allocation.
func (a Address) MarshalJSON() ([]byte, error) {
	return a.appendJSON(make([]byte, 0, 224), nil), nil
}

// AppendJSONNames appends the JSON form of a (see MarshalJSON) to b, with
// the interface's name ("dev") when names(index) knows it. It allocates
// only if b lacks capacity.
func (a *Address) AppendJSONNames(b []byte, names func(index uint32) string) []byte {
	return a.appendJSON(b, names)
}

func (a *Address) appendJSON(b []byte, names func(index uint32) string) []byte {
	fam := a.family()
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	w.fuint("index", uint64(a.Index))
	if names != nil {
		if s := names(a.Index); s != "" {
			w.fstr("dev", s)
		}
	}
	switch fam {
	case FamilyInet, FamilyInet6, FamilyBridge, FamilyMPLS:
		w.fstr("family", fam.String())
	default:
		w.fuint("family_index", uint64(fam))
	}
	if a.Prefix.IsValid() {
		w.faddr("local", a.Prefix.Addr())
		if a.Peer.IsValid() {
			w.faddr("address", a.Peer)
		}
		w.fuint("prefixlen", uint64(a.Prefix.Bits()))
		if a.RoutePriority != 0 {
			w.fuint("metric", uint64(a.RoutePriority))
		}
	}
	if a.Broadcast.IsValid() {
		w.faddr("broadcast", a.Broadcast)
	}
	w.fstr("scope", a.Scope.String())
	rest := addrFlagWords(a.Flags, fam, func(s string) {
		w.key(s, "")
		w.boolean(true)
	})
	if rest != 0 {
		w.key("ifa_flags", "")
		w.text(func(b []byte) []byte {
			if rest < 0x10 {
				b = append(b, '0')
			}
			return strconv.AppendUint(b, uint64(rest), 16)
		})
	}
	if a.Protocol != 0 {
		w.fstr("protocol", addrProtoName(a.Protocol))
	}
	if !a.Label.IsZero() {
		w.key("label", "")
		w.strBytes(a.Label.b[:a.Label.Len()])
	}
	if a.hasCacheInfo() {
		w.fuint("valid_life_time", uint64(a.ValidLifetime))
		w.key("preferred_life_time", "")
		if a.Flags&AddrDeprecated != 0 && a.PreferredLifetime != LifetimeForever {
			w.int(int64(int32(a.PreferredLifetime)))
		} else {
			w.uint(uint64(a.PreferredLifetime))
		}
	}
	w.end('}')
	return w.b
}

// MarshalJSON returns the entry as `ip -json neigh show` prints it:
// {"dst":"10.0.0.2","dev_index":3,"lladdr":"02:00:00:00:00:02",
// "router":null,"state":["REACHABLE"]}, flags as fields with a null value
// as ip has them; or, for a bridge forwarding entry (FamilyBridge), as
// `bridge -json fdb show` does: {"mac":"02:00:00:00:00:02",
// "ifname_index":3,"vlan":10,"flags":["self"],"master_index":5,"state":
// "permanent"}. The interfaces are indexes (see AppendJSONNames). It never
// fails; one allocation.
func (n Neighbor) MarshalJSON() ([]byte, error) {
	return n.appendJSON(make([]byte, 0, 160), nil), nil
}

// AppendJSONNames appends the JSON form of n (see MarshalJSON) to b, with
// interface names ("dev", or "ifname" and "master" for a bridge entry)
// where names(index) knows them. It allocates only if b lacks capacity.
func (n *Neighbor) AppendJSONNames(b []byte, names func(index uint32) string) []byte {
	return n.appendJSON(b, names)
}

func (n *Neighbor) appendJSON(b []byte, names func(index uint32) string) []byte {
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	if n.Family == FamilyBridge {
		if !n.LLAddr.IsZero() {
			w.key("mac", "")
			w.text(func(b []byte) []byte { b, _ = n.LLAddr.AppendText(b); return b })
		}
		if n.Index != 0 {
			w.dev("ifname", n.Index, names)
		}
		if n.Dst.IsValid() {
			w.faddr("dst", n.Dst)
		}
		if n.VLAN != 0 {
			w.fuint("vlan", uint64(n.VLAN))
		}
		w.key("flags", "")
		w.begin('[')
		n.fdbFlagWords(w.str)
		w.end(']')
		if n.Master != 0 {
			w.dev("master", n.Master, names)
		}
		w.key("state", "")
		if s, ok := fdbState(n.State); ok {
			w.str(s)
		} else {
			w.text(func(b []byte) []byte { return strconv.AppendUint(append(b, "0x"...), uint64(n.State), 16) })
		}
		w.end('}')
		return w.b
	}
	if n.Dst.IsValid() {
		w.faddr("dst", n.Dst)
	}
	if n.Index != 0 {
		w.dev("dev", n.Index, names)
	}
	if !n.LLAddr.IsZero() {
		w.key("lladdr", "")
		w.text(func(b []byte) []byte { b, _ = n.LLAddr.AppendText(b); return b })
	}
	n.neighFlagWords(w.fnull)
	if n.State != NeighNone {
		w.key("state", "")
		w.begin('[')
		neighStateWords(n.State, w.str)
		w.end(']')
	}
	w.end('}')
	return w.b
}

// MarshalJSON returns n as `ip -json nexthop show` prints it:
// {"id":1,"gateway":"10.0.0.2","dev_index":3,"scope":"link","flags":[]},
// {"id":2,"blackhole":null,"flags":[]}, a group as "group":[{"id":1},
// {"id":2,"weight":3}] with "type" and "resilient_args" for a resilient
// one (times in seconds). The interface is an index (see AppendJSONNames).
// It never fails; one allocation.
func (n Nexthop) MarshalJSON() ([]byte, error) {
	return n.appendJSON(make([]byte, 0, 192+24*len(n.Group)), nil), nil
}

// AppendJSONNames appends the JSON form of n (see MarshalJSON) to b, with
// the interface's name ("dev") when names(index) knows it. It allocates
// only if b lacks capacity.
func (n *Nexthop) AppendJSONNames(b []byte, names func(index uint32) string) []byte {
	return n.appendJSON(b, names)
}

func (n *Nexthop) appendJSON(b []byte, names func(index uint32) string) []byte {
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	w.fuint("id", uint64(n.ID))
	if len(n.Group) > 0 {
		w.key("group", "")
		w.begin('[')
		for _, m := range n.Group {
			w.begin('{')
			w.fuint("id", uint64(m.ID))
			if wt := max(m.Weight, 1); wt != 1 {
				w.fuint("weight", uint64(wt))
			}
			w.end('}')
		}
		w.end(']')
	}
	if n.GroupType != NexthopGroupMultipath {
		w.fstr("type", n.GroupType.String())
	}
	if n.hasResilient() {
		r := &n.Resilient
		w.key("resilient_args", "")
		w.begin('{')
		w.fuint("buckets", uint64(r.Buckets))
		w.key("idle_timer", "")
		w.float(r.IdleTimer.Seconds())
		w.key("unbalanced_timer", "")
		w.float(r.UnbalancedTimer.Seconds())
		w.key("unbalanced_time", "")
		w.float(r.UnbalancedTime.Seconds())
		w.end('}')
	}
	if n.EncapType != 0 {
		w.fstr("encap", encapName(n.EncapType))
	}
	if n.Gateway.IsValid() {
		w.faddr("gateway", n.Gateway)
	}
	if n.OIF != 0 {
		w.dev("dev", n.OIF, names)
	}
	if n.Scope != ScopeUniverse {
		w.fstr("scope", n.Scope.String())
	}
	if n.Blackhole {
		w.fnull("blackhole")
	}
	if n.Protocol != ProtoUnspec {
		w.fstr("protocol", n.Protocol.String())
	}
	w.routeFlags(n.Flags)
	if n.FDB {
		w.fnull("fdb")
	}
	w.end('}')
	return w.b
}
