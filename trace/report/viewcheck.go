package report

import "strconv"

// viewCheck checks a header-less segment's view mode against its numbers,
// row by row as they are read. Read as KB/s (assumed, ViewAuto), it warns
// when the numbers look cumulative: no process's number ever decreases
// from one refresh to the next, and some process's number grows in at
// least 3 refreshes. Read in a cumulative mode (given), it warns when
// numbers decrease in 2 or more refreshes, which running totals do not do.
type viewCheck struct {
	gen   uint32
	slots []viewSlot // proc -> its last numbers in the segment of generation gen
}

type viewSlot struct {
	gen        uint32
	grows      int
	sent, recv float64
}

// start begins a segment's check and returns its generation.
func (v *viewCheck) start() uint32 {
	v.gen++
	return v.gen
}

// row takes one process row of segment s.
func (v *viewCheck) row(s *segment, proc int32, sent, recv float64) {
	for int(proc) >= len(v.slots) {
		v.slots = append(v.slots, viewSlot{})
	}
	l := &v.slots[proc]
	if l.gen != s.vgen {
		*l = viewSlot{gen: s.vgen, sent: sent, recv: recv}
		return
	}
	if sent < l.sent || recv < l.recv {
		s.drops++
	} else if sent > l.sent || recv > l.recv {
		l.grows++
		s.maxGrows = max(s.maxGrows, l.grows)
	}
	l.sent, l.recv = sent, recv
}

// verdict adds the warning about s, if any.
func (v *viewCheck) verdict(r *Report, s *segment) {
	line := lineOrWhole(s.startLn)
	n := strconv.Itoa(s.blocks)
	switch {
	case s.auto && s.drops == 0 && s.maxGrows >= 3:
		r.warnings = append(r.warnings, Warning{Kind: WarnViewMode, File: s.file, Line: line,
			Reason: "numbers only grow over " + n +
				" refreshes, as in a cumulative view mode (-v 1, 2 or 3); read as -v 0 (KB/s): pass -v to choose"})
	case !s.auto && s.drops >= 2:
		r.warnings = append(r.warnings, Warning{Kind: WarnViewMode, File: s.file, Line: line,
			Reason: "numbers decrease " + strconv.Itoa(s.drops) + " times in " + n + " refreshes, which running totals do not: " +
				"read as -v " + strconv.Itoa(s.view) + " (each decrease taken as a restarted counter); is it a rate view mode (-v 0, 4 or 5)?"})
	}
}
