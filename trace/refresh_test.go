package trace

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

func TestIdleProcessLeavesAfterTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		for _, keep := range []bool{false, true} {
			a := curlSent(t, Config{KeepIdle: keep}, 1000)
			a.Refresh(t0.Add(time.Second))
			_, shown := rowsByName(a.Refresh(t0.Add(100 * time.Second)))[client.Name]
			if !shown {
				t.Errorf("keep=%v: gone after 100 s", keep)
			}
			_, shown = rowsByName(a.Refresh(t0.Add(200 * time.Second)))[client.Name]
			if shown != keep {
				t.Errorf("keep=%v: shown=%v after 200 s idle", keep, shown)
			}
			a.Close()
		}
	})
}

// A refresh covers the packets stamped before its cut, however late it
// runs: packets stamped after the cut wait for the next refresh.
func TestRefreshCutsByPacketTime(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := newAccountant(Config{Interval: time.Second})
		defer a.Close()
		at := func(d time.Duration, n int) {
			p := tcpFlow(hostA, hostB, 40000, 80, n)
			p.Timestamp = t0.Add(d)
			a.Packet(p)
		}
		at(100*time.Millisecond, 1000)
		at(900*time.Millisecond, 2000)
		at(1100*time.Millisecond, 4000) // read before the first refresh ran, stamped after its cut
		waitResolved(t, a, 1)
		s := a.Refresh(t0.Add(time.Second))
		if r := rowsByName(s)[client.Name]; r.Sent != 3000 || s.Elapsed != time.Second {
			t.Fatalf("first refresh: %+v over %v, want 3000 bytes over 1s", r, s.Elapsed)
		}
		at(1500*time.Millisecond, 8000)
		s = a.Refresh(t0.Add(2 * time.Second))
		if r := rowsByName(s)[client.Name]; r.Sent != 12000 || r.TotalSent != 15000 {
			t.Fatalf("second refresh: %+v, want 12000 (total 15000)", r)
		}
	})
}

// A TCP flow that saw a FIN or RST leaves the table 2 s after its last
// packet, not 50 s: under a churn of short connections the table holds
// seconds of them.
func TestClosedFlowsLeaveSoon(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): client, netip.AddrPortFrom(hostA, 40001): client,
		}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		open := tcpFlow(hostA, hostB, 40000, 80, 100)
		fin := tcpFlow(hostA, hostB, 40001, 80, 100)
		fin.TCPFlags = capture.TCPFin | 0x10
		a.Packet(open)
		a.Packet(fin)
		waitResolved(t, a, 2)
		a.Refresh(t0.Add(time.Second))
		if n := a.Stats().Flows; n != 2 {
			t.Fatalf("%d flows after 1 s, want 2", n)
		}
		a.Refresh(t0.Add(4 * time.Second))
		if n := a.Stats().Flows; n != 1 {
			t.Fatalf("%d flows 4 s after the FIN, want 1 (the open one)", n)
		}
		a.Refresh(t0.Add(60 * time.Second))
		if n := a.Stats().Flows; n != 0 {
			t.Fatalf("%d flows after 60 s idle, want 0", n)
		}
	})
}

// With NoConns the rows carry no connections; the bytes are the same.
func TestNoConns(t *testing.T) {
	bubble(t, func(t *testing.T) {
		for _, no := range []bool{false, true} {
			a := curlSent(t, Config{NoConns: no}, 1000)
			r := rowsByName(a.Refresh(t0.Add(time.Second)))[client.Name]
			if r.Sent != 1000 || (len(r.Conns) == 0) != no {
				t.Errorf("NoConns %v: row %+v", no, r)
			}
			a.Close()
		}
	})
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		KindProcess: "process", KindSocket: "socket", KindUnknownTCP: "unknown_tcp", KindUnknownUDP: "unknown_udp",
		KindUnknownICMP: "unknown_icmp", KindUnknownIP: "unknown_ip", 9: "kind9",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

// The unknown connections come oldest first; the two flows of a local
// connection, first seen by one packet, in the order of their names
// ("...:40000-..." before "...:8080-..."), as the trace has always listed
// them.
func TestUnknownConnsOrder(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := New(Config{Locals: localSet{lo: true, hostA: true}, Resolver: &fakeResolver{}}, t0)
		defer a.Close()
		late := tcpFlow(hostA, hostB, 9, 10, 100)
		late.Timestamp = t0.Add(time.Millisecond)
		a.Packet(late)
		a.Packet(tcpFlow(lo, lo, 40000, 8080, 100))
		waitResolved(t, a, 3)
		var got []string
		for _, c := range a.Refresh(t0.Add(time.Second)).UnknownConns {
			got = append(got, c.String())
		}
		if want := []string{"127.0.0.1:40000-127.0.0.1:8080", "127.0.0.1:8080-127.0.0.1:40000", "10.0.0.1:9-10.0.0.2:10"}; !slices.Equal(got, want) {
			t.Errorf("unknown connections %q, want %q", got, want)
		}
	})
}

// A row's connections come in the same order every time: by local port,
// remote end, local address, protocol.
func TestConnsOrder(t *testing.T) {
	bubble(t, func(t *testing.T) {
		v6 := netip.MustParseAddr("fd00::1")
		res := resolverFunc(func(procmap.Flow) (procmap.Owner, error) { return procmap.Owner{Inode: 1, Process: client}, nil })
		a := New(Config{Locals: localSet{hostA: true, v6: true}, Resolver: res, UDP: true}, t0)
		defer a.Close()
		udp := tcpFlow(hostA, hostB, 5000, 53, 10)
		udp.Proto = capture.ProtoUDP
		a.Packet(udp)
		a.Packet(tcpFlow(hostA, hostB, 5000, 53, 10))
		a.Packet(tcpFlow(v6, hostB, 5000, 53, 10))
		a.Packet(tcpFlow(hostA, hostB, 5000, 52, 10))
		a.Packet(tcpFlow(hostA, hostB, 4000, 99, 10))
		waitResolved(t, a, 5)
		var got []string
		for _, c := range rowsByName(a.Refresh(t0.Add(time.Second)))[client.Name].Conns {
			got = append(got, c.Proto.String()+" "+c.String())
		}
		want := []string{"TCP 10.0.0.1:4000-10.0.0.2:99", "TCP 10.0.0.1:5000-10.0.0.2:52", "TCP 10.0.0.1:5000-10.0.0.2:53",
			"UDP 10.0.0.1:5000-10.0.0.2:53", "TCP fd00::1:5000-10.0.0.2:53"}
		if !slices.Equal(got, want) {
			t.Errorf("connections %q, want %q", got, want)
		}
	})
}

// BenchmarkRefresh times a refresh of 2,000 flows of 200 processes and
// 2,000 flows still being looked up (the unknown connections, first seen a
// microsecond apart), and the part of it that holds the lock the packet
// path needs.
func BenchmarkRefresh(b *testing.B) {
	gate := make(chan struct{})
	res := resolverFunc(func(f procmap.Flow) (procmap.Owner, error) {
		if f.Local.Port() >= 30000 {
			<-gate // held: these flows stay unknown
			return procmap.Owner{}, procmap.ErrNotFound
		}
		pid := int(f.Local.Port() % 200)
		return procmap.Owner{Inode: uint64(pid), Process: &procmap.Process{PID: pid + 1, Name: "p"}}, nil
	})
	a := New(Config{Locals: localSet{hostA: true}, Resolver: res, Workers: 4}, t0)
	defer a.Close()
	defer close(gate)
	for i := range 2000 {
		a.Packet(tcpFlow(hostA, hostB, uint16(10000+i), 80, 100))
	}
	for deadline := time.Now().Add(10 * time.Second); a.Stats().Resolved < 2000; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("resolved %+v", a.Stats())
		}
	}
	for i := range 2000 {
		p := tcpFlow(hostA, hostB, uint16(30000+i), 80, 100)
		p.Timestamp = t0.Add(time.Duration(i) * time.Microsecond)
		a.Packet(p)
	}
	cut := t0
	touch := func() {
		for i := range 2000 {
			p := tcpFlow(hostA, hostB, uint16(10000+i), 80, 100)
			p.Timestamp = cut
			a.Packet(p)
		}
	}
	// Each iteration touches the known flows (untimed), then refreshes.
	run := func(name string, refresh func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				cut = cut.Add(time.Second)
				touch()
				b.StartTimer()
				refresh(b)
			}
		})
	}
	run("Refresh", func(b *testing.B) {
		if s := a.Refresh(cut); len(s.UnknownConns) != 2000 {
			b.Fatalf("%d unknown connections", len(s.UnknownConns))
		}
	})
	run("locked", func(b *testing.B) {
		a.mu.Lock()
		a.refresh(cut)
		a.mu.Unlock()
	})
}
