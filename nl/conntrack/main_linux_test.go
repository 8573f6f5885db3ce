//go:build linux

package conntrack_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/conntrack"
	"golang.org/x/sys/unix"
)

// TestMain runs the tests in private network namespaces (re-executing the
// binary in a user namespace when not root) and fails on leaked goroutines.
func TestMain(m *testing.M) { nstest.Main(m) }

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dial opens a ctnetlink socket in ns, closed when the test ends; it skips
// the test if the kernel has no ctnetlink.
func dial(t *testing.T, ns *nstest.NS, opts ...nl.Option) *nl.Conn {
	t.Helper()
	c, err := conntrack.Dial(append([]nl.Option{nl.WithNetNS(ns.Path())}, opts...)...)
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Skipf("no NETLINK_NETFILTER in this kernel (CONFIG_NETFILTER_NETLINK): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := conntrack.List(testCtx(t), c, conntrack.Filter{}); errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) {
		t.Skipf("no ctnetlink in this kernel (CONFIG_NF_CT_NETLINK): %v", err)
	}
	return c
}

// needConntrackTool fails the test if conntrack(8) (conntrack-tools) or
// nsenter is missing: the tests compare with what conntrack reports.
func needConntrackTool(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("conntrack"); err != nil {
		t.Fatal("conntrack (conntrack-tools) is not installed: the tests compare with it (apt-get install conntrack; .ci/run installs it)")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Fatal("nsenter (util-linux) is not installed: the tests run conntrack in the namespace with it")
	}
}

// conntrackCmd runs conntrack(8) with args in ns and returns its standard
// output.
func conntrackCmd(t *testing.T, ns *nstest.NS, args ...string) string {
	t.Helper()
	cmd := ns.Cmd("conntrack", args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("conntrack %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// conntrackList returns what conntrack -L -o extended,id lists in ns
// (with args added, as filters), one line per flow in the form of
// flowLine. (Its XML output leaves out ICMP types and ids.)
func conntrackList(t *testing.T, ns *nstest.NS, args ...string) []string {
	t.Helper()
	out := conntrackCmd(t, ns, append([]string{"-L", "-o", "extended,id"}, args...)...)
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		lines = append(lines, parseConntrackLine(t, line))
	}
	slices.Sort(lines)
	return lines
}

// parseConntrackLine turns one line of conntrack -L -o extended,id into
// the form of flowLine.
func parseConntrackLine(t *testing.T, line string) string {
	t.Helper()
	fs := strings.Fields(line)
	if len(fs) < 5 {
		t.Fatalf("conntrack -L line %q: too short", line)
	}
	fam, proto := fs[0], fs[3]
	type dir struct{ src, dst, sport, dport, typ, code, icmpID, zone, packets, bytes string }
	var d [2]dir
	n := -1
	zone, mark, id := "0", "0", ""
	var flags []string
	afterUse := false
	for _, f := range fs[5:] {
		switch f {
		case "[UNREPLIED]":
			flags = append(flags, "unreplied")
			continue
		case "[ASSURED]":
			flags = append(flags, "assured")
			continue
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue // a TCP state, [OFFLOAD] …
		}
		if k == "src" {
			n++
		}
		if n < 0 || n > 1 {
			t.Fatalf("conntrack -L line %q: unexpected %q", line, f)
		}
		switch k {
		case "src":
			d[n].src = v
		case "dst":
			d[n].dst = v
		case "sport":
			d[n].sport = v
		case "dport":
			d[n].dport = v
		case "type":
			d[n].typ = v
		case "code":
			d[n].code = v
		case "packets":
			d[n].packets = v
		case "bytes":
			d[n].bytes = v
		case "zone-orig":
			d[0].zone = v
		case "zone-reply":
			d[1].zone = v
		case "mark":
			mark = v
		case "zone":
			zone = v
		case "use":
			afterUse = true
		case "id":
			if afterUse {
				id = v
			} else {
				d[n].icmpID = v
			}
		}
	}
	var b strings.Builder
	for _, x := range d {
		fmt.Fprintf(&b, "%s %s>%s %s", fam, x.src, x.dst, proto)
		if x.sport != "" {
			fmt.Fprintf(&b, " %s>%s", x.sport, x.dport)
		}
		if x.typ != "" {
			fmt.Fprintf(&b, " t%s c%s i%s", x.typ, x.code, x.icmpID)
		}
		if x.zone != "" {
			fmt.Fprintf(&b, " z%s", x.zone)
		}
		if x.packets != "" {
			fmt.Fprintf(&b, " p%s b%s", x.packets, x.bytes)
		}
		b.WriteString(" | ")
	}
	slices.Sort(flags)
	fmt.Fprintf(&b, "zone=%s mark=%s id=%s", zone, mark, id)
	for _, f := range flags {
		b.WriteString(" " + f)
	}
	return b.String()
}

func tupleLine(b *strings.Builder, fam conntrack.Family, t *conntrack.Tuple, c conntrack.Counters) {
	fmt.Fprintf(b, "%s %s>%s %d", fam, t.Src, t.Dst, t.Proto)
	switch t.Proto {
	case conntrack.ProtoICMP, conntrack.ProtoICMPv6:
		fmt.Fprintf(b, " t%d c%d i%d", t.ICMPType, t.ICMPCode, t.ICMPID)
	case conntrack.ProtoTCP, conntrack.ProtoUDP, conntrack.ProtoSCTP, conntrack.ProtoDCCP, conntrack.ProtoUDPLite:
		fmt.Fprintf(b, " %d>%d", t.SrcPort, t.DstPort)
	}
	if t.Zone != 0 {
		fmt.Fprintf(b, " z%d", t.Zone)
	}
	if c != (conntrack.Counters{}) {
		fmt.Fprintf(b, " p%d b%d", c.Packets, c.Bytes)
	}
	b.WriteString(" | ")
}

// flowLine is the form of conntrackList for a flow of the package.
func flowLine(f *conntrack.Flow) string {
	var b strings.Builder
	tupleLine(&b, f.Family, &f.Orig, f.CountersOrig)
	tupleLine(&b, f.Family, &f.Reply, f.CountersReply)
	fmt.Fprintf(&b, "zone=%d mark=%d id=%d", f.Zone, f.Mark, f.ID)
	if f.Status&conntrack.StatusAssured != 0 {
		b.WriteString(" assured")
	}
	if f.Status&conntrack.StatusSeenReply == 0 {
		b.WriteString(" unreplied")
	}
	return b.String()
}

func flowLines(fs []conntrack.Flow) []string {
	lines := make([]string, 0, len(fs))
	for i := range fs {
		lines = append(lines, flowLine(&fs[i]))
	}
	slices.Sort(lines)
	return lines
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %d flows\n  %s\nwant %d\n  %s", what, len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

func udp(src, dst string, sport, dport uint16) conntrack.Flow {
	return conntrack.Flow{
		Orig:    conntrack.Tuple{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: conntrack.ProtoUDP, SrcPort: sport, DstPort: dport},
		Timeout: 120,
	}
}

func tcp(src, dst string, sport, dport uint16) conntrack.Flow {
	return conntrack.Flow{
		Orig:    conntrack.Tuple{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: conntrack.ProtoTCP, SrcPort: sport, DstPort: dport},
		Timeout: 120,
		TCP:     conntrack.TCPInfo{State: conntrack.TCPEstablished},
	}
}

// sysctl writes a net.netfilter sysctl of ns.
func sysctl(t *testing.T, ns *nstest.NS, name, value string) {
	t.Helper()
	err := ns.Do(func() error {
		return writeFile("/proc/sys/net/netfilter/"+name, value)
	})
	if err != nil {
		t.Skipf("sysctl net.netfilter.%s: %v", name, err)
	}
}
