package rtnl_test

import (
	"encoding/json"
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

// A route prints as ip route shows it, and marshals as ip -json does;
// interface names come from a function that knows them.
func ExampleRoute_MarshalJSON() {
	r := rtnl.Route{
		Family:   rtnl.FamilyInet,
		Dst:      netip.MustParsePrefix("10.1.0.0/16"),
		Gateway:  netip.MustParseAddr("192.0.2.1"),
		OIF:      2,
		Table:    rtnl.TableMain,
		Protocol: rtnl.ProtoStatic,
		Priority: 10,
	}
	fmt.Println(r)
	b, err := json.Marshal(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(b))
	names := func(index uint32) string { return map[uint32]string{2: "eth0"}[index] }
	fmt.Println(string(r.AppendTextNames(nil, names)))
	fmt.Println(string(r.AppendJSONNames(nil, names)))
	// Output:
	// 10.1.0.0/16 via 192.0.2.1 dev if2 proto static metric 10
	// {"dst":"10.1.0.0/16","gateway":"192.0.2.1","dev_index":2,"protocol":"static","metric":10,"flags":[]}
	// 10.1.0.0/16 via 192.0.2.1 dev eth0 proto static metric 10
	// {"dst":"10.1.0.0/16","gateway":"192.0.2.1","dev":"eth0","protocol":"static","metric":10,"flags":[]}
}

// A link's kind-specific attributes (IFLA_INFO_DATA) stay undecoded in the
// Link until Info is called; a type switch reads them.
func ExampleLink_Info() {
	// What the kernel sends about a VXLAN, built here with SetInfo.
	sent := rtnl.Link{Index: 5, Name: rtnl.MakeName("vx0")}
	err := sent.SetInfo(rtnl.VXLAN{ID: 42, Group: netip.MustParseAddr("239.1.1.42"), Port: 4789})
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, err := sent.MarshalBinary()
	if err != nil {
		fmt.Println(err)
		return
	}

	var l rtnl.Link
	if err := l.UnmarshalBinary(payload); err != nil {
		fmt.Println(err)
		return
	}
	info, err := l.Info()
	if err != nil {
		fmt.Println(err)
		return
	}
	switch v := info.(type) {
	case rtnl.VXLAN:
		fmt.Println(l.Name, l.Kind, "vni", v.ID, "group", v.Group, "port", v.Port, "learning", !v.NoLearning)
	case rtnl.RawLinkInfo:
		fmt.Println(l.Name, "of kind", v.Kind, "with", len(v.Data), "bytes of attributes")
	}
	// Output: vx0 vxlan vni 42 group 239.1.1.42 port 4789 learning true
}
