//go:build linux

package nl_test

import (
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m) }
