package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"

	"github.com/nlrx/nlrx/nl"
)

// queuedEventBytes returns the bytes waiting in the receive queues of the
// netlink sockets in ns that joined a multicast group (the watch
// subscribers: nothing else in a scenario's namespace joins one), from the
// Rmem column of /proc/net/netlink read inside the namespace.
//
// It lets a watch run tell a reader that has drained its queue from one
// that the scheduler has not run for a while: both look idle, only the
// second still has events queued.
func queuedEventBytes(ns *nl.NetNS) (int64, error) {
	var b []byte
	err := ns.Do(func() error {
		var err error
		b, err = os.ReadFile("/proc/thread-self/net/netlink")
		return err
	})
	if err != nil {
		return 0, err
	}
	return parseNetlinkRmem(b), nil
}

// parseNetlinkRmem sums the Rmem column of /proc/net/netlink over the
// sockets whose Groups column is not zero.
func parseNetlinkRmem(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	groups, rmem := -1, -1
	var total int64
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if groups < 0 {
			for i, name := range f {
				switch name {
				case "Groups":
					groups = i
				case "Rmem":
					rmem = i
				}
			}
			if groups < 0 || rmem < 0 {
				return 0
			}
			continue
		}
		if len(f) <= max(groups, rmem) {
			continue
		}
		if g, err := strconv.ParseUint(f[groups], 16, 32); err != nil || g == 0 {
			continue
		}
		if n, err := strconv.ParseInt(f[rmem], 10, 64); err == nil {
			total += n
		}
	}
	return total
}
