package watch

import (
	"os"
	"strings"
)

// The tests check that the route table stores each route under its own
// key, as a store that derives its keys needs; benchmarks do not, since
// the check derives every key stored once more.
func init() {
	checkDerivedKeys = !slicesContainsPrefix(os.Args[1:], "-test.bench")
}

func slicesContainsPrefix(args []string, prefix string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, prefix) && !strings.HasPrefix(a, "-test.benchmem") && !strings.HasPrefix(a, "-test.benchtime") {
			return true
		}
	}
	return false
}
