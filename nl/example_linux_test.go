//go:build linux

package nl_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

// Dump the links of the current network namespace and decode their names.
func Example() {
	c, err := nl.DialRoute()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	req := nl.Message{
		Header: nl.Header{Type: unix.RTM_GETLINK, Flags: nl.FlagDump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	}
	err = c.ExecuteFunc(context.Background(), req, func(m nl.Message) error {
		d := nl.NewAttributeDecoder(m.Data[unix.SizeofIfInfomsg:])
		for d.Next() {
			if d.Type() == unix.IFLA_IFNAME && d.String() == "lo" {
				fmt.Println("found the loopback link")
			}
		}
		return d.Err()
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output: found the loopback link
}
