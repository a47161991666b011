package report

import (
	"errors"
	"testing"
	"time"
)

// ParseLine is nethogs.ParseLine (tested there) plus the header's fields.
func TestParseLine(t *testing.T) {
	ln, err := ParseLine("sshd: root@pts/0/4002/0\t0.0117188\t5.34058e-05\r")
	if want := (Proc{Name: "sshd: root@pts/0", PID: 4002, Sent: 0.0117188, Recv: 5.34058e-05}); err != nil || ln.Kind != KindProcess || ln.Proc != want {
		t.Errorf("process row: %+v, %v; want %+v", ln, err, want)
	}
	ln, err = ParseLine("# gohogs delay=500ms view=2 run=20261128T041304.123Z seq=3")
	if want := (Header{Delay: 500 * time.Millisecond, ViewMode: ViewBytes, Run: "20261128T041304.123Z", Seq: 3}); err != nil || ln.Kind != KindHeader || ln.Header != want {
		t.Errorf("header: %+v, %v; want %+v", ln, err, want)
	}
	if ln, err := ParseLine("# gohogsx delay=0s"); err != nil || ln.Kind != KindComment {
		t.Errorf("comment: %+v, %v", ln, err)
	}
	for _, line := range []string{"garbage", "# gohogs delay=0s view=0", "# gohogs delay=1s view=9 seq=1", "# gohogs delay=1s view=0 x"} {
		if _, err := ParseLine(line); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseLine(%q) error = %v; want ErrMalformed", line, err)
		}
	}
}

func TestUnit(t *testing.T) {
	for view, want := range map[int]struct {
		unit float64
		cum  bool
	}{
		0: {1024, false}, 1: {1024, true}, 2: {1, true}, 3: {1 << 20, true}, 4: {1 << 20, false}, 5: {1 << 30, false}, 6: {0, false}, -1: {0, false},
	} {
		u, c := Unit(view)
		if u != want.unit || c != want.cum {
			t.Errorf("Unit(%d) = %v, %v; want %v, %v", view, u, c, want.unit, want.cum)
		}
	}
}
