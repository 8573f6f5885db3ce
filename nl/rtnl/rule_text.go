package rtnl

import (
	"net/netip"
	"strconv"
)

// The text and JSON forms of a Rule, as `ip rule show` and `ip -json rule
// show` print it (iproute2 6.1), beside those of the other values in
// text.go and json.go. A rule names its devices itself (iif, oif), so
// there is no form with a names function. The selectors Linux 6.12 and
// later added (DSCP, flow label, port masks), which iproute2 6.1 does not
// print, are written the way later iproute2 writes them.

// ipProtoNames are the names /etc/protocols (netbase) gives IP protocol
// numbers, which ip prints for ipproto.
var ipProtoNames = map[uint8]string{
	1: "icmp", 2: "igmp", 3: "ggp", 4: "ipencap", 5: "st", 6: "tcp", 8: "egp", 9: "igp", 12: "pup",
	17: "udp", 20: "hmp", 22: "xns-idp", 27: "rdp", 29: "iso-tp4", 33: "dccp", 36: "xtp", 37: "ddp",
	38: "idpr-cmtp", 41: "ipv6", 43: "ipv6-route", 44: "ipv6-frag", 45: "idrp", 46: "rsvp", 47: "gre",
	50: "esp", 51: "ah", 57: "skip", 58: "ipv6-icmp", 59: "ipv6-nonxt", 60: "ipv6-opts", 73: "rspf",
	81: "vmtp", 88: "eigrp", 89: "ospf", 93: "ax.25", 94: "ipip", 97: "etherip", 98: "encap", 103: "pim",
	108: "ipcomp", 112: "vrrp", 115: "l2tp", 124: "isis", 132: "sctp", 133: "fc", 135: "mobility-header",
	136: "udplite", 137: "mpls-in-ip", 138: "manet", 139: "hip", 140: "shim6", 141: "wesp", 142: "rohc",
	143: "ethernet",
}

// appendIPProto appends an IP protocol as ip does: its name, or
// "ipproto-" and the number.
func appendIPProto(b []byte, p uint8) []byte {
	if s, ok := ipProtoNames[p]; ok {
		return append(b, s...)
	}
	return strconv.AppendUint(append(b, "ipproto-"...), uint64(p), 10)
}

// appendRealm appends a realm as ip does with the stock rt_realms, which
// names only realm 0.
func appendRealm(b []byte, r uint32) []byte {
	if r == 0 {
		return append(b, "cosmos"...)
	}
	return strconv.AppendUint(b, uint64(r), 10)
}

func appendHex(b []byte, v uint64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	return strconv.AppendUint(append(b, "0x"...), v, 16)
}

// ruleHost reports whether p is a single address, which ip prints without
// its length.
func ruleHost(p netip.Prefix) bool { return p.Bits() == p.Addr().BitLen() }

// String formats r as `ip rule show` prints it, on one line with a space
// for ip's tab: "100: from 10.0.0.0/8 lookup 10", "32766: from all lookup
// main", "120: not from all fwmark 0x10/0xff iif v0 [detached] goto 130
// [unresolved]". As in ip, the protocol is left out when it is unspec or
// kernel, a table is named ("main", "local", "default") or numbered, and a
// TOS takes its rt_dsfield name. It allocates the string.
func (r Rule) String() string {
	var buf [128]byte
	return string(r.appendText(buf[:0]))
}

// AppendText appends the String form of r to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (r Rule) AppendText(b []byte) ([]byte, error) { return r.appendText(b), nil }

// AppendTextNames is AppendText, for code that prints every kind of value
// alike: a rule names its devices itself, so names is not used.
func (r *Rule) AppendTextNames(b []byte, _ func(index uint32) string) []byte { return r.appendText(b) }

func (r *Rule) appendText(b []byte) []byte {
	b = append(strconv.AppendUint(b, uint64(r.Priority), 10), ':')
	if r.Flags&RuleInvert != 0 {
		b = append(b, " not"...)
	}
	b = append(b, " from "...)
	if r.Src.IsValid() {
		b = appendHostOrPrefix(b, r.Src)
	} else {
		b = append(b, "all"...)
	}
	if r.Dst.IsValid() {
		b = appendHostOrPrefix(append(b, " to "...), r.Dst)
	}
	if r.TOS != 0 {
		b = appendTOS(append(b, " tos "...), r.TOS)
	}
	if r.HasDSCP {
		b = strconv.AppendUint(append(b, " dscp "...), uint64(r.DSCP), 10)
		if r.DSCPMask != 0 && r.DSCPMask != 0x3f {
			b = appendHex(append(b, '/'), uint64(r.DSCPMask))
		}
	}
	if r.Mark != 0 || r.Mask != 0 {
		b = appendHex(append(b, " fwmark "...), uint64(r.Mark))
		if r.Mask != 0xffffffff {
			b = appendHex(append(b, '/'), uint64(r.Mask))
		}
	}
	if r.FlowLabel != 0 || r.FlowLabelMask != 0 {
		b = appendHex(append(b, " flowlabel "...), uint64(r.FlowLabel))
		b = appendHex(append(b, '/'), uint64(r.FlowLabelMask))
	}
	if !r.IIFName.IsZero() {
		b, _ = r.IIFName.AppendText(append(b, " iif "...))
		if r.Flags&RuleIIFDetached != 0 {
			b = append(b, " [detached]"...)
		}
	}
	if !r.OIFName.IsZero() {
		b, _ = r.OIFName.AppendText(append(b, " oif "...))
		if r.Flags&RuleOIFDetached != 0 {
			b = append(b, " [detached]"...)
		}
	}
	if r.L3MDev {
		b = append(b, " lookup [l3mdev-table]"...)
	}
	if r.HasUIDRange {
		b = strconv.AppendUint(append(b, " uidrange "...), uint64(r.UIDRange.Start), 10)
		b = strconv.AppendUint(append(b, '-'), uint64(r.UIDRange.End), 10)
	}
	if r.IPProto != 0 {
		b = appendIPProto(append(b, " ipproto "...), r.IPProto)
	}
	b = appendPorts(b, " sport ", r.SportRange, r.SportMask)
	b = appendPorts(b, " dport ", r.DportRange, r.DportMask)
	if r.TunID != 0 {
		b = strconv.AppendUint(append(b, " tun_id "...), r.TunID, 10)
	}
	if r.Table != 0 {
		b = append(append(b, " lookup "...), TableName(r.Table)...)
		if r.HasSuppressPrefixLen {
			b = strconv.AppendInt(append(b, " suppress_prefixlength "...), int64(int32(r.SuppressPrefixLen)), 10)
		}
		if r.HasSuppressIfGroup {
			b = appendGroup(append(b, " suppress_ifgroup "...), r.SuppressIfGroup)
		}
	}
	if r.Realms != 0 {
		b = append(b, " realms "...)
		if from := r.Realms >> 16; from != 0 {
			b = append(appendRealm(b, from), '/')
		}
		b = appendRealm(b, r.Realms&0xffff)
	}
	switch r.Action {
	case RuleActionTable:
	case RuleActionGoto:
		b = strconv.AppendUint(append(b, " goto "...), uint64(r.Goto), 10)
		if r.Flags&RuleUnresolved != 0 {
			b = append(b, " [unresolved]"...)
		}
	case RuleActionNop:
		b = append(b, " nop"...)
	default:
		b = append(append(b, ' '), ruleActionName(r.Action)...)
	}
	if r.Protocol != ProtoUnspec && r.Protocol != ProtoKernel {
		b = append(append(b, " proto "...), r.Protocol.String()...)
	}
	return b
}

// ruleActionName is the word ip prints for an action other than lookup,
// goto and nop: the name of the route type of that number ("blackhole",
// "unreachable", "prohibit"), "none" for 0.
func ruleActionName(a RuleAction) string {
	if a == RuleActionUnspec {
		return "none"
	}
	return RouteType(a).String()
}

func appendPorts(b []byte, word string, p PortRange, mask uint16) []byte {
	if p.IsZero() {
		return b
	}
	b = strconv.AppendUint(append(b, word...), uint64(p.Start), 10)
	switch {
	case p.End != p.Start:
		b = strconv.AppendUint(append(b, '-'), uint64(p.End), 10)
	case mask != 0 && mask != 0xffff:
		b = appendHex(append(b, '/'), uint64(mask))
	}
	return b
}

// MarshalJSON returns r as `ip -json rule show` prints it:
// {"priority":100,"src":"10.0.0.0","srclen":8,"table":"10"},
// {"priority":0,"src":"all","table":"local"}, {"priority":120,
// "not":null,"src":"all","fwmark":"0x10","fwmask":"0xff","iif":"v0",
// "iif_detached":null,"goto":130,"unresolved":null}. A prefix is an
// address with its length apart ("srclen", "dstlen"; left out for a
// single address), a table and a fwmark are strings, ports and UIDs
// numbers. It never fails; one allocation.
func (r Rule) MarshalJSON() ([]byte, error) {
	return r.appendJSON(make([]byte, 0, 160)), nil
}

// AppendJSONNames appends the JSON form of r (see MarshalJSON) to b, for
// code that prints every kind of value alike: a rule names its devices
// itself, so names is not used. It allocates only if b lacks capacity.
func (r *Rule) AppendJSONNames(b []byte, _ func(index uint32) string) []byte { return r.appendJSON(b) }

func (w *jsonWriter) hex(k string, v uint64) {
	w.key(k, "")
	w.text(func(b []byte) []byte { return appendHex(b, v) })
}

func (w *jsonWriter) rulePrefix(k string, p netip.Prefix) {
	w.faddr(k, p.Addr())
	if !ruleHost(p) {
		w.key(k, "len")
		w.uint(uint64(p.Bits()))
	}
}

func (w *jsonWriter) ports(k string, p PortRange, mask uint16) {
	switch {
	case p.IsZero():
	case p.End != p.Start:
		w.key(k, "_start")
		w.uint(uint64(p.Start))
		w.key(k, "_end")
		w.uint(uint64(p.End))
	default:
		w.fuint(k, uint64(p.Start))
		if mask != 0 && mask != 0xffff {
			w.key(k, "_mask")
			w.text(func(b []byte) []byte { return appendHex(b, uint64(mask)) })
		}
	}
}

func (r *Rule) appendJSON(b []byte) []byte {
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	w.fuint("priority", uint64(r.Priority))
	if r.Flags&RuleInvert != 0 {
		w.fnull("not")
	}
	if r.Src.IsValid() {
		w.rulePrefix("src", r.Src)
	} else {
		w.fstr("src", "all")
	}
	if r.Dst.IsValid() {
		w.rulePrefix("dst", r.Dst)
	}
	if r.TOS != 0 {
		w.key("tos", "")
		w.text(func(b []byte) []byte { return appendTOS(b, r.TOS) })
	}
	if r.HasDSCP {
		w.fuint("dscp", uint64(r.DSCP))
		if r.DSCPMask != 0 && r.DSCPMask != 0x3f {
			w.hex("dscp_mask", uint64(r.DSCPMask))
		}
	}
	if r.Mark != 0 || r.Mask != 0 {
		w.hex("fwmark", uint64(r.Mark))
		if r.Mask != 0xffffffff {
			w.hex("fwmask", uint64(r.Mask))
		}
	}
	if r.FlowLabel != 0 || r.FlowLabelMask != 0 {
		w.hex("flowlabel", uint64(r.FlowLabel))
		w.hex("flowlabel_mask", uint64(r.FlowLabelMask))
	}
	if !r.IIFName.IsZero() {
		w.key("iif", "")
		w.strBytes(r.IIFName.b[:r.IIFName.Len()])
		if r.Flags&RuleIIFDetached != 0 {
			w.fnull("iif_detached")
		}
	}
	if !r.OIFName.IsZero() {
		w.key("oif", "")
		w.strBytes(r.OIFName.b[:r.OIFName.Len()])
		if r.Flags&RuleOIFDetached != 0 {
			w.fnull("oif_detached")
		}
	}
	if r.L3MDev {
		w.fnull("l3mdev")
	}
	if r.HasUIDRange {
		w.fuint("uid_start", uint64(r.UIDRange.Start))
		w.fuint("uid_end", uint64(r.UIDRange.End))
	}
	if r.IPProto != 0 {
		w.key("ipproto", "")
		w.text(func(b []byte) []byte { return appendIPProto(b, r.IPProto) })
	}
	w.ports("sport", r.SportRange, r.SportMask)
	w.ports("dport", r.DportRange, r.DportMask)
	if r.TunID != 0 {
		w.fuint("tun_id", r.TunID)
	}
	if r.Table != 0 {
		w.fstr("table", TableName(r.Table))
		if r.HasSuppressPrefixLen {
			w.key("suppress_prefixlen", "")
			w.int(int64(int32(r.SuppressPrefixLen)))
		}
		if r.HasSuppressIfGroup {
			w.key("suppress_ifgroup", "")
			w.text(func(b []byte) []byte { return appendGroup(b, r.SuppressIfGroup) })
		}
	}
	if r.Realms != 0 {
		if from := r.Realms >> 16; from != 0 {
			w.key("flow_from", "")
			w.text(func(b []byte) []byte { return appendRealm(b, from) })
		}
		w.key("flow_to", "")
		w.text(func(b []byte) []byte { return appendRealm(b, r.Realms&0xffff) })
	}
	switch r.Action {
	case RuleActionTable:
	case RuleActionGoto:
		w.fuint("goto", uint64(r.Goto))
		if r.Flags&RuleUnresolved != 0 {
			w.fnull("unresolved")
		}
	case RuleActionNop:
		w.fnull("nop")
	default:
		w.fstr("action", ruleActionName(r.Action))
	}
	if r.Protocol != ProtoUnspec && r.Protocol != ProtoKernel {
		w.fstr("protocol", r.Protocol.String())
	}
	w.end('}')
	return w.b
}
