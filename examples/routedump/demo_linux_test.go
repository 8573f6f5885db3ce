//go:build linux

package main

import (
	"context"
	"testing"
)

func TestDemoDumpsWhatItAdded(t *testing.T) {
	if err := runDemo(context.Background(), 5000); err != nil {
		t.Fatal(err)
	}
}
