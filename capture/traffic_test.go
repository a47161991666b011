package capture

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// Helpers of the live tests: a Handler that counts, the traffic they send
// (only inside namespaces of their own), and waits on conditions.

// counts is what a Handler saw.
type counts struct {
	packets uint64
	bytes   uint64
	maxCap  int // largest CaptureLength
	maxLen  int // largest Length
	types   map[PacketType]uint64
	// udpPackets and udpBytes count UDP packets and bytes per destination
	// port.
	udpPackets map[uint16]uint64
	udpBytes   map[uint16]uint64
	tcpBytes   map[uint16]uint64 // TCP bytes per port (source or destination)
}

// tally counts what a Handler saw, for a test to read while it runs.
type tally struct {
	mu sync.Mutex
	counts
}

func newTally() *tally {
	return &tally{counts: counts{types: map[PacketType]uint64{}, udpPackets: map[uint16]uint64{}, udpBytes: map[uint16]uint64{}, tcpBytes: map[uint16]uint64{}}}
}

func (t *tally) handle(p *Packet) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.packets++
	t.bytes += uint64(p.Length)
	t.maxCap = max(t.maxCap, p.CaptureLength)
	t.maxLen = max(t.maxLen, p.Length)
	t.types[p.Type]++
	if p.HasPorts && p.Proto == ProtoUDP {
		t.udpPackets[p.DstPort]++
		t.udpBytes[p.DstPort] += uint64(p.Length)
	}
	if p.HasPorts && p.Proto == ProtoTCP {
		t.tcpBytes[p.SrcPort] += uint64(p.Length)
		if p.DstPort != p.SrcPort {
			t.tcpBytes[p.DstPort] += uint64(p.Length)
		}
	}
}

// get returns the packets and bytes counted so far.
func (t *tally) get() (uint64, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.packets, t.bytes
}

// snapshot returns a copy of everything counted so far.
func (t *tally) snapshot() counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.counts
	s.types = maps.Clone(s.types)
	s.udpPackets = maps.Clone(s.udpPackets)
	s.udpBytes = maps.Clone(s.udpBytes)
	s.tcpBytes = maps.Clone(s.tcpBytes)
	return s
}

// do runs fn in namespace ns and fails the test if it fails.
func do(t testing.TB, ns string, fn func() error) {
	t.Helper()
	if err := netnstest.Do(ns, fn); err != nil {
		t.Fatal(err)
	}
}

// ipCmd runs the ip command, failing the test if it fails.
func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// poll reports whether cond held within timeout, looking every 10 ms.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// eventually fails the test unless cond holds within 8 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !poll(8*time.Second, cond) {
		t.Fatalf("timed out (8s) waiting for %s", what)
	}
}

// openIn opens a capture inside namespace ns.
func openIn(t testing.TB, ns string, opts Options) *Capture {
	t.Helper()
	var c *Capture
	do(t, ns, func() (err error) {
		c, err = Open(opts)
		return err
	})
	return c
}

// startCapture opens a capture inside namespace ns and runs it with a
// tally until the test ends.
func startCapture(t *testing.T, ns string, opts Options) (*Capture, *tally) {
	t.Helper()
	c := openIn(t, ns, opts)
	tl := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, tl.handle) }()
	t.Cleanup(func() {
		cancel()
		if err := runResult(t, done, "cancel"); err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c, tl
}

// runResult waits (at most 8 s) for what Run sent on done, and fails the
// test if nothing comes.
func runResult(t testing.TB, done <-chan error, after string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(8 * time.Second):
		t.Fatalf("Run did not return within 8s of %s", after)
		return nil
	}
}

// metric turns an interface's kernel counters into the packets and bytes a
// capture of it should count.
type metric func(netnstest.Counters) (packets, bytes uint64)

// readCounters reads the kernel counters of ifname in ns.
func readCounters(t testing.TB, ns, ifname string) netnstest.Counters {
	t.Helper()
	c, err := netnstest.ReadCounters(ns, ifname)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// marker sends single UDP datagrams across a captured interface, to a port
// nothing else uses: once the capture has one, everything the ring took
// before it has reached the Handler too.
type marker struct {
	conn net.Conn
	port uint16
}

// newMarker sends from namespace fromNS to addr:port, where a socket in
// toNS listens if toNS is not "" (so that no ICMP error answers); with toNS
// "" nothing listens and port must be given.
func newMarker(t testing.TB, fromNS, toNS string, addr netip.Addr, port uint16) *marker {
	t.Helper()
	if toNS != "" {
		var pc net.PacketConn
		do(t, toNS, func() (err error) {
			pc, err = net.ListenPacket("udp", net.JoinHostPort(addr.String(), "0"))
			return err
		})
		t.Cleanup(func() { pc.Close() })
		port = uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	}
	m := &marker{port: port}
	do(t, fromNS, func() (err error) {
		m.conn, err = net.Dial("udp", netip.AddrPortFrom(addr, port).String())
		return err
	})
	t.Cleanup(func() { m.conn.Close() })
	return m
}

// quiesce waits for a moment when the capture of ifname in ns agrees with
// the kernel's counters: it reads them, sends a marker, waits until the
// capture has it and reads them again, until what the counters moved by
// (by m) is what the capture saw meanwhile. It returns the counters and
// what the capture had counted then, as the base of a comparison.
func quiesce(t *testing.T, ns, ifname string, tl *tally, m metric, mk *marker) (netnstest.Counters, counts) {
	t.Helper()
	for range 20 {
		c0 := readCounters(t, ns, ifname)
		s0 := tl.snapshot()
		if _, err := mk.conn.Write(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the capture of a marker datagram", func() bool {
			tl.mu.Lock()
			defer tl.mu.Unlock()
			return tl.udpPackets[mk.port] > s0.udpPackets[mk.port]
		})
		c1 := readCounters(t, ns, ifname)
		s1 := tl.snapshot()
		p0, b0 := m(c0)
		p1, b1 := m(c1)
		if p1-p0 == s1.packets-s0.packets && b1-b0 == s1.bytes-s0.bytes {
			return c1, s1
		}
	}
	t.Fatalf("the capture of %s never agreed with its counters over a marker's round (20 tries)", ifname)
	return netnstest.Counters{}, counts{}
}

// settle waits (at most 5 s) until what the capture counted since base
// equals what the kernel's counters moved by since baseC (by m), and returns
// the counters and the capture's counts at that moment; on timeout, the last
// ones read, for the caller's comparison to report.
func settle(t *testing.T, ns, ifname string, tl *tally, m metric, baseC netnstest.Counters, base counts) (netnstest.Counters, counts) {
	t.Helper()
	var c netnstest.Counters
	var s counts
	poll(5*time.Second, func() bool {
		c = readCounters(t, ns, ifname)
		s = tl.snapshot()
		p0, b0 := m(baseC)
		p, b := m(c)
		return s.packets-base.packets == p-p0 && s.bytes-base.bytes == b-b0
	})
	return c, s
}

// tcpSend connects from namespace fromNS to a listener on listenAddr in
// namespace toNS (the same one or another), writes n bytes and waits until
// the server has read them all. It returns the listener's port.
func tcpSend(t *testing.T, fromNS, toNS string, listenAddr netip.Addr, n int) uint16 {
	t.Helper()
	var ln net.Listener
	do(t, toNS, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(listenAddr.String(), "0"))
		return err
	})
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	got := netnstest.Discard(ln, 5*time.Second)
	var c net.Conn
	do(t, fromNS, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		return err
	})
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case m := <-got:
		if m != int64(n) {
			t.Fatalf("server read %d bytes, want %d", m, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TCP transfer timed out")
	}
	return port
}

// udpSend sends count datagrams of size bytes from namespace fromNS to a
// socket on listenAddr in toNS and returns the port and how many arrived.
func udpSend(t *testing.T, fromNS, toNS string, listenAddr netip.Addr, count, size int) (uint16, int) {
	t.Helper()
	var pc net.PacketConn
	do(t, toNS, func() (err error) {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(listenAddr.String(), "0"))
		return err
	})
	defer pc.Close()
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	var c net.Conn
	do(t, fromNS, func() (err error) {
		c, err = net.Dial("udp", pc.LocalAddr().String())
		return err
	})
	defer c.Close()
	buf := make([]byte, size)
	for range count {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	rb := make([]byte, 65536)
	for got < count {
		_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := pc.ReadFrom(rb); err != nil {
			break
		}
		got++
	}
	return port, got
}
