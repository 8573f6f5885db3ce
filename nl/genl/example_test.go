package genl_test

import (
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/genl"
)

// A generic netlink request is a netlink message whose type is the family
// id and whose payload starts with the generic header; the controller's
// answers decode into a Family.
func Example() {
	req := genl.NewRequest(genl.ControllerID, nl.FlagDump, genl.Header{Command: genl.CmdGetFamily, Version: genl.ControllerVersion}, nil)
	fmt.Printf("type %#x, payload % x\n", req.Header.Type, req.Data)

	// A reply such as the kernel sends, decoded.
	b, _ := (&genl.Family{ID: 0x10, Name: "nlctrl", Version: 2,
		Groups: []genl.MulticastGroup{{ID: 0x10, Name: "notify"}}}).MarshalBinary()
	f, cmd, err := genl.DecodeFamily(nl.Message{Header: nl.Header{Type: genl.ControllerID}, Data: b})
	if err != nil {
		fmt.Println(err)
		return
	}
	g, _ := f.Group("notify")
	fmt.Println(cmd == genl.CmdNewFamily, f.Name, f.ID, g.Name, g.ID)
	// Output:
	// type 0x10, payload 03 02 00 00
	// true nlctrl 16 notify 16
}
