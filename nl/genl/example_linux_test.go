//go:build linux

package genl_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nlrx/nlrx/nl/genl"
)

// Resolve a family by name, then join one of its multicast groups by name.
func ExampleJoinGroup() {
	ctx := context.Background()
	c, err := genl.Dial()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	f, err := genl.GetFamily(ctx, c, "nlctrl")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: id %#x, version %d, %d operations\n", f.Name, f.ID, f.Version, len(f.Ops))
	g, err := genl.JoinGroup(ctx, c, "nlctrl", "notify")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("joined %s (group %d)\n", g.Name, g.ID)
	// Output:
	// nlctrl: id 0x10, version 2, 2 operations
	// joined notify (group 16)
}
