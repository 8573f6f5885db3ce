//go:build linux

package genl_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/genl"
	"golang.org/x/sys/unix"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, ns *nstest.NS, opts ...nl.Option) *nl.Conn {
	t.Helper()
	c, err := genl.Dial(append([]nl.Option{nl.WithNetNS(ns.Path())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	reName   = regexp.MustCompile(`^Name: (\S+)`)
	reID     = regexp.MustCompile(`ID: 0x([0-9a-f]+)\s+Version: 0x([0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)`)
	reItem   = regexp.MustCompile(`^\s*#\d+:\s+ID-0x([0-9a-f]+)(?:\s+name: (\S+))?`)
	reCaps   = regexp.MustCompile(`Capabilities \(0x([0-9a-f]+)\)`)
	hexValue = func(s string) uint64 { v, _ := strconv.ParseUint(s, 16, 32); return v }
)

// unknownFlags marks operations whose flags genl did not print (it prints
// them only for families of version 2 and up).
const unknownFlags = ^uint32(0)

// parseGenlList reads the output of `genl ctrl list` (iproute2).
func parseGenlList(t *testing.T, out []byte) []genl.Family {
	t.Helper()
	var fams []genl.Family
	var f *genl.Family
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case reName.MatchString(line):
			fams = append(fams, genl.Family{Name: reName.FindStringSubmatch(line)[1]})
			f = &fams[len(fams)-1]
			section = ""
		case f == nil:
		case reID.MatchString(line):
			m := reID.FindStringSubmatch(line)
			f.ID, f.Version = uint16(hexValue(m[1])), uint32(hexValue(m[2]))
			hs, _ := strconv.Atoi(m[3])
			ma, _ := strconv.Atoi(m[4])
			f.HeaderSize, f.MaxAttr = uint32(hs), uint32(ma)
		case strings.Contains(line, "commands supported"):
			section = "ops"
		case strings.Contains(line, "multicast groups"):
			section = "groups"
		case reItem.MatchString(line) && section == "ops":
			f.Ops = append(f.Ops, genl.Op{ID: uint32(hexValue(reItem.FindStringSubmatch(line)[1])), Flags: unknownFlags})
		case reItem.MatchString(line) && section == "groups":
			m := reItem.FindStringSubmatch(line)
			f.Groups = append(f.Groups, genl.MulticastGroup{ID: uint32(hexValue(m[1])), Name: m[2]})
		case reCaps.MatchString(line) && section == "ops" && len(f.Ops) > 0:
			f.Ops[len(f.Ops)-1].Flags = uint32(hexValue(reCaps.FindStringSubmatch(line)[1]))
		}
	}
	return fams
}

// familyLine renders what genl ctrl list shows of a family.
func familyLine(f genl.Family) string {
	return fmt.Sprintf("%s id=%#x version=%d hdrsize=%d maxattr=%d ops=%v groups=%v", f.Name, f.ID, f.Version, f.HeaderSize,
		f.MaxAttr, f.Ops, f.Groups)
}

func genlList(t *testing.T, ns *nstest.NS) []genl.Family {
	t.Helper()
	if _, err := exec.LookPath("genl"); err != nil {
		return nil
	}
	out, err := ns.Cmd("genl", "ctrl", "list").Output()
	if err != nil {
		t.Fatalf("genl ctrl list: %v", err)
	}
	return parseGenlList(t, out)
}

func TestListFamiliesMatchesGenlCtrlList(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	fams, err := genl.ListFamilies(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fams {
		got = append(got, familyLine(f))
	}
	want := genlList(t, ns)
	if want == nil {
		// Without iproute2's genl, check the family every kernel has.
		if len(fams) == 0 || fams[0].Name != "nlctrl" || fams[0].ID != genl.ControllerID {
			t.Fatalf("first family %v, want nlctrl with id 0x10", fams)
		}
		t.Skip("genl (iproute2) not found: checked nlctrl only")
	}
	var wantLines []string
	for i, f := range want {
		for j, op := range f.Ops {
			if op.Flags == unknownFlags && i < len(fams) && j < len(fams[i].Ops) && fams[i].Ops[j].ID == op.ID {
				f.Ops[j].Flags = fams[i].Ops[j].Flags // not printed: take ours
			}
		}
		wantLines = append(wantLines, familyLine(f))
	}
	if !slices.Equal(got, wantLines) {
		t.Fatalf("families differ from genl ctrl list:\n got:\n  %s\n genl:\n  %s", strings.Join(got, "\n  "), strings.Join(wantLines, "\n  "))
	}
	t.Logf("%d families, all equal to genl ctrl list", len(fams))

	// GetFamily finds each of them alike.
	for _, f := range fams {
		g, err := genl.GetFamily(ctx, c, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if familyLine(g) != familyLine(f) {
			t.Errorf("GetFamily(%q) = %s; the dump had %s", f.Name, familyLine(g), familyLine(f))
		}
	}
}

func TestGetFamilyOfTheController(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	f, err := genl.GetFamily(testCtx(t), c, "nlctrl")
	if err != nil {
		t.Fatal(err)
	}
	getFamily := slices.IndexFunc(f.Ops, func(o genl.Op) bool { return o.ID == uint32(genl.CmdGetFamily) })
	if f.ID != genl.ControllerID || f.Version < 1 || getFamily < 0 ||
		f.Ops[getFamily].Flags&(genl.OpCanDo|genl.OpCanDump) != genl.OpCanDo|genl.OpCanDump {
		t.Errorf("nlctrl: %+v", f)
	}
	if g, ok := f.Group("notify"); !ok || g.ID != uint32(genl.ControllerID) {
		t.Errorf("nlctrl's notify group: %+v, %v", g, ok)
	}
	if s := f.Ops[getFamily].String(); s != "0x3 (can doit; can dumpit; has policy)" {
		t.Errorf("Op.String() = %q", s)
	}
}

func TestGenlErrorsCarryErrno(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	ctx := testCtx(t)
	_, err := genl.GetFamily(ctx, c, "no-such-family")
	var ne *nl.Error
	if !errors.Is(err, unix.ENOENT) || !errors.As(err, &ne) {
		t.Errorf("missing family: %v, want an *nl.Error with ENOENT", err)
	}
	if _, err := genl.JoinGroup(ctx, c, "no-such-family", "x"); !errors.Is(err, unix.ENOENT) {
		t.Errorf("JoinGroup of a missing family: %v, want ENOENT", err)
	}
	if _, err := genl.JoinGroup(ctx, c, "nlctrl", "no-such-group"); err == nil || !strings.Contains(err.Error(), `"notify"`) {
		t.Errorf("JoinGroup of a missing group: %v, want an error naming the groups there are", err)
	}
	// A command the controller does not have: EOPNOTSUPP from the kernel.
	_, err = c.Execute(ctx, genl.NewRequest(genl.ControllerID, 0, genl.Header{Command: 99, Version: 1}, nil))
	if !errors.Is(err, unix.EOPNOTSUPP) || !errors.As(err, &ne) {
		t.Errorf("unknown command: %v, want an *nl.Error with EOPNOTSUPP", err)
	}
	// The socket still works.
	if _, err := genl.GetFamily(ctx, c, "nlctrl"); err != nil {
		t.Fatal(err)
	}
}

func TestJoinGroupByName(t *testing.T) {
	ns := nstest.New(t)
	c := dial(t, ns)
	g, err := genl.JoinGroup(testCtx(t), c, "nlctrl", "notify")
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.Groups()
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "notify" || !slices.Contains(groups, g.ID) {
		t.Errorf("joined %+v; socket groups %v", g, groups)
	}
}

func TestFamilyLookupsLeakNoFileDescriptors(t *testing.T) {
	ns := nstest.New(t)
	ctx := testCtx(t)
	before := nstest.OpenFDs(t)
	for range 5 {
		c, err := genl.Dial(nl.WithNetNS(ns.Path()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := genl.ListFamilies(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := genl.JoinGroup(ctx, c, "nlctrl", "notify"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if after := nstest.OpenFDs(t); after != before {
		t.Errorf("%d open file descriptors after, %d before", after, before)
	}
}

// TestWriteFuzzCorpus captures the kernel's controller messages (every
// family a fresh network namespace shows) and writes them as
// seed corpus files under testdata/fuzz. It runs only when
// NLRX_WRITE_CORPUS=1:
//
//	NLRX_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./nl/genl/
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("NLRX_WRITE_CORPUS") != "1" {
		t.Skip("set NLRX_WRITE_CORPUS=1 to rewrite the seed corpus from the kernel")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeFamily")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ns := nstest.New(t)
	c := dial(t, ns)
	ms, err := c.Execute(testCtx(t), genl.NewRequest(genl.ControllerID, nl.FlagDump, genl.Header{Command: genl.CmdGetFamily, Version: 2}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		sum := sha256.Sum256(m.Data)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", m.Data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kernel-%x", sum[:8])), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d seeds", len(ms))
}
