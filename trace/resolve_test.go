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

// ms turns milliseconds into durations.
func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, n := range v {
		d[i] = time.Duration(n) * time.Millisecond
	}
	return d
}

func (r *lookupTimes) times() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.at)
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
