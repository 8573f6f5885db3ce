package rtnl

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/nlrx/nlrx/nl"
)

// Message types of link statistics and link properties.
const (
	TypeNewLinkProp uint16 = 108 // RTM_NEWLINKPROP: add alternative names
	TypeDelLinkProp uint16 = 109 // RTM_DELLINKPROP: remove alternative names
	TypeNewStats    uint16 = 92  // RTM_NEWSTATS: the kernel's answer to RTM_GETSTATS
	TypeGetStats    uint16 = 94  // RTM_GETSTATS
)

// Attributes of link messages that carry the data of this file and of
// link.go's newer fields.
const (
	iflaStats64          = 23 // IFLA_STATS64: struct rtnl_link_stats64
	iflaNumVF            = 21 // IFLA_NUM_VF: u32, with RTEXT_FILTER_VF
	iflaNumTxQueues      = 31 // IFLA_NUM_TX_QUEUES
	iflaNumRxQueues      = 32 // IFLA_NUM_RX_QUEUES
	iflaCarrierChanges   = 35 // IFLA_CARRIER_CHANGES
	iflaGSOMaxSegs       = 40 // IFLA_GSO_MAX_SEGS
	iflaGSOMaxSize       = 41 // IFLA_GSO_MAX_SIZE
	iflaCarrierUpCount   = 47 // IFLA_CARRIER_UP_COUNT
	iflaCarrierDownCount = 48 // IFLA_CARRIER_DOWN_COUNT
	iflaMinMTU           = 50 // IFLA_MIN_MTU
	iflaMaxMTU           = 51 // IFLA_MAX_MTU
	iflaPropList         = 52 // IFLA_PROP_LIST: nested IFLA_ALT_IFNAME
	iflaAltIfname        = 53 // IFLA_ALT_IFNAME: string
	iflaPermAddress      = 54 // IFLA_PERM_ADDRESS
	iflaParentDevName    = 56 // IFLA_PARENT_DEV_NAME
	iflaParentDevBusName = 57 // IFLA_PARENT_DEV_BUS_NAME
	iflaGROMaxSize       = 58 // IFLA_GRO_MAX_SIZE
	iflaTSOMaxSize       = 59 // IFLA_TSO_MAX_SIZE
	iflaTSOMaxSegs       = 60 // IFLA_TSO_MAX_SEGS
	iflaGSOIPv4MaxSize   = 63 // IFLA_GSO_IPV4_MAX_SIZE
	iflaGROIPv4MaxSize   = 64 // IFLA_GRO_IPV4_MAX_SIZE

	rtextFilterVF = 1 << 0 // RTEXT_FILTER_VF: add the virtual functions of SR-IOV devices

	iflaStatsLink64   = 1  // IFLA_STATS_LINK_64
	sizeofIfStatsMsg  = 12 // struct if_stats_msg
	sizeofLinkStats64 = 25 * 8
)

// AltNameLen is ALTIFNAMSIZ, the size of an alternative name with its NUL:
// alternative names have 1 to AltNameLen-1 bytes.
const AltNameLen = 128

// LinkStats is struct rtnl_link_stats64: a link's counters, as
// IFLA_STATS64 in a link message and IFLA_STATS_LINK_64 in RTM_NEWSTATS
// carry them. Older kernels send fewer fields; the missing ones are 0.
type LinkStats struct {
	RxPackets          uint64 // rx_packets
	TxPackets          uint64 // tx_packets
	RxBytes            uint64 // rx_bytes
	TxBytes            uint64 // tx_bytes
	RxErrors           uint64 // rx_errors
	TxErrors           uint64 // tx_errors
	RxDropped          uint64 // rx_dropped
	TxDropped          uint64 // tx_dropped
	Multicast          uint64 // multicast: packets received
	Collisions         uint64 // collisions
	RxLengthErrors     uint64 // rx_length_errors
	RxOverErrors       uint64 // rx_over_errors
	RxCRCErrors        uint64 // rx_crc_errors
	RxFrameErrors      uint64 // rx_frame_errors
	RxFIFOErrors       uint64 // rx_fifo_errors
	RxMissedErrors     uint64 // rx_missed_errors
	TxAbortedErrors    uint64 // tx_aborted_errors
	TxCarrierErrors    uint64 // tx_carrier_errors
	TxFIFOErrors       uint64 // tx_fifo_errors
	TxHeartbeatErrors  uint64 // tx_heartbeat_errors
	TxWindowErrors     uint64 // tx_window_errors
	RxCompressed       uint64 // rx_compressed
	TxCompressed       uint64 // tx_compressed
	RxNoHandler        uint64 // rx_nohandler: dropped for want of a protocol handler
	RxOtherhostDropped uint64 // rx_otherhost_dropped: dropped as addressed to another host (Linux 5.19)
}

// fields views s as the kernel's array of counters: a struct of 25
// uint64 fields is laid out as [25]uint64.
func (s *LinkStats) fields() *[25]uint64 { return (*[25]uint64)(unsafe.Pointer(s)) }

// LinkStats must be exactly the kernel's struct.
var _ [sizeofLinkStats64 - unsafe.Sizeof(LinkStats{})]struct{}
var _ [unsafe.Sizeof(LinkStats{}) - sizeofLinkStats64]struct{}

// decode reads the counters from b, as many as it holds (a short struct
// from an older kernel leaves the rest at 0).
func (s *LinkStats) decode(b []byte) {
	*s = LinkStats{}
	f := s.fields()
	for i := 0; i < len(f) && len(b) >= 8*(i+1); i++ {
		f[i] = binary.NativeEndian.Uint64(b[8*i:])
	}
}

func (s *LinkStats) append(b []byte) []byte {
	for _, v := range s.fields() {
		b = binary.NativeEndian.AppendUint64(b, v)
	}
	return b
}

// StatsMask is the filter_mask of RTM_GETSTATS: the groups of statistics
// asked for, one bit per IFLA_STATS_* attribute
// (IFLA_STATS_FILTER_BIT).
type StatsMask uint32

// Groups of RTM_GETSTATS. This package decodes StatsLink64; the others are
// for requests built with StatsRequest and read by the caller.
const (
	StatsLink64         StatsMask = 1 << 0 // IFLA_STATS_LINK_64: struct rtnl_link_stats64
	StatsLinkXStats     StatsMask = 1 << 1 // IFLA_STATS_LINK_XSTATS: the kind's own (bond, bridge)
	StatsLinkXStatsPort StatsMask = 1 << 2 // IFLA_STATS_LINK_XSTATS_SLAVE: the master kind's, per port
	StatsOffloadXStats  StatsMask = 1 << 3 // IFLA_STATS_LINK_OFFLOAD_XSTATS: hardware counters
	StatsAFSpec         StatsMask = 1 << 4 // IFLA_STATS_AF_SPEC: per address family (MPLS)
)

// StatsRequest returns the RTM_GETSTATS request for the statistics groups
// of mask: of the link with the given index, or, for index 0, a dump of
// every link's. One allocation.
func StatsRequest(index uint32, mask StatsMask) nl.Message {
	b := make([]byte, sizeofIfStatsMsg)
	binary.NativeEndian.PutUint32(b[4:], index)
	binary.NativeEndian.PutUint32(b[8:], uint32(mask))
	flags := nl.FlagRequest
	if index == 0 {
		flags |= nl.FlagDump
	}
	return nl.Message{Header: nl.Header{Type: TypeGetStats, Flags: flags}, Data: b}
}

// IfStats is one RTM_NEWSTATS message (struct if_stats_msg and its
// attributes): the statistics of one link.
type IfStats struct {
	Family Family
	Index  uint32    // ifindex
	Mask   StatsMask // filter_mask: the groups the kernel was asked for
	// Link64 is IFLA_STATS_LINK_64, valid if HasLink64.
	Link64    LinkStats
	HasLink64 bool
}

// UnmarshalBinary decodes the payload of an RTM_NEWSTATS message into s,
// replacing all of s. Groups other than IFLA_STATS_LINK_64 are skipped. It
// does not allocate.
func (s *IfStats) UnmarshalBinary(b []byte) error {
	*s = IfStats{}
	if len(b) < sizeofIfStatsMsg {
		return shortErr("link statistics", len(b), sizeofIfStatsMsg)
	}
	s.Family = Family(b[0])
	s.Index = binary.NativeEndian.Uint32(b[4:])
	s.Mask = StatsMask(binary.NativeEndian.Uint32(b[8:]))
	d := nl.NewAttributeDecoder(b[sizeofIfStatsMsg:])
	for d.Next() {
		if d.Type() == iflaStatsLink64 {
			s.Link64.decode(d.Bytes())
			s.HasLink64 = true
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: link statistics: %w", err)
	}
	return nil
}

// AppendBinary appends the payload of an RTM_NEWSTATS message to b
// (encoding.BinaryAppender): what a fake kernel sends. It allocates only
// if b lacks capacity.
func (s *IfStats) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(s.Family), 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, s.Index)
	b = binary.NativeEndian.AppendUint32(b, uint32(s.Mask))
	e := nl.NewAttributeEncoder(b)
	if s.HasLink64 {
		var buf [sizeofLinkStats64]byte
		e.Raw(iflaStatsLink64, s.Link64.append(buf[:0]))
	}
	return e.Bytes()
}

// DecodeIfStats decodes an RTM_NEWSTATS message. It does not allocate.
func DecodeIfStats(m nl.Message) (IfStats, error) {
	var s IfStats
	if m.Header.Type != TypeNewStats {
		return s, fmt.Errorf("%w: %d is not RTM_NEWSTATS", ErrMessageType, m.Header.Type)
	}
	err := s.UnmarshalBinary(m.Data)
	return s, err
}

// altNamesRequest is the RTM_NEWLINKPROP or RTM_DELLINKPROP request for
// the alternative names of the link with the given index.
func altNamesRequest(typ uint16, index uint32, names []string) (nl.Message, error) {
	l := Link{Index: index}
	b, _ := l.AppendBinary(make([]byte, 0, sizeofIfinfomsg+16+len(names)*20))
	e := nl.NewAttributeEncoder(b)
	mark := e.BeginNested(iflaPropList)
	for _, n := range names {
		if len(n) == 0 || len(n) >= AltNameLen {
			return nl.Message{}, fmt.Errorf("rtnl: alternative name %q: a name has 1 to %d bytes", n, AltNameLen-1)
		}
		e.String(iflaAltIfname, n)
	}
	e.EndNested(mark)
	b, err := e.Bytes()
	return nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagRequest}, Data: b}, err
}

// AltNamesRequest returns the request that adds (TypeNewLinkProp; `ip link
// property add dev DEV altname NAME`) or removes (TypeDelLinkProp) the
// alternative names of the link with the given index: struct ifinfomsg
// and IFLA_PROP_LIST with one IFLA_ALT_IFNAME per name. A name must have
// 1 to AltNameLen-1 bytes. One allocation.
func AltNamesRequest(typ uint16, index uint32, names ...string) (nl.Message, error) {
	if typ != TypeNewLinkProp && typ != TypeDelLinkProp {
		return nl.Message{}, fmt.Errorf("%w: %d is not RTM_NEWLINKPROP or RTM_DELLINKPROP", ErrMessageType, typ)
	}
	return altNamesRequest(typ, index, names)
}
