//go:build linux

package rtnl

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// AddVeth creates a veth pair, name and peer, both down (`ip link add NAME
// type veth peer name PEER`). It is AddLink with a Veth, kept as a
// shortcut. The kernel's error, such as EEXIST, comes back as an *nl.Error.
// One request and its ACK.
func AddVeth(ctx context.Context, c *nl.Conn, name, peer string) error {
	m, err := NewLinkRequest(Link{Name: MakeName(name)}, Veth{Peer: Link{Name: MakeName(peer)}})
	return execute(ctx, c, m, err, fmt.Sprintf("add veth %s peer %s", name, peer))
}
