package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// env is what every scenario shares.
type env struct {
	ctx      context.Context
	cl       *cleanups
	p        *pair
	self     string // this binary, re-executed as the generators
	gohogs   string
	nethogs  string
	log      func(format string, a ...any)
	lo       string   // a namespace with only lo up
	loServer *genProc // the server in it
	raw      string   // keep every monitor's output here ("": do not)
	rawN     int
}

// sleep waits d or until the suite is interrupted.
func (e *env) sleep(d time.Duration) error {
	select {
	case <-e.ctx.Done():
		return e.ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// addr is host:port on B.
func (e *env) addr(fam int, port int) string {
	h := e.p.B4
	if fam == 6 {
		h = e.p.B6
	}
	return net.JoinHostPort(h, strconv.Itoa(port))
}

// genProc is a running generator.
type genProc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// pid is the generator's process id (ip netns exec execs it: same pid).
func (g *genProc) pid() int { return g.cmd.Process.Pid }

// gen starts a generator in namespace ns; it is killed at cleanup if still
// running.
func (e *env) gen(ns string, args ...string) (*genProc, error) {
	g := &genProc{
		cmd:  exec.Command("ip", append([]string{"netns", "exec", ns, e.self, "-gen"}, args...)...),
		out:  &lockedBuffer{},
		done: make(chan struct{}),
	}
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	// The server runs until its stdin closes: at cleanup, or when the
	// suite dies.
	stdin, err := g.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("generator %v stdin: %w", args, err)
	}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start generator %v: %w", args, err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	e.cl.add(func() {
		stdin.Close()
		select {
		case <-g.done:
		case <-time.After(200 * time.Millisecond):
			_ = g.cmd.Process.Kill()
			<-g.done
		}
	})
	return g, nil
}

// wait waits (bounded) for a generator to exit and checks its status.
func (e *env) wait(g *genProc, limit time.Duration) error {
	select {
	case <-g.done:
	case <-time.After(limit):
		_ = g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("generator %v still running after %v: %s", g.cmd.Args[4:], limit, g.out.String())
	case <-e.ctx.Done():
		return e.ctx.Err()
	}
	if !g.cmd.ProcessState.Success() {
		return fmt.Errorf("generator %v: %v: %s", g.cmd.Args[4:], g.cmd.ProcessState, strings.TrimSpace(g.out.String()))
	}
	return nil
}

// session is gohogs and nethogs watching the same interface in the same
// namespace at once.
type session struct {
	e        *env
	ns, ifc  string
	g, n     *monitor
	sg0, sn0 procSample
	c0       counters
	t0       time.Time
	// Filled by finish.
	sg1, sn1 procSample
	c1       counters
	t1       time.Time
	gb, nb   []block
	drops    int64
}

// startSession starts both monitors on ifc in ns with view mode view, waits
// until both print, then takes the starting samples.
func (e *env) startSession(ns, ifc, view string, extra ...string) (*session, error) {
	s := &session{e: e, ns: ns, ifc: ifc}
	var err error
	args := append([]string{"-t", "-C", "-d", "1", "-v", view}, extra...)
	s.g, err = startMonitor(e.cl, "gohogs", ns, e.gohogs, append(append([]string{"-x"}, args...), ifc)...)
	if err != nil {
		return nil, err
	}
	s.n, err = startMonitor(e.cl, "nethogs", ns, e.nethogs, append(args, ifc)...)
	if err != nil {
		return nil, err
	}
	for _, m := range []*monitor{s.g, s.n} {
		if err := m.waitRefreshes(1, 8*time.Second); err != nil {
			return nil, err
		}
	}
	if err := e.sleep(300 * time.Millisecond); err != nil {
		return nil, err
	}
	return s, s.mark()
}

// mark takes the starting samples: CPU, counters, time.
func (s *session) mark() error {
	var err error
	if s.c0, err = readCounters(s.ns, s.ifc); err != nil {
		return err
	}
	s.t0 = time.Now()
	if s.sg0, err = sampleProc(s.g.pid()); err != nil {
		return err
	}
	if s.sn0, err = sampleProc(s.n.pid()); err != nil {
		return err
	}
	return nil
}

// finish takes the closing samples right after the traffic (settle lets
// the last packets leave), waits for two more refreshes so that the
// monitors have printed everything, stops them and parses their output.
// The tick datagrams sent meanwhile are not in the interface bytes of the
// window but are in the monitors' totals (a few hundred bytes, in a row
// of their own).
func (s *session) finish() error {
	if s.ns != "" { // let the last packets leave (nothing to wait for in passive mode)
		if err := s.e.sleep(300 * time.Millisecond); err != nil {
			return err
		}
	}
	var err error
	if s.c1, err = readCounters(s.ns, s.ifc); err != nil {
		return err
	}
	s.t1 = time.Now()
	if s.sg1, err = sampleProc(s.g.pid()); err != nil {
		return err
	}
	if s.sn1, err = sampleProc(s.n.pid()); err != nil {
		return err
	}
	// nethogs prints a refresh only when a packet wakes it up, so a tick
	// generator sends a 1-byte UDP datagram every 0.4 s until both have
	// printed two more refreshes (in passive mode nothing is sent: the
	// monitors get 2.5 s).
	ng, nn := s.g.refreshes(), s.n.refreshes()
	if s.ns == "" {
		if err := s.e.sleep(2500 * time.Millisecond); err != nil {
			return err
		}
	} else {
		to := s.e.addr(4, portUDP)
		if s.ifc == "lo" {
			to = net.JoinHostPort("127.0.0.1", strconv.Itoa(portUDP))
		}
		tick, err := s.e.gen(s.ns, "tick", to, "25", "400ms")
		if err != nil {
			return err
		}
		// A monitor that is behind (nethogs in the storms) may take long:
		// its totals are then what it printed so far.
		_ = s.g.waitRefreshes(ng+2, 10*time.Second)
		_ = s.n.waitRefreshes(nn+2, 10*time.Second)
		_ = tick.cmd.Process.Kill()
		<-tick.done
	}
	// Peak RSS after everything was printed.
	if hg, err := sampleProc(s.g.pid()); err == nil {
		s.sg1.HWMKiB = hg.HWMKiB
	}
	if hn, err := sampleProc(s.n.pid()); err == nil {
		s.sn1.HWMKiB = hn.HWMKiB
	}
	s.g.stop()
	s.n.stop()
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
			m.mu.Lock()
			var b strings.Builder
			for _, l := range m.lines {
				fmt.Fprintf(&b, "%s %s\n", l.At.Format("15:04:05.000"), l.Text)
			}
			m.mu.Unlock()
			base := filepath.Join(s.e.raw, fmt.Sprintf("%03d-%s", s.e.rawN, m.Tool))
			_ = os.WriteFile(base+".out", []byte(b.String()), 0o644)
			_ = os.WriteFile(base+".err", []byte(m.stderr.String()), 0o644)
		}
	}
	return nil
}

// wire is the frame bytes the interface carried in the window (both
// directions); on lo the counters leave out the 14-byte Ethernet header.
func (s *session) wire() float64 {
	d := s.c1.sub(s.c0)
	if s.ifc == "lo" { // each packet is both sent and received on lo: count it once
		return float64(d.TxBytes + 14*d.TxPackets)
	}
	return float64(d.TxBytes + d.RxBytes)
}

// packets is the frames the interface carried in the window.
func (s *session) packets() float64 {
	d := s.c1.sub(s.c0)
	if s.ifc == "lo" {
		return float64(d.TxPackets)
	}
	return float64(d.TxPackets + d.RxPackets)
}
