package cnproc_test

import (
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/cnproc"
)

// A process event as a NETLINK_CONNECTOR socket receives it: a netlink
// message of type NLMSG_DONE, a cn_msg, a struct proc_event.
func ExampleDecode() {
	payload := cnproc.AppendEvent(nil, cnproc.Event{What: cnproc.WhatExit, PID: 4242, TGID: 4242, ExitCode: 3 << 8, ParentTGID: 1})
	e, err := cnproc.Decode(nl.Message{Header: nl.Header{Type: nl.TypeDone}, Data: payload})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.What, e.PID, e.Exited(), e.ExitStatus(), e.ParentTGID)
	// Output:
	// exit 4242 true 3 1
}
