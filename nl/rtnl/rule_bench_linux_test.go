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

// benchRules is the number of IPv4 rules BenchmarkRuleDump adds.
const benchRules = 5_000

// rawRuleDump is the floor for rules: one RTM_GETRULE dump on a plain
// socket, walking the message headers of what comes back.
func rawRuleDump(fd int, buf []byte, seq uint32) (int, error) {
	req := make([]byte, unix.SizeofNlMsghdr+12) // struct fib_rule_hdr
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETRULE)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], seq)
	req[16] = unix.AF_INET
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	rules := 0
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return rules, err
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			switch binary.NativeEndian.Uint16(b[4:6]) {
			case unix.NLMSG_DONE:
				return rules, nil
			case unix.NLMSG_ERROR:
				return rules, fmt.Errorf("NLMSG_ERROR in dump")
			case unix.RTM_NEWRULE:
				rules++
			}
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return rules, fmt.Errorf("bad message length %d", l)
			}
			b = b[(l+3)&^3:]
		}
	}
}

// BenchmarkRuleDump dumps 5,000 IPv4 rules of several shapes (and the
// three default ones) with the raw floor and with rtnl.AppendRules into a
// reused slice; "interleaved" alternates the two and reports nlrx/raw.
func BenchmarkRuleDump(b *testing.B) {
	ns := nstest.New(b)
	lines := make([]string, 0, benchRules)
	for i := range benchRules {
		sel := []string{
			fmt.Sprintf("from 10.%d.%d.0/24", i>>8, i&0xff),
			fmt.Sprintf("fwmark %#x/0xffff", i),
			fmt.Sprintf("iif v%d", i),
			fmt.Sprintf("ipproto tcp dport %d", 1+i),
		}[i%4]
		lines = append(lines, fmt.Sprintf("rule add pref %d %s table %d", 1000+i, sel, 100+i%50))
	}
	ns.Batch(lines)
	want := benchRules + 3

	var fd int
	if err := ns.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	}); err != nil {
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
		if n, err := rawRuleDump(fd, buf, seq); err != nil || n != want {
			b.Fatalf("raw dump saw %d rules (want %d): %v", n, want, err)
		}
	}
	c := ns.Dial()
	ctx := context.Background()
	f := rtnl.RuleFilter{Family: rtnl.FamilyInet}
	var rules []rtnl.Rule
	nlrx := func(b *testing.B) {
		var err error
		if rules, err = rtnl.AppendRules(ctx, c, rules[:0], f); err != nil || len(rules) != want {
			b.Fatalf("rtnl saw %d rules (want %d): %v", len(rules), want, err)
		}
	}
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw(b)
		}
	})
	b.Run("nlrx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			nlrx(b)
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		var rawTime, nlrxTime time.Duration
		for b.Loop() {
			t0 := time.Now()
			raw(b)
			t1 := time.Now()
			nlrx(b)
			rawTime += t1.Sub(t0)
			nlrxTime += time.Since(t1)
		}
		b.ReportMetric(float64(nlrxTime)/float64(rawTime), "nlrx/raw")
	})
}

// BenchmarkRuleDecode decodes the kernel's form of a source rule
// (fib_rule_hdr, FRA_TABLE, FRA_PRIORITY, FRA_SRC, FRA_PROTOCOL).
func BenchmarkRuleDecode(b *testing.B) {
	r := rtnl.Rule{Family: rtnl.FamilyInet, Priority: 100, Src: pfx("10.1.0.0/16"), Table: 100, Action: rtnl.RuleActionTable, Protocol: rtnl.ProtoStatic}
	msg, err := r.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var got rtnl.Rule
	for b.Loop() {
		if err := got.UnmarshalBinary(msg); err != nil {
			b.Fatal(err)
		}
	}
}
