package report

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the line parser, line by line, and as a
// whole log to Report: nothing may panic, a parsed header must round-trip
// through String, and the totals must stay non-negative. (The process rows'
// round trip is nethogs.FuzzParseLine's.)
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"iperf3/4096/0\t25.2139\t0",
		"sshd: root@pts/0/4002/0\t0.0117188\t5.34058e-05",
		"/root/.pyenv/versions/3.11.7/bin/python3/5118/0\t1.38925e+06\t0",
		"127.0.0.1:44770-127.0.0.1:7101/0/0\t356\t0",
		"# gohogs delay=1s view=0 run=20261128T041304.123Z seq=1",
		"\nRefreshing:\nunknown TCP/0/0\t0\t0\nUnknown connection: 127.0.0.1:7101-127.0.0.1:52312\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, line := range strings.Split(s, "\n") {
			ln, err := ParseLine(line)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseLine(%q) error %v does not wrap ErrMalformed", line, err)
				}
				continue
			}
			if ln.Kind == KindHeader {
				h2, ok := ParseHeader(ln.Header.String())
				if !ok || h2 != ln.Header {
					t.Fatalf("header %q -> %+v -> %q -> %+v, %v", line, ln.Header, ln.Header.String(), h2, ok)
				}
			}
		}
		rep := New(Options{ViewMode: ViewAuto, MaxWarnings: 5})
		if err := rep.Add("fuzz", strings.NewReader(s)); err != nil {
			// Text from memory always reads; only gzip data (by its
			// magic bytes) can be truncated or corrupt, and the error
			// must say which input.
			if !strings.HasPrefix(s, "\x1f\x8b") || !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("Add from memory: %v", err)
			}
		}
		for _, by := range []GroupBy{ByName, ByPID, ByUser} {
			rows := rep.Rows(by)
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
