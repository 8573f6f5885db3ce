//go:build linux

package rtnl

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// ListBridgeVLANs returns the VLANs of every bridge port (and of each
// bridge with VLAN filtering on), one per VID, as `bridge vlan show` lists
// them; index, if not 0, keeps those of one link. A kernel without
// CONFIG_BRIDGE_VLAN_FILTERING reports none. One dump; it allocates the
// slice.
func ListBridgeVLANs(ctx context.Context, c *nl.Conn, index uint32) ([]BridgeVLAN, error) {
	var out []BridgeVLAN
	var decErr error
	err := c.ExecuteFunc(ctx, BridgeVLANDumpRequest(), func(m nl.Message) error {
		if m.Header.Type != TypeNewLink {
			return nil
		}
		if index != 0 && (len(m.Data) < sizeofIfinfomsg || uint32FromIfinfo(m.Data) != index) {
			return nil
		}
		var err error
		if out, err = AppendBridgeVLANs(out, m.Data); err != nil {
			decErr = joinCapped(decErr, err)
		}
		return nil
	})
	return out, dumpErr("dump bridge vlans", err, decErr)
}

func uint32FromIfinfo(b []byte) uint32 { return binary.NativeEndian.Uint32(b[4:8]) }

// AddBridgeVLAN adds the VLAN (or range) v to a bridge port, or to the
// bridge itself with v.Self (RTM_SETLINK AF_BRIDGE; `bridge vlan add vid
// V dev D [pvid] [untagged] [self]`), with v.Flags (BridgeVLANPVID,
// BridgeVLANUntagged). Adding an existing VLAN updates its flags. A kernel
// without CONFIG_BRIDGE_VLAN_FILTERING fails with an error matching
// unix.EOPNOTSUPP. One request and its ACK.
func AddBridgeVLAN(ctx context.Context, c *nl.Conn, v BridgeVLAN) error {
	m, err := BridgeVLANRequest(TypeSetLink, v)
	return execute(ctx, c, m, err, "add "+bridgeVLANName(&v))
}

// DeleteBridgeVLAN deletes the VLAN (or range) v from a bridge port, or
// from the bridge itself with v.Self (RTM_DELLINK AF_BRIDGE; `bridge vlan
// del`). One request and its ACK.
func DeleteBridgeVLAN(ctx context.Context, c *nl.Conn, v BridgeVLAN) error {
	m, err := BridgeVLANRequest(TypeDelLink, v)
	return execute(ctx, c, m, err, "delete "+bridgeVLANName(&v))
}

func bridgeVLANName(v *BridgeVLAN) string {
	if v.LastVID > v.VID {
		return fmt.Sprintf("bridge vlans %d-%d on link %d", v.VID, v.LastVID, v.Index)
	}
	return fmt.Sprintf("bridge vlan %d on link %d", v.VID, v.Index)
}
