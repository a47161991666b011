package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

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

// waitFor polls the screen every 50 ms, at most n times, until ok accepts
// it, and returns it; it fails the test with the last screen otherwise.
func (p *tmuxPane) waitFor(what string, n int, ok func([]string) bool) []string {
	p.t.Helper()
	var lines []string
	for i := 0; i < n; i++ {
		lines = p.capture()
		if ok(lines) {
			return lines
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("waiting for %s: the screen is:\n%s", what, strings.Join(lines, "\n"))
	return nil
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
// cuts the program to its basename, a selection shows the connection, and q
// leaves with status 0 and the terminal back in its normal screen and
// cooked mode.
func TestInteractiveTmux(t *testing.T) {
	netnstest.Skip(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("needs tmux")
	}
	ns := netnstest.UniqueName("ghT")
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sink := startSink(t, ctx, ns, "tcp", "127.0.0.1")

	p := &tmuxPane{t: t, server: netnstest.UniqueName("ghtmux")}
	p.target = p.server + ":0.0"
	t.Cleanup(func() { p.tmux("kill-server") })
	cmd := fmt.Sprintf("env LANG=C.UTF-8 ip netns exec %s %s -a -d 1 lo; echo gohogs-exit=$?; exec sh", ns, gohogsBin)
	if out, err := p.tmux("-f", "/dev/null", "new-session", "-d", "-s", p.server, "-x", "120", "-y", "30", "sh", "-c", cmd); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	p.waitFor("the title row", 100, func(l []string) bool {
		return len(l) > 2 && strings.HasPrefix(l[0], "gohogs version "+version) && strings.Contains(l[2], "PID USER")
	})
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

	// q: gohogs exits 0 and the shell after it runs in a normal terminal.
	p.keys("q")
	p.waitFor("gohogs to exit", 100, func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "gohogs-exit=")
	})
	lines = p.capture()
	text := strings.Join(lines, "\n")
	if !strings.Contains(text, "gohogs-exit=0") {
		t.Errorf("exit status:\n%s", text)
	}
	if strings.Contains(text, "PID USER") {
		t.Errorf("the table is left on the normal screen:\n%s", text)
	}
	if alt, _ := p.tmux("display-message", "-p", "-t", p.target, "#{alternate_on}"); strings.TrimSpace(alt) != "0" {
		t.Errorf("still on the alternate screen after q: %q", alt)
	}
	// The tty is back in cooked mode with echo: a typed line runs and shows.
	p.keys("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; echo :sum=$((6*7))", "Enter")
	lines = p.waitFor("the shell to answer", 60, func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), ":sum=42")
	})
	text = strings.Join(lines, "\n")
	if !strings.Contains(text, "icanon echo :sum=42") {
		t.Errorf("terminal modes after gohogs:\n%s", text)
	}
}
