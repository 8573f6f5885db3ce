//go:build linux

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

func TestDumpPrintsWhatIPShows(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ns.IP("route", "add", "198.51.100.0/24", "dev", "v0")
	ns.IP("route", "add", "blackhole", "203.0.113.0/24", "table", "7")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out strings.Builder
	if err := dump(ctx, &out, ns.Path()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"198.51.100.0/24 dev ", "blackhole 203.0.113.0/24", "table 7"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n, m := strings.Count(out.String(), "\n"), strings.Count(ns.IP("route", "show", "table", "all"), "\n"); n != m {
		t.Errorf("%d routes printed, ip route show table all lists %d:\n%s", n, m, out.String())
	}
}
