//go:build linux

package uevent_test

import (
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }
