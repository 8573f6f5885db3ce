//go:build linux

package rtnl_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"golang.org/x/sys/unix"
)

// benchRoutes is the number of /32 routes BenchmarkRouteDump adds.
const benchRoutes = 100_000

// hostRoutes returns ip -batch lines adding n /32 routes through dev.
func hostRoutes(n int, dev string) []string {
	lines := make([]string, 0, n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.%d/32 dev %s", 100+i>>16, i>>8&0xff, i&0xff, dev))
	}
	return lines
}

// rawDump is the floor: a plain x/sys/unix socket, one dump request, and a
// recvfrom loop over a 64 KiB buffer that only walks the message headers.
func rawDump(fd int, buf []byte, seq uint32) (int, error) {
	req := make([]byte, unix.SizeofNlMsghdr+unix.SizeofRtMsg)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETROUTE)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], seq)
	req[16] = unix.AF_INET
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	routes := 0
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return routes, err
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			switch binary.NativeEndian.Uint16(b[4:6]) {
			case unix.NLMSG_DONE:
				return routes, nil
			case unix.NLMSG_ERROR:
				return routes, fmt.Errorf("NLMSG_ERROR in dump")
			case unix.RTM_NEWROUTE:
				routes++
			}
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return routes, fmt.Errorf("bad message length %d", l)
			}
			b = b[(l+3)&^3:]
		}
	}
}

// BenchmarkRouteDump dumps 100,000 IPv4 routes (plus the six the kernel
// adds) with the raw floor and with rtnl.AppendRoutes into a reused slice.
// Compare raw and nlrx with benchstat; "interleaved" alternates one raw and
// one nlrx dump per iteration, so that both see the same machine, and
// reports their times and the ratio nlrx/raw. routes/op confirms every dump
// saw every route.
func BenchmarkRouteDump(b *testing.B) {
	ns := nstest.New(b)
	ns.Veth("v0", "v1")
	ns.IP("addr", "add", "10.99.0.1/24", "dev", "v0")
	ns.Batch(hostRoutes(benchRoutes, "v0"))
	want := benchRoutes + 3 // + 10.99.0.0/24, local 10.99.0.1, broadcast 10.99.0.255
	want += 3               // + local 127.0.0.0/8, 127.0.0.1 and broadcast 127.255.255.255

	var fd int
	err := ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	seq := uint32(0)
	raw := func(b *testing.B) {
		seq++
		n, err := rawDump(fd, buf, seq)
		if err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("raw dump saw %d routes, want %d", n, want)
		}
	}

	c := ns.Dial()
	ctx := context.Background()
	f := rtnl.RouteFilter{Family: rtnl.FamilyInet}
	routes, err := rtnl.ListRoutes(ctx, c, f)
	if err != nil {
		b.Fatal(err)
	}
	nlrx := func(b *testing.B) {
		if routes, err = rtnl.AppendRoutes(ctx, c, routes[:0], f); err != nil {
			b.Fatal(err)
		}
		if len(routes) != want {
			b.Fatalf("rtnl saw %d routes, want %d", len(routes), want)
		}
	}

	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw(b)
		}
		b.ReportMetric(float64(want), "routes/op")
	})
	b.Run("nlrx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nlrx(b)
		}
		b.ReportMetric(float64(want), "routes/op")
	})
	list := func(b *testing.B) {
		rs, err := rtnl.ListRoutes(ctx, c, f)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != want {
			b.Fatalf("rtnl saw %d routes, want %d", len(rs), want)
		}
	}
	b.Run("list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			list(b)
		}
		b.ReportMetric(float64(want), "routes/op")
	})
	b.Run("interleaved-list", func(b *testing.B) {
		var rawTime, listTime time.Duration
		for b.Loop() {
			t0 := time.Now()
			raw(b)
			t1 := time.Now()
			list(b)
			rawTime += t1.Sub(t0)
			listTime += time.Since(t1)
		}
		b.ReportMetric(float64(listTime)/float64(rawTime), "list/raw")
	})
	b.Run("interleaved", func(b *testing.B) {
		var rawTime, nlrxTime time.Duration
		n := 0
		for b.Loop() {
			t0 := time.Now()
			raw(b)
			t1 := time.Now()
			nlrx(b)
			rawTime += t1.Sub(t0)
			nlrxTime += time.Since(t1)
			n++
		}
		b.ReportMetric(float64(rawTime.Nanoseconds())/float64(n), "raw-ns/dump")
		b.ReportMetric(float64(nlrxTime.Nanoseconds())/float64(n), "nlrx-ns/dump")
		b.ReportMetric(float64(nlrxTime)/float64(rawTime), "nlrx/raw")
	})
}

// BenchmarkLinkCounters reads the counters of 501 links (250 veth pairs
// and lo) the two ways a poller can: a link dump (every attribute of every
// link, the counters among them) and an RTM_GETSTATS dump (the counters
// alone).
func BenchmarkLinkCounters(b *testing.B) {
	ns := nstest.New(b)
	var lines []string
	for i := range 250 {
		lines = append(lines, fmt.Sprintf("link add c%da type veth peer name c%db", i, i))
	}
	ns.Batch(lines)
	c := ns.Dial()
	ctx := context.Background()
	const want = 501
	b.Run("link-dump", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			var rx uint64
			if err := rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
				n++
				rx += l.Stats.RxBytes
				return nil
			}); err != nil || n != want {
				b.Fatalf("%d links, %v", n, err)
			}
		}
	})
	b.Run("stats-dump", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			var rx uint64
			if err := rtnl.ForEachLinkStats(ctx, c, func(s *rtnl.IfStats) error {
				n++
				rx += s.Link64.RxBytes
				return nil
			}); err != nil || n != want {
				b.Fatalf("%d links, %v", n, err)
			}
		}
	})
}
