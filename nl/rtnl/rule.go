package rtnl

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/nlrx/nlrx/nl"
)

// RuleAction is what a rule does with the packets it selects
// (fib_rule_hdr.action, FR_ACT_*).
type RuleAction uint8

// Rule actions. The numbers of the last three are those of the route types
// blackhole, unreachable and prohibit.
const (
	RuleActionUnspec      RuleAction = 0 // FR_ACT_UNSPEC: in a delete, any action
	RuleActionTable       RuleAction = 1 // FR_ACT_TO_TBL: look the destination up in Table ("lookup")
	RuleActionGoto        RuleAction = 2 // FR_ACT_GOTO: go on at the rule of priority Goto
	RuleActionNop         RuleAction = 3 // FR_ACT_NOP: do nothing (a place to goto)
	RuleActionBlackhole   RuleAction = 6 // FR_ACT_BLACKHOLE: drop silently
	RuleActionUnreachable RuleAction = 7 // FR_ACT_UNREACHABLE: fail with ENETUNREACH
	RuleActionProhibit    RuleAction = 8 // FR_ACT_PROHIBIT: fail with EACCES
)

// String returns the word ip rule uses ("lookup", "goto", "nop",
// "blackhole", "unreachable", "prohibit") or the number.
func (a RuleAction) String() string {
	switch a {
	case RuleActionUnspec:
		return "unspec"
	case RuleActionTable:
		return "lookup"
	case RuleActionGoto:
		return "goto"
	case RuleActionNop:
		return "nop"
	case RuleActionBlackhole:
		return "blackhole"
	case RuleActionUnreachable:
		return "unreachable"
	case RuleActionProhibit:
		return "prohibit"
	}
	return strconv.Itoa(int(a))
}

// Rule flags (fib_rule_hdr.flags, FIB_RULE_*). Only RuleInvert is a
// selector; the kernel sets the others.
const (
	RulePermanent   uint32 = 0x01    // FIB_RULE_PERMANENT: cannot be deleted (no rule of Linux's has it now)
	RuleInvert      uint32 = 0x02    // FIB_RULE_INVERT: select the packets the selectors do not ("not")
	RuleUnresolved  uint32 = 0x04    // FIB_RULE_UNRESOLVED: a goto with no rule at its target priority
	RuleIIFDetached uint32 = 0x08    // FIB_RULE_IIF_DETACHED: the IIFName is no device's (it went, or was renamed)
	RuleOIFDetached uint32 = 0x10    // FIB_RULE_OIF_DETACHED: the OIFName is no device's
	RuleFindSrcAddr uint32 = 0x10000 // FIB_RULE_FIND_SADDR
)

const (
	ruleStateFlags   = RuleUnresolved | RuleIIFDetached | RuleOIFDetached // what the kernel changes on its own
	sizeofFibRuleHdr = 12                                                 // struct fib_rule_hdr
)

// Attribute types of rule messages (FRA_*).
const (
	fraDst               = 1  // FRA_DST
	fraSrc               = 2  // FRA_SRC
	fraIIFName           = 3  // FRA_IIFNAME
	fraGoto              = 4  // FRA_GOTO
	fraPriority          = 6  // FRA_PRIORITY
	fraFwmark            = 10 // FRA_FWMARK
	fraFlow              = 11 // FRA_FLOW
	fraTunID             = 12 // FRA_TUN_ID (big-endian)
	fraSuppressIfgroup   = 13 // FRA_SUPPRESS_IFGROUP
	fraSuppressPrefixlen = 14 // FRA_SUPPRESS_PREFIXLEN
	fraTable             = 15 // FRA_TABLE
	fraFwmask            = 16 // FRA_FWMASK
	fraOIFName           = 17 // FRA_OIFNAME
	fraL3MDev            = 19 // FRA_L3MDEV
	fraUIDRange          = 20 // FRA_UID_RANGE
	fraProtocol          = 21 // FRA_PROTOCOL
	fraIPProto           = 22 // FRA_IP_PROTO
	fraSportRange        = 23 // FRA_SPORT_RANGE
	fraDportRange        = 24 // FRA_DPORT_RANGE
	fraDSCP              = 25 // FRA_DSCP (Linux 6.12)
	fraFlowlabel         = 26 // FRA_FLOWLABEL (Linux 6.14, big-endian)
	fraFlowlabelMask     = 27 // FRA_FLOWLABEL_MASK (big-endian)
	fraSportMask         = 28 // FRA_SPORT_MASK (Linux 6.15)
	fraDportMask         = 29 // FRA_DPORT_MASK
	fraDSCPMask          = 30 // FRA_DSCP_MASK (Linux 6.16)
)

// PortRange is a range of transport ports (struct fib_rule_port_range),
// both ends included. The zero value is no range: the kernel treats a range
// with a zero end as not set.
type PortRange struct{ Start, End uint16 }

// IsZero reports whether no range is set.
func (p PortRange) IsZero() bool { return p.Start == 0 && p.End == 0 }

// UIDRange is a range of user IDs (struct fib_rule_uid_range), both ends
// included.
type UIDRange struct{ Start, End uint32 }

// Rule is a policy-routing rule (`ip rule`): a struct fib_rule_hdr and the
// FRA_* attributes of RTM_NEWRULE and RTM_DELRULE. A rule selects packets
// (every selector that is set must match; RuleInvert in Flags selects the
// others) and acts on them (Action: look up Table, goto another rule,
// nop, or drop).
//
// The zero value of each field means "not set", except where a Has field
// says whether the value beside it is set (a suppress_prefixlength of 0, a
// uidrange 0-0 and a dscp of 0 select something). Rule holds no pointers or
// slices: it is comparable, and decoding one does not allocate.
type Rule struct {
	Family   Family // FamilyInet or FamilyInet6
	Priority uint32 // FRA_PRIORITY: the rule's place; lower goes first ("pref")

	Src, Dst netip.Prefix // FRA_SRC, FRA_DST with src_len, dst_len ("from", "to"); the zero Prefix is "all"
	TOS      uint8        // fib_rule_hdr.tos ("tos"; IPv4 and IPv6)
	// DSCP is FRA_DSCP (Linux 6.12), the 6-bit DSCP the kernel matches in
	// place of TOS when HasDSCP; DSCPMask is FRA_DSCP_MASK (Linux 6.16).
	DSCP     uint8
	HasDSCP  bool
	DSCPMask uint8

	IIFName, OIFName Name // FRA_IIFNAME, FRA_OIFNAME: the input and output devices ("iif", "oif")

	// Mark and Mask are FRA_FWMARK and FRA_FWMASK ("fwmark MARK/MASK").
	// A Mask of 0 is no fwmark selector; the kernel reports a Mark without
	// a mask with the mask 0xffffffff.
	Mark, Mask uint32

	// SuppressPrefixLen (FRA_SUPPRESS_PREFIXLEN) makes the kernel ignore
	// the result of the table lookup if its prefix is this long or shorter
	// ("suppress_prefixlength"); SuppressIfGroup (FRA_SUPPRESS_IFGROUP)
	// ignores it if its device is in this group.
	SuppressPrefixLen    uint32
	HasSuppressPrefixLen bool
	SuppressIfGroup      uint32
	HasSuppressIfGroup   bool

	UIDRange    UIDRange // FRA_UID_RANGE ("uidrange START-END"), when HasUIDRange
	HasUIDRange bool

	IPProto    uint8     // FRA_IP_PROTO: the transport protocol (IPPROTO_*; "ipproto")
	SportRange PortRange // FRA_SPORT_RANGE ("sport")
	DportRange PortRange // FRA_DPORT_RANGE ("dport")
	SportMask  uint16    // FRA_SPORT_MASK (Linux 6.15): the source port under a mask, with SportRange.Start
	DportMask  uint16    // FRA_DPORT_MASK

	TunID         uint64 // FRA_TUN_ID: the tunnel ID of metadata-based tunnels ("tun_id")
	FlowLabel     uint32 // FRA_FLOWLABEL (IPv6, Linux 6.14), selected under FlowLabelMask
	FlowLabelMask uint32 // FRA_FLOWLABEL_MASK
	Realms        uint32 // FRA_FLOW: the realms of an IPv4 rule, from<<16 | to ("realms")

	Action RuleAction // fib_rule_hdr.action
	// Table is FRA_TABLE (or the header's table below 256): the table an
	// Action of RuleActionTable looks in.
	Table  uint32
	Goto   uint32 // FRA_GOTO: the priority an Action of RuleActionGoto jumps to
	L3MDev bool   // FRA_L3MDEV: look up the table of the VRF device of iif or oif ("lookup [l3mdev-table]")

	Protocol Protocol // FRA_PROTOCOL: who installed the rule (RTPROT_*; the default rules are kernel)
	// Flags is fib_rule_hdr.flags: RuleInvert, and the state the kernel
	// reports (RulePermanent, RuleUnresolved, RuleIIFDetached,
	// RuleOIFDetached).
	Flags uint32
}

// Equal reports whether r and o hold the same values. It does not
// allocate.
func (r *Rule) Equal(o *Rule) bool { return *r == *o }

// RuleKey is the identity of a rule in a table of rules: every field but
// the state flags the kernel changes on its own (RuleUnresolved,
// RuleIIFDetached, RuleOIFDetached), and a copy number.
//
// The kernel keeps rules in a list and lets two rules with the same
// selectors and action coexist: `ip rule add` refuses a second one
// (NLM_F_EXCL), but a request without NLM_F_EXCL (AddDuplicateRule, or a
// library that leaves it out) adds it after the first, and nothing tells
// the two apart. `ip rule del` deletes the first rule that matches what it
// names. A table keys such duplicates by Copy: 0 for the first, 1 for the
// next, in the kernel's order. A RuleKey is comparable.
type RuleKey struct {
	r    Rule
	copy uint8
}

// Key returns the rule's identity (copy 0). It does not allocate.
func (r *Rule) Key() RuleKey {
	k := RuleKey{r: *r}
	k.r.Flags &^= ruleStateFlags
	return k
}

// Rule returns the rule the key was made from, without its state flags.
func (k RuleKey) Rule() Rule { return k.r }

// Family returns the rule's family.
func (k RuleKey) Family() Family { return k.r.Family }

// Priority returns the rule's priority.
func (k RuleKey) Priority() uint32 { return k.r.Priority }

// Copy tells apart rules that nothing else does (see RuleKey).
func (k RuleKey) Copy() uint8 { return k.copy }

// WithCopy returns k as copy n.
func (k RuleKey) WithCopy(n uint8) RuleKey {
	k.copy = n
	return k
}

// Compare orders keys as the kernel orders its rules: by family, then
// priority, then the rest (the kernel's order among rules of one priority
// is the order they were added in, which no key holds), then copy.
func (k RuleKey) Compare(o RuleKey) int {
	if c := cmp.Compare(k.r.Family, o.r.Family); c != 0 {
		return c
	}
	if c := cmp.Compare(k.r.Priority, o.r.Priority); c != 0 {
		return c
	}
	var ab, bb [128]byte
	a, _ := k.r.AppendBinary(ab[:0])
	b, _ := o.r.AppendBinary(bb[:0])
	if c := bytes.Compare(a, b); c != 0 {
		return c
	}
	return cmp.Compare(k.copy, o.copy)
}

// DecodeRule decodes an RTM_NEWRULE, RTM_DELRULE or RTM_GETRULE message.
// The result does not alias m.Data. It does not allocate.
func DecodeRule(m nl.Message) (Rule, error) {
	var r Rule
	switch m.Header.Type {
	case TypeNewRule, TypeDelRule, TypeGetRule:
	default:
		return r, fmt.Errorf("%w: %d is not a rule message", ErrMessageType, m.Header.Type)
	}
	err := r.decode(m.Data)
	return r, err
}

// UnmarshalBinary decodes the payload of a rule message (struct
// fib_rule_hdr and attributes) into r, replacing all of r. It does not
// allocate, and r does not alias b.
func (r *Rule) UnmarshalBinary(b []byte) error {
	*r = Rule{}
	return r.decode(b)
}

// decode decodes b into r, which must be the zero Rule.
func (r *Rule) decode(b []byte) error {
	if len(b) < sizeofFibRuleHdr {
		return shortErr("rule", len(b), sizeofFibRuleHdr)
	}
	r.Family = Family(b[0])
	dstLen, srcLen := int(b[1]), int(b[2])
	r.TOS = b[3]
	r.Table = uint32(b[4])
	r.Action = RuleAction(b[7])
	r.Flags = binary.NativeEndian.Uint32(b[8:12])
	alen := r.Family.addrLen()
	if dstLen > alen*8 || srcLen > alen*8 {
		return fmt.Errorf("rtnl: rule: prefix lengths %d and %d too long for family %v", dstLen, srcLen, r.Family)
	}
	d := nl.NewAttributeDecoder(b[sizeofFibRuleHdr:])
	var src, dst netip.Addr
	for d.Next() {
		switch d.Type() {
		case fraDst:
			dst = addrAttr(&d, alen)
		case fraSrc:
			src = addrAttr(&d, alen)
		case fraIIFName:
			r.IIFName = nameFrom(d.Bytes())
		case fraOIFName:
			r.OIFName = nameFrom(d.Bytes())
		case fraGoto:
			r.Goto = d.Uint32()
		case fraPriority:
			r.Priority = d.Uint32()
		case fraFwmark:
			r.Mark = d.Uint32()
		case fraFwmask:
			r.Mask = d.Uint32()
		case fraFlow:
			r.Realms = d.Uint32()
		case fraTunID:
			if b := d.Bytes(); len(b) == 8 {
				r.TunID = binary.BigEndian.Uint64(b)
			} else {
				d.Propagate(fmt.Errorf("FRA_TUN_ID: %d bytes, want 8", len(b)))
			}
		case fraSuppressIfgroup:
			if v := d.Uint32(); v != 0xffffffff {
				r.SuppressIfGroup, r.HasSuppressIfGroup = v, true
			}
		case fraSuppressPrefixlen:
			if v := d.Uint32(); v != 0xffffffff {
				r.SuppressPrefixLen, r.HasSuppressPrefixLen = v, true
			}
		case fraTable:
			r.Table = d.Uint32()
		case fraL3MDev:
			r.L3MDev = d.Uint8() != 0
		case fraUIDRange:
			if b := d.Bytes(); len(b) == 8 {
				r.UIDRange = UIDRange{binary.NativeEndian.Uint32(b), binary.NativeEndian.Uint32(b[4:])}
				r.HasUIDRange = true
			} else {
				d.Propagate(fmt.Errorf("FRA_UID_RANGE: %d bytes, want 8", len(b)))
			}
		case fraProtocol:
			r.Protocol = Protocol(d.Uint8())
		case fraIPProto:
			r.IPProto = d.Uint8()
		case fraSportRange:
			r.SportRange = portRangeAttr(&d)
		case fraDportRange:
			r.DportRange = portRangeAttr(&d)
		case fraDSCP:
			r.DSCP, r.HasDSCP = d.Uint8(), true
		case fraDSCPMask:
			r.DSCPMask = d.Uint8()
		case fraFlowlabel:
			r.FlowLabel = d.Uint32BE()
		case fraFlowlabelMask:
			r.FlowLabelMask = d.Uint32BE()
		case fraSportMask:
			r.SportMask = d.Uint16()
		case fraDportMask:
			r.DportMask = d.Uint16()
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: rule: %w", err)
	}
	if srcLen > 0 || src.IsValid() {
		if !src.IsValid() {
			src = zeroAddr(alen)
		}
		r.Src = netip.PrefixFrom(src, srcLen)
	}
	if dstLen > 0 || dst.IsValid() {
		if !dst.IsValid() {
			dst = zeroAddr(alen)
		}
		r.Dst = netip.PrefixFrom(dst, dstLen)
	}
	return nil
}

func portRangeAttr(d *nl.AttributeDecoder) PortRange {
	b := d.Bytes()
	if len(b) != 4 {
		d.Propagate(fmt.Errorf("attribute type %d: %d-byte port range, want 4", d.Type(), len(b)))
		return PortRange{}
	}
	return PortRange{binary.NativeEndian.Uint16(b), binary.NativeEndian.Uint16(b[2:])}
}

// family returns the rule's family, or that of Src or Dst when it is
// FamilyAll.
func (r *Rule) family() Family {
	if r.Family != FamilyAll {
		return r.Family
	}
	if f := familyOf(r.Src.Addr()); f != 0 {
		return f
	}
	return familyOf(r.Dst.Addr())
}

// AppendBinary appends the payload of a rule message (struct fib_rule_hdr
// and attributes) to b (encoding.BinaryAppender). A zero Family is taken
// from Src or Dst. A Table above 255 goes as RT_TABLE_COMPAT in the header
// and in FRA_TABLE; every other field that is set is encoded as the kernel
// reports it (Priority only when it is not 0). It allocates only if b
// lacks capacity.
func (r *Rule) AppendBinary(b []byte) ([]byte, error) {
	fam := r.family()
	alen := fam.addrLen()
	for _, p := range [2]netip.Prefix{r.Src, r.Dst} {
		if p.IsValid() && !fits(p.Addr(), alen) {
			return b, fmt.Errorf("rtnl: rule %d: %v is not an %v prefix", r.Priority, p, fam)
		}
	}
	var dstLen, srcLen uint8
	if r.Dst.IsValid() {
		dstLen = uint8(r.Dst.Bits())
	}
	if r.Src.IsValid() {
		srcLen = uint8(r.Src.Bits())
	}
	table := r.Table
	if table > 255 {
		table = TableCompat
	}
	b = append(b, byte(fam), dstLen, srcLen, r.TOS, byte(table), 0, 0, byte(r.Action))
	b = binary.NativeEndian.AppendUint32(b, r.Flags)
	e := nl.NewAttributeEncoder(b)
	if r.Table != 0 {
		e.Uint32(fraTable, r.Table)
	}
	if !r.IIFName.IsZero() {
		putName(e, fraIIFName, r.IIFName)
	}
	if !r.OIFName.IsZero() {
		putName(e, fraOIFName, r.OIFName)
	}
	if r.Priority != 0 {
		e.Uint32(fraPriority, r.Priority)
	}
	if r.Mark != 0 {
		e.Uint32(fraFwmark, r.Mark)
	}
	if r.Mask != 0 {
		e.Uint32(fraFwmask, r.Mask)
	}
	if r.Goto != 0 {
		e.Uint32(fraGoto, r.Goto)
	}
	if r.HasSuppressPrefixLen {
		e.Uint32(fraSuppressPrefixlen, r.SuppressPrefixLen)
	}
	if r.HasSuppressIfGroup {
		e.Uint32(fraSuppressIfgroup, r.SuppressIfGroup)
	}
	if r.TunID != 0 {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], r.TunID)
		e.Raw(fraTunID, v[:])
	}
	if r.L3MDev {
		e.Uint8(fraL3MDev, 1)
	}
	if r.HasUIDRange {
		var v [8]byte
		binary.NativeEndian.PutUint32(v[:], r.UIDRange.Start)
		binary.NativeEndian.PutUint32(v[4:], r.UIDRange.End)
		e.Raw(fraUIDRange, v[:])
	}
	if r.Protocol != ProtoUnspec {
		e.Uint8(fraProtocol, uint8(r.Protocol))
	}
	if r.IPProto != 0 {
		e.Uint8(fraIPProto, r.IPProto)
	}
	putPortRange(e, fraSportRange, r.SportRange)
	putPortRange(e, fraDportRange, r.DportRange)
	if r.SportMask != 0 {
		e.Uint16(fraSportMask, r.SportMask)
	}
	if r.DportMask != 0 {
		e.Uint16(fraDportMask, r.DportMask)
	}
	if r.HasDSCP {
		e.Uint8(fraDSCP, r.DSCP)
	}
	if r.DSCPMask != 0 {
		e.Uint8(fraDSCPMask, r.DSCPMask)
	}
	if r.FlowLabel != 0 || r.FlowLabelMask != 0 {
		e.Uint32BE(fraFlowlabel, r.FlowLabel)
		e.Uint32BE(fraFlowlabelMask, r.FlowLabelMask)
	}
	if r.Realms != 0 {
		e.Uint32(fraFlow, r.Realms)
	}
	if r.Src.IsValid() {
		putAddr(e, fraSrc, r.Src.Addr())
	}
	if r.Dst.IsValid() {
		putAddr(e, fraDst, r.Dst.Addr())
	}
	return e.Bytes()
}

func putPortRange(e *nl.AttributeEncoder, t uint16, p PortRange) {
	if p.IsZero() {
		return
	}
	var v [4]byte
	binary.NativeEndian.PutUint16(v[:], p.Start)
	binary.NativeEndian.PutUint16(v[2:], p.End)
	e.Raw(t, v[:])
}

// MarshalBinary returns the payload of a rule message
// (encoding.BinaryMarshaler). One allocation.
func (r *Rule) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, 128))
}

// Message returns r as a request of type typ (TypeNewRule, TypeDelRule)
// with the given header flags. Sequence number and length are left for
// nl.Conn to fill in. One allocation for the payload.
func (r *Rule) Message(typ, flags uint16) (nl.Message, error) {
	b, err := r.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
