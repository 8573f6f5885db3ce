//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

// lockedBuilder is a strings.Builder safe for one writer and one reader.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestManyCountsEachNamespace(t *testing.T) {
	nss := []*nstest.NS{nstest.New(t), nstest.New(t), nstest.New(t)}
	var paths []string
	for _, ns := range nss {
		ns.Veth("v0", "v1")
		paths = append(paths, ns.Path())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuilder
	done := make(chan error, 1)
	go func() { done <- many(ctx, &out, paths) }()
	// The watchers' events are hot: routes added before the merged stream
	// is attached are in the tables but not counted. So add one route a
	// round to each namespace until every namespace has a count.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		for _, ns := range nss {
			ns.IP("route", "add", fmt.Sprintf("198.51.%d.0/24", i), "dev", "v0")
		}
		all := true
		for _, p := range paths {
			all = all && strings.Contains(out.String(), p+": ")
		}
		if all {
			break
		}
		if time.Now().After(deadline) || i == 250 {
			t.Fatalf("after %d rounds, not every namespace has a count:\n%s", i+1, out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("many returned early: %v", err)
		case <-time.After(100 * time.Millisecond): // the pace of the rounds, not a wait for a result
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("many did not return 10 s after its context ended")
	}
}
