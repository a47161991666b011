package flowbpf

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// load loads a Counter or skips the test where the kernel or the
// privileges do not allow it.
func load(t testing.TB, opts Options) *Counter {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	c, err := Load(opts)
	if err != nil {
		t.Skipf("eBPF not available: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// attachLo attaches c to ns's loopback (or skips the test where tcx is
// missing) and opens its event reader, both closed when the test ends.
func attachLo(t *testing.T, c *Counter, ns string) *Events {
	t.Helper()
	var att *Attachment
	if err := netnstest.Do(ns, func() error {
		ifi, err := net.InterfaceByName("lo")
		if err != nil {
			return err
		}
		att, err = c.AttachTCX(ifi.Index, true)
		return err
	}); err != nil {
		t.Skipf("tcx not available: %v", err)
	}
	t.Cleanup(func() { att.Close() })
	ev, err := c.Events()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	return ev
}

// sink opens a UDP socket on 127.0.0.1 in ns that nobody reads (the
// datagrams stay queued: no ICMP comes back) and returns its port.
func sink(t *testing.T, ns string) int {
	t.Helper()
	var c *net.UDPConn
	if err := netnstest.Do(ns, func() error {
		var err error
		c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sendUDP sends n datagrams of size bytes from a fresh socket in ns to
// 127.0.0.1:port and returns the sender's port.
func sendUDP(t *testing.T, ns string, port, n, size int) int {
	t.Helper()
	var c *net.UDPConn
	if err := netnstest.Do(ns, func() error {
		var err error
		c, err = net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, size)
	for range n {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestCountsAndFirstPacket sends datagrams of one flow over a namespace's
// loopback: the first is handed up whole, the others are in the map, and
// together they are every frame.
func TestCountsAndFirstPacket(t *testing.T) {
	ns := netnstest.NewLoopback(t, "fb")
	c := load(t, Options{})
	ev := attachLo(t, c, ns)

	const n, size = 50, 100
	before := time.Now()
	port := sink(t, ns)
	sport := sendUDP(t, ns, port, n, size)
	frame := 14 + 20 + 8 + size

	var e Event
	if err := ev.Read(time.Now().Add(5*time.Second), &e); err != nil {
		t.Fatalf("first packet: %v", err)
	}
	if e.Length != frame || len(e.Data) != min(frame, EventData) || e.Type != 0 {
		t.Errorf("event: length %d, %d bytes, type %d; want %d, %d, 0", e.Length, len(e.Data), e.Type, frame, min(frame, EventData))
	}
	if e.Time.Before(before) || e.Time.After(time.Now()) {
		t.Errorf("event time %v not between %v and now", e.Time, before)
	}
	if err := ev.Read(time.Now().Add(50*time.Millisecond), &e); !errors.Is(err, ErrTimeout) {
		t.Errorf("second read: %v, want ErrTimeout (one event per flow)", err)
	}
	var got []Value
	if err := c.Drain(func(k *Key, v Value) {
		src, dst, ok := k.Addrs()
		sp, dp := k.Ports()
		want := netip.MustParseAddr("127.0.0.1")
		if !ok || src != want || dst != want || int(sp) != sport || int(dp) != port || k.Proto != 17 || k.Flags != FlagIPv4|FlagPorts {
			t.Errorf("key %+v: %v:%d -> %v:%d", k, src, sp, dst, dp)
		}
		got = append(got, v)
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Packets != n-1 || got[0].Bytes != uint64((n-1)*frame) {
		t.Fatalf("drained %+v, want one flow of %d packets, %d bytes", got, n-1, (n-1)*frame)
	}
	// Drained: the next packet is a first packet again.
	sendUDP(t, ns, port, 1, size)
	if err := ev.Read(time.Now().Add(5*time.Second), &e); err != nil {
		t.Fatalf("first packet after the drain: %v", err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 2 || st.MapFull != 0 || st.Malformed != 0 || st.EventsLost != 0 {
		t.Errorf("stats %+v, want 2 events", st)
	}
}

// TestMapFull fills a small flow map with many flows: the ones that do not
// fit are counted in the overflow bucket, none is lost.
func TestMapFull(t *testing.T) {
	ns := netnstest.NewLoopback(t, "fb")
	const maxFlows, flows, per, size = 16, 40, 3, 10
	c := load(t, Options{MaxFlows: maxFlows})
	ev := attachLo(t, c, ns)
	port := sink(t, ns)
	for range flows {
		sendUDP(t, ns, port, per, size)
	}
	frame := uint64(14 + 20 + 8 + size)
	var e Event
	events := 0
	for ev.Read(time.Now().Add(100*time.Millisecond), &e) == nil {
		events++
	}
	var inMap, entries uint64
	if err := c.Drain(func(k *Key, v Value) { inMap += v.Packets; entries++ }); err != nil {
		t.Fatal(err)
	}
	ov, err := c.Overflow()
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	over := ov[OverflowUDP]
	if entries > maxFlows || events != maxFlows {
		t.Errorf("%d entries, %d first packets; want at most %d, and %d", entries, events, maxFlows, maxFlows)
	}
	if total := uint64(events) + inMap + over.Packets; total != flows*per {
		t.Errorf("first packets %d + in the map %d + overflow %d = %d, want %d", events, inMap, over.Packets, total, flows*per)
	}
	if over.Packets != (flows-maxFlows)*per || over.Bytes != over.Packets*frame || st.MapFull != over.Packets {
		t.Errorf("overflow %+v, map-full %d; want %d packets of %d bytes", over, st.MapFull, (flows-maxFlows)*per, frame)
	}
}
