package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// collectAll takes what the ebpf backend counted in the kernel into the
// interfaces' Stats (nothing to do for the other backends).
func collectAll(t testing.TB, c *Capture) {
	t.Helper()
	if err := c.Collect(time.Now(), func([]FlowCount) {}); err != nil {
		t.Fatal(err)
	}
}

// skipWithoutEBPF skips the test where the kernel does not let the ebpf
// backend run (it needs tcx, Linux 6.6).
func skipWithoutEBPF(t *testing.T) {
	t.Helper()
	netnstest.Skip(t)
	ns := netnstest.NewLoopback(t, "ghE")
	var err error
	do(t, ns, func() error {
		var c *Capture
		if c, err = Open(Options{Interfaces: []string{"lo"}, Backend: BackendEBPF}); err == nil {
			c.Close()
		}
		return nil
	})
	if err != nil {
		t.Skipf("the ebpf backend cannot run here: %v", err)
	}
}

// tuple is a flow as the comparison counts it.
type tuple struct {
	proto    Proto
	src, dst netip.Addr
	sp, dp   uint16
	out      bool // PacketOutgoing
}

// flowTally counts packets and bytes per tuple, from a Handler and from
// Collect's batches.
type flowTally struct {
	mu sync.Mutex
	m  map[tuple][2]uint64
}

func (ft *flowTally) add(p *Packet, packets uint64) {
	k := tuple{proto: p.Proto, src: p.Src, dst: p.Dst, out: p.Type == PacketOutgoing}
	if p.HasPorts {
		k.sp, k.dp = p.SrcPort, p.DstPort
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.m == nil {
		ft.m = map[tuple][2]uint64{}
	}
	v := ft.m[k]
	v[0] += packets
	v[1] += uint64(p.Length)
	ft.m[k] = v
}

func (ft *flowTally) handle(p *Packet) { ft.add(p, 1) }

func (ft *flowTally) counts(cs []FlowCount) {
	for i := range cs {
		ft.add(&cs[i].Packet, cs[i].Packets)
	}
}

func (ft *flowTally) get(k tuple) [2]uint64 {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.m[k]
}

// runIn opens a capture in ns and runs it with h until the test ends.
func runIn(t *testing.T, ns string, opts Options, h Handler) *Capture {
	t.Helper()
	c := openIn(t, ns, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := runResult(t, done, "cancel"); err != nil {
			t.Errorf("Run: %v", err)
		}
		c.Close()
	})
	return c
}

// TestEBPFMatchesAFPacket captures the same traffic on one veth with the
// ebpf and the afpacket backends at once: TCP over IPv4, UDP over IPv6,
// ICMP echo, and frames with one and two VLAN tags.
// Each flow's packets and bytes, in each direction, are the same on both
// (within 0.5 % of the bytes; this traffic is exactly the same).
func TestEBPFMatchesAFPacket(t *testing.T) {
	skipWithoutEBPF(t)
	p := netnstest.NewPair(t)
	var af, eb flowTally
	runIn(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: BackendAFPacket}, af.handle)
	ce := runIn(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: BackendEBPF}, eb.handle)
	if ce.Backend() != BackendEBPF || ce.Fallback() != nil {
		t.Fatalf("backend %v, fallback %v", ce.Backend(), ce.Fallback())
	}
	collect := func() {
		if err := ce.Collect(time.Now(), eb.counts); err != nil {
			t.Fatal(err)
		}
	}
	// Both capture: a marker datagram has reached each.
	mk := newMarker(t, p.NSA, p.NSB, p.AddrB4, 0)
	mkOut := func() tuple {
		la := mk.conn.LocalAddr().(*net.UDPAddr)
		return tuple{proto: ProtoUDP, src: p.AddrA4, dst: p.AddrB4, sp: uint16(la.Port), dp: mk.port, out: true}
	}
	syncBoth := func(what string) {
		t.Helper()
		a0, e0 := af.get(mkOut())[0], eb.get(mkOut())[0]
		eventually(t, what+": a marker on both captures", func() bool {
			if _, err := mk.conn.Write(make([]byte, 10)); err != nil {
				t.Fatal(err)
			}
			collect()
			return af.get(mkOut())[0] > a0 && eb.get(mkOut())[0] > e0
		})
	}
	syncBoth("start")

	var flows []tuple
	both := func(proto Proto, a, b netip.Addr, aPort, bPort uint16) {
		flows = append(flows, tuple{proto, a, b, aPort, bPort, true}, tuple{proto, b, a, bPort, aPort, false})
	}
	tcpFlow := func(from, to netip.Addr, n int) {
		var ln net.Listener
		do(t, p.NSB, func() (err error) {
			ln, err = net.Listen("tcp", net.JoinHostPort(to.String(), "0"))
			return err
		})
		defer ln.Close()
		got := netnstest.Discard(ln, 10*time.Second)
		var c net.Conn
		do(t, p.NSA, func() (err error) {
			c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
			return err
		})
		both(ProtoTCP, from, to, uint16(c.LocalAddr().(*net.TCPAddr).Port), uint16(ln.Addr().(*net.TCPAddr).Port))
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if m := <-got; m != int64(n) {
			t.Fatalf("TCP %v: server read %d bytes, want %d", to, m, n)
		}
	}
	tcpFlow(p.AddrA4, p.AddrB4, 2<<20)
	// VLAN-tagged frames (one tag, and two): this kernel may have no
	// VLAN devices, so they are written to the veth from a packet socket.
	va4, vb4 := netip.MustParseAddr("10.251.0.1"), netip.MustParseAddr("10.251.0.2")
	for i, tags := range [][]uint16{{42}, {100, 42}} {
		sendTagged(t, p.NSA, p.IfA, tags, va4, vb4, uint16(4000+i), 9, 20, 300)
		flows = append(flows, tuple{proto: ProtoUDP, src: va4, dst: vb4, sp: uint16(4000 + i), dp: 9, out: true})
	}
	port, got := udpSend(t, p.NSA, p.NSB, p.AddrB6, 80, 700)
	if got != 80 {
		t.Fatalf("UDP: %d of 80 datagrams arrived", got)
	}
	flows = append(flows, tuple{proto: ProtoUDP, src: p.AddrA6, dst: p.AddrB6, dp: port, out: true})
	if out, err := exec.Command("ip", "netns", "exec", p.NSA, "ping", "-c", "5", "-i", "0.2", "-W", "2", p.AddrB4.String()).CombinedOutput(); err != nil {
		t.Fatalf("ping: %v: %s", err, out)
	}
	both(ProtoICMP, p.AddrA4, p.AddrB4, 0, 0)
	syncBoth("end")

	for _, k := range flows {
		if k.proto == ProtoUDP && k.sp == 0 {
			// The UDP sender's port: the one flow to port k.dp.
			for tk := range eb.m {
				if tk.proto == ProtoUDP && tk.dp == k.dp && tk.dst == k.dst {
					k.sp = tk.sp
				}
			}
		}
		a, e := af.get(k), eb.get(k)
		name := fmt.Sprintf("%v %v:%d -> %v:%d out=%v", k.proto, k.src, k.sp, k.dst, k.dp, k.out)
		if a[0] == 0 {
			t.Errorf("%s: afpacket saw nothing", name)
			continue
		}
		if a[0] != e[0] || float64(max(a[1], e[1])-min(a[1], e[1])) > 0.005*float64(a[1]) {
			t.Errorf("%s: afpacket %d packets %d bytes, ebpf %d packets %d bytes", name, a[0], a[1], e[0], e[1])
		} else {
			t.Logf("%s: %d packets, %d bytes on both", name, a[0], a[1])
		}
	}
	for i, tags := 0, 1; i < 2; i, tags = i+1, tags+1 {
		want := [2]uint64{20, 20 * uint64(14+4*tags+20+8+300)}
		if got := af.get(flows[2+i]); got != want {
			t.Errorf("%d-tag frames: afpacket saw %v, want %v", tags, got, want)
		}
	}
	st := ce.Stats()[0]
	if st.KernelDrops != 0 || st.MapFull != 0 || st.EventsLost != 0 || st.Malformed != 0 {
		t.Errorf("ebpf stats: %+v", st)
	}
}

// sendTagged writes n UDP/IPv4 frames of size bytes of payload with VLAN
// tags to interface dev in namespace ns, from a packet socket (they leave
// through dev's egress; the far end drops them).
func sendTagged(t *testing.T, ns, dev string, tags []uint16, src, dst netip.Addr, sport, dport uint16, n, size int) {
	t.Helper()
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1}
	for i, tag := range tags {
		tpid := uint16(0x8100)
		if i < len(tags)-1 {
			tpid = 0x88a8
		}
		f = binary.BigEndian.AppendUint16(f, tpid)
		f = binary.BigEndian.AppendUint16(f, tag)
	}
	f = binary.BigEndian.AppendUint16(f, 0x0800)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+size))
	copy(ip[12:], src.AsSlice())
	copy(ip[16:], dst.AsSlice())
	f = append(f, ip...)
	f = binary.BigEndian.AppendUint16(f, sport)
	f = binary.BigEndian.AppendUint16(f, dport)
	f = binary.BigEndian.AppendUint16(f, uint16(8+size))
	f = append(f, 0, 0)
	f = append(f, make([]byte, size)...)
	sendFrames(t, ns, dev, f, n)
}

// TestEBPFFallback makes the ebpf backend fail to load: the default backend
// then reads with afpacket and says why, while asking for ebpf is an error.
func TestEBPFFallback(t *testing.T) {
	skipWithoutEBPF(t)
	ns := netnstest.NewLoopback(t, "ghE")
	// A flow map larger than the kernel allows.
	var c *Capture
	do(t, ns, func() (err error) {
		c, err = Open(Options{Interfaces: []string{"lo"}, MaxFlows: 1 << 30})
		return err
	})
	if c.Backend() != BackendAFPacket || c.Fallback() == nil || !strings.Contains(c.Fallback().Error(), "eBPF") {
		t.Errorf("default with an impossible flow map: backend %v, fallback %v; want afpacket and why", c.Backend(), c.Fallback())
	}
	t.Logf("fallback: %v", c.Fallback())
	c.Close()
	do(t, ns, func() error {
		_, err := Open(Options{Interfaces: []string{"lo"}, MaxFlows: 1 << 30, Backend: BackendEBPF})
		if err == nil || !strings.Contains(err.Error(), `"lo"`) || !strings.Contains(err.Error(), "eBPF") {
			t.Errorf("ebpf with an impossible flow map: %v, want an error naming the interface", err)
		}
		return nil
	})
	// Without the privileges: no CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN.
	do(t, ns, func() error {
		err := withoutCaps([]int{unix.CAP_BPF, unix.CAP_SYS_ADMIN, unix.CAP_PERFMON}, func() error {
			c, err := Open(Options{Interfaces: []string{"lo"}})
			if err != nil {
				return err
			}
			defer c.Close()
			if c.Backend() != BackendAFPacket || c.Fallback() == nil || !strings.Contains(c.Fallback().Error(), "CAP_BPF") {
				t.Errorf("default without CAP_BPF: backend %v, fallback %v; want afpacket and what is missing", c.Backend(), c.Fallback())
			}
			t.Logf("fallback: %v", c.Fallback())
			return nil
		})
		if err != nil {
			t.Error(err)
		}
		return nil
	})
	if PcapAvailable {
		do(t, ns, func() error {
			c, err := Open(Options{Interfaces: []string{"lo"}, Filter: "udp"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Backend() != BackendAFPacket || c.Fallback() == nil || !strings.Contains(c.Fallback().Error(), "filter") {
				t.Errorf("default with a filter: backend %v, fallback %v", c.Backend(), c.Fallback())
			}
			return nil
		})
	}
	if _, err := Open(Options{Interfaces: []string{"lo"}, Filter: "udp", Backend: BackendEBPF}); err == nil || !strings.Contains(err.Error(), "filter") {
		t.Errorf("ebpf with a filter: %v, want an error", err)
	}
}

// withoutCaps runs fn with the calling thread's (locked) effective
// capabilities lacking caps, then restores them.
func withoutCaps(caps []int, fn func() error) error {
	hdr, data, err := capget()
	if err != nil {
		return err
	}
	saved := data
	for _, c := range caps {
		data[c/32].Effective &^= 1 << (c % 32)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	err = fn()
	if rerr := unix.Capset(&hdr, &saved[0]); rerr != nil {
		return errors.Join(err, fmt.Errorf("restore capabilities: %w", rerr))
	}
	return err
}

// TestEBPFFlowFlood sends datagrams from many source ports (new flows) at
// a capture whose flow map holds only 64: the flows beyond it are handed
// over in overflow buckets, no packet is lost, and the map stays bounded.
func TestEBPFFlowFlood(t *testing.T) {
	skipWithoutEBPF(t)
	p := netnstest.NewPair(t)
	const maxFlows, flows, per = 64, 500, 2
	var ft flowTally
	c := runIn(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: BackendEBPF, MaxFlows: maxFlows}, ft.handle)
	var pc net.PacketConn
	do(t, p.NSB, func() (err error) {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(p.AddrB4.String(), "0"))
		return err
	})
	defer pc.Close()
	for range flows {
		var s net.Conn
		do(t, p.NSA, func() (err error) {
			s, err = net.Dial("udp", pc.LocalAddr().String())
			return err
		})
		for range per {
			if _, err := s.Write(make([]byte, 50)); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
	var entries, packets, overflow uint64
	want := uint64(flows * per)
	eventually(t, "every datagram counted", func() bool {
		if err := c.Collect(time.Now(), func(cs []FlowCount) {
			for _, fc := range cs {
				if fc.Proto != ProtoUDP {
					continue
				}
				if !fc.Src.IsValid() {
					overflow += fc.Packets
				} else {
					entries++
				}
				packets += fc.Packets
			}
			ft.counts(cs)
		}); err != nil {
			t.Fatal(err)
		}
		ft.mu.Lock()
		defer ft.mu.Unlock()
		var n uint64
		for k, v := range ft.m {
			if k.proto == ProtoUDP && (k.dp == uint16(pc.LocalAddr().(*net.UDPAddr).Port) || !k.src.IsValid()) {
				n += v[0]
			}
		}
		return n >= want
	})
	st := c.Stats()[0]
	if entries > maxFlows || overflow == 0 || st.MapFull < overflow || st.KernelDrops != 0 {
		t.Errorf("%d map entries (at most %d), %d packets in overflow buckets, stats %+v", entries, maxFlows, overflow, st)
	}
	t.Logf("%d map entries, %d of %d packets in the overflow, stats %+v", entries, overflow, want, st)
}

// TestEBPFInterfaceDownAndBack is TestInterfaceDownAndBack with the ebpf
// backend, which notices an interface going away by looking at it.
func TestEBPFInterfaceDownAndBack(t *testing.T) {
	skipWithoutEBPF(t)
	testInterfaceDownAndBack(t, BackendEBPF)
}
