//go:build linux

package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// lines is an io.Writer that hands each line written to a channel.
type lines chan string

func (l lines) Write(b []byte) (int, error) {
	for _, s := range strings.SplitAfter(string(b), "\n") {
		if s != "" {
			l <- s
		}
	}
	return len(b), nil
}

// next waits for a line containing want, for at most 10 seconds.
func (l lines) next(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-l:
			if strings.Contains(s, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q in 10 s", want)
		}
	}
}

func TestLivePrintsSnapshotThenChanges(t *testing.T) {
	ns := nstest.New(t)
	ns.Veth("v0", "v1")
	ctx, cancel := context.WithCancel(context.Background())
	out := make(lines, 64)
	done := make(chan error, 1)
	go func() { done <- live(ctx, out, ns.Path()) }()
	out.next(t, "live from here")
	ns.IP("route", "add", "198.51.100.0/24", "dev", "v0")
	out.next(t, "added 198.51.100.0/24 dev ")
	ns.IP("route", "replace", "198.51.100.0/24", "dev", "v0", "metric", "0", "mtu", "1400")
	out.next(t, "changed 198.51.100.0/24 dev ")
	ns.IP("route", "del", "198.51.100.0/24")
	out.next(t, "deleted 198.51.100.0/24 dev ")
	cancel()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case <-out: // a subscriber writing keeps going until it returns
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			return
		case <-timeout:
			t.Fatal("live did not return 10 s after its context ended")
		}
	}
}
