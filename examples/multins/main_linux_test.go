//go:build linux

package main

import (
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }
