//go:build linux

package genl_test

import (
	"testing"

	"github.com/nlrx/nlrx/internal/nstest"
)

// TestMain runs the tests in private network namespaces (re-executing the
// binary in a user namespace when not root) and fails on leaked goroutines.
func TestMain(m *testing.M) { nstest.Main(m) }
