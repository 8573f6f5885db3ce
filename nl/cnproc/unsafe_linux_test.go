//go:build linux

package cnproc_test

import "unsafe"

// unsafePointer returns a pointer to a NUL-terminated copy of s, for
// prctl(PR_SET_NAME).
func unsafePointer(s string) unsafe.Pointer {
	b := append([]byte(s), 0)
	return unsafe.Pointer(&b[0])
}
