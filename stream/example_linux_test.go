//go:build linux

package stream_test

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/stream"
)

// Dump the links of the current network namespace as a stream: each reply
// is handled while its Data still points into the socket's buffer, so
// nothing is copied.
func ExampleFromExecute() {
	conn, err := nl.DialRoute()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	req := nl.Message{
		Header: nl.Header{Type: unix.RTM_GETLINK, Flags: nl.FlagDump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	}
	links := 0
	err = stream.ForEach(context.Background(), stream.FromExecute(conn, req), func(m nl.Message) error {
		if m.Header.Type == unix.RTM_NEWLINK {
			links++
		}
		return nil
	})
	fmt.Println(links > 0, err)
}
