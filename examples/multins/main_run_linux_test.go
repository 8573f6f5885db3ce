//go:build linux

package main

import "testing"

func TestEveryNamespaceConverges(t *testing.T) {
	if err := run(8, 200); err != nil {
		t.Fatal(err)
	}
}
