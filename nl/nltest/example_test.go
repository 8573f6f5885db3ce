//go:build linux

package nltest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/nltest"
	"golang.org/x/sys/unix"
)

// A fake kernel that answers a dump in three datagrams and flags it as
// interrupted, the way a real kernel does when the table changed mid-dump.
func Example() {
	c, k, err := nltest.Dial(func(req nl.Message) []nltest.Datagram {
		ds := nltest.Multipart(req, unix.RTM_NEWROUTE, [][]byte{{1}, {2}, {3}, {4}}, 2)
		return nltest.WithFlags(ds, nl.FlagDumpIntr)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer k.Close()
	defer c.Close()

	req := nl.Message{Header: nl.Header{Type: unix.RTM_GETROUTE, Flags: nl.FlagDump}, Data: make([]byte, 12)}
	ms, err := c.Execute(context.Background(), req)
	fmt.Println(len(ms), "routes;", errors.Is(err, nl.ErrDumpInterrupted))
	// Output: 4 routes; true
}
