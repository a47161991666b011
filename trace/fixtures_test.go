package trace

import (
	"net/netip"
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

// newAccountant returns an Accountant for cfg started at t0: on host A when
// cfg.Locals is nil, with a resolver that knows curl on hostA:40000 when
// cfg.Resolver is nil.
func newAccountant(cfg Config) *Accountant {
	if cfg.Locals == nil {
		cfg.Locals = localSet{hostA: true}
	}
	if cfg.Resolver == nil {
		cfg.Resolver = &fakeResolver{by: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(hostA, 40000): client}}
	}
	return New(cfg, t0)
}

// curlSent returns newAccountant(cfg) after a packet of n bytes from curl
// (hostA:40000 to hostB:80) stamped t0, its owner found.
func curlSent(t *testing.T, cfg Config, n int) *Accountant {
	t.Helper()
	a := newAccountant(cfg)
	a.Packet(tcpFlow(hostA, hostB, 40000, 80, n))
	waitResolved(t, a, 1)
	return a
}

func rowsByName(s *Snapshot) map[string]Row {
	m := map[string]Row{}
	for _, r := range s.Rows {
		m[r.Name] = r
	}
	return m
}

type resolverFunc func(procmap.Flow) (procmap.Owner, error)

func (f resolverFunc) Resolve(fl procmap.Flow) (procmap.Owner, error) { return f(fl) }
