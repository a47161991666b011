package report

import (
	"testing"
	"time"
)

func TestHeaderRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 28, 4, 13, 4, 123e6, time.UTC)
	for _, h := range []Header{
		{Delay: time.Second, ViewMode: 0, Run: NewRun(start), Seq: 1},
		{Delay: 500 * time.Millisecond, ViewMode: 2, Run: NewRun(start), Seq: 17},
		{Delay: 1500 * time.Millisecond, ViewMode: 5},
		{Delay: time.Hour, ViewMode: 3, Run: "myrun"},
	} {
		line := h.String()
		got, ok := ParseHeader(line)
		if !ok || got != h {
			t.Errorf("ParseHeader(%q) = %+v, %v; want %+v", line, got, ok, h)
		}
		if got, ok := ParseHeader(line + "\r\n"); !ok || got != h {
			t.Errorf("ParseHeader with CRLF = %+v, %v", got, ok)
		}
	}
	want := "# gohogs delay=1s view=0 run=20261128T041304.123Z seq=1"
	if got := (Header{Delay: time.Second, Run: NewRun(start), Seq: 1}).String(); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	h, _ := ParseHeader(want)
	if st, ok := h.Start(); !ok || !st.Equal(start) {
		t.Errorf("Start = %v, %v; want %v", st, ok, start)
	}
	// A run with spaces is written with '_' so the line stays parseable.
	if got := (Header{Delay: time.Second, Run: "a b"}).String(); got != "# gohogs delay=1s view=0 run=a_b" {
		t.Errorf("String with spaces in Run = %q", got)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"# gohogs",
		"# gohogs view=0",
		"# gohogs delay=1s",
		"# gohogs delay=0s view=0",
		"# gohogs delay=-1s view=0",
		"# gohogs delay=1 view=0", // no unit: not a Go duration
		"# gohogs delay=1s view=6",
		"# gohogs delay=1s view=x",
		"# gohogs delay=1s view=0 seq=-1",
		"# gohogs delay=1s view=0 junk",
		"# gohogsdelay=1s view=0",
		"# other delay=1s view=0",
		"iperf3/1/0\t1\t2",
	} {
		if h, ok := ParseHeader(line); ok {
			t.Errorf("ParseHeader(%q) = %+v, true; want false", line, h)
		}
	}
	// Unknown keys are ignored (later versions may add fields).
	if h, ok := ParseHeader("# gohogs delay=2s view=1 host=x seq=3"); !ok || h.Delay != 2*time.Second || h.ViewMode != 1 || h.Seq != 3 {
		t.Errorf("unknown key: got %+v, %v", h, ok)
	}
	if st, ok := (Header{Run: "20261128T041304.5Z-4567"}).Start(); !ok || !st.Equal(time.Date(2026, 11, 28, 4, 13, 4, 5e8, time.UTC)) {
		t.Errorf("Start with a suffix = %v, %v", st, ok)
	}
	if _, ok := (Header{Delay: time.Second, Run: "not-a-time"}).Start(); ok {
		t.Error("Start of a run that is not a time: ok")
	}
}
