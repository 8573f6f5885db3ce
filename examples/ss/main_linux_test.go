//go:build linux

package main

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, strings.Join(f, " "))
		}
	}
	slices.Sort(out)
	return out
}

// TestOutputMatchesSS opens sockets in a private namespace and compares
// this command's lines with ss's, for the same options and filter.
func TestOutputMatchesSS(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatal("ss (iproute2) is not installed: the test compares with it")
	}
	ns := nstest.New(t)
	var closers []interface{ Close() error }
	t.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
	})
	sock := filepath.Join(t.TempDir(), "s")
	err := ns.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(false)
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:8080")
		if err != nil {
			return err
		}
		closers = append(closers, l)
		c, err := net.Dial("tcp", "127.0.0.1:8080")
		if err != nil {
			return err
		}
		closers = append(closers, c)
		l6, err := lc.Listen(context.Background(), "tcp", "[::]:9090")
		if err != nil {
			return err
		}
		closers = append(closers, l6)
		u, err := net.ListenPacket("udp", "127.0.0.1:5353")
		if err != nil {
			return err
		}
		closers = append(closers, u)
		ul, err := net.Listen("unix", sock)
		if err != nil {
			return err
		}
		closers = append(closers, ul)
		uc, err := net.Dial("unix", sock)
		closers = append(closers, uc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    options
		args []string
	}{
		{options{tcp: true, all: true}, []string{"-tan"}},
		{options{tcp: true, udp: true, unix: true, all: true}, []string{"-tuxan"}},
		{options{all: true}, []string{"-tuxan"}},
		{options{tcp: true, udp: true, listening: true}, []string{"-tuln"}},
		{options{tcp: true}, []string{"-tn", "state", "connected"}},
		{options{tcp: true, all: true, v6: true}, []string{"-tan6"}},
		{options{tcp: true, all: true, filter: "sport = :8080 or dport = :8080"}, []string{"-tan", "sport = :8080 or dport = :8080"}},
	} {
		var b strings.Builder
		o := tc.o
		o.noHeader = true
		o.netns = ns.Path()
		if err := run(context.Background(), &b, o); err != nil {
			t.Fatal(err)
		}
		cmd := ns.Cmd("ss", append([]string{"-H"}, tc.args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ss %v: %v", tc.args, err)
		}
		want := lines(string(out))
		// ss leaves out the netid column when it lists one protocol.
		if tc.o.tcp && !tc.o.udp && !tc.o.unix {
			for i := range want {
				want[i] = "tcp " + want[i]
			}
		}
		if got := lines(b.String()); !slices.Equal(got, want) {
			t.Errorf("%+v against ss %v:\n got %q\nwant %q", tc.o, tc.args, got, want)
		}
	}
}
