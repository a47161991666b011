package capture

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"golang.org/x/sys/unix"
)

// TestCaptureVeth captures on one end of a veth pair while known TCP and UDP
// traffic over IPv4 and IPv6 crosses it, and compares with the kernel's
// interface counters for the same interval: every frame, every byte.
func TestCaptureVeth(t *testing.T) {
	forEachBackend(t, testCaptureVeth)
}

// backends lists the backends this build has.
func backends() []Backend {
	if PcapAvailable {
		return []Backend{BackendAFPacket, BackendPcap}
	}
	return []Backend{BackendAFPacket}
}

// forEachBackend runs test as a subtest for each backend this build has.
func forEachBackend(t *testing.T, test func(t *testing.T, b Backend)) {
	for _, b := range backends() {
		t.Run(b.String(), func(t *testing.T) { test(t, b) })
	}
}

func testCaptureVeth(t *testing.T, backend Backend) {
	p := netnstest.NewPair(t)
	c, tl := startCapture(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: backend})
	links := c.Links()
	if len(links) != 1 || links[0].Name != p.IfA || links[0].Type != LinkEthernet || links[0].Index == 0 {
		t.Fatalf("Links() = %+v", links)
	}
	// Every frame through A's end, either way.
	rxtx := func(c netnstest.Counters) (uint64, uint64) {
		return c.TxPackets + c.RxPackets, c.TxBytes + c.RxBytes
	}
	// The same interval on both sides: start from an agreeing state.
	baseC, base := quiesce(t, p.NSA, p.IfA, tl, rxtx, newMarker(t, p.NSA, p.NSB, p.AddrB4, 0))

	const tcpN, udpN, udpSize = 300000, 50, 1000
	tcp4 := tcpSend(t, p.NSA, p.NSB, p.AddrB4, tcpN)
	tcp6 := tcpSend(t, p.NSA, p.NSB, p.AddrB6, tcpN)
	u4, got4 := udpSend(t, p.NSA, p.NSB, p.AddrB4, udpN, udpSize)
	u6, got6 := udpSend(t, p.NSA, p.NSB, p.AddrB6, udpN, udpSize)

	end, s := settle(t, p.NSA, p.IfA, tl, rxtx, baseC, base)
	wp, wb := rxtx(end)
	bp, bb := rxtx(baseC)
	wp, wb = wp-bp, wb-bb
	gp, gb := s.packets-base.packets, s.bytes-base.bytes
	t.Logf("kernel counters of %s: %d frames, %d bytes (rx+tx); captured %d frames, %d bytes", p.IfA, wp, wb, gp, gb)
	if gp != wp || gb != wb {
		t.Errorf("captured %d frames / %d bytes, interface counters say %d / %d (tolerance 0)", gp, gb, wp, wb)
	}
	// The kernel's packet type: what A sent is outgoing, what it received
	// is to this host (or link-layer multicast/broadcast, such as IPv6
	// neighbour discovery). libpcap does not say on Ethernet.
	out := s.types[PacketOutgoing] - base.types[PacketOutgoing]
	in := s.types[PacketHost] + s.types[PacketMulticast] + s.types[PacketBroadcast] -
		base.types[PacketHost] - base.types[PacketMulticast] - base.types[PacketBroadcast]
	tx, rx := end.TxPackets-baseC.TxPackets, end.RxPackets-baseC.RxPackets
	if backend == BackendAFPacket && (out != tx || in != rx) {
		t.Errorf("packet types: %d outgoing, %d incoming; the interface sent %d and received %d (types %v)", out, in, tx, rx, s.types)
	}
	if backend == BackendPcap && s.types[PacketUnknown] != s.packets {
		t.Errorf("pcap on Ethernet: packet types %v, want all unknown", s.types)
	}
	// Ground truth from what was sent: every UDP datagram that arrived was
	// captured once, with its Ethernet, IP and UDP headers.
	if got4 != udpN || got6 != udpN {
		t.Logf("UDP datagrams received: %d and %d of %d", got4, got6, udpN)
	}
	if n, b := s.udpPackets[u4], s.udpBytes[u4]; n != uint64(got4) || b != uint64(got4*(14+20+8+udpSize)) {
		t.Errorf("UDP/IPv4: captured %d packets, %d bytes; want %d, %d", n, b, got4, got4*(14+20+8+udpSize))
	}
	if n, b := s.udpPackets[u6], s.udpBytes[u6]; n != uint64(got6) || b != uint64(got6*(14+40+8+udpSize)) {
		t.Errorf("UDP/IPv6: captured %d packets, %d bytes; want %d, %d", n, b, got6, got6*(14+40+8+udpSize))
	}
	// TCP: at least the payload plus one header per 1500-byte frame.
	for _, x := range []struct {
		port uint16
		hdr  int
	}{{tcp4, 14 + 20 + 20}, {tcp6, 14 + 40 + 20}} {
		min := uint64(tcpN + (tcpN/1448)*x.hdr)
		if b := s.tcpBytes[x.port]; b < min || b > min*12/10 {
			t.Errorf("TCP port %d: captured %d bytes, want between %d and %d", x.port, b, min, min*12/10)
		}
	}
	// Only the headers are captured, the whole length is counted.
	if s.maxCap > DefaultSnapLen || s.maxLen < 1500 {
		t.Errorf("largest frame captured %d bytes (snap length %d), largest length %d", s.maxCap, DefaultSnapLen, s.maxLen)
	}
	st, hp, hb := statsWithTally(t, c, tl)
	if len(st) != 1 || st[0].Interface != p.IfA || st[0].Packets != hp || st[0].Bytes != hb || st[0].KernelDrops != 0 || st[0].Malformed != 0 {
		t.Errorf("Stats() = %+v, handler saw %d packets %d bytes", st, hp, hb)
	}
}

// statsWithTally returns c.Stats() read while the tally did not move, and
// the tally's packets and bytes then.
func statsWithTally(t *testing.T, c *Capture, tl *tally) ([]Stats, uint64, uint64) {
	t.Helper()
	for range 100 {
		p0, b0 := tl.get()
		st := c.Stats()
		p1, b1 := tl.get()
		if p0 == p1 && b0 == b1 {
			return st, p1, b1
		}
	}
	t.Fatal("the tally never stood still for a Stats call (100 tries)")
	return nil, 0, 0
}

// TestCaptureLoopback checks that on lo each packet is counted once: the
// captured frames equal lo's tx_packets and bytes, in a namespace of our
// own so that no other loopback traffic interferes.
func TestCaptureLoopback(t *testing.T) {
	forEachBackend(t, testCaptureLoopback)
}

func testCaptureLoopback(t *testing.T, backend Backend) {
	ns := netnstest.NewLoopback(t, "ghL")
	c, tl := startCapture(t, ns, Options{Interfaces: []string{"lo"}, Backend: backend})
	if l := c.Links(); len(l) != 1 || l[0].Type != LinkEthernet {
		t.Fatalf("Links() = %+v, want lo as Ethernet (DLT 1)", l)
	}
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	// lo's tx_bytes is counted after the driver has pulled the 14-byte
	// Ethernet header (loopback_xmit), while a capture counts the whole
	// frame as nethogs does (1042 bytes for 1000 bytes of UDP over IPv4).
	tx := func(c netnstest.Counters) (uint64, uint64) { return c.TxPackets, c.TxBytes + 14*c.TxPackets }
	baseC, base := quiesce(t, ns, "lo", tl, tx, newMarker(t, ns, ns, lo4, 0))
	const tcpN, udpN, udpSize = 200000, 40, 1000
	tcpSend(t, ns, ns, lo4, tcpN)
	tcpSend(t, ns, ns, lo6, tcpN)
	u4, got4 := udpSend(t, ns, ns, lo4, udpN, udpSize)
	u6, got6 := udpSend(t, ns, ns, lo6, udpN, udpSize)
	end, s := settle(t, ns, "lo", tl, tx, baseC, base)
	wp, wb := tx(end)
	bp, bb := tx(baseC)
	wp, wb = wp-bp, wb-bb
	gp, gb := s.packets-base.packets, s.bytes-base.bytes
	t.Logf("lo tx counters: %d packets, %d bytes + 14 per packet = %d (rx %d packets); captured %d packets, %d bytes",
		wp, end.TxBytes-baseC.TxBytes, wb, end.RxPackets-baseC.RxPackets, gp, gb)
	if gp != wp || gb != wb {
		t.Errorf("captured %d packets / %d bytes on lo, tx counters say %d / %d (tolerance 0)", gp, gb, wp, wb)
	}
	if gp < 2*udpN {
		t.Errorf("captured only %d packets", gp)
	}
	if n := s.udpPackets[u4]; n != uint64(got4) || s.udpBytes[u4] != uint64(got4*(14+20+8+udpSize)) {
		t.Errorf("UDP over 127.0.0.1: captured %d packets (%d bytes), sent %d", n, s.udpBytes[u4], got4)
	}
	if n := s.udpPackets[u6]; n != uint64(got6) || s.udpBytes[u6] != uint64(got6*(14+40+8+udpSize)) {
		t.Errorf("UDP over ::1: captured %d packets (%d bytes), sent %d", n, s.udpBytes[u6], got6)
	}
	if s.types[PacketOutgoing] != 0 || s.types[PacketHost] != s.packets {
		t.Errorf("packet types on lo: %v, want all %d PacketHost", s.types, s.packets)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{Interfaces: []string{"gohogs-nope0"}}); err == nil || !strings.Contains(err.Error(), `interface "gohogs-nope0" does not exist`) {
		t.Errorf("non-existent interface: %v", err)
	}
	if _, err := Open(Options{}); err == nil {
		t.Error("no interface: no error")
	}
	if _, err := Open(Options{Interfaces: []string{"lo"}, Backend: Backend(99)}); err == nil || !strings.Contains(err.Error(), "Backend(99)") {
		t.Errorf("unknown backend: %v", err)
	}
	if !PcapAvailable {
		if _, err := Open(Options{Interfaces: []string{"lo"}, Backend: BackendPcap}); err == nil || !strings.Contains(err.Error(), "-tags pcap") {
			t.Errorf("pcap backend without the tag: %v", err)
		}
		if _, err := Open(Options{Interfaces: []string{"lo"}, Filter: "tcp"}); err == nil || !strings.Contains(err.Error(), "-tags pcap") {
			t.Errorf("filter without the tag: %v", err)
		}
	}
}

// TestOpenWithoutCapNetRaw drops CAP_NET_RAW from this thread's effective
// set and checks that Open says what is missing.
func TestOpenWithoutCapNetRaw(t *testing.T) {
	netnstest.Skip(t)
	err := withoutCap(unix.CAP_NET_RAW, func() error {
		_, err := Open(Options{Interfaces: []string{"lo"}, Backend: BackendAFPacket})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "CAP_NET_RAW") || !strings.Contains(err.Error(), `"lo"`) {
		t.Fatalf("Open without CAP_NET_RAW: %v", err)
	}
	t.Log(err)
}

// TestInterfaceDownAndBack takes the captured interface down and up, then
// deletes and re-creates it: Run survives, reports each failure once, and
// captures again when the interface is back.
func TestInterfaceDownAndBack(t *testing.T) {
	forEachBackend(t, testInterfaceDownAndBack)
}

func testInterfaceDownAndBack(t *testing.T, backend Backend) {
	p := netnstest.NewPair(t)
	var log eventLog
	c, _ := startCapture(t, p.NSA, Options{Interfaces: []string{p.IfA, "lo"}, Backend: backend, OnError: log.add})
	// A UDP socket in A that sends to B's discard port; whether B answers
	// does not matter, the datagrams cross IfA.
	var tx net.Conn
	do(t, p.NSA, func() (err error) {
		tx, err = net.Dial("udp", net.JoinHostPort(p.AddrB4.String(), "9"))
		return err
	})
	defer tx.Close()
	// Traffic is captured, and resumes after each outage.
	expectTraffic := func(stage string) {
		t.Helper()
		before := c.Stats()[0].Packets
		eventually(t, stage+": capture sees traffic", func() bool {
			_, _ = tx.Write(make([]byte, 100)) // fails while the route is gone
			collectAll(t, c)
			return c.Stats()[0].Packets >= before+3
		})
	}
	expectTraffic("start")

	ipCmd(t, "-n", p.NSA, "link", "set", p.IfA, "down")
	// libpcap (1.10) rides out a downed interface by itself and resumes
	// when it is up: only AF_PACKET reports it. A report that should not
	// come shows later, as one report too many.
	wantEvents := []string{"went down", "disappeared"}
	if backend == BackendPcap {
		wantEvents = wantEvents[1:]
	}
	eventually(t, "an OnError call for down", func() bool { return log.len() == len(wantEvents)-1 })
	// The other interface keeps going meanwhile.
	loBefore := c.Stats()[1].Packets
	lo4 := netip.MustParseAddr("127.0.0.1")
	if _, got := udpSend(t, p.NSA, p.NSA, lo4, 5, 100); got != 5 {
		t.Fatalf("lo: %d of 5 datagrams arrived", got)
	}
	eventually(t, "lo captured during the outage", func() bool { collectAll(t, c); return c.Stats()[1].Packets >= loBefore+5 })
	ipCmd(t, "-n", p.NSA, "link", "set", p.IfA, "up")
	ipCmd(t, "-n", p.NSB, "link", "set", p.IfB, "up")
	eventually(t, "link up", func() bool {
		out, _ := exec.Command("ip", "-n", p.NSA, "addr", "show", "dev", p.IfA).Output()
		return strings.Contains(string(out), "LOWER_UP")
	})
	expectTraffic("after down/up")

	ipCmd(t, "-n", p.NSA, "link", "del", p.IfA)
	eventually(t, "an OnError call for delete", func() bool { return log.len() == len(wantEvents) })
	recreateVeth(t, p)
	expectTraffic("after delete/re-create")
	events := log.get()
	if len(events) != len(wantEvents) {
		t.Errorf("OnError called %d times, want once per outage (%d): %v", len(events), len(wantEvents), events)
	}
	for i, what := range wantEvents {
		if i >= len(events) {
			break
		}
		var ie *InterfaceError
		e := events[i]
		if e.iface != p.IfA || !strings.Contains(e.err.Error(), p.IfA) || !strings.Contains(e.err.Error(), what) {
			t.Errorf("event %d does not name the interface or say %q: %v", i, what, e)
		}
		if !errors.As(e.err, &ie) || ie.Permanent || ie.Interface != p.IfA || errors.Is(e.err, ErrPermanent) {
			t.Errorf("event %d is not a transient *InterfaceError for %s: %#v", i, p.IfA, e.err)
		}
	}
	t.Logf("events: %v", events)
}

// recreateVeth re-creates the pair's veth after it was deleted, with its
// IPv4 addresses, and brings both ends up.
func recreateVeth(t *testing.T, p *netnstest.Pair) {
	t.Helper()
	ipCmd(t, "-n", p.NSA, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.NSB)
	ipCmd(t, "-n", p.NSA, "addr", "add", p.AddrA4.String()+"/24", "dev", p.IfA)
	ipCmd(t, "-n", p.NSB, "addr", "add", p.AddrB4.String()+"/24", "dev", p.IfB)
	ipCmd(t, "-n", p.NSA, "link", "set", p.IfA, "up")
	ipCmd(t, "-n", p.NSB, "link", "set", p.IfB, "up")
}

// eventLog records the calls of Options.OnError.
type eventLog struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	iface string
	err   error
}

func (e event) String() string { return e.iface + ": " + e.err.Error() }

func (l *eventLog) add(iface string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event{iface, err})
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

func (l *eventLog) get() []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// TestRunStopsOnCancelAndClose checks Run's contract: nil on ctx done and
// on Close, an error when called twice or after Close.
func TestRunStopsOnCancelAndClose(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghL")
	c := openIn(t, ns, Options{Interfaces: []string{"lo"}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Run(ctx, func(*Packet) {}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run returned %v after its context ended", d)
	}
	if err := c.Run(context.Background(), func(*Packet) {}); err == nil {
		t.Error("second Run: no error")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background(), func(*Packet) {}); err == nil {
		t.Error("Run after Close: no error")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	c = openIn(t, ns, Options{Interfaces: []string{"lo"}})
	var packets atomic.Int64
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), func(*Packet) { packets.Add(1) }) }()
	// Close once Run is reading: a datagram on lo is captured.
	mk := newMarker(t, ns, ns, netip.MustParseAddr("127.0.0.1"), 0)
	eventually(t, "Run capturing", func() bool { _, _ = mk.conn.Write([]byte("x")); return packets.Load() > 0 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := runResult(t, done, "Close"); err != nil {
		t.Errorf("Run after Close: %v, want nil", err)
	}
}

// TestPromiscuous checks that Promiscuous puts the interface into
// promiscuous mode for as long as the capture is open.
func TestPromiscuous(t *testing.T) {
	p := netnstest.NewPair(t)
	promiscuity := func() string {
		out, err := exec.Command("ip", "-d", "-n", p.NSA, "link", "show", p.IfA).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(out))
		for i := range f[:len(f)-1] {
			if f[i] == "promiscuity" {
				return f[i+1]
			}
		}
		t.Fatalf("no promiscuity in %s", out)
		return ""
	}
	for _, b := range backends() {
		var c *Capture
		if err := netnstest.Do(p.NSA, func() (err error) {
			c, err = Open(Options{Interfaces: []string{p.IfA}, Promiscuous: true, Backend: b})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := promiscuity(); got != "1" {
			t.Errorf("%s: promiscuity %s while open, want 1", b, got)
		}
		c.Close()
		if got := promiscuity(); got != "0" {
			t.Errorf("%s: promiscuity %s after Close, want 0", b, got)
		}
	}
}

// TestCaptureTun captures on a tun device (ARPHRD_NONE): the link is
// reported as raw IP (DLT 12), frames are read without a link header and
// decoded by version, and the counts equal the device's tx counters.
func TestCaptureTun(t *testing.T) {
	ns := netnstest.NewLoopback(t, "ghL")
	name := netnstest.UniqueName("ght")
	var tun *os.File
	if err := netnstest.Do(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return err
		}
		tun = os.NewFile(uintptr(fd), "tun")
		return nil
	}); err != nil {
		t.Skipf("no tun device: %v", err)
	}
	defer tun.Close()
	go func() { // the far end: read and discard what the kernel sends
		buf := make([]byte, 65536)
		for {
			if _, err := tun.Read(buf); err != nil {
				return
			}
		}
	}()
	ipCmd(t, "-n", ns, "addr", "add", "192.0.2.1/24", "dev", name)
	ipCmd(t, "-n", ns, "addr", "add", "2001:db8:7::1/64", "dev", name, "nodad")
	ipCmd(t, "-n", ns, "link", "set", name, "up")
	c, tl := startCapture(t, ns, Options{Interfaces: []string{name}, Backend: BackendAFPacket})
	if l := c.Links(); l[0].Type != LinkRaw {
		t.Fatalf("tun link type %d, want %d (raw IP)", l[0].Type, LinkRaw)
	}
	tx := func(c netnstest.Counters) (uint64, uint64) { return c.TxPackets, c.TxBytes }
	// The far end discards the markers too; nothing answers them.
	baseC, base := quiesce(t, ns, name, tl, tx, newMarker(t, ns, "", netip.MustParseAddr("192.0.2.2"), 10))
	const n, size = 20, 300
	var conns []net.Conn
	do(t, ns, func() error {
		for _, dst := range []string{"192.0.2.2:9", "[2001:db8:7::2]:9"} {
			c, err := net.Dial("udp", dst)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	for _, c := range conns {
		for range n {
			if _, err := c.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	// The datagrams leave through the device's qdisc, which may send them
	// after Write returns: wait for the counters to have them all before
	// settle compares (else both sides can agree on nothing sent yet).
	eventually(t, "the tun's tx counters to count the datagrams", func() bool {
		p, _ := tx(readCounters(t, ns, name))
		return p-baseC.TxPackets >= 2*n
	})
	end, s := settle(t, ns, name, tl, tx, baseC, base)
	wp, wb := tx(end)
	bp, bb := tx(baseC)
	wp, wb = wp-bp, wb-bb
	gp, gb := s.packets-base.packets, s.bytes-base.bytes
	t.Logf("tun tx: %d packets, %d bytes; captured %d, %d", wp, wb, gp, gb)
	if gp != wp || gb != wb {
		t.Errorf("captured %d packets / %d bytes, tx counters say %d / %d", gp, gb, wp, wb)
	}
	// No link header: a UDP datagram counts IP + UDP + payload.
	if s.udpPackets[9] != 2*n || s.udpBytes[9] != uint64(n*(20+8+size)+n*(40+8+size)) {
		t.Errorf("UDP to port 9: %d packets, %d bytes; want %d, %d", s.udpPackets[9], s.udpBytes[9], 2*n, n*(20+8+size)+n*(40+8+size))
	}
}
