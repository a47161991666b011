package report

import (
	"strings"
	"testing"
	"time"
)

func TestParseNameTime(t *testing.T) {
	utc := time.UTC
	want := time.Date(2026, 11, 28, 4, 13, 4, 0, utc)
	for _, c := range []struct {
		pattern, name string
		ok            bool
	}{
		{"%b_%d_%Y_%H_%M_%S", "Nov_28_2026_04_13_04.log", true},
		{"%b_%d_%Y_%H_%M_%S", "nov_28_2026_04_13_04.log.gz", true},
		{"%B %e %Y %T", "November 28 2026 04:13:04", true},
		{"%F_%H%M%S.log", "2026-11-28_041304.log", true},
		{"%y%m%d-%H%M%S", "261128-041304", true},
		{"%Y.%j.%H.%M.%S", "2026.332.04.13.04", true},
		{"%s.log", "1795839184.log", true},
		{"100%%_%Y%m%d%H%M%S", "100%_20261128041304", true},
		{"%b_%d_%Y_%H_%M_%S", "Nov_28_2026_04_13.log", false},
		{"%b_%d_%Y_%H_%M_%S", "Xyz_28_2026_04_13_04", false},
		{"%Y-%m-%d", "2026-02-31", false},
		{"%Y-%m-%d %H", "2026-11-28 25", false},
		{"%Q", "x", false},
		{"log-%Y", "logs-2026", false},
	} {
		got, ok := ParseNameTime(c.pattern, c.name, utc)
		if ok != c.ok || ok && !got.Equal(want) {
			t.Errorf("ParseNameTime(%q, %q) = %v, %v; want %v, %v", c.pattern, c.name, got, ok, want, c.ok)
		}
	}
}

// TestNameTime: a header-less nethogs log named by the cron job's pattern
// gets its refresh times from the name; a name that does not match is a
// warning that skips nothing.
func TestNameTime(t *testing.T) {
	log := logText(nil, [][]prow{{{"a", 1, 0, 1, 0}}, {{"a", 1, 0, 1, 0}}, {{"a", 1, 0, 1, 0}}})
	rep := New(Options{Delay: 2 * time.Second, NameTime: "%b_%d_%Y_%H_%M_%S", Location: time.UTC})
	rep.Add("/var/log/nethogs/Nov_28_2026_04_13_04.log", strings.NewReader(log))
	rep.Add("/var/log/nethogs/other.log", strings.NewReader(log))
	r := rowOf(t, rep.Rows(), "a", 0)
	start := time.Date(2026, 11, 28, 4, 13, 4, 0, time.UTC)
	if !r.First.Equal(start) || !r.Last.Equal(start.Add(4*time.Second)) || r.Sent != 12*1024 {
		t.Errorf("row %+v", r)
	}
	w := rep.Warnings()
	if len(w) != 1 || w[0].Kind != WarnNameTime || w[0].File != "/var/log/nethogs/other.log" || w[0].Skipped() {
		t.Errorf("warnings %v", w)
	}
}

// FuzzNameTime: any pattern and name: no panic, and a time that is read is
// in the zone asked for.
func FuzzNameTime(f *testing.F) {
	f.Add("%b_%d_%Y_%H_%M_%S", "Nov_28_2026_04_13_04.log")
	f.Add("%F %T", "2026-11-28 04:13:04")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		tm, ok := ParseNameTime(pattern, name, time.UTC)
		if ok && tm.Location() != time.UTC {
			t.Fatalf("%q %q -> %v", pattern, name, tm)
		}
	})
}
