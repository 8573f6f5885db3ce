//go:build linux

package main

import (
	"context"
	"testing"
	"time"
)

// The README's first command, at a smaller size: the watched table must
// equal the kernel's at the end.
func TestDemoEndsWithTheKernelsTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := runDemo(ctx, 20_000); err != nil {
		t.Fatal(err)
	}
}
