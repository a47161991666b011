package report

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// splitRun writes known traffic of "app" (KB each second: 1, 2, 3, 4) as a
// gohogs run started at 03:59:58 UTC rotated into two files of two
// refreshes, in view mode view.
func splitRun(view int) (start time.Time, files [2]string) {
	start = time.Date(2026, 11, 28, 3, 59, 58, 0, time.UTC)
	blocks := render(view, time.Second, []traffic{{name: "app", pid: 10, sent: []float64{1024, 2048, 3072, 4096}, recv: []float64{0, 0, 0, 1}}})
	for i := range files {
		h := &Header{Delay: time.Second, ViewMode: view, Run: NewRun(start), Seq: i + 1}
		files[i] = logText(h, blocks[2*i:2*i+2])
	}
	return start, files
}

// TestTraceBuckets: a rotated run's refreshes fall in the hour of their
// time (start + k × delay), in a rate and a cumulative view mode, with the
// files given in either order.
func TestTraceBuckets(t *testing.T) {
	for _, view := range []int{ViewKBps, ViewKB} {
		for _, order := range [][]int{{0, 1}, {1, 0}} {
			_, files := splitRun(view)
			rep := New(Options{Every: time.Hour, Location: time.UTC})
			for _, i := range order {
				rep.Add("f", strings.NewReader(files[i]))
			}
			b := rep.Buckets()
			if len(b) != 2 || b[0].Start.Hour() != 3 || b[1].Start.Hour() != 4 {
				t.Fatalf("v%d %v: buckets %+v", view, order, b)
			}
			a3, a4 := rowOf(t, b[0].Rows, "app", 0), rowOf(t, b[1].Rows, "app", 0)
			if a3.Sent != 3*1024 || a4.Sent != 7*1024 || a3.Refreshes != 2 || a4.Refreshes != 2 || a4.PeakSent != 4096 ||
				!a4.First.Equal(time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)) {
				t.Errorf("v%d %v: 03:00 %+v, 04:00 %+v", view, order, a3, a4)
			}
			if tot := rowOf(t, rep.Rows(), "app", 0); tot.Sent != 10*1024 || tot.Refreshes != 4 {
				t.Errorf("v%d %v: total %+v", view, order, tot)
			}
		}
	}
}

// TestTraceSinceUntil: [03:59:59, 04:00:01) keeps refreshes 2 and 3; in the
// cumulative mode the first one kept still counts only its own growth.
func TestTraceSinceUntil(t *testing.T) {
	for _, view := range []int{ViewKBps, ViewKB} {
		start, files := splitRun(view)
		rep := New(Options{Since: start.Add(time.Second), Until: start.Add(3 * time.Second)})
		rep.Add("f2", strings.NewReader(files[1]))
		rep.Add("f1", strings.NewReader(files[0]))
		if a := rowOf(t, rep.Rows(), "app", 0); a.Sent != 5*1024 || a.Refreshes != 2 ||
			!a.First.Equal(start.Add(time.Second)) || !a.Last.Equal(start.Add(2*time.Second)) {
			t.Errorf("v%d: %+v", view, a)
		}
	}
}

// TestNoTime: a header-less log has no times: asked about time, its
// refreshes are left out with a counted warning, and the report says input
// was skipped.
func TestNoTime(t *testing.T) {
	log := logText(nil, [][]prow{{{"a", 1, 0, 1, 0}}, {{"a", 1, 0, 1, 0}}})
	for _, opts := range []Options{{Every: time.Hour}, {Since: time.Unix(1, 0)}, {Until: time.Now()}} {
		rep := New(opts)
		rep.Add("nethogs.log", strings.NewReader(log))
		w := rep.Warnings()
		lines, skipped := rep.Skipped()
		if len(w) != 1 || w[0].Kind != WarnNoTime || w[0].Count != 2 || !skipped || lines != 0 ||
			w[0].String() != "nethogs.log: 2 refreshes have no time (no gohogs header, no --name-time): left out of the time buckets and range" {
			t.Errorf("%+v: warnings %v, skipped %d %v", opts, w, lines, skipped)
		}
		if rows := rep.Rows(); len(rows) != 0 {
			t.Errorf("%+v: rows %+v", opts, rows)
		}
	}
	// Not asked about time, the same log counts.
	rep := New(Options{})
	rep.Add("nethogs.log", strings.NewReader(log))
	if a := rowOf(t, rep.Rows(), "a", 0); a.Sent != 2048 || len(rep.Warnings()) != 0 {
		t.Errorf("untimed: %+v %v", a, rep.Warnings())
	}
}

// TestWriteBuckets: CSV begins with a time column, JSON rows have a time
// key, the table has one block per bucket, all with the bucket's start.
func TestWriteBuckets(t *testing.T) {
	_, files := splitRun(ViewKBps)
	rep := New(Options{Every: time.Hour, Location: time.UTC})
	rep.Add("f1", strings.NewReader(files[0]))
	rep.Add("f2", strings.NewReader(files[1]))
	b := rep.Buckets()

	var out strings.Builder
	if err := WriteBuckets(&out, FormatCSV, ByName, time.Hour, b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(recs) != 5 || recs[0][0] != "time" || recs[0][1] != "name" {
		t.Fatalf("csv %v %v:\n%s", recs, err, out.String())
	}
	if recs[1][0] != "2026-11-28T03:00:00Z" || recs[1][1] != "app" || recs[1][3] != "3072" ||
		recs[3][0] != "2026-11-28T04:00:00Z" || recs[3][1] != "app" || recs[3][3] != "7168" {
		t.Errorf("csv rows %v", recs)
	}

	out.Reset()
	if err := WriteBuckets(&out, FormatJSON, ByName, time.Hour, b); err != nil {
		t.Fatal(err)
	}
	var j JSONReport
	if err := json.Unmarshal([]byte(out.String()), &j); err != nil || j.Every != 3600 || len(j.Rows) != 4 ||
		j.Rows[0].Time != "2026-11-28T03:00:00Z" || j.Rows[2].Time != "2026-11-28T04:00:00Z" || j.Rows[2].Sent != 7168 {
		t.Errorf("json %v %+v:\n%s", err, j, out.String())
	}

	out.Reset()
	if err := WriteBuckets(&out, FormatTable, ByName, time.Hour, b); err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(out.String(), "\n\n")
	if len(blocks) != 2 || !strings.HasPrefix(blocks[0], "2026-11-28T03:00:00Z (1h)\n") || !strings.HasPrefix(blocks[1], "2026-11-28T04:00:00Z (1h)\n") ||
		!strings.Contains(blocks[1], "7.00 KiB") {
		t.Errorf("table:\n%s", out.String())
	}
	// The columns line up across blocks.
	lines := strings.Split(out.String(), "\n")
	if col := strings.Index(lines[1], "NAME"); col < 0 || strings.Index(lines[6], "NAME") != col || strings.Index(lines[2], "app") != col {
		t.Errorf("columns do not line up:\n%s", out.String())
	}
	// Without buckets, the writers print as they always did.
	out.Reset()
	WriteBuckets(&out, FormatCSV, ByName, 0, []Bucket{{Rows: rep.Rows()}})
	if !strings.HasPrefix(out.String(), "name,processes,") {
		t.Errorf("csv without buckets:\n%s", out.String())
	}
}

func TestFmtEvery(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "1m", time.Hour: "1h", 24 * time.Hour: "1d", 90 * time.Second: "1m30s", 30 * time.Second: "30s", 90 * time.Minute: "90m"} {
		if got := FormatEvery(d); got != want {
			t.Errorf("FormatEvery(%v) = %q, want %q", d, got, want)
		}
	}
}
