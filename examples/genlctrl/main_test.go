//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/genl"
)

// TestMain runs the tests in a private network namespace as any user (see
// nstest) and fails on leaked goroutines.
func TestMain(m *testing.M) { nstest.Main(m) }

var (
	reName = regexp.MustCompile(`^Name: (\S+)`)
	reID   = regexp.MustCompile(`ID: 0x([0-9a-f]+)\s+Version: 0x([0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)`)
	reItem = regexp.MustCompile(`^\s*#\d+:\s+ID-0x([0-9a-f]+)(?:\s+name: (\S+))?`)
	reCaps = regexp.MustCompile(`Capabilities \(0x([0-9a-f]+)\)`)
)

// family is what both genl ctrl list and genlctrl print of a family.
type family struct {
	name, id, version, hdrsize, maxattr string
	ops, caps, groups                   []string
}

func (f family) String() string {
	return fmt.Sprintf("%s id=%s version=%s hdrsize=%s maxattr=%s ops=%v groups=%v", f.name, f.id, f.version, f.hdrsize,
		f.maxattr, f.ops, f.groups)
}

// parseList reads the `genl ctrl list` layout. caps holds each printed
// Capabilities value, by operation id.
func parseList(out []byte) []family {
	var fams []family
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		var f *family
		if len(fams) > 0 {
			f = &fams[len(fams)-1]
		}
		switch m := reItem.FindStringSubmatch(line); {
		case reName.MatchString(line):
			fams = append(fams, family{name: reName.FindStringSubmatch(line)[1]})
			section = ""
		case f == nil:
		case reID.MatchString(line):
			m := reID.FindStringSubmatch(line)
			f.id, f.version, f.hdrsize, f.maxattr = m[1], m[2], m[3], m[4]
		case strings.Contains(line, "commands supported"):
			section = "ops"
		case strings.Contains(line, "multicast groups"):
			section = "groups"
		case m != nil && section == "ops":
			f.ops = append(f.ops, m[1])
		case m != nil && section == "groups":
			f.groups = append(f.groups, m[1]+"="+m[2])
		case reCaps.MatchString(line) && len(f.ops) > 0:
			f.caps = append(f.caps, f.ops[len(f.ops)-1]+"="+reCaps.FindStringSubmatch(line)[1])
		}
	}
	return fams
}

func TestFamilyListMatchesTheKernel(t *testing.T) {
	ns := nstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-netns", ns.Path()}, &out); err != nil {
		t.Fatal(err)
	}
	got := parseList(out.Bytes())
	if len(got) == 0 || got[0].name != "nlctrl" || got[0].id != "10" {
		t.Fatalf("first family %v, want nlctrl with id 0x10\n%s", got, out.Bytes())
	}
	if _, err := exec.LookPath("genl"); err != nil {
		t.Skip("genl (iproute2) not found: checked nlctrl only")
	}
	genlOut, err := ns.Cmd("genl", "ctrl", "list").Output()
	if err != nil {
		t.Fatalf("genl ctrl list: %v", err)
	}
	want := parseList(genlOut)
	if !slices.EqualFunc(got, want, func(a, b family) bool { return a.String() == b.String() }) {
		t.Fatalf("genlctrl's families differ from genl ctrl list's:\n got  %v\n want %v", got, want)
	}
	// Where genl prints an operation's capabilities, they agree.
	caps := 0
	for i := range want {
		for _, c := range want[i].caps {
			caps++
			if !slices.Contains(got[i].caps, c) {
				t.Errorf("%s: genl shows capabilities %s; genlctrl %v", want[i].name, c, got[i].caps)
			}
		}
	}
	if caps == 0 {
		t.Error("genl showed no capabilities to compare")
	}
	t.Logf("%d families and %d capability sets equal to genl ctrl list", len(got), caps)
}

func TestBriefAndJSONAndOneFamily(t *testing.T) {
	ns := nstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var brief bytes.Buffer
	if err := run(ctx, []string{"-netns", ns.Path(), "-brief"}, &brief); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(brief.String(), "\n")
	if f := strings.Fields(first); len(f) < 9 || f[0] != "nlctrl" || f[2] != "0x10" || f[6] != "2" || f[8] != "notify(0x10)" {
		t.Errorf("brief line %q", first)
	}

	var js bytes.Buffer
	if err := run(ctx, []string{"-netns", ns.Path(), "-json", "nlctrl"}, &js); err != nil {
		t.Fatal(err)
	}
	var f genl.Family
	if err := json.Unmarshal(js.Bytes(), &f); err != nil {
		t.Fatalf("%v: %s", err, js.Bytes())
	}
	if f.Name != "nlctrl" || f.ID != genl.ControllerID || len(f.Groups) != 1 {
		t.Errorf("-json nlctrl: %+v", f)
	}

	if err := run(ctx, []string{"-netns", ns.Path(), "no-such-family"}, &js); err == nil ||
		!strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing family: %v, want ENOENT", err)
	}
	if err := run(ctx, []string{"-nosuchflag"}, &js); err == nil {
		t.Error("unknown flag accepted")
	}
}
