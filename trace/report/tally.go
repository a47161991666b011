package report

import (
	"time"
)

// slot caches a group's cell in the current bucket: valid when gen matches.
type slot struct {
	gen  uint32
	cell int32
}

// tally accumulates the refreshes of one input stretch into an agg, one
// refresh at a time: begin, add each row's bytes, end. It is kept apart
// from the report's totals until the stretch is known not to be a
// duplicate, then merged.
type tally struct {
	*agg
	refresh *uint64 // the report's refresh counter, so stamps never repeat
	bucket  int64
	gen     uint32
	slots   []slot    // group -> its cell in the current bucket
	cur     []current // cell -> its bytes in this refresh
	procIn  []int32   // proc -> 1 + the last cell it was made a member of
	cellHas []int32   // cell -> 1 + the last proc made a member of it
	touched []int32
	at      int64 // this refresh's time (Unix ns), when hasAt
	hasAt   bool
	dur     time.Duration
}

func newTally(refresh *uint64) *tally {
	return &tally{agg: newAgg(), refresh: refresh, gen: 1}
}

// begin starts a refresh in bucket (a start in Unix ns, or 0) taken at at
// (zero: unknown) and lasting dur.
func (t *tally) begin(bucket int64, at time.Time, dur time.Duration) {
	*t.refresh++
	if bucket != t.bucket {
		t.bucket = bucket
		t.gen++
	}
	t.hasAt = !at.IsZero()
	if t.hasAt {
		t.at = at.UnixNano()
	}
	t.dur = dur
	t.touched = t.touched[:0]
}

// add counts bytes of process proc to group in the current refresh.
func (t *tally) add(proc, group int32, sent, recv float64) {
	for int(group) >= len(t.slots) {
		t.slots = append(t.slots, slot{})
	}
	s := &t.slots[group]
	if s.gen != t.gen {
		s.gen, s.cell = t.gen, t.cellOf(group, t.bucket)
	}
	for int(s.cell) >= len(t.cur) {
		t.cur = append(t.cur, current{})
	}
	cc := &t.cur[s.cell]
	if cc.stamp != *t.refresh {
		cc.stamp = *t.refresh
		cc.curS, cc.curR = 0, 0
		t.touched = append(t.touched, s.cell)
	}
	cc.curS += sent
	cc.curR += recv
	c := t.cell(s.cell)
	c.sent += sent
	c.recv += recv
	for int(proc) >= len(t.procIn) {
		t.procIn = append(t.procIn, 0)
	}
	for int(s.cell) >= len(t.cellHas) {
		t.cellHas = append(t.cellHas, 0)
	}
	// Either cache says the member is in already: the process's last
	// cell, or the cell's last process (a remote's bytes come from a few).
	if t.procIn[proc] != s.cell+1 && t.cellHas[s.cell] != proc+1 {
		t.procIn[proc] = s.cell + 1
		t.cellHas[s.cell] = proc + 1
		t.addMember(s.cell, proc)
	}
}

// end closes the refresh: each group touched counts it, its time and its
// rate in it.
func (t *tally) end() {
	secs := t.dur.Seconds()
	for _, i := range t.touched {
		c, cc := t.cell(i), &t.cur[i]
		c.refreshes++
		c.seen = addDur(c.seen, t.dur)
		if secs > 0 {
			c.peakS, c.peakR = max(c.peakS, cc.curS/secs), max(c.peakR, cc.curR/secs)
		}
		if t.hasAt {
			c.addTimes(&cell{first: t.at, last: t.at, hasTime: true})
		}
	}
	t.touched = t.touched[:0]
}
