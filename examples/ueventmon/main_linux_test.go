//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// syncBuffer is the monitor's output; written says it grew.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.written <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMonitorPrintsVethEventsLikeUdevadm watches a private namespace,
// makes and deletes a veth pair there, and checks the printed lines and
// variables.
func TestMonitorPrintsVethEventsLikeUdevadm(t *testing.T) {
	ns := nstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := syncBuffer{written: make(chan struct{}, 1)}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- monitor(ctx, &out, config{netns: ns.Path(), property: true, subsystems: []string{"net"}}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	ns.IP("link", "add", "um0", "type", "veth", "peer", "name", "um1")
	ns.IP("link", "del", "um0")
	want := []string{
		" add      /devices/virtual/net/um0 (net)\n",
		" remove   /devices/virtual/net/um0 (net)\n",
		"INTERFACE=um1\n",
		"SUBSYSTEM=net\n",
	}
	for {
		s := out.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			if strings.Contains(s, "(queues)") {
				t.Errorf("-subsystem-match net printed a queues event:\n%s", s)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("monitor ended (%v) before printing %q; printed:\n%s", err, missing, s)
		case <-out.written:
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("monitor returned %v after its context ended, want context.Canceled", err)
	}
}
