package procmap

import (
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gohogs/gohogs/internal/proccon"
)

// Lines of a connect from pid 28961, 127.0.0.1:36280 to 127.0.0.2:7204.
const (
	synSent28961 = `         python3-28961   (  28961) [001] .....  3387.942529: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x7 (7) newstate=0x2 (2) sport=0x0 (0) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x200007f (33554559) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
	estab28961   = `           <...>-28961   (  28961) [001] ..s2.  3387.942602: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x2 (2) newstate=0x1 (1) sport=0x8db8 (36280) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x200007f (33554559) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
)

var flow28961 = Flow{Proto: 6, Local: netip.MustParseAddrPort("127.0.0.1:36280"), Remote: netip.MustParseAddrPort("127.0.0.2:7204")}

// slowIdentity is a Resolver on the fixture tree whose connect events name
// flow28961's process, whose identity is read only once release is closed.
func slowIdentity(t *testing.T) (r *Resolver, release chan struct{}) {
	t.Helper()
	r = fixture(t, "testdata/proc1", Options{})
	release = make(chan struct{})
	c := newConnEvents(func(pid int) (*Process, uint64) {
		<-release
		return &Process{PID: pid, Name: "slow client"}, 0
	})
	c.threadTgid = func(int) int { return 0 }
	r.conns = c
	line(c, synSent28961, time.Now())
	line(c, estab28961, time.Now())
	return r, release
}

// TestResolveWaitsUnlocked: a Resolve that waits for a connect event's
// identity holds no lock meanwhile: another Resolve, the process
// connector's callback and Stats run; once the identity is read, the
// waiting Resolve names the process.
func TestResolveWaitsUnlocked(t *testing.T) {
	r, release := slowIdentity(t)
	waiting := make(chan struct{})
	r.awaitIdent = func(ready <-chan struct{}) {
		close(waiting)
		<-ready
	}
	type result struct {
		o   Owner
		err error
	}
	first := make(chan result, 1)
	go func() {
		o, err := r.Resolve(flow28961)
		first <- result{o, err}
	}()
	select {
	case <-waiting:
	case <-time.After(5 * time.Second):
		t.Fatal("the first Resolve did not wait for the identity")
	}
	others := make(chan error, 1)
	go func() {
		o, err := r.Resolve(Flow{Proto: 6, Local: mp("192.168.1.10:22"), Remote: mp("192.168.1.20:50000")})
		if err == nil && (o.Process == nil || o.Process.PID != 200) {
			err = errors.New("not pid 200")
		}
		r.onProcEvents([]proccon.Event{{PID: 4242, TGID: 4242}})
		r.Stats()
		others <- err
	}()
	select {
	case err := <-others:
		if err != nil {
			t.Fatalf("second Resolve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second Resolve, the connector's callback or Stats queued behind the waiting Resolve")
	}
	select {
	case res := <-first:
		t.Fatalf("the first Resolve returned before the identity was read: %+v", res)
	default:
	}
	close(release)
	res := <-first
	if res.err != nil || res.o.Process == nil || res.o.Process.PID != 28961 || res.o.Process.Name != "slow client" {
		t.Fatalf("after the identity was read: %+v %v", res.o.Process, res.err)
	}
	if st := r.Stats(); st.Lookups != 2 || st.Hits != 2 || st.ConnEventHits != 1 || st.ProcEvents != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestResolveWaitBounded: an identity never read delays a Resolve by
// identWait, no more; the flow is then not found (it is looked up again
// later).
func TestResolveWaitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, release := slowIdentity(t)
		defer close(release)
		start := time.Now()
		_, err := r.Resolve(flow28961)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Resolve: %v, want ErrNotFound", err)
		}
		if d := time.Since(start); d != identWait {
			t.Fatalf("Resolve waited %v, want %v", d, identWait)
		}
	})
}
