package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// checkLogFile checks that a file written with --output stands alone: the
// header, the start-up lines, then whole refresh blocks only. It returns the
// number of blocks.
func checkLogFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.HasPrefix(text, "# gohogs delay=") {
		t.Errorf("%s does not start with the header: %.80q", path, text)
	}
	if !strings.Contains(text, "Adding local address: ") || !strings.Contains(text, "Ethernet link detected\n") {
		t.Errorf("%s lacks the start-up lines", path)
	}
	blocks := strings.Split(text, "\nRefreshing:\n")
	for i, b := range blocks[1:] {
		// A whole block ends with the unknown TCP row (then maybe Unknown
		// connection lines), and a newline.
		if !strings.Contains(b, "unknown TCP/0/0\t") || !strings.HasSuffix(b, "\n") {
			t.Errorf("%s: block %d is cut: %q", path, i+1, b)
		}
	}
	return len(blocks) - 1
}

// TestOutputRotateDurationReport: --duration 5s --rotate 2s --output makes
// three files, each standing alone, no block split or lost, and
// `gohogs report` on them gives the sender's known bytes within 1%.
func TestOutputRotateDurationReport(t *testing.T) {
	p, s := pairWithSink(t, "tcp", "4")
	dir := t.TempDir()
	pattern := filepath.Join(dir, "logs", "%H_%M_%S.log") // the directory is created
	run := startGohogs(t, p.NSA, "-t", "--duration", "5s", "--rotate", "2s", "--output", pattern, p.IfA)
	waitFile(t, filepath.Join(dir, "logs", "*.log"))
	var gen *exec.Cmd
	before, after := counted(t, p.NSA, p.IfA, func() { gen = runTraffic(t, p.NSA, "tcp", s.addr, 1_500_000, 500_000) })
	if out := run.wait(t, 15*time.Second); out != "" {
		t.Errorf("stdout with --output: %q", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	slices.Sort(files)
	if len(files) != 3 {
		t.Fatalf("files %q, want 3", files)
	}
	blocks := 0
	for _, f := range files {
		n := checkLogFile(t, f)
		if n < 2 {
			t.Errorf("%s has %d blocks, want 2", f, n)
		}
		blocks += n
	}
	// Cuts at 0, 1, 2, 3, 4 and 5 s: six blocks, none missing between files.
	if blocks != 6 {
		t.Errorf("%d blocks in all, want 6", blocks)
	}

	out, err := exec.Command(gohogsBin, append([]string{"report", "--by", "pid", "--format", "json"}, files...)...).Output()
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var rep struct {
		Rows []struct {
			PID  *int  `json:"pid"`
			Sent int64 `json:"sent_bytes"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report json: %v\n%s", err, out)
	}
	want := float64(after.TxBytes - before.TxBytes)
	found := false
	for _, r := range rep.Rows {
		if r.PID != nil && *r.PID == gen.Process.Pid {
			found = true
			t.Logf("report: pid %d sent %d bytes; interface sent %v", *r.PID, r.Sent, want)
			if !within(float64(r.Sent), want, 0.01) {
				t.Errorf("report says %d bytes sent, the interface %v", r.Sent, want)
			}
		}
	}
	if !found {
		t.Errorf("generator pid %d not in the report: %s", gen.Process.Pid, out)
	}
}

// TestSignals: SIGHUP reopens the output file (logrotate moved it away),
// SIGTERM ends the run with exit 0 and whole blocks only.
func TestSignals(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghS")
	dir := t.TempDir()
	log := filepath.Join(dir, "gohogs.log")
	run := startGohogs(t, ns, "-t", "-a", "-d", "0.2", "--output", log, "lo")
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if !poll(5*time.Second, cond) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	blocksIn := func(path string) int {
		data, _ := os.ReadFile(path)
		return strings.Count(string(data), "Refreshing:")
	}
	waitFor("blocks in the log", func() bool { return blocksIn(log) >= 2 })
	rotated := log + ".1"
	if err := os.Rename(log, rotated); err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs gohogs, so the pid is gohogs's.
	if err := run.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the reopened log", func() bool { return blocksIn(log) >= 2 })
	if err := run.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	run.wait(t, 5*time.Second) // SIGTERM: exit 0
	if n := checkLogFile(t, rotated); n < 2 {
		t.Errorf("rotated file has %d blocks", n)
	}
	if n := checkLogFile(t, log); n < 2 {
		t.Errorf("reopened file has %d blocks", n)
	}
}

// TestOutputErrors: an output directory that cannot be made and a full disk
// each give one clear line and exit 1; what was written before stays.
func TestOutputErrors(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghO")
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := startGohogs(t, ns, "-t", "-a", "-c", "2", "--output", filepath.Join(blocker, "sub", "%H.log"), "lo")
	if c := run.exitCode(t, 10*time.Second); c != 1 {
		t.Errorf("exit status %d, want 1", c)
	}
	if lines := strings.Split(strings.TrimSpace(run.stderr.String()), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], "--output") || !strings.Contains(lines[0], "not a directory") {
		t.Errorf("stderr %q, want one line naming --output and the cause", run.stderr.String())
	}

	// /dev/full: every write fails with ENOSPC, as on a full disk.
	run = startGohogs(t, ns, "-t", "-a", "-c", "3", "--output", "/dev/full", "lo")
	if c := run.exitCode(t, 10*time.Second); c != 1 {
		t.Errorf("exit status %d, want 1", c)
	}
	if lines := strings.Split(strings.TrimSpace(run.stderr.String()), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], "no space left on device") {
		t.Errorf("stderr %q, want one line saying the disk is full", run.stderr.String())
	}
}
