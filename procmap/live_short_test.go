package procmap

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestLiveShortConnections: a child makes 200 short TCP connections, one
// after the other, to a server in this process (IPv4 and IPv6). For each
// accepted connection the server resolves the client's end of the flow, as
// the trace worker would on the first packet, before answering. Every one
// must be credited to the child, and the incremental index must find them
// without rescanning every process for each (the child reuses one fd
// number, read first as a "churn" fd).
func TestLiveShortConnections(t *testing.T) {
	const n = 200
	for _, fam := range []struct{ net, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(fam.net, func(t *testing.T) {
			r := newLive(t, Options{RaisePriority: true})
			ln := listen(t, fam.net, fam.addr)
			type result struct {
				pid  int
				name string
				err  error
			}
			var results []result
			wait := serveShort(t, ln, n, func(f Flow) {
				o, err := r.Resolve(f)
				res := result{err: err}
				if err == nil && o.Process != nil {
					res.pid, res.name = o.Process.PID, o.Process.Name
				}
				results = append(results, res)
			})
			c := startChildEnv(t, "gohogs shortconn", "shortconn", -1,
				[]string{childEnv + "_N=" + fmt.Sprint(n), childEnv + "_ADDR=" + ln.Addr().String()})
			ln.Close()
			wait()
			if len(results) != n {
				t.Fatalf("%d connections served, want %d", len(results), n)
			}
			good := 0
			for _, res := range results {
				if res.pid == c.cmd.Process.Pid && res.name == "gohogs shortconn" {
					good++
				}
			}
			st := r.Stats()
			t.Logf("%d/%d credited to the child; stats %+v", good, n, st)
			if good != n {
				t.Fatalf("%d/%d connections credited to the child pid %d", good, n, c.cmd.Process.Pid)
			}
			if st.FullScans > 2 {
				t.Fatalf("%d full scans for %d connections of one process", st.FullScans, n)
			}
		})
	}
}

// TestLiveShortLivedProcesses: 20 children started at once, each making one
// connection and exiting once answered. Each is resolved (before the
// answer) to its own pid and name, found as a new process; after they all
// exited, their flows still give their names (remembered owners).
func TestLiveShortLivedProcesses(t *testing.T) {
	const n = 20
	r := newLive(t, Options{RaisePriority: true})
	ln := listen(t, "tcp4", "127.0.0.1:0")
	type result struct {
		f   Flow
		pid int
		err error
	}
	results := make(chan result, n)
	go func() {
		for i := 0; i < n; i++ {
			s, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				s.SetDeadline(time.Now().Add(10 * time.Second))
				b := make([]byte, 1)
				io.ReadFull(s, b)
				f := Flow{Proto: 6, Local: ap(s.RemoteAddr()), Remote: ap(s.LocalAddr())}
				o, err := r.Resolve(f)
				res := result{f: f, err: err}
				if o.Process != nil {
					res.pid = o.Process.PID
				}
				results <- res
				s.Write(b)
			}()
		}
	}()
	children := map[int]string{}
	var cs []*child
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("gohogs short-lived %d", i)
			c := startChildEnv(t, name, "shortconn", -1,
				[]string{childEnv + "_N=1", childEnv + "_ADDR=" + ln.Addr().String()})
			mu.Lock()
			children[c.cmd.Process.Pid] = name
			cs = append(cs, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var got []result
	for i := 0; i < n; i++ {
		select {
		case res := <-results:
			got = append(got, res)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d connections resolved", i, n)
		}
	}
	for _, c := range cs {
		c.stop(t)
	}
	seen := map[int]bool{}
	for _, res := range got {
		if res.err != nil || children[res.pid] == "" || seen[res.pid] {
			t.Fatalf("flow %v: pid %d (%v); children %v", res.f, res.pid, res.err, children)
		}
		seen[res.pid] = true
		// The child is gone; its flow still names it.
		o, err := r.Resolve(res.f)
		if err != nil || o.Process == nil || o.Process.PID != res.pid || o.Process.Name != children[res.pid] {
			t.Fatalf("after exit, flow %v: %+v %v; want pid %d %q", res.f, o.Process, err, res.pid, children[res.pid])
		}
	}
	t.Logf("stats %+v", r.Stats())
}

// TestLiveProcEvents: the process connector reports the fork and exec of a
// child; the child's socket is then found by scanning the reported pids,
// before listing /proc.
func TestLiveProcEvents(t *testing.T) {
	r := newLive(t, Options{RaisePriority: true})
	if r.events == nil {
		t.Skipf("no process connector: %+v", r.Stats())
	}
	before := r.Stats().ProcEvents
	c := startChild(t, "gohogs events child", "tcp", -1)
	// Its fork and exec were reported: it is among the pids to scan first.
	if !eventually(t, 3*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Contains(r.fresh, c.cmd.Process.Pid)
	}) {
		t.Fatalf("child %d not among the reported pids in 3 s (stats %+v)", c.cmd.Process.Pid, r.Stats())
	}
	if n := r.Stats().ProcEvents; n < before+2 {
		t.Fatalf("process events: %d, want at least %d (fork, exec)", n, before+2)
	}
	f := Flow{Proto: 6, Local: netip.MustParseAddrPort(c.fields[0]), Remote: netip.MustParseAddrPort(c.fields[1])}
	scanned := r.Stats().ProcsScanned
	o, err := r.Resolve(f)
	if err != nil || o.Process == nil || o.Process.PID != c.cmd.Process.Pid || o.Process.Name != "gohogs events child" {
		t.Fatalf("%+v %v", o, err)
	}
	// Found among the reported pids: no scan of every new process needed.
	if n := r.Stats().ProcsScanned - scanned; n > 3 {
		t.Fatalf("%d processes read to find a reported child", n)
	}
}
