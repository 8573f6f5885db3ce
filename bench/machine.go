package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPU         string `json:"cpu"`
	Cores       int    `json:"cores"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	Memory      string `json:"memory"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"go_version"`
	IPVersion   string `json:"ip_version"`
	RmemDefault string `json:"rmem_default"`
	RmemMax     string `json:"rmem_max"`
	Privilege   string `json:"privilege"`
	LoadStart   string `json:"loadavg_start"`
	LoadEnd     string `json:"loadavg_end"`
	// Source is the nlrx commit measured (bench replaces the module with
	// the checkout it sits in), and whether the checkout had changes.
	Source string `json:"source"`
}

func describeMachine() Machine {
	m := Machine{
		CPU:         "unknown CPU",
		Cores:       runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		GoVersion:   runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		RmemDefault: readTrim("/proc/sys/net/core/rmem_default"),
		RmemMax:     readTrim("/proc/sys/net/core/rmem_max"),
		Privilege:   privilege(),
		LoadStart:   loadavg(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.Memory = fmt.Sprintf("%.0f GiB", float64(si.Totalram)*float64(si.Unit)/(1<<30))
	}
	if out, err := exec.Command("ip", "-V").Output(); err == nil {
		m.IPVersion = strings.TrimSpace(string(out))
	} else {
		m.IPVersion = "ip(8) not found"
	}
	m.Source = sourceState()
	return m
}

// sourceState names the commit of the checkout the harness was built from,
// noting uncommitted changes outside bench/ (they are measured too).
func sourceState() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	src := "commit " + strings.TrimSpace(string(out))
	st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ":/", ":(exclude,top)bench").Output()
	if err == nil {
		if n := strings.Count(string(st), "\n"); n > 0 {
			src += fmt.Sprintf(" plus uncommitted changes to %d tracked files outside bench/ (measured as they were)", n)
		}
	}
	return src
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// loadavg returns the 1-minute load average.
func loadavg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) == 0 {
		return "?"
	}
	if v, err := strconv.ParseFloat(f[0], 64); err == nil {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return f[0]
}
