package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// The end-to-end tests run the real gohogs binary as root inside network
// namespaces they make, with traffic from child processes (this test binary
// re-executed as a traffic generator), and check its trace against the
// ground truth: the frame bytes the kernel counted on the interface.

var gohogsBin string

func TestMain(m *testing.M) {
	if g := os.Getenv("GOHOGS_TRAFFIC"); g != "" {
		os.Exit(trafficMain(g))
	}
	if g := os.Getenv("GOHOGS_STORM"); g != "" {
		os.Exit(stormMain(g))
	}
	dir, err := os.MkdirTemp("", "gohogs-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // TestNoPermission runs it as another user
	gohogsBin = filepath.Join(dir, "gohogs")
	out, err := exec.Command("go", "build", "-o", gohogsBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building gohogs: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// trafficMain is the traffic generator: "PROTO ADDR BYTES RATE" sends BYTES
// of payload to ADDR at RATE bytes of payload per second (0: as fast as
// possible), then prints the payload bytes sent. UDP datagrams carry
// udpPayload bytes each.
func trafficMain(spec string) int {
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintln(os.Stderr, "bad GOHOGS_TRAFFIC", spec)
		return 2
	}
	total, _ := strconv.Atoi(f[2])
	rate, _ := strconv.Atoi(f[3])
	c, err := net.DialTimeout(f[0], f[1], 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	chunk := 10000
	if f[0] != "tcp" {
		chunk = udpPayload
	}
	buf := make([]byte, chunk)
	start := time.Now()
	sent := 0
	for sent < total {
		n := min(chunk, total-sent)
		if _, err := c.Write(buf[:n]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sent += n
		if rate > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
		// Wait for the server to close, so every byte is on the wire.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c)
	}
	fmt.Println(sent)
	return 0
}

// udpPayload makes 1000-byte IPv4 frames: 14 Ethernet + 20 IP + 8 UDP + 958.
const udpPayload = 958

// sink accepts TCP connections or reads UDP datagrams on addr until ctx ends,
// counting payload bytes; it runs in the test process, inside ns.
type sink struct {
	addr string
	got  chan int64
}

func startSink(t *testing.T, ctx context.Context, ns, proto, host string) *sink {
	t.Helper()
	s := &sink{got: make(chan int64, 16)}
	err := netnstest.Do(ns, func() error {
		if proto == "tcp" {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				return err
			}
			s.addr = ln.Addr().String()
			go func() { <-ctx.Done(); ln.Close() }()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						n, _ := io.Copy(io.Discard, c)
						c.Close()
						s.got <- n
					}()
				}
			}()
			return nil
		}
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			return err
		}
		s.addr = pc.LocalAddr().String()
		go func() { <-ctx.Done(); pc.Close() }()
		go func() {
			buf := make([]byte, 65536)
			var n int64
			for {
				pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				m, _, err := pc.ReadFrom(buf)
				if err != nil {
					if ctx.Err() != nil {
						s.got <- n
						return
					}
					continue
				}
				n += int64(m)
			}
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gohogsRun is a running gohogs.
type gohogsRun struct {
	cmd    *exec.Cmd
	stdout *output
	stderr *output
	done   chan error
}

// output collects what a process writes, safe to read while it runs.
type output struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // holds a value after a write, until a waiter takes it
}

func newOutput() *output { return &output{wrote: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	n, err := o.b.Write(p)
	o.mu.Unlock()
	select {
	case o.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

func (o *output) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Len()
}

// waitStdout waits (10 s at most) for s on the program's stdout, failing
// the test if the program exits first.
func (r *gohogsRun) waitStdout(t *testing.T, s string) {
	t.Helper()
	limit := time.NewTimer(10 * time.Second)
	defer limit.Stop()
	for !strings.Contains(r.stdout.String(), s) {
		select {
		case <-r.stdout.wrote:
		case err := <-r.done:
			r.done <- err
			t.Fatalf("exited (%v) before printing %q\nstdout: %s\nstderr: %s", err, s, r.stdout, r.stderr)
		case <-limit.C:
			t.Fatalf("%q not on stdout within 10 s\nstdout: %s\nstderr: %s", s, r.stdout, r.stderr)
		}
	}
}

// capturing waits until a trace-mode run (-t, -x; gohogs or nethogs) has
// printed its link line: gohogs prints its start-up lines once it
// captures, nethogs its link line once its device is open.
func (r *gohogsRun) capturing(t *testing.T) {
	t.Helper()
	r.waitStdout(t, " link detected\n")
}

// poll checks cond every 50 ms until it holds (true) or limit has passed
// (false), for conditions nothing signals: a file, a port, a screen.
func poll(limit time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// waitFile waits (10 s at most) for a file matching the glob pattern to
// hold a link line: a run with --output captures from then on.
func waitFile(t *testing.T, pattern string) {
	t.Helper()
	if !poll(10*time.Second, func() bool {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(" link detected\n")) {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no file %s with the start-up lines within 10 s", pattern)
	}
}

// counted runs traffic and returns ifname's counters in ns before and
// after it; after is read once the counters stand still (two reads in a
// row agree), so the traffic's last frames are in.
func counted(t *testing.T, ns, ifname string, traffic func()) (before, after netnstest.Counters) {
	t.Helper()
	read := func() netnstest.Counters {
		c, err := netnstest.ReadCounters(ns, ifname)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	before = read()
	traffic()
	after = read()
	for range 50 {
		again := read()
		if again == after {
			break
		}
		after = again
	}
	return before, after
}

func startGohogs(t *testing.T, ns string, args ...string) *gohogsRun {
	t.Helper()
	return startIn(t, ns, gohogsBin, withTestBackend(args)...)
}

// withTestBackend adds --backend B to a run's arguments when the
// environment says GOHOGS_TEST_BACKEND=B (ebpf, afpacket, pcap) and they
// name no backend and no filter (-f runs on afpacket by default): the live
// tests then run on that backend, CI's on the default (eBPF where it
// loads).
func withTestBackend(args []string) []string {
	b := os.Getenv("GOHOGS_TEST_BACKEND")
	if b == "" || slices.ContainsFunc(args, func(a string) bool {
		return a == "-f" || a == "--backend" || strings.HasPrefix(a, "--backend=")
	}) {
		return args
	}
	return append([]string{"--backend", b}, args...)
}

// startIn runs prog (gohogs, or nethogs beside it) inside ns.
func startIn(t *testing.T, ns, prog string, args ...string) *gohogsRun {
	t.Helper()
	full := append([]string{"netns", "exec", ns, prog}, args...)
	r := &gohogsRun{stdout: newOutput(), stderr: newOutput(), done: make(chan error, 1)}
	r.cmd = exec.Command("ip", full...)
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done })
	go func() { r.done <- r.cmd.Wait() }()
	return r
}

// wait waits (bounded) for gohogs to exit by itself, with status 0, and
// returns its stdout.
func (r *gohogsRun) wait(t *testing.T, limit time.Duration) string {
	t.Helper()
	if err := r.exit(t, limit); err != nil {
		t.Fatalf("gohogs: %v\nstderr: %s", err, r.stderr)
	}
	return r.stdout.String()
}

// exitCode waits (bounded) for gohogs to exit and returns its exit status
// (-1 if it did not exit normally).
func (r *gohogsRun) exitCode(t *testing.T, limit time.Duration) int {
	t.Helper()
	err := r.exit(t, limit)
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// exit waits (bounded) for gohogs to exit and returns Wait's error; the
// test fails if it does not exit within limit.
func (r *gohogsRun) exit(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(limit):
		t.Fatalf("gohogs did not exit within %v\nstdout: %s\nstderr: %s", limit, r.stdout, r.stderr)
		return nil
	}
}

// block is one parsed refresh.
type block map[string]traceRow // key: "name/pid/uid"

type traceRow struct {
	name      string
	pid, uid  int
	sent, rcv float64
}

// parseTrace splits gohogs's output into its start-up lines and refreshes,
// reading rows as nethogs log parsers do (tabs; last two '/').
func parseTrace(t *testing.T, out string) (startup []string, blocks []block) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	inBlocks := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case l == "":
			inBlocks = true
		case l == "Refreshing:":
			blocks = append(blocks, block{})
		case !inBlocks:
			startup = append(startup, l)
		case strings.HasPrefix(l, "Unknown connection: "):
		default:
			f := strings.Split(l, "\t")
			if len(f) != 3 || len(blocks) == 0 {
				t.Fatalf("bad trace line %q", l)
			}
			id := f[0]
			i := strings.LastIndexByte(id, '/')
			j := strings.LastIndexByte(id[:i], '/')
			pid, _ := strconv.Atoi(id[j+1 : i])
			uid, _ := strconv.Atoi(id[i+1:])
			s, err1 := strconv.ParseFloat(f[1], 64)
			r, err2 := strconv.ParseFloat(f[2], 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad numbers in %q", l)
			}
			blocks[len(blocks)-1][id] = traceRow{name: id[:j], pid: pid, uid: uid, sent: s, rcv: r}
		}
	}
	return startup, blocks
}

// startTraffic starts the generator as a child process inside ns.
func startTraffic(t *testing.T, ns, proto, addr string, total, rate int) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOHOGS_TRAFFIC=%s %s %d %d", proto, addr, total, rate))
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// runTraffic runs the generator in ns to its end (failing t if it fails).
func runTraffic(t *testing.T, ns, proto, addr string, total, rate int) *exec.Cmd {
	t.Helper()
	gen, out := startTraffic(t, ns, proto, addr, total, rate)
	if err := gen.Wait(); err != nil {
		t.Fatalf("generator: %v: %s", err, out)
	}
	return gen
}

// within reports whether got is want within the relative tolerance tol.
// (The generator's pid is its cmd's: ip netns exec execs it, no fork.)
func within(got, want, tol float64) bool {
	return got >= want*(1-tol) && got <= want*(1+tol)
}

// pairWithSink makes a veth pair and a sink for proto in B on its IPv4 or
// IPv6 address (fam "4" or "6").
func pairWithSink(t *testing.T, proto, fam string) (*netnstest.Pair, *sink) {
	t.Helper()
	p := netnstest.NewPair(t)
	host := p.AddrB4.String()
	if fam == "6" {
		host = p.AddrB6.String()
	}
	return p, startSink(t, t.Context(), p.NSB, proto, host)
}

// TestTraceVethTotals: known bytes over a veth, TCP and UDP, IPv4 and IPv6:
// the generator appears with its pid, uid and name, and -v 2's totals equal
// the frame bytes the kernel counted on the interface within 1%.
func TestTraceVethTotals(t *testing.T) {
	netnstest.Skip(t)
	for _, c := range []struct{ proto, fam string }{{"tcp", "4"}, {"tcp", "6"}, {"udp", "4"}, {"udp", "6"}} {
		t.Run(c.proto+c.fam, func(t *testing.T) {
			t.Parallel()
			p, s := pairWithSink(t, c.proto, c.fam)
			run := startGohogs(t, p.NSA, "-t", "-C", "-v", "2", "-d", "0.5", "--duration", "5s", p.IfA)
			run.capturing(t)
			const payload = 2_000_000
			var gen *exec.Cmd
			before, after := counted(t, p.NSA, p.IfA, func() { gen = runTraffic(t, p.NSA, c.proto, s.addr, payload, 2_000_000) })
			out := run.wait(t, 15*time.Second)
			startup, blocks := parseTrace(t, out)
			if len(startup) < 2 || startup[len(startup)-1] != "Ethernet link detected" {
				t.Errorf("start-up lines %q", startup)
			}
			last := blocks[len(blocks)-1]
			var row *traceRow
			for _, r := range last {
				if r.pid == gen.Process.Pid {
					row = &r
				}
			}
			if row == nil {
				t.Fatalf("generator pid %d not in the last block %v\n%s", gen.Process.Pid, last, out)
			}
			self, _ := os.Executable()
			if row.uid != 0 || row.name != self {
				t.Errorf("row %+v, want uid 0 name %s", row, self)
			}
			// What the generator's socket put on the wire: every frame A sent
			// (nothing else sends from A during the test but the generator).
			wantSent := float64(after.TxBytes - before.TxBytes)
			t.Logf("gohogs SENT %v RECV %v; interface tx %d rx %d; payload %d", row.sent, row.rcv,
				after.TxBytes-before.TxBytes, after.RxBytes-before.RxBytes, payload)
			if !within(row.sent, wantSent, 0.01) {
				t.Errorf("SENT total %v bytes, interface counted %v (payload %d)", row.sent, wantSent, payload)
			}
			if c.proto == "tcp" {
				wantRecv := float64(after.RxBytes - before.RxBytes)
				if !within(row.rcv, wantRecv, 0.01) {
					t.Errorf("RECV total %v bytes, interface counted %v", row.rcv, wantRecv)
				}
			}
			if row.sent < payload {
				t.Errorf("SENT %v below the payload %d", row.sent, payload)
			}
		})
	}
}

// TestTraceSteadyRate: a steady 1,000,000 B/s of frames (UDP, 1000-byte
// frames) reads 976.6 KB/s ±2% in every refresh the traffic fully covers,
// the sum of SENT×delay equals the frame bytes within 1%, and the refresh
// after the traffic stops reads 0.
func TestTraceSteadyRate(t *testing.T) {
	netnstest.Skip(t)
	p, s := pairWithSink(t, "udp", "4")
	run := startGohogs(t, p.NSA, "-t", "-C", "-d", "1", "-c", "9", p.IfA)
	run.capturing(t)
	const frames = 5000 // 5 s at 1000 frames/s
	gen := runTraffic(t, p.NSA, "udp", s.addr, frames*udpPayload, 1000*udpPayload)
	out := run.wait(t, 20*time.Second)
	_, blocks := parseTrace(t, out)
	var rates []float64
	for _, b := range blocks {
		for _, r := range b {
			if r.pid == gen.Process.Pid {
				rates = append(rates, r.sent)
			}
		}
	}
	// The rows in order: maybe a partial first, full ones, a partial last,
	// then zeros.
	sum := 0.0
	full := 0
	for i, v := range rates {
		sum += v * 1024 // × delay (1 s)
		if i > 0 && i+1 < len(rates) && rates[i-1] > 0 && rates[i+1] > 0 {
			full++
			if !within(v, 976.5625, 0.02) {
				t.Errorf("refresh %d reads %v KB/s, want 976.6 ±2%% (all: %v)", i, v, rates)
			}
		}
	}
	t.Logf("KB/s per refresh %v; sum of SENT×delay %v bytes; frames sent %d bytes", rates, sum, frames*1000)
	if full < 3 {
		t.Errorf("only %d full refreshes in %v", full, rates)
	}
	if rates[len(rates)-1] != 0 {
		t.Errorf("rate after the traffic stopped is %v, want 0 (all: %v)", rates[len(rates)-1], rates)
	}
	if want := float64(frames * 1000); !within(sum, want, 0.01) {
		t.Errorf("sum of SENT×delay = %v bytes, want %v ±1%% (rates %v)", sum, want, rates)
	}
}

// TestTraceLoopbackCreditsBothEnds: on lo (in a namespace of its own), a
// client process sends known bytes to a server in another process: gohogs
// counts each packet once, credits the client's SENT and the server's RECV.
func TestTraceLoopbackCreditsBothEnds(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghL")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startSink(t, ctx, ns, "tcp", "127.0.0.1")
	run := startGohogs(t, ns, "-t", "-a", "-v", "2", "-d", "0.5", "--duration", "4s", "lo")
	run.capturing(t)
	const payload = 3_000_000
	var gen *exec.Cmd
	before, after := counted(t, ns, "lo", func() { gen = runTraffic(t, ns, "tcp", s.addr, payload, 3_000_000) })
	out := run.wait(t, 15*time.Second)
	_, blocks := parseTrace(t, out)
	last := blocks[len(blocks)-1]
	var client, server *traceRow
	for _, r := range last {
		switch r.pid {
		case gen.Process.Pid:
			client = &r
		case os.Getpid():
			server = &r
		}
	}
	if client == nil || server == nil {
		t.Fatalf("client %d or server %d missing in %v\n%s", gen.Process.Pid, os.Getpid(), last, out)
	}
	// Every frame on lo, once. lo's counters leave out the 14-byte Ethernet
	// header that capture sees (loopback_xmit counts after eth_type_trans).
	wire := float64(after.TxBytes-before.TxBytes) + 14*float64(after.TxPackets-before.TxPackets)
	t.Logf("client %+v server %+v; lo carried %v bytes", *client, *server, wire)
	// The client sent the data (and the ACKs of the server's FIN); the
	// server received it. Each side's SENT+RECV is all of lo's bytes.
	if !within(client.sent+client.rcv, wire, 0.001) || !within(server.sent+server.rcv, wire, 0.001) {
		t.Errorf("client %+v server %+v, lo carried %v bytes", client, server, wire)
	}
	if !within(client.sent, server.rcv, 0.001) || !within(client.rcv, server.sent, 0.01) {
		t.Errorf("client sent %v but server received %v", client.sent, server.rcv)
	}
	if client.sent < payload {
		t.Errorf("client SENT %v below the payload %d", client.sent, payload)
	}
}
