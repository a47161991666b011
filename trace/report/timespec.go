package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a time as --since and --until take it: RFC 3339
// (2026-11-28T03:00:00Z, with a fraction or an offset), a date and clock
// time without a zone (2026-11-28T03:00, 2026-11-28 03:00:05), a date
// (2026-11-28, its midnight), a clock time today (03:00, 03:00:05), "now",
// or relative to now (-24h, -90m, -2d, -1d12h; d is 24 hours). Times
// without a zone, "today" and relative times are taken in now's location;
// now is a parameter so that the caller's clock (or a test's) decides.
func ParseTime(s string, now time.Time) (time.Time, error) {
	loc := now.Location()
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+"):
		d, err := ParseDuration(s[1:])
		if err != nil {
			break
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		if c, err := time.Parse(layout, s); err == nil {
			y, m, d := now.Date()
			return time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("report: time %q: want RFC 3339 (2026-11-28T03:00:00Z), a date (2026-11-28), "+
		"a clock time today (03:00) or relative to now (-24h, -2d)", s)
}

// ParseDuration reads a Go duration (90s, 1h30m) that may begin with whole
// days (1d, 2d12h; a day is 24 hours). It refuses negative durations.
func ParseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("report: duration %q: %q is not a number of days", s, s[:i])
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("report: duration %q: not a duration such as 1m, 1h or 1d", s)
	}
	return days + d, nil
}

// ParseEvery reads the width of time buckets (--every): a duration as
// ParseDuration reads it, at least one second, that divides a day (1m, 15m,
// 1h, 6h) or is whole days (1d, 7d), so that buckets start at round times.
func ParseEvery(s string) (time.Duration, error) {
	d, err := ParseDuration(s)
	if err != nil {
		return 0, err
	}
	const day = 24 * time.Hour
	if d < time.Second || d%time.Second != 0 || (d < day && day%d != 0) || (d > day && d%day != 0) {
		return 0, fmt.Errorf("report: buckets of %q: want whole seconds that divide a day (1m, 15m, 1h) or whole days (1d)", s)
	}
	return d, nil
}

// BucketStart returns the start of the bucket of width every that holds t:
// buckets are aligned on midnight in loc (whole days on day numbers since
// 1970-01-01), so that 1h buckets start on the hour and 1d buckets at
// midnight local time.
func BucketStart(t time.Time, every time.Duration, loc *time.Location) time.Time {
	const day = 24 * time.Hour
	lt := t.In(loc)
	y, m, d := lt.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if every >= day {
		n := int64(every / day)
		dayNum := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		back := dayNum % n
		if back < 0 {
			back += n
		}
		return time.Date(y, m, d-int(back), 0, 0, 0, 0, loc)
	}
	off := lt.Sub(midnight)
	return midnight.Add(off - off%every)
}
