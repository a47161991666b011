package main

import (
	"fmt"
	"regexp"
	"time"
)

// The figures more than one scenario takes from a run.

// rowOf returns the row of pid in b.
func rowOf(b block, pid int) (row, bool) {
	for _, r := range b.Rows {
		if r.PID == pid {
			return r, true
		}
	}
	return row{}, false
}

// commonMetrics records refreshes, CPU share and peak RSS of both monitors.
func commonMetrics(r *result, s *session, run int) {
	refreshMetric(r, s, run)
	cpuMetric(r, s)
	rssMetric(r, s)
}

// cpuMetric records both monitors' CPU share in the window.
func cpuMetric(r *result, s *session) *metric {
	m := r.metric("CPU, share of one core", "", 1, 3, lower)
	m.add(s.cpuShare())
	return m
}

// rssMetric records both monitors' peak RSS.
func rssMetric(r *result, s *session) *metric {
	m := r.metric("peak RSS (VmHWM)", "MiB", 1.0/1024, 1, lower)
	m.add(s.peakRSS())
	return m
}

// atMost is gohogs's target "≤ v" on a metric.
func atMost(m *metric, v float64) {
	m.withTarget(fmt.Sprintf("≤ %.2f", v), func(x float64) bool { return x <= v })
}

// atLeast95 is gohogs's target "≥ 0.95" on a share.
func atLeast95(m *metric) {
	m.withTarget("≥ 0.95", func(v float64) bool { return v >= 0.95 })
}

// under20MiB is gohogs's target on peak RSS under many flows.
func under20MiB(m *metric) {
	m.withTarget("< 20 MiB", func(v float64) bool { return v < 20*1024 })
}

var gohogsStatsRE = regexp.MustCompile(`gohogs: refresh \d+ .* flows (\d+) processes \d+ resolved (\d+) failed (\d+) queue-drops (\d+) unknown-bytes (\d+)`)

// refreshMetric records how many refreshes each monitor printed between
// the start of the traffic and the closing sample, per second: 1 with -d 1.
// nethogs falls behind when it rescans /proc for every new connection. It
// also notes gohogs's own resolver figures (-x) at the end of run run.
func refreshMetric(r *result, s *session, run int) {
	count := func(bs []block) float64 {
		n := 0
		for _, b := range bs {
			if !b.At.Before(s.start.At) && !b.At.After(s.end.At) {
				n++
			}
		}
		return float64(n) / s.secs()
	}
	if m := gohogsStatsRE.FindAllStringSubmatch(s.g.stderr.String(), -1); len(m) > 0 {
		last := m[len(m)-1]
		r.Notes = append(r.Notes, fmt.Sprintf("run %d: gohogs -x at the end: flows %s, resolved %s, failed %s, queue-drops %s, unknown bytes %s",
			run, last[1], last[2], last[3], last[4], last[5]))
	}
	if s.end.At.Sub(s.start.At) < 3*time.Second {
		return // too short to say
	}
	r.metric("refreshes printed per second during the traffic (-d 1)", "", 1, 2, info).add(count(s.gb), count(s.nb))
}

// shares is, for each monitor, the bytes of the rows of the given pids with
// the generator's name over the wire bytes (mine), and all rows' bytes over
// the wire bytes (all).
func shares(s *session, pids []int) (mineG, allG, mineN, allN float64) {
	mineG, allG = creditedShare(s.e, s.gb, pids, s.wire())
	mineN, allN = creditedShare(s.e, s.nb, pids, s.wire())
	return mineG, allG, mineN, allN
}

// creditedShare is the bytes of the rows of the given pids (with the
// generator's name) over the wire bytes, and all rows' bytes over the wire.
func creditedShare(e *env, bs []block, pids []int, wire float64) (mine, all float64) {
	set := pidSet(pids)
	m, a := credited(maxTotals(bs), func(r row) bool { return set[r.PID] && r.Name == e.self })
	return m / wire, a / wire
}

// pidShare is the bytes of the rows of the given pids, whatever their
// name, over the wire bytes.
func pidShare(bs []block, pids []int, wire float64) float64 {
	set := pidSet(pids)
	m, _ := credited(maxTotals(bs), func(r row) bool { return set[r.PID] })
	return m / wire
}

// shareMetrics records, for both monitors, the share of the wire bytes
// credited to the rows that match (the metric label, with gohogs's target
// of at least target) and the share of all rows.
func shareMetrics(r *result, s *session, label string, target float64, match func(row) bool) {
	share := func(bs []block) (mine, all float64) {
		m, a := credited(maxTotals(bs), match)
		return m / s.wire(), a / s.wire()
	}
	mg, ag := share(s.gb)
	mn, an := share(s.nb)
	r.metric(label, "", 1, 3, higher).withTarget(fmt.Sprintf("≥ %.2f", target), func(v float64) bool { return v >= target }).add(mg, mn)
	r.metric("all rows / wire bytes", "", 1, 3, nearOne).add(ag, an)
}

// pidsNamed matches the rows of pids named name.
func pidsNamed(pids []int, name string) func(row) bool {
	set := pidSet(pids)
	return func(r row) bool { return set[r.PID] && r.Name == name }
}

func pidSet(pids []int) map[int]bool {
	set := make(map[int]bool, len(pids))
	for _, p := range pids {
		set[p] = true
	}
	return set
}
