package report

import (
	"slices"
	"time"
)

// cell accumulates one group in one time bucket (bucket is the bucket's
// start in Unix nanoseconds, 0 when the report has no buckets): what a Row
// reports, in bytes. It is kept small (80 bytes): a day in minute buckets
// by remote has a million or more.
type cell struct {
	group        int32
	proc1        int32 // 1 + the first process counted in the cell (0: none yet)
	bucket       int64
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

// cellPage is the number of cells in a page of an agg's storage.
const (
	cellPageBits = 12
	cellPage     = 1 << cellPageBits
)

// agg is a set of cells with their members, stored per group: each group
// has its cells in bucket order (byGroup), found by looking at its last
// (refreshes come in time order) or by binary search, instead of a map
// of every cell. The cells are in pages that never move, so that the
// set grows without copying it (a copy left as garbage would double the
// memory of a large report until it is collected). A cell's first member
// is in the cell; only the others, rare (a group that many processes
// share in one bucket), are in members.
type agg struct {
	pages   [][]cell
	n       int32
	byGroup [][]bucketCell
	members map[member]struct{}
}

// bucketCell is a group's cell in a bucket.
type bucketCell struct {
	bucket int64
	cell   int32
}

func newAgg() *agg {
	return &agg{members: make(map[member]struct{})}
}

// cell returns cell i.
func (a *agg) cell(i int32) *cell { return &a.pages[i>>cellPageBits][i&(cellPage-1)] }

// cellOf returns the index of the cell of group in bucket, made empty
// when new.
func (a *agg) cellOf(group int32, bucket int64) int32 {
	if int(group) >= len(a.byGroup) {
		a.byGroup = slices.Grow(a.byGroup, int(group)+1-len(a.byGroup))[:group+1]
	}
	l := a.byGroup[group]
	if n := len(l); n > 0 && l[n-1].bucket == bucket {
		return l[n-1].cell
	}
	at, found := slices.BinarySearchFunc(l, bucket, func(c bucketCell, b int64) int {
		switch {
		case c.bucket < b:
			return -1
		case c.bucket > b:
			return 1
		}
		return 0
	})
	if found {
		return l[at].cell
	}
	i := a.n
	p := int(i >> cellPageBits)
	if p == len(a.pages) {
		size := cellPage
		if p == 0 {
			size = 16 // small reports stay small; the first page grows
		}
		a.pages = append(a.pages, make([]cell, 0, size))
	}
	pg := &a.pages[p]
	*pg = append(*pg, cell{group: group, bucket: bucket})
	a.n++
	a.byGroup[group] = slices.Insert(l, at, bucketCell{bucket, i})
	return i
}

// addMember records that process proc had a row counted in cell c.
func (a *agg) addMember(c, proc int32) {
	d := a.cell(c)
	switch d.proc1 {
	case 0:
		d.proc1 = proc + 1
	case proc + 1:
	default:
		a.members[member{c, proc}] = struct{}{}
	}
}

// memberCounts returns the number of processes of each cell.
func (a *agg) memberCounts() []int32 {
	procs := make([]int32, a.n)
	for i := range a.n {
		if a.cell(i).proc1 > 0 {
			procs[i]++
		}
	}
	for m := range a.members {
		procs[m.cell]++
	}
	return procs
}

// eachMember calls f for every member of every cell.
func (a *agg) eachMember(f func(cell, proc int32)) {
	for i := range a.n {
		if p := a.cell(i).proc1; p > 0 {
			f(i, p-1)
		}
	}
	for m := range a.members {
		f(m.cell, m.proc)
	}
}

// merge adds b's cells and members to a.
func (a *agg) merge(b *agg) {
	if a.n == 0 {
		*a = *b // nothing to add to: take b's as they are
		*b = agg{}
		return
	}
	a.mergeMapped(b, nil, nil)
}

// mergeMapped adds b's cells and members to a, b's groups and processes
// numbered groups[g] and procs[p] in a (nil: as they are).
func (a *agg) mergeMapped(b *agg, groups, procs []int32) {
	remap := make([]int32, b.n)
	for i := range b.n {
		c := b.cell(i)
		g := c.group
		if groups != nil {
			g = groups[g]
		}
		j := a.cellOf(g, c.bucket)
		remap[i] = j
		a.cell(j).add(c)
	}
	b.eachMember(func(c, p int32) {
		if procs != nil {
			p = procs[p]
		}
		a.addMember(remap[c], p)
	})
}

// clone returns a copy of a that shares nothing with it.
func (a *agg) clone() *agg {
	b := &agg{n: a.n, pages: make([][]cell, len(a.pages)), byGroup: make([][]bucketCell, len(a.byGroup)),
		members: make(map[member]struct{}, len(a.members))}
	for i, p := range a.pages {
		b.pages[i] = slices.Clone(p)
	}
	for i, l := range a.byGroup {
		b.byGroup[i] = slices.Clone(l)
	}
	for m := range a.members {
		b.members[m] = struct{}{}
	}
	return b
}

// add adds what c counted to d (all but its members).
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
