package conntrack

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
)

// ErrFilter reports a Filter that the kernel cannot apply in a flush.
var ErrFilter = errors.New("conntrack: filter not supported by the kernel")

// Filter selects flows for a dump (ForEach, List …) or a flush. The zero
// value selects every flow.
//
// It goes to the kernel as the attributes of the request, which the kernel
// applies (family, mark and mask, zone, status and mask since Linux 5.x to
// 6.0; the tuple fields as CTA_FILTER since 5.8), and the dump helpers
// check each flow again. A zero field is not part of the filter, but for
// Zone, which filters only with MatchZone set (zone 0 is the default
// zone).
type Filter struct {
	Family Family // FamilyIPv4 or FamilyIPv6; FamilyAll for both

	// Mark selects flows whose mark, and-ed with MarkMask, equals Mark
	// (CTA_MARK, CTA_MARK_MASK). A zero MarkMask with a Mark set is
	// 0xffffffff: the mark itself.
	Mark, MarkMask uint32

	// Status selects flows whose status bits, and-ed with StatusMask,
	// equal Status (CTA_STATUS, CTA_STATUS_MASK; Linux 6.0). A zero
	// StatusMask with Status set is Status: those bits set. A zero Status
	// with a StatusMask selects the flows with none of the mask's bits
	// (StatusMask: StatusAssured for the flows not yet assured).
	Status, StatusMask Status

	Zone      uint16 // CTA_ZONE, with MatchZone
	MatchZone bool

	// The original direction's tuple (CTA_FILTER with CTA_TUPLE_ORIG):
	// addresses, protocol and ports. A port needs Proto.
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

func (f *Filter) markMask() uint32 {
	if f.MarkMask == 0 && f.Mark != 0 {
		return ^uint32(0)
	}
	return f.MarkMask
}

func (f *Filter) statusMask() Status {
	if f.StatusMask == 0 {
		return f.Status
	}
	return f.StatusMask
}

func (f *Filter) tupleFlags() uint32 {
	var flags uint32
	if f.Src.IsValid() {
		flags |= filterIPSrc
	}
	if f.Dst.IsValid() {
		flags |= filterIPDst
	}
	if f.Proto != 0 {
		flags |= filterProtoNum
	}
	if f.SrcPort != 0 {
		flags |= filterSrcPort
	}
	if f.DstPort != 0 {
		flags |= filterDstPort
	}
	return flags
}

// zoneOf returns the flow's zone: the zone of both directions, or the
// directional one (the kernel keeps one zone per flow).
func zoneOf(fl *Flow) uint16 {
	switch {
	case fl.Zone != 0:
		return fl.Zone
	case fl.Orig.Zone != 0:
		return fl.Orig.Zone
	}
	return fl.Reply.Zone
}

// Match reports whether fl passes the filter, as the kernel decides it. It
// does not allocate.
func (f *Filter) Match(fl *Flow) bool {
	o := &fl.Orig
	return (f.Family == FamilyAll || f.Family == fl.Family) &&
		fl.Mark&f.markMask() == f.Mark &&
		fl.Status&f.statusMask() == f.Status &&
		(!f.MatchZone || zoneOf(fl) == f.Zone) &&
		(!f.Src.IsValid() || f.Src == o.Src) &&
		(!f.Dst.IsValid() || f.Dst == o.Dst) &&
		(f.Proto == 0 || f.Proto == o.Proto) &&
		(f.SrcPort == 0 || f.SrcPort == o.SrcPort) &&
		(f.DstPort == 0 || f.DstPort == o.DstPort)
}

func (f *Filter) check() error {
	if (f.SrcPort != 0 || f.DstPort != 0) && !hasPorts(f.Proto) {
		return fmt.Errorf("%w: a port filter needs a protocol with ports, not %d", ErrFilter, f.Proto)
	}
	for _, a := range [...]netip.Addr{f.Src, f.Dst} {
		if !a.IsValid() {
			continue
		}
		if (a.Is4() && f.Family == FamilyIPv6) || (a.Is6() && f.Family == FamilyIPv4) {
			return fmt.Errorf("%w: address %v with family %v", ErrFilter, a, f.Family)
		}
	}
	if f.Status != 0 && f.Status&f.statusMask() != f.Status {
		return fmt.Errorf("%w: status %v has bits outside the mask %v: nothing would match", ErrFilter, f.Status, f.StatusMask)
	}
	return nil
}

// family returns the filter's family, or its addresses' family.
func (f *Filter) family() Family {
	switch {
	case f.Family != FamilyAll:
		return f.Family
	case f.Src.Is4() || f.Dst.Is4():
		return FamilyIPv4
	case f.Src.Is6() || f.Dst.Is6():
		return FamilyIPv6
	}
	return FamilyAll
}

// appendRequest appends the filter's attributes; version is nfgenmsg's.
func (f *Filter) appendRequest(b []byte, version uint8, kernelTuple bool) ([]byte, error) {
	if err := f.check(); err != nil {
		return b, err
	}
	fam := f.family()
	b = append(b, byte(fam), version, 0, 0)
	e := nl.NewAttributeEncoder(b)
	if f.Mark != 0 || f.MarkMask != 0 {
		e.Uint32BE(ctaMark, f.Mark)
		e.Uint32BE(ctaMarkMask, f.markMask())
	}
	if f.Status != 0 || f.StatusMask != 0 {
		e.Uint32BE(ctaStatus, uint32(f.Status))
		e.Uint32BE(ctaStatusMask, uint32(f.statusMask()))
	}
	if f.MatchZone {
		e.Uint16BE(ctaZone, f.Zone)
	}
	if flags := f.tupleFlags(); flags != 0 && kernelTuple {
		if fam == FamilyAll {
			return b, fmt.Errorf("%w: a tuple filter needs a family", ErrFilter)
		}
		t := Tuple{Src: f.Src, Dst: f.Dst, Proto: f.Proto, SrcPort: f.SrcPort, DstPort: f.DstPort}
		appendTuple(e, ctaTupleOrig, &t)
		e.Nested(ctaFilter, func(e *nl.AttributeEncoder) { e.Uint32(ctaFilterOrigFlags, flags) })
	}
	return e.Bytes()
}

// kernelTuple reports whether the kernel applies the filter's tuple
// fields correctly. It does not for IPv6 addresses: up to Linux 6.18 at
// least, ctnetlink_filter_match_tuple tests them with !ipv6_addr_cmp, so
// an IPv6 address filter keeps the flows whose address differs.
func (f *Filter) kernelTuple() bool { return !f.Src.Is6() && !f.Dst.Is6() }

// Request returns the dump request for the filter (IPCTNL_MSG_CT_GET with
// NLM_F_DUMP): the family in nfgen_family, the rest as attributes. Tuple
// fields the kernel would apply wrongly (IPv6 addresses; see KernelCan) are
// left to Match. One allocation.
func (f Filter) Request() (nl.Message, error) {
	b, err := f.appendRequest(make([]byte, 0, 96), 0, f.kernelTuple())
	return nl.Message{Header: nl.Header{Type: TypeGet, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}, err
}

// KernelCan reports whether the kernel applies the whole filter itself, so
// that Flush deletes exactly what Match selects. It cannot for IPv6
// addresses (ctnetlink's tuple filter inverts them, Linux 6.18 included).
func (f Filter) KernelCan() bool { return f.check() == nil && f.kernelTuple() }

// flushRequest returns the IPCTNL_MSG_CT_DELETE request that flushes what
// passes f. nfgenmsg's version is 1: the kernel applies the family of a
// flush only then (or with CTA_FILTER), for compatibility with tools that
// sent AF_INET and meant every family.
func (f Filter) flushRequest() (nl.Message, error) {
	if !f.kernelTuple() {
		return nl.Message{}, fmt.Errorf("%w: the kernel's tuple filter inverts IPv6 addresses: use DeleteMatching", ErrFilter)
	}
	b, err := f.appendRequest(make([]byte, 0, 96), 1, true)
	return nl.Message{Header: nl.Header{Type: TypeDelete, Flags: nl.FlagRequest}, Data: b}, err
}
