package genl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nlrx/nlrx/nl"
)

// Family is a generic netlink family as the controller describes it
// (CTRL_CMD_NEWFAMILY): its name, the id to use as message type, its
// version, the operations it supports and its multicast groups.
type Family struct {
	ID         uint16 // CTRL_ATTR_FAMILY_ID: the message type of its messages
	Name       string // CTRL_ATTR_FAMILY_NAME: "nlctrl", "devlink", "ethtool", "nl80211" …
	Version    uint32 // CTRL_ATTR_VERSION
	HeaderSize uint32 // CTRL_ATTR_HDRSIZE: size of the family's own header after the genlmsghdr
	MaxAttr    uint32 // CTRL_ATTR_MAXATTR: highest attribute type of its messages
	Ops        []Op   // CTRL_ATTR_OPS: the commands it supports
	Groups     []MulticastGroup
}

// Op is one command a family supports (CTRL_ATTR_OPS).
type Op struct {
	ID    uint32 // CTRL_ATTR_OP_ID: the command number
	Flags uint32 // CTRL_ATTR_OP_FLAGS: Op* (GENL_ADMIN_PERM, GENL_CMD_CAP_* …)
}

// Operation flags (CTRL_ATTR_OP_FLAGS).
const (
	OpAdminPerm    uint32 = 0x01 // GENL_ADMIN_PERM: needs CAP_NET_ADMIN
	OpCanDo        uint32 = 0x02 // GENL_CMD_CAP_DO: answers single requests
	OpCanDump      uint32 = 0x04 // GENL_CMD_CAP_DUMP: answers dumps
	OpHasPolicy    uint32 = 0x08 // GENL_CMD_CAP_HASPOL: validates its attributes
	OpUserNSPerm   uint32 = 0x10 // GENL_UNS_ADMIN_PERM: needs CAP_NET_ADMIN in the namespace's user namespace
	opKnownFlagSet uint32 = 0x1f
)

// String lists the capabilities as `genl ctrl list` names them ("can
// doit; can dumpit; has policy"), with admin requirements first. It
// allocates.
func (o Op) String() string {
	var parts []string
	for _, f := range []struct {
		bit  uint32
		name string
	}{
		{OpAdminPerm, "requires admin permission"}, {OpUserNSPerm, "requires namespace admin permission"},
		{OpCanDo, "can doit"}, {OpCanDump, "can dumpit"}, {OpHasPolicy, "has policy"},
	} {
		if o.Flags&f.bit != 0 {
			parts = append(parts, f.name)
		}
	}
	if rest := o.Flags &^ opKnownFlagSet; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", rest))
	}
	return fmt.Sprintf("%#x (%s)", o.ID, strings.Join(parts, "; "))
}

// MulticastGroup is one multicast group of a family
// (CTRL_ATTR_MCAST_GROUPS): join it by ID with nl.Conn.JoinGroup, or by
// name with JoinGroup.
type MulticastGroup struct {
	ID   uint32 // CTRL_ATTR_MCAST_GRP_ID: the netlink group number
	Name string // CTRL_ATTR_MCAST_GRP_NAME
}

// Group returns the family's multicast group with the given name.
func (f *Family) Group(name string) (MulticastGroup, bool) {
	for _, g := range f.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return MulticastGroup{}, false
}

// ErrNotController reports a message that is not from the controller.
var ErrNotController = errors.New("genl: not a controller message")

// DecodeFamily decodes a controller message that describes a family: the
// reply to CmdGetFamily and the notifications CmdNewFamily, CmdDelFamily,
// CmdNewMcastGroup and CmdDelMcastGroup (the last two carry only the
// group that changed). It returns the command with the family. Unknown
// attributes are skipped. It allocates the name strings and the Ops and
// Groups slices.
func DecodeFamily(m nl.Message) (Family, uint8, error) {
	if m.Header.Type != ControllerID {
		return Family{}, 0, fmt.Errorf("%w: message type %#x", ErrNotController, m.Header.Type)
	}
	h, rest, err := DecodeHeader(m.Data)
	if err != nil {
		return Family{}, 0, err
	}
	var f Family
	err = f.decodeAttrs(rest)
	return f, h.Command, err
}

// UnmarshalBinary decodes the payload of a controller message (the
// genlmsghdr and the attributes) into f, replacing all of f.
func (f *Family) UnmarshalBinary(payload []byte) error {
	*f = Family{}
	_, rest, err := DecodeHeader(payload)
	if err != nil {
		return err
	}
	return f.decodeAttrs(rest)
}

func (f *Family) decodeAttrs(b []byte) error {
	d := nl.NewAttributeDecoder(b)
	for d.Next() {
		switch d.Type() {
		case attrFamilyID:
			f.ID = d.Uint16()
		case attrFamilyName:
			f.Name = d.String()
		case attrVersion:
			f.Version = d.Uint32()
		case attrHeaderSize:
			f.HeaderSize = d.Uint32()
		case attrMaxAttr:
			f.MaxAttr = d.Uint32()
		case attrOps:
			f.Ops = decodeList(&d, f.Ops[:0], func(ad *nl.AttributeDecoder, op *Op) {
				switch ad.Type() {
				case attrOpID:
					op.ID = ad.Uint32()
				case attrOpFlags:
					op.Flags = ad.Uint32()
				}
			})
		case attrMcastGroups:
			f.Groups = decodeList(&d, f.Groups[:0], func(ad *nl.AttributeDecoder, g *MulticastGroup) {
				switch ad.Type() {
				case attrGroupName:
					g.Name = ad.String()
				case attrGroupID:
					g.ID = ad.Uint32()
				}
			})
		}
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("genl: family %q: %w", f.Name, err)
	}
	return nil
}

// decodeList decodes a nest of nests (the kernel numbers the inner nests
// 1, 2, …), one element per inner nest, each attribute handed to set.
func decodeList[T any](d *nl.AttributeDecoder, out []T, set func(*nl.AttributeDecoder, *T)) []T {
	outer := d.Nested()
	for outer.Next() {
		var v T
		inner := outer.Nested()
		for inner.Next() {
			set(&inner, &v)
		}
		outer.Propagate(inner.Err())
		out = append(out, v)
	}
	d.Propagate(outer.Err())
	return out
}

// AppendBinary appends f as the payload of a controller message (a
// genlmsghdr with CmdNewFamily and the controller's version, then the
// attributes of the fields that are set), as the kernel sends it
// (encoding.BinaryAppender). It allocates only if b lacks capacity.
func (f *Family) AppendBinary(b []byte) ([]byte, error) {
	b, _ = Header{Command: CmdNewFamily, Version: ControllerVersion}.AppendBinary(b)
	e := nl.NewAttributeEncoder(b)
	if f.Name != "" {
		e.String(attrFamilyName, f.Name)
	}
	if f.ID != 0 {
		e.Uint16(attrFamilyID, f.ID)
	}
	e.Uint32(attrVersion, f.Version)
	e.Uint32(attrHeaderSize, f.HeaderSize)
	e.Uint32(attrMaxAttr, f.MaxAttr)
	if len(f.Ops) > 0 {
		outer := e.BeginNested(attrOps)
		for i, op := range f.Ops {
			inner := e.BeginNested(uint16(i + 1))
			e.Uint32(attrOpID, op.ID)
			e.Uint32(attrOpFlags, op.Flags)
			e.EndNested(inner)
		}
		e.EndNested(outer)
	}
	if len(f.Groups) > 0 {
		outer := e.BeginNested(attrMcastGroups)
		for i, g := range f.Groups {
			inner := e.BeginNested(uint16(i + 1))
			e.Uint32(attrGroupID, g.ID)
			e.String(attrGroupName, g.Name)
			e.EndNested(inner)
		}
		e.EndNested(outer)
	}
	return e.Bytes()
}

// MarshalBinary returns f as the payload of a controller message
// (encoding.BinaryMarshaler). One allocation.
func (f *Family) MarshalBinary() ([]byte, error) { return f.AppendBinary(make([]byte, 0, 128)) }
