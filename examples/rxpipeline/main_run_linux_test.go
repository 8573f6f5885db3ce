//go:build linux

package main

import "testing"

func TestPipelineCountsEveryChange(t *testing.T) {
	if err := run(3000); err != nil {
		t.Fatal(err)
	}
}
