package report

import (
	"time"
)

// cellKey is one group in one time bucket; bucket is the bucket's start in
// Unix nanoseconds (0 when the report has no buckets).
type cellKey struct {
	group  int32
	bucket int64
}

// cell accumulates one group in one bucket: what a Row reports, in bytes.
// It is kept small (80 bytes): a day in minute buckets by pid has millions.
type cell struct {
	key          cellKey
	sent, recv   float64
	peakS, peakR float64
	seen         time.Duration
	first, last  int64 // Unix nanoseconds; valid when hasTime
	refreshes    int32
	hasTime      bool
}

// current is a cell's bytes in the refresh being counted, for its peak
// rate: valid when stamp is that refresh.
type current struct {
	stamp      uint64
	curS, curR float64
}

// member says that process proc had a row counted in cell.
type member struct{ cell, proc int32 }

// agg is a set of cells with their members.
type agg struct {
	cells   []cell
	index   map[cellKey]int32
	members map[member]struct{}
}

func newAgg() *agg {
	return &agg{index: make(map[cellKey]int32), members: make(map[member]struct{})}
}

// cellOf returns the index of k's cell, made empty when new.
func (a *agg) cellOf(k cellKey) int32 {
	if i, ok := a.index[k]; ok {
		return i
	}
	i := int32(len(a.cells))
	a.cells = append(a.cells, cell{key: k})
	a.index[k] = i
	return i
}

// merge adds b's cells and members to a.
func (a *agg) merge(b *agg) {
	if len(a.cells) == 0 {
		*a = *b // nothing to add to: take b's as they are
		*b = agg{}
		return
	}
	remap := make([]int32, len(b.cells))
	for i := range b.cells {
		j := a.cellOf(b.cells[i].key)
		remap[i] = j
		a.cells[j].add(&b.cells[i])
	}
	for m := range b.members {
		a.members[member{remap[m.cell], m.proc}] = struct{}{}
	}
}

// mergeMapped adds b's cells and members to a, b's groups and processes
// numbered groups[g] and procs[p] in a.
func (a *agg) mergeMapped(b *agg, groups, procs []int32) {
	remap := make([]int32, len(b.cells))
	for i := range b.cells {
		c := &b.cells[i]
		j := a.cellOf(cellKey{groups[c.key.group], c.key.bucket})
		remap[i] = j
		a.cells[j].add(c)
	}
	for m := range b.members {
		a.members[member{remap[m.cell], procs[m.proc]}] = struct{}{}
	}
}

// clone returns a copy of a that shares nothing with it.
func (a *agg) clone() *agg {
	b := &agg{cells: append([]cell(nil), a.cells...), index: make(map[cellKey]int32, len(a.index)),
		members: make(map[member]struct{}, len(a.members))}
	for k, v := range a.index {
		b.index[k] = v
	}
	for m := range a.members {
		b.members[m] = struct{}{}
	}
	return b
}

// add adds what c counted to d.
func (d *cell) add(c *cell) {
	d.sent += c.sent
	d.recv += c.recv
	d.peakS, d.peakR = max(d.peakS, c.peakS), max(d.peakR, c.peakR)
	d.refreshes += c.refreshes
	d.seen = addDur(d.seen, c.seen)
	d.addTimes(c)
}

// addTimes widens d's first..last to include c's.
func (d *cell) addTimes(c *cell) {
	if !c.hasTime {
		return
	}
	if !d.hasTime {
		d.first, d.last, d.hasTime = c.first, c.last, true
		return
	}
	d.first, d.last = min(d.first, c.first), max(d.last, c.last)
}

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
		s.gen, s.cell = t.gen, t.cellOf(cellKey{group, t.bucket})
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
	c := &t.cells[s.cell]
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
		t.members[member{s.cell, proc}] = struct{}{}
	}
}

// end closes the refresh: each group touched counts it, its time and its
// rate in it.
func (t *tally) end() {
	secs := t.dur.Seconds()
	for _, i := range t.touched {
		c, cc := &t.cells[i], &t.cur[i]
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
