package sockdiag

import "strconv"

// Message types of NETLINK_SOCK_DIAG (linux/sock_diag.h).
const (
	TypeByFamily uint16 = 20 // SOCK_DIAG_BY_FAMILY: dump (or get one) of a family's sockets; the kernel's replies
	TypeDestroy  uint16 = 21 // SOCK_DESTROY: close one socket (CONFIG_INET_DIAG_DESTROY)
)

// Family is a socket's address family (sdiag_family, idiag_family).
type Family uint8

// Families.
const (
	FamilyUnix Family = 1  // AF_UNIX
	FamilyIPv4 Family = 2  // AF_INET
	FamilyIPv6 Family = 10 // AF_INET6
)

// String returns "unix", "inet" or "inet6" (ss's -f names), or the number.
func (f Family) String() string {
	switch f {
	case FamilyUnix:
		return "unix"
	case FamilyIPv4:
		return "inet"
	case FamilyIPv6:
		return "inet6"
	}
	return strconv.Itoa(int(f))
}

// Protocol is an inet socket's layer 4 protocol (sdiag_protocol: IPPROTO_*).
type Protocol uint8

// Protocols this package dumps.
const (
	ProtoTCP Protocol = 6  // IPPROTO_TCP
	ProtoUDP Protocol = 17 // IPPROTO_UDP
)

// String returns "tcp", "udp", or the number.
func (p Protocol) String() string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// State is a socket's state: the kernel's TCP states (TCP_*, include/net/tcp_states.h),
// which UDP and Unix sockets use too (TCP_CLOSE for an unconnected one,
// TCP_ESTABLISHED for a connected one, TCP_LISTEN for a listening Unix
// socket).
type State uint8

// States.
const (
	StateEstablished   State = 1  // TCP_ESTABLISHED
	StateSynSent       State = 2  // TCP_SYN_SENT
	StateSynRecv       State = 3  // TCP_SYN_RECV
	StateFinWait1      State = 4  // TCP_FIN_WAIT1
	StateFinWait2      State = 5  // TCP_FIN_WAIT2
	StateTimeWait      State = 6  // TCP_TIME_WAIT
	StateClose         State = 7  // TCP_CLOSE: ss's UNCONN
	StateCloseWait     State = 8  // TCP_CLOSE_WAIT
	StateLastAck       State = 9  // TCP_LAST_ACK
	StateListen        State = 10 // TCP_LISTEN
	StateClosing       State = 11 // TCP_CLOSING
	StateNewSynRecv    State = 12 // TCP_NEW_SYN_RECV: a request socket (reported as StateSynRecv)
	StateBoundInactive State = 13 // TCP_BOUND_INACTIVE (Linux 6.8): in a Filter, bound TCP sockets that neither listen nor connect (reported as StateClose)
)

var stateNames = [...]string{
	StateEstablished:   "ESTAB",
	StateSynSent:       "SYN-SENT",
	StateSynRecv:       "SYN-RECV",
	StateFinWait1:      "FIN-WAIT-1",
	StateFinWait2:      "FIN-WAIT-2",
	StateTimeWait:      "TIME-WAIT",
	StateClose:         "UNCONN",
	StateCloseWait:     "CLOSE-WAIT",
	StateLastAck:       "LAST-ACK",
	StateListen:        "LISTEN",
	StateClosing:       "CLOSING",
	StateNewSynRecv:    "SYN-RECV",
	StateBoundInactive: "BOUND-INACTIVE",
}

// String returns the name ss prints ("ESTAB", "LISTEN", "UNCONN" …), or
// "UNKNOWN".
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// States is a set of states: bit 1<<s for state s (idiag_states,
// udiag_states). The zero States, in a Filter, is StatesAll.
type States uint32

// Sets of states, as ss names them.
const (
	// StatesAll is every state but StateBoundInactive (ss's "all"; its
	// -a). A dump with StateBoundInactive lists the TCP sockets that are
	// bound and idle too, which ss 6.1 does not.
	StatesAll States = 1<<(StateClosing+1) - 2
	// StatesConnected is every state but listening and closed (ss's
	// "connected").
	StatesConnected States = StatesAll &^ (1<<StateListen | 1<<StateClose)
	// StatesListening is the listening and the unconnected sockets (ss -l:
	// LISTEN for TCP and Unix, UNCONN for UDP).
	StatesListening States = 1<<StateListen | 1<<StateClose
)

// StatesOf returns the set of the states given.
func StatesOf(states ...State) States {
	var s States
	for _, st := range states {
		if st < 32 {
			s |= 1 << st
		}
	}
	return s
}

// Has reports whether s holds st.
func (s States) Has(st State) bool { return st < 32 && s&(1<<st) != 0 }

// Extensions are the inet_diag extensions a dump asks for (idiag_ext: bit
// 1<<(INET_DIAG_x-1)). The kernel always sends INET_DIAG_SHUTDOWN,
// INET_DIAG_CGROUP_ID, INET_DIAG_SKV6ONLY for unconnected IPv6 sockets, and,
// to a caller with CAP_NET_ADMIN, INET_DIAG_MARK.
type Extensions uint8

// Extensions. Each costs the kernel a little per socket; ExtInfo costs
// the most (a tcp_info of about 250 bytes).
const (
	ExtMemInfo   Extensions = 1 << 0 // INET_DIAG_MEMINFO: struct inet_diag_meminfo (ss -m, older kernels)
	ExtInfo      Extensions = 1 << 1 // INET_DIAG_INFO: struct tcp_info (ss -i), TCP only
	ExtVegasInfo Extensions = 1 << 2 // INET_DIAG_VEGASINFO (not decoded)
	ExtCong      Extensions = 1 << 3 // INET_DIAG_CONG: the congestion control's name
	ExtTOS       Extensions = 1 << 4 // INET_DIAG_TOS: the IPv4 TOS byte (ss --tos)
	ExtTClass    Extensions = 1 << 5 // INET_DIAG_TCLASS: the IPv6 traffic class, and INET_DIAG_CLASS_ID
	ExtSkMemInfo Extensions = 1 << 6 // INET_DIAG_SKMEMINFO: the socket's memory counters (ss -m)
	ExtShutdown  Extensions = 1 << 7 // INET_DIAG_SHUTDOWN (sent whether asked for or not)

	// ExtAll asks for every extension this package decodes.
	ExtAll Extensions = ExtMemInfo | ExtInfo | ExtCong | ExtTOS | ExtTClass | ExtSkMemInfo | ExtShutdown
)

// inet_diag attribute types (INET_DIAG_*) in a reply.
const (
	attrMemInfo   = 1  // INET_DIAG_MEMINFO
	attrInfo      = 2  // INET_DIAG_INFO
	attrCong      = 4  // INET_DIAG_CONG
	attrTOS       = 5  // INET_DIAG_TOS
	attrTClass    = 6  // INET_DIAG_TCLASS
	attrSkMemInfo = 7  // INET_DIAG_SKMEMINFO
	attrShutdown  = 8  // INET_DIAG_SHUTDOWN
	attrV6Only    = 11 // INET_DIAG_SKV6ONLY
	attrMark      = 15 // INET_DIAG_MARK
	attrClassID   = 17 // INET_DIAG_CLASS_ID
	attrCgroupID  = 21 // INET_DIAG_CGROUP_ID
)

// Request attribute types (INET_DIAG_REQ_*).
const (
	reqAttrBytecode = 1 // INET_DIAG_REQ_BYTECODE
)

// Unix attribute types (UNIX_DIAG_*) and what to show (UDIAG_SHOW_*).
const (
	unixAttrName     = 0 // UNIX_DIAG_NAME
	unixAttrVFS      = 1 // UNIX_DIAG_VFS
	unixAttrPeer     = 2 // UNIX_DIAG_PEER
	unixAttrIcons    = 3 // UNIX_DIAG_ICONS
	unixAttrRQLen    = 4 // UNIX_DIAG_RQLEN
	unixAttrMemInfo  = 5 // UNIX_DIAG_MEMINFO
	unixAttrShutdown = 6 // UNIX_DIAG_SHUTDOWN
	unixAttrUID      = 7 // UNIX_DIAG_UID

	showName    = 0x01 // UDIAG_SHOW_NAME
	showVFS     = 0x02 // UDIAG_SHOW_VFS
	showPeer    = 0x04 // UDIAG_SHOW_PEER
	showRQLen   = 0x10 // UDIAG_SHOW_RQLEN
	showMemInfo = 0x20 // UDIAG_SHOW_MEMINFO
	showUID     = 0x40 // UDIAG_SHOW_UID
)

// Structure sizes.
const (
	sizeofReqV2    = 56 // struct inet_diag_req_v2
	sizeofMsg      = 72 // struct inet_diag_msg
	sizeofUnixReq  = 24 // struct unix_diag_req
	sizeofUnixMsg  = 16 // struct unix_diag_msg
	sizeofMemInfo  = 16 // struct inet_diag_meminfo
	sizeofTCPInfo  = 248
	congNameMax    = 16 // TCP_CA_NAME_MAX
	skMemInfoVars  = 9  // SK_MEMINFO_VARS
	sizeofSockopts = 2  // struct inet_diag_sockopt
)

// TimerKind is what an inet socket's pending timer is for (idiag_timer).
type TimerKind uint8

// Timer kinds.
const (
	TimerNone      TimerKind = 0 // no timer pending
	TimerOn        TimerKind = 1 // retransmission (or a request socket's SYN-ACK)
	TimerKeepalive TimerKind = 2 // keepalive
	TimerTimeWait  TimerKind = 3 // TIME-WAIT expiry
	TimerProbe     TimerKind = 4 // zero-window probe
)

// String returns ss's name for the timer ("on", "keepalive", "timewait",
// "persist", "off"), or "unknown".
func (k TimerKind) String() string {
	switch k {
	case TimerNone:
		return "off"
	case TimerOn:
		return "on"
	case TimerKeepalive:
		return "keepalive"
	case TimerTimeWait:
		return "timewait"
	case TimerProbe:
		return "persist"
	}
	return "unknown"
}

// UnixType is a Unix socket's type (udiag_type: SOCK_*).
type UnixType uint8

// Unix socket types.
const (
	UnixStream    UnixType = 1 // SOCK_STREAM
	UnixDgram     UnixType = 2 // SOCK_DGRAM
	UnixSeqPacket UnixType = 5 // SOCK_SEQPACKET
)

// String returns ss's Netid for the type ("u_str", "u_dgr", "u_seq"), or
// "u_???".
func (t UnixType) String() string {
	switch t {
	case UnixStream:
		return "u_str"
	case UnixDgram:
		return "u_dgr"
	case UnixSeqPacket:
		return "u_seq"
	}
	return "u_???"
}
