//go:build linux

package main

import (
	"context"
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }

func TestDemoSeesEveryEventWithALargeBuffer(t *testing.T) {
	r, err := runDemo(context.Background(), 2000, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	if r.gaps == 0 && (r.news != 2000 || r.destroys != 2000) {
		t.Fatalf("%v: events lost without a gap", r)
	}
	if r.news == 0 || r.destroys == 0 {
		t.Fatalf("%v: no events", r)
	}
}

func TestParseTypes(t *testing.T) {
	ts, err := parseTypes("new,DESTROY")
	if err != nil || len(ts) != 2 {
		t.Fatalf("parseTypes: %v, %v", ts, err)
	}
	if _, err := parseTypes("NEW,BOGUS"); err == nil {
		t.Fatal("parseTypes accepted BOGUS")
	}
}
