package report

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"
)

// GroupBy says how the rows are grouped.
type GroupBy int

// The groupings.
const (
	// ByName groups by program name as logged (with its arguments when
	// nethogs ran with -l). The rows without a process keep their own names:
	// "unknown TCP", "unknown UDP", and each connection nethogs named a
	// pseudo-process after ("127.0.0.1:44770-127.0.0.1:7101").
	ByName GroupBy = iota
	// ByPID gives one row per process as logged: name, pid and uid.
	ByPID
	// ByUser groups by uid; rows without a process (pid 0) go to UID -1.
	ByUser
	// ByUnit groups by systemd unit, as JSON logs give it; rows without
	// one go to NoUnit, and every row of a trace log to FromTrace.
	ByUnit
	// ByContainer groups by container (runtime, id and name), as JSON logs
	// give it; rows without one go to NoContainer, trace rows to FromTrace.
	ByContainer
	// ByRemote groups the bytes of each connection of a JSON log by its
	// remote end: the name DNS gave it (remote_name) when there is one,
	// else its address without the port. A row's bytes that no connection
	// carries (the unknown rows) go to NoRemote, trace rows to FromTrace.
	ByRemote
)

// The placeholders of the groups of rows without the fact grouped by.
const (
	NoUnit      = "(no unit)"
	NoContainer = "(no container)"
	NoRemote    = "(no remote)"
	// FromTrace: trace logs (gohogs -t, nethogs) carry no units,
	// containers or connections.
	FromTrace = "(trace log)"
)

var groupNames = []string{ByName: "name", ByPID: "pid", ByUser: "user", ByUnit: "unit", ByContainer: "container", ByRemote: "remote"}

// ParseGroupBy parses "name", "pid", "user", "unit", "container" or "remote".
func ParseGroupBy(s string) (GroupBy, error) {
	if s == "uid" {
		return ByUser, nil
	}
	if i := slices.Index(groupNames, s); i >= 0 {
		return GroupBy(i), nil
	}
	return 0, fmt.Errorf("report: unknown grouping %q (want name, pid, user, unit, container or remote)", s)
}

// String returns the grouping's name as ParseGroupBy reads it.
func (g GroupBy) String() string {
	if g < 0 || int(g) >= len(groupNames) {
		return "name"
	}
	return groupNames[g]
}

// Container is the container a process ran in, as JSON logs give it.
type Container struct {
	Runtime, ID, Name string
}

// Label returns the container's name, else the first 12 characters of its
// id.
func (c Container) Label() string {
	switch {
	case c.Name != "":
		return c.Name
	case len(c.ID) > 12:
		return c.ID[:12]
	}
	return c.ID
}

// Row is the summary of one group.
type Row struct {
	// Name is the program name (ByName, ByPID); empty otherwise.
	Name string
	// PID is the process id (ByPID; 0 for rows without a process); 0 otherwise.
	PID int
	// UID is the user id (ByPID, ByUser); -1 in ByUser for the rows without
	// a process; -1 in the other groupings.
	UID int64
	// Unit (ByUnit), Container (ByContainer) and Remote (ByRemote) say
	// the group, or hold a placeholder (NoUnit..., FromTrace): Unit and
	// Remote as a string, Container in its Name.
	Unit      string
	Container Container
	Remote    string
	// Processes is the number of distinct processes (name, pid, uid) in
	// the group.
	Processes int
	// Sent and Recv are the bytes: in the rate view modes the rate times the
	// delay summed over refreshes; in the cumulative ones the growth of
	// each process's running total over the refreshes counted (should it
	// ever shrink, its counter restarted, and its new value counts); in
	// JSON logs the bytes of each refresh.
	Sent, Recv int64
	// PeakSent and PeakRecv are the highest rates in one refresh, bytes per
	// second (in the cumulative modes, the growth between refreshes divided
	// by the delay).
	PeakSent, PeakRecv float64
	// MeanSent and MeanRecv are Sent and Recv divided by Seen, bytes per
	// second: the mean rate over the refreshes the group was seen.
	MeanSent, MeanRecv float64
	// Refreshes is the number of refreshes in which the group had a row;
	// Seen is their total time (each refresh counts its delay).
	Refreshes int
	Seen      time.Duration
	// First and Last are the times of the first and last refresh the group
	// was seen in; zero when unknown. A refresh's time is the start of the
	// interval it covers: in JSON logs its timestamp less its interval; in
	// trace logs refresh k of a run is taken at start + k × delay, for
	// inputs whose header (or name, see Options.NameTime) gives the start.
	First, Last time.Time
}

// Owned reports whether the row is one process (ByPID with a pid > 0).
func (r Row) Owned() bool { return r.PID > 0 }

// Total returns Sent + Recv (at most MaxInt64).
func (r Row) Total() int64 {
	if r.Sent > math.MaxInt64-r.Recv {
		return math.MaxInt64
	}
	return r.Sent + r.Recv
}

// Bucket is the rows of one time bucket (Options.Every).
type Bucket struct {
	// Start is the bucket's start; zero when the report has no buckets.
	Start time.Time
	Rows  []Row
}

// groupKey is what a group is made of; the fields its grouping does not
// use are zero (UID -1).
type groupKey struct {
	name      string
	pid       int
	uid       int64
	unit      string
	container Container
	remote    string
}

// factGrouping reports whether the grouping is by a fact that only JSON
// logs carry.
func (g GroupBy) factGrouping() bool { return g == ByUnit || g == ByContainer || g == ByRemote }

// traceGroup returns the group of a trace row.
func (r *Report) traceGroup(proc int32) int32 {
	if r.opts.By.factGrouping() {
		return r.placeholder(FromTrace)
	}
	return r.procGroupOf(proc)
}

// snapshot returns the totals of everything read: the stretches counted,
// and those still waiting for an earlier file of their run counted as if
// the missing files had no refreshes (their times early, as WarnGap says).
func (r *Report) snapshot() *agg {
	if r.cache != nil {
		return r.cache
	}
	a := r.total
	var runs []*runState
	for _, rs := range r.runs {
		if len(rs.pending) > 0 {
			runs = append(runs, rs)
		}
	}
	if len(runs) > 0 {
		// In order of the first file's appearance, so the float sums are
		// the same every time.
		slices.SortFunc(runs, func(x, y *runState) int { return cmp.Compare(x.pending[0].order, y.pending[0].order) })
		a = r.total.clone()
		for _, rs := range runs {
			pend := slices.Clone(rs.pending)
			slices.SortStableFunc(pend, func(x, y *segment) int { return cmp.Compare(x.seq, y.seq) })
			cur := cursor{base: rs, offset: rs.offset}
			for _, s := range pend {
				a.merge(r.replay(s, &cur))
			}
		}
	}
	r.cache = a
	return a
}

// Rows returns the totals of everything added so far, over all the time
// selected (Options.Since, Until), grouped as Options.By says and sorted by
// total bytes, largest first (ties by name, pid, uid, unit, container,
// remote).
//
// A run's files (same header run=) continue one another in order of seq,
// whatever the order they were added in: the cumulative counters carry on
// across rotated files and refresh times count on; different runs add up.
func (r *Report) Rows() []Row {
	a := r.snapshot()
	byGroup := make(map[int32]*cell)
	var order []int32
	for i := range a.n {
		c := a.cell(i)
		g := c.group
		d := byGroup[g]
		if d == nil {
			d = &cell{group: g}
			byGroup[g] = d
			order = append(order, g)
		}
		d.add(c)
	}
	procs := make(map[int32]int)
	seen := make(map[member]struct{})
	a.eachMember(func(c, proc int32) {
		gm := member{a.cell(c).group, proc}
		if _, dup := seen[gm]; !dup {
			seen[gm] = struct{}{}
			procs[gm.cell]++
		}
	})
	rows := make([]Row, 0, len(order))
	for _, g := range order {
		rows = append(rows, r.row(byGroup[g], procs[g]))
	}
	sortRows(rows)
	return rows
}

// Buckets returns the rows of each time bucket (Options.Every), in time
// order, each sorted as Rows sorts; buckets without traffic are left out.
// Without Every it returns one bucket with the rows of Rows.
func (r *Report) Buckets() []Bucket {
	return slices.Collect(r.BucketSeq())
}

// BucketSeq yields the buckets Buckets returns one at a time, making each
// bucket's rows only when it comes: a day of minute buckets by pid is
// millions of rows, too many to hold at once. It may be ranged over more
// than once.
func (r *Report) BucketSeq() iter.Seq[Bucket] {
	return func(yield func(Bucket) bool) {
		if r.opts.Every <= 0 {
			yield(Bucket{Rows: r.Rows()})
			return
		}
		a := r.snapshot()
		procs := a.memberCounts()
		order := make([]int32, a.n)
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortFunc(order, func(x, y int32) int { return cmp.Compare(a.cell(x).bucket, a.cell(y).bucket) })
		for len(order) > 0 {
			start := a.cell(order[0]).bucket
			n := 1
			for n < len(order) && a.cell(order[n]).bucket == start {
				n++
			}
			rows := make([]Row, n)
			for i, c := range order[:n] {
				rows[i] = r.row(a.cell(c), int(procs[c]))
			}
			order = order[n:]
			sortRows(rows)
			if !yield(Bucket{Start: time.Unix(0, start).In(r.opts.Location), Rows: rows}) {
				return
			}
		}
	}
}

// row makes the Row of a cell.
func (r *Report) row(c *cell, procs int) Row {
	gk := r.groups[c.group]
	row := Row{Name: gk.name, PID: gk.pid, UID: gk.uid, Unit: gk.unit, Container: gk.container, Remote: gk.remote,
		Processes: procs, Sent: toBytes(c.sent), Recv: toBytes(c.recv),
		PeakSent: c.peakS, PeakRecv: c.peakR, Refreshes: int(c.refreshes), Seen: c.seen}
	if secs := row.Seen.Seconds(); secs > 0 {
		row.MeanSent, row.MeanRecv = float64(row.Sent)/secs, float64(row.Recv)/secs
	}
	if c.hasTime {
		row.First, row.Last = time.Unix(0, c.first).UTC(), time.Unix(0, c.last).UTC()
	}
	return row
}

func sortRows(rows []Row) {
	slices.SortFunc(rows, func(a, b Row) int {
		// Totals differ almost always: compare the rest only then.
		if c := cmp.Compare(b.Total(), a.Total()); c != 0 {
			return c
		}
		return cmp.Or(
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.PID, b.PID),
			cmp.Compare(a.UID, b.UID),
			cmp.Compare(a.Unit, b.Unit),
			cmp.Compare(a.Container.Name, b.Container.Name),
			cmp.Compare(a.Container.ID, b.Container.ID),
			cmp.Compare(a.Container.Runtime, b.Container.Runtime),
			cmp.Compare(a.Remote, b.Remote))
	})
}

// toBytes rounds a byte count to an integer, clamped to 0..MaxInt64.
func toBytes(v float64) int64 {
	switch {
	case !(v > 0): // also NaN
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(math.Round(v))
}

// addDur adds two positive durations, saturating instead of overflowing.
func addDur(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
