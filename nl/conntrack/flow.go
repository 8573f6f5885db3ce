package conntrack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/nlrx/nlrx/nl"
)

// ErrMessageType reports a message that is not of the type a decoder reads.
var ErrMessageType = errors.New("conntrack: unexpected message type")

// Tuple is one direction of a flow (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY):
// addresses, layer 4 protocol and its identifiers, and a directional zone.
// It is comparable with ==.
type Tuple struct {
	Src, Dst netip.Addr // CTA_IP_V4_* or CTA_IP_V6_*, of the flow's family
	Proto    uint8      // CTA_PROTO_NUM: IPPROTO_* (ProtoTCP, ProtoUDP …)

	// SrcPort and DstPort are the ports of TCP, UDP, SCTP, DCCP and
	// UDP-Lite (GRE's keys travel in them too), in host order.
	SrcPort, DstPort uint16

	// ICMPID, ICMPType and ICMPCode identify an ICMP or ICMPv6 flow
	// (CTA_PROTO_ICMP_* or CTA_PROTO_ICMPV6_*). The reply tuple of an
	// echo request has the type of the reply.
	ICMPID   uint16
	ICMPType uint8
	ICMPCode uint8

	// Zone is CTA_TUPLE_ZONE: a zone that applies to this direction only;
	// 0 for none (a zone for both directions is Flow.Zone).
	Zone uint16
}

// Reverse returns the tuple of the other direction when no NAT is
// involved: addresses and ports swapped; for an ICMP echo request or
// reply, the type of its answer.
func (t Tuple) Reverse() Tuple {
	r := t
	r.Src, r.Dst = t.Dst, t.Src
	r.SrcPort, r.DstPort = t.DstPort, t.SrcPort
	r.Zone = 0
	switch {
	case t.Proto == ProtoICMP && t.ICMPType == 8:
		r.ICMPType = 0
	case t.Proto == ProtoICMP && t.ICMPType == 0:
		r.ICMPType = 8
	case t.Proto == ProtoICMPv6 && t.ICMPType == 128:
		r.ICMPType = 129
	case t.Proto == ProtoICMPv6 && t.ICMPType == 129:
		r.ICMPType = 128
	}
	return r
}

// Counters are a direction's packet and byte counts (CTA_COUNTERS_ORIG,
// CTA_COUNTERS_REPLY). The kernel keeps them only while
// net.netfilter.nf_conntrack_acct is 1 in the flow's namespace.
type Counters struct {
	Packets uint64 // CTA_COUNTERS_PACKETS
	Bytes   uint64 // CTA_COUNTERS_BYTES
}

// TCPInfo is the TCP state of a flow (CTA_PROTOINFO_TCP).
type TCPInfo struct {
	State       TCPState // CTA_PROTOINFO_TCP_STATE
	WScaleOrig  uint8    // CTA_PROTOINFO_TCP_WSCALE_ORIGINAL
	WScaleReply uint8    // CTA_PROTOINFO_TCP_WSCALE_REPLY
	// FlagsOrig and FlagsReply are struct nf_ct_tcp_flags: the flags
	// (IP_CT_TCP_FLAG_*) and, in a request, the mask of those to change.
	FlagsOrig, FlagsReply [2]uint8
}

// Labels are a flow's 128 connection labels (CTA_LABELS), bit i of the
// kernel's bitmap being label i (`ct label` in nftables, connlabel.conf).
type Labels [labelsLen]byte

// IsZero reports whether no label is set.
func (l Labels) IsZero() bool { return l == Labels{} }

// Has reports whether label i (0 to 127) is set.
func (l Labels) Has(i int) bool {
	return i >= 0 && i < 8*labelsLen && binary.NativeEndian.Uint32(l[i/32*4:])&(1<<(i%32)) != 0
}

// Set sets label i (0 to 127); others are ignored.
func (l *Labels) Set(i int) {
	if i < 0 || i >= 8*labelsLen {
		return
	}
	w := binary.NativeEndian.Uint32(l[i/32*4:]) | 1<<(i%32)
	binary.NativeEndian.PutUint32(l[i/32*4:], w)
}

// Flow is a conntrack entry: a ctnetlink message (struct nfgenmsg and the
// CTA_* attributes) as a value. It is what a dump lists, what an event
// carries, and what a create or update request sends.
//
// A zero field is "not set": the kernel's message did not carry it, and a
// request does not send it. Decoding does not allocate, but for the name of
// a helper. Flow is comparable with ==; Equal says the same.
type Flow struct {
	Family Family // nfgen_family
	Orig   Tuple  // CTA_TUPLE_ORIG
	Reply  Tuple  // CTA_TUPLE_REPLY

	Status  Status // CTA_STATUS
	Timeout uint32 // CTA_TIMEOUT: seconds left (in a request: the new timeout)
	Mark    uint32 // CTA_MARK
	Zone    uint16 // CTA_ZONE: the zone of both directions
	Labels  Labels // CTA_LABELS
	ID      uint32 // CTA_ID: the kernel's identifier of the entry
	Use     uint32 // CTA_USE: references held on the entry

	CountersOrig  Counters // CTA_COUNTERS_ORIG
	CountersReply Counters // CTA_COUNTERS_REPLY

	// Start and Stop are CTA_TIMESTAMP: when the flow was confirmed and
	// when it ended, in nanoseconds since the Unix epoch (the kernel
	// keeps them only while net.netfilter.nf_conntrack_timestamp is 1).
	Start, Stop int64
	// EventTime is CTA_TIMESTAMP_EVENT (Linux 6.14): when the event was
	// generated, in nanoseconds since the Unix epoch, with timestamps on.
	EventTime int64

	TCP    TCPInfo // CTA_PROTOINFO_TCP, for a TCP flow
	Helper string  // CTA_HELP_NAME: the helper attached ("ftp", "sip" …)
}

// StartTime returns Start as a time.Time (the zero Time if unset).
func (f *Flow) StartTime() time.Time { return nsTime(f.Start) }

// StopTime returns Stop as a time.Time (the zero Time if unset).
func (f *Flow) StopTime() time.Time { return nsTime(f.Stop) }

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Equal reports whether f and o hold the same values (f == o). It does not
// allocate.
func (f *Flow) Equal(o *Flow) bool { return *f == *o }

// DecodeFlow decodes an IPCTNL_MSG_CT_NEW, _GET or _DELETE message. The
// result does not alias m.Data.
func DecodeFlow(m nl.Message) (Flow, error) {
	var f Flow
	switch m.Header.Type {
	case TypeNew, TypeGet, TypeDelete:
	default:
		return f, fmt.Errorf("%w: %#x is not a conntrack flow message", ErrMessageType, m.Header.Type)
	}
	err := f.decode(m.Data)
	return f, err
}

// UnmarshalBinary decodes the payload of a flow message (struct nfgenmsg
// and attributes) into f, replacing all of f. f does not alias b.
func (f *Flow) UnmarshalBinary(b []byte) error {
	*f = Flow{}
	return f.decode(b)
}

func (f *Flow) decode(b []byte) error {
	if len(b) < sizeofNfgenmsg {
		return fmt.Errorf("conntrack: flow: %w: %d bytes, want at least %d", nl.ErrShortMessage, len(b), sizeofNfgenmsg)
	}
	f.Family = Family(b[0])
	d := nl.NewAttributeDecoder(b[sizeofNfgenmsg:])
	for d.Next() {
		switch d.Type() {
		case ctaTupleOrig:
			decodeTuple(&d, &f.Orig)
		case ctaTupleReply:
			decodeTuple(&d, &f.Reply)
		case ctaStatus:
			f.Status = Status(d.Uint32BE())
		case ctaTimeout:
			f.Timeout = d.Uint32BE()
		case ctaMark:
			f.Mark = d.Uint32BE()
		case ctaZone:
			f.Zone = d.Uint16BE()
		case ctaLabels:
			if d.Len() != labelsLen {
				d.Propagate(fmt.Errorf("CTA_LABELS: %d bytes, want %d", d.Len(), labelsLen))
				break
			}
			f.Labels = Labels(d.Bytes())
		case ctaID:
			f.ID = d.Uint32BE()
		case ctaUse:
			f.Use = d.Uint32BE()
		case ctaCountersOrig:
			decodeCounters(&d, &f.CountersOrig)
		case ctaCountersReply:
			decodeCounters(&d, &f.CountersReply)
		case ctaTimestamp:
			td := d.Nested()
			for td.Next() {
				switch td.Type() {
				case ctaTimestampStart:
					f.Start = int64(uint64BE(&td))
				case ctaTimestampStop:
					f.Stop = int64(uint64BE(&td))
				}
			}
			d.Propagate(td.Err())
		case ctaTimestampEvent:
			f.EventTime = int64(uint64BE(&d))
		case ctaProtoinfo:
			pd := d.Nested()
			for pd.Next() {
				if pd.Type() == ctaProtoinfoTCP {
					decodeTCP(&pd, &f.TCP)
				}
			}
			d.Propagate(pd.Err())
		case ctaHelp:
			hd := d.Nested()
			for hd.Next() {
				if hd.Type() == ctaHelpName {
					f.Helper = hd.String()
				}
			}
			d.Propagate(hd.Err())
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("conntrack: flow: %w", err)
	}
	if err := f.checkFamily(); err != nil {
		return fmt.Errorf("conntrack: flow: %w", err)
	}
	return nil
}

// checkFamily checks that the tuples' addresses are of the flow's family.
func (f *Flow) checkFamily() error {
	for _, a := range [...]netip.Addr{f.Orig.Src, f.Orig.Dst, f.Reply.Src, f.Reply.Dst} {
		if !a.IsValid() {
			continue
		}
		if (a.Is4() && f.Family != FamilyIPv4) || (a.Is6() && f.Family != FamilyIPv6) {
			return fmt.Errorf("address %v in a flow of family %v", a, f.Family)
		}
	}
	return nil
}

func uint64BE(d *nl.AttributeDecoder) uint64 {
	if d.Len() != 8 {
		d.Propagate(fmt.Errorf("attribute type %d: %d-byte payload, want 8", d.Type(), d.Len()))
		return 0
	}
	return binary.BigEndian.Uint64(d.Bytes())
}

func decodeTuple(d *nl.AttributeDecoder, t *Tuple) {
	td := d.Nested()
	for td.Next() {
		switch td.Type() {
		case ctaTupleIP:
			id := td.Nested()
			for id.Next() {
				switch id.Type() {
				case ctaIPv4Src, ctaIPv4Dst:
					if id.Len() != 4 {
						id.Propagate(fmt.Errorf("CTA_IP_V4_*: %d bytes, want 4", id.Len()))
						break
					}
					if id.Type() == ctaIPv4Src {
						t.Src = id.Addr()
					} else {
						t.Dst = id.Addr()
					}
				case ctaIPv6Src, ctaIPv6Dst:
					if id.Len() != 16 {
						id.Propagate(fmt.Errorf("CTA_IP_V6_*: %d bytes, want 16", id.Len()))
						break
					}
					if id.Type() == ctaIPv6Src {
						t.Src = id.Addr()
					} else {
						t.Dst = id.Addr()
					}
				}
			}
			td.Propagate(id.Err())
		case ctaTupleProto:
			pd := td.Nested()
			for pd.Next() {
				switch pd.Type() {
				case ctaProtoNum:
					t.Proto = pd.Uint8()
				case ctaProtoSrcPort:
					t.SrcPort = pd.Uint16BE()
				case ctaProtoDstPort:
					t.DstPort = pd.Uint16BE()
				case ctaProtoICMPID, ctaProtoICMPv6ID:
					t.ICMPID = pd.Uint16BE()
				case ctaProtoICMPType, ctaProtoICMPv6Type:
					t.ICMPType = pd.Uint8()
				case ctaProtoICMPCode, ctaProtoICMPv6Code:
					t.ICMPCode = pd.Uint8()
				}
			}
			td.Propagate(pd.Err())
		case ctaTupleZone:
			t.Zone = td.Uint16BE()
		}
	}
	d.Propagate(td.Err())
}

func decodeCounters(d *nl.AttributeDecoder, c *Counters) {
	cd := d.Nested()
	for cd.Next() {
		switch cd.Type() {
		case ctaCountersPackets:
			c.Packets = uint64BE(&cd)
		case ctaCountersBytes:
			c.Bytes = uint64BE(&cd)
		}
	}
	d.Propagate(cd.Err())
}

func decodeTCP(d *nl.AttributeDecoder, t *TCPInfo) {
	td := d.Nested()
	for td.Next() {
		switch td.Type() {
		case ctaTCPState:
			t.State = TCPState(td.Uint8())
		case ctaTCPWScaleOrig:
			t.WScaleOrig = td.Uint8()
		case ctaTCPWScaleReply:
			t.WScaleReply = td.Uint8()
		case ctaTCPFlagsOrig, ctaTCPFlagsReply:
			if td.Len() != 2 {
				td.Propagate(fmt.Errorf("CTA_PROTOINFO_TCP_FLAGS_*: %d bytes, want 2", td.Len()))
				break
			}
			if td.Type() == ctaTCPFlagsOrig {
				t.FlagsOrig = [2]uint8(td.Bytes())
			} else {
				t.FlagsReply = [2]uint8(td.Bytes())
			}
		}
	}
	d.Propagate(td.Err())
}

// AppendBinary appends the payload of a flow message (struct nfgenmsg and
// attributes) to b (encoding.BinaryAppender). Every field that is set is
// encoded, those only the kernel reports (ID, Use, counters, timestamps)
// included; the request helpers send only what a request may carry. A
// zero Family is taken from the tuples' addresses. It allocates only if b
// lacks capacity.
func (f *Flow) AppendBinary(b []byte) ([]byte, error) {
	fam := f.family()
	g := *f
	g.Family = fam
	if err := g.checkFamily(); err != nil {
		return b, fmt.Errorf("conntrack: flow: %w", err)
	}
	b = append(b, byte(fam), 0, 0, 0) // NFNETLINK_V0, res_id 0
	e := nl.NewAttributeEncoder(b)
	f.appendAttrs(e, true)
	return e.Bytes()
}

// family returns f.Family, or the family of the tuples' addresses.
func (f *Flow) family() Family {
	if f.Family != FamilyAll {
		return f.Family
	}
	for _, a := range [...]netip.Addr{f.Orig.Src, f.Orig.Dst, f.Reply.Src, f.Reply.Dst} {
		switch {
		case a.Is4():
			return FamilyIPv4
		case a.Is6():
			return FamilyIPv6
		}
	}
	return FamilyAll
}

// appendAttrs appends f's attributes; all adds those that only the kernel
// sends.
func (f *Flow) appendAttrs(e *nl.AttributeEncoder, all bool) {
	if !f.Orig.isZero() {
		appendTuple(e, ctaTupleOrig, &f.Orig)
	}
	if !f.Reply.isZero() {
		appendTuple(e, ctaTupleReply, &f.Reply)
	}
	if f.Zone != 0 {
		e.Uint16BE(ctaZone, f.Zone)
	}
	if f.Status != 0 {
		e.Uint32BE(ctaStatus, uint32(f.Status))
	}
	if f.Timeout != 0 {
		e.Uint32BE(ctaTimeout, f.Timeout)
	}
	if f.Mark != 0 {
		e.Uint32BE(ctaMark, f.Mark)
	}
	if !f.Labels.IsZero() {
		e.Raw(ctaLabels, f.Labels[:])
	}
	if f.TCP != (TCPInfo{}) {
		p := e.BeginNested(ctaProtoinfo)
		t := e.BeginNested(ctaProtoinfoTCP)
		e.Uint8(ctaTCPState, uint8(f.TCP.State))
		if f.TCP.WScaleOrig != 0 {
			e.Uint8(ctaTCPWScaleOrig, f.TCP.WScaleOrig)
		}
		if f.TCP.WScaleReply != 0 {
			e.Uint8(ctaTCPWScaleReply, f.TCP.WScaleReply)
		}
		if f.TCP.FlagsOrig != [2]uint8{} {
			e.Raw(ctaTCPFlagsOrig, f.TCP.FlagsOrig[:])
		}
		if f.TCP.FlagsReply != [2]uint8{} {
			e.Raw(ctaTCPFlagsReply, f.TCP.FlagsReply[:])
		}
		e.EndNested(t)
		e.EndNested(p)
	}
	if f.Helper != "" {
		e.Nested(ctaHelp, func(e *nl.AttributeEncoder) { e.String(ctaHelpName, f.Helper) })
	}
	if !all {
		return
	}
	if f.ID != 0 {
		e.Uint32BE(ctaID, f.ID)
	}
	if f.Use != 0 {
		e.Uint32BE(ctaUse, f.Use)
	}
	appendCounters(e, ctaCountersOrig, f.CountersOrig)
	appendCounters(e, ctaCountersReply, f.CountersReply)
	if f.Start != 0 || f.Stop != 0 {
		m := e.BeginNested(ctaTimestamp)
		if f.Start != 0 {
			appendUint64BE(e, ctaTimestampStart, uint64(f.Start))
		}
		if f.Stop != 0 {
			appendUint64BE(e, ctaTimestampStop, uint64(f.Stop))
		}
		e.EndNested(m)
	}
	if f.EventTime != 0 {
		appendUint64BE(e, ctaTimestampEvent, uint64(f.EventTime))
	}
}

func appendUint64BE(e *nl.AttributeEncoder, t uint16, v uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	e.Raw(t, b[:])
}

func appendCounters(e *nl.AttributeEncoder, t uint16, c Counters) {
	if c == (Counters{}) {
		return
	}
	m := e.BeginNested(t)
	appendUint64BE(e, ctaCountersPackets, c.Packets)
	appendUint64BE(e, ctaCountersBytes, c.Bytes)
	e.EndNested(m)
}

func (t *Tuple) isZero() bool { return *t == Tuple{} }

// appendTuple appends t as the nest typ. Ports are sent for the protocols
// that have them (or when set), the ICMP fields for ICMP and ICMPv6 (or
// when set).
func appendTuple(e *nl.AttributeEncoder, typ uint16, t *Tuple) {
	m := e.BeginNested(typ)
	if t.Src.IsValid() || t.Dst.IsValid() {
		ip := e.BeginNested(ctaTupleIP)
		src, dst := uint16(ctaIPv4Src), uint16(ctaIPv4Dst)
		if t.Src.Is6() || t.Dst.Is6() {
			src, dst = ctaIPv6Src, ctaIPv6Dst
		}
		if t.Src.IsValid() {
			e.Addr(src, t.Src)
		}
		if t.Dst.IsValid() {
			e.Addr(dst, t.Dst)
		}
		e.EndNested(ip)
	}
	p := e.BeginNested(ctaTupleProto)
	e.Uint8(ctaProtoNum, t.Proto)
	if hasPorts(t.Proto) || t.SrcPort != 0 || t.DstPort != 0 {
		e.Uint16BE(ctaProtoSrcPort, t.SrcPort)
		e.Uint16BE(ctaProtoDstPort, t.DstPort)
	}
	if isICMP(t.Proto) || t.ICMPID != 0 || t.ICMPType != 0 || t.ICMPCode != 0 {
		id, typ, code := uint16(ctaProtoICMPID), uint16(ctaProtoICMPType), uint16(ctaProtoICMPCode)
		if t.Proto == ProtoICMPv6 {
			id, typ, code = ctaProtoICMPv6ID, ctaProtoICMPv6Type, ctaProtoICMPv6Code
		}
		e.Uint16BE(id, t.ICMPID)
		e.Uint8(typ, t.ICMPType)
		e.Uint8(code, t.ICMPCode)
	}
	e.EndNested(p)
	if t.Zone != 0 {
		e.Uint16BE(ctaTupleZone, t.Zone)
	}
	e.EndNested(m)
}

// MarshalBinary returns the payload of a flow message
// (encoding.BinaryMarshaler). One allocation.
func (f *Flow) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, 256))
}

// Message returns f as a message of type typ (TypeNew, TypeGet,
// TypeDelete) with the given header flags, every set field encoded (see
// AppendBinary). Sequence number and length are left for nl.Conn to fill
// in. One allocation for the payload.
func (f *Flow) Message(typ, flags uint16) (nl.Message, error) {
	b, err := f.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: typ, Flags: flags}, Data: b}, err
}
