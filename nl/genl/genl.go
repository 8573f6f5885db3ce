package genl

import (
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// The constants of this package carry the kernel's values and name the
// kernel's constant (GENL_ID_CTRL, CTRL_CMD_GETFAMILY …), so they can be
// found in linux/genetlink.h and in golang.org/x/sys/unix. They are defined
// here so that the codecs build on every platform.

// HeaderLen is the size of a generic netlink header (struct genlmsghdr).
const HeaderLen = 4

// ControllerID is the message type of the generic netlink controller,
// "nlctrl" (GENL_ID_CTRL); every other family gets its id from it.
const ControllerID uint16 = 0x10

// Commands of the controller (CTRL_CMD_*). Requests use CmdGetFamily; the
// kernel announces changes with the others on the "notify" group.
const (
	CmdNewFamily      uint8 = 1 // CTRL_CMD_NEWFAMILY: a family appeared (also the reply to CmdGetFamily)
	CmdDelFamily      uint8 = 2 // CTRL_CMD_DELFAMILY: a family went away
	CmdGetFamily      uint8 = 3 // CTRL_CMD_GETFAMILY: ask for one family, or dump them all
	CmdNewMcastGroup  uint8 = 7 // CTRL_CMD_NEWMCAST_GRP: a multicast group appeared
	CmdDelMcastGroup  uint8 = 8 // CTRL_CMD_DELMCAST_GRP: a multicast group went away
	ControllerVersion uint8 = 2 // the controller's protocol version, sent in requests
)

// Attributes of the controller's messages (CTRL_ATTR_*).
const (
	attrFamilyID    = 1 // CTRL_ATTR_FAMILY_ID: u16
	attrFamilyName  = 2 // CTRL_ATTR_FAMILY_NAME: string
	attrVersion     = 3 // CTRL_ATTR_VERSION: u32
	attrHeaderSize  = 4 // CTRL_ATTR_HDRSIZE: u32
	attrMaxAttr     = 5 // CTRL_ATTR_MAXATTR: u32
	attrOps         = 6 // CTRL_ATTR_OPS: nest of nests
	attrMcastGroups = 7 // CTRL_ATTR_MCAST_GROUPS: nest of nests

	attrOpID    = 1 // CTRL_ATTR_OP_ID: u32
	attrOpFlags = 2 // CTRL_ATTR_OP_FLAGS: u32

	attrGroupName = 1 // CTRL_ATTR_MCAST_GRP_NAME: string
	attrGroupID   = 2 // CTRL_ATTR_MCAST_GRP_ID: u32
)

// Header is the generic netlink header (struct genlmsghdr) that starts the
// payload of every generic netlink message, after the netlink header whose
// Type is the family id. Its reserved field is always zero.
type Header struct {
	Command uint8 // cmd: the family's command
	Version uint8 // version: the family's protocol version
}

// AppendBinary appends the 4-byte header to b (encoding.BinaryAppender).
// It allocates only if b lacks capacity.
func (h Header) AppendBinary(b []byte) ([]byte, error) {
	return append(b, h.Command, h.Version, 0, 0), nil
}

// DecodeHeader decodes the generic netlink header at the start of a
// message payload and returns it with the rest of the payload (the
// family's own header, if it has one, then its attributes), which aliases
// payload. It does not allocate.
func DecodeHeader(payload []byte) (Header, []byte, error) {
	if len(payload) < HeaderLen {
		return Header{}, nil, fmt.Errorf("genl: %w: %d-byte payload, want at least %d", nl.ErrShortMessage, len(payload), HeaderLen)
	}
	return Header{Command: payload[0], Version: payload[1]}, payload[HeaderLen:], nil
}

// NewRequest returns a request to the family with the given id: the
// netlink header (Type family, the flags given), the generic netlink
// header h, then body (the family's header, if any, and attributes).
// nl.Conn adds NLM_F_REQUEST, the sequence number and NLM_F_ACK as needed.
// One allocation.
func NewRequest(family uint16, flags uint16, h Header, body []byte) nl.Message {
	b := make([]byte, 0, HeaderLen+len(body))
	b, _ = h.AppendBinary(b)
	b = append(b, body...)
	return nl.Message{Header: nl.Header{Type: family, Flags: flags}, Data: b}
}
