package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/trace/report"
)

// repRun runs `gohogs report ARGS` through runReport.
func repRun(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runReport(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// repSamples finds shared/nethogs-samples above the working directory
// (CI copies shared/ beside the repository), or skips.
func repSamples(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for i := 0; i < 10; i++ {
		for _, c := range []string{filepath.Join(dir, "shared", "nethogs-samples"), filepath.Join(dir, "..", "shared", "nethogs-samples")} {
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c
			}
		}
		dir = filepath.Dir(dir)
	}
	t.Skip("shared/nethogs-samples not found")
	return ""
}

// repNaive sums value × unit × 1 s per pid of every tab-separated line, and
// keeps each pid's last values: an independent reader for the samples.
func repNaive(t *testing.T, paths []string, unit float64) (sums, last map[string][2]float64) {
	t.Helper()
	sums, last = map[string][2]float64{}, map[string][2]float64{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 3 {
				continue
			}
			id := strings.Split(f[0], "/")
			key := id[len(id)-2] + "/" + strings.Join(id[:len(id)-2], "/")
			s, _ := strconv.ParseFloat(f[1], 64)
			r, _ := strconv.ParseFloat(f[2], 64)
			v := sums[key]
			sums[key] = [2]float64{v[0] + s*unit, v[1] + r*unit}
			last[key] = [2]float64{s * unit, r * unit}
		}
	}
	return sums, last
}

// repCSV parses CSV output into rows keyed by the first columns.
func repCSV(t *testing.T, out string, keyCols int) map[string]map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse back: %v\n%s", err, out)
	}
	rows := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows[strings.Join(rec[:keyCols], "/")] = m
	}
	return rows
}

func repInt(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not an integer byte count: %q", s)
	}
	return v
}

// TestReportSamples: the report of every real nethogs sample, by pid in CSV,
// is the independent sum of value × 1024 × 1 s (KB/s logs), or the last value
// (the -v 2 log); and all the KB/s logs in one report add up by name.
func TestReportSamples(t *testing.T) {
	dir := repSamples(t)
	kbps, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	var v2 string
	for i, p := range kbps {
		if strings.HasSuffix(p, "-v2.txt") {
			v2 = p
			kbps = append(kbps[:i], kbps[i+1:]...)
			break
		}
	}
	if len(kbps) != 6 || v2 == "" {
		t.Fatalf("samples: %v, %q", kbps, v2)
	}
	for _, p := range kbps {
		code, out, errs := repRun(t, "", append([]string{"--by", "pid", "--format", "csv"}, p)...)
		if code != 0 || errs != "" {
			t.Fatalf("%s: exit %d, stderr %q", p, code, errs)
		}
		rows := repCSV(t, out, 1)
		sums, _ := repNaive(t, []string{p}, 1024)
		for key, v := range sums {
			pid := strings.SplitN(key, "/", 2)[0]
			if pid == "0" {
				continue
			}
			r := rows[pid]
			if r == nil || repInt(t, r["sent_bytes"]) != int64(math.Round(v[0])) || repInt(t, r["recv_bytes"]) != int64(math.Round(v[1])) {
				t.Errorf("%s pid %s: csv %v, independent %.0f/%.0f", filepath.Base(p), pid, r, v[0], v[1])
			}
		}
	}

	// -v 2: the last value of each process, e.g. the client's 6.03987e+06.
	code, out, errs := repRun(t, "", "-v", "2", "--by", "pid", "--format", "csv", v2)
	if code != 0 || errs != "" {
		t.Fatalf("v2: exit %d, stderr %q", code, errs)
	}
	rows := repCSV(t, out, 1)
	if rows["5118"]["sent_bytes"] != "6039870" || rows["4946"]["sent_bytes"] != "39740" {
		t.Errorf("v2 totals: %v", rows)
	}
	// Without -v the numbers are read as KB/s, with a warning; exit 0.
	code, _, errs = repRun(t, "", v2)
	if code != 0 || !strings.Contains(errs, filepath.Base(v2)+": warning: numbers only grow") {
		t.Errorf("v2 without -v: exit %d, stderr %q", code, errs)
	}

	// All KB/s logs in one report, by name.
	code, out, errs = repRun(t, "", append([]string{"--format", "csv"}, kbps...)...)
	if code != 0 || errs != "" {
		t.Fatalf("all: exit %d, stderr %q", code, errs)
	}
	byName := map[string]float64{}
	sums, _ := repNaive(t, kbps, 1024)
	for key, v := range sums {
		byName[strings.SplitN(key, "/", 2)[1]] += v[0] + v[1]
	}
	rows = repCSV(t, out, 1)
	if len(rows) != len(byName) {
		t.Errorf("%d names, want %d", len(rows), len(byName))
	}
	for name, total := range byName {
		if got := repInt(t, rows[name]["total_bytes"]); math.Abs(float64(got)-total) > 2 {
			t.Errorf("%s: total %d, independent %.0f", name, got, total)
		}
	}
	t.Logf("iperf3 in all six KB/s samples: %s bytes", rows["iperf3"]["total_bytes"])
}

// repLog writes a synthetic trace log: header (if any), start-up lines, and
// blocks of "NAME/PID/UID" → [sent, recv] in the view's unit.
func repLog(h *report.Header, blocks ...[][3]string) string {
	var b strings.Builder
	if h != nil {
		b.WriteString(h.String() + "\n")
	}
	b.WriteString("Adding local address: 10.0.0.1\nEthernet link detected\n")
	for _, blk := range blocks {
		b.WriteString("\nRefreshing:\n")
		for _, r := range blk {
			b.WriteString(r[0] + "\t" + r[1] + "\t" + r[2] + "\n")
		}
		b.WriteString("unknown TCP/0/0\t0\t0\n")
	}
	return b.String()
}

func repWrite(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReportRotatedJSON: a gohogs run rotated into three files in -v 2 and a
// second run: counters continue within a run, runs add up; JSON parses back.
func TestReportRotatedJSON(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	run1 := report.NewRun(start)
	h := func(run string, seq int) *report.Header {
		return &report.Header{Delay: 500 * time.Millisecond, ViewMode: report.ViewBytes, Run: run, Seq: seq}
	}
	files := []string{
		repWrite(t, dir, "03_00_00.log", repLog(h(run1, 1), [][3]string{{"wget/7/1000", "100", "1000"}}, [][3]string{{"wget/7/1000", "200", "5000"}})),
		repWrite(t, dir, "03_00_01.log", repLog(h(run1, 2), [][3]string{{"wget/7/1000", "300", "9000"}})),
		repWrite(t, dir, "03_00_02.log", repLog(h(run1, 3), [][3]string{{"wget/7/1000", "400", "10000"}, {"ssh/9/0", "50", "60"}})),
		repWrite(t, dir, "04_00_00.log", repLog(h(report.NewRun(start.Add(time.Hour)), 1), [][3]string{{"wget/8/1000", "1", "2"}})),
	}
	code, out, errs := repRun(t, "", append([]string{"--format", "json", "-v", "0", "-d", "9"}, files...)...)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var got report.JSONReport
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json does not parse back: %v\n%s", err, out)
	}
	if got.GroupBy != "name" || len(got.Rows) != 3 || *got.Rows[0].Name != "wget" {
		t.Fatalf("json rows: %s", out)
	}
	w := got.Rows[0]
	if w.Sent != 401 || w.Recv != 10002 || w.Total != 10403 || w.Processes != 2 || w.Refreshes != 5 || w.Seen != 2.5 {
		t.Errorf("wget: %+v", w)
	}
	// Run 1's refreshes are at start + k × 0.5 s, k = 0..3; run 2's at start + 1 h.
	if w.First != "2026-11-28T03:00:00Z" || w.Last != "2026-11-28T04:00:00Z" {
		t.Errorf("wget seen %s..%s", w.First, w.Last)
	}
	// Peak receive: 4000 B in 0.5 s between the first two refreshes.
	if w.PeakRecv != 8000 {
		t.Errorf("wget peak recv %v, want 8000", w.PeakRecv)
	}
	if s := got.Rows[1]; *s.Name != "ssh" || s.Sent != 50 || s.First != "2026-11-28T03:00:01.5Z" {
		t.Errorf("ssh: %+v", s)
	}

	// The table shows when each was seen, to the second.
	code, out, _ = repRun(t, "", files...)
	if lines := strings.Split(out, "\n"); code != 0 || !strings.Contains(lines[0], "FIRST") ||
		!strings.Contains(lines[1], "2026-11-28T03:00:00Z  2026-11-28T04:00:00Z  wget") {
		t.Errorf("table with times:\n%s", out)
	}

	// --by user --top 1, csv: uid 1000 only.
	code, out, _ = repRun(t, "", append([]string{"--by", "user", "--top", "1", "--format", "csv"}, files...)...)
	rows := repCSV(t, out, 1)
	if code != 0 || len(rows) != 1 || rows["1000"]["total_bytes"] != "10403" || rows["1000"]["processes"] != "2" {
		t.Errorf("by user top 1: %v", rows)
	}
	// A missing rotated file is a warning; the rest is reported.
	code, _, errs = repRun(t, "", files[0], files[2])
	if code != 0 || !strings.Contains(errs, "run "+run1+": warning: no file with seq 2 among seq 1..3") {
		t.Errorf("gap: exit %d, %q", code, errs)
	}
	// The same files concatenated on stdin give the same totals.
	var cat strings.Builder
	for _, f := range files {
		b, _ := os.ReadFile(f)
		cat.Write(b)
	}
	code, out, _ = repRun(t, cat.String(), "--format", "csv", "-")
	if rows := repCSV(t, out, 1); code != 0 || rows["wget"]["total_bytes"] != "10403" || rows["ssh"]["total_bytes"] != "110" {
		t.Errorf("stdin: %v", rows)
	}
	// A file given twice is counted once, and the exit code says so.
	code, out, errs = repRun(t, "", "--format", "csv", files[0], files[1], files[2], files[0])
	if rows := repCSV(t, out, 1); code != 3 || rows["wget"]["total_bytes"] != "10400" || !strings.Contains(errs, "duplicate") {
		t.Errorf("duplicate: exit %d, %v, %q", code, rows, errs)
	}
}

// TestReportMalformed: bad lines are reported as FILE:LINE: reason, the
// report is still printed without them, and the exit code is 3.
func TestReportMalformed(t *testing.T) {
	dir := t.TempDir()
	p := repWrite(t, dir, "bad.log", "Ethernet link detected\n\nRefreshing:\n"+
		"curl/5/0\t10\t20\n"+ // 4
		"curl/5/0 10 20\n"+ // 5: no tabs
		"curl/5/x\t1\t1\n"+ // 6
		"\nRefreshing:\n"+
		"curl/5/0\t30\t40\n"+ // 9
		"curl/5/0\t1e\t1\n") // 10
	code, out, errs := repRun(t, "", p)
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	for _, want := range []string{p + ":5: not a trace line", p + ":6: bad UID \"x\"", p + ":10: bad SENT \"1e\"", "3 lines skipped"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if lines := strings.Count(errs, "\n"); lines != 4 {
		t.Errorf("stderr has %d lines, want 4:\n%s", lines, errs)
	}
	// (10+30) KB/s × 1 s sent, (20+40) received.
	if !strings.Contains(out, "40.0 KiB  60.0 KiB") || !strings.Contains(out, "curl") {
		t.Errorf("report not printed right:\n%s", out)
	}
	// From stdin, the file is called <stdin>.
	b, _ := os.ReadFile(p)
	code, _, errs = repRun(t, string(b), "-")
	if code != 3 || !strings.Contains(errs, "<stdin>:5: not a trace line") {
		t.Errorf("stdin: exit %d, %q", code, errs)
	}
}

// TestReportTable checks the table's columns line up and -d applies to
// files without a header, with fractions, and flags may follow files.
func TestReportTable(t *testing.T) {
	dir := t.TempDir()
	p := repWrite(t, dir, "n.log", repLog(nil,
		[][3]string{{"python3 -m http.server 8000/300/1000", "100", "1"}, {"sshd: root@pts/0/4002/0", "2", "1"}},
		[][3]string{{"python3 -m http.server 8000/300/1000", "300", "1"}, {"127.0.0.1:44770-127.0.0.1:7101/0/0", "356", "0"}}))
	code, out, errs := repRun(t, "", p, "-d", "0.5", "--by", "pid")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("table:\n%s", out)
	}
	nameCol := strings.Index(lines[0], "NAME")
	names := []string{"python3 -m http.server 8000", "127.0.0.1:44770-127.0.0.1:7101", "sshd: root@pts/0", "unknown TCP"}
	for i, l := range lines[1:] {
		if !strings.HasSuffix(l, "  "+names[i]) || len(l)-len(names[i]) != nameCol {
			t.Errorf("row %d not aligned or out of order:\n%s", i, out)
		}
	}
	// 400 KB/s × 0.5 s = 200 KiB sent by the server.
	if !strings.Contains(lines[1], "200 KiB") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "300  1000") {
		t.Errorf("server row: %q", lines[1])
	}
	// --name-time: the cron job's file names give the refresh times.
	cron := repWrite(t, dir, "Nov_28_2026_04_13_04.log", repLog(nil, [][3]string{{"a/1/0", "1", "1"}}, [][3]string{{"a/1/0", "1", "1"}}))
	code, out, errs = repRun(t, "", "--name-time", "%b_%d_%Y_%H_%M_%S", "--format", "csv", "-d", "2", cron)
	start := time.Date(2026, 11, 28, 4, 13, 4, 0, time.Local).UTC()
	if rows := repCSV(t, out, 1); code != 0 || errs != "" || rows["a"]["first"] != start.Format(time.RFC3339) ||
		rows["a"]["last"] != start.Add(2*time.Second).Format(time.RFC3339) {
		t.Errorf("--name-time: exit %d, %q, %v", code, errs, rows["a"])
	}
	// "--" ends the flags: a file named like a flag.
	code, _, errs = repRun(t, "", "--", "-v")
	if code != 1 || !strings.Contains(errs, "-v: no such file") {
		t.Errorf("after --: exit %d, %q", code, errs)
	}
}

func TestReportUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		in   string // expected in stderr (or stdout for help)
	}{
		{[]string{"-h"}, 0, "usage: gohogs report"},
		{[]string{"--help"}, 0, "Exit status"},
		{[]string{}, 1, "no input files"},
		{[]string{"--bogus", "x"}, 1, "flag provided but not defined"},
		{[]string{"-v", "7", "x"}, 1, "view mode 7"},
		{[]string{"-d", "0", "x"}, 1, "must be more than 0"},
		{[]string{"-d", "soon", "x"}, 1, "not a number of seconds"},
		{[]string{"--by", "host", "x"}, 1, "--by \"host\""},
		{[]string{"--format", "xml", "x"}, 1, "--format \"xml\""},
		{[]string{"--top", "-1", "x"}, 1, "--top -1"},
		{[]string{"/nonexistent/x.log"}, 1, "open /nonexistent/x.log: no such file or directory"},
		{[]string{"/"}, 1, "is a directory"},
	} {
		code, out, errs := repRun(t, "", c.args...)
		text := errs
		if c.code == 0 {
			text = out
			if errs != "" {
				t.Errorf("%v: stderr %q", c.args, errs)
			}
		} else if out != "" {
			t.Errorf("%v: printed a report on failure: %q", c.args, out)
		}
		if code != c.code || !strings.Contains(text, c.in) {
			t.Errorf("%v: exit %d, output %q; want %d and %q", c.args, code, text, c.code, c.in)
		}
	}
	// An unreadable file is one clear line.
	if _, _, errs := repRun(t, "", "/nonexistent/x.log"); strings.Count(errs, "\n") != 1 {
		t.Errorf("unreadable file: %q", errs)
	}
}

// TestReportBinary runs the real binary: `gohogs report` dispatches here and
// the exit status reaches the shell.
func TestReportBinary(t *testing.T) {
	dir := t.TempDir()
	p := repWrite(t, dir, "x.log", repLog(nil, [][3]string{{"a/1/0", "1", "2"}})+"junk\n")
	cmd := exec.Command(gohogsBin, "report", "--format", "csv", p)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, stderr %q", err, errb.String())
	}
	if !strings.Contains(out.String(), "a,1,1024,2048,3072,") || !strings.Contains(errb.String(), fmt.Sprintf("%s:7: not a trace line", p)) {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
}

// TestReportGohogsRotated runs the real gohogs on known traffic over a veth
// with --duration 5s --rotate 2s --output DIR/%H_%M_%S.log, in a rate and a
// cumulative view mode: 3 files, each beginning with the header and the
// start-up lines, and `gohogs report DIR/*.log` gives the bytes the kernel
// counted on the interface within 1% for the sending process.
func TestReportGohogsRotated(t *testing.T) {
	netnstest.Skip(t)
	for _, view := range []string{"0", "2"} {
		t.Run("v"+view, func(t *testing.T) {
			t.Parallel()
			p, s := pairWithSink(t, "tcp", "4")
			dir := t.TempDir()
			run := startGohogs(t, p.NSA, "-t", "-v", view, "-d", "0.5", "--duration", "5s", "--rotate", "2s",
				"--output", filepath.Join(dir, "%H_%M_%S.log"), p.IfA)
			waitFile(t, filepath.Join(dir, "*.log"))
			// 2,000,000 B at 1,000,000 B/s: the traffic spans two files.
			var gen *exec.Cmd
			before, after := counted(t, p.NSA, p.IfA, func() { gen = runTraffic(t, p.NSA, "tcp", s.addr, 2_000_000, 1_000_000) })
			run.wait(t, 15*time.Second)
			files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			if len(files) != 3 {
				t.Fatalf("%d files, want 3: %v", len(files), files)
			}
			for i, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				first, _, _ := strings.Cut(string(b), "\n")
				h, ok := report.ParseHeader(first)
				if !ok || h.Seq != i+1 || h.Delay != 500*time.Millisecond || strconv.Itoa(h.ViewMode) != view {
					t.Errorf("%s begins %q", f, first)
				}
			}
			code, out, errs := repRun(t, "", append([]string{"--by", "pid", "--format", "csv"}, files...)...)
			if code != 0 || errs != "" {
				t.Fatalf("report: exit %d, %q", code, errs)
			}
			row := repCSV(t, out, 1)[strconv.Itoa(gen.Process.Pid)]
			if row == nil {
				t.Fatalf("generator pid %d not in the report:\n%s", gen.Process.Pid, out)
			}
			sent, recv := float64(repInt(t, row["sent_bytes"])), float64(repInt(t, row["recv_bytes"]))
			tx, rx := float64(after.TxBytes-before.TxBytes), float64(after.RxBytes-before.RxBytes)
			t.Logf("-v %s: report sent %.0f recv %.0f; interface tx %.0f rx %.0f; refreshes %s", view, sent, recv, tx, rx, row["refreshes"])
			if !within(sent, tx, 0.01) || !within(recv, rx, 0.01) {
				t.Errorf("report %.0f/%.0f bytes, interface counted %.0f/%.0f", sent, recv, tx, rx)
			}
		})
	}
}

// repFixture is a handmade JSON log of the report package's tests: curl,
// nginx (in container web) and unknown TCP between 03:00 and 04:00:29 UTC.
func repFixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "trace", "report", "testdata", "json", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReportTimeBuckets: --every splits the JSON fixture's bytes into its
// hours, in csv (a first column time), json (a time key) and the table
// (one block per hour); --since/--until, relative to the injected clock,
// select refreshes.
func TestReportTimeBuckets(t *testing.T) {
	log := repFixture(t, "refreshes.jsonl")
	code, out, errs := repRun(t, "", "--every", "1h", "--format", "csv", log)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, %q", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 5 || recs[0][0] != "time" {
		t.Fatalf("csv %v:\n%s", err, out)
	}
	got := map[string]string{}
	for _, r := range recs[1:] {
		got[r[0]+" "+r[1]] = r[3] + "/" + r[4] // sent/recv
	}
	want := map[string]string{"2026-11-28T03:00:00Z curl": "3000/5000", "2026-11-28T03:00:00Z nginx": "110/120",
		"2026-11-28T03:00:00Z unknown TCP": "0/66", "2026-11-28T04:00:00Z curl": "7/8"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("buckets %v, want %v", got, want)
	}

	code, out, _ = repRun(t, "", "--every", "1h", "--format", "json", "--top", "1", log)
	var j report.JSONReport
	if err := json.Unmarshal([]byte(out), &j); code != 0 || err != nil || len(j.Rows) != 2 || j.Every != 3600 ||
		j.Rows[0].Time != "2026-11-28T03:00:00Z" || *j.Rows[0].Name != "curl" || j.Rows[1].Time != "2026-11-28T04:00:00Z" {
		t.Errorf("json --top 1: exit %d, %v:\n%s", code, err, out)
	}

	code, out, _ = repRun(t, "", "--every", "1h", log)
	if blocks := strings.Split(out, "\n\n"); code != 0 || len(blocks) != 2 || !strings.HasPrefix(blocks[1], "2026-11-28T04:00:00Z (1h)\n") {
		t.Errorf("table:\n%s", out)
	}

	// The clock says 04:30 UTC: -1h is 03:30, so only the last two refreshes
	// (at 03:59:59 and 04:00:29) count; 03:00 (today) .. 03:59 only the first three.
	now := time.Date(2026, 11, 28, 4, 30, 0, 0, time.UTC)
	at := func(args ...string) map[string]map[string]string {
		var o, e bytes.Buffer
		if code := runReportAt(append([]string{"--format", "csv"}, args...), nil, &o, &e, now); code != 0 || e.Len() > 0 {
			t.Fatalf("%v: exit %d, %q", args, code, e.String())
		}
		return repCSV(t, o.String(), 1)
	}
	if rows := at("--since", "-1h", log); len(rows) != 2 || rows["nginx"]["sent_bytes"] != "100" || rows["curl"]["sent_bytes"] != "7" {
		t.Errorf("--since -1h: %v", rows)
	}
	if rows := at("--since", "03:00", "--until", "03:59", log); len(rows) != 3 || rows["curl"]["sent_bytes"] != "3000" || rows["nginx"]["sent_bytes"] != "10" {
		t.Errorf("--since 03:00 --until 03:59: %v", rows)
	}
	if rows := at("--until", "2026-11-28T03:00:01Z", log); len(rows) != 3 || rows["curl"]["sent_bytes"] != "1000" {
		t.Errorf("--until RFC 3339: %v", rows)
	}
}

// TestReportByFacts: --by unit, container and remote over the JSON fixture
// and a trace log: the facts' keys and their placeholders.
func TestReportByFacts(t *testing.T) {
	dir := t.TempDir()
	trace := repWrite(t, dir, "t.log", repLog(&report.Header{Delay: time.Second, ViewMode: report.ViewBytes, Run: "x", Seq: 1},
		[][3]string{{"curl/100/1000", "1000", "24"}}))
	log := repFixture(t, "refreshes.jsonl")
	for by, want := range map[string]map[string]string{
		"unit":      {"backup.service": "8000", "nginx.service": "230", "(no unit)": "81", "(trace log)": "1024"},
		"container": {"web": "230", "(no container)": "8081", "(trace log)": "1024"},
		"remote":    {"files.example.test": "5600", "10.0.0.9": "2400", "fd00::2": "230", "(no remote)": "81", "(trace log)": "1024"},
	} {
		code, out, errs := repRun(t, "", "--by", by, "--format", "csv", log, trace)
		rows := repCSV(t, out, 1)
		if code != 0 || errs != "" || len(rows) != len(want) {
			t.Errorf("--by %s: exit %d, %q, %v", by, code, errs, rows)
		}
		for k, v := range want {
			if rows[k]["total_bytes"] != v {
				t.Errorf("--by %s: %s = %v, want total %s", by, k, rows[k], v)
			}
		}
	}
	code, out, _ := repRun(t, "", "--by", "container", log)
	if lines := strings.Split(out, "\n"); code != 0 || !strings.Contains(lines[0], "RUNTIME  ID") ||
		!strings.Contains(out, "podman   abcdef012345") || !strings.HasSuffix(lines[2], "  web") {
		t.Errorf("container table:\n%s", out)
	}
}

// TestReportPlot: --plot draws the chart (the SVG names the programs, the
// PNG decodes), with or without --every, and the report still prints.
func TestReportPlot(t *testing.T) {
	dir := t.TempDir()
	log := repFixture(t, "refreshes.jsonl")
	svg := filepath.Join(dir, "day.svg")
	code, out, errs := repRun(t, "", "--plot", svg, log)
	if code != 0 || errs != "" || !strings.Contains(out, "curl") {
		t.Fatalf("exit %d, %q:\n%s", code, errs, out)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", ">curl<", ">nginx<", ">unknown TCP<", "B/s<", "by name"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	pngPath := filepath.Join(dir, "hours.png")
	if code, _, errs := repRun(t, "", "--plot", pngPath, "--every", "1h", "--by", "remote", log); code != 0 || errs != "" {
		t.Fatalf("png: exit %d, %q", code, errs)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 1200 || img.Bounds().Dy() != 600 {
		t.Errorf("png: %v, %v", err, img.Bounds())
	}
}

// TestReportTimeErrors: every bad time, bucket, grouping or plot argument
// is one clear line and exit 1, with no report and no file left behind.
func TestReportTimeErrors(t *testing.T) {
	dir := t.TempDir()
	log := repFixture(t, "refreshes.jsonl")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--every", "7m"}, "--every buckets of \"7m\": want whole seconds that divide a day"},
		{[]string{"--every", "soon"}, "--every duration \"soon\""},
		{[]string{"--since", "yesterday"}, "--since time \"yesterday\": want RFC 3339"},
		{[]string{"--until", "25:00"}, "--until time \"25:00\""},
		{[]string{"--since", "04:00", "--until", "03:00"}, "is not before --until"},
		{[]string{"--by", "host"}, "--by \"host\": want name, pid, user, unit, container or remote"},
		{[]string{"--plot", "/nonexistent/dir/x.svg"}, "--plot: open /nonexistent/dir/x.svg: no such file or directory"},
		{[]string{"--plot", filepath.Join(dir, "x.pdf")}, "x.pdf: want a file name ending in .svg or .png"},
		{[]string{"--plot", filepath.Join(dir, "empty.svg"), "--since", "2030-01-01"}, "no traffic in the time selected"},
	} {
		code, out, errs := repRun(t, "", append(c.args, log)...)
		lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		if code != 1 || !strings.Contains(lines[0], c.want) || !strings.HasPrefix(lines[0], "gohogs report: ") || len(lines) > 2 {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, errs, c.want)
		}
		if c.want != "no traffic in the time selected" && out != "" {
			t.Errorf("%v: printed a report: %q", c.args, out)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
	// A malformed JSON line is a counted warning; the rest is reported.
	code, out, errs := repRun(t, "", "--format", "csv", repFixture(t, "malformed.jsonl"))
	if rows := repCSV(t, out, 1); code != 3 || rows["a"]["total_bytes"] != "100" || !strings.Contains(errs, "malformed.jsonl:2: timestamp \"yesterday\" is not RFC 3339") ||
		!strings.Contains(errs, "10 lines skipped") {
		t.Errorf("malformed: exit %d, %v, %q", code, rows, errs)
	}
	// A nethogs log has no times: asked about time, it is a warning and exit 3.
	nethogs := repWrite(t, t.TempDir(), "n.log", repLog(nil, [][3]string{{"a/1/0", "1", "1"}}))
	code, _, errs = repRun(t, "", "--every", "1h", nethogs)
	if code != 3 || !strings.Contains(errs, "n.log: 1 refreshes have no time") || !strings.Contains(errs, "1 refreshes without a time left out") {
		t.Errorf("untimed: exit %d, %q", code, errs)
	}
}

// TestReportGohogsJSON runs the real gohogs with --json --output over known
// traffic on a veth and reports its JSON log in 1-second buckets: each
// bucket holds exactly the generator's bytes of the refreshes whose
// interval starts in that second (summed independently from the lines), the
// buckets add up to the frame bytes the kernel counted within 1%, and by
// remote the sink's address has them.
func TestReportGohogsJSON(t *testing.T) {
	netnstest.Skip(t)
	p, s := pairWithSink(t, "tcp", "4")
	path := filepath.Join(t.TempDir(), "gohogs.json")
	run := startGohogs(t, p.NSA, "--json", "-d", "0.5", "--duration", "5s", "--output", path, p.IfA)
	// The first refresh written: it captures.
	if !poll(10*time.Second, func() bool { b, _ := os.ReadFile(path); return bytes.Contains(b, []byte("}\n")) }) {
		t.Fatalf("no refresh in %s within 10 s", path)
	}
	var gen *exec.Cmd
	before, after := counted(t, p.NSA, p.IfA, func() { gen = runTraffic(t, p.NSA, "tcp", s.addr, 2_000_000, 1_000_000) })
	run.wait(t, 15*time.Second)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string][2]int64{} // second -> the generator's sent, recv
	for _, ref := range parseJSONLines(t, string(data)) {
		ts, _ := time.Parse(time.RFC3339Nano, ref.Timestamp)
		sec := ts.Add(-time.Duration(ref.Interval * float64(time.Second))).Truncate(time.Second).UTC().Format(time.RFC3339)
		for _, r := range ref.Rows {
			if r.PID == gen.Process.Pid {
				v := truth[sec]
				truth[sec] = [2]int64{v[0] + int64(r.Sent), v[1] + int64(r.Recv)}
			}
		}
	}
	code, out, errs := repRun(t, "", "--every", "1s", "--by", "pid", "--format", "csv", path)
	if code != 0 || errs != "" {
		t.Fatalf("report: exit %d, %q", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	var sent, recv int64
	for _, r := range recs[1:] {
		if r[1] == strconv.Itoa(gen.Process.Pid) {
			got[r[0]] = [2]int64{repInt(t, r[4]), repInt(t, r[5])}
			sent += repInt(t, r[4])
			recv += repInt(t, r[5])
		}
	}
	if len(got) < 2 || fmt.Sprint(got) != fmt.Sprint(truth) {
		t.Errorf("buckets of the generator %v, the log's own seconds %v", got, truth)
	}
	tx, rx := float64(after.TxBytes-before.TxBytes), float64(after.RxBytes-before.RxBytes)
	t.Logf("%d buckets; report sent %d recv %d; interface tx %.0f rx %.0f", len(got), sent, recv, tx, rx)
	if !within(float64(sent), tx, 0.01) || !within(float64(recv), rx, 0.01) {
		t.Errorf("buckets sum to %d/%d bytes, the interface counted %.0f/%.0f", sent, recv, tx, rx)
	}
	code, out, errs = repRun(t, "", "--by", "remote", "--format", "csv", path)
	host, _, _ := net.SplitHostPort(s.addr)
	row := repCSV(t, out, 1)[host]
	if code != 0 || errs != "" || row == nil || !within(float64(repInt(t, row["sent_bytes"])), tx, 0.01) {
		t.Errorf("by remote: exit %d, %q, %s: %v\n%s", code, errs, host, row, out)
	}
}
