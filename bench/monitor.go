package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clkTck = 100

// monitor is a running gohogs or nethogs.
type monitor struct {
	Tool     string // "gohogs" or "nethogs"
	ctx      context.Context
	cmd      *exec.Cmd
	mu       sync.Mutex
	lines    []line
	nRefresh int // "Refreshing:" lines in lines
	changed  changes
	stderr   *output
	done     chan struct{}
	err      error
}

// startMonitor runs bin with args inside namespace ns ("" for the current
// one) and collects its stdout lines with their arrival times.
func startMonitor(ctx context.Context, cl *cleanups, tool, ns, bin string, args ...string) (*monitor, error) {
	var cmd *exec.Cmd
	if ns == "" {
		cmd = exec.Command(bin, args...)
	} else {
		cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	}
	m := &monitor{Tool: tool, ctx: ctx, cmd: cmd, stderr: &output{}, done: make(chan struct{})}
	cmd.Stderr = m.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s stdout: %w", tool, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", tool, err)
	}
	cl.add(func() { m.stop() })
	ch := make(chan line, 1024)
	go readLines(out, 2_000_000, ch)
	go func() {
		for l := range ch {
			m.mu.Lock()
			m.lines = append(m.lines, l)
			if l.Text == "Refreshing:" {
				m.nRefresh++
			}
			m.mu.Unlock()
			m.changed.notify()
		}
		m.err = cmd.Wait()
		close(m.done)
	}()
	return m, nil
}

// pid is the monitor's process id (ip netns exec execs it: same pid).
func (m *monitor) pid() int { return m.cmd.Process.Pid }

// refreshes counts the "Refreshing:" lines read so far.
func (m *monitor) refreshes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nRefresh
}

// waitRefreshes waits (bounded) until n refresh blocks have been read.
func (m *monitor) waitRefreshes(n int, limit time.Duration) error {
	err := waitUntil(m.ctx, &m.changed, m.done, limit, func() bool { return m.refreshes() >= n })
	switch {
	case errors.Is(err, errExited):
		return fmt.Errorf("%s exited early: %v: %s", m.Tool, m.err, m.stderr.String())
	case err != nil:
		return fmt.Errorf("%s: %d refreshes not seen within %v: %w: %s", m.Tool, n, limit, err, m.stderr.String())
	}
	return nil
}

// stop ends the monitor (SIGTERM, then SIGKILL after 2 s) and waits for it.
func (m *monitor) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(2 * time.Second):
		_ = m.cmd.Process.Kill()
		select {
		case <-m.done:
		case <-time.After(3 * time.Second):
		}
	}
}

// blocks parses what the monitor printed so far.
func (m *monitor) blocks() ([]block, error) {
	m.mu.Lock()
	ls := append([]line(nil), m.lines...)
	m.mu.Unlock()
	b, err := parseBlocks(ls)
	if err != nil {
		return b, fmt.Errorf("%s: %w", m.Tool, err)
	}
	return b, nil
}

// procSample is what /proc says about a process at one moment.
type procSample struct {
	At       time.Time
	CPUTicks uint64 // utime + stime
	RSSKiB   uint64 // VmRSS
	HWMKiB   uint64 // VmHWM: peak RSS
	AnonKiB  uint64 // RssAnon: heap, stacks, maps
	FileKiB  uint64 // RssFile: pages of the binary and the libraries
}

// sampleProc reads /proc/PID/stat and /proc/PID/status.
func sampleProc(pid int) (procSample, error) {
	s := procSample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// Fields after the command name, which ends at the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("stat of %d: no ')'", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return s, fmt.Errorf("stat of %d: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("stat of %d: bad utime/stime %q %q", pid, f[11], f[12])
	}
	s.CPUTicks = ut + st
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status of %d: %w", pid, err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch k {
		case "VmRSS":
			dst = &s.RSSKiB
		case "VmHWM":
			dst = &s.HWMKiB
		case "RssAnon":
			dst = &s.AnonKiB
		case "RssFile":
			dst = &s.FileKiB
		default:
			continue
		}
		fs := strings.Fields(v)
		if len(fs) > 0 {
			*dst, _ = strconv.ParseUint(fs[0], 10, 64)
		}
	}
	return s, nil
}

// cpuShare is the CPU used between two samples as a share of one core.
func cpuShare(a, b procSample) float64 {
	wall := b.At.Sub(a.At).Seconds()
	if wall <= 0 {
		return 0
	}
	return float64(b.CPUTicks-a.CPUTicks) / clkTck / wall
}

// cpuSeconds is the CPU time used between two samples.
func cpuSeconds(a, b procSample) float64 { return float64(b.CPUTicks-a.CPUTicks) / clkTck }

var dropsRE = regexp.MustCompile(`gohogs: capture (\S+) packets (\d+) bytes (\d+) malformed (\d+) kernel-drops (\d+)`)

// gohogsDrops returns the kernel drops in gohogs's last -x capture line
// (cumulative), summed over interfaces, or -1 if there is none.
func gohogsDrops(stderr string) int64 {
	last := map[string]int64{}
	for _, m := range dropsRE.FindAllStringSubmatch(stderr, -1) {
		n, _ := strconv.ParseInt(m[5], 10, 64)
		last[m[1]] = n
	}
	if len(last) == 0 {
		return -1
	}
	var t int64
	for _, n := range last {
		t += n
	}
	return t
}
