package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// progress draws a progress bar on stderr: redrawn in place on a terminal,
// one line per tenth of a scenario otherwise (so CI logs stay short).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	scenario string
	done     int
	total    int
	lastTen  int
	start    time.Time
	drawn    bool
}

func newProgress(w io.Writer, fd int) *progress {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return &progress{w: w, tty: err == nil}
}

// begin starts the bar for a scenario of total steps.
func (p *progress) begin(scenario string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil {
		return
	}
	p.clear()
	p.scenario, p.done, p.total, p.lastTen, p.start = scenario, 0, max(total, 1), -1, time.Now()
	p.draw("setup")
}

// setTotal changes the number of steps once a scenario knows it.
func (p *progress) setTotal(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = max(total, 1)
}

// step marks one step done and shows what runs next.
func (p *progress) step(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = min(p.done+1, p.total)
	p.draw(label)
}

// status shows label without counting a step.
func (p *progress) status(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(label)
}

// warn prints a message on its own line, keeping the bar below it.
func (p *progress) warn(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "bench: %s: %s\n", p.scenario, fmt.Sprintf(format, args...))
}

// end finishes the scenario's bar.
func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil {
		return
	}
	p.clear()
	fmt.Fprintf(p.w, "bench: %s done in %.1f s\n", p.scenario, time.Since(p.start).Seconds())
}

func (p *progress) clear() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.drawn = false
}

func (p *progress) draw(label string) {
	if p.w == nil {
		return
	}
	const width = 30
	filled := width * p.done / p.total
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	line := fmt.Sprintf("%-6s [%s] %3d%% %4.0fs  %s", p.scenario, bar, 100*p.done/p.total, time.Since(p.start).Seconds(), label)
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.drawn = true
		return
	}
	if ten := 10 * p.done / p.total; ten != p.lastTen {
		p.lastTen = ten
		fmt.Fprintln(p.w, line)
	}
}
