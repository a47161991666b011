package nethogs

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// FuzzParseLine feeds arbitrary text to ParseLine, line by line: nothing
// may panic, every error wraps ErrMalformed, and a process row prints back
// (AppendProc) to a line that parses to the same row, its numbers rounded
// to what nethogs prints, and prints again to the same bytes.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"iperf3/4096/0\t25.2139\t0",
		"sshd: root@pts/0/4002/0\t0.0117188\t5.34058e-05",
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
