package nethogs

import "time"

// ViewMode is nethogs's -v: what the SENT and RECEIVED numbers stand for.
type ViewMode int

// The six view modes, numbered as nethogs numbers them. KB = 1024 bytes,
// MB = 1024² and GB = 1024³ bytes.
const (
	ViewKBps    ViewMode = 0 // KB/s over the last refresh interval (nethogs's default)
	ViewTotalKB ViewMode = 1 // total KB since the start
	ViewTotalB  ViewMode = 2 // total bytes since the start
	ViewTotalMB ViewMode = 3 // total MB since the start
	ViewMBps    ViewMode = 4 // MB/s over the last refresh interval
	ViewGBps    ViewMode = 5 // GB/s over the last refresh interval
)

// NumViewModes is how many view modes there are (for cycling through them).
const NumViewModes = 6

// Valid reports whether m is one of the six view modes.
func (m ViewMode) Valid() bool { return m >= ViewKBps && m < NumViewModes }

// IsRate reports whether the mode shows a rate (as opposed to a total).
func (m ViewMode) IsRate() bool { return m == ViewKBps || m == ViewMBps || m == ViewGBps }

// Unit is the label nethogs's interactive view prints for the mode.
func (m ViewMode) Unit() string {
	switch m {
	case ViewKBps:
		return "kB/s"
	case ViewTotalKB:
		return "kB"
	case ViewTotalB:
		return "bytes"
	case ViewTotalMB:
		return "MB"
	case ViewMBps:
		return "MB/s"
	case ViewGBps:
		return "GB/s"
	}
	return "?"
}

// UnitBytes returns the bytes that one unit of the mode stands for (per
// second in the rate modes): 1024 for KB/s and KB, 1 for bytes, and so on;
// 0 for a number that is not a view mode.
func (m ViewMode) UnitBytes() float64 {
	const kb = 1024
	switch m {
	case ViewKBps, ViewTotalKB:
		return kb
	case ViewTotalB:
		return 1
	case ViewTotalMB, ViewMBps:
		return kb * kb
	case ViewGBps:
		return kb * kb * kb
	}
	return 0
}

// Value converts a row's bytes into the number the mode shows: interval
// bytes over elapsed for rate modes, total bytes for total modes.
func (m ViewMode) Value(interval, total uint64, elapsed time.Duration) float64 {
	unit := m.UnitBytes()
	switch {
	case unit == 0:
		return 0
	case !m.IsRate():
		return float64(total) / unit
	case elapsed <= 0:
		return 0
	}
	return float64(interval) / elapsed.Seconds() / unit
}
