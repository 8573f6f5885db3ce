//go:build unix

package operators_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used,
// all threads together: on a shared machine it is a steadier measure than
// wall time, which counts the time other processes held the CPU.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
