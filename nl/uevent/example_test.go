package uevent_test

import (
	"fmt"

	"github.com/nlrx/nlrx/nl/uevent"
)

// A kernel uevent datagram, as a NETLINK_KOBJECT_UEVENT socket receives it
// from port 0, parsed and read.
func ExampleParse() {
	datagram := []byte("add@/devices/virtual/net/veth0\x00ACTION=add\x00DEVPATH=/devices/virtual/net/veth0\x00" +
		"SUBSYSTEM=net\x00INTERFACE=veth0\x00IFINDEX=3\x00SEQNUM=1042\x00")
	e, err := uevent.Parse(datagram, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Action, e.DevPath, e.Subsystem, e.Seqnum)
	fmt.Println(e.Interface(), e.IfIndex(), e.Trusted())
	// Output:
	// add /devices/virtual/net/veth0 net 1042
	// veth0 3 true
}
