package conntrack

import (
	"strconv"
	"strings"
)

// Message types of ctnetlink: the subsystem (NFNL_SUBSYS_CTNETLINK, 1) in
// the high byte, the operation (IPCTNL_MSG_CT_*) in the low byte.
const (
	TypeNew            uint16 = 1 << 8   // IPCTNL_MSG_CT_NEW: a flow (dump reply, NEW and UPDATE events, create/update requests)
	TypeGet            uint16 = 1<<8 | 1 // IPCTNL_MSG_CT_GET: get one flow, or dump them
	TypeDelete         uint16 = 1<<8 | 2 // IPCTNL_MSG_CT_DELETE: delete one flow or flush; DESTROY events
	TypeGetCtrZero     uint16 = 1<<8 | 3 // IPCTNL_MSG_CT_GET_CTRZERO: dump and zero the counters
	TypeGetStatsCPU    uint16 = 1<<8 | 4 // IPCTNL_MSG_CT_GET_STATS_CPU
	TypeGetStats       uint16 = 1<<8 | 5 // IPCTNL_MSG_CT_GET_STATS
	TypeGetDying       uint16 = 1<<8 | 6 // IPCTNL_MSG_CT_GET_DYING
	TypeGetUnconfirmed uint16 = 1<<8 | 7 // IPCTNL_MSG_CT_GET_UNCONFIRMED
)

// Multicast groups of conntrack events (NFNLGRP_CONNTRACK_*), for
// nl.WithGroups and nl.Conn.JoinGroup.
const (
	GroupNew     uint32 = 1 // NFNLGRP_CONNTRACK_NEW
	GroupUpdate  uint32 = 2 // NFNLGRP_CONNTRACK_UPDATE
	GroupDestroy uint32 = 3 // NFNLGRP_CONNTRACK_DESTROY
)

// Family is the layer 3 protocol of a flow (nfgen_family): FamilyIPv4
// (AF_INET) or FamilyIPv6 (AF_INET6); FamilyAll in a dump or flush selects
// both.
type Family uint8

// Families.
const (
	FamilyAll  Family = 0  // AF_UNSPEC
	FamilyIPv4 Family = 2  // AF_INET, NFPROTO_IPV4
	FamilyIPv6 Family = 10 // AF_INET6, NFPROTO_IPV6
)

// String returns "ipv4", "ipv6" (as conntrack -o extended prints them),
// "all" or the number.
func (f Family) String() string {
	switch f {
	case FamilyAll:
		return "all"
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return strconv.Itoa(int(f))
}

// Layer 4 protocol numbers (IPPROTO_*) that conntrack tracks with a
// protocol of its own.
const (
	ProtoICMP    uint8 = 1   // IPPROTO_ICMP
	ProtoTCP     uint8 = 6   // IPPROTO_TCP
	ProtoUDP     uint8 = 17  // IPPROTO_UDP
	ProtoDCCP    uint8 = 33  // IPPROTO_DCCP
	ProtoGRE     uint8 = 47  // IPPROTO_GRE
	ProtoICMPv6  uint8 = 58  // IPPROTO_ICMPV6
	ProtoSCTP    uint8 = 132 // IPPROTO_SCTP
	ProtoUDPLite uint8 = 136 // IPPROTO_UDPLITE
)

// ProtoName returns the name conntrack prints for a layer 4 protocol
// ("tcp", "udp", "icmp", "icmpv6" …), or "unknown".
func ProtoName(p uint8) string {
	switch p {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoDCCP:
		return "dccp"
	case ProtoGRE:
		return "gre"
	case ProtoICMPv6:
		return "icmpv6"
	case ProtoSCTP:
		return "sctp"
	case ProtoUDPLite:
		return "udplite"
	}
	return "unknown"
}

// hasPorts reports whether the protocol's tuple carries ports
// (CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT; GRE's keys travel in them too).
func hasPorts(p uint8) bool {
	switch p {
	case ProtoTCP, ProtoUDP, ProtoDCCP, ProtoSCTP, ProtoUDPLite, ProtoGRE:
		return true
	}
	return false
}

func isICMP(p uint8) bool { return p == ProtoICMP || p == ProtoICMPv6 }

// Status is a flow's status bits (CTA_STATUS, enum ip_conntrack_status).
type Status uint32

// Status bits (IPS_*).
const (
	StatusExpected     Status = 1 << 0  // IPS_EXPECTED: an expected connection (of a helper)
	StatusSeenReply    Status = 1 << 1  // IPS_SEEN_REPLY: packets seen both ways; conntrack prints [UNREPLIED] without it
	StatusAssured      Status = 1 << 2  // IPS_ASSURED: never dropped early; [ASSURED]
	StatusConfirmed    Status = 1 << 3  // IPS_CONFIRMED: in the table
	StatusSrcNAT       Status = 1 << 4  // IPS_SRC_NAT
	StatusDstNAT       Status = 1 << 5  // IPS_DST_NAT
	StatusSeqAdjust    Status = 1 << 6  // IPS_SEQ_ADJUST
	StatusSrcNATDone   Status = 1 << 7  // IPS_SRC_NAT_DONE
	StatusDstNATDone   Status = 1 << 8  // IPS_DST_NAT_DONE
	StatusDying        Status = 1 << 9  // IPS_DYING
	StatusFixedTimeout Status = 1 << 10 // IPS_FIXED_TIMEOUT
	StatusTemplate     Status = 1 << 11 // IPS_TEMPLATE
	StatusUntracked    Status = 1 << 12 // IPS_UNTRACKED
	StatusHelper       Status = 1 << 13 // IPS_HELPER
	StatusOffload      Status = 1 << 14 // IPS_OFFLOAD: [OFFLOAD]
	StatusHWOffload    Status = 1 << 15 // IPS_HW_OFFLOAD: [HW_OFFLOAD]

	// StatusUnchangeable is IPS_UNCHANGEABLE_MASK: the bits a create or
	// update request cannot set (the kernel ignores them, or refuses to
	// clear them).
	StatusUnchangeable = StatusSrcNATDone | StatusDstNATDone | StatusSrcNAT | StatusDstNAT |
		StatusExpected | StatusConfirmed | StatusDying | StatusSeqAdjust | StatusTemplate |
		StatusUntracked | StatusOffload | StatusHWOffload
)

var statusNames = [...]string{
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT", "DST_NAT", "SEQ_ADJUST",
	"SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT", "TEMPLATE", "UNTRACKED",
	"HELPER", "OFFLOAD", "HW_OFFLOAD",
}

// String returns the bits' names joined with "|" (as conntrack's --status
// takes them: "SEEN_REPLY|ASSURED|CONFIRMED"), unknown bits as numbers;
// "0" for none.
func (s Status) String() string {
	if s == 0 {
		return "0"
	}
	var b strings.Builder
	for i := 0; i < 32; i++ {
		if s&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		if i < len(statusNames) {
			b.WriteString(statusNames[i])
		} else {
			b.WriteString("0x")
			b.WriteString(strconv.FormatUint(1<<i, 16))
		}
	}
	return b.String()
}

// TCPState is the state of a TCP flow (CTA_PROTOINFO_TCP_STATE, enum
// tcp_conntrack).
type TCPState uint8

// TCP states.
const (
	TCPNone        TCPState = 0  // TCP_CONNTRACK_NONE
	TCPSynSent     TCPState = 1  // TCP_CONNTRACK_SYN_SENT
	TCPSynRecv     TCPState = 2  // TCP_CONNTRACK_SYN_RECV
	TCPEstablished TCPState = 3  // TCP_CONNTRACK_ESTABLISHED
	TCPFinWait     TCPState = 4  // TCP_CONNTRACK_FIN_WAIT
	TCPCloseWait   TCPState = 5  // TCP_CONNTRACK_CLOSE_WAIT
	TCPLastAck     TCPState = 6  // TCP_CONNTRACK_LAST_ACK
	TCPTimeWait    TCPState = 7  // TCP_CONNTRACK_TIME_WAIT
	TCPClose       TCPState = 8  // TCP_CONNTRACK_CLOSE
	TCPSynSent2    TCPState = 9  // TCP_CONNTRACK_SYN_SENT2 (TCP_CONNTRACK_LISTEN before 2.6.31)
	TCPMax         TCPState = 10 // TCP_CONNTRACK_MAX
	TCPIgnore      TCPState = 11 // TCP_CONNTRACK_IGNORE
	TCPRetrans     TCPState = 12 // TCP_CONNTRACK_RETRANS
	TCPUnack       TCPState = 13 // TCP_CONNTRACK_UNACK
)

var tcpStateNames = [...]string{
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK",
	"TIME_WAIT", "CLOSE", "SYN_SENT2", "MAX", "IGNORE", "RETRANS", "UNACK",
}

// String returns the name conntrack prints ("ESTABLISHED", "TIME_WAIT" …)
// or the number.
func (s TCPState) String() string {
	if int(s) < len(tcpStateNames) {
		return tcpStateNames[s]
	}
	return strconv.Itoa(int(s))
}

// Attribute types (CTA_*, CTA_TUPLE_*, CTA_IP_*, CTA_PROTO_*, …) from
// linux/netfilter/nfnetlink_conntrack.h.
const (
	ctaTupleOrig      = 1  // CTA_TUPLE_ORIG
	ctaTupleReply     = 2  // CTA_TUPLE_REPLY
	ctaStatus         = 3  // CTA_STATUS
	ctaProtoinfo      = 4  // CTA_PROTOINFO
	ctaHelp           = 5  // CTA_HELP
	ctaTimeout        = 7  // CTA_TIMEOUT
	ctaMark           = 8  // CTA_MARK
	ctaCountersOrig   = 9  // CTA_COUNTERS_ORIG
	ctaCountersReply  = 10 // CTA_COUNTERS_REPLY
	ctaUse            = 11 // CTA_USE
	ctaID             = 12 // CTA_ID
	ctaZone           = 18 // CTA_ZONE
	ctaTimestamp      = 20 // CTA_TIMESTAMP
	ctaMarkMask       = 21 // CTA_MARK_MASK
	ctaLabels         = 22 // CTA_LABELS
	ctaLabelsMask     = 23 // CTA_LABELS_MASK
	ctaFilter         = 25 // CTA_FILTER
	ctaStatusMask     = 26 // CTA_STATUS_MASK
	ctaTimestampEvent = 27 // CTA_TIMESTAMP_EVENT (Linux 6.14)

	ctaTupleIP    = 1 // CTA_TUPLE_IP
	ctaTupleProto = 2 // CTA_TUPLE_PROTO
	ctaTupleZone  = 3 // CTA_TUPLE_ZONE

	ctaIPv4Src = 1 // CTA_IP_V4_SRC
	ctaIPv4Dst = 2 // CTA_IP_V4_DST
	ctaIPv6Src = 3 // CTA_IP_V6_SRC
	ctaIPv6Dst = 4 // CTA_IP_V6_DST

	ctaProtoNum        = 1 // CTA_PROTO_NUM
	ctaProtoSrcPort    = 2 // CTA_PROTO_SRC_PORT
	ctaProtoDstPort    = 3 // CTA_PROTO_DST_PORT
	ctaProtoICMPID     = 4 // CTA_PROTO_ICMP_ID
	ctaProtoICMPType   = 5 // CTA_PROTO_ICMP_TYPE
	ctaProtoICMPCode   = 6 // CTA_PROTO_ICMP_CODE
	ctaProtoICMPv6ID   = 7 // CTA_PROTO_ICMPV6_ID
	ctaProtoICMPv6Type = 8 // CTA_PROTO_ICMPV6_TYPE
	ctaProtoICMPv6Code = 9 // CTA_PROTO_ICMPV6_CODE

	ctaProtoinfoTCP = 1 // CTA_PROTOINFO_TCP

	ctaTCPState        = 1 // CTA_PROTOINFO_TCP_STATE
	ctaTCPWScaleOrig   = 2 // CTA_PROTOINFO_TCP_WSCALE_ORIGINAL
	ctaTCPWScaleReply  = 3 // CTA_PROTOINFO_TCP_WSCALE_REPLY
	ctaTCPFlagsOrig    = 4 // CTA_PROTOINFO_TCP_FLAGS_ORIGINAL
	ctaTCPFlagsReply   = 5 // CTA_PROTOINFO_TCP_FLAGS_REPLY
	ctaCountersPackets = 1 // CTA_COUNTERS_PACKETS
	ctaCountersBytes   = 2 // CTA_COUNTERS_BYTES
	ctaTimestampStart  = 1 // CTA_TIMESTAMP_START
	ctaTimestampStop   = 2 // CTA_TIMESTAMP_STOP
	ctaHelpName        = 1 // CTA_HELP_NAME

	ctaFilterOrigFlags  = 1 // CTA_FILTER_ORIG_FLAGS
	ctaFilterReplyFlags = 2 // CTA_FILTER_REPLY_FLAGS

	// CTA_FILTER_F_* (net/netfilter/nf_internals.h): which fields of
	// the tuple in a dump or flush request must match.
	filterIPSrc    = 1 << 0 // CTA_FILTER_F_CTA_IP_SRC
	filterIPDst    = 1 << 1 // CTA_FILTER_F_CTA_IP_DST
	filterProtoNum = 1 << 3 // CTA_FILTER_F_CTA_PROTO_NUM
	filterSrcPort  = 1 << 4 // CTA_FILTER_F_CTA_PROTO_SRC_PORT
	filterDstPort  = 1 << 5 // CTA_FILTER_F_CTA_PROTO_DST_PORT

	sizeofNfgenmsg = 4 // struct nfgenmsg
	labelsLen      = 16
)
