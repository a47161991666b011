package report

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 28, 15, 30, 0, 0, cet) // the injected clock
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-11-27T03:00:00Z", time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)},
		{"2026-11-27T03:00:00.25+02:00", time.Date(2026, 11, 27, 1, 0, 0, 250e6, time.UTC)},
		{"2026-11-27T03:00", time.Date(2026, 11, 27, 3, 0, 0, 0, cet)},
		{"2026-11-27 03:00:05", time.Date(2026, 11, 27, 3, 0, 5, 0, cet)},
		{"2026-11-27", time.Date(2026, 11, 27, 0, 0, 0, 0, cet)},
		{"03:00", time.Date(2026, 11, 28, 3, 0, 0, 0, cet)},
		{"23:59:30", time.Date(2026, 11, 28, 23, 59, 30, 0, cet)},
		{"now", now},
		{"-24h", now.Add(-24 * time.Hour)},
		{"-90m", now.Add(-90 * time.Minute)},
		{"-2d", now.Add(-48 * time.Hour)},
		{"-1d12h", now.Add(-36 * time.Hour)},
		{"+1h", now.Add(time.Hour)},
	} {
		got, err := ParseTime(c.in, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-", "-x", "--1h", "25:00", "2026-13-01", "2026-11-28T03:00:00", "-1.5d", "1h"} {
		if bad == "2026-11-28T03:00:00" {
			continue // a date and time without a zone: local, fine
		}
		if got, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseEvery(t *testing.T) {
	for in, want := range map[string]time.Duration{"1m": time.Minute, "1h": time.Hour, "1d": 24 * time.Hour, "15m": 15 * time.Minute,
		"7d": 7 * 24 * time.Hour, "1s": time.Second, "6h": 6 * time.Hour, "1d0h": 24 * time.Hour} {
		if got, err := ParseEvery(in); err != nil || got != want {
			t.Errorf("ParseEvery(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "0s", "-1h", "7m", "1.5s", "500ms", "25h", "1d1h", "soon", "d", "1x"} {
		if got, err := ParseEvery(bad); err == nil {
			t.Errorf("ParseEvery(%q) = %v, want an error", bad, got)
		}
	}
}

func TestBucketStart(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	at := time.Date(2026, 11, 28, 3, 47, 12, 5, cet)
	for every, want := range map[time.Duration]time.Time{
		time.Minute:        time.Date(2026, 11, 28, 3, 47, 0, 0, cet),
		15 * time.Minute:   time.Date(2026, 11, 28, 3, 45, 0, 0, cet),
		time.Hour:          time.Date(2026, 11, 28, 3, 0, 0, 0, cet),
		6 * time.Hour:      time.Date(2026, 11, 28, 0, 0, 0, 0, cet),
		24 * time.Hour:     time.Date(2026, 11, 28, 0, 0, 0, 0, cet), // local midnight, not UTC's
		2 * 24 * time.Hour: time.Date(2026, 11, 27, 0, 0, 0, 0, cet), // even day numbers since 1970-01-01
	} {
		if got := BucketStart(at, every, cet); !got.Equal(want) {
			t.Errorf("BucketStart(%v, %v) = %v, want %v", at, every, got, want)
		}
	}
	// The same instant read in UTC falls in the same local bucket.
	if got := BucketStart(at.UTC(), 24*time.Hour, cet); !got.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, cet)) {
		t.Errorf("UTC instant: %v", got)
	}
}
