package report

import (
	"strconv"
	"time"
)

// Options say how to read inputs that have no header line.
type Options struct {
	// Delay is the refresh delay of inputs without a header (nethogs -d);
	// 0 means 1 s, nethogs's default.
	Delay time.Duration
	// ViewMode is the view mode of inputs without a header (nethogs -v),
	// or ViewAuto: read them as ViewKBps and warn when the numbers look
	// cumulative. The zero value is ViewKBps, given explicitly; a number that
	// is not a view mode counts as ViewAuto.
	ViewMode int
	// NameTime, when set, is the strftime pattern that named header-less
	// files after their start time (see ParseNameTime), which then gives
	// their refresh times; Location is its time zone (nil: time.Local).
	NameTime string
	Location *time.Location
	// MaxWarnings caps the malformed-line warnings kept per input (the rest
	// are counted in one more warning); 0 means 100.
	MaxWarnings int

	// The question asked, fixed before the first Add since the totals are
	// summed as the inputs are read (see Rows and Buckets).
	//
	// By is the grouping of the rows.
	By GroupBy
	// Every, when positive, splits the totals into time buckets of that
	// width (see ParseEvery), aligned on midnight in Location.
	Every time.Duration
	// Since and Until, when not zero, keep only the refreshes taken at or
	// after Since and before Until.
	Since, Until time.Time
}

// timed reports whether the options ask about time, so that refreshes
// without a known time cannot be counted.
func (o *Options) timed() bool { return o.Every > 0 || !o.Since.IsZero() || !o.Until.IsZero() }

// WarningKind classifies a Warning.
type WarningKind int

// The kinds of warnings.
const (
	// WarnMalformed: a line was not understood and was skipped.
	WarnMalformed WarningKind = iota
	// WarnMoreMalformed: more malformed lines than MaxWarnings, skipped
	// and counted in Warning.Count rather than listed.
	WarnMoreMalformed
	// WarnDuplicate: an input had the same run, seq and content as an
	// earlier one (the same file given twice) and was skipped so its
	// traffic is not counted twice.
	WarnDuplicate
	// WarnGap: the files given of one run skip a seq number (a rotated
	// file is missing); nothing was skipped, but the report lacks it.
	WarnGap
	// WarnNameTime: Options.NameTime is set but a header-less input's name
	// does not match it; its refresh times are unknown.
	WarnNameTime
	// WarnViewMode: an input without header and without a given view mode
	// has numbers that only grow, as in a cumulative view mode. It was still
	// read as KB/s; nothing was skipped.
	WarnViewMode
	// WarnNoTime: Options ask about time (Every, Since, Until) but an
	// input's refreshes have no known time (a header-less log without
	// NameTime); they were left out, Count says how many.
	WarnNoTime
)

// Warning is one problem found in the input.
type Warning struct {
	Kind WarningKind
	// File is the input's name as given to Add; Line its 1-based line
	// number (0 when the warning is about the whole input).
	File string
	Line int
	// Reason says what is wrong.
	Reason string
	// Count is the number of lines skipped that the warning stands for
	// (1 for WarnMalformed; 0 for WarnViewMode), or for WarnNoTime the
	// number of refreshes left out.
	Count int
}

// Skipped reports whether the warning means input was left out of the report.
func (w Warning) Skipped() bool { return w.Count > 0 || w.Kind == WarnDuplicate }

// SkippedLines is the number of lines the warning stands for as left out:
// Count, except for WarnNoTime, whose Count is refreshes.
func (w Warning) SkippedLines() int {
	if w.Kind == WarnNoTime {
		return 0
	}
	return w.Count
}

// String returns "FILE:LINE: reason" (or "FILE: reason").
func (w Warning) String() string {
	if w.Line > 0 {
		return w.File + ":" + strconv.Itoa(w.Line) + ": " + w.Reason
	}
	return w.File + ": " + w.Reason
}
