package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// session is gohogs and nethogs watching the same interface in the same
// namespace at once, for one run of a scenario.
type session struct {
	e       *env
	ns, ifc string
	tickTo  string // where the closing ticks go, if not to B (or lo)
	g, n    *monitor
	start   sample // taken before the traffic
	// Filled by finish.
	end    sample
	gb, nb []block
	drops  int64
}

// sample is what the suite reads at each end of a run's window.
type sample struct {
	At   time.Time
	C    netnstest.Counters // the interface's
	G, N procSample         // gohogs's and nethogs's
}

// settle is how long the suite lets both monitors run after their first
// refresh before the window starts, so that their start-up work is not in
// the CPU figures. Both are ready by then (they printed); this is a choice
// of window, not a wait for readiness.
const settle = 300 * time.Millisecond

// startSession starts both monitors on ifc in ns with view mode view, waits
// until both print, then takes the starting sample.
func (e *env) startSession(ns, ifc, view string, extra ...string) (*session, error) {
	s := &session{e: e, ns: ns, ifc: ifc}
	var err error
	args := append([]string{"-t", "-C", "-d", "1", "-v", view}, extra...)
	s.g, err = startMonitor(e.ctx, e.cl, "gohogs", ns, e.gohogs, append(append([]string{"-x"}, args...), ifc)...)
	if err != nil {
		return nil, err
	}
	s.n, err = startMonitor(e.ctx, e.cl, "nethogs", ns, e.nethogs, append(args, ifc)...)
	if err != nil {
		s.stop()
		return nil, err
	}
	err = s.g.waitRefreshes(1, 8*time.Second)
	if err == nil {
		err = s.n.waitRefreshes(1, 8*time.Second)
	}
	if err == nil {
		err = e.sleep(settle)
	}
	if err == nil {
		err = s.mark()
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// stop ends both monitors (a failed run: the next one starts clean).
func (s *session) stop() {
	for _, m := range []*monitor{s.g, s.n} {
		if m != nil {
			m.stop()
		}
	}
}

// take reads the clock, the counters and both monitors' /proc figures.
func (s *session) take() (sample, error) {
	var x sample
	var err error
	if x.C, err = netnstest.ReadCounters(s.ns, s.ifc); err != nil {
		return x, err
	}
	x.At = time.Now()
	if x.G, err = sampleProc(s.g.pid()); err != nil {
		return x, err
	}
	if x.N, err = sampleProc(s.n.pid()); err != nil {
		return x, err
	}
	return x, nil
}

// mark (re)starts the window: the starting sample.
func (s *session) mark() (err error) {
	s.start, err = s.take()
	return err
}

// quietLimit bounds the wait for the interface to go quiet after the
// traffic; quietGap is how long its counters must stand still.
const (
	quietLimit = 2 * time.Second
	quietGap   = 100 * time.Millisecond
)

// waitQuiet waits (at most quietLimit) until the interface's counters have
// not moved for quietGap: the last packets of the traffic have left. The
// counters are read every quietGap: a poll of a condition, bounded.
func (s *session) waitQuiet() error {
	prev, err := netnstest.ReadCounters(s.ns, s.ifc)
	if err != nil {
		return err
	}
	tick := time.NewTicker(quietGap)
	defer tick.Stop()
	limit := time.NewTimer(quietLimit)
	defer limit.Stop()
	for {
		select {
		case <-s.e.ctx.Done():
			return s.e.ctx.Err()
		case <-limit.C:
			return nil // still busy (another user of lo): take the window as it is
		case <-tick.C:
		}
		c, err := netnstest.ReadCounters(s.ns, s.ifc)
		if err != nil {
			return err
		}
		if c == prev {
			return nil
		}
		prev = c
	}
}

// finish takes the closing sample once the traffic has left the interface,
// waits for two more refreshes so that the monitors have printed
// everything, stops them and parses their output. The tick datagrams sent
// meanwhile are not in the interface bytes of the window but are in the
// monitors' totals (a few hundred bytes, in a row of their own).
func (s *session) finish() error {
	if err := s.finishing(); err != nil {
		s.stop()
		return err
	}
	return nil
}

func (s *session) finishing() error {
	if s.ns != "" { // nothing to wait for in passive mode
		if err := s.waitQuiet(); err != nil {
			return err
		}
	}
	var err error
	if s.end, err = s.take(); err != nil {
		return err
	}
	if err := s.awaitLastRefreshes(); err != nil {
		return err
	}
	// Peak RSS after everything was printed.
	if hg, err := sampleProc(s.g.pid()); err == nil {
		s.end.G.HWMKiB = hg.HWMKiB
	}
	if hn, err := sampleProc(s.n.pid()); err == nil {
		s.end.N.HWMKiB = hn.HWMKiB
	}
	s.stop()
	if s.gb, err = s.g.blocks(); err != nil {
		return err
	}
	if s.nb, err = s.n.blocks(); err != nil {
		return err
	}
	s.drops = gohogsDrops(s.g.stderr.String())
	if s.e.raw != "" {
		s.e.rawN++
		for _, m := range []*monitor{s.g, s.n} {
			m.save(filepath.Join(s.e.raw, fmt.Sprintf("%03d-%s", s.e.rawN, m.Tool)))
		}
	}
	return nil
}

// awaitLastRefreshes waits until both monitors have printed two more
// refreshes. nethogs prints a refresh only when a packet wakes it up, so a
// tick generator sends a 1-byte UDP datagram every 0.4 s meanwhile. A
// monitor that is behind (nethogs in the storms) may take long: after 10 s
// its totals are what it printed so far. In passive mode nothing is sent
// and the monitors get 2.5 s.
func (s *session) awaitLastRefreshes() error {
	ng, nn := s.g.refreshes(), s.n.refreshes()
	limit := 10 * time.Second
	if s.ns == "" {
		limit = 2500 * time.Millisecond
	} else {
		to := s.e.addr(4, portUDP)
		if s.tickTo != "" {
			to = s.tickTo
		} else if s.ifc == "lo" {
			to = net.JoinHostPort("127.0.0.1", strconv.Itoa(portUDP))
		}
		tick, err := s.e.gen(s.ns, "tick", to, "25", "400ms")
		if err != nil {
			return err
		}
		defer func() {
			_ = tick.cmd.Process.Kill()
			<-tick.done
		}()
	}
	_ = s.g.waitRefreshes(ng+2, limit)
	_ = s.n.waitRefreshes(nn+2, limit)
	return s.e.ctx.Err()
}

// save writes the monitor's stdout, each line stamped, to base.out and its
// stderr to base.err.
func (m *monitor) save(base string) {
	m.mu.Lock()
	var b strings.Builder
	for _, l := range m.lines {
		fmt.Fprintf(&b, "%s %s\n", l.At.Format("15:04:05.000"), l.Text)
	}
	m.mu.Unlock()
	_ = os.WriteFile(base+".out", []byte(b.String()), 0o644)
	_ = os.WriteFile(base+".err", []byte(m.stderr.String()), 0o644)
}

// counted is what the interface carried in the window.
func (s *session) counted() netnstest.Counters { return s.end.C.Sub(s.start.C) }

// secs is the length of the window.
func (s *session) secs() float64 { return s.end.At.Sub(s.start.At).Seconds() }

// wire is the frame bytes the interface carried in the window (both
// directions); on lo the counters leave out the 14-byte Ethernet header.
func (s *session) wire() float64 {
	d := s.counted()
	if s.ifc == "lo" { // each packet is both sent and received on lo: count it once
		return float64(d.TxBytes + 14*d.TxPackets)
	}
	return float64(d.TxBytes + d.RxBytes)
}

// packets is the frames the interface carried in the window.
func (s *session) packets() float64 {
	d := s.counted()
	if s.ifc == "lo" {
		return float64(d.TxPackets)
	}
	return float64(d.TxPackets + d.RxPackets)
}

// cpuShare is each monitor's CPU in the window as a share of one core.
func (s *session) cpuShare() (g, n float64) {
	return cpuShare(s.start.G, s.end.G), cpuShare(s.start.N, s.end.N)
}

// cpuSeconds is each monitor's CPU time in the window.
func (s *session) cpuSeconds() (g, n float64) {
	return cpuSeconds(s.start.G, s.end.G), cpuSeconds(s.start.N, s.end.N)
}

// peakRSS is each monitor's VmHWM at the end, in KiB.
func (s *session) peakRSS() (g, n float64) {
	return float64(s.end.G.HWMKiB), float64(s.end.N.HWMKiB)
}
