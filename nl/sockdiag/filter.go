package sockdiag

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
)

// Filter selects inet sockets for a dump (ForEach, List …). The zero value
// selects every TCP and UDP socket of both families in every state but
// StateBoundInactive (ss -tuna).
//
// Everything in it goes to the kernel, which applies it while it walks
// its tables: the family and protocol choose the dumps (one request per
// pair), States is idiag_states, Ports is compiled to
// INET_DIAG_REQ_BYTECODE. The dump helpers check each socket again.
type Filter struct {
	Family   Family     // FamilyIPv4 or FamilyIPv6; 0 for both
	Protocol Protocol   // ProtoTCP or ProtoUDP; 0 for both
	States   States     // the states to list; 0 for StatesAll
	Ext      Extensions // the extensions to ask for (ExtInfo, ExtMemInfo …)
	Ports    Expr       // a port filter (ss's `sport = :80 …`); the zero Expr for none
}

func (f *Filter) states() States {
	if f.States == 0 {
		return StatesAll
	}
	return f.States
}

// query is one dump: the (family, protocol) pair of one request.
type query struct {
	family Family
	proto  Protocol
}

// queries lists the dumps f needs, or an error for a family or protocol
// this package does not dump.
func (f *Filter) queries() ([]query, error) {
	fams := []Family{FamilyIPv4, FamilyIPv6}
	switch f.Family {
	case 0:
	case FamilyIPv4, FamilyIPv6:
		fams = fams[:1]
		fams[0] = f.Family
	default:
		return nil, fmt.Errorf("%w: %v is not FamilyIPv4 or FamilyIPv6", ErrFamily, f.Family)
	}
	protos := []Protocol{ProtoTCP, ProtoUDP}
	switch f.Protocol {
	case 0:
	case ProtoTCP, ProtoUDP:
		protos = protos[:1]
		protos[0] = f.Protocol
	default:
		return nil, fmt.Errorf("sockdiag: protocol %v: only ProtoTCP and ProtoUDP are dumped", f.Protocol)
	}
	qs := make([]query, 0, len(fams)*len(protos))
	for _, p := range protos {
		for _, fam := range fams {
			qs = append(qs, query{fam, p})
		}
	}
	return qs, nil
}

// Requests returns the dump requests of f (SOCK_DIAG_BY_FAMILY with
// NLM_F_DUMP, an inet_diag_req_v2 each, and the port filter's bytecode),
// one per family and protocol, in the order the dump helpers send them:
// TCP over IPv4, then IPv6, then UDP. It allocates the messages.
func (f Filter) Requests() ([]nl.Message, error) {
	qs, err := f.queries()
	if err != nil {
		return nil, err
	}
	bc, err := f.Ports.Bytecode()
	if err != nil {
		return nil, err
	}
	ms := make([]nl.Message, len(qs))
	for i, q := range qs {
		b := make([]byte, 0, sizeofReqV2+nl.AttrHeaderLen+len(bc))
		b = appendReqV2(b, q.family, q.proto, uint8(f.Ext), uint32(f.states()))
		b, _ = appendSockID(b, q.family, netip.AddrPort{}, netip.AddrPort{}, 0, 0)
		if bc != nil {
			e := nl.NewAttributeEncoder(b)
			e.Raw(reqAttrBytecode, bc)
			if b, err = e.Bytes(); err != nil {
				return nil, err
			}
		}
		ms[i] = nl.Message{Header: nl.Header{Type: TypeByFamily, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
	}
	return ms, nil
}

// appendReqV2 appends the head of struct inet_diag_req_v2 (its sockid
// follows).
func appendReqV2(b []byte, fam Family, p Protocol, ext uint8, states uint32) []byte {
	b = append(b, byte(fam), byte(p), ext, 0)
	return binary.NativeEndian.AppendUint32(b, states)
}

// Match reports whether s passes f: its family, protocol, state and ports.
// It does not allocate.
func (f *Filter) Match(s *Socket) bool {
	if f.Family != 0 && s.Family != f.Family {
		return false
	}
	if f.Protocol != 0 && s.Protocol != f.Protocol {
		return false
	}
	st := f.states()
	// The kernel lists request sockets (TCP_NEW_SYN_RECV) with
	// TCP_SYN_RECV, and reports them as that; it lists bound, inactive
	// TCP sockets for TCP_BOUND_INACTIVE and reports them as TCP_CLOSE.
	if !st.Has(s.State) && !(s.State == StateNewSynRecv && st.Has(StateSynRecv)) &&
		!(s.State == StateClose && s.Protocol == ProtoTCP && st.Has(StateBoundInactive)) {
		return false
	}
	return f.Ports.Match(s.Src.Port(), s.Dst.Port())
}

// UnixFilter selects Unix sockets for a dump (ForEachUnix, ListUnix …).
// The zero value selects every Unix socket (ss -xa).
type UnixFilter struct {
	States States // the states to list (StateListen, StateEstablished, StateClose …); 0 for all

	// Types, if not empty, keeps only sockets of these types. The kernel
	// does not filter by type: the dump helpers do.
	Types []UnixType

	// MemInfo asks for UNIX_DIAG_MEMINFO (UnixSocket.SkMemInfo).
	MemInfo bool
}

func (f *UnixFilter) states() States {
	if f.States == 0 {
		return StatesAll
	}
	return f.States
}

// Request returns the dump request of f: SOCK_DIAG_BY_FAMILY with
// NLM_F_DUMP and a struct unix_diag_req that asks for the name, VFS
// inode, peer, queue lengths and owner of each socket (and its memory
// counters with MemInfo).
func (f UnixFilter) Request() nl.Message {
	show := uint32(showName | showVFS | showPeer | showRQLen | showUID)
	if f.MemInfo {
		show |= showMemInfo
	}
	b := make([]byte, 0, sizeofUnixReq)
	b = append(b, byte(FamilyUnix), 0, 0, 0)
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, uint32(f.states()))
	b = ne.AppendUint32(b, 0) // udiag_ino: any
	b = ne.AppendUint32(b, show)
	b = ne.AppendUint32(b, ^uint32(0)) // udiag_cookie: INET_DIAG_NOCOOKIE
	b = ne.AppendUint32(b, ^uint32(0))
	return nl.Message{Header: nl.Header{Type: TypeByFamily, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// Match reports whether u passes f: its state and type.
func (f *UnixFilter) Match(u *UnixSocket) bool {
	if !f.states().Has(u.State) {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if u.Type == t {
			return true
		}
	}
	return false
}

// exactRequest is a request of type typ (SOCK_DESTROY, or
// SOCK_DIAG_BY_FAMILY without NLM_F_DUMP) for the one socket s: an
// inet_diag_req_v2 naming it by its addresses, ports, interface and cookie
// (a zero cookie matches any socket with that tuple).
func exactRequest(typ uint16, s *Socket, ext Extensions) (nl.Message, error) {
	if s.Family != FamilyIPv4 && s.Family != FamilyIPv6 {
		return nl.Message{}, fmt.Errorf("%w: %v is not an inet family", ErrFamily, s.Family)
	}
	if s.Protocol != ProtoTCP && s.Protocol != ProtoUDP {
		return nl.Message{}, fmt.Errorf("sockdiag: protocol %v: only TCP and UDP sockets are looked up", s.Protocol)
	}
	b := make([]byte, 0, sizeofReqV2)
	b = appendReqV2(b, s.Family, s.Protocol, uint8(ext), 0)
	cookie := s.Cookie
	if cookie == 0 {
		cookie = ^uint64(0) // INET_DIAG_NOCOOKIE
	}
	b, err := appendSockID(b, s.Family, s.Src, s.Dst, s.Interface, cookie)
	if err != nil {
		return nl.Message{}, err
	}
	return nl.Message{Header: nl.Header{Type: typ, Flags: nl.FlagRequest}, Data: b}, nil
}
