package main

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Metric names shared by the scenarios.
const (
	mWall   = "wall_ms"
	mCPU    = "cpu_ms"
	mUser   = "user_ms"
	mSys    = "sys_ms"
	mAllocs = "allocs"
	mBytes  = "bytes"
	mItems  = "items"
	mRecvs  = "recvs"
	mMaxRSS = "maxrss_kib"
)

// rusageSelf returns the user and system CPU time of the whole process (all
// threads, so the garbage collector's work counts too).
func rusageSelf() (user, sys time.Duration) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// runResult is what an in-process implementation reports about one run.
// recvs < 0 means the receive syscalls could not be counted.
type runResult struct {
	items int
	recvs int
}

// measureInProc runs fn once and returns its wall time, the process's CPU
// time, and the allocations made, as deltas. The heap is collected and
// returned to the OS first, outside the timed region, so one
// implementation's garbage is not billed to the next and each run starts
// from the same cold heap.
func measureInProc(fn func() (runResult, error)) (sample, error) {
	runtime.GC()
	debug.FreeOSMemory()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	u0, s0 := rusageSelf()
	t0 := time.Now()
	res, err := fn()
	wall := time.Since(t0)
	u1, s1 := rusageSelf()
	runtime.ReadMemStats(&m1)
	if err != nil {
		return nil, err
	}
	smp := sample{
		mWall:   ms(wall),
		mUser:   ms(u1 - u0),
		mSys:    ms(s1 - s0),
		mCPU:    ms(u1 - u0 + s1 - s0),
		mAllocs: float64(m1.Mallocs - m0.Mallocs),
		mBytes:  float64(m1.TotalAlloc - m0.TotalAlloc),
		mItems:  float64(res.items),
		mRecvs:  math.NaN(),
	}
	if res.recvs >= 0 {
		smp[mRecvs] = float64(res.recvs)
	}
	return smp, nil
}

// measureProc runs cmd to completion and returns its wall time (start to
// exit, seen from here) and the child's own CPU time and peak RSS from
// wait4's rusage. It returns the child's standard output.
func measureProc(cmd *exec.Cmd) (sample, []byte, error) {
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	err := cmd.Wait()
	wall := time.Since(t0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	smp := procUsage(cmd.ProcessState)
	smp[mWall] = ms(wall)
	return smp, stdout.Bytes(), nil
}

// procUsage returns the CPU time and peak RSS of an exited child.
func procUsage(ps interface{ SysUsage() any }) sample {
	smp := sample{}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return smp
	}
	u := time.Duration(ru.Utime.Nano())
	s := time.Duration(ru.Stime.Nano())
	smp[mUser], smp[mSys], smp[mCPU] = ms(u), ms(s), ms(u+s)
	smp[mMaxRSS] = float64(ru.Maxrss)
	return smp
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
