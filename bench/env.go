package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// env is what every scenario shares.
type env struct {
	ctx      context.Context
	cl       *cleanups
	p        *netnstest.Pair
	self     string // this binary, re-executed as the generators
	gohogs   string
	nethogs  string
	log      func(format string, a ...any)
	lo       string   // a namespace with only lo up
	loServer *genProc // the server in it
	raw      string   // keep every monitor's output here ("": do not)
	rawN     int
	nat      *natEnv    // the container scenarios' namespaces (container.go), made at the first
	podman   *podmanEnv // the podman scenario's image and peer (podman.go), made at the first
}

// sleep waits d or until the suite is interrupted. It paces measurements
// (the passive window, the churn's RSS samples); it is not a readiness
// wait.
func (e *env) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.ctx.Done():
		return e.ctx.Err()
	case <-t.C:
		return nil
	}
}

// addr is host:port on B.
func (e *env) addr(fam int, port int) string {
	h := e.p.AddrB4
	if fam == 6 {
		h = e.p.AddrB6
	}
	return net.JoinHostPort(h.String(), strconv.Itoa(port))
}

// genProc is a running generator.
type genProc struct {
	cmd  *exec.Cmd
	out  *output
	done chan struct{}
}

// pid is the generator's process id (ip netns exec execs it: same pid).
func (g *genProc) pid() int { return g.cmd.Process.Pid }

// gen starts a generator in namespace ns; it is killed at cleanup if still
// running.
func (e *env) gen(ns string, args ...string) (*genProc, error) {
	return e.command(ns, append([]string{e.self, "-gen"}, args...)...)
}

// command starts the command args in namespace ns as gen starts a
// generator (ip netns exec execs it: its pid is the process's).
func (e *env) command(ns string, args ...string) (*genProc, error) {
	g := &genProc{
		cmd:  exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...),
		out:  &output{},
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

// server starts the traffic server in namespace ns and waits (bounded) for
// its start-up line: then every port listens.
func (e *env) server(ns string) (*genProc, error) {
	g, err := e.gen(ns, "server")
	if err != nil {
		return nil, err
	}
	if err := waitUntil(e.ctx, &g.out.changed, g.done, 5*time.Second, func() bool { return g.out.contains("ready\n") }); err != nil {
		return nil, fmt.Errorf("server in %s not ready: %w: %s", ns, err, g.out.String())
	}
	return g, nil
}

// wait waits (bounded) for a generator to exit and checks its status.
func (e *env) wait(g *genProc, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-g.done:
	case <-t.C:
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

// waitAll waits (bounded, each) for generators to exit.
func (e *env) waitAll(gs []*genProc, limit time.Duration) error {
	for _, g := range gs {
		if err := e.wait(g, limit); err != nil {
			return err
		}
	}
	return nil
}
