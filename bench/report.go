package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// better says which way a metric improves.
type better int

const (
	lower   better = iota // CPU, memory, drops
	higher                // share credited, packets/s
	nearOne               // a measured/true ratio
	info                  // no judgement
)

// metric is one figure of a scenario for both tools over the runs.
type metric struct {
	Name   string
	Unit   string // printed after the value
	Scale  float64
	Digits int
	Better better
	G, N   []float64
	Tol    float64 // differences up to this are noise, not "behind"
	Target string  // e.g. "≤ 0.10" (for gohogs), shown beside the figure
	target func(v float64) bool
}

// result is one scenario's figures.
type result struct {
	Name  string
	Desc  string
	Runs  int
	M     []*metric
	Notes []string
	Err   string
}

func (r *result) metric(name, unit string, scale float64, digits int, b better) *metric {
	for _, m := range r.M {
		if m.Name == name {
			return m
		}
	}
	m := &metric{Name: name, Unit: unit, Scale: scale, Digits: digits, Better: b}
	switch {
	case strings.HasPrefix(name, "CPU, share"):
		m.Tol = 0.01 // 1% of a core: below the noise of this shared machine
	case unit == "MiB":
		m.Tol = 1024 // 1 MiB (values are KiB)
	case b == higher || b == nearOne:
		m.Tol = 0.005
	}
	r.M = append(r.M, m)
	return m
}

// add records one run's figures (NaN: not measured for that tool).
func (m *metric) add(g, n float64) {
	m.G = append(m.G, g)
	m.N = append(m.N, n)
}

// withTarget sets gohogs's target for this metric.
func (m *metric) withTarget(desc string, ok func(v float64) bool) *metric {
	m.Target, m.target = desc, ok
	return m
}

// median of the values that are not NaN (NaN if none).
func median(v []float64) float64 {
	var x []float64
	for _, f := range v {
		if !math.IsNaN(f) {
			x = append(x, f)
		}
	}
	if len(x) == 0 {
		return math.NaN()
	}
	slices.Sort(x)
	if len(x)%2 == 1 {
		return x[len(x)/2]
	}
	return (x[len(x)/2-1] + x[len(x)/2]) / 2
}

func spread(v []float64) (lo, hi float64, n int) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, f := range v {
		if math.IsNaN(f) {
			continue
		}
		lo, hi = min(lo, f), max(hi, f)
		n++
	}
	return lo, hi, n
}

func (m *metric) format(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strings.TrimSpace(fmt.Sprintf("%.*f %s", m.Digits, v*m.Scale, m.Unit))
}

// cell is "median (min–max)" for one tool.
func (m *metric) cell(v []float64) string {
	med := median(v)
	if math.IsNaN(med) {
		return "n/a"
	}
	lo, hi, n := spread(v)
	if n < 2 {
		return m.format(med)
	}
	return fmt.Sprintf("%s (%.*f–%.*f)", m.format(med), m.Digits, lo*m.Scale, m.Digits, hi*m.Scale)
}

func (m *metric) ratio() string {
	g, n := median(m.G), median(m.N)
	if math.IsNaN(g) || math.IsNaN(n) {
		return "n/a"
	}
	if n == 0 {
		if g == 0 {
			return "1"
		}
		return "∞"
	}
	if q := g / n; q > 99 {
		return "> 99"
	}
	return fmt.Sprintf("%.2f", g/n)
}

// behind says whether gohogs's median is worse than nethogs's.
func (m *metric) behind() bool {
	g, n := median(m.G), median(m.N)
	if math.IsNaN(g) || math.IsNaN(n) {
		return false
	}
	switch m.Better {
	case lower:
		return g > n*1.05 && g-n > m.Tol
	case higher:
		return g < n*0.95 && n-g > m.Tol
	case nearOne:
		return math.Abs(g-1) > math.Abs(n-1)+0.005
	}
	return false
}

// missesTarget says whether gohogs's median misses its target.
func (m *metric) missesTarget() bool {
	g := median(m.G)
	return m.target != nil && !math.IsNaN(g) && !m.target(g)
}

// markdown renders the results.
func markdown(head string, rs []*result, tail string) string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("\n## Summary\n\nThe headline figures of each scenario (medians; details below).\n\n")
	b.WriteString("| scenario | figure | gohogs | nethogs 0.8.7 | gohogs/nethogs |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | failed | | | |\n", r.Name)
		}
		firstAcc := true
		for _, m := range r.M {
			head := false
			switch {
			case m.Better != info && firstAcc && !strings.HasPrefix(m.Name, "CPU") && m.Unit != "MiB":
				head, firstAcc = true, false
			case strings.HasPrefix(m.Name, "CPU"), strings.HasPrefix(m.Name, "peak RSS"), strings.HasPrefix(m.Name, "RSS growth"):
				head = true
			}
			if head {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Name, m.Name, m.format(median(m.G)), m.format(median(m.N)), m.ratio())
			}
		}
	}
	b.WriteString("\n## Scenarios\n")
	var behind []string
	for _, r := range rs {
		fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", r.Name, r.Desc)
		if r.Err != "" {
			fmt.Fprintf(&b, "**Failed:** %s\n\n", r.Err)
		}
		if len(r.M) > 0 {
			fmt.Fprintf(&b, "Runs: %d. Figures are medians (min–max over runs).\n\n", r.Runs)
			b.WriteString("| metric | gohogs | nethogs 0.8.7 | gohogs/nethogs | gohogs target |\n|---|---|---|---|---|\n")
			for _, m := range r.M {
				tgt := m.Target
				if m.missesTarget() {
					tgt += " **missed**"
					behind = append(behind, fmt.Sprintf("%s — %s: gohogs %s misses its target %s", r.Name, m.Name, m.format(median(m.G)), m.Target))
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", m.Name, m.cell(m.G), m.cell(m.N), m.ratio(), tgt)
				if m.behind() {
					behind = append(behind, fmt.Sprintf("%s — %s: gohogs %s vs nethogs %s", r.Name, m.Name, m.format(median(m.G)), m.format(median(m.N))))
				}
			}
			b.WriteString("\n")
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n## Where gohogs is behind\n\n")
	if len(behind) == 0 {
		b.WriteString("Nowhere in this run: on every figure gohogs's median is at least as good as nethogs's and meets its target.\n")
	}
	for _, x := range behind {
		fmt.Fprintf(&b, "- %s\n", x)
	}
	b.WriteString(tail)
	return b.String()
}
