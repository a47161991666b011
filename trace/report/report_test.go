package report

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// prow is a process row of a synthetic log: values in the view mode's unit.
type prow struct {
	name       string
	pid        int
	uid        uint32
	sent, recv float64
}

// logText writes a trace log with the grammar's printer: optional header,
// start-up lines, blocks.
func logText(h *Header, blocks [][]prow) string {
	var b []byte
	if h != nil {
		b = append(append(b, h.String()...), '\n')
	}
	for _, addr := range []string{"127.0.0.1", "::1"} {
		b = append(nethogs.AppendAddressLine(b, addr), '\n')
	}
	b = append(append(b, nethogs.LinkLine(1)...), '\n')
	for _, blk := range blocks {
		b = append(b, "\n"+nethogs.RefreshLine+"\n"...)
		for _, p := range blk {
			b = append(nethogs.AppendProc(b, nethogs.Proc{Name: p.name, PID: p.pid, UID: p.uid, Sent: p.sent, Recv: p.recv}), '\n')
		}
		b = append(b, "unknown TCP/0/0\t0\t0\n"...)
	}
	return string(b)
}

// traffic is the known bytes of one process per refresh.
type traffic struct {
	name       string
	pid        int
	uid        uint32
	sent, recv []float64 // bytes in each refresh
}

// render turns known traffic into the blocks a monitor in view mode view
// with delay d prints: rates (bytes/d/unit) or running totals (/unit).
func render(view int, d time.Duration, procs []traffic) [][]prow {
	unit, cumulative := Unit(view)
	n := len(procs[0].sent)
	blocks := make([][]prow, n)
	cumS := make([]float64, len(procs))
	cumR := make([]float64, len(procs))
	for i := 0; i < n; i++ {
		for j, p := range procs {
			cumS[j] += p.sent[i]
			cumR[j] += p.recv[i]
			r := prow{name: p.name, pid: p.pid, uid: p.uid}
			if cumulative {
				r.sent, r.recv = cumS[j]/unit, cumR[j]/unit
			} else {
				r.sent, r.recv = p.sent[i]/d.Seconds()/unit, p.recv[i]/d.Seconds()/unit
			}
			blocks[i] = append(blocks[i], r)
		}
	}
	return blocks
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// near checks got against the truth within the rounding of 6-digit numbers.
func near(t *testing.T, what string, got, truth float64) {
	t.Helper()
	if tol := 1e-5*truth + 1; math.Abs(got-truth) > tol {
		t.Errorf("%s = %.0f, want %.0f ± %.0f", what, got, truth, tol)
	}
}

func rowOf(t *testing.T, rows []Row, name string, pid int) Row {
	t.Helper()
	for _, r := range rows {
		if r.Name == name && r.PID == pid {
			return r
		}
	}
	t.Fatalf("no row %s/%d in %+v", name, pid, rows)
	return Row{}
}

var knownTraffic = []traffic{
	{name: "curl", pid: 100, uid: 1000,
		sent: []float64{0, 1_000_000, 2_500_000, 123_456, 0, 7_777_777},
		recv: []float64{512, 40_000_000, 0, 3_000_000_000, 1, 65_536}},
	{name: "sshd: root@pts/0", pid: 200, uid: 0,
		sent: []float64{100, 200, 300, 400, 500, 600},
		recv: []float64{0, 0, 0, 0, 0, 0}},
}

// TestViewModes writes the same known traffic in every view mode, with the
// settings in a header and in Options, and checks bytes, peak and mean.
func TestViewModes(t *testing.T) {
	for view := ViewKBps; view <= ViewGBps; view++ {
		for _, d := range []time.Duration{time.Second, 500 * time.Millisecond, 2 * time.Second} {
			for _, viaHeader := range []bool{false, true} {
				t.Run(fmt.Sprintf("v%d/%v/header=%v", view, d, viaHeader), func(t *testing.T) {
					blocks := render(view, d, knownTraffic)
					opts := Options{Delay: d, ViewMode: view, By: ByPID}
					var h *Header
					if viaHeader {
						h = &Header{Delay: d, ViewMode: view, Run: "r", Seq: 1}
						opts = Options{Delay: 7 * time.Second, ViewMode: (view + 1) % 6, By: ByPID} // must be overridden
					}
					rep := New(opts)
					if err := rep.Add("log", strings.NewReader(logText(h, blocks))); err != nil {
						t.Fatal(err)
					}
					if w := rep.Warnings(); len(w) != 0 {
						t.Fatalf("warnings: %v", w)
					}
					rows := rep.Rows()
					for _, p := range knownTraffic {
						r := rowOf(t, rows, p.name, p.pid)
						near(t, p.name+" sent", float64(r.Sent), sum(p.sent))
						near(t, p.name+" recv", float64(r.Recv), sum(p.recv))
						peakS, peakR := 0.0, 0.0
						for i := range p.sent {
							peakS, peakR = max(peakS, p.sent[i]/d.Seconds()), max(peakR, p.recv[i]/d.Seconds())
						}
						near(t, p.name+" peak sent", r.PeakSent, peakS)
						near(t, p.name+" peak recv", r.PeakRecv, peakR)
						secs := d.Seconds() * float64(len(p.sent))
						near(t, p.name+" mean sent", r.MeanSent, sum(p.sent)/secs)
						if r.Refreshes != len(p.sent) || r.Seen != time.Duration(len(p.sent))*d {
							t.Errorf("%s seen %d refreshes, %v", p.name, r.Refreshes, r.Seen)
						}
						if int64(r.UID) != int64(p.uid) || r.Processes != 1 {
							t.Errorf("%s uid %d processes %d", p.name, r.UID, r.Processes)
						}
					}
					if len(rows) != 3 || rows[0].Name != "curl" || rows[2].Name != "unknown TCP" {
						t.Errorf("rows not sorted by total: %+v", rows)
					}
				})
			}
		}
	}
}

// TestRotatedRun splits one cumulative run over three files: counters
// continue across files, so each process counts its last value in the run,
// whatever order the files are given in. A second run adds up.
func TestRotatedRun(t *testing.T) {
	start := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
	run := NewRun(start)
	// KB totals; "old" exits after file 1, "new" starts in file 3.
	files := [][][]prow{
		{{{"app", 10, 0, 1, 2}, {"old", 11, 0, 5, 0}}, {{"app", 10, 0, 3, 4}, {"old", 11, 0, 9, 0}}},
		{{{"app", 10, 0, 7, 8}}, {{"app", 10, 0, 10, 12}}},
		{{{"app", 10, 0, 20, 24}, {"new", 12, 0, 1, 1}}, {{"app", 10, 0, 30, 36}, {"new", 12, 0, 4, 2}}},
	}
	texts := make([]string, len(files))
	for i, f := range files {
		texts[i] = logText(&Header{Delay: time.Second, ViewMode: ViewKB, Run: run, Seq: i + 1}, f)
	}
	want := map[string][2]int64{"app": {30 * 1024, 36 * 1024}, "old": {9 * 1024, 0}, "new": {4 * 1024, 2 * 1024}}
	for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}} {
		rep := New(Options{ViewMode: ViewAuto})
		for _, i := range order {
			if err := rep.Add(fmt.Sprintf("f%d", i+1), strings.NewReader(texts[i])); err != nil {
				t.Fatal(err)
			}
		}
		if len(rep.Warnings()) != 0 {
			t.Fatalf("warnings: %v", rep.Warnings())
		}
		rows := rep.Rows()
		for name, w := range want {
			r := rowOf(t, rows, name, 0)
			if r.Sent != w[0] || r.Recv != w[1] {
				t.Errorf("order %v: %s = %d/%d, want %d/%d", order, name, r.Sent, r.Recv, w[0], w[1])
			}
		}
		app := rowOf(t, rows, "app", 0)
		// Peak: growth between refreshes over the delay; 10->20 KB across the
		// file boundary and 20->30 are the largest.
		if app.PeakSent != 10*1024 || app.PeakRecv != 12*1024 {
			t.Errorf("app peak = %v/%v, want 10240/12288", app.PeakSent, app.PeakRecv)
		}
		// Refresh k of the run is at start + k s: app in 0..5, new in 4..5.
		newRow := rowOf(t, rows, "new", 0)
		if !app.First.Equal(start) || !app.Last.Equal(start.Add(5*time.Second)) ||
			!newRow.First.Equal(start.Add(4*time.Second)) || newRow.Refreshes != 2 {
			t.Errorf("times: app %v..%v, new %v..%v (%d)", app.First, app.Last, newRow.First, newRow.Last, newRow.Refreshes)
		}
	}

	// A missing file of the run is reported (nothing skipped).
	rep := New(Options{})
	rep.Add("f1", strings.NewReader(texts[0]))
	rep.Add("f3", strings.NewReader(texts[2]))
	if w := rep.Warnings(); len(w) != 1 || w[0].Kind != WarnGap || w[0].Skipped() ||
		w[0].String() != "run "+run+": no file with seq 2 among seq 1..3: its traffic is missing and later refresh times are early" {
		t.Errorf("gap warnings %v", w)
	}

	// Another run of the same program adds up; its counters start again.
	rep = New(Options{})
	for i, txt := range texts {
		rep.Add(fmt.Sprintf("f%d", i), strings.NewReader(txt))
	}
	other := logText(&Header{Delay: time.Second, ViewMode: ViewKB, Run: NewRun(start.Add(time.Hour)), Seq: 1},
		[][]prow{{{"app", 10, 0, 2, 0}}, {{"app", 10, 0, 5, 1}}})
	rep.Add("run2", strings.NewReader(other))
	if r := rowOf(t, rep.Rows(), "app", 0); r.Sent != 35*1024 || r.Recv != 37*1024 {
		t.Errorf("two runs: app = %d/%d, want %d/%d", r.Sent, r.Recv, 35*1024, 37*1024)
	}

	// A running total that shrinks restarted: what it had counted stays.
	rep = New(Options{ViewMode: ViewKB})
	rep.Add("reset", strings.NewReader(logText(nil, [][]prow{{{"app", 10, 0, 5, 1}}, {{"app", 10, 0, 8, 2}}, {{"app", 10, 0, 1, 1}}, {{"app", 10, 0, 3, 1}}})))
	if r := rowOf(t, rep.Rows(), "app", 0); r.Sent != 11*1024 || r.Recv != 3*1024 || r.PeakSent != 5*1024 {
		t.Errorf("restarted counter: app = %d/%d peak %v, want %d/%d peak 5120", r.Sent, r.Recv, r.PeakSent, 11*1024, 3*1024)
	}

	// Header-less cumulative logs are one run each: two nethogs files add up.
	rep = New(Options{ViewMode: ViewBytes})
	for i := 0; i < 2; i++ {
		rep.Add("nethogs.log", strings.NewReader(logText(nil, [][]prow{{{"app", 10, 0, 100, 0}}, {{"app", 10, 0, 250, 0}}})))
	}
	if r := rowOf(t, rep.Rows(), "app", 0); r.Sent != 500 {
		t.Errorf("two header-less -v 2 logs: app sent %d, want 500", r.Sent)
	}
}

// TestConcatenated reads rotated files of two runs concatenated on one
// input: each header starts a new stretch with its own settings.
func TestConcatenated(t *testing.T) {
	a := logText(&Header{Delay: time.Second, ViewMode: ViewBytes, Run: "A", Seq: 1}, [][]prow{{{"x", 1, 0, 100, 0}}})
	b := logText(&Header{Delay: time.Second, ViewMode: ViewBytes, Run: "A", Seq: 2}, [][]prow{{{"x", 1, 0, 300, 0}}})
	c := logText(&Header{Delay: 2 * time.Second, ViewMode: ViewKBps, Run: "B", Seq: 1}, [][]prow{{{"x", 1, 0, 1, 0}}, {{"x", 1, 0, 2, 0}}})
	// nethogs output appended with no header: a new run read with Options.
	d := logText(nil, [][]prow{{{"x", 1, 0, 4, 0}}})
	rep := New(Options{Delay: 500 * time.Millisecond, ViewMode: ViewKBps})
	if err := rep.Add("cat", strings.NewReader(a+b+c+d)); err != nil {
		t.Fatal(err)
	}
	// d has no header: it is read with the options (0.5 s, KB/s).
	want := int64(300 + 3*2*1024 + 4*1024/2)
	if r := rowOf(t, rep.Rows(), "x", 0); r.Sent != want || r.Refreshes != 5 {
		t.Errorf("x sent %d in %d refreshes, want %d in 5; warnings %v", r.Sent, r.Refreshes, want, rep.Warnings())
	}
}

func TestNamesAndGrouping(t *testing.T) {
	log := logText(nil, [][]prow{
		{
			{"python3 -m http.server 8000", 300, 1000, 10, 20},
			{"python3 client.py", 301, 1000, 1, 2},
			{"sshd: root@pts/0", 4002, 0, 3, 3},
			{"/usr/bin/my prog", 5, 33, 1, 1},
			{"127.0.0.1:44770-127.0.0.1:7101", 0, 0, 356, 0},
		},
		{
			{"python3 -m http.server 8000", 302, 1000, 10, 20}, // a new pid, same name
			{"sshd: root@pts/0", 4002, 0, 3, 3},
		},
	})
	rowsBy := func(by GroupBy) []Row {
		rep := New(Options{By: by})
		if err := rep.Add("l", strings.NewReader(log)); err != nil {
			t.Fatal(err)
		}
		return rep.Rows()
	}
	byName := rowsBy(ByName)
	srv := rowOf(t, byName, "python3 -m http.server 8000", 0)
	if srv.Sent != 20*1024 || srv.Recv != 40*1024 || srv.Processes != 2 || srv.Refreshes != 2 {
		t.Errorf("by name, server: %+v", srv)
	}
	if r := rowOf(t, byName, "/usr/bin/my prog", 0); r.Sent != 1024 || r.UID != -1 {
		t.Errorf("name with / and space: %+v", r)
	}
	if r := rowOf(t, byName, "127.0.0.1:44770-127.0.0.1:7101", 0); r.Sent != 356*1024 {
		t.Errorf("pseudo-process row: %+v", r)
	}
	byPID := rowsBy(ByPID)
	if len(byPID) != 7 { // 6 processes + unknown TCP
		t.Errorf("by pid: %d rows, want 7: %+v", len(byPID), byPID)
	}
	if r := rowOf(t, byPID, "sshd: root@pts/0", 4002); r.Sent != 6*1024 || r.UID != 0 {
		t.Errorf("by pid, sshd: %+v", r)
	}
	byUser := rowsBy(ByUser)
	users := map[int64]int64{}
	for _, r := range byUser {
		users[r.UID] = r.Total()
	}
	wantUsers := map[int64]int64{1000: (10 + 20 + 1 + 2 + 10 + 20) * 1024, 0: 12 * 1024, 33: 2 * 1024, -1: 356 * 1024}
	if fmt.Sprint(users) != fmt.Sprint(wantUsers) {
		t.Errorf("by user = %v, want %v", users, wantUsers)
	}
	if byUser[0].UID != -1 || byUser[1].UID != 1000 {
		t.Errorf("by user not sorted by total: %+v", byUser)
	}
}

func TestMalformed(t *testing.T) {
	log := "Adding local address: 127.0.0.1\n" +
		"app/1/0\t5\t5\n" + // 2: before any block
		"\nRefreshing:\n" +
		"app/1/0\t1\t0\n" +
		"app/1/0 1 0\n" + // 6: spaces, not tabs
		"app/x/0\t1\t0\n" + // 7
		"app/1/0\t1\n" + // 8
		"# gohogs delay=0s view=0\n" + // 9
		"unknown TCP/0/0\t0\t0\r\n" + // CRLF is fine
		"\nRefreshing:\n" +
		"app/1/0\t2\t0" // no final newline: still read
	rep := New(Options{})
	if err := rep.Add("bad.log", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range rep.Warnings() {
		got = append(got, strconv.Itoa(w.Line))
		if !w.Skipped() || w.Kind != WarnMalformed || w.File != "bad.log" {
			t.Errorf("warning %+v", w)
		}
	}
	if strings.Join(got, ",") != "2,6,7,8,9" {
		t.Errorf("malformed lines %v, want 2,6,7,8,9: %v", got, rep.Warnings())
	}
	if lines, any := rep.Skipped(); lines != 5 || !any {
		t.Errorf("Skipped = %d, %v", lines, any)
	}
	if r := rowOf(t, rep.Rows(), "app", 0); r.Sent != 3*1024 {
		t.Errorf("app sent %d, want %d (good lines only)", r.Sent, 3*1024)
	}
	if s := rep.Warnings()[0].String(); s != "bad.log:2: process row outside a refresh block (no Refreshing: line before it)" {
		t.Errorf("warning text %q", s)
	}

	// Garbage: warnings are capped, the rest counted; a huge line is one warning.
	var b strings.Builder
	b.WriteString("\nRefreshing:\napp/1/0\t1\t0\n")
	for i := 0; i < 500; i++ {
		b.WriteString("\x00\xff garbage\n")
	}
	b.WriteString(strings.Repeat("x", 200000) + "\n")
	b.WriteString("app/1/0\t1\t0\n")
	rep = New(Options{MaxWarnings: 10})
	if err := rep.Add("junk", strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	w := rep.Warnings()
	if len(w) != 11 || w[10].Kind != WarnMoreMalformed || w[10].Count != 491 {
		t.Errorf("capped warnings: %d, last %+v", len(w), w[len(w)-1])
	}
	if lines, _ := rep.Skipped(); lines != 501 {
		t.Errorf("skipped %d lines, want 501", lines)
	}
	if r := rowOf(t, rep.Rows(), "app", 0); r.Sent != 2*1024 {
		t.Errorf("app after garbage: %d", r.Sent)
	}
}

func TestDuplicateFile(t *testing.T) {
	txt := logText(&Header{Delay: time.Second, ViewMode: 0, Run: "R", Seq: 1}, [][]prow{{{"a", 1, 0, 1, 0}}})
	rep := New(Options{})
	rep.Add("one", strings.NewReader(txt))
	rep.Add("copy", strings.NewReader(txt))
	w := rep.Warnings()
	if len(w) != 1 || w[0].Kind != WarnDuplicate || w[0].File != "copy" || !w[0].Skipped() {
		t.Fatalf("warnings %+v", w)
	}
	if r := rowOf(t, rep.Rows(), "a", 0); r.Sent != 1024 {
		t.Errorf("duplicate counted: %d", r.Sent)
	}
	// A file reopened after logrotate moved it starts with the same header
	// but holds other refreshes: not a duplicate.
	reopened := logText(&Header{Delay: time.Second, ViewMode: 0, Run: "R", Seq: 1}, [][]prow{{{"a", 1, 0, 2, 0}}})
	rep.Add("reopened", strings.NewReader(reopened))
	if r := rowOf(t, rep.Rows(), "a", 0); r.Sent != 3*1024 || len(rep.Warnings()) != 1 {
		t.Errorf("reopened file: %d bytes, warnings %v", r.Sent, rep.Warnings())
	}
}

func TestViewHeuristic(t *testing.T) {
	growing := logText(nil, [][]prow{{{"a", 1, 0, 10, 0}}, {{"a", 1, 0, 20, 0}}, {{"a", 1, 0, 30, 0}}, {{"a", 1, 0, 40, 0}}})
	rates := logText(nil, [][]prow{{{"a", 1, 0, 10, 0}}, {{"a", 1, 0, 20, 0}}, {{"a", 1, 0, 30, 0}}, {{"a", 1, 0, 25, 0}}})
	for _, c := range []struct {
		log  string
		view int
		warn bool
	}{{growing, ViewAuto, true}, {growing, ViewKBps, false}, {rates, ViewAuto, false}, {growing, ViewKB, false}} {
		rep := New(Options{ViewMode: c.view})
		rep.Add("f", strings.NewReader(c.log))
		w := rep.Warnings()
		if got := len(w) == 1 && w[0].Kind == WarnViewMode && !w[0].Skipped(); got != c.warn || (!c.warn && len(w) > 0) {
			t.Errorf("view %d: warnings %+v, want warning %v", c.view, w, c.warn)
		}
		if r := rowOf(t, rep.Rows(), "a", 0); r.Sent != 100*1024 && c.log == growing && c.view != ViewKB {
			t.Errorf("read as KB/s: %d", r.Sent)
		}
	}
}

// TestViewHeuristicRates: a KB/s log read with -v 1 decreases often.
func TestViewHeuristicRates(t *testing.T) {
	rates := logText(nil, [][]prow{{{"a", 1, 0, 10, 0}}, {{"a", 1, 0, 5, 0}}, {{"a", 1, 0, 30, 0}}, {{"a", 1, 0, 25, 0}}})
	rep := New(Options{ViewMode: ViewKB})
	rep.Add("f", strings.NewReader(rates))
	if w := rep.Warnings(); len(w) != 1 || w[0].Kind != WarnViewMode || !strings.Contains(w[0].Reason, "numbers decrease 2 times in 4 refreshes") {
		t.Errorf("warnings %v", w)
	}
	// With a header the view mode is known: no guessing.
	rep = New(Options{})
	rep.Add("g", strings.NewReader(logText(&Header{Delay: time.Second, ViewMode: ViewKB}, [][]prow{{{"a", 1, 0, 10, 0}}, {{"a", 1, 0, 5, 0}}, {{"a", 1, 0, 30, 0}}, {{"a", 1, 0, 25, 0}}})))
	if w := rep.Warnings(); len(w) != 0 {
		t.Errorf("header: warnings %v", w)
	}
}

func TestGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(logText(nil, [][]prow{{{"a", 1, 0, 2, 3}}})))
	zw.Close()
	rep := New(Options{})
	if err := rep.Add("x.log.gz", &buf); err != nil {
		t.Fatal(err)
	}
	if r := rowOf(t, rep.Rows(), "a", 0); r.Sent != 2048 || r.Recv != 3072 {
		t.Errorf("gzip: %+v", r)
	}
}

// A truncated gzip log (logrotate still compressing it, a full disk) is an
// error that says so; its header alone too.
func TestGzipTruncated(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for range 200 {
		zw.Write([]byte(logText(nil, [][]prow{{{"a", 1, 0, 2, 3}}})))
	}
	zw.Close()
	for _, n := range []int{5, buf.Len() - 20} {
		rep := New(Options{})
		err := rep.Add("x.log.gz", bytes.NewReader(buf.Bytes()[:n]))
		if err == nil || !strings.Contains(err.Error(), "x.log.gz") || !strings.Contains(err.Error(), "truncated or corrupt") {
			t.Errorf("first %d of %d bytes: error %v", n, buf.Len(), err)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0 B", 512: "512 B", 1023: "1023 B", 1024: "1.00 KiB", 1536: "1.50 KiB",
		12.3 * 1024 * 1024: "12.3 MiB", 1023.9 * 1024: "1.00 MiB", 993 * 1 << 30: "993 GiB",
	} {
		if got := HumanBytes(v); got != want {
			t.Errorf("HumanBytes(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestTableNoTrailingSpaces: every grouping, with and without times.
func TestTableNoTrailingSpaces(t *testing.T) {
	for _, by := range []GroupBy{ByName, ByPID, ByUser, ByUnit, ByContainer, ByRemote} {
		rep := New(Options{By: by})
		rep.Add("a", strings.NewReader(logText(&Header{Delay: time.Second, Run: NewRun(time.Unix(0, 0))}, [][]prow{{{"a b", 1, 0, 1, 2}}})))
		rep.Add("b", strings.NewReader(logText(nil, [][]prow{{{"c", 2, 5, 3, 0}}})))
		var b strings.Builder
		if err := WriteTable(&b, by, rep.Rows()); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		for _, l := range lines {
			if strings.TrimRight(l, " ") != l {
				t.Errorf("%v: trailing spaces in %q", by, l)
			}
		}
		// Without times (a nethogs log alone) there are no FIRST, LAST
		// columns, and no spaces where they were.
		untimed := New(Options{By: by})
		untimed.Add("b", strings.NewReader(logText(nil, [][]prow{{{"c", 2, 5, 3, 0}}})))
		var u strings.Builder
		WriteTable(&u, by, untimed.Rows())
		for _, l := range strings.Split(u.String(), "\n") {
			if strings.TrimRight(l, " ") != l || strings.Contains(l, "FIRST") {
				t.Errorf("%v without times: %q", by, l)
			}
		}
		want := 4 // a b, c, unknown TCP
		if by.factGrouping() {
			want = 2 // all under FromTrace
			if !strings.HasSuffix(lines[1], "  "+FromTrace) {
				t.Errorf("%v: trace rows not under %q: %q", by, FromTrace, lines[1])
			}
		}
		if len(lines) != want || !strings.Contains(b.String(), "1970-01-01T00:00:00Z") {
			t.Errorf("%v:\n%s", by, b.String())
		}
	}
}
