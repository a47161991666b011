package report

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary text (seeds in testdata/fuzz) to ParseLine,
// line by line, and as a whole log to Report: nothing may panic, a header
// must round-trip through String, and the totals must stay non-negative.
// (nethogs.FuzzParseLine checks the rest of the grammar.)
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, line := range strings.Split(s, "\n") {
			switch ln, err := ParseLine(line); {
			case err != nil && !errors.Is(err, ErrMalformed):
				t.Fatalf("ParseLine(%q) error %v does not wrap ErrMalformed", line, err)
			case err == nil && ln.Kind == KindHeader:
				if h2, ok := ParseHeader(ln.Header.String()); !ok || h2 != ln.Header {
					t.Fatalf("header %q -> %+v -> %q -> %+v, %v", line, ln.Header, ln.Header.String(), h2, ok)
				}
			}
		}
		for _, by := range []GroupBy{ByName, ByPID, ByUser} {
			rep := New(Options{ViewMode: ViewAuto, MaxWarnings: 5, By: by})
			if err := rep.Add("fuzz", strings.NewReader(s)); err != nil {
				// Text from memory always reads; only gzip data (by its
				// magic bytes) can be truncated or corrupt, and the error
				// must say which input.
				if !strings.HasPrefix(s, "\x1f\x8b") || !strings.Contains(err.Error(), "fuzz") {
					t.Fatalf("Add from memory: %v", err)
				}
			}
			rows := rep.Rows()
			for _, r := range rows {
				if r.Sent < 0 || r.Recv < 0 || r.Total() < 0 || r.Refreshes <= 0 {
					t.Fatalf("bad row %+v", r)
				}
			}
			for _, f := range []Format{FormatTable, FormatCSV, FormatJSON} {
				if err := Write(io.Discard, f, by, rows); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
		}
	})
}

// FuzzJSONLog feeds arbitrary text (seeds in testdata/fuzz/FuzzJSONLog,
// from the handmade JSON logs) to the JSON-log reader, by every grouping and
// with time buckets: nothing may panic, every line is counted or warned
// about, totals stay non-negative and every format writes.
func FuzzJSONLog(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		s = "{" + s // a JSON log, whatever follows
		for _, by := range []GroupBy{ByName, ByPID, ByUser, ByUnit, ByContainer, ByRemote} {
			rep := New(Options{MaxWarnings: 5, By: by, Every: time.Minute, Location: time.UTC})
			if err := rep.Add("fuzz", strings.NewReader(s)); err != nil {
				t.Fatalf("Add from memory: %v", err)
			}
			for _, w := range rep.Warnings() {
				if w.Kind != WarnMalformed && w.Kind != WarnMoreMalformed {
					t.Fatalf("warning %v", w)
				}
			}
			buckets := rep.Buckets()
			var sent int64
			for _, b := range buckets {
				for _, r := range b.Rows {
					if r.Sent < 0 || r.Recv < 0 || r.Total() < 0 || r.Refreshes <= 0 || r.Processes <= 0 {
						t.Fatalf("bad row %+v", r)
					}
					sent += r.Sent
				}
			}
			var total int64
			for _, r := range rep.Rows() {
				total += r.Sent
			}
			if total != sent && total < 1<<52 {
				t.Fatalf("buckets sum to %d sent, the totals to %d", sent, total)
			}
			for _, f := range []Format{FormatTable, FormatCSV, FormatJSON} {
				if err := WriteBuckets(io.Discard, f, by, time.Minute, buckets); err != nil {
					t.Fatalf("write: %v", err)
				}
			}
		}
	})
}
