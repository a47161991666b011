package main

import (
	"fmt"
	"math"
	"time"
)

// passive watches a real interface in the host's namespace for dur without
// generating any traffic and compares both tools' totals with the
// interface's counters.
func passive(ifc string, dur time.Duration) *scenario {
	return &scenario{
		name:  "passive",
		title: fmt.Sprintf("Passive: %s for %v, no traffic generated", ifc, dur),
		desc: fmt.Sprintf("Both monitors run `-t -a -C -d 1 -v 2 %s` in the host's namespace; the suite sends nothing. \"all rows/interface\" "+
			"sums every row (unknown included) over the interface's rx+tx bytes (on lo: the SENT column over tx bytes + 14 per frame), "+
			"from each tool's last refresh before the window to its last refresh in it. Neither tool counts ARP, ICMP or other "+
			"non-TCP/UDP frames, so a ratio below 1 can be right. n/a: the tool printed no refresh during the window.", ifc),
		once:  true,
		place: onHost,
		ifc:   ifc,
		view:  "2",
		// Start and end the window right after a gohogs refresh, so that
		// its totals cover the same span as the counters; nethogs's
		// refreshes fall where they fall (±1 refresh).
		traffic: func(e *env, s *session) (*traffic, error) {
			if err := s.g.waitRefreshes(s.g.refreshes()+1, 5*time.Second); err != nil {
				return nil, err
			}
			if err := s.mark(); err != nil {
				return nil, err
			}
			if err := e.sleep(dur); err != nil {
				return nil, err
			}
			return &traffic{}, s.g.waitRefreshes(s.g.refreshes()+1, 5*time.Second)
		},
		measure: func(r *result, s *session, _ *traffic, run int) {
			onLo := ifc == "lo"
			ag, an := passiveBytes(s.gb, s, onLo), passiveBytes(s.nb, s, onLo)
			w := s.wire()
			label := "all rows (SENT+RECV) / interface bytes"
			if onLo {
				// gohogs credits a lo packet to the sender's SENT and the
				// receiver's RECV; nethogs puts it all in SENT: SENT counts
				// each packet once for both.
				label = "SENT column / interface bytes (lo: each packet once)"
			}
			r.metric(label, "", 1, 4, nearOne).add(ag/w, an/w)
			r.metric("bytes counted in the window", "", 1, 0, info).add(ag, an)
			commonMetrics(r, s, run)
			r.Notes = append(r.Notes, fmt.Sprintf("interface counted %.0f bytes in %.0f frames", w, s.packets()))
		},
	}
}

// passiveBytes is what a tool counted in the window. The interface keeps
// carrying traffic before and after it: take the tool's totals from its
// last refresh before the window and its last refresh inside it (±1
// refresh of traffic at each end). NaN: no refresh inside the window.
func passiveBytes(bs []block, s *session, onLo bool) float64 {
	var before, upto []block
	printed := false
	for _, b := range bs {
		if !b.At.After(s.start.At) {
			before = append(before, b)
		}
		if !b.At.After(s.end.At) {
			upto = append(upto, b)
			printed = printed || b.At.After(s.start.At)
		}
	}
	if !printed {
		return math.NaN()
	}
	sum := func(bs []block) float64 {
		t := 0.0
		for _, r := range maxTotals(bs) {
			t += r.Sent
			if !onLo {
				t += r.Rcv
			}
		}
		return t
	}
	return sum(upto) - sum(before)
}
