//go:build linux

package sockdiag_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/sockdiag"
	"golang.org/x/sys/unix"
)

// benchSockets is how many UDP sockets BenchmarkDump lists.
const benchSockets = 10_000

// udpSockets opens n UDP sockets in ns, bound to 127.0.0.1 from port
// 20000 up, closed when the benchmark ends.
func udpSockets(b testing.TB, ns *nstest.NS, n int) {
	b.Helper()
	fds := make([]int, 0, n)
	b.Cleanup(func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	})
	in(b, ns, func() error {
		for i := range n {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
			if err := unix.Bind(fd, &unix.SockaddrInet4{Port: 20000 + i, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkDump lists 10,000 UDP sockets: through ForEach (decoding each
// in place), through Append into a reused slice, and, as the floor, with a
// raw netlink socket that only walks the message headers of each
// datagram (the same request, the same 64 KiB buffer). The ratio of
// ForEach to raw is the package's overhead over the kernel's cost.
func BenchmarkDump(b *testing.B) {
	ns := nstest.New(b)
	udpSockets(b, ns, benchSockets)
	c := dial(b, ns)
	f := sockdiag.Filter{Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoUDP}
	ctx := testCtx(b)
	check := func(b *testing.B, n int) {
		if n != benchSockets {
			b.Fatalf("listed %d sockets, want %d", n, benchSockets)
		}
	}
	b.Run("ForEach", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			if err := sockdiag.ForEach(ctx, c, f, func(*sockdiag.Socket) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			check(b, n)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSockets), "ns/socket")
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		var ss []sockdiag.Socket
		for b.Loop() {
			var err error
			if ss, err = sockdiag.Append(ctx, c, ss[:0], f); err != nil {
				b.Fatal(err)
			}
			check(b, len(ss))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSockets), "ns/socket")
	})
	b.Run("raw", func(b *testing.B) {
		raw := newRawDump(b, ns, f)
		b.ReportAllocs()
		for b.Loop() {
			check(b, raw.dump(b))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSockets), "ns/socket")
	})
	// Interleaved, so that the load of a shared machine falls on both.
	b.Run("ratio", func(b *testing.B) {
		raw := newRawDump(b, ns, f)
		var tPkg, tRaw time.Duration
		for b.Loop() {
			t0 := time.Now()
			check(b, raw.dump(b))
			t1 := time.Now()
			n := 0
			if err := sockdiag.ForEach(ctx, c, f, func(*sockdiag.Socket) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			check(b, n)
			tRaw += t1.Sub(t0)
			tPkg += time.Since(t1)
		}
		per := float64(b.N * benchSockets)
		b.ReportMetric(float64(tRaw.Nanoseconds())/per, "raw-ns/socket")
		b.ReportMetric(float64(tPkg.Nanoseconds())/per, "foreach-ns/socket")
		b.ReportMetric(float64(tPkg)/float64(tRaw), "foreach/raw")
	})
}

// rawDump is the floor of a dump: a netlink socket read with read(2)
// into a 64 KiB buffer, counting the messages of each datagram by their
// headers, without checks or decoding.
type rawDump struct {
	fd  int
	req []byte
	buf []byte
	seq uint32
}

func newRawDump(b *testing.B, ns *nstest.NS, f sockdiag.Filter) *rawDump {
	b.Helper()
	r := &rawDump{buf: make([]byte, nl.DefaultDatagramSize)}
	in(b, ns, func() (err error) {
		r.fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		return err
	})
	b.Cleanup(func() { unix.Close(r.fd) })
	reqs, err := f.Requests()
	if err != nil {
		b.Fatal(err)
	}
	r.req = nl.AppendMessage(nil, reqs[0])
	return r
}

func (r *rawDump) dump(b *testing.B) int {
	r.seq++
	binary.NativeEndian.PutUint32(r.req[8:], r.seq)
	if err := unix.Sendto(r.fd, r.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		m, err := unix.Read(r.fd, r.buf)
		if err != nil {
			b.Fatal(err)
		}
		for off := 0; off+nl.HeaderLen <= m; {
			l := int(binary.NativeEndian.Uint32(r.buf[off:]))
			switch typ := binary.NativeEndian.Uint16(r.buf[off+4:]); {
			case typ == unix.NLMSG_DONE || typ == unix.NLMSG_ERROR:
				return n
			case l < nl.HeaderLen:
				b.Fatalf("message of %d bytes", l)
			}
			n++
			off += nl.Align(l)
		}
	}
}

func BenchmarkDecodeSocket(b *testing.B) {
	p, err := socketCases[3].s.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	var s sockdiag.Socket
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := s.UnmarshalBinary(p); err != nil {
			b.Fatal(err)
		}
	}
}
