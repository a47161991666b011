package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// The short-lived traffic of issue 5: storms of short TCP connections
// (connect, small request, 1 KB reply, close) from one client process to a
// server process, and short-lived processes that each upload and exit.
// gohogs must credit at least 95% of the bytes to the right processes.

// stormMain runs a storm child: "server ADDR" serves, printing its address;
// "sink ADDR" reads connections to their end;
// "client ADDR N RATE" makes N connections at RATE per second.
func stormMain(spec string) int {
	f := strings.Fields(spec)
	switch {
	case len(f) == 3 && f[0] == "spray":
		// "spray PEER,PEER,... BYTES": an unconnected UDP socket sends
		// udpPayload-byte datagrams to the peers in turn, then exits.
		peers := strings.Split(f[1], ",")
		total, _ := strconv.Atoi(f[2])
		pc, err := net.ListenPacket("udp", ":0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pc.Close()
		var addrs []net.Addr
		for _, p := range peers {
			a, err := net.ResolveUDPAddr("udp", p)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			addrs = append(addrs, a)
		}
		buf := make([]byte, udpPayload)
		for sent, i := 0, 0; sent < total; i++ {
			if _, err := pc.WriteTo(buf, addrs[i%len(addrs)]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			sent += len(buf)
			if i%32 == 31 {
				time.Sleep(time.Millisecond) // stay under the sinks' buffers
			}
		}
		fmt.Println("done")
		return 0
	case len(f) == 2 && f[0] == "sink":
		return serveTCP(f[1], 20*time.Second, func(c net.Conn) { io.Copy(io.Discard, c) })
	case len(f) == 2 && f[0] == "server":
		reply := make([]byte, 1024)
		return serveTCP(f[1], 5*time.Second, func(c net.Conn) {
			buf := make([]byte, 64)
			if _, err := io.ReadFull(c, buf); err == nil {
				c.Write(reply)
			}
		})
	case len(f) == 4 && f[0] == "client":
		n, _ := strconv.Atoi(f[2])
		rate, _ := strconv.Atoi(f[3])
		req := make([]byte, 64)
		start := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", f[1], 5*time.Second)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write(req)
				io.Copy(io.Discard, c)
			}()
		}
		wg.Wait()
		fmt.Println("done", n)
		return 0
	}
	fmt.Fprintln(os.Stderr, "bad GOHOGS_STORM", spec)
	return 2
}

// serveTCP listens on addr, prints the address, and serves each connection
// with serve on a goroutine of its own, closing it after serve or limit.
// It returns (1) only when accepting fails.
func serveTCP(addr string, limit time.Duration, serve func(net.Conn)) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(limit))
			serve(c)
		}()
	}
}

// startStorm starts a storm child in ns; for the server it returns the
// address it listens on.
func startStorm(t *testing.T, ns, spec string) (*exec.Cmd, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, self)
	cmd.Env = append(os.Environ(), "GOHOGS_STORM="+spec)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, out)
	}()
	select {
	case s := <-line:
		return cmd, s
	case <-time.After(10 * time.Second):
		t.Fatalf("storm child %q did not answer", spec)
	}
	return nil, ""
}

// storm runs a storm client in ns making conns connections at rate per
// second to addr, and returns it with ifname's counters in countNS around
// it.
func storm(t *testing.T, countNS, ifname, ns, addr string, conns, rate int) (cli *exec.Cmd, before, after netnstest.Counters) {
	t.Helper()
	before, after = counted(t, countNS, ifname, func() {
		var done string
		cli, done = startStorm(t, ns, fmt.Sprintf("client %s %d %d", addr, conns, rate))
		if done != fmt.Sprint("done ", conns) {
			t.Fatalf("client: %q", done)
		}
		cli.Wait()
	})
	return cli, before, after
}

// lastTotals returns, per pid, the row of the last block it appears in
// (with -v 2, its totals).
func lastTotals(t *testing.T, out string) map[int]traceRow {
	_, blocks := parseTrace(t, out)
	rows := map[int]traceRow{}
	for _, b := range blocks {
		for _, r := range b {
			rows[r.pid] = r // totals only grow: the last block's is the total
		}
	}
	return rows
}

func TestShortConnectionStorms(t *testing.T) {
	for _, c := range []struct {
		name  string
		host  string
		rate  int
		conns int
	}{
		{"lo4-200", "127.0.0.1", 200, 600},
		{"lo6-200", "::1", 200, 600},
		{"lo4-2000", "127.0.0.1", 2000, 4000},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := netnstest.NewLoopback(t, "ghT")
			srv, addr := startStorm(t, ns, "server "+net.JoinHostPort(c.host, "0"))
			run := startGohogs(t, ns, "-t", "-a", "-v", "2", "-d", "0.5", "--duration", "5s", "lo")
			run.capturing(t)
			cli, before, after := storm(t, ns, "lo", ns, addr, c.conns, c.rate)
			out := run.wait(t, 20*time.Second)
			wire := float64(after.TxBytes-before.TxBytes) + 14*float64(after.TxPackets-before.TxPackets)
			rows := lastTotals(t, out)
			cr, sr := rows[cli.Process.Pid], rows[srv.Process.Pid]
			self, _ := os.Executable()
			client, server := cr.sent+cr.rcv, sr.sent+sr.rcv
			t.Logf("%d connections at %d/s: lo carried %.0f bytes; client %.0f (%.1f%%), server %.0f (%.1f%%); unknown %+v",
				c.conns, c.rate, wire, client, 100*client/wire, server, 100*server/wire, rows[0])
			if cr.name != self || sr.name != self {
				t.Errorf("names %q %q, want %q", cr.name, sr.name, self)
			}
			if client < 0.95*wire || server < 0.95*wire || client > 1.001*wire || server > 1.001*wire {
				t.Errorf("credited client %.1f%%, server %.1f%% of the bytes on lo; want 95%%..100%%",
					100*client/wire, 100*server/wire)
			}
		})
	}
}

// TestShortConnectionStormsVeth: the same over a veth between two
// namespaces, gohogs beside the client: the client is credited with 95% of
// the bytes the interface carried, both ways.
func TestShortConnectionStormsVeth(t *testing.T) {
	for _, c := range []struct {
		name        string
		v6          bool
		rate, conns int
	}{
		{"v4-200", false, 200, 600},
		{"v6-200", true, 200, 600},
		{"v6-2000", true, 2000, 4000},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := netnstest.NewPair(t)
			host := p.AddrB4.String()
			if c.v6 {
				host = p.AddrB6.String()
			}
			_, addr := startStorm(t, p.NSB, "server "+net.JoinHostPort(host, "0"))
			run := startGohogs(t, p.NSA, "-t", "-v", "2", "-d", "0.5", "--duration", "5s", p.IfA)
			run.capturing(t)
			cli, before, after := storm(t, p.NSA, p.IfA, p.NSA, addr, c.conns, c.rate)
			out := run.wait(t, 20*time.Second)
			rows := lastTotals(t, out)
			cr := rows[cli.Process.Pid]
			sent, recv := float64(after.TxBytes-before.TxBytes), float64(after.RxBytes-before.RxBytes)
			t.Logf("%d connections at %d/s: client sent %.0f of %.0f (%.1f%%), received %.0f of %.0f (%.1f%%); unknown %+v",
				c.conns, c.rate, cr.sent, sent, 100*cr.sent/sent, cr.rcv, recv, 100*cr.rcv/recv, rows[0])
			if cr.sent < 0.95*sent || cr.rcv < 0.95*recv || cr.sent > 1.001*sent || cr.rcv > 1.001*recv {
				t.Errorf("client credited %.1f%% sent, %.1f%% received; want 95%%..100%%", 100*cr.sent/sent, 100*cr.rcv/recv)
			}
		})
	}
}

// TestShortLivedProcesses: 30 processes at once each upload 256 KiB over a
// veth and exit, then 20 in sequence upload 512 KiB each, at 2 MB/s each
// (they live 0.13 s and 0.26 s): each one's bytes are credited to its pid and
// name, shown after it exited. (At full speed they live a few milliseconds;
// bench/ measures that case: see bench/RESULTS.md.)
func TestShortLivedProcesses(t *testing.T) {
	p := netnstest.NewPair(t)
	s := startSinkProc(t, p.NSB, net.JoinHostPort(p.AddrB4.String(), "0"))
	run := startGohogs(t, p.NSA, "-t", "-v", "2", "-d", "0.5", "--duration", "9s", p.IfA)
	run.capturing(t)
	var pids []int
	before, after := counted(t, p.NSA, p.IfA, func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				gen, out := startTraffic(t, p.NSA, "tcp", s, 256<<10, uploadRate)
				if err := gen.Wait(); err != nil {
					t.Errorf("generator: %v %s", err, out)
				}
				mu.Lock()
				pids = append(pids, gen.Process.Pid)
				mu.Unlock()
			}()
		}
		wg.Wait()
		for i := 0; i < 20; i++ {
			gen, out := startTraffic(t, p.NSA, "tcp", s, 512<<10, uploadRate)
			if err := gen.Wait(); err != nil {
				t.Fatalf("generator: %v %s", err, out)
			}
			pids = append(pids, gen.Process.Pid)
		}
	})
	out := run.wait(t, 20*time.Second)
	rows := lastTotals(t, out)
	self, _ := os.Executable()
	credited, namedBytes, named := 0.0, 0.0, 0
	for _, pid := range pids {
		r := rows[pid]
		credited += r.sent
		if r.name == self && r.sent >= 256<<10 {
			named++
			namedBytes += r.sent
		} else {
			// Read after it exited: /proc/PID/cmdline is empty then, and
			// only comm (the first 15 bytes of the name) is left.
			t.Logf("pid %d: %+v", pid, r)
		}
	}
	wire := float64(after.TxBytes - before.TxBytes)
	t.Logf("50 processes: %.0f of %.0f bytes sent credited to their pids (%.1f%%), %.1f%% under their full name (%d processes); unknown %+v",
		credited, wire, 100*credited/wire, 100*namedBytes/wire, named, rows[0])
	if credited < 0.95*wire || credited > 1.001*wire {
		t.Errorf("credited %.1f%% of the sent bytes to the right pids, want 95%%..100%%", 100*credited/wire)
	}
	if namedBytes < 0.95*wire {
		t.Errorf("%.1f%% of the bytes under the right pid and name, want 95%%", 100*namedBytes/wire)
	}
}

// uploadRate paces the short-lived uploads (bytes of payload a second).
const uploadRate = 2_000_000

// startSinkProc runs a TCP sink as a child process in ns (so that the test
// process's own sockets do not mix with the generators'), returning its
// address.
func startSinkProc(t *testing.T, ns, addr string) string {
	t.Helper()
	_, a := startStorm(t, ns, "sink "+addr)
	return a
}

// TestShortLivedUDP: 20 processes, 10 at a time, each sprays 200 KB from an
// unconnected UDP socket (sendto) to 4 peers and exits, living about 10 ms:
// their bytes are credited to their pids.
func TestShortLivedUDP(t *testing.T) {
	p := netnstest.NewPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var peers []string
	for range 4 {
		peers = append(peers, startSink(t, ctx, p.NSB, "udp", p.AddrB4.String()).addr)
	}
	run := startGohogs(t, p.NSA, "-x", "-C", "-v", "2", "-d", "0.5", "--duration", "5s", p.IfA)
	run.capturing(t)
	var pids []int
	before, after := counted(t, p.NSA, p.IfA, func() {
		var mu sync.Mutex
		for round := 0; round < 2; round++ {
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cmd, done := startStorm(t, p.NSA, "spray "+strings.Join(peers, ",")+" 200000")
					if done != "done" {
						t.Errorf("spray: %q", done)
					}
					cmd.Wait()
					mu.Lock()
					pids = append(pids, cmd.Process.Pid)
					mu.Unlock()
				}()
			}
			wg.Wait()
		}
	})
	out := run.wait(t, 20*time.Second)
	rows := lastTotals(t, out)
	credited := 0.0
	for _, pid := range pids {
		credited += rows[pid].sent
	}
	wire := float64(after.TxBytes - before.TxBytes)
	_, blocks := parseTrace(t, out)
	if credited < 0.99*wire {
		st := run.stderr.String()
		t.Logf("stderr tail: %s", st[max(0, len(st)-1500):])
	}
	t.Logf("20 UDP processes: %.0f of %.0f bytes sent credited to their pids (%.1f%%); last block %+v",
		credited, wire, 100*credited/wire, blocks[len(blocks)-1])
	if credited < 0.95*wire || credited > 1.001*wire {
		t.Errorf("credited %.1f%% of the sent bytes to the right pids, want 95%%..100%%", 100*credited/wire)
	}
}
