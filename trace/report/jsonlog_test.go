package report

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readJSONFixture reads testdata/json/name with opts.
func readJSONFixture(t *testing.T, name string, opts Options) *Report {
	t.Helper()
	rep := New(opts)
	if err := rep.AddFile(filepath.Join("testdata", "json", name)); err != nil {
		t.Fatal(err)
	}
	return rep
}

// rowsByKey indexes rows by their grouping's key.
func rowsByKey(by GroupBy, rows []Row) map[string]Row {
	m := map[string]Row{}
	for _, r := range rows {
		k := r.Name
		switch by {
		case ByUnit:
			k = r.Unit
		case ByContainer:
			k = r.Container.Label()
		case ByRemote:
			k = r.Remote
		}
		m[k] = r
	}
	return m
}

// TestJSONLogGroupings reads the handmade JSON log (4 refreshes, known
// bytes) by every grouping: each key gets exactly the bytes of its rows (or
// connections), the rows without the fact go under its placeholder.
func TestJSONLogGroupings(t *testing.T) {
	type want struct {
		sent, recv int64
		procs      int
	}
	for _, c := range []struct {
		by   GroupBy
		want map[string]want
	}{
		{ByName, map[string]want{"curl": {3007, 5008, 1}, "nginx": {110, 120, 1}, "unknown TCP": {0, 66, 1}}},
		{ByUnit, map[string]want{"backup.service": {3000, 5000, 1}, "nginx.service": {110, 120, 1}, NoUnit: {7, 74, 2}}},
		{ByContainer, map[string]want{"web": {110, 120, 1}, NoContainer: {3007, 5074, 2}}},
		{ByRemote, map[string]want{"files.example.test": {2600, 3000, 1}, "10.0.0.9": {400, 2000, 1}, "fd00::2": {110, 120, 1}, NoRemote: {7, 74, 2}}},
	} {
		rep := readJSONFixture(t, "refreshes.jsonl", Options{By: c.by})
		if w := rep.Warnings(); len(w) != 0 {
			t.Fatalf("%v: warnings %v", c.by, w)
		}
		rows := rep.Rows()
		got := rowsByKey(c.by, rows)
		if len(rows) != len(c.want) {
			t.Errorf("%v: %d rows, want %d: %+v", c.by, len(rows), len(c.want), rows)
		}
		for k, w := range c.want {
			r, ok := got[k]
			if !ok || r.Sent != w.sent || r.Recv != w.recv || r.Processes != w.procs {
				t.Errorf("%v %q: %+v, want %d/%d by %d processes", c.by, k, r, w.sent, w.recv, w.procs)
			}
		}
	}
	// The container's identity is kept whole; its label is its name.
	rows := readJSONFixture(t, "refreshes.jsonl", Options{By: ByContainer}).Rows()
	web := rowsByKey(ByContainer, rows)["web"]
	if web.Container != (Container{Runtime: "podman", ID: "abcdef0123456789abcdef", Name: "web"}) || web.UID != -1 {
		t.Errorf("container row %+v", web)
	}
}

// TestJSONLogTimes: a refresh's time is its timestamp less its interval;
// rates are bytes over the interval; First, Last and Seen follow.
func TestJSONLogTimes(t *testing.T) {
	rows := rowsByKey(ByName, readJSONFixture(t, "refreshes.jsonl", Options{}).Rows())
	curl, nginx := rows["curl"], rows["nginx"]
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	if !curl.First.Equal(at("2026-11-28T03:00:00Z")) || !curl.Last.Equal(at("2026-11-28T04:00:29Z")) || curl.Refreshes != 3 || curl.Seen != 3*time.Second {
		t.Errorf("curl %+v", curl)
	}
	// nginx: 20 B in 1 s, then 100 B in 0.5 s = 200 B/s.
	if nginx.PeakRecv != 200 || nginx.PeakSent != 200 || nginx.Seen != 1500*time.Millisecond || !nginx.Last.Equal(at("2026-11-28T03:59:59Z")) {
		t.Errorf("nginx %+v", nginx)
	}
	if curl.PeakSent != 2000 || curl.MeanSent != 3007.0/3 {
		t.Errorf("curl rates %+v", curl)
	}
}

// TestJSONLogBuckets: hourly buckets hold each refresh's bytes by its time;
// Since and Until select refreshes.
func TestJSONLogBuckets(t *testing.T) {
	rep := readJSONFixture(t, "refreshes.jsonl", Options{Every: time.Hour, Location: time.UTC})
	b := rep.Buckets()
	if len(b) != 2 || !b[0].Start.Equal(time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)) || !b[1].Start.Equal(time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)) {
		t.Fatalf("buckets %+v", b)
	}
	h3, h4 := rowsByKey(ByName, b[0].Rows), rowsByKey(ByName, b[1].Rows)
	if len(h3) != 3 || h3["curl"].Sent != 3000 || h3["curl"].Recv != 5000 || h3["nginx"].Total() != 230 || h3["unknown TCP"].Recv != 66 {
		t.Errorf("03:00: %+v", b[0].Rows)
	}
	if len(h4) != 1 || h4["curl"].Sent != 7 || h4["curl"].Recv != 8 || h4["curl"].Refreshes != 1 {
		t.Errorf("04:00: %+v", b[1].Rows)
	}
	// Rows still gives the totals over all buckets.
	if c := rowsByKey(ByName, rep.Rows())["curl"]; c.Sent != 3007 || c.Refreshes != 3 {
		t.Errorf("totals with buckets: %+v", c)
	}

	// [03:00:01, 04:00:00): the second and third refreshes.
	rep = readJSONFixture(t, "refreshes.jsonl", Options{Since: time.Date(2026, 11, 28, 3, 0, 1, 0, time.UTC), Until: time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)})
	rows := rowsByKey(ByName, rep.Rows())
	if len(rows) != 2 || rows["curl"].Sent != 2000 || rows["curl"].Recv != 0 || rows["nginx"].Sent != 100 {
		t.Errorf("since..until: %+v", rep.Rows())
	}
	if _, skipped := rep.Skipped(); skipped {
		t.Errorf("selecting by time skips nothing: %v", rep.Warnings())
	}
}

// TestJSONLogMalformed: each bad line is one warning with its line number
// and is not counted at all; the good lines are.
func TestJSONLogMalformed(t *testing.T) {
	rep := readJSONFixture(t, "malformed.jsonl", Options{})
	want := map[int]string{
		2: "timestamp \"yesterday\" is not RFC 3339", 3: "row 1: sent -5 is not a whole number", 4: "row 2: pid \"2\" is not a whole number",
		5: "not a JSON object", 6: "not a JSON object", 7: "rows is not an array", 8: "no interval",
		9: "row 1: unit is not a string", 10: "row 1: connection 1: no recv", 11: "not a JSON object but array",
	}
	w := rep.Warnings()
	if len(w) != len(want) {
		t.Errorf("%d warnings, want %d: %v", len(w), len(want), w)
	}
	for _, x := range w {
		if x.Kind != WarnMalformed || !strings.Contains(x.Reason, want[x.Line]) || want[x.Line] == "" {
			t.Errorf("warning %v, want line %d: %q", x, x.Line, want[x.Line])
		}
	}
	if lines, _ := rep.Skipped(); lines != 10 {
		t.Errorf("%d lines skipped, want 10", lines)
	}
	if a := rowsByKey(ByName, rep.Rows())["a"]; a.Sent != 40 || a.Recv != 60 || a.Refreshes != 2 {
		t.Errorf("good lines: %+v", a)
	}
}

// TestJSONLogGzipAndDuplicate: a compressed copy of a JSON log is the same
// log: given with the original, it is counted once and said so.
func TestJSONLogGzipAndDuplicate(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "json", "refreshes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	rep := New(Options{})
	rep.Add("log", bytes.NewReader(raw))
	rep.Add("log.gz", &gz)
	w := rep.Warnings()
	if len(w) != 1 || w[0].Kind != WarnDuplicate || w[0].String() != "log.gz: same refreshes as log: skipped, not counted twice" {
		t.Errorf("warnings %v", w)
	}
	if c := rowsByKey(ByName, rep.Rows())["curl"]; c.Sent != 3007 {
		t.Errorf("curl %+v", c)
	}
}

// TestJSONAndTraceTogether: a JSON log and a trace log add up by name; by
// unit the trace rows are under FromTrace.
func TestJSONAndTraceTogether(t *testing.T) {
	trace := logText(&Header{Delay: time.Second, ViewMode: ViewBytes, Run: NewRun(time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)), Seq: 1},
		[][]prow{{{"curl", 100, 1000, 1000, 24}}})
	for _, by := range []GroupBy{ByName, ByUnit} {
		rep := readJSONFixture(t, "refreshes.jsonl", Options{By: by})
		rep.Add("trace", strings.NewReader(trace))
		rows := rowsByKey(by, rep.Rows())
		switch by {
		case ByName:
			if rows["curl"].Sent != 4007 || rows["curl"].Processes != 1 || rows["curl"].Refreshes != 4 {
				t.Errorf("by name: %+v", rows["curl"])
			}
		case ByUnit:
			if rows[FromTrace].Sent != 1000 || rows[FromTrace].Recv != 24 || rows["backup.service"].Sent != 3000 {
				t.Errorf("by unit: %+v", rows)
			}
		}
	}
}

func TestRemoteHost(t *testing.T) {
	for in, want := range map[string]string{"1.2.3.4:5": "1.2.3.4", "[fd00::2]:5555": "fd00::2", "fd00::2": "fd00::2", "host": "host", "[x": "[x"} {
		if got := string(remoteHost([]byte(in))); got != want {
			t.Errorf("remoteHost(%q) = %q, want %q", in, got, want)
		}
	}
}
