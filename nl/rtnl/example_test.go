package rtnl_test

import (
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// A route is a plain value: build it, turn it into a request, and decode
// the kernel's form of it back.
func Example() {
	r := rtnl.Route{
		Dst:      netip.MustParsePrefix("10.1.0.0/16"),
		Gateway:  netip.MustParseAddr("192.0.2.1"),
		OIF:      2,
		Table:    rtnl.TableMain,
		Protocol: rtnl.ProtoStatic,
		Priority: 10,
	}
	req, err := r.Message(rtnl.TypeNewRoute, nl.FlagRequest|nl.FlagCreate|nl.FlagExcl)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := rtnl.DecodeRoute(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Family, back.String())

	// Key identifies the route as the kernel does: a map of the table.
	table := map[rtnl.RouteKey]rtnl.Route{back.Key(): back}
	fmt.Println(len(req.Data), "bytes,", len(table), "route in table", rtnl.TableName(back.Key().Table()))
	// Output:
	// inet 10.1.0.0/16 via 192.0.2.1 dev if2 proto static metric 10
	// 52 bytes, 1 route in table main
}
