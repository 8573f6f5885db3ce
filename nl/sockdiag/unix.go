package sockdiag

import (
	"encoding/binary"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// UnixSocket is one Unix domain socket as the kernel's unix_diag reports it
// (struct unix_diag_msg and its UNIX_DIAG_* attributes): what `ss -ax`
// lists.
//
// A zero field is "not reported". Decoding allocates only the Path of a
// named socket. UnixSocket is comparable with ==.
type UnixSocket struct {
	Type   UnixType // udiag_type: UnixStream, UnixDgram, UnixSeqPacket
	State  State    // udiag_state: StateListen, StateEstablished, StateClose (unconnected)
	Inode  uint32   // udiag_ino
	Cookie uint64   // udiag_cookie

	// Path is UNIX_DIAG_NAME: the address the socket is bound to, "" for
	// none. An abstract name starts with "@" in place of its leading NUL
	// (as package net and ss write it), and ss's other NULs are "@" too.
	Path string

	VFS      VFS    // UNIX_DIAG_VFS: the bound file's inode and device
	Peer     uint32 // UNIX_DIAG_PEER: the peer's inode, 0 for none
	RQueue   uint32 // UNIX_DIAG_RQLEN: for a listener, connections waiting; else bytes (stream) or datagrams queued
	WQueue   uint32 // UNIX_DIAG_RQLEN: for a listener, the backlog; else bytes not yet read by the peer
	UID      uint32 // UNIX_DIAG_UID (Linux 5.3), in the caller's user namespace
	Shutdown uint8  // UNIX_DIAG_SHUTDOWN

	SkMemInfo SkMemInfo // UNIX_DIAG_MEMINFO (UnixFilter.MemInfo)
}

// VFS is struct unix_diag_vfs: the inode and device of a bound socket's
// file.
type VFS struct {
	Inode uint32 // udiag_vfs_ino
	Dev   uint32 // udiag_vfs_dev: the kernel's dev_t (major<<20 | minor)
}

// DecodeUnixSocket decodes a SOCK_DIAG_BY_FAMILY reply of a Unix dump. The
// result does not alias m.Data.
func DecodeUnixSocket(m nl.Message) (UnixSocket, error) {
	var u UnixSocket
	if m.Header.Type != TypeByFamily {
		return u, fmt.Errorf("%w: %#x is not SOCK_DIAG_BY_FAMILY", ErrMessageType, m.Header.Type)
	}
	return u, u.decode(m.Data)
}

// UnmarshalBinary decodes the payload of a unix_diag reply into u,
// replacing all of u. u does not alias b.
func (u *UnixSocket) UnmarshalBinary(b []byte) error {
	*u = UnixSocket{}
	return u.decode(b)
}

func (u *UnixSocket) decode(b []byte) error {
	if len(b) < sizeofUnixMsg {
		return fmt.Errorf("sockdiag: unix_diag_msg: %w: %d bytes, want at least %d", nl.ErrShortMessage, len(b), sizeofUnixMsg)
	}
	if Family(b[0]) != FamilyUnix {
		return fmt.Errorf("%w: udiag_family %d is not AF_UNIX", ErrFamily, b[0])
	}
	ne := binary.NativeEndian
	u.Type = UnixType(b[1])
	u.State = State(b[2])
	u.Inode = ne.Uint32(b[4:])
	u.Cookie = uint64(ne.Uint32(b[8:])) | uint64(ne.Uint32(b[12:]))<<32
	d := nl.NewAttributeDecoder(b[sizeofUnixMsg:])
	for d.Next() {
		switch d.Type() {
		case unixAttrName:
			u.Path = unixName(d.Bytes())
		case unixAttrVFS:
			v := d.Bytes()
			if len(v) != 8 {
				d.Propagate(fmt.Errorf("UNIX_DIAG_VFS: %d bytes, want 8", len(v)))
				break
			}
			u.VFS = VFS{Inode: ne.Uint32(v), Dev: ne.Uint32(v[4:])}
		case unixAttrPeer:
			u.Peer = d.Uint32()
		case unixAttrRQLen:
			v := d.Bytes()
			if len(v) != 8 {
				d.Propagate(fmt.Errorf("UNIX_DIAG_RQLEN: %d bytes, want 8", len(v)))
				break
			}
			u.RQueue, u.WQueue = ne.Uint32(v), ne.Uint32(v[4:])
		case unixAttrUID:
			u.UID = d.Uint32()
		case unixAttrShutdown:
			u.Shutdown = d.Uint8()
		case unixAttrMemInfo:
			u.SkMemInfo = decodeSkMemInfo(d.Bytes())
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("sockdiag: unix_diag_msg: %w", err)
	}
	return nil
}

// unixName turns UNIX_DIAG_NAME (sun_path, without a terminating NUL for
// an abstract name) into Path: an abstract name's NULs become "@".
func unixName(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if b[0] != 0 {
		for i, c := range b {
			if c == 0 {
				return string(b[:i])
			}
		}
		return string(b)
	}
	s := []byte(string(b))
	for i, c := range s {
		if c == 0 {
			s[i] = '@'
		}
	}
	return string(s)
}

// AppendBinary appends u as the kernel sends it: struct unix_diag_msg and
// the attributes of the fields that are set. A Path that starts with "@"
// is encoded as an abstract name (its "@"s as NULs).
func (u *UnixSocket) AppendBinary(b []byte) ([]byte, error) {
	ne := binary.NativeEndian
	b = append(b, byte(FamilyUnix), byte(u.Type), byte(u.State), 0)
	b = ne.AppendUint32(b, u.Inode)
	b = ne.AppendUint32(b, uint32(u.Cookie))
	b = ne.AppendUint32(b, uint32(u.Cookie>>32))
	e := nl.NewAttributeEncoder(b)
	if u.Path != "" {
		p := []byte(u.Path)
		if p[0] == '@' {
			for i, c := range p {
				if c == '@' {
					p[i] = 0
				}
			}
		}
		e.Raw(unixAttrName, p)
	}
	if u.VFS != (VFS{}) {
		var v [8]byte
		ne.PutUint32(v[:], u.VFS.Inode)
		ne.PutUint32(v[4:], u.VFS.Dev)
		e.Raw(unixAttrVFS, v[:])
	}
	if u.Peer != 0 {
		e.Uint32(unixAttrPeer, u.Peer)
	}
	if u.RQueue != 0 || u.WQueue != 0 {
		var v [8]byte
		ne.PutUint32(v[:], u.RQueue)
		ne.PutUint32(v[4:], u.WQueue)
		e.Raw(unixAttrRQLen, v[:])
	}
	if u.SkMemInfo != (SkMemInfo{}) {
		e.Raw(unixAttrMemInfo, u.SkMemInfo.appendBinary(make([]byte, 0, 4*skMemInfoVars)))
	}
	if u.Shutdown != 0 {
		e.Uint8(unixAttrShutdown, u.Shutdown)
	}
	if u.UID != 0 {
		e.Uint32(unixAttrUID, u.UID)
	}
	return e.Bytes()
}

// MarshalBinary returns AppendBinary(nil).
func (u *UnixSocket) MarshalBinary() ([]byte, error) { return u.AppendBinary(nil) }

// Message returns u as the kernel's reply message (SOCK_DIAG_BY_FAMILY,
// NLM_F_MULTI): for tests and fake kernels.
func (u *UnixSocket) Message() (nl.Message, error) {
	b, err := u.MarshalBinary()
	return nl.Message{Header: nl.Header{Type: TypeByFamily, Flags: nl.FlagMulti}, Data: b}, err
}
