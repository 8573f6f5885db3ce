//go:build linux

package nl_test

import (
	"context"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"golang.org/x/sys/unix"
)

func linkDump() nl.Message {
	return nl.Message{
		Header: nl.Header{Type: unix.RTM_GETLINK, Flags: nl.FlagDump},
		Data:   make([]byte, unix.SizeofIfInfomsg),
	}
}

func TestExecuteDumpsLinks(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	c := ns.Dial()
	ms, err := c.Execute(context.Background(), linkDump())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d links, want 3 (lo, v0, v1)", len(ms))
	}
	for _, m := range ms {
		if m.Header.Type != unix.RTM_NEWLINK {
			t.Errorf("message type %d, want RTM_NEWLINK", m.Header.Type)
		}
	}
}
