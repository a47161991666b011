package tui

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/trace"
)

var t0 = time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)

func users(uid uint32) string {
	switch uid {
	case 0:
		return "root"
	case 1000:
		return "alice"
	}
	return fmt.Sprint(uid)
}

// snapshot is a refresh of 2 s with three processes and the unknown row:
//
//	curl   pid 100: sent  2048 B (1 kB/s), received 20480 B (10 kB/s)
//	nginx  pid 200: sent 40960 B (20 kB/s), received  4096 B ( 2 kB/s)
//	ssh    pid 300: sent  6144 B (3 kB/s), received  8192 B ( 4 kB/s)
//	unknown TCP: 1024 B received
func snapshot(seq int) *trace.Snapshot {
	return &trace.Snapshot{
		Time:    t0.Add(time.Duration(seq) * 2 * time.Second),
		Elapsed: 2 * time.Second,
		Seq:     seq,
		Rows: []trace.Row{
			{Kind: trace.KindUnknownTCP, Name: "unknown TCP", Recv: 1024, TotalRecv: 1024 * uint64(seq)},
			{Kind: trace.KindProcess, Name: "/usr/bin/curl", Args: "-o x https://example.org/big", Cmdline: []string{"/usr/bin/curl", "-o", "x", "https://example.org/big"},
				PID: 100, StartTime: 5, UID: 1000, Sent: 2048, Recv: 20480, TotalSent: 2048 * uint64(seq), TotalRecv: 20480 * uint64(seq),
				Conns: []trace.Conn{{Proto: 6, Local: netip.MustParseAddrPort("10.0.0.5:40000"), Remote: netip.MustParseAddrPort("93.184.216.34:443"), Sent: 2048, Recv: 20480}}},
			{Kind: trace.KindProcess, Name: "nginx: worker process", Cmdline: []string{"nginx: worker process"},
				PID: 200, StartTime: 7, UID: 0, Sent: 40960, Recv: 4096, TotalSent: 40960 * uint64(seq), TotalRecv: 4096 * uint64(seq),
				Conns: []trace.Conn{
					{Proto: 6, Local: netip.MustParseAddrPort("10.0.0.5:80"), Remote: netip.MustParseAddrPort("10.0.0.9:5555"), Sent: 30000, Recv: 3000},
					{Proto: 6, Local: netip.MustParseAddrPort("127.0.0.1:80"), Remote: netip.MustParseAddrPort("127.0.0.1:6666"), Sent: 10960, Recv: 1096},
				}},
			{Kind: trace.KindProcess, Name: "/usr/bin/ssh", Args: "host", Cmdline: []string{"/usr/bin/ssh", "host"},
				PID: 300, StartTime: 9, UID: 4242, Sent: 6144, Recv: 8192, TotalSent: 6144 * uint64(seq), TotalRecv: 8192 * uint64(seq)},
		},
	}
}

func newScreen(t *testing.T, w, h int) tcell.SimulationScreen {
	t.Helper()
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	s.SetSize(w, h)
	t.Cleanup(s.Fini)
	return s
}

func newModel(cfg Config) *Model {
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	if cfg.UserName == nil {
		cfg.UserName = users
	}
	if cfg.Devices == nil {
		cfg.Devices = []Device{{Name: "eth0"}}
	}
	return New(cfg)
}

// screen draws m and returns the screen's lines (trailing spaces cut) and
// the cells for style checks.
func screen(t *testing.T, m *Model, s tcell.SimulationScreen) []string {
	t.Helper()
	m.Draw(s)
	s.Show()
	cells, w, h := s.GetContents()
	lines := make([]string, h)
	for y := 0; y < h; y++ {
		var b strings.Builder
		for x := 0; x < w; x++ {
			r := cells[y*w+x].Runes
			if len(r) == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(string(r))
				x += width(string(r)) - 1 // a wide character covers the next cell
			}
		}
		lines[y] = strings.TrimRight(b.String(), " ")
	}
	return lines
}

func styleAt(s tcell.SimulationScreen, x, y int) tcell.Style {
	cells, w, _ := s.GetContents()
	return cells[y*w+x].Style
}

func key(r rune) *tcell.EventKey { return tcell.NewEventKey(tcell.KeyRune, r, 0) }

func special(k tcell.Key) *tcell.EventKey { return tcell.NewEventKey(k, 0, 0) }

// tableRows returns the table's rows: the lines from row 3 to the blank
// line before TOTAL.
func tableRows(lines []string) []string {
	var out []string
	for _, l := range lines[3:] {
		if l == "" {
			break
		}
		out = append(out, l)
	}
	return out
}

func pids(rows []string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.TrimLeft(r[:7], " >"))
	}
	return out
}

func find(lines []string, prefix string) string {
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}

func TestColumns(t *testing.T) {
	s := newScreen(t, 100, 24)
	m := newModel(Config{})
	m.Update(snapshot(1))
	lines := screen(t, m, s)

	if lines[0] != "gohogs version 0.1.0" {
		t.Errorf("header %q", lines[0])
	}
	// The title row: nethogs's columns, in reverse video across the width.
	title := lines[2]
	for _, col := range []string{"PID", "USER", "PROGRAM", "DEV", "SENT", "RECEIVED"} {
		if !strings.Contains(title, col) {
			t.Errorf("title %q lacks %s", title, col)
		}
	}
	if !strings.HasPrefix(title, "    PID USER     PROGRAM ") {
		t.Errorf("title %q", title)
	}
	for x := 0; x < 100; x++ {
		if _, _, a := styleAt(s, x, 2).Decompose(); a&tcell.AttrReverse == 0 {
			t.Fatalf("title cell %d not in reverse video", x)
		}
	}
	// progW = 100 - 17 - 2 - 5 (DEV "eth0"+1) - 24 - 5 = 47.
	want := []string{
		fmt.Sprintf("    100 alice    %-47s  %-5s%11.3f %11.3f kB/s", "/usr/bin/curl", "eth0", 1.0, 10.0),
		fmt.Sprintf("    300 4242     %-47s  %-5s%11.3f %11.3f kB/s", "/usr/bin/ssh", "eth0", 3.0, 4.0),
		fmt.Sprintf("    200 root     %-47s  %-5s%11.3f %11.3f kB/s", "nginx: worker process", "eth0", 20.0, 2.0),
		fmt.Sprintf("      ? root     %-47s  %-5s%11.3f %11.3f kB/s", "unknown TCP", "eth0", 0.0, 0.5),
	}
	got := tableRows(lines)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	total := lines[3+len(want)+1]
	wantTotal := fmt.Sprintf("  TOTAL%*s%11.3f %11.3f kB/s", 17+47+2+5-7, "", 24.0, 16.5)
	if total != wantTotal {
		t.Errorf("total\n%q\nwant\n%q", total, wantTotal)
	}
	if !strings.HasPrefix(lines[23], "q quit") {
		t.Errorf("keys line %q", lines[23])
	}
}

func TestSortKeys(t *testing.T) {
	s := newScreen(t, 100, 24)
	m := newModel(Config{})
	m.Update(snapshot(1))
	byRecv := []string{"100", "300", "200", "?"}
	bySent := []string{"200", "300", "100", "?"} // unknown rows stay last
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != fmt.Sprint(byRecv) {
		t.Errorf("default order %v, want by received %v", got, byRecv)
	}
	m.HandleKey(key('s'))
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != fmt.Sprint(bySent) {
		t.Errorf("after s: %v, want %v", got, bySent)
	}
	if l := screen(t, m, s)[1]; !strings.Contains(l, "sorted by SENT") {
		t.Errorf("info line %q", l)
	}
	m.HandleKey(key('r'))
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != fmt.Sprint(byRecv) {
		t.Errorf("after r: %v, want %v", got, byRecv)
	}
	// -s at start.
	m = newModel(Config{BySent: true})
	m.Update(snapshot(1))
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != fmt.Sprint(bySent) {
		t.Errorf("with BySent: %v, want %v", got, bySent)
	}
}

func TestUnitCycling(t *testing.T) {
	s := newScreen(t, 100, 24)
	m := newModel(Config{})
	m.Update(snapshot(3)) // totals are 3 refreshes' bytes
	// curl: interval 2048 sent over 2 s; total 6144 sent.
	want := []struct {
		unit string
		sent float64
	}{
		{"kB/s", 1},
		{"kB", 6},
		{"bytes", 6144},
		{"MB", 6144.0 / (1 << 20)},
		{"MB/s", 1.0 / 1024},
		{"GB/s", 1.0 / (1 << 20)},
		{"kB/s", 1},
	}
	for i, w := range want {
		if i > 0 {
			if m.HandleKey(key('m')) != Redraw {
				t.Fatal("m did not ask for a redraw")
			}
		}
		lines := screen(t, m, s)
		row := find(lines, "100 ")
		suffix := fmt.Sprintf("%11.3f %11.3f %s", w.sent, 0.0, w.unit)
		_ = suffix
		fields := strings.Fields(row)
		if got := fields[len(fields)-1]; got != w.unit {
			t.Errorf("step %d: unit %q, want %q (%q)", i, got, w.unit, row)
		}
		if got := fields[len(fields)-3]; got != fmt.Sprintf("%.3f", w.sent) {
			t.Errorf("step %d (%s): sent %s, want %.3f", i, w.unit, got, w.sent)
		}
		if tot := find(lines, "TOTAL"); !strings.HasSuffix(tot, " "+w.unit) {
			t.Errorf("step %d: TOTAL row %q lacks unit %s", i, tot, w.unit)
		}
	}
}

func TestTooNarrow(t *testing.T) {
	s := newScreen(t, 61, 20)
	m := newModel(Config{})
	m.Update(snapshot(1))
	lines := screen(t, m, s)
	if lines[0] != "The terminal is too narrow! Please make it wider." || lines[1] != "I'll wait..." {
		t.Errorf("narrow screen: %q", lines[:3])
	}
	if strings.Contains(strings.Join(lines, "\n"), "PID") {
		t.Error("table drawn on a narrow screen")
	}
	// Widened to the minimum: the table fits, the numbers end at the edge.
	s.SetSize(MinWidth, 20)
	lines = screen(t, m, s)
	if !strings.Contains(lines[2], "RECEIVED") {
		t.Fatalf("at %d columns: %q", MinWidth, lines[:4])
	}
	for _, r := range tableRows(lines) {
		if len([]rune(r)) > MinWidth {
			t.Errorf("row wider than the screen: %q", r)
		}
	}
	row := find(lines, "100 ")
	if !strings.HasSuffix(row, "     10.000 kB/s") {
		t.Errorf("row at %d columns: %q", MinWidth, row)
	}
	// Resized wider: the PROGRAM column grows and the long name shows.
	s.SetSize(140, 20)
	if row := find(screen(t, m, s), "200 "); !strings.Contains(row, "nginx: worker process") {
		t.Errorf("row at 140 columns: %q", row)
	}
}

func TestProgramColumn(t *testing.T) {
	s := newScreen(t, MinWidth, 20) // PROGRAM is 9 wide here
	m := newModel(Config{})
	m.Update(snapshot(1))
	row := find(screen(t, m, s), "200 ")
	if !strings.Contains(row, " ..process ") {
		t.Errorf("long name not cut at its start as nethogs does: %q", row)
	}
	s.SetSize(120, 20)
	if row := find(screen(t, m, s), "100 "); !strings.Contains(row, " /usr/bin/curl ") || strings.Contains(row, "-o x") {
		t.Errorf("plain: %q", row)
	}
	m.HandleKey(key('l'))
	if row := find(screen(t, m, s), "100 "); !strings.Contains(row, " /usr/bin/curl -o x https://example.org/big ") {
		t.Errorf("after l: %q", row)
	}
	m.HandleKey(key('b'))
	if row := find(screen(t, m, s), "100 "); !strings.Contains(row, " curl -o x https://example.org/big ") {
		t.Errorf("after l b: %q", row)
	}
	if row := find(screen(t, m, s), "200 "); !strings.Contains(row, " nginx: worker process ") {
		t.Errorf("basename of a name with spaces: %q", row)
	}
	m.HandleKey(key('l'))
	if row := find(screen(t, m, s), "100 "); !strings.Contains(row, " curl ") || strings.Contains(row, "-o x") {
		t.Errorf("after l b l: %q", row)
	}
	// Control characters in a process name never reach the terminal.
	snap := snapshot(1)
	snap.Rows[3].Name = "evil\x1b[2Jname"
	m.Update(snap)
	if row := find(screen(t, m, s), "300 "); !strings.Contains(row, "evil?[2Jname") {
		t.Errorf("control character: %q", row)
	}
}

func TestFilter(t *testing.T) {
	s := newScreen(t, 100, 24)
	m := newModel(Config{})
	m.Update(snapshot(1))
	m.HandleKey(key('/'))
	for _, r := range "ngin" {
		m.HandleKey(key(r))
	}
	lines := screen(t, m, s)
	if got := pids(tableRows(lines)); fmt.Sprint(got) != "[200]" {
		t.Errorf("filter ngin: rows %v", got)
	}
	if !strings.HasPrefix(lines[23], "filter: ngin") {
		t.Errorf("keys line while typing: %q", lines[23])
	}
	// While typing, q is text, not quit.
	if m.HandleKey(key('q')) == Quit {
		t.Error("q quit while typing the filter")
	}
	m.HandleKey(special(tcell.KeyBackspace2))
	m.HandleKey(key('x'))
	m.HandleKey(special(tcell.KeyBackspace2))
	m.HandleKey(special(tcell.KeyEnter))
	if m.Filter() != "ngin" {
		t.Errorf("filter %q", m.Filter())
	}
	lines = screen(t, m, s)
	tot := find(lines, "TOTAL (filtered)")
	if !strings.HasSuffix(tot, fmt.Sprintf("%11.3f %11.3f kB/s", 20.0, 2.0)) {
		t.Errorf("filtered total %q", tot)
	}
	// Arguments match too; so does a pid.
	m.HandleKey(key('/'))
	m.HandleKey(special(tcell.KeyCtrlU))
	for _, r := range "EXAMPLE.org" {
		m.HandleKey(key(r))
	}
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[100]" {
		t.Errorf("filter by argument: %v", got)
	}
	m.HandleKey(special(tcell.KeyCtrlU))
	for _, r := range "300" {
		m.HandleKey(key(r))
	}
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[300]" {
		t.Errorf("filter by pid: %v", got)
	}
	// Esc clears it.
	m.HandleKey(special(tcell.KeyEscape))
	if got := pids(tableRows(screen(t, m, s))); len(got) != 4 || m.Filter() != "" {
		t.Errorf("after esc: %v, filter %q", got, m.Filter())
	}
	// Esc outside the editor clears a kept filter too.
	m.HandleKey(key('/'))
	for _, r := range "ssh" {
		m.HandleKey(key(r))
	}
	m.HandleKey(special(tcell.KeyEnter))
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[300]" {
		t.Errorf("filter ssh: %v", got)
	}
	m.HandleKey(special(tcell.KeyEscape))
	if m.Filter() != "" {
		t.Errorf("esc kept %q", m.Filter())
	}
	// Keys act again once the editor is closed.
	if m.HandleKey(key('q')) != Quit {
		t.Error("q does not quit")
	}
	if m.HandleKey(special(tcell.KeyCtrlC)) != Quit {
		t.Error("Ctrl-C does not quit")
	}
}

func TestSelectionDetails(t *testing.T) {
	s := newScreen(t, 100, 30)
	m := newModel(Config{})
	m.Update(snapshot(1))
	if _, _, ok := m.Selected(); ok {
		t.Fatal("selected before any key")
	}
	m.HandleKey(special(tcell.KeyDown)) // selects the top row
	m.HandleKey(key('j'))               // then the next
	pid, _, ok := m.Selected()
	if !ok || pid != 300 {
		t.Fatalf("selected %d %v, want 300", pid, ok)
	}
	lines := screen(t, m, s)
	row := find(lines, ">   300")
	if row == "" {
		t.Fatalf("no marked row:\n%s", strings.Join(lines, "\n"))
	}
	if _, _, a := styleAt(s, 10, 4).Decompose(); a&tcell.AttrReverse == 0 {
		t.Error("selected row not highlighted")
	}
	// The selection follows the process when the order changes.
	m.HandleKey(key('k'))
	m.HandleKey(key('s')) // by sent: 200 300 100 ?
	if pid, _, _ := m.Selected(); pid != 100 {
		t.Errorf("selection moved to %d", pid)
	}
	lines = screen(t, m, s)
	if got := pids(tableRows(lines)); fmt.Sprint(got) != "[200 300 100 ?]" {
		t.Errorf("order %v", got)
	}
	if !strings.HasPrefix(lines[5], ">   100") {
		t.Errorf("marked row %q", lines[5])
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"command: /usr/bin/curl -o x https://example.org/big",
		"TCP  10.0.0.5:40000 -> 93.184.216.34:443  sent 1.0 kB/s  received 10.0 kB/s",
		"total:   sent 2.0 kB, received 20.0 kB",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("details lack %q:\n%s", want, text)
		}
	}
	// nginx: connections sorted by bytes, both remote addresses shown.
	m.HandleKey(special(tcell.KeyHome))
	text = strings.Join(screen(t, m, s), "\n")
	i := strings.Index(text, "10.0.0.9:5555")
	j := strings.Index(text, "127.0.0.1:6666")
	if i < 0 || j < 0 || i > j {
		t.Errorf("nginx connections (%d, %d):\n%s", i, j, text)
	}
	// Esc deselects; the details go.
	m.HandleKey(special(tcell.KeyEscape))
	if text := strings.Join(screen(t, m, s), "\n"); strings.Contains(text, "command:") {
		t.Errorf("details after esc:\n%s", text)
	}
	// The unknown row lists the unknown connections.
	snap := snapshot(2)
	snap.UnknownConns = []trace.Conn{{Proto: capture.ProtoTCP, Local: netip.MustParseAddrPort("10.0.0.5:1234"), Remote: netip.MustParseAddrPort("10.0.0.7:80")}}
	m.Update(snap)
	m.HandleKey(special(tcell.KeyEnd))
	if text := strings.Join(screen(t, m, s), "\n"); !strings.Contains(text, "TCP  10.0.0.5:1234-10.0.0.7:80") {
		t.Errorf("unknown row details:\n%s", text)
	}
}

// TestSparkline feeds 30 refreshes of 2 s: curl receives 20 kB/s on even
// refreshes and nothing on odd ones; the received sparkline shows full bars
// and floor bars in turn, two columns (seconds) each.
func TestSparkline(t *testing.T) {
	s := newScreen(t, 100, 30)
	m := newModel(Config{})
	for seq := 1; seq <= 30; seq++ {
		snap := snapshot(seq)
		if seq%2 == 1 {
			snap.Rows[1].Recv = 0
		} else {
			snap.Rows[1].Recv = 40960
		}
		m.Update(snap)
	}
	m.HandleKey(special(tcell.KeyDown)) // curl, top by received
	if pid, _, _ := m.Selected(); pid != 100 {
		t.Fatalf("selected %d", pid)
	}
	line := find(screen(t, m, s), "received ▁")
	if line == "" {
		line = find(screen(t, m, s), "received █")
	}
	spark := strings.TrimPrefix(line, "received ")
	spark = strings.Fields(spark)[0]
	if n := len([]rune(spark)); n != 60 {
		t.Fatalf("sparkline of %d columns: %q", n, line)
	}
	want := strings.Repeat("▁▁██", 15) // oldest first, ends with seq 30 (even)
	if spark != want {
		t.Errorf("sparkline\n%s\nwant\n%s", spark, want)
	}
	if !strings.Contains(line, "peak 20.0 kB/s") {
		t.Errorf("peak label: %q", line)
	}
}

func TestHistoryRates(t *testing.T) {
	var h history
	// Five refreshes of 3 s each, 3000 B each: 1000 B/s from t0 to t0+15s.
	for k := 1; k <= 5; k++ {
		h.add(sample{t: t0.Add(time.Duration(3*k) * time.Second), elapsed: 3 * time.Second, sent: 3000}, t0.Add(time.Duration(3*k)*time.Second))
	}
	now := t0.Add(15 * time.Second)
	rate, cov := h.rates(60, now, true)
	for i := range 60 {
		if i < 45 && cov[i] {
			t.Errorf("bin %d covered before the first sample", i)
		}
		if i >= 45 && (!cov[i] || rate[i] < 999.999 || rate[i] > 1000.001) {
			t.Errorf("bin %d: %v %.3f, want 1000 B/s", i, cov[i], rate[i])
		}
	}
	// 30 bins of 2 s: the 3 s intervals straddle bins and still average 1000.
	rate, _ = h.rates(30, now, true)
	for i := 23; i < 30; i++ {
		if rate[i] < 999.999 || rate[i] > 1000.001 {
			t.Errorf("2 s bin %d: %.3f", i, rate[i])
		}
	}
	// Samples older than the window are forgotten.
	h.add(sample{t: t0.Add(80 * time.Second), elapsed: 65 * time.Second}, t0.Add(80*time.Second))
	if len(h.samples) != 1 {
		t.Errorf("%d samples kept, want 1", len(h.samples))
	}
}

func TestDeviceColumn(t *testing.T) {
	s := newScreen(t, 100, 24)
	m := newModel(Config{Devices: []Device{
		{Name: "eth0", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}},
		{Name: "lo", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}},
	}})
	m.Update(snapshot(1))
	lines := screen(t, m, s)
	// progW = 100-17-2-6-24-5 = 46; DEV at column 65.
	for _, c := range []struct{ pid, dev string }{{"100", "eth0"}, {"200", "eth0+"}, {"300", ""}} {
		row := find(lines, c.pid+" ")
		if got := strings.TrimSpace(row[65:71]); got != c.dev {
			t.Errorf("pid %s: DEV %q, want %q (%q)", c.pid, got, c.dev, row)
		}
	}
}

func TestDefaultUserName(t *testing.T) {
	m := New(Config{Version: "0.1.0"})
	if got := m.user(0); got != "root" {
		t.Errorf("uid 0: %q", got)
	}
	if got := m.user(3999999); got != "3999999" {
		t.Errorf("unknown uid: %q, want the number", got)
	}
}

func TestScrolling(t *testing.T) {
	s := newScreen(t, 80, 12) // 8 rows for table + TOTAL: 6 table rows
	m := newModel(Config{})
	snap := &trace.Snapshot{Time: t0, Elapsed: time.Second}
	for i := 1; i <= 20; i++ {
		snap.Rows = append(snap.Rows, trace.Row{Kind: trace.KindProcess, Name: fmt.Sprintf("p%02d", i), PID: i, Recv: uint64(10000 - i)})
	}
	m.Update(snap)
	lines := screen(t, m, s)
	if !strings.Contains(strings.Join(lines, "\n"), "more: arrows") {
		t.Errorf("no hint of hidden rows:\n%s", strings.Join(lines, "\n"))
	}
	m.HandleKey(special(tcell.KeyEnd))
	lines = screen(t, m, s)
	if find(lines, ">    20 root") == "" {
		t.Errorf("last row not scrolled into view:\n%s", strings.Join(lines, "\n"))
	}
	for y, l := range lines {
		if len([]rune(l)) > 80 {
			t.Errorf("line %d too wide", y)
		}
	}
}

// TestWideNames: names with wide characters, combining marks and invalid
// bytes keep the columns aligned: every row's values end at one column.
func TestWideNames(t *testing.T) {
	s := newScreen(t, 80, 20)
	m := newModel(Config{})
	snap := snapshot(1)
	snap.Rows[1].Name = "/opt/下载器/下载器下载器下载器下载器下载器下载器下载器下载器"
	snap.Rows[2].Name = "cafe\u0301-se\u0301rvice"
	snap.Rows[3].Name = "bad\xff\xfename"
	m.Update(snap)
	m.Draw(s)
	s.Show()
	cells, w, _ := s.GetContents()
	// Column of the unit's last letter on each table row.
	lines := screen(t, m, s)
	for y := 3; y < 7; y++ {
		end := -1
		for x := w - 1; x >= 0; x-- {
			if r := cells[y*w+x].Runes; len(r) > 0 && r[0] != ' ' {
				end = x
				break
			}
		}
		if end != w-2 { // "kB/s" ends one column before a 80-wide edge: unitX=75
			t.Errorf("row %d ends at column %d: %q", y, end, lines[y])
		}
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"..下载器下载器", "cafe\u0301-se\u0301rvice", "bad??name"} {
		if !strings.Contains(text, want) {
			t.Errorf("screen lacks %q:\n%s", want, text)
		}
	}
}

// TestTinyScreens: no size makes Draw fail, and nothing is drawn past the
// screen's edges.
func TestTinyScreens(t *testing.T) {
	m := newModel(Config{})
	m.Update(snapshot(1))
	m.HandleKey(special(tcell.KeyDown))
	s := newScreen(t, 1, 1)
	for _, size := range [][2]int{{0, 0}, {1, 1}, {61, 1}, {62, 1}, {62, 2}, {62, 3}, {62, 4}, {62, 5}, {62, 7}, {62, 9}, {200, 6}, {300, 80}} {
		s.SetSize(size[0], size[1])
		lines := screen(t, m, s)
		if len(lines) != size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if width(l) > size[0] {
				t.Errorf("%v: line wider than the screen: %q", size, l)
			}
		}
	}
}

// FuzzDraw draws arbitrary process names, arguments and filters: Draw
// never panics and no control character reaches the screen.
func FuzzDraw(f *testing.F) {
	f.Add("/usr/bin/curl", "-o x", "cu", uint8(70))
	f.Add("evil\x1b]0;title\x07", "\x1b[2J", "\x00", uint8(62))
	f.Add("下载器\u0301\u200d", "\xff", "载", uint8(100))
	f.Fuzz(func(t *testing.T, name, args, filter string, w uint8) {
		s := tcell.NewSimulationScreen("UTF-8")
		if err := s.Init(); err != nil {
			t.Fatal(err)
		}
		defer s.Fini()
		s.SetSize(int(w), 20)
		m := newModel(Config{Cmdline: true})
		snap := snapshot(1)
		snap.Rows[1].Name, snap.Rows[1].Args = name, args
		snap.Rows[1].Cmdline = []string{name, args}
		m.Update(snap)
		typeFilter(m, filter)
		m.HandleKey(special(tcell.KeyDown))
		noControls(t, m, s)
	})
}

// noControls draws m on s and fails t if a control character reached the
// screen.
func noControls(t *testing.T, m *Model, s tcell.SimulationScreen) {
	t.Helper()
	m.Draw(s)
	s.Show()
	cells, _, _ := s.GetContents()
	for _, c := range cells {
		for _, r := range c.Runes {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("control character %U on screen", r)
			}
		}
	}
}

// BenchmarkDraw draws a screen of 1000 processes with a selection (sort,
// filter, layout and cells): the cost of one key press or refresh.
func BenchmarkDraw(b *testing.B) {
	s := tcell.NewSimulationScreen("UTF-8")
	if err := s.Init(); err != nil {
		b.Fatal(err)
	}
	defer s.Fini()
	s.SetSize(160, 50)
	m := newModel(Config{})
	for seq := 1; seq <= 60; seq++ {
		snap := &trace.Snapshot{Time: t0.Add(time.Duration(seq) * time.Second), Elapsed: time.Second, Seq: seq}
		for i := 1; i <= 1000; i++ {
			snap.Rows = append(snap.Rows, trace.Row{Kind: trace.KindProcess, Name: fmt.Sprintf("/usr/bin/prog%04d", i),
				PID: i, UID: 1000, Sent: uint64(i * seq), Recv: uint64(1000*i - seq), TotalSent: uint64(i * seq * seq)})
		}
		m.Update(snap)
	}
	m.HandleKey(special(tcell.KeyDown))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Draw(s)
		s.Show()
	}
}

// BenchmarkUpdate takes a refresh of 1000 processes into the model (with
// their 60 s histories).
func BenchmarkUpdate(b *testing.B) {
	m := newModel(Config{})
	snaps := make([]*trace.Snapshot, 60)
	for k := range snaps {
		snap := &trace.Snapshot{Time: t0.Add(time.Duration(k) * time.Second), Elapsed: time.Second, Seq: k}
		for i := 1; i <= 1000; i++ {
			snap.Rows = append(snap.Rows, trace.Row{Kind: trace.KindProcess, Name: "p", PID: i, Sent: uint64(i)})
		}
		snaps[k] = snap
	}
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		s := *snaps[k%60]
		s.Time = t0.Add(time.Duration(k) * time.Second)
		m.Update(&s)
		k++
	}
}

func TestStatus(t *testing.T) {
	s := newScreen(t, 100, 24)
	m := newModel(Config{})
	m.Update(snapshot(1))
	m.SetStatus("eth1: capture: interface \"eth1\" went down")
	for seq := 2; seq <= 1+StatusRefreshes; seq++ {
		lines := screen(t, m, s)
		if !strings.HasPrefix(lines[1], "eth1: capture") {
			t.Fatalf("refresh %d: line 1 %q", seq, lines[1])
		}
		m.Update(snapshot(seq))
	}
	if l := screen(t, m, s)[1]; strings.Contains(l, "eth1") || !strings.Contains(l, "4 rows") {
		t.Errorf("after %d refreshes: %q", StatusRefreshes, l)
	}
}

// TestDetailsCut: more connections than fit end with a count of the rest.
func TestDetailsCut(t *testing.T) {
	s := newScreen(t, 100, 20)
	m := newModel(Config{})
	snap := snapshot(1)
	for i := 0; i < 30; i++ {
		snap.Rows[1].Conns = append(snap.Rows[1].Conns, trace.Conn{Proto: 17,
			Local:  netip.MustParseAddrPort("10.0.0.5:53"),
			Remote: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.9"), uint16(1000+i)), Recv: uint64(100000 + 100*i)})
	}
	m.Update(snap)
	m.HandleKey(special(tcell.KeyDown))
	lines := screen(t, m, s)
	text := strings.Join(lines, "\n")
	// 20 rows: 3 header, 4 table, blank, TOTAL, blank, 9 details, keys.
	// Details: heading, command, total, 2 sparklines, legend,
	// "connections: 31" and 31 connections: 38 lines; 8 shown, and the
	// count of the 30 others.
	want := "  ... 30 more lines"
	if !strings.Contains(text, want) {
		t.Errorf("no %q:\n%s", want, text)
	}
	if !strings.Contains(text, "UDP  10.0.0.5:53 -> 10.0.0.9:1029") {
		t.Errorf("the busiest connection is not first:\n%s", text)
	}
}

// TestHistoryMerge: at -d 0.1 a row keeps one sample per second, and the
// rates are unchanged: 1000 B per 100 ms is 10000 B/s in every bin.
func TestHistoryMerge(t *testing.T) {
	var h history
	for k := 1; k <= 1200; k++ { // two minutes
		now := t0.Add(time.Duration(k) * 100 * time.Millisecond)
		h.add(sample{t: now, elapsed: 100 * time.Millisecond, recv: 1000}, now)
	}
	if n := len(h.samples); n < 60 || n > 61 {
		t.Errorf("%d samples kept, want 60 or 61", n)
	}
	rate, cov := h.rates(60, t0.Add(120*time.Second), false)
	for i := range rate {
		if !cov[i] || rate[i] < 9999.99 || rate[i] > 10000.01 {
			t.Errorf("bin %d: %v %.3f, want 10000 B/s", i, cov[i], rate[i])
		}
	}
	// A gap (a refresh missed, Ctrl-Z) is not merged over.
	h.add(sample{t: t0.Add(125 * time.Second), elapsed: 4 * time.Second}, t0.Add(125*time.Second))
	h.add(sample{t: t0.Add(125500 * time.Millisecond), elapsed: 500 * time.Millisecond, recv: 500}, t0.Add(125500*time.Millisecond))
	last := h.samples[len(h.samples)-1]
	if last.elapsed != 500*time.Millisecond || last.recv != 500 {
		t.Errorf("last sample %+v", last)
	}
}

// TestPause: p freezes the table (refreshes still go into the history), p
// again shows the latest refresh; keys act on the frozen table.
func TestPause(t *testing.T) {
	s := newScreen(t, 110, 24)
	m := newModel(Config{})
	m.Update(snapshot(1))
	m.HandleKey(key('p'))
	later := snapshot(2)
	later.Rows[1].Recv = 0 // curl goes quiet
	m.Update(later)
	lines := screen(t, m, s)
	if !strings.Contains(lines[1], "PAUSED") {
		t.Errorf("info line %q", lines[1])
	}
	if got := pids(tableRows(lines)); fmt.Sprint(got) != "[100 300 200 ?]" {
		t.Errorf("paused table changed: %v", got)
	}
	m.HandleKey(key('s'))
	if got := pids(tableRows(screen(t, m, s))); fmt.Sprint(got) != "[200 300 100 ?]" {
		t.Errorf("s on the paused table: %v", got)
	}
	m.HandleKey(key('r'))
	m.HandleKey(key(' '))
	lines = screen(t, m, s)
	if strings.Contains(lines[1], "PAUSED") || m.Paused() {
		t.Errorf("still paused: %q", lines[1])
	}
	if got := pids(tableRows(lines)); fmt.Sprint(got) != "[300 200 100 ?]" {
		t.Errorf("after unpausing: %v, want the latest refresh's order", got)
	}
	if h := m.hist[rowKey{kind: trace.KindProcess, pid: 100, start: 5}]; h == nil || len(h.samples) != 2 {
		t.Errorf("history while paused: %+v", h)
	}
}

// TestControlKeys: Ctrl-L, Ctrl-Z and Ctrl-C are passed to the caller, in
// the table and while typing a filter.
func TestControlKeys(t *testing.T) {
	m := newModel(Config{})
	m.Update(snapshot(1))
	for _, editing := range []bool{false, true} {
		if editing {
			m.HandleKey(key('/'))
		}
		for k, want := range map[tcell.Key]Action{tcell.KeyCtrlL: Resync, tcell.KeyCtrlZ: Suspend, tcell.KeyCtrlC: Quit} {
			if got := m.HandleKey(special(k)); got != want {
				t.Errorf("editing %v: key %v gave %v, want %v", editing, k, got, want)
			}
		}
	}
	if m.Filter() != "" {
		t.Errorf("control keys typed into the filter: %q", m.Filter())
	}
}
