package nl

// Message types below 0x10 are netlink control messages (NLMSG_*).
const (
	TypeNoop    uint16 = 0x1 // NLMSG_NOOP: ignore
	TypeError   uint16 = 0x2 // NLMSG_ERROR: an error or, with errno 0, an ACK
	TypeDone    uint16 = 0x3 // NLMSG_DONE: end of a multipart reply; carries an errno
	TypeOverrun uint16 = 0x4 // NLMSG_OVERRUN: unused by the kernel
	// MinType is NLMSG_MIN_TYPE: protocol message types start here.
	MinType uint16 = 0x10
)

// NSIDNotAssigned is NETNSA_NSID_NOT_ASSIGNED: no namespace id. A datagram
// from a socket's own namespace carries it (Conn.ReceiveFrom, a poller's
// Batch.NSID), and so does a namespace that has no id in another.
const NSIDNotAssigned int32 = -1

// Header flags (NLM_F_*). The kernel's names are given so they can be found.
const (
	FlagRequest      uint16 = 0x01  // NLM_F_REQUEST
	FlagMulti        uint16 = 0x02  // NLM_F_MULTI: part of a multipart reply ended by NLMSG_DONE
	FlagAck          uint16 = 0x04  // NLM_F_ACK: reply with an ACK on success
	FlagEcho         uint16 = 0x08  // NLM_F_ECHO: echo this request to the sender
	FlagDumpIntr     uint16 = 0x10  // NLM_F_DUMP_INTR: the dump was inconsistent; retry it
	FlagDumpFiltered uint16 = 0x20  // NLM_F_DUMP_FILTERED: the kernel applied the request's dump filter
	FlagRoot         uint16 = 0x100 // NLM_F_ROOT (GET requests)
	FlagMatch        uint16 = 0x200 // NLM_F_MATCH (GET requests)
	FlagAtomic       uint16 = 0x400 // NLM_F_ATOMIC (GET requests)
	FlagDump         uint16 = FlagRoot | FlagMatch
	FlagReplace      uint16 = 0x100 // NLM_F_REPLACE (NEW requests)
	FlagExcl         uint16 = 0x200 // NLM_F_EXCL (NEW requests)
	FlagCreate       uint16 = 0x400 // NLM_F_CREATE (NEW requests)
	FlagAppend       uint16 = 0x800 // NLM_F_APPEND (NEW requests)
	FlagNonrec       uint16 = 0x100 // NLM_F_NONREC (DELETE requests)
	FlagBulk         uint16 = 0x200 // NLM_F_BULK (DELETE requests)
	FlagCapped       uint16 = 0x100 // NLM_F_CAPPED (ACKs): the echoed request is only its header
	FlagAckTLVs      uint16 = 0x200 // NLM_F_ACK_TLVS (ACKs): extended-ACK attributes follow
)

// Extended-ACK attribute types in NLMSG_ERROR and NLMSG_DONE (NLMSGERR_ATTR_*).
const (
	errAttrMsg      = 1 // NLMSGERR_ATTR_MSG: NUL-terminated text
	errAttrOffs     = 2 // NLMSGERR_ATTR_OFFS: u32 offset of the offending attribute
	errAttrCookie   = 3 // NLMSGERR_ATTR_COOKIE
	errAttrPolicy   = 4 // NLMSGERR_ATTR_POLICY
	errAttrMissType = 5 // NLMSGERR_ATTR_MISS_TYPE
	errAttrMissNest = 6 // NLMSGERR_ATTR_MISS_NEST
)
