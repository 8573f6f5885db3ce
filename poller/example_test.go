//go:build linux

package poller_test

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/poller"
)

// A poller drains a link dump sent on a socket it reads. The example runs
// in a fresh network namespace, where only the loopback link exists.
func Example() {
	ns, err := nl.NewNetNS()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	p, err := poller.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		p.Close() // returns at once, even from a handler
		<-p.Done()
	}()

	done := make(chan int)
	links := 0
	_, err = p.Add(c, func(b *poller.Batch) {
		// b.Messages alias the poller's buffers: use them here, or copy.
		for _, m := range b.Messages {
			switch m.Header.Type {
			case unix.RTM_NEWLINK:
				links++
			case nl.TypeDone:
				done <- links
			}
		}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Send(nl.Message{
		Header: nl.Header{Type: unix.RTM_GETLINK, Flags: nl.FlagRequest | nl.FlagDump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("links:", <-done)
	// Output: links: 1
}
