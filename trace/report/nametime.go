package report

import (
	"strconv"
	"strings"
	"time"
)

// ParseNameTime reads the time in a file name written by a strftime pattern,
// as cron jobs name nethogs logs (pattern %b_%d_%Y_%H_%M_%S for
// Nov_28_2026_04_13_04.log). The pattern must match the start of name;
// what follows (".log", ".log.gz") is ignored. Fields: %Y %y %m %d %e %H %M
// %S %j %b %h %B %s %F %T %%; any other character matches itself. Times are
// in loc (nil: time.Local), as the shell that named the file used.
func ParseNameTime(pattern, name string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.Local
	}
	year, month, day, hour, min, sec, yday := -1, 1, 1, 0, 0, 0, 0
	unix := int64(-1)
	pattern = strings.NewReplacer("%F", "%Y-%m-%d", "%T", "%H:%M:%S").Replace(pattern)
	s := name
	num := func(width int, spacePad bool) (int, bool) {
		if spacePad && len(s) > 0 && s[0] == ' ' {
			s = s[1:]
			width--
		}
		i := 0
		for i < len(s) && i < width && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, false
		}
		n, err := strconv.Atoi(s[:i])
		s = s[i:]
		return n, err == nil
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			if len(s) == 0 || s[0] != c {
				return time.Time{}, false
			}
			s = s[1:]
			continue
		}
		i++
		var ok bool
		switch pattern[i] {
		case 'Y':
			year, ok = num(4, false)
		case 'y':
			year, ok = num(2, false)
			year += 2000
		case 'm':
			month, ok = num(2, false)
		case 'd':
			day, ok = num(2, false)
		case 'e':
			day, ok = num(2, true)
		case 'H':
			hour, ok = num(2, false)
		case 'M':
			min, ok = num(2, false)
		case 'S':
			sec, ok = num(2, false)
		case 'j':
			yday, ok = num(3, false)
		case 's':
			var n int
			n, ok = num(19, false)
			unix = int64(n)
		case 'b', 'h', 'B':
			for m := time.January; m <= time.December; m++ {
				full := m.String()
				w := full[:3]
				if pattern[i] == 'B' {
					w = full
				}
				if len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) {
					month, ok, s = int(m), true, s[len(w):]
					break
				}
			}
		case '%':
			ok = len(s) > 0 && s[0] == '%'
			if ok {
				s = s[1:]
			}
		default:
			return time.Time{}, false // a field this reader does not know
		}
		if !ok {
			return time.Time{}, false
		}
	}
	if unix >= 0 {
		return time.Unix(unix, 0).In(loc), true
	}
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, 0, loc)
	if yday > 0 {
		t = time.Date(year, 1, yday, hour, min, sec, 0, loc)
	}
	if t.Day() != day && yday == 0 { // 31 February
		return time.Time{}, false
	}
	return t, true
}
