//go:build linux

package conntrack_test

import "os"

func writeFile(path, value string) error {
	return os.WriteFile(path, []byte(value), 0o644)
}
