package gohogs_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/internal/netnstest"
	"github.com/gohogs/gohogs/trace"
)

// These tests embed the library as a program would: Open with the OS thread
// inside a network namespace the test made, known TCP traffic from this
// process, and the refreshes received through Refreshes or Run. The ground
// truth is the frame bytes the kernel counted on the captured interface.

// openIn opens a Monitor with the calling thread inside namespace ns.
func openIn(t *testing.T, ctx context.Context, ns string, opts gohogs.Options) *gohogs.Monitor {
	t.Helper()
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

// collector keeps the refreshes of one Monitor, delivered by Refreshes.
type collector struct {
	mu    sync.Mutex
	snaps []*trace.Snapshot
	done  chan struct{}
}

func collect(ctx context.Context, m *gohogs.Monitor) *collector {
	c := &collector{done: make(chan struct{})}
	ch := m.Refreshes(ctx, gohogs.Schedule{})
	go func() {
		defer close(c.done)
		for s := range ch {
			c.mu.Lock()
			c.snaps = append(c.snaps, s)
			c.mu.Unlock()
		}
	}()
	return c
}

// waitPast waits (at most limit) for a refresh cut after t.
func (c *collector) waitPast(tb testing.TB, t time.Time, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := len(c.snaps)
		ok := n > 0 && c.snaps[n-1].Time.After(t)
		c.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("no refresh after %v within %v", t, limit)
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
	time.Sleep(300 * time.Millisecond)
	beforeA, err := netnstest.ReadCounters(p.NSA, p.IfA)
	if err != nil {
		t.Fatal(err)
	}
	beforeB, err := netnstest.ReadCounters(p.NSB, p.IfB)
	if err != nil {
		t.Fatal(err)
	}
	const payload = 2_000_000
	send(t, p.NSA, addr, payload, 4_000_000, got)
	time.Sleep(300 * time.Millisecond)
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
		c := &collector{done: make(chan struct{})}
		runErr := make(chan error, 1)
		go func() {
			defer close(c.done)
			runErr <- m.Run(ctx, gohogs.Schedule{}, func(s *trace.Snapshot) error {
				c.mu.Lock()
				c.snaps = append(c.snaps, s)
				c.mu.Unlock()
				return nil
			})
		}()
		time.Sleep(300 * time.Millisecond)
		before, err := netnstest.ReadCounters(p.NSA, p.IfA)
		if err != nil {
			t.Fatal(err)
		}
		payload := 1_000_000 * (round + 1)
		send(t, p.NSA, addr, payload, 4_000_000, got)
		time.Sleep(300 * time.Millisecond)
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
