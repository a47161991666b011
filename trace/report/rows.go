package report

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// GroupBy says how Rows groups process rows.
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
)

// ParseGroupBy parses "name", "pid" or "user".
func ParseGroupBy(s string) (GroupBy, error) {
	switch s {
	case "name":
		return ByName, nil
	case "pid":
		return ByPID, nil
	case "user", "uid":
		return ByUser, nil
	}
	return 0, fmt.Errorf("report: unknown grouping %q (want name, pid or user)", s)
}

// String returns "name", "pid" or "user".
func (g GroupBy) String() string {
	switch g {
	case ByPID:
		return "pid"
	case ByUser:
		return "user"
	}
	return "name"
}

// Row is the summary of one group.
type Row struct {
	// Name is the program name (ByName, ByPID); empty for ByUser.
	Name string
	// PID is the process id (ByPID; 0 for rows without a process); 0 otherwise.
	PID int
	// UID is the user id (ByPID, ByUser); -1 in ByUser for the rows without
	// a process; -1 in ByName.
	UID int64
	// Processes is the number of distinct processes (name, pid, uid) in
	// the group.
	Processes int
	// Sent and Recv are the bytes: in the rate view modes the rate times the
	// delay summed over refreshes; in the cumulative ones the last value of
	// each process in each run, summed over processes and runs (should a
	// process's running total ever shrink, its counter restarted, and the
	// value before counts too).
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
	// was seen in, known only for inputs whose header gives the run's start
	// (refresh k of a run is taken at start + k × delay); zero otherwise.
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

type groupKey struct {
	name string
	pid  int
	uid  int64
}

type acc struct {
	row         Row
	sent, recv  float64
	lastRefresh int
	curS, curR  float64
	members     map[int32]struct{}
}

// Rows returns the summary of everything added so far, grouped as by says
// and sorted by total bytes, largest first (ties by name, pid, uid).
//
// Inputs are taken run by run; the files of one run (same header run=) in
// order of seq, so that the cumulative counters continue across rotated
// files and their last value is taken once; different runs add up.
func (r *Report) Rows(by GroupBy) []Row {
	// Runs in order of first appearance, files of a run by seq.
	var runOrder []string
	runs := make(map[string][]*segment)
	for _, s := range r.segs {
		if _, ok := runs[s.run]; !ok {
			runOrder = append(runOrder, s.run)
		}
		runs[s.run] = append(runs[s.run], s)
	}
	groups := make(map[groupKey]*acc)
	keyGroup := make([]*acc, len(r.keys)) // cache: process key -> group
	group := func(k int32) *acc {
		if g := keyGroup[k]; g != nil {
			return g
		}
		pk := r.keys[k]
		var gk groupKey
		switch by {
		case ByPID:
			gk = groupKey{pk.name, pk.pid, int64(pk.uid)}
		case ByUser:
			gk = groupKey{uid: int64(pk.uid)}
			if pk.pid == 0 {
				gk.uid = -1
			}
		default:
			gk = groupKey{name: pk.name, uid: -1}
		}
		g := groups[gk]
		if g == nil {
			g = &acc{row: Row{Name: gk.name, PID: gk.pid, UID: gk.uid}, members: make(map[int32]struct{})}
			groups[gk] = g
		}
		g.members[k] = struct{}{}
		keyGroup[k] = g
		return g
	}

	refresh := 0
	var touched []*acc
	for _, run := range runOrder {
		segs := runs[run]
		slices.SortStableFunc(segs, func(a, b *segment) int { return cmp.Compare(a.seq, b.seq) })
		type pair struct{ sent, recv float64 }
		last := make(map[int32]pair) // cumulative modes: last value in bytes
		base := make(map[int32]pair) // and the totals before a counter restarted
		var offset time.Duration
		for _, s := range segs {
			unit, cumulative := Unit(s.view)
			dsec := s.delay.Seconds()
			for bi := range s.blocks {
				refresh++
				touched = touched[:0]
				for _, e := range s.block(bi) {
					g := group(e.key)
					sent, recv := e.sent*unit, e.recv*unit
					var ds, dr float64 // bytes in this refresh
					if cumulative {
						p := last[e.key]
						if sent < p.sent || recv < p.recv {
							// A running total never shrinks: the counter
							// restarted (a process forgotten and seen again);
							// keep what it had counted.
							b := base[e.key]
							base[e.key] = pair{b.sent + p.sent, b.recv + p.recv}
							p = pair{}
						}
						ds, dr = sent-p.sent, recv-p.recv
						last[e.key] = pair{sent, recv}
					} else {
						ds, dr = sent*dsec, recv*dsec
						g.sent += ds
						g.recv += dr
					}
					if g.lastRefresh != refresh {
						g.lastRefresh = refresh
						g.curS, g.curR = 0, 0
						touched = append(touched, g)
					}
					g.curS += ds
					g.curR += dr
				}
				var at time.Time
				if !s.start.IsZero() {
					at = s.start.Add(offset)
				}
				for _, g := range touched {
					g.row.Refreshes++
					g.row.Seen = addDur(g.row.Seen, s.delay)
					g.row.PeakSent = max(g.row.PeakSent, g.curS/dsec)
					g.row.PeakRecv = max(g.row.PeakRecv, g.curR/dsec)
					if !at.IsZero() {
						if g.row.First.IsZero() || at.Before(g.row.First) {
							g.row.First = at
						}
						if at.After(g.row.Last) {
							g.row.Last = at
						}
					}
				}
				offset = addDur(offset, s.delay)
			}
		}
		// In key order, so that the float sums (and their rounding) are
		// the same every time.
		for _, k := range slices.Sorted(maps.Keys(last)) {
			p, b := last[k], base[k]
			g := group(k)
			g.sent += p.sent + b.sent
			g.recv += p.recv + b.recv
		}
	}

	rows := make([]Row, 0, len(groups))
	for _, g := range groups {
		row := g.row
		row.Processes = len(g.members)
		row.Sent, row.Recv = toBytes(g.sent), toBytes(g.recv)
		if secs := row.Seen.Seconds(); secs > 0 {
			row.MeanSent, row.MeanRecv = float64(row.Sent)/secs, float64(row.Recv)/secs
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(b.Total(), a.Total()),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.PID, b.PID),
			cmp.Compare(a.UID, b.UID))
	})
	return rows
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
