package main

import (
	"math"
	"os/exec"
	"testing"
	"time"
)

// TestSideBySideWithNethogs runs nethogs 0.8.7 and gohogs at once on the
// same interface and the same traffic: both show the same process (name,
// pid, uid), and gohogs's sum of SENT × delay is closer to the bytes the
// interface carried.
func TestSideBySideWithNethogs(t *testing.T) {
	nethogs, err := exec.LookPath("nethogs")
	if err != nil {
		t.Skip("nethogs is not installed (apt-get install nethogs)")
	}
	p, s := pairWithSink(t, "tcp", "4")
	nh := startIn(t, p.NSA, nethogs, "-t", "-d", "1", "-c", "9", p.IfA)
	gh := startGohogs(t, p.NSA, "-t", "-d", "1", "-c", "9", p.IfA)
	nh.capturing(t)
	gh.capturing(t)
	var gen *exec.Cmd
	before, after := counted(t, p.NSA, p.IfA, func() { gen = runTraffic(t, p.NSA, "tcp", s.addr, 2_000_000, 500_000) })
	truth := float64(after.TxBytes - before.TxBytes)
	sums := map[string]float64{}
	ids := map[string]traceRow{}
	for name, r := range map[string]*gohogsRun{"gohogs": gh, "nethogs": nh} {
		_, blocks := parseTrace(t, r.wait(t, 20*time.Second))
		for _, b := range blocks {
			for _, row := range b {
				if row.pid == gen.Process.Pid {
					sums[name] += row.sent * 1024 // KB/s × 1 s
					ids[name] = row
				}
			}
		}
	}
	t.Logf("truth %.0f bytes sent; gohogs %.0f (%.1f%%), nethogs %.0f (%.1f%%); rows %+v",
		truth, sums["gohogs"], 100*sums["gohogs"]/truth, sums["nethogs"], 100*sums["nethogs"]/truth, ids)
	g, n := ids["gohogs"], ids["nethogs"]
	if n.pid == 0 {
		t.Fatalf("nethogs did not show the sender %d", gen.Process.Pid)
	}
	if g.name != n.name || g.pid != n.pid || g.uid != n.uid {
		t.Errorf("gohogs shows %q/%d/%d, nethogs %q/%d/%d", g.name, g.pid, g.uid, n.name, n.pid, n.uid)
	}
	if !within(sums["gohogs"], truth, 0.01) {
		t.Errorf("gohogs's SENT × delay %.0f, truth %.0f", sums["gohogs"], truth)
	}
	if math.Abs(sums["gohogs"]-truth) >= math.Abs(sums["nethogs"]-truth) {
		t.Errorf("gohogs (%.0f) is not closer to the truth (%.0f) than nethogs (%.0f)", sums["gohogs"], truth, sums["nethogs"])
	}
}
