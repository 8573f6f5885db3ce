//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
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

// TestMonitorPrintsAChildsForkExecAndExit runs a shell that exits with 3
// and checks forkstat's lines for it.
func TestMonitorPrintsAChildsForkExecAndExit(t *testing.T) {
	if nstest.InUserNS() || os.Geteuid() != 0 {
		t.Skip("process events need root (CAP_NET_ADMIN) in the initial user and PID namespaces")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to run as the child: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := syncBuffer{written: make(chan struct{}, 1)}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- monitor(ctx, &out, 0, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", "exit 3")
	if err := cmd.Run(); cmd.ProcessState == nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	want := []*regexp.Regexp{
		regexp.MustCompile(fmt.Sprintf(`(?m)^\S+ +fork +%d parent %d `, pid, os.Getpid())),
		regexp.MustCompile(fmt.Sprintf(`(?m)^\S+ +exec +%d `, pid)),
		regexp.MustCompile(fmt.Sprintf(`(?m)^\S+ +exit +%d 3 +\d+\.\d{3}s`, pid)),
	}
	for {
		s := out.String()
		var missing *regexp.Regexp
		for _, re := range want {
			if !re.MatchString(s) {
				missing = re
				break
			}
		}
		if missing == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("monitor ended (%v) before printing %v", err, missing)
		case <-out.written:
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("monitor returned %v after its context ended, want context.Canceled", err)
	}
}

func TestParseEvents(t *testing.T) {
	if w, err := parseEvents("fork,exit"); err != nil || w != kinds["fork"]|kinds["exit"] {
		t.Errorf("fork,exit = %v, %v", w, err)
	}
	if w, err := parseEvents("all"); err != nil || w != 0 {
		t.Errorf("all = %v, %v", w, err)
	}
	if _, err := parseEvents("forks"); err == nil {
		t.Error("an unknown event name is accepted")
	}
}
