package rtnl

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/nlrx/nlrx/nl"
)

// FDBEntry is one forwarding-database entry, as `bridge fdb show` lists
// it: an AF_BRIDGE RTM_NEWNEIGH message. It is either a bridge's entry
// (Master is the bridge; Index the port, or the bridge itself for its own
// addresses), a VXLAN device's own entry (NeighFlagSelf; Index the VXLAN
// device, with its remote in Dst, Port, VNI and Via), or an address on a
// device's unicast or multicast list (NeighFlagSelf, NeighPermanent, no
// Master, no cache information). Decoding does not allocate.
type FDBEntry struct {
	Index  uint32       // ndm_ifindex: the port, or the device whose own table holds the entry
	Master uint32       // NDA_MASTER: the bridge whose table holds the entry; 0 for a device's own
	MAC    HardwareAddr // NDA_LLADDR
	VLAN   uint16       // NDA_VLAN; 0 for none
	// State is ndm_state: a bridge's local entries (its ports' and its own
	// addresses, `permanent`) are NeighPermanent, static ones NeighNoARP,
	// learnt or dynamic ones NeighReachable, or NeighStale once older than
	// the bridge's ageing time and not yet collected (fdb_to_nud).
	State    NeighState
	Flags    uint8  // ndm_flags: NeighFlagSelf, NeighFlagExtLearned, NeighFlagOffloaded, NeighFlagSticky, NeighFlagRouter …
	FlagsExt uint32 // NDA_FLAGS_EXT: NeighExtLocked …
	// The remote of a VXLAN entry: its address (NDA_DST), UDP port
	// (NDA_PORT, 0 for the device's), VNI (NDA_VNI, 0 for the device's),
	// and the interface to reach it by (NDA_IFINDEX). NHID (NDA_NH_ID)
	// names a nexthop group instead of a remote.
	Dst  netip.Addr
	Port uint16
	VNI  uint32
	Via  uint32
	NHID uint32
	// SrcVNI is NDA_SRC_VNI: the VNI that keys the entry on a
	// collect-metadata (external) VXLAN device.
	SrcVNI uint32
	// HasCacheInfo reports an NDA_CACHEINFO: the bridge and VXLAN tables
	// send one, the address lists (ndo_dflt_fdb_dump) do not. Used and
	// Updated are its ages in clock ticks (USER_HZ, 100 a second).
	HasCacheInfo  bool
	Used, Updated uint32
}

// NDA attributes of forwarding entries.
const (
	ndaCacheInfo = 3  // NDA_CACHEINFO: struct nda_cacheinfo
	ndaPort      = 6  // NDA_PORT: be16
	ndaVNI       = 7  // NDA_VNI: u32
	ndaSrcVNI    = 11 // NDA_SRC_VNI: u32
	ndaNHID      = 13 // NDA_NH_ID: u32

	sizeofNdaCacheinfo = 16 // struct nda_cacheinfo: confirmed, used, updated, refcnt
)

// IsBridgeEntry reports whether e is held by a bridge's table (NDA_MASTER,
// not NTF_SELF): `bridge fdb show` prints "master".
func (e *FDBEntry) IsBridgeEntry() bool { return e.Master != 0 && e.Flags&NeighFlagSelf == 0 }

// DecodeFDBEntry decodes an AF_BRIDGE RTM_NEWNEIGH, RTM_DELNEIGH or
// RTM_GETNEIGH message. Another family is an error wrapping
// ErrMessageType. It does not allocate.
func DecodeFDBEntry(m nl.Message) (FDBEntry, error) {
	var e FDBEntry
	switch m.Header.Type {
	case TypeNewNeighbor, TypeDelNeighbor, TypeGetNeighbor:
	default:
		return e, fmt.Errorf("%w: %d is not a neighbour message", ErrMessageType, m.Header.Type)
	}
	err := e.UnmarshalBinary(m.Data)
	return e, err
}

// UnmarshalBinary decodes the payload of an AF_BRIDGE neighbour message
// (struct ndmsg and attributes) into e, replacing all of e. It does not
// allocate.
func (e *FDBEntry) UnmarshalBinary(b []byte) error {
	*e = FDBEntry{}
	if len(b) < sizeofNdmsg {
		return shortErr("fdb entry", len(b), sizeofNdmsg)
	}
	if Family(b[0]) != FamilyBridge {
		return fmt.Errorf("%w: family %d is not AF_BRIDGE", ErrMessageType, b[0])
	}
	e.Index = binary.NativeEndian.Uint32(b[4:8])
	e.State = NeighState(binary.NativeEndian.Uint16(b[8:10]))
	e.Flags = b[10]
	d := nl.NewAttributeDecoder(b[sizeofNdmsg:])
	for d.Next() {
		switch d.Type() {
		case ndaLLAddr:
			e.MAC = hwAttr(&d)
		case ndaDst:
			e.Dst = d.Addr()
		case ndaVLAN:
			e.VLAN = d.Uint16()
		case ndaPort:
			e.Port = d.Uint16BE()
		case ndaVNI:
			e.VNI = d.Uint32()
		case ndaIfindex:
			e.Via = d.Uint32()
		case ndaMaster:
			e.Master = d.Uint32()
		case ndaSrcVNI:
			e.SrcVNI = d.Uint32()
		case ndaNHID:
			e.NHID = d.Uint32()
		case ndaFlagsExt:
			e.FlagsExt = d.Uint32()
		case ndaCacheInfo:
			if c := d.Bytes(); len(c) >= sizeofNdaCacheinfo {
				e.HasCacheInfo = true
				e.Used = binary.NativeEndian.Uint32(c[4:8])
				e.Updated = binary.NativeEndian.Uint32(c[8:12])
			} else {
				return fmt.Errorf("rtnl: fdb entry: %w: NDA_CACHEINFO of %d bytes", nl.ErrShortMessage, len(c))
			}
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("rtnl: fdb entry: %w", err)
	}
	return nil
}

// AppendBinary appends the payload of an AF_BRIDGE neighbour message to b
// (encoding.BinaryAppender), as it is: the requests check what the
// kernel needs (a 6-byte MAC, a link). It allocates only if b lacks
// capacity.
func (e *FDBEntry) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(FamilyBridge), 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, e.Index)
	b = binary.NativeEndian.AppendUint16(b, uint16(e.State))
	b = append(b, e.Flags, 0)
	a := nl.NewAttributeEncoder(b)
	if !e.MAC.IsZero() {
		a.Raw(ndaLLAddr, e.MAC.Bytes())
	}
	if e.Dst.IsValid() {
		putAddr(a, ndaDst, e.Dst)
	}
	if e.VLAN != 0 {
		a.Uint16(ndaVLAN, e.VLAN)
	}
	if e.Port != 0 {
		a.Uint16BE(ndaPort, e.Port)
	}
	if e.VNI != 0 {
		a.Uint32(ndaVNI, e.VNI)
	}
	if e.Via != 0 {
		a.Uint32(ndaIfindex, e.Via)
	}
	if e.Master != 0 {
		a.Uint32(ndaMaster, e.Master)
	}
	if e.SrcVNI != 0 {
		a.Uint32(ndaSrcVNI, e.SrcVNI)
	}
	if e.NHID != 0 {
		a.Uint32(ndaNHID, e.NHID)
	}
	if e.FlagsExt != 0 {
		a.Uint32(ndaFlagsExt, e.FlagsExt)
	}
	if e.HasCacheInfo {
		var c [sizeofNdaCacheinfo]byte
		binary.NativeEndian.PutUint32(c[4:8], e.Used)
		binary.NativeEndian.PutUint32(c[8:12], e.Updated)
		a.Raw(ndaCacheInfo, c[:])
	}
	return a.Bytes()
}

// MarshalBinary returns the payload of an AF_BRIDGE neighbour message
// (encoding.BinaryMarshaler). One allocation.
func (e *FDBEntry) MarshalBinary() ([]byte, error) { return e.AppendBinary(make([]byte, 0, 96)) }

// String returns e as `bridge fdb show` prints it, with interface indexes
// in place of names ("02:00:00:00:00:01 dev if3 vlan 10 master if2
// static"; see AppendTextNames). It allocates the string.
func (e FDBEntry) String() string {
	var buf [160]byte
	return string(e.AppendTextNames(buf[:0], nil))
}

// AppendText appends the String form of e to b (encoding.TextAppender).
// It never fails, and allocates only if b lacks capacity.
func (e FDBEntry) AppendText(b []byte) ([]byte, error) { return e.AppendTextNames(b, nil), nil }

// AppendTextNames appends e as `bridge fdb show` prints it to b, with
// interface names where names(index) knows them. It allocates only if b
// lacks capacity.
func (e *FDBEntry) AppendTextNames(b []byte, names func(index uint32) string) []byte {
	b, _ = e.MAC.AppendText(b)
	b = appendIfName(append(b, " dev "...), e.Index, names)
	if e.Dst.IsValid() {
		b = e.Dst.AppendTo(append(b, " dst "...))
	}
	num := func(word string, v uint32) {
		if v != 0 {
			b = strconv.AppendUint(append(b, word...), uint64(v), 10)
		}
	}
	num(" nhid ", e.NHID)
	num(" vlan ", uint32(e.VLAN))
	num(" port ", uint32(e.Port))
	num(" vni ", e.VNI)
	num(" src_vni ", e.SrcVNI)
	if e.Via != 0 {
		b = appendIfName(append(b, " via "...), e.Via, names)
	}
	e.flagWords(func(w string) { b = append(append(b, ' '), w...) })
	if e.Master != 0 {
		b = appendIfName(append(b, " master "...), e.Master, names)
	}
	if s, ok := fdbState(e.State); !ok {
		b = strconv.AppendUint(append(b, " state=0x"...), uint64(e.State), 16)
	} else if s != "" {
		b = append(append(b, ' '), s...)
	}
	return b
}

// flagWords calls f with the words bridge fdb show prints for e's flags,
// in its order.
func (e *FDBEntry) flagWords(f func(string)) {
	n := Neighbor{Flags: e.Flags, FlagsExt: e.FlagsExt}
	n.fdbFlagWords(f)
}

// FlagNames returns the names `bridge -j fdb show` gives e's flags, in its
// order ("self", "router", "extern_learn", "offload", "master", "sticky",
// "locked"). It allocates the slice.
func (e *FDBEntry) FlagNames() []string {
	out := []string{}
	e.flagWords(func(w string) { out = append(out, w) })
	return out
}

// StateName returns the state as `bridge fdb show` names it: "permanent",
// "static", "stale", or "" for a dynamic (reachable) entry; another state
// in hexadecimal ("0x1"), as bridge -j prints it. It does not allocate for
// the named ones.
func (e *FDBEntry) StateName() string {
	if s, ok := fdbState(e.State); ok {
		return s
	}
	return "0x" + strconv.FormatUint(uint64(e.State), 16)
}

// MarshalJSON returns e as `bridge -json fdb show` prints it:
// {"mac":"02:00:00:00:00:02","ifname_index":3,"vlan":10,"flags":[],
// "master_index":2,"state":"static"}, a VXLAN entry with "dst", "port",
// "vni", "src_vni", "viaIf_index" and "nhid". The interfaces are indexes
// (see AppendJSONNames). It never fails; one allocation.
func (e FDBEntry) MarshalJSON() ([]byte, error) {
	return e.AppendJSONNames(make([]byte, 0, 192), nil), nil
}

// AppendJSONNames appends the JSON form of e (see MarshalJSON) to b, with
// interface names ("ifname", "viaIf", "master") where names(index) knows
// them. It allocates only if b lacks capacity.
func (e *FDBEntry) AppendJSONNames(b []byte, names func(index uint32) string) []byte {
	w := jsonWriter{b: b, open: true}
	w.begin('{')
	w.key("mac", "")
	w.text(func(b []byte) []byte { b, _ = e.MAC.AppendText(b); return b })
	w.dev("ifname", e.Index, names)
	if e.Dst.IsValid() {
		w.faddr("dst", e.Dst)
	}
	for _, f := range [...]struct {
		k string
		v uint32
	}{{"nhid", e.NHID}, {"vlan", uint32(e.VLAN)}, {"port", uint32(e.Port)}, {"vni", e.VNI}, {"src_vni", e.SrcVNI}} {
		if f.v != 0 {
			w.fuint(f.k, uint64(f.v))
		}
	}
	if e.Via != 0 {
		w.dev("viaIf", e.Via, names)
	}
	w.key("flags", "")
	w.begin('[')
	e.flagWords(w.str)
	w.end(']')
	if e.Master != 0 {
		w.dev("master", e.Master, names)
	}
	w.fstr("state", e.StateName())
	w.end('}')
	return w.b
}
