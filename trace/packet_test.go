package trace

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

func TestSentAndReceivedCreditedToOwner(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := newAccountant(Config{})
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000)) // sent
		a.Packet(tcpFlow(hostB, hostA, 80, 40000, 3000)) // received
		waitResolved(t, a, 1)
		s := a.Refresh(t0.Add(2 * time.Second))
		r := rowsByName(s)["/usr/bin/curl"]
		if r.Sent != 1000 || r.Recv != 3000 || r.PID != 100 || r.UID != 1000 || r.Args != "-o x" {
			t.Fatalf("row = %+v", r)
		}
		if s.Elapsed != 2*time.Second {
			t.Fatalf("elapsed %v", s.Elapsed)
		}
		if len(r.Conns) != 1 || r.Conns[0] != (Conn{Proto: capture.ProtoTCP, Local: netip.AddrPortFrom(hostA, 40000),
			Remote: netip.AddrPortFrom(hostB, 80), Sent: 1000, Recv: 3000}) {
			t.Fatalf("conns %+v", r.Conns)
		}
		// KB/s: 1000 B over 2 s.
		if v := ViewKBps.Value(r.Sent, r.TotalSent, s.Elapsed); v != 1000.0/2/1024 {
			t.Fatalf("KB/s = %v", v)
		}
		// The next refresh with no traffic reads 0, not the last rate.
		s = a.Refresh(t0.Add(3 * time.Second))
		r = rowsByName(s)["/usr/bin/curl"]
		if r.Sent != 0 || r.Recv != 0 || r.TotalSent != 1000 || r.TotalRecv != 3000 {
			t.Fatalf("after traffic stopped: %+v", r)
		}
	})
}

func TestLocalToLocalCreditsBothEnds(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(lo, 40000): client,
			netip.AddrPortFrom(lo, 8080):  server,
		}}
		a := New(Config{Locals: localSet{lo: true}, Resolver: res}, t0)
		defer a.Close()
		a.Packet(tcpFlow(lo, lo, 40000, 8080, 5000)) // request
		a.Packet(tcpFlow(lo, lo, 8080, 40000, 700))  // reply
		waitResolved(t, a, 2)
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		if c := rows[client.Name]; c.Sent != 5000 || c.Recv != 700 {
			t.Errorf("client row %+v, want sent 5000 recv 700", c)
		}
		if s := rows[server.Name]; s.Sent != 700 || s.Recv != 5000 {
			t.Errorf("server row %+v, want sent 700 recv 5000", s)
		}
		if u := rows["unknown TCP"]; u.Sent != 0 || u.Recv != 0 {
			t.Errorf("unknown row %+v, want empty", u)
		}
	})
}

func TestUDPOnlyWithC(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 5353): client}}
		udp := func() *capture.Packet {
			p := tcpFlow(hostA, hostB, 5353, 53, 100)
			p.Proto = capture.ProtoUDP
			return p
		}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		a.Packet(udp())
		if st := a.Stats(); st.Ignored != 1 || st.Packets != 0 {
			t.Fatalf("without -C UDP must be ignored: %+v", st)
		}
		s := a.Refresh(t0.Add(time.Second))
		if len(s.Rows) != 1 || s.Rows[0].Kind != KindUnknownTCP {
			t.Fatalf("rows without -C: %+v", s.Rows)
		}
		a.Close()

		a = New(Config{Locals: localSet{hostA: true}, Resolver: res, UDP: true}, t0)
		defer a.Close()
		a.Packet(udp())
		waitResolved(t, a, 1)
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		if rows[client.Name].Sent != 100 {
			t.Fatalf("UDP with -C: %+v", rows)
		}
		if _, ok := rows["unknown UDP"]; !ok {
			t.Fatalf("no unknown UDP row with -C")
		}
	})
}

func BenchmarkPacketKnownFlow(b *testing.B) {
	a := newAccountant(Config{})
	defer a.Close()
	p := tcpFlow(hostA, hostB, 40000, 80, 1500)
	a.Packet(p)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.Packet(p)
	}
}

// Later IP fragments have no ports: their bytes go to the unknown rows,
// counted, not lost.
func TestFragmentsGoToUnknown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := New(Config{Locals: localSet{hostA: true}, Resolver: &fakeResolver{}}, t0)
		defer a.Close()
		p := tcpFlow(hostB, hostA, 0, 0, 1480)
		p.HasPorts = false
		a.Packet(p)
		s := a.Refresh(t0.Add(time.Second))
		if u := rowsByName(s)["unknown TCP"]; u.Recv != 1480 || len(s.UnknownConns) != 0 {
			t.Fatalf("unknown %+v conns %v", u, s.UnknownConns)
		}
	})
}

// The tuple cache follows the local addresses: after hostA stops being
// local and hostB becomes so, the same packets are credited to hostB's
// receiving process, not to hostA's sender. Without a generation (no
// cache) the answer is the same.
func TestTupleCacheFollowsLocalAddresses(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): client, netip.AddrPortFrom(hostB, 80): server,
		}}
		ch := &changingSet{}
		ch.replace(hostA)
		for _, locals := range []Locals{ch, plainSet{hostA: true}} {
			a := New(Config{Locals: locals, Resolver: res}, t0)
			for range 3 {
				a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000))
			}
			waitResolved(t, a, 1)
			if ch, ok := locals.(*changingSet); ok {
				ch.replace(hostB)
			} else {
				delete(locals.(plainSet), hostA)
				locals.(plainSet)[hostB] = true
			}
			for range 2 {
				a.Packet(tcpFlow(hostA, hostB, 40000, 80, 500))
			}
			waitResolved(t, a, 2)
			r := rowsByName(a.Refresh(t0.Add(time.Second)))
			if c, s := r[client.Name], r[server.Name]; c.Sent != 3000 || c.Recv != 0 || s.Recv != 1000 || s.Sent != 0 {
				t.Errorf("%T: client %+v, server %+v; want client sent 3000, server received 1000", locals, c, s)
			}
			a.Close()
		}
	})
}

// A flow that left the table is not credited through a stale cache
// entry: its next packets make a new flow, which is looked up again.
func TestTupleCacheForgetsFlowsThatLeft(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40001): client}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		fin := tcpFlow(hostA, hostB, 40001, 80, 100)
		fin.TCPFlags = capture.TCPFin
		a.Packet(fin)
		waitResolved(t, a, 1)
		a.Refresh(t0.Add(time.Second))
		a.Refresh(t0.Add(4 * time.Second)) // the closed flow leaves
		if n := a.Stats().Flows; n != 0 {
			t.Fatalf("%d flows, want 0", n)
		}
		p := tcpFlow(hostA, hostB, 40001, 80, 700)
		p.Timestamp = t0.Add(4500 * time.Millisecond)
		a.Packet(p)
		waitResolved(t, a, 2)
		if r := rowsByName(a.Refresh(t0.Add(5 * time.Second)))[client.Name]; r.Sent != 700 || r.TotalSent != 800 {
			t.Fatalf("row %+v, want 700 sent (800 in total)", r)
		}
		if n := a.Stats().Flows; n != 1 {
			t.Fatalf("%d flows after the new packet, want 1", n)
		}
	})
}

// Ordering the unknown connections builds no names: it allocates nothing
// (nor does the packet path), whatever the addresses.
func TestNoAllocations(t *testing.T) {
	long := netip.MustParseAddr("fd00:1234:5678:9abc:def0:1234:5678:9abc")
	x := unknownConn{first: t0, conn: Conn{Local: netip.AddrPortFrom(long, 65535), Remote: netip.AddrPortFrom(long, 65534)}}
	y := x
	y.conn.Remote = netip.AddrPortFrom(long, 65533)
	if n := testing.AllocsPerRun(100, func() {
		if compareUnknown(x, y) <= 0 || compareUnknown(y, x) >= 0 {
			t.Fatal("wrong order")
		}
	}); n != 0 {
		t.Errorf("compareUnknown: %v allocations, want 0", n)
	}
	bubble(t, func(t *testing.T) {
		for _, locals := range []Locals{localSet{hostA: true}, plainSet{hostA: true}} {
			a := curlSent(t, Config{Locals: locals}, 1500)
			p := tcpFlow(hostA, hostB, 40000, 80, 1500)
			if n := testing.AllocsPerRun(100, func() { a.Packet(p) }); n != 0 {
				t.Errorf("%T: Packet of a known flow: %v allocations, want 0", locals, n)
			}
			a.Close()
		}
	})
}

// Packets from several goroutines while refreshes run: every byte is
// credited once, to its owner or to the unknown row.
func TestConcurrentPacketsAndRefresh(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): client, netip.AddrPortFrom(hostA, 40001): server,
		}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 100))
		a.Packet(tcpFlow(hostB, hostA, 80, 40001, 100))
		waitResolved(t, a, 2)
		const perSender = 5000
		var wg sync.WaitGroup
		for i, p := range []*capture.Packet{
			tcpFlow(hostA, hostB, 40000, 80, 100), tcpFlow(hostB, hostA, 80, 40001, 100), tcpFlow(hostA, hostB, 40002, 80, 100),
		} {
			n := perSender
			if i < 2 {
				n-- // sent one already
			}
			wg.Go(func() {
				for range n {
					a.Packet(p)
				}
			})
		}
		var sent, recv uint64
		add := func(s *Snapshot) {
			for _, r := range s.Rows {
				sent += r.Sent
				recv += r.Recv
			}
		}
		for i := 1; i <= 20; i++ {
			add(a.Refresh(t0.Add(time.Duration(i) * time.Millisecond)))
		}
		wg.Wait()
		add(a.Refresh(t0.Add(10 * time.Second))) // past PendingLimit: the unresolved flow's bytes are unknown
		rows := rowsByName(a.Refresh(t0.Add(11 * time.Second)))
		if sent != 2*perSender*100 || recv != perSender*100 {
			t.Errorf("credited sent %d recv %d, want %d and %d", sent, recv, 2*perSender*100, perSender*100)
		}
		if c, s, u := rows[client.Name], rows[server.Name], rows["unknown TCP"]; c.TotalSent != perSender*100 || s.TotalRecv != perSender*100 || u.TotalSent != perSender*100 {
			t.Errorf("client %+v, server %+v, unknown %+v; want %d bytes each", c, s, u, perSender*100)
		}
	})
}
