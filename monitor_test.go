package gohogs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/procmap"
	"github.com/gohogs/gohogs/trace"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv("GOHOGS_EMBED"); spec != "" {
		os.Exit(embedMain(spec))
	}
	os.Exit(m.Run())
}

// These tests embed the library as a program would: Open with the OS thread
// inside a network namespace the test made, known TCP traffic from this
// process, and the refreshes received through Refreshes or Run. The ground
// truth is the frame bytes the kernel counted on the captured interface.

// testBackend is the capture backend the live tests open Monitors with
// when they leave Options.Backend at the default: GOHOGS_TEST_BACKEND
// (ebpf, afpacket or pcap) forces one, as --backend does; CI runs the
// default (eBPF where it loads).
func testBackend(t testing.TB) capture.Backend {
	t.Helper()
	b, err := capture.ParseBackend(os.Getenv("GOHOGS_TEST_BACKEND"))
	if err != nil {
		t.Fatalf("GOHOGS_TEST_BACKEND: %v", err)
	}
	return b
}

// openIn opens a Monitor with the calling thread inside namespace ns, with
// testBackend unless opts names a backend.
func openIn(t *testing.T, ctx context.Context, ns string, opts gohogs.Options) *gohogs.Monitor {
	t.Helper()
	if opts.Backend == capture.BackendDefault {
		opts.Backend = testBackend(t)
	}
	var m *gohogs.Monitor
	err := netnstest.Do(ns, func() (err error) {
		m, err = gohogs.Open(ctx, opts)
		return err
	})
	if err != nil {
		t.Fatalf("Open in %s: %v", ns, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// collector keeps the refreshes of one Monitor.
type collector struct {
	mu    sync.Mutex
	snaps []*trace.Snapshot
	more  chan struct{} // holds a value after a refresh, until a waiter takes it
	done  chan struct{} // closed when the refreshes end
}

func newCollector() *collector {
	return &collector{more: make(chan struct{}, 1), done: make(chan struct{})}
}

// add keeps a refresh; it is the fn of Run.
func (c *collector) add(s *trace.Snapshot) error {
	c.mu.Lock()
	c.snaps = append(c.snaps, s)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return nil
}

// collect keeps the refreshes m delivers through Refreshes.
func collect(ctx context.Context, m *gohogs.Monitor) *collector {
	c := newCollector()
	ch := m.Refreshes(ctx, gohogs.Schedule{})
	go func() {
		defer close(c.done)
		for s := range ch {
			c.add(s)
		}
	}()
	return c
}

// waitPast waits (at most limit) for a refresh cut after t; with the zero
// t, for the first refresh: the Monitor is capturing and refreshing.
func (c *collector) waitPast(tb testing.TB, t time.Time, limit time.Duration) {
	tb.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		n := len(c.snaps)
		ok := n > 0 && c.snaps[n-1].Time.After(t)
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.more:
		case <-c.done:
			tb.Fatalf("the refreshes ended before one cut after %v", t)
		case <-deadline.C:
			tb.Fatalf("no refresh after %v within %v", t, limit)
		}
	}
}

// rowsOf returns pid's rows, one per refresh that lists it, and the sums of
// their interval bytes.
func (c *collector) rowsOf(pid int) (rows []trace.Row, sent, recv uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.snaps {
		for _, r := range s.Rows {
			if r.Kind == trace.KindProcess && r.PID == pid {
				rows = append(rows, r)
				sent += r.Sent
				recv += r.Recv
			}
		}
	}
	return rows, sent, recv
}

// tcpSink listens in ns and counts the bytes of each connection.
func tcpSink(t *testing.T, ns, host string) (addr string, got chan int64) {
	t.Helper()
	got = make(chan int64, 4)
	var ln net.Listener
	if err := netnstest.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c.SetDeadline(time.Now().Add(20 * time.Second))
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				got <- n
			}()
		}
	}()
	return ln.Addr().String(), got
}

// send dials addr from ns and sends n bytes at about rate bytes/s, then
// closes and waits for the peer's close, so every frame is on the wire.
func send(t *testing.T, ns, addr string, n, rate int, got chan int64) {
	t.Helper()
	var c net.Conn
	if err := netnstest.Do(ns, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 10000)
	start := time.Now()
	for sent := 0; sent < n; {
		k := min(len(buf), n-sent)
		if _, err := c.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		sent += k
		if d := time.Until(start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c)
	select {
	case m := <-got:
		if m != int64(n) {
			t.Fatalf("sink got %d bytes, sent %d", m, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sink did not finish within 10s")
	}
}

func within(got, want uint64, tol float64) bool {
	return float64(got) >= float64(want)*(1-tol) && float64(got) <= float64(want)*(1+tol)
}

// checkTotals compares pid's bytes in c's refreshes with the kernel's count
// of interface frames: sent with tx, received with rx, within 1%; the sum of
// the interval bytes equals the last row's totals exactly.
func checkTotals(t *testing.T, name string, c *collector, pid int, before, after netnstest.Counters, minSent, minRecv uint64) {
	t.Helper()
	rows, sent, recv := c.rowsOf(pid)
	if len(rows) == 0 {
		c.mu.Lock()
		for _, s := range c.snaps {
			t.Logf("refresh %d: %+v %q", s.Seq, s.Rows, s.UnknownConns)
		}
		c.mu.Unlock()
		t.Fatalf("%s: pid %d in no refresh", name, pid)
	}
	last := rows[len(rows)-1]
	tx, rx := after.TxBytes-before.TxBytes, after.RxBytes-before.RxBytes
	t.Logf("%s: pid %d in %d refreshes: sent %d recv %d (totals %d/%d); interface tx %d rx %d",
		name, pid, len(rows), sent, recv, last.TotalSent, last.TotalRecv, tx, rx)
	if sent != last.TotalSent || recv != last.TotalRecv {
		t.Errorf("%s: intervals sum to %d/%d, totals say %d/%d", name, sent, recv, last.TotalSent, last.TotalRecv)
	}
	if !within(sent, tx, 0.01) || !within(recv, rx, 0.01) {
		t.Errorf("%s: sent %d recv %d, interface counted tx %d rx %d (±1%%)", name, sent, recv, tx, rx)
	}
	if sent < minSent || recv < minRecv {
		t.Errorf("%s: sent %d recv %d, below the payload %d/%d", name, sent, recv, minSent, minRecv)
	}
	self, _ := os.Executable()
	if last.Name != self || last.UID != uint32(os.Getuid()) || last.StartTime == 0 || len(last.Cmdline) == 0 {
		t.Errorf("%s: row identity %q uid %d start %d cmdline %q, want %q uid %d", name, last.Name, last.UID, last.StartTime, last.Cmdline, self, os.Getuid())
	}
}

// TestTwoMonitorsAtOnce: two Monitors run at once in one process, one in
// each namespace of a veth pair. This process sends 2 MB from A to B: the
// Monitor in A sees it as this process's SENT, the one in B as its RECV
// (the accepting socket), each within 1% of its interface's counters, with
// the connection listed on the row.
func TestTwoMonitorsAtOnce(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, got := tcpSink(t, p.NSB, p.AddrB4.String())
	opts := gohogs.Options{Interval: 250 * time.Millisecond}
	opts.Interfaces = []string{p.IfA}
	ma := openIn(t, ctx, p.NSA, opts)
	opts.Interfaces = []string{p.IfB}
	mb := openIn(t, ctx, p.NSB, opts)
	if d := ma.Devices(); len(d) != 1 || d[0].Err != nil || len(d[0].Addrs) == 0 || d[0].Addrs[0] != p.AddrA4 {
		t.Fatalf("devices of A: %+v", d)
	}
	ca, cb := collect(ctx, ma), collect(ctx, mb)
	ca.waitPast(t, time.Time{}, 5*time.Second)
	cb.waitPast(t, time.Time{}, 5*time.Second)
	beforeA, err := netnstest.ReadCounters(p.NSA, p.IfA)
	if err != nil {
		t.Fatal(err)
	}
	beforeB, err := netnstest.ReadCounters(p.NSB, p.IfB)
	if err != nil {
		t.Fatal(err)
	}
	const payload = 2_000_000
	send(t, p.NSA, addr, payload, 4_000_000, got) // returns with every frame on the wire
	afterA, _ := netnstest.ReadCounters(p.NSA, p.IfA)
	afterB, _ := netnstest.ReadCounters(p.NSB, p.IfB)
	end := time.Now()
	ca.waitPast(t, end, 5*time.Second)
	cb.waitPast(t, end, 5*time.Second)
	cancel()
	for _, c := range []*collector{ca, cb} {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatal("Refreshes channel not closed 5s after its context ended")
		}
	}
	if ma.Err() != nil || mb.Err() != nil {
		t.Errorf("Err after cancel: %v, %v", ma.Err(), mb.Err())
	}
	pid := os.Getpid()
	checkTotals(t, "monitor A", ca, pid, beforeA, afterA, payload, 0)
	// B's monitor: the same frames, seen from the other end.
	checkTotals(t, "monitor B", cb, pid, beforeB, afterB, 0, payload)

	// A's row lists the connection A→B, with its bytes.
	rows, _, _ := ca.rowsOf(pid)
	var connSent uint64
	for _, r := range rows {
		for _, c := range r.Conns {
			if c.Proto == 6 && c.Remote.String() == addr && c.Local.Addr() == p.AddrA4 {
				connSent += c.Sent
			}
		}
	}
	if _, sent, _ := ca.rowsOf(pid); connSent != sent {
		t.Errorf("connection to %s carried %d bytes in the rows' Conns, the rows %d", addr, connSent, sent)
	}
	st := ma.Stats()
	if st.Accounting.Packets == 0 || len(st.Capture) != 1 || st.Capture[0].Interface != p.IfA || st.Capture[0].KernelDrops != 0 {
		t.Errorf("stats of A: %+v", st)
	}
}

// TestMonitorsOneAfterAnother: a Monitor closed, then another opened on the
// same interface in the same process counts from zero, driven by Run this
// time; Close twice is harmless; and Run ends with nil when its context
// does.
func TestMonitorsOneAfterAnother(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	addr, got := tcpSink(t, p.NSB, p.AddrB6.String())
	baseline := runtime.NumGoroutine()
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		m := openIn(t, ctx, p.NSA, gohogs.Options{Interfaces: []string{p.IfA}, Interval: 200 * time.Millisecond})
		c := newCollector()
		runErr := make(chan error, 1)
		go func() {
			defer close(c.done)
			runErr <- m.Run(ctx, gohogs.Schedule{}, c.add)
		}()
		c.waitPast(t, time.Time{}, 5*time.Second)
		before, err := netnstest.ReadCounters(p.NSA, p.IfA)
		if err != nil {
			t.Fatal(err)
		}
		payload := 1_000_000 * (round + 1)
		send(t, p.NSA, addr, payload, 4_000_000, got)
		after, _ := netnstest.ReadCounters(p.NSA, p.IfA)
		c.waitPast(t, time.Now(), 5*time.Second)
		cancel()
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("round %d: Run returned %v after its context ended", round, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Run did not return 5s after its context ended", round)
		}
		checkTotals(t, "round "+string(rune('1'+round)), c, os.Getpid(), before, after, uint64(payload), 0)
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}
	// Nothing of either Monitor lingers (bounded wait for goroutines that
	// end on their own after Close, such as the address watcher).
	n := 0
	for range 100 {
		if n = runtime.NumGoroutine(); n <= baseline {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after closing, %d before opening:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

// TestOpenErrors: no interface, and only missing interfaces: errors, not
// panics, the latter an *OpenError naming each device.
func TestOpenErrors(t *testing.T) {
	if _, err := gohogs.Open(context.Background(), gohogs.Options{}); err == nil {
		t.Error("Open with no interface succeeded")
	}
	netnstest.Skip(t)
	name := netnstest.UniqueName("nx")
	_, err := gohogs.Open(context.Background(), gohogs.Options{Interfaces: []string{name}})
	var oe *gohogs.OpenError
	if !errors.As(err, &oe) || len(oe.Devices) != 1 || oe.Devices[0].Name != name || oe.Devices[0].Err == nil {
		t.Fatalf("Open(%s) = %v, want an *OpenError naming it", name, err)
	}
}

// TestHostUnchangedByDefault: a program embedding the library with the
// zero Options.Resolver, monitoring real traffic while new processes are
// exec'd (work for the process connector), runs every thread at the nice
// value it started with (0) and mounts nothing, although tracefs is not
// mounted. The same program with the command's procmap.Options mounts
// tracefs and runs a thread at nice -10: the checks see what they check.
//
// The program is this test binary, re-executed in a mount namespace of its
// own (private: nothing it mounts or unmounts reaches the host), where it
// first unmounts tracefs.
func TestHostUnchangedByDefault(t *testing.T) {
	netnstest.Skip(t)
	ns := netnstest.NewLoopback(t, "ghH")
	for _, allow := range []bool{false, true} {
		r := runEmbedded(t, ns, allow)
		t.Logf("allowed %v: nice %v (started at %d), %d process events, %d bytes sent; mounts added %q",
			allow, r.Nice, r.Baseline, r.ProcEvents, r.Sent, added(r.MountsBefore, r.MountsAfter))
		if r.ProcEvents == 0 || r.Sent < embedPayload {
			t.Errorf("allowed %v: %d process events, %d bytes sent: the Monitor did not work", allow, r.ProcEvents, r.Sent)
		}
		if strings.Contains(r.MountsBefore, " - tracefs ") {
			t.Fatalf("tracefs still mounted when the Monitor opened:\n%s", r.MountsBefore)
		}
		raised := 0
		for tid, n := range r.Nice {
			switch {
			case n == -10 && allow:
				raised++
			case n != r.Baseline:
				t.Errorf("allowed %v: thread %s at nice %d, the process started at %d", allow, tid, n, r.Baseline)
			}
		}
		mounted := added(r.MountsBefore, r.MountsAfter)
		if !allow {
			if r.Baseline != 0 {
				t.Errorf("the test runs at nice %d, want 0", r.Baseline)
			}
			if len(mounted) != 0 || r.MountsBefore != r.MountsAfter {
				t.Errorf("the default Monitor changed the mounts: added %q\nbefore:\n%s\nafter:\n%s", mounted, r.MountsBefore, r.MountsAfter)
			}
			continue
		}
		if raised != 1 || len(mounted) != 1 || !strings.Contains(mounted[0], " - tracefs ") {
			t.Errorf("with the command's options: %d threads at nice -10, mounts added %q; want one thread and tracefs", raised, mounted)
		}
	}
}

// embedPayload is what the embedding program sends to itself over lo.
const embedPayload = 1_000_000

// embedded is what the embedding program saw.
type embedded struct {
	Baseline                  int            // its nice value before Open
	Nice                      map[string]int // every thread's, while the Monitor ran
	MountsBefore, MountsAfter string         // /proc/self/mountinfo around Open … Close
	ProcEvents                uint64         // process connector events the resolver read
	Sent                      uint64         // the bytes the Monitor credited to it
}

// runEmbedded runs the embedding program in ns, with the command's
// procmap.Options if allow, and returns what it saw.
func runEmbedded(t *testing.T, ns string, allow bool) embedded {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOHOGS_EMBED=%s %v", ns, allow))
	// A mount namespace of its own; Go makes its mounts private.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("embedding program: %v\n%s", err, stderr.String())
	}
	var r embedded
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("embedding program's report %q: %v\n%s", out, err, stderr.String())
	}
	return r
}

// added lists the lines of after that are not in before.
func added(before, after string) []string {
	seen := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		seen[l] = true
	}
	var a []string
	for _, l := range strings.Split(after, "\n") {
		if !seen[l] {
			a = append(a, l)
		}
	}
	return a
}

// embedMain is the embedding program: "NS ALLOW". It monitors lo in
// namespace NS with the zero Options.Resolver (or the command's, if ALLOW
// is true), sends itself embedPayload bytes, execs 20 processes, and prints
// what it saw as JSON.
func embedMain(spec string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "embedding program:", err)
		return 1
	}
	ns, allowS, _ := strings.Cut(spec, " ")
	allow := allowS == "true"
	if err := unmountTracefs(); err != nil {
		return fail(err)
	}
	var r embedded
	var err error
	if r.Baseline, err = threadNice("self"); err != nil {
		return fail(err)
	}
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fail(err)
	}
	r.MountsBefore = string(before)

	opts := gohogs.Options{Interfaces: []string{"lo"}, Interval: 200 * time.Millisecond}
	if allow {
		opts.Resolver = procmap.Options{MountTracefs: true, RaisePriority: true}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var m *gohogs.Monitor
	if err := netnstest.Do(ns, func() (err error) {
		m, err = gohogs.Open(ctx, opts)
		return err
	}); err != nil {
		return fail(err)
	}
	c := collect(ctx, m)
	conn, err := sendToSelf(ns, embedPayload)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	truePath, err := exec.LookPath("true")
	if err != nil {
		return fail(err)
	}
	for range 20 {
		if err := exec.Command(truePath).Run(); err != nil {
			return fail(err)
		}
	}
	// Wait for a refresh after all that in which the bytes are credited
	// (looked up by sock_diag: the connection is still open).
	end := time.Now()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if _, sent, _ := c.rowsOf(os.Getpid()); sent >= embedPayload && c.last().Time.After(end) {
			break
		}
		select {
		case <-c.more:
		case <-deadline.C:
			_, sent, _ := c.rowsOf(os.Getpid())
			return fail(fmt.Errorf("%d bytes credited within 10 s", sent))
		}
	}
	if r.Nice, err = threadNices(); err != nil {
		return fail(err)
	}
	r.ProcEvents = m.Stats().Resolver.ProcEvents
	_, r.Sent, _ = c.rowsOf(os.Getpid())
	if err := m.Close(); err != nil {
		return fail(err)
	}
	after, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fail(err)
	}
	r.MountsAfter = string(after)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return fail(err)
	}
	return 0
}

// last returns the latest refresh (an empty one before the first).
func (c *collector) last() *trace.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.snaps) == 0 {
		return &trace.Snapshot{}
	}
	return c.snaps[len(c.snaps)-1]
}

// unmountTracefs unmounts every tracefs mount, and every debugfs mount
// (the kernel mounts tracefs on a debugfs's tracing directory when it is
// looked at, which tracefs.Find does when no tracefs is mounted), after
// checking that this process has a mount namespace of its own whose root
// is private (so the host keeps its mounts).
func unmountTracefs() error {
	own, err1 := os.Readlink("/proc/self/ns/mnt")
	parent, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err1 != nil || err2 != nil || own == parent {
		return fmt.Errorf("not in a mount namespace of its own (%s, parent %s): %v %v", own, parent, err1, err2)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(info), "\n") {
		f := strings.Fields(l)
		if len(f) < 7 {
			continue
		}
		if f[4] == "/" && strings.Contains(l, " shared:") {
			return fmt.Errorf("the root mount propagates to the host: %s", l)
		}
	}
	for _, l := range strings.Split(string(info), "\n") {
		if !strings.Contains(l, " - tracefs ") && !strings.Contains(l, " - debugfs ") {
			continue
		}
		mp := strings.Fields(l)[4]
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", mp, err)
		}
	}
	return nil
}

// threadNices returns the nice value of every thread of this process.
func threadNices() (map[string]int, error) {
	tids, err := filepath.Glob("/proc/self/task/*")
	if err != nil || len(tids) == 0 {
		return nil, fmt.Errorf("listing threads: %v", err)
	}
	nice := map[string]int{}
	for _, dir := range tids {
		tid := filepath.Base(dir)
		n, err := threadNice("self/task/" + tid)
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread ended
		}
		if err != nil {
			return nil, err
		}
		nice[tid] = n
	}
	return nice, nil
}

// threadNice reads the nice value (field 19) of /proc/WHO/stat.
func threadNice(who string) (int, error) {
	b, err := os.ReadFile("/proc/" + who + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields 3, 4, …
	if len(f) < 17 {
		return 0, fmt.Errorf("/proc/%s/stat: %q", who, s)
	}
	return strconv.Atoi(f[16])
}

// sendToSelf sends n bytes over TCP on 127.0.0.1 in ns, from this process
// to itself, and returns when the receiver has them all, with the
// connection still open (so that its owner is found without the connect
// tracepoint); closing it is up to the caller.
func sendToSelf(ns string, n int) (io.Closer, error) {
	var ln net.Listener
	var c net.Conn
	if err := netnstest.Do(ns, func() (err error) {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	}); err != nil {
		return nil, err
	}
	defer ln.Close()
	got := make(chan error, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		s.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.ReadFull(s, make([]byte, n))
		got <- err
	}()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(make([]byte, n)); err != nil {
		c.Close()
		return nil, err
	}
	if err := <-got; err != nil {
		c.Close()
		return nil, fmt.Errorf("receiving: %w", err)
	}
	return c, nil
}
