package nethogs

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzParseLine feeds arbitrary text (seeds in testdata/fuzz: rows,
// blocks, headers, CRLF, malformed lines) to ParseLine, line by line: nothing
// may panic, every error wraps ErrMalformed, and a process row prints back
// (AppendProc) to a line that parses to the same row, its numbers rounded
// to what nethogs prints, and prints again to the same bytes.
func FuzzParseLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, line := range strings.Split(s, "\n") {
			ln, err := ParseLine(line)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseLine(%q) error %v does not wrap ErrMalformed", line, err)
				}
				continue
			}
			if ln.Kind != KindProcess {
				continue
			}
			p := ln.Proc
			if p.Sent < 0 || p.Recv < 0 || p.PID < 0 || math.IsInf(p.Sent, 0) || math.IsInf(p.Recv, 0) {
				t.Fatalf("field out of range from %q: %+v", line, p)
			}
			printed := string(AppendProc(nil, p))
			ln2, err := ParseLine(printed)
			if err != nil || ln2.Kind != KindProcess {
				t.Fatalf("row %q printed as %q: %v, %v", line, printed, ln2.Kind, err)
			}
			p2 := ln2.Proc
			if p2.Name != p.Name || p2.PID != p.PID || p2.UID != p.UID || !near(p2.Sent, p.Sent) || !near(p2.Recv, p.Recv) {
				t.Fatalf("row %q parsed as %+v, printed %q, parsed back as %+v", line, p, printed, p2)
			}
			if again := string(AppendProc(nil, p2)); again != printed {
				t.Fatalf("row %q printed %q, then %q", line, printed, again)
			}
		}
	})
}

// near reports whether printed is v as nethogs prints it: within 6
// significant digits of v, or of the smallest float32 step for the tiniest.
func near(printed, v float64) bool {
	return math.Abs(printed-v) <= 1e-5*v+1e-44
}
