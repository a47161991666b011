package tui

import (
	"strconv"
	"time"
)

// sample is one refresh of one row: the bytes counted in the interval
// (t-elapsed, t].
type sample struct {
	t       time.Time
	elapsed time.Duration
	sent    uint64
	recv    uint64
}

// history is a row's samples of the last HistoryWindow, oldest first.
type history struct {
	samples []sample
}

// mergeSpan is the longest interval samples are merged into: the
// sparkline's columns are a second wide at most, so with short refresh
// periods (-d 0.1) a row keeps about 60 samples rather than 600.
const mergeSpan = time.Second

// add appends a sample, merged into the previous one when both fit in
// mergeSpan, and forgets those entirely before now-HistoryWindow.
func (h *history) add(s sample, now time.Time) {
	merged := false
	if n := len(h.samples); n > 0 {
		last := &h.samples[n-1]
		if last.elapsed+s.elapsed <= mergeSpan && s.t.Add(-s.elapsed).Equal(last.t) {
			last.t = s.t
			last.elapsed += s.elapsed
			last.sent += s.sent
			last.recv += s.recv
			merged = true
		}
	}
	if !merged {
		h.samples = append(h.samples, s)
	}
	from := now.Add(-HistoryWindow)
	i := 0
	for i < len(h.samples) && !h.samples[i].t.After(from) {
		i++
	}
	if i > 0 {
		h.samples = append(h.samples[:0], h.samples[i:]...)
	}
}

// rates spreads the samples over n equal bins covering (now-HistoryWindow,
// now] and returns each bin's average rate in bytes per second (sent or
// received), and whether any sample covers the bin. A sample's bytes are
// spread evenly over its interval, so the bins are right whatever the
// refresh period.
func (h *history) rates(n int, now time.Time, sent bool) (rate []float64, covered []bool) {
	rate = make([]float64, n)
	covered = make([]bool, n)
	if n <= 0 {
		return rate, covered
	}
	from := now.Add(-HistoryWindow)
	bin := HistoryWindow / time.Duration(n)
	for _, s := range h.samples {
		if s.elapsed <= 0 {
			continue
		}
		b := s.recv
		if sent {
			b = s.sent
		}
		perNs := float64(b) / float64(s.elapsed)
		start, end := s.t.Add(-s.elapsed), s.t
		for i := 0; i < n; i++ {
			lo := from.Add(time.Duration(i) * bin)
			hi := lo.Add(bin)
			ov := minTime(hi, end).Sub(maxTime(lo, start))
			if ov <= 0 {
				continue
			}
			covered[i] = true
			rate[i] += perNs * float64(ov)
		}
	}
	for i := range rate {
		rate[i] /= bin.Seconds()
	}
	return rate, covered
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sparkLevels are the sparkline's glyphs, lowest first; asciiLevels stand
// in on terminals that cannot show the block elements.
var (
	sparkLevels = []rune("▁▂▃▄▅▆▇█")
	asciiLevels = []rune("_.-:=+*#")
)

// sparkline draws rates as one glyph each, scaled to peak: no data is a
// space, zero the lowest glyph, any traffic at least the second.
func sparkline(rate []float64, covered []bool, peak float64, levels []rune) string {
	out := make([]rune, len(rate))
	top := len(levels) - 1
	for i, r := range rate {
		switch {
		case !covered[i]:
			out[i] = ' '
		case r <= 0 || peak <= 0:
			out[i] = levels[0]
		default:
			l := 1 + int(r/peak*float64(top-1)+0.5)
			out[i] = levels[max(1, min(l, top))]
		}
	}
	return string(out)
}

// humanRate formats bytes per second with a binary prefix: "615.5 kB/s".
func humanRate(bps float64) string {
	return humanBytes(bps) + "/s"
}

// humanBytes formats a byte count with a binary prefix (kB = 1024 B, as
// nethogs's units are).
func humanBytes(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(b, 'f', 0, 64) + " " + units[i]
	}
	return strconv.FormatFloat(b, 'f', 1, 64) + " " + units[i]
}
