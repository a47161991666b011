package capture

import (
	"context"
	"io"
	"maps"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
	"golang.org/x/sys/unix"
)

// tally counts what a Handler saw.
type tally struct {
	mu      sync.Mutex
	packets uint64
	bytes   uint64
	maxCap  int // largest CaptureLength
	maxLen  int // largest Length
	types   map[PacketType]uint64
	// udp counts UDP packets and bytes per destination port.
	udpPackets map[uint16]uint64
	udpBytes   map[uint16]uint64
	tcpBytes   map[uint16]uint64 // TCP bytes per port (source or destination)
}

func newTally() *tally {
	return &tally{types: map[PacketType]uint64{}, udpPackets: map[uint16]uint64{}, udpBytes: map[uint16]uint64{}, tcpBytes: map[uint16]uint64{}}
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

func (t *tally) get() (uint64, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.packets, t.bytes
}

// startCapture opens ifname inside namespace ns and runs it with a tally
// until the test ends.
func startCapture(t *testing.T, ns string, opts Options) (*Capture, *tally) {
	t.Helper()
	var c *Capture
	if err := netnstest.Do(ns, func() (err error) {
		c, err = Open(opts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	tl := newTally()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, tl.handle) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return within 5s of cancel")
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c, tl
}

// settle waits (at most 5 s) until the interface counters and the capture
// tally stop moving and agree with want(), and returns the final counters.
func settle(t *testing.T, ns, ifname string, tl *tally, want func(netnstest.Counters) (uint64, uint64)) netnstest.Counters {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var c netnstest.Counters
	for {
		var err error
		c, err = netnstest.ReadCounters(ns, ifname)
		if err != nil {
			t.Fatal(err)
		}
		wp, wb := want(c)
		gp, gb := tl.get()
		if gp == wp && gb == wb {
			// Stable for longer than either backend holds a packet back
			// (afBlockTimeout; libpcap's block timeout is afPollTimeout)?
			time.Sleep(afPollTimeout + 3*afBlockTimeout)
			c2, err := netnstest.ReadCounters(ns, ifname)
			if err != nil {
				t.Fatal(err)
			}
			gp2, gb2 := tl.get()
			if c2 == c && gp2 == gp && gb2 == gb {
				return c
			}
			continue
		}
		if time.Now().After(deadline) {
			return c // the caller's comparison reports the difference
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tcpSend connects from namespace from to addr (a listener in another
// namespace or the same), writes n bytes and waits until the server has
// read them all and the connection is closed.
func tcpSend(t *testing.T, fromNS, toNS string, listenAddr netip.Addr, n int) uint16 {
	t.Helper()
	var ln net.Listener
	if err := netnstest.Do(toNS, func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(listenAddr.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		m, _ := io.Copy(io.Discard, c)
		got <- m
	}()
	var c net.Conn
	if err := netnstest.Do(fromNS, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
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
// socket in toNS and returns the port and how many arrived.
func udpSend(t *testing.T, fromNS, toNS string, listenAddr netip.Addr, count, size int) (uint16, int) {
	t.Helper()
	var pc net.PacketConn
	if err := netnstest.Do(toNS, func() (err error) {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(listenAddr.String(), "0"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	var c net.Conn
	if err := netnstest.Do(fromNS, func() (err error) {
		c, err = net.Dial("udp", pc.LocalAddr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, size)
	for i := 0; i < count; i++ {
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

// TestCaptureVeth captures on one end of a veth pair while known TCP and UDP
// traffic over IPv4 and IPv6 crosses it, and compares with the kernel's
// interface counters for the same interval: every frame, every byte.
func TestCaptureVeth(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.String(), func(t *testing.T) { testCaptureVeth(t, b) })
	}
}

// backends lists the backends this build has.
func backends() []Backend {
	if PcapAvailable {
		return []Backend{BackendAFPacket, BackendPcap}
	}
	return []Backend{BackendAFPacket}
}

func testCaptureVeth(t *testing.T, backend Backend) {
	p := netnstest.NewPair(t)
	c, tl := startCapture(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: backend})
	links := c.Links()
	if len(links) != 1 || links[0].Name != p.IfA || links[0].Type != LinkEthernet || links[0].Index == 0 {
		t.Fatalf("Links() = %+v", links)
	}
	// The same interval on both sides: start from a quiet, agreeing state.
	var base netnstest.Counters
	var bp, bb uint64
	base = settle(t, p.NSA, p.IfA, tl, func(netnstest.Counters) (uint64, uint64) { return tl.get() })
	bp, bb = tl.get()
	tl.mu.Lock()
	baseTypes := maps.Clone(tl.types)
	tl.mu.Unlock()

	const tcpN, udpN, udpSize = 300000, 50, 1000
	tcp4 := tcpSend(t, p.NSA, p.NSB, p.AddrB4, tcpN)
	tcp6 := tcpSend(t, p.NSA, p.NSB, p.AddrB6, tcpN)
	u4, got4 := udpSend(t, p.NSA, p.NSB, p.AddrB4, udpN, udpSize)
	u6, got6 := udpSend(t, p.NSA, p.NSB, p.AddrB6, udpN, udpSize)

	want := func(c netnstest.Counters) (uint64, uint64) {
		return bp + (c.TxPackets + c.RxPackets) - (base.TxPackets + base.RxPackets),
			bb + (c.TxBytes + c.RxBytes) - (base.TxBytes + base.RxBytes)
	}
	end := settle(t, p.NSA, p.IfA, tl, want)
	wp, wb := want(end)
	gp, gb := tl.get()
	t.Logf("kernel counters of %s: %d frames, %d bytes (rx+tx); captured %d frames, %d bytes", p.IfA, wp-bp, wb-bb, gp-bp, gb-bb)
	if gp != wp || gb != wb {
		t.Errorf("captured %d frames / %d bytes, interface counters say %d / %d (tolerance 0)", gp-bp, gb-bb, wp-bp, wb-bb)
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	// The kernel's packet type: what A sent is outgoing, what it received
	// is to this host (or link-layer multicast/broadcast, such as IPv6
	// neighbour discovery). libpcap does not say on Ethernet.
	out := tl.types[PacketOutgoing] - baseTypes[PacketOutgoing]
	in := tl.types[PacketHost] + tl.types[PacketMulticast] + tl.types[PacketBroadcast] -
		baseTypes[PacketHost] - baseTypes[PacketMulticast] - baseTypes[PacketBroadcast]
	tx, rx := end.TxPackets-base.TxPackets, end.RxPackets-base.RxPackets
	if backend == BackendAFPacket && (out != tx || in != rx) {
		t.Errorf("packet types: %d outgoing, %d incoming; the interface sent %d and received %d (types %v)", out, in, tx, rx, tl.types)
	}
	if backend == BackendPcap && tl.types[PacketUnknown] != tl.packets {
		t.Errorf("pcap on Ethernet: packet types %v, want all unknown", tl.types)
	}
	// Ground truth from what was sent: every UDP datagram that arrived was
	// captured once, with its Ethernet, IP and UDP headers.
	if got4 != udpN || got6 != udpN {
		t.Logf("UDP datagrams received: %d and %d of %d", got4, got6, udpN)
	}
	if n, b := tl.udpPackets[u4], tl.udpBytes[u4]; n != uint64(got4) || b != uint64(got4*(14+20+8+udpSize)) {
		t.Errorf("UDP/IPv4: captured %d packets, %d bytes; want %d, %d", n, b, got4, got4*(14+20+8+udpSize))
	}
	if n, b := tl.udpPackets[u6], tl.udpBytes[u6]; n != uint64(got6) || b != uint64(got6*(14+40+8+udpSize)) {
		t.Errorf("UDP/IPv6: captured %d packets, %d bytes; want %d, %d", n, b, got6, got6*(14+40+8+udpSize))
	}
	// TCP: at least the payload plus one header per 1500-byte frame.
	for _, x := range []struct {
		port uint16
		hdr  int
	}{{tcp4, 14 + 20 + 20}, {tcp6, 14 + 40 + 20}} {
		min := uint64(tcpN + (tcpN/1448)*x.hdr)
		if b := tl.tcpBytes[x.port]; b < min || b > min*12/10 {
			t.Errorf("TCP port %d: captured %d bytes, want between %d and %d", x.port, b, min, min*12/10)
		}
	}
	// Only the headers are captured, the whole length is counted.
	if tl.maxCap > DefaultSnapLen || tl.maxLen < 1500 {
		t.Errorf("largest frame captured %d bytes (snap length %d), largest length %d", tl.maxCap, DefaultSnapLen, tl.maxLen)
	}
	st := c.Stats()
	if len(st) != 1 || st[0].Interface != p.IfA || st[0].Packets != gp || st[0].Bytes != gb || st[0].KernelDrops != 0 || st[0].Malformed != 0 {
		t.Errorf("Stats() = %+v, handler saw %d packets %d bytes", st, gp, gb)
	}
}

// newNetns creates an empty network namespace with lo up, removed when the
// test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	netnstest.Skip(t)
	ns := netnstest.UniqueName("ghL")
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	for _, c := range [][]string{{"ip", "netns", "add", ns}, {"ip", "-n", ns, "link", "set", "lo", "up"}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return ns
}

// TestCaptureLoopback checks that on lo each packet is counted once: the
// captured frames equal lo's tx_packets and bytes, in a namespace of our
// own so that no other loopback traffic interferes.
func TestCaptureLoopback(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.String(), func(t *testing.T) { testCaptureLoopback(t, b) })
	}
}

func testCaptureLoopback(t *testing.T, backend Backend) {
	ns := newNetns(t)
	c, tl := startCapture(t, ns, Options{Interfaces: []string{"lo"}, Backend: backend})
	if l := c.Links(); len(l) != 1 || l[0].Type != LinkEthernet {
		t.Fatalf("Links() = %+v, want lo as Ethernet (DLT 1)", l)
	}
	base := settle(t, ns, "lo", tl, func(netnstest.Counters) (uint64, uint64) { return tl.get() })
	bp, bb := tl.get()
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	const tcpN, udpN, udpSize = 200000, 40, 1000
	tcpSend(t, ns, ns, lo4, tcpN)
	tcpSend(t, ns, ns, lo6, tcpN)
	u4, got4 := udpSend(t, ns, ns, lo4, udpN, udpSize)
	u6, got6 := udpSend(t, ns, ns, lo6, udpN, udpSize)
	// lo's tx_bytes is counted after the driver has pulled the 14-byte
	// Ethernet header (loopback_xmit), while a capture counts the whole
	// frame as nethogs does (1042 bytes for 1000 bytes of UDP over IPv4).
	want := func(c netnstest.Counters) (uint64, uint64) {
		n := c.TxPackets - base.TxPackets
		return bp + n, bb + c.TxBytes - base.TxBytes + 14*n
	}
	end := settle(t, ns, "lo", tl, want)
	wp, wb := want(end)
	gp, gb := tl.get()
	t.Logf("lo tx counters: %d packets, %d bytes + 14 per packet = %d (rx %d packets); captured %d packets, %d bytes",
		wp-bp, end.TxBytes-base.TxBytes, wb-bb, end.RxPackets-base.RxPackets, gp-bp, gb-bb)
	if gp != wp || gb != wb {
		t.Errorf("captured %d packets / %d bytes on lo, tx counters say %d / %d (tolerance 0)", gp-bp, gb-bb, wp-bp, wb-bb)
	}
	if gp-bp < 2*udpN {
		t.Errorf("captured only %d packets", gp-bp)
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if n := tl.udpPackets[u4]; n != uint64(got4) || tl.udpBytes[u4] != uint64(got4*(14+20+8+udpSize)) {
		t.Errorf("UDP over 127.0.0.1: captured %d packets (%d bytes), sent %d", n, tl.udpBytes[u4], got4)
	}
	if n := tl.udpPackets[u6]; n != uint64(got6) || tl.udpBytes[u6] != uint64(got6*(14+40+8+udpSize)) {
		t.Errorf("UDP over ::1: captured %d packets (%d bytes), sent %d", n, tl.udpBytes[u6], got6)
	}
	if tl.types[PacketOutgoing] != 0 || tl.types[PacketHost] != tl.packets {
		t.Errorf("packet types on lo: %v, want all %d PacketHost", tl.types, tl.packets)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{Interfaces: []string{"gohogs-nope0"}}); err == nil || !strings.Contains(err.Error(), `interface "gohogs-nope0" does not exist`) {
		t.Errorf("non-existent interface: %v", err)
	}
	if _, err := Open(Options{}); err == nil {
		t.Error("no interface: no error")
	}
	if _, err := Open(Options{Interfaces: []string{"lo"}, Backend: Backend(200)}); err == nil || !strings.Contains(err.Error(), "unknown backend") {
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
	err := withoutCapNetRaw(func() error {
		_, err := Open(Options{Interfaces: []string{"lo"}})
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
	for _, b := range backends() {
		t.Run(b.String(), func(t *testing.T) { testInterfaceDownAndBack(t, b) })
	}
}

func testInterfaceDownAndBack(t *testing.T, backend Backend) {
	p := netnstest.NewPair(t)
	var mu sync.Mutex
	var events []string
	opts := Options{Interfaces: []string{p.IfA, "lo"}, Backend: backend, OnError: func(iface string, err error) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, iface+": "+err.Error())
	}}
	c, _ := startCapture(t, p.NSA, opts)
	nEvents := func() int { mu.Lock(); defer mu.Unlock(); return len(events) }
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// Wait (bounded) until cond holds.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for i := 0; i < 400 && time.Now().Before(deadline); i++ {
			if cond() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("timed out (8s) waiting for %s", what)
	}
	// A UDP socket in A that sends to B's discard port; whether B answers
	// does not matter, the datagrams cross IfA.
	var tx net.Conn
	if err := netnstest.Do(p.NSA, func() (err error) {
		tx, err = net.Dial("udp", net.JoinHostPort(p.AddrB4.String(), "9"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	// Traffic is captured, and resumes after each outage.
	expectTraffic := func(stage string) {
		t.Helper()
		before := c.Stats()[0].Packets
		waitFor(stage+": capture sees traffic", func() bool {
			_, _ = tx.Write(make([]byte, 100)) // fails while the route is gone
			return c.Stats()[0].Packets >= before+3
		})
	}
	expectTraffic("start")

	ip("-n", p.NSA, "link", "set", p.IfA, "down")
	// libpcap (1.10) rides out a downed interface by itself and resumes
	// when it is up: only AF_PACKET reports it.
	wantEvents := []string{"went down", "disappeared"}
	if backend == BackendPcap {
		wantEvents = wantEvents[1:]
		time.Sleep(200 * time.Millisecond)
	}
	waitFor("an OnError call for down", func() bool { return nEvents() == len(wantEvents)-1 })
	// The other interface keeps going meanwhile.
	loBefore := c.Stats()[1].Packets
	lo4 := netip.MustParseAddr("127.0.0.1")
	if _, got := udpSend(t, p.NSA, p.NSA, lo4, 5, 100); got != 5 {
		t.Fatalf("lo: %d of 5 datagrams arrived", got)
	}
	waitFor("lo captured during the outage", func() bool { return c.Stats()[1].Packets >= loBefore+5 })
	ip("-n", p.NSA, "link", "set", p.IfA, "up")
	ip("-n", p.NSB, "link", "set", p.IfB, "up")
	waitFor("link up", func() bool {
		out, _ := exec.Command("ip", "-n", p.NSA, "addr", "show", "dev", p.IfA).Output()
		return strings.Contains(string(out), "LOWER_UP")
	})
	expectTraffic("after down/up")

	ip("-n", p.NSA, "link", "del", p.IfA)
	waitFor("an OnError call for delete", func() bool { return nEvents() == len(wantEvents) })
	ip("-n", p.NSA, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.NSB)
	ip("-n", p.NSA, "addr", "add", p.AddrA4.String()+"/24", "dev", p.IfA)
	ip("-n", p.NSB, "addr", "add", p.AddrB4.String()+"/24", "dev", p.IfB)
	ip("-n", p.NSA, "link", "set", p.IfA, "up")
	ip("-n", p.NSB, "link", "set", p.IfB, "up")
	expectTraffic("after delete/re-create")
	mu.Lock()
	defer mu.Unlock()
	if len(events) != len(wantEvents) {
		t.Errorf("OnError called %d times, want once per outage (%d): %q", len(events), len(wantEvents), events)
	}
	for i, what := range wantEvents {
		if i < len(events) && (!strings.Contains(events[i], p.IfA) || !strings.Contains(events[i], what)) {
			t.Errorf("event %d does not name the interface or say %q: %q", i, what, events[i])
		}
	}
	t.Logf("events: %q", events)
}

// TestRunStopsOnCancelAndClose checks Run's contract: nil on ctx done,
// an error when called twice or after Close.
func TestRunStopsOnCancelAndClose(t *testing.T) {
	ns := newNetns(t)
	var c *Capture
	if err := netnstest.Do(ns, func() (err error) {
		c, err = Open(Options{Interfaces: []string{"lo"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
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
	ns := newNetns(t)
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
	for _, args := range [][]string{
		{"addr", "add", "192.0.2.1/24", "dev", name},
		{"addr", "add", "2001:db8:7::1/64", "dev", name, "nodad"},
		{"link", "set", name, "up"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	c, tl := startCapture(t, ns, Options{Interfaces: []string{name}})
	if l := c.Links(); l[0].Type != LinkRaw {
		t.Fatalf("tun link type %d, want %d (raw IP)", l[0].Type, LinkRaw)
	}
	base := settle(t, ns, name, tl, func(netnstest.Counters) (uint64, uint64) { return tl.get() })
	bp, bb := tl.get()
	const n, size = 20, 300
	var conns []net.Conn
	if err := netnstest.Do(ns, func() error {
		for _, dst := range []string{"192.0.2.2:9", "[2001:db8:7::2]:9"} {
			c, err := net.Dial("udp", dst)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		for i := 0; i < n; i++ {
			if _, err := c.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	want := func(c netnstest.Counters) (uint64, uint64) {
		return bp + c.TxPackets - base.TxPackets, bb + c.TxBytes - base.TxBytes
	}
	end := settle(t, ns, name, tl, want)
	wp, wb := want(end)
	gp, gb := tl.get()
	t.Logf("tun tx: %d packets, %d bytes; captured %d, %d", wp-bp, wb-bb, gp-bp, gb-bb)
	if gp != wp || gb != wb {
		t.Errorf("captured %d packets / %d bytes, tx counters say %d / %d", gp-bp, gb-bb, wp-bp, wb-bb)
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	// No link header: a UDP datagram counts IP + UDP + payload.
	if tl.udpPackets[9] != 2*n || tl.udpBytes[9] != uint64(n*(20+8+size)+n*(40+8+size)) {
		t.Errorf("UDP to port 9: %d packets, %d bytes; want %d, %d", tl.udpPackets[9], tl.udpBytes[9], 2*n, n*(20+8+size)+n*(40+8+size))
	}
}
