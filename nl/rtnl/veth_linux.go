//go:build linux

package rtnl

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// Attribute types for link creation (IFLA_*, IFLA_INFO_*, VETH_INFO_*).
const (
	attrLinkInfo = 18 // IFLA_LINKINFO
	attrInfoKind = 1  // IFLA_INFO_KIND
	attrInfoData = 2  // IFLA_INFO_DATA
	attrVethPeer = 1  // VETH_INFO_PEER: a struct ifinfomsg and the peer's attributes
)

// AddVeth creates a veth pair, name and peer, both down (`ip link add NAME
// type veth peer name PEER`). The kernel's error, such as EEXIST, comes back
// as an *nl.Error. One request.
func AddVeth(ctx context.Context, c *nl.Conn, name, peer string) error {
	l := Link{Name: MakeName(name)}
	b, err := l.MarshalBinary()
	if err != nil {
		return err
	}
	p := Link{Name: MakeName(peer)}
	pb, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	e := nl.NewAttributeEncoder(b)
	info := e.BeginNested(attrLinkInfo)
	e.String(attrInfoKind, "veth")
	data := e.BeginNested(attrInfoData)
	e.Nested(attrVethPeer, func(e *nl.AttributeEncoder) { e.Append(pb) })
	e.EndNested(data)
	e.EndNested(info)
	if b, err = e.Bytes(); err != nil {
		return err
	}
	req := nl.Message{Header: nl.Header{Type: TypeNewLink, Flags: nl.FlagCreate | nl.FlagExcl}, Data: b}
	if _, err := c.Execute(ctx, req); err != nil {
		return fmt.Errorf("rtnl: add veth %s peer %s: %w", name, peer, err)
	}
	return nil
}
