package main

import (
	"math"
	"strings"
	"testing"
)

// TestMarkdown: medians with spread, ratios, targets and the "behind" list
// come out of the figures, not out of the text.
func TestMarkdown(t *testing.T) {
	r := &result{Name: "S", Desc: "d", Runs: 3}
	r.metric("CPU, share of one core", "", 1, 3, lower).withTarget("≤ 0.10", func(v float64) bool { return v <= 0.10 }).
		add(0.2, 0.1)
	m := r.M[0]
	m.add(0.3, 0.1)
	m.add(0.1, 0.1)
	r.metric("credited", "", 1, 3, higher).add(0.99, 0.5)
	r.metric("kernel drops", "", 1, 0, lower).add(3, math.NaN())
	out := markdown("# head\n", []*result{r}, "tail\n")
	for _, want := range []string{
		"| CPU, share of one core | 0.200 (0.100–0.300) | 0.100 (0.100–0.100) | 2.00 | ≤ 0.10 **missed** |",
		"| credited | 0.990 | 0.500 | 1.98 |  |",
		"| kernel drops | 3 | n/a | n/a |  |",
		"S — CPU, share of one core: gohogs 0.200 misses its target ≤ 0.10",
		"S — CPU, share of one core: gohogs 0.200 vs nethogs 0.100",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "S — credited") {
		t.Errorf("gohogs is ahead on credited but listed as behind:\n%s", out)
	}
}

func TestBehindTolerance(t *testing.T) {
	m := &metric{Name: "CPU, share of one core", Better: lower, Tol: 0.01}
	m.add(0.011, 0.008) // 37% more but 0.3% of a core: noise
	if m.behind() {
		t.Error("a 0.003-core difference counted as behind")
	}
	m = &metric{Name: "rate", Better: nearOne, Tol: 0.005}
	m.add(0.999, 0.81)
	if m.behind() {
		t.Error("0.999 vs 0.81 of the truth counted as behind")
	}
	m = &metric{Name: "rate", Better: nearOne}
	m.add(0.7, 0.99)
	if !m.behind() {
		t.Error("0.7 vs 0.99 of the truth not behind")
	}
}
