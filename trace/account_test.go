package trace

import (
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

type localSet map[netip.Addr]bool

func (l localSet) Contains(a netip.Addr) bool { return l[a] }

// Generation makes every test run through the tuple cache, as with
// capture.LocalAddrs; these sets never change.
func (l localSet) Generation() uint64 { return 0 }

// plainSet is a Locals without a generation: no tuple cache.
type plainSet map[netip.Addr]bool

func (l plainSet) Contains(a netip.Addr) bool { return l[a] }

// changingSet is a Locals whose addresses a test changes.
type changingSet struct {
	mu  sync.Mutex
	set map[netip.Addr]bool
	gen uint64
}

func (l *changingSet) Contains(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set[a]
}

func (l *changingSet) Generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

func (l *changingSet) replace(addrs ...netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.set = map[netip.Addr]bool{}
	for _, a := range addrs {
		l.set[a] = true
	}
	l.gen++
}

// fakeResolver answers from a table of local address:port → process, and
// can be made to hold answers back.
type fakeResolver struct {
	mu    sync.Mutex
	by    map[netip.AddrPort]*procmap.Process
	gate  chan struct{} // when non-nil, Resolve waits for it
	calls int
}

func (r *fakeResolver) Resolve(f procmap.Flow) (procmap.Owner, error) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if p := r.by[f.Local]; p != nil {
		return procmap.Owner{Inode: 1, UID: p.UID, Process: p}, nil
	}
	return procmap.Owner{}, procmap.ErrNotFound
}

var (
	hostA  = netip.MustParseAddr("10.0.0.1")
	hostB  = netip.MustParseAddr("10.0.0.2")
	lo     = netip.MustParseAddr("127.0.0.1")
	client = &procmap.Process{PID: 100, StartTime: 5, UID: 1000, Name: "/usr/bin/curl", Cmdline: []string{"/usr/bin/curl", "-o", "x"}}
	server = &procmap.Process{PID: 200, StartTime: 7, UID: 0, Name: "nginx: worker", Cmdline: []string{"nginx: worker"}}
	// t0 is where a synctest bubble's clock starts, so that packets stamped
	// t0+d and the resolver workers' clock agree as the kernel's stamps and
	// time.Now do.
	t0      = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	tcpFlow = func(src, dst netip.Addr, sport, dport uint16, n int) *capture.Packet {
		return &capture.Packet{Timestamp: t0, Length: n, Version: 4, Proto: capture.ProtoTCP,
			Src: src, Dst: dst, SrcPort: sport, DstPort: dport, HasPorts: true}
	}
)

// bubble runs f in a synctest bubble: its clock starts at t0 and moves only
// when every goroutine of the test (the resolver workers and retry timers
// included) waits, so that timing is exact and nothing waits for real.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		if now := time.Now(); !now.Equal(t0) {
			t.Fatalf("the bubble's clock starts at %v, not t0", now)
		}
		f(t)
	})
}

// waitResolved lets the resolver workers run until they have answered n
// lookups, moving the bubble's clock on in 10 ms steps for their retries
// (for at most 10 s of it).
func waitResolved(t *testing.T, a *Accountant, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		synctest.Wait()
		if st := a.Stats(); st.Resolved+st.Failed >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("resolver answered %+v, want %d answers", a.Stats(), n)
		}
	}
}

func rowsByName(s *Snapshot) map[string]Row {
	m := map[string]Row{}
	for _, r := range s.Rows {
		m[r.Name] = r
	}
	return m
}

func TestSentAndReceivedCreditedToOwner(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): client,
		}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
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
		if len(r.Conns) != 1 || r.Conns[0] != (Conn{Proto: 6, Local: netip.AddrPortFrom(hostA, 40000),
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

func TestPendingBytesWaitThenGoToOwner(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{gate: make(chan struct{}), by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): client,
		}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res, PendingLimit: 5 * time.Second}, t0)
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1500))
		// The lookup has not answered: the bytes are held, neither shown as
		// unknown nor lost.
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		if rows[client.Name].Sent != 0 || rows["unknown TCP"].Sent != 0 {
			t.Fatalf("held bytes leaked: %+v", rows)
		}
		close(res.gate)
		waitResolved(t, a, 1)
		rows = rowsByName(a.Refresh(t0.Add(2 * time.Second)))
		if rows[client.Name].Sent != 1500 {
			t.Fatalf("client row %+v, want the held 1500 bytes", rows[client.Name])
		}
	})
}

// lookupTimes is a resolver that fails until found after the first
// lookup (never, when found is 0) and records when it was asked.
type lookupTimes struct {
	mu    sync.Mutex
	found time.Duration
	at    []time.Duration
}

func (r *lookupTimes) Resolve(procmap.Flow) (procmap.Owner, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := time.Since(t0)
	r.at = append(r.at, d)
	if r.found == 0 || d < r.found {
		return procmap.Owner{}, procmap.ErrNotFound
	}
	return procmap.Owner{Inode: 1, Process: client}, nil
}

func (r *lookupTimes) times() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.at)
}

// ms turns milliseconds into durations.
func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, n := range v {
		d[i] = time.Duration(n) * time.Millisecond
	}
	return d
}

// TestLateOwnerWithinPendingLimit: the owner becomes known 1.2 s after the
// flow's first packet (its event read late), after the quick retries but
// within the 2 s its bytes are held: they go to the owner. The lookups come
// 20, 40, 80, 160 and 320 ms apart, then every 320 ms.
func TestLateOwnerWithinPendingLimit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &lookupTimes{found: 1200 * time.Millisecond}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1500))
		waitResolved(t, a, 1)
		if st := a.Stats(); st.Resolved != 1 || st.Failed != 0 {
			t.Fatalf("stats %+v, want resolved 1 failed 0", st)
		}
		if got, want := res.times(), ms(0, 20, 60, 140, 300, 620, 940, 1260); !slices.Equal(got, want) {
			t.Errorf("lookups at %v, want %v", got, want)
		}
		rows := rowsByName(a.Refresh(t0.Add(1900 * time.Millisecond)))
		if rows[client.Name].Sent != 1500 || rows["unknown TCP"].Sent != 0 {
			t.Fatalf("client %+v unknown %+v, want 1500 bytes to the client", rows[client.Name], rows["unknown TCP"])
		}
	})
}

// TestLookupRetries: a flow whose owner is never found is looked up until
// its bytes are no longer held (PendingLimit, 2 s, less the last quick
// retry), then again only when a packet of it comes after a back-off of
// 0.25 s, doubling.
func TestLookupRetries(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &lookupTimes{}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		packet := func() {
			p := tcpFlow(hostA, hostB, 40000, 80, 100)
			p.Timestamp = time.Now()
			a.Packet(p)
		}
		packet()
		waitResolved(t, a, 1)
		want := ms(0, 20, 60, 140, 300, 620, 940, 1260, 1580, 1900)
		if got := res.times(); !slices.Equal(got, want) {
			t.Fatalf("lookups at %v, want %v", got, want)
		}
		time.Sleep(2100*time.Millisecond - time.Since(t0))
		packet() // 2.1 s: within the 0.25 s back-off, no lookup
		synctest.Wait()
		time.Sleep(100 * time.Millisecond)
		packet() // 2.2 s: after it, one lookup; the next back-off is 0.5 s
		waitResolved(t, a, 2)
		time.Sleep(400 * time.Millisecond)
		packet() // 2.6 s: no lookup
		time.Sleep(200 * time.Millisecond)
		packet() // 2.8 s: one more
		waitResolved(t, a, 3)
		if got, want := res.times(), append(want, ms(2200, 2800)...); !slices.Equal(got, want) {
			t.Errorf("lookups at %v, want %v", got, want)
		}
		if st := a.Stats(); st.Failed != 3 || st.Resolved != 0 {
			t.Errorf("stats %+v, want 3 failed", st)
		}
	})
}

func TestUnresolvedGoesToUnknownOnce(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000))
		a.Packet(tcpFlow(hostB, hostA, 80, 40000, 2000))
		waitResolved(t, a, 1)
		s := a.Refresh(t0.Add(time.Second))
		u := rowsByName(s)["unknown TCP"]
		if u.Sent != 1000 || u.Recv != 2000 {
			t.Fatalf("unknown row %+v", u)
		}
		if want := (Conn{Proto: capture.ProtoTCP, Local: netip.AddrPortFrom(hostA, 40000), Remote: netip.AddrPortFrom(hostB, 80), Sent: 1000, Recv: 2000}); len(s.UnknownConns) != 1 || s.UnknownConns[0] != want {
			t.Fatalf("unknown conns %+v, want %+v", s.UnknownConns, want)
		}
		u = rowsByName(a.Refresh(t0.Add(2 * time.Second)))["unknown TCP"]
		if u.Sent != 0 || u.TotalSent != 1000 || u.TotalRecv != 2000 {
			t.Fatalf("counted twice: %+v", u)
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

func TestPIDFilterSendsOthersToUnknown(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(hostA, 40000): client,
			netip.AddrPortFrom(hostA, 40001): server,
		}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res, PIDs: []int{200}}, t0)
		defer a.Close()
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000))
		a.Packet(tcpFlow(hostA, hostB, 40001, 80, 10))
		waitResolved(t, a, 2)
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		if _, ok := rows[client.Name]; ok {
			t.Errorf("pid 100 shown despite -P 200")
		}
		if rows[server.Name].Sent != 10 || rows["unknown TCP"].Sent != 1000 {
			t.Errorf("rows %+v", rows)
		}
	})
}

func TestIdleProcessLeavesAfterTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40000): client}}
		for _, keep := range []bool{false, true} {
			a := New(Config{Locals: localSet{hostA: true}, Resolver: res, KeepIdle: keep}, t0)
			a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000))
			waitResolved(t, a, 1)
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

func TestSocketWithoutProcessIsNamedAfterConnection(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := resolverFunc(func(f procmap.Flow) (procmap.Owner, error) {
			return procmap.Owner{Inode: 99, UID: 33}, nil
		})
		a := New(Config{Locals: localSet{lo: true}, Resolver: res}, t0)
		defer a.Close()
		a.Packet(tcpFlow(lo, netip.MustParseAddr("127.0.0.2"), 44770, 7101, 356))
		waitResolved(t, a, 1)
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		r, ok := rows["127.0.0.1:44770-127.0.0.2:7101"]
		if !ok || r.PID != 0 || r.UID != 33 || r.Sent != 356 || r.Kind != KindSocket {
			t.Fatalf("rows %+v", rows)
		}
	})
}

type resolverFunc func(procmap.Flow) (procmap.Owner, error)

func (f resolverFunc) Resolve(fl procmap.Flow) (procmap.Owner, error) { return f(fl) }

func BenchmarkPacketKnownFlow(b *testing.B) {
	res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40000): client}}
	a := New(Config{Locals: localSet{hostA: true}, Resolver: res}, t0)
	defer a.Close()
	p := tcpFlow(hostA, hostB, 40000, 80, 1500)
	a.Packet(p)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.Packet(p)
	}
}

// A refresh covers the packets stamped before its cut, however late it
// runs: packets stamped after the cut wait for the next refresh.
func TestRefreshCutsByPacketTime(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40000): client}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res, Interval: time.Second}, t0)
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

// With NoConns the rows carry no connections; the bytes are the same.
func TestNoConns(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40000): client}}
		for _, no := range []bool{false, true} {
			a := New(Config{Locals: localSet{hostA: true}, Resolver: res, NoConns: no}, t0)
			a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1000))
			waitResolved(t, a, 1)
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
		KindProcess: "process", KindSocket: "socket", KindUnknownTCP: "unknown_tcp", KindUnknownUDP: "unknown_udp", 9: "kind9",
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
		res := &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40000): client}}
		for _, locals := range []Locals{localSet{hostA: true}, plainSet{hostA: true}} {
			a := New(Config{Locals: locals, Resolver: res}, t0)
			p := tcpFlow(hostA, hostB, 40000, 80, 1500)
			a.Packet(p)
			waitResolved(t, a, 1)
			if n := testing.AllocsPerRun(100, func() { a.Packet(p) }); n != 0 {
				t.Errorf("%T: Packet of a known flow: %v allocations, want 0", locals, n)
			}
			a.Close()
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
	b.Run("Refresh", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			cut = cut.Add(time.Second)
			touch()
			b.StartTimer()
			if s := a.Refresh(cut); len(s.UnknownConns) != 2000 {
				b.Fatalf("%d unknown connections", len(s.UnknownConns))
			}
		}
	})
	b.Run("locked", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			cut = cut.Add(time.Second)
			touch()
			b.StartTimer()
			a.mu.Lock()
			a.refresh(cut)
			a.mu.Unlock()
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
