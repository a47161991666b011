package main

import "fmt"

// scenario is one benchmark: where both monitors watch, the traffic it makes
// in each run and what it measures from that run. One loop (run) does the
// rest for every scenario: start gohogs and nethogs side by side, make the
// traffic, take the closing samples, collect the figures.
type scenario struct {
	name  string // for -only and -list
	title string // the heading in the report
	desc  string // how it works, under the heading
	once  bool   // one run whatever -runs says (the long ones)
	place place
	view  string                     // the monitors' -v
	ifc   string                     // the interface, for onHost
	spot  func(e *env) (spot, error) // where, instead of place (container.go)
	// traffic makes the run's traffic and waits (bounded) until it is over.
	traffic func(e *env, s *session) (*traffic, error)
	// measure adds the run's figures and notes to r.
	measure func(r *result, s *session, t *traffic, run int)
}

// place is where a scenario's monitors watch.
type place int

const (
	onVeth place = iota // A's veth, in namespace A
	onLo                // lo of the suite's loopback namespace (with -a)
	onHost              // a real interface in the host's namespace (with -a)
)

// traffic is what a run's generators did.
type traffic struct {
	clients []*genProc // the client processes, in the order started
	secs    float64    // how long the clients ran (bulk)
	rss     *rssSeries // the monitors' RSS during the run (churn)
}

// pids are the clients' process ids.
func (t *traffic) pids() []int {
	p := make([]int, len(t.clients))
	for i, g := range t.clients {
		p[i] = g.pid()
	}
	return p
}

// client is the first client (the only one in most scenarios).
func (t *traffic) client() *genProc { return t.clients[0] }

func scenarios() []*scenario {
	return append([]*scenario{
		steady(1_000_000, 4, 6),
		steady(1_000_000, 6, 4),
		steady(10_000_000, 4, 6),
		steady(10_000_000, 6, 4),
		bulk(),
		storm(onVeth, 200, 4, 0.10),
		storm(onVeth, 2000, 8, 0.15),
		storm(onLo, 200, 4, 0.10),
		storm(onLo, 2000, 8, 0.15),
		shortLived(30, 256<<10, true),
		shortLived(20, 512<<10, false),
		manyFlows(),
		churn(),
		icmpEcho(),
		rawIP(),
		forkedChildren(),
	}, append(ebpfScenarios(), containerScenarios()...)...)
}

// run runs the scenario runs times (once if it says so) and returns its
// figures; the first failed run ends it with the error in the result.
func (sc *scenario) run(e *env, runs int) *result {
	if sc.once {
		runs = 1
	}
	r := &result{Name: sc.title, Desc: sc.desc, Runs: runs}
	for run := 1; run <= runs; run++ {
		if err := e.runOnce(sc, r, run); err != nil {
			r.Err = err.Error()
			break
		}
	}
	return r
}

// runOnce is one run: both monitors, the traffic, the figures.
func (e *env) runOnce(sc *scenario, r *result, run int) error {
	var ns, ifc, tick string
	var extra []string
	switch sc.place {
	case onVeth:
		ns, ifc = e.p.NSA, e.p.IfA
	case onLo:
		ns, ifc, extra = e.lo, "lo", []string{"-a"}
	case onHost:
		ns, ifc, extra = "", sc.ifc, []string{"-a"}
	default:
		return fmt.Errorf("scenario %s: unknown place %d", sc.name, sc.place)
	}
	if sc.spot != nil {
		sp, err := sc.spot(e)
		if err != nil {
			return err
		}
		ns, ifc, extra, tick = sp.ns, sp.ifc, sp.extra, sp.tick
	}
	s, err := e.startSession(ns, ifc, sc.view, extra...)
	if err != nil {
		return err
	}
	s.tickTo = tick
	t, err := sc.traffic(e, s)
	if err != nil {
		s.stop()
		return err
	}
	if err := s.finish(); err != nil {
		return err
	}
	sc.measure(r, s, t, run)
	return nil
}
