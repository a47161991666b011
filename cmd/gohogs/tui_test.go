package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// The interactive view, driven for real: gohogs runs in a tmux pane (a real
// terminal, on a tmux server of the test's own) inside a network namespace
// where a child process sends TCP at a known pace to a sink in this
// process; the test types keys with send-keys and reads the screen with
// capture-pane.

// reverseTitle is the title row in reverse video, as capture-pane -e
// writes it.
var reverseTitle = regexp.MustCompile(`\x1b\[[0-9;]*7m(\x1b\[[0-9;]*m)*    PID USER`)

// exitStatus is the line the pane's shell prints after gohogs.
var exitStatus = regexp.MustCompile(`gohogs-exit=([0-9]+)`)

// tmuxPane is a pane on a private tmux server.
type tmuxPane struct {
	t      *testing.T
	server string // -L socket name
	target string
}

func (p *tmuxPane) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", p.server}, args...)...).CombinedOutput()
	return string(out), err
}

// capture returns the pane's text, one string per line.
func (p *tmuxPane) capture() []string {
	p.t.Helper()
	out, err := p.tmux("capture-pane", "-p", "-t", p.target)
	if err != nil {
		p.t.Fatalf("capture-pane: %v: %s", err, out)
	}
	return strings.Split(strings.TrimRight(out, "\n"), "\n")
}

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	if out, err := p.tmux(append([]string{"send-keys", "-t", p.target}, keys...)...); err != nil {
		p.t.Fatalf("send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor polls the screen for n × 50 ms at most until ok accepts it, and
// returns it; it fails the test with the last screen otherwise.
func (p *tmuxPane) waitFor(what string, n int, ok func([]string) bool) []string {
	p.t.Helper()
	var lines []string
	if !poll(time.Duration(n)*50*time.Millisecond, func() bool { lines = p.capture(); return ok(lines) }) {
		p.t.Fatalf("waiting for %s: the screen is:\n%s", what, strings.Join(lines, "\n"))
	}
	return lines
}

// screenRow is a process row of the interactive view.
type screenRow struct {
	index      int // position in the table
	pid        string
	sent, recv float64
	unit       string
}

// parseScreen reads the table: the rows between the title and the blank
// line before TOTAL, by pid.
func parseScreen(lines []string) (rows map[string]screenRow, info string) {
	rows = make(map[string]screenRow)
	title := -1
	for i, l := range lines {
		if strings.Contains(l, "PID USER") && strings.Contains(l, "RECEIVED") {
			title = i
			break
		}
	}
	if title < 1 {
		return rows, ""
	}
	for i, l := range lines[title+1:] {
		f := strings.Fields(strings.TrimLeft(l, ">"))
		if len(f) < 6 {
			break
		}
		sent, err1 := strconv.ParseFloat(f[len(f)-3], 64)
		recv, err2 := strconv.ParseFloat(f[len(f)-2], 64)
		if err1 != nil || err2 != nil {
			break
		}
		rows[f[0]] = screenRow{index: i, pid: f[0], sent: sent, recv: recv, unit: f[len(f)-1]}
	}
	return rows, lines[title-1]
}

// TestInteractiveTmux: the sender appears with its pid and a rate within
// 15% of its pace, s and r reorder the rows at once, m changes the unit, b
// cuts the program to its basename, a selection shows the connection, / and
// Esc filter, a resize under 62 columns shows the message and back the
// table, and q
// leaves with status 0 and the terminal back in its normal screen and
// cooked mode.
func TestInteractiveTmux(t *testing.T) {
	netnstest.Skip(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux")
	}
	ns := netnstest.NewLoopback(t, "ghT")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := startSink(t, ctx, ns, "tcp", "127.0.0.1")

	p := startPane(t, ns, "-a -d 1 lo")
	p.waitTitle()
	if alt, _ := p.tmux("display-message", "-p", "-t", p.target, "#{alternate_on}"); strings.TrimSpace(alt) != "1" {
		t.Errorf("gohogs is not on the alternate screen: %q", alt)
	}
	if esc, _ := p.tmux("capture-pane", "-e", "-p", "-t", p.target); !reverseTitle.MatchString(esc) {
		t.Errorf("title row not in reverse video:\n%q", esc)
	}

	// 300,000 B/s of payload in 10,000-byte writes: 292.97 kB/s, plus
	// under 1% of headers.
	const pace = 300_000
	gen, _ := startTraffic(t, ns, "tcp", sink.addr, 30*pace, pace)
	genPID := strconv.Itoa(gen.Process.Pid)
	selfPID := strconv.Itoa(os.Getpid())
	want := float64(pace) / 1024
	steady := func(l []string) bool {
		rows, _ := parseScreen(l)
		g, s := rows[genPID], rows[selfPID]
		return within(g.sent, want, 0.15) && within(s.recv, want, 0.15)
	}
	// Two refreshes, so one covers a whole second of traffic.
	lines := p.waitFor(fmt.Sprintf("sender %s at ~%.1f kB/s and receiver %s", genPID, want, selfPID), 100, steady)
	rows, info := parseScreen(lines)
	t.Logf("sender %+v receiver %+v (pace %.2f kB/s)", rows[genPID], rows[selfPID], want)
	if rows[genPID].unit != "kB/s" {
		t.Errorf("unit %q, want kB/s", rows[genPID].unit)
	}
	// Sorted by RECEIVED: the sink above the sender.
	if !strings.Contains(info, "sorted by RECEIVED") || rows[selfPID].index > rows[genPID].index {
		t.Errorf("default order: %q, sender at %d, receiver at %d", info, rows[genPID].index, rows[selfPID].index)
	}

	// s: the sender on top, at once. With -d 1 a refresh may land between
	// two captures; the order is the point, checked within 0.5 s.
	orderBy := func(col string, first, second string) func([]string) bool {
		return func(l []string) bool {
			rows, info := parseScreen(l)
			a, ok1 := rows[first]
			b, ok2 := rows[second]
			return strings.Contains(info, "sorted by "+col) && ok1 && ok2 && a.index < b.index
		}
	}
	t0 := time.Now()
	p.keys("s")
	p.waitFor("s: sorted by SENT", 10, orderBy("SENT", genPID, selfPID))
	t.Logf("s took effect in %v", time.Since(t0).Round(time.Millisecond))
	p.keys("r")
	p.waitFor("r: sorted by RECEIVED", 10, orderBy("RECEIVED", selfPID, genPID))

	// m: total kB at once; then the totals grow past a second's worth.
	p.keys("m")
	p.waitFor("m: unit kB", 10, func(l []string) bool {
		rows, _ := parseScreen(l)
		return rows[genPID].unit == "kB"
	})
	lines = p.waitFor("totals to grow", 60, func(l []string) bool {
		rows, _ := parseScreen(l)
		return rows[genPID].unit == "kB" && rows[genPID].sent > 1.5*want
	})
	rows, _ = parseScreen(lines)
	t.Logf("after m: sender %+v", rows[genPID])
	p.keys("m", "m", "m", "m", "m") // back to kB/s: bytes, MB, MB/s, GB/s, kB/s
	p.waitFor("m cycled back to kB/s", 10, func(l []string) bool {
		rows, _ := parseScreen(l)
		return rows[genPID].unit == "kB/s"
	})

	// b: the program without its directory.
	p.keys("b")
	p.waitFor("b: basename", 10, func(l []string) bool {
		for _, line := range l {
			if f := strings.Fields(strings.TrimLeft(line, ">")); len(f) > 3 && f[0] == genPID {
				return f[2] == "gohogs.test"
			}
		}
		return false
	})

	// Select the sender (sorted by sent, it is on top): the details show its
	// connection to the sink and its command line.
	p.keys("s", "Down")
	lines = p.waitFor("the details of the sender", 20, func(l []string) bool {
		text := strings.Join(l, "\n")
		return strings.Contains(text, "pid "+genPID) && strings.Contains(text, "-> "+sink.addr) &&
			strings.Contains(text, "received ")
	})
	t.Logf("screen:\n%s", strings.Join(lines, "\n"))

	// /: a filter by pid leaves the sender alone; Esc brings all back.
	p.keys("Escape", "/")
	p.keys("-l", genPID)
	p.keys("Enter")
	p.waitFor("the filter", 20, func(l []string) bool {
		rows, info := parseScreen(l)
		_, ok := rows[genPID]
		return ok && len(rows) == 1 && strings.Contains(info, fmt.Sprintf("filter %q", genPID))
	})
	p.keys("Escape")
	p.waitFor("the filter cleared", 20, func(l []string) bool {
		rows, _ := parseScreen(l)
		return len(rows) >= 2
	})

	// Resized under 62 columns: nethogs's message; back: the table.
	if out, err := p.tmux("resize-window", "-t", p.server, "-x", "61"); err != nil {
		t.Fatalf("resize-window: %v %s", err, out)
	}
	p.waitFor("the too-narrow message", 40, func(l []string) bool {
		return len(l) > 1 && l[0] == "The terminal is too narrow! Please make it wider." && l[1] == "I'll wait..."
	})
	if out, err := p.tmux("resize-window", "-t", p.server, "-x", "100"); err != nil {
		t.Fatalf("resize-window: %v %s", err, out)
	}
	p.waitFor("the table at 100 columns", 40, func(l []string) bool {
		// A row ends with its unit at column 95 (at 120 columns: 115).
		for _, line := range l {
			if f := strings.Fields(line); len(f) > 1 && f[0] == selfPID {
				return len(line) == 99
			}
		}
		return false
	})

	// q: gohogs exits 0 and the shell after it runs in a normal terminal.
	p.keys("q")
	p.checkRestored(0)
}

// startPane starts gohogs with args in ns in a new pane of a private tmux
// server (120×30), followed by a shell that prints its exit status.
func startPane(t *testing.T, ns, args string) *tmuxPane {
	t.Helper()
	return startPaneShell(t, "sh", "-c", gohogsCommand(ns, args)+"; exec sh")
}

// gohogsCommand is the shell command that runs gohogs and prints its status.
func gohogsCommand(ns, args string) string {
	return fmt.Sprintf("env LANG=C.UTF-8 ip netns exec %s %s %s; echo gohogs-exit=$?", ns, gohogsBin, args)
}

// startPaneShell starts a pane running argv on a private tmux server.
func startPaneShell(t *testing.T, argv ...string) *tmuxPane {
	t.Helper()
	p := &tmuxPane{t: t, server: netnstest.UniqueName("ghtmux")}
	p.target = p.server + ":0.0"
	t.Cleanup(func() { p.tmux("kill-server") })
	args := append([]string{"-f", "/dev/null", "new-session", "-d", "-s", p.server, "-x", "120", "-y", "30"}, argv...)
	if out, err := p.tmux(args...); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	return p
}

// waitTitle waits (5 s at most) for the view's header and title.
func (p *tmuxPane) waitTitle() {
	p.t.Helper()
	p.waitFor("the title row", 100, func(l []string) bool {
		return len(l) > 2 && strings.HasPrefix(l[0], "gohogs version "+version) && strings.Contains(l[2], "PID USER")
	})
}

// checkRestored waits for gohogs to end and checks its status, that the
// pane left the alternate screen with no table on the normal one, and that
// the shell after it reads lines in cooked mode with echo.
func (p *tmuxPane) checkRestored(status int) {
	p.t.Helper()
	lines := p.waitFor("gohogs to exit", 100, func(l []string) bool {
		return exitStatus.MatchString(strings.Join(l, "\n"))
	})
	text := strings.Join(lines, "\n")
	if m := exitStatus.FindStringSubmatch(text); m == nil || m[1] != strconv.Itoa(status) {
		p.t.Errorf("exit status, want %d:\n%s", status, text)
	}
	if strings.Contains(text, "PID USER") {
		p.t.Errorf("the table is left on the normal screen:\n%s", text)
	}
	if alt, _ := p.tmux("display-message", "-p", "-t", p.target, "#{alternate_on}"); strings.TrimSpace(alt) != "0" {
		p.t.Errorf("still on the alternate screen: %q", alt)
	}
	p.keys("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo :sum=$((6*7))", "Enter")
	lines = p.waitFor("the shell to answer", 60, func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), ":sum=42")
	})
	if text := strings.Join(lines, "\n"); !strings.Contains(text, "icanon echo :sum=42") {
		p.t.Errorf("terminal modes after gohogs:\n%s", text)
	}
}

// TestInteractiveTmuxEnds: every way out restores the terminal: Ctrl-C,
// SIGTERM, SIGINT, -c and --duration end with status 0.
func TestInteractiveTmuxEnds(t *testing.T) {
	netnstest.Skip(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux")
	}
	ns := netnstest.NewLoopback(t, "ghE")
	signal := func(sig syscall.Signal) func(*testing.T, *tmuxPane) {
		return func(t *testing.T, p *tmuxPane) {
			// The pane's shell runs ip netns exec, which execs gohogs.
			sh, err := p.tmux("display-message", "-p", "-t", p.target, "#{pane_pid}")
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("pgrep", "-P", strings.TrimSpace(sh)).Output()
			pid, err2 := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil || err2 != nil {
				t.Fatalf("finding gohogs under pane pid %s: %v %v %q", sh, err, err2, out)
			}
			if err := syscall.Kill(pid, sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name, args string
		end        func(*testing.T, *tmuxPane)
	}{
		{"ctrl-c", "-a lo", func(_ *testing.T, p *tmuxPane) { p.keys("C-c") }},
		{"sigterm", "-a lo", signal(syscall.SIGTERM)},
		{"sigint", "-a lo", signal(syscall.SIGINT)},
		{"count", "-a -d 0.2 -c 3 lo", nil},
		{"duration", "-a -d 0.2 --duration 700ms lo", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := startPane(t, ns, c.args)
			p.waitTitle()
			start := time.Now()
			if c.end != nil {
				c.end(t, p)
			}
			p.checkRestored(0)
			t.Logf("ended %v after the title showed", time.Since(start).Round(10*time.Millisecond))
		})
	}
}

// TestInteractiveTmuxSuspend: Ctrl-Z stops gohogs as a job of an
// interactive shell with the terminal given back; fg brings the view back.
func TestInteractiveTmuxSuspend(t *testing.T) {
	netnstest.Skip(t)
	for _, tool := range []string{"tmux", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("needs " + tool)
		}
	}
	ns := netnstest.NewLoopback(t, "ghZ")
	p := startPaneShell(t, "env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i")
	p.waitFor("the shell prompt", 60, func(l []string) bool { return strings.HasPrefix(l[0], "$") })
	// The status is echoed after the job really ends (bash runs the rest of
	// a list when its job stops).
	p.keys(fmt.Sprintf("env LANG=C.UTF-8 ip netns exec %s %s -a -d 0.5 lo", ns, gohogsBin), "Enter")
	p.waitTitle()

	p.keys("C-z")
	lines := p.waitFor("the job to stop", 60, func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "Stopped")
	})
	if strings.Contains(strings.Join(lines, "\n"), "PID USER") {
		t.Errorf("the table is on the normal screen while stopped:\n%s", strings.Join(lines, "\n"))
	}
	if alt, _ := p.tmux("display-message", "-p", "-t", p.target, "#{alternate_on}"); strings.TrimSpace(alt) != "0" {
		t.Errorf("alternate screen while stopped: %q", alt)
	}
	time.Sleep(1200 * time.Millisecond) // the pause under test: refreshes are missed
	p.keys("fg", "Enter")
	// fg: the view takes the terminal back (raw mode again: keys are keys).
	p.waitTitle()
	tty, err := p.tmux("display-message", "-p", "-t", p.target, "#{pane_tty}")
	if err != nil {
		t.Fatal(err)
	}
	p.waitFor("raw mode after fg", 60, func([]string) bool {
		out, _ := exec.Command("stty", "-a", "-F", strings.TrimSpace(tty)).Output()
		return strings.Contains(string(out), "-icanon")
	})
	// Capture and keys work after the pause.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := startSink(t, ctx, ns, "tcp", "127.0.0.1")
	gen, _ := startTraffic(t, ns, "tcp", sink.addr, 10_000_000, 200_000)
	genPID := strconv.Itoa(gen.Process.Pid)
	lines = p.waitFor("traffic after fg", 100, func(l []string) bool {
		rows, _ := parseScreen(l)
		return within(rows[genPID].sent, 200_000/1024.0, 0.2)
	})
	t.Logf("after fg:\n%s", strings.Join(lines[:8], "\n"))
	p.keys("m")
	p.waitFor("m after fg", 20, func(l []string) bool {
		rows, _ := parseScreen(l)
		return rows[genPID].unit == "kB"
	})
	p.keys("q")
	p.waitFor("the prompt after q", 60, func(l []string) bool {
		return strings.HasPrefix(strings.TrimSpace(strings.Join(l, "\n"))[strings.LastIndex(strings.TrimSpace(strings.Join(l, "\n")), "\n")+1:], "$")
	})
	p.keys("echo gohogs-exit=$?", "Enter")
	p.checkRestored(0)
}

// finiScreen records when the terminal is restored.
type finiScreen struct {
	tcell.Screen
	log *[]string
}

func (s finiScreen) Fini() {
	*s.log = append(*s.log, "fini")
	s.Screen.Fini()
}

type logWriter struct{ log *[]string }

func (w logWriter) Write(b []byte) (int, error) {
	*w.log = append(*w.log, string(b))
	return len(b), nil
}

// TestWithTerminal: the terminal is restored once, before anything is
// printed, when the view returns, fails, or panics.
func TestWithTerminal(t *testing.T) {
	for _, c := range []struct {
		name   string
		body   func(fatal func(string)) int
		code   int
		stderr string
	}{
		{"return", func(func(string)) int { return 0 }, 0, ""},
		{"fatal", func(fatal func(string)) int { fatal("gohogs: capture: gone"); return 1 }, 1, "gohogs: capture: gone\n"},
		{"panic", func(func(string)) int { panic("boom") }, 2, "gohogs: internal error in the interactive view: boom\n"},
		{"panic after fatal", func(fatal func(string)) int { fatal("first"); panic("boom") }, 2, "first\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sim := tcell.NewSimulationScreen("UTF-8")
			if err := sim.Init(); err != nil {
				t.Fatal(err)
			}
			var log []string
			code := withTerminal(finiScreen{sim, &log}, logWriter{&log}, c.body)
			if code != c.code {
				t.Errorf("status %d, want %d", code, c.code)
			}
			if len(log) == 0 || log[0] != "fini" || slices.Index(log[1:], "fini") >= 0 {
				t.Fatalf("terminal not restored exactly once, first: %q", log)
			}
			if c.stderr != "" && (len(log) < 2 || !strings.HasPrefix(log[1], c.stderr)) {
				t.Errorf("stderr %q, want it to begin with %q", log[1:], c.stderr)
			}
			if c.name == "panic" && !strings.Contains(strings.Join(log, ""), "goroutine ") {
				t.Errorf("no stack trace: %q", log)
			}
		})
	}
}

// TestInteractiveNoTerminal: without a terminal (no controlling tty, as
// under cron) the view says so and exits 1 at once, pointing at -t.
func TestInteractiveNoTerminal(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghN")
	cmd := exec.Command("ip", "netns", "exec", ns, gohogsBin, "-a", "lo")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	var stderr strings.Builder
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if cmd.ProcessState.ExitCode() != 1 {
			t.Errorf("exit %v, want status 1; stderr %q", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("gohogs without a terminal did not exit within 10 s")
	}
	if !strings.Contains(stderr.String(), "cannot start the interactive view") || !strings.Contains(stderr.String(), "-t") {
		t.Errorf("stderr %q", stderr.String())
	}
}
