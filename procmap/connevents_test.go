package procmap

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/proccon"
)

func TestParseConnEvent(t *testing.T) {
	const (
		synSent = `           <...>-28961   (-------) [001] .....  3387.942529: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x7 (7) newstate=0x2 (2) sport=0x0 (0) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
		estab   = `         python3-28961   (  28961) [001] .N...  3387.942602: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x2 (2) newstate=0x1 (1) sport=0x8db8 (36280) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x200007f (33554559) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
		softirq = `           <...>-28961   [001] ..s2.  3387.942607: inet_sock_set_state: skaddr=0xffff8881c4691280 (-131384049331584) oldstate=0xa (10) newstate=0x2 (3) sport=0x1c24 (7204) dport=0x8db8 (36280) family=0xa (10) protocol=0x6 (6) saddr=0x0 (0) daddr=0x0 (0) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
	)
	c := newConnEvents(func(pid int) (*Process, uint64) {
		return &Process{PID: pid, Name: "client"}, 77
	})
	c.threadTgid = func(int) int { return 0 } // every thread gone
	now := time.Now()
	f := Flow{Proto: 6, Local: netip.MustParseAddrPort("127.0.0.1:36280"), Remote: netip.MustParseAddrPort("127.0.0.2:7204")}
	// No tgid on the line, and the thread cannot be read from /proc (a
	// pid surely gone): nothing to name the connection by yet.
	line(c, synSent, now)
	if p, ok := c.pending.get(0xffff8881c4693780, now); c.pending.len() != 1 || !ok || p.who.id != nil {
		t.Fatalf("pending %v, want one without a process", c.pending)
	}
	line(c, strings.Replace(synSent, "(-------)", "(  28961)", 1), now)
	if c.pending.len() != 1 || c.conns.len() != 0 {
		t.Fatalf("after SYN_SENT: pending %v conns %v", c.pending, c.conns)
	}
	line(c, estab, now)
	p, ok := lookup(t, c, f, 77, now)
	if !ok || p.PID != 28961 || p.Name != "client" {
		t.Fatalf("lookup = %+v, %v", p, ok)
	}
	if _, ok := lookup(t, c, f, 78, now); ok {
		t.Errorf("matched a flow of another network namespace")
	}
	if _, ok := lookup(t, c, f, 77, now.Add(connTTL+time.Second)); ok {
		t.Errorf("matched after connTTL")
	}
	// A SYN_SENT line without the process, then the next transition in
	// the connecting thread with it: named by the second.
	c2 := newConnEvents(func(pid int) (*Process, uint64) { return &Process{PID: pid, Name: "client"}, 77 })
	c2.threadTgid = c.threadTgid
	line(c2, synSent, now)
	line(c2, estab, now)
	if p, ok := lookup(t, c2, f, 77, now); !ok || p.PID != 28961 {
		t.Fatalf("named by the next event: %+v %v", p, ok)
	}
	// In a softirq the pid is whoever was running: never taken.
	line(c, softirq, now)
	if c.pending.len() != 0 || c.conns.len() != 1 {
		t.Fatalf("softirq event recorded: pending %v conns %v", c.pending, c.conns)
	}
	// Not understood: every line but an empty one (and a report of lost
	// events, counted apart).
	for _, bad := range []string{"", "garbage", "x-1 [000] ..... 1: inet_sock_set_state: skaddr=0xzz", "a: inet_sock_set_state: ",
		strings.Replace(estab, "skaddr=0x", "skaddr=", 1), strings.Replace(estab, "inet_sock_set_state", "sched_switch", 1)} {
		line(c, bad, now)
	}
	line(c, "CPU:1 [LOST 7 EVENTS]", now)
	if n := c.counts(); n.events != 4 || n.errs != 5 || n.dropped != 7 {
		t.Errorf("events %d errors %d dropped %d, want 4, 5 and 7", n.events, n.errs, n.dropped)
	}
}

// line hands c one line of trace_pipe.
func line(c *connEvents, l string, now time.Time) { c.handle([]byte(l), now) }

// lookup is connEvents.lookupAt once the identity of the event's process
// is read (at most 5 s).
func lookup(t *testing.T, c *connEvents, f Flow, netns uint64, now time.Time) (*Process, bool) {
	t.Helper()
	for {
		p, _, ready := c.lookupAt(f, netns, now)
		if ready == nil {
			return p, p != nil
		}
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
			t.Fatalf("identity of %+v not read in 5 s", f)
		}
	}
}

// eventsRead waits (at most 5 s) until r's connect events say something of
// every flow (the kernel may drop some: the caller counts what it misses).
func eventsRead(t *testing.T, r *Resolver, flows []Flow) {
	t.Helper()
	eventually(t, 5*time.Second, func() bool {
		for _, f := range flows {
			r.conns.mu.Lock()
			_, ok := r.conns.conns.get(flowConnKey(f), time.Now())
			r.conns.mu.Unlock()
			if !ok {
				return false
			}
		}
		return true
	})
}

// TestLiveConnEventsAfterClose: a child process makes short connections to
// a server here and exits. Only then are the client ends looked up: the
// sockets are gone (no inode, no fd), and so is the process; the connect
// tracepoint still names it. Without it nothing can.
func TestLiveConnEventsAfterClose(t *testing.T) {
	const n = 50
	for _, fam := range []struct{ net, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(fam.net, func(t *testing.T) {
			r := newLive(t, Options{RaisePriority: true})
			if r.conns == nil {
				t.Skipf("no connect tracepoint here (stats %+v)", r.Stats())
			}
			plain := newLive(t, Options{NoConnEvents: true})
			ln := listen(t, fam.net, fam.addr)
			var flows []Flow
			wait := serveShort(t, ln, n, func(f Flow) { flows = append(flows, f) })
			c := startChildEnv(t, "gohogs shortconn", "shortconn", -1,
				[]string{childEnv + "_N=" + fmt.Sprint(n), childEnv + "_ADDR=" + ln.Addr().String()})
			wait()
			pid := c.cmd.Process.Pid
			c.stop(t)
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				t.Fatalf("child %d still there", pid)
			}
			eventsRead(t, r, flows)
			good, plainGood := 0, 0
			for _, f := range flows {
				if o, err := r.Resolve(f); err == nil && o.Process != nil && o.Process.PID == pid && o.Process.Name == "gohogs shortconn" {
					good++
				}
				if o, err := plain.Resolve(f); err == nil && o.Process != nil && o.Process.PID == pid {
					plainGood++
				}
			}
			t.Logf("%d/%d named after the child exited (without the tracepoint: %d); stats %+v", good, len(flows), plainGood, r.Stats())
			// Issue 5's target is 95%; a connection whose thread is not
			// named by the kernel and is gone before it is read is missed.
			if len(flows) != n || good < n*95/100 || plainGood != 0 {
				t.Errorf("%d/%d flows credited to the exited child %d (without the tracepoint %d)", good, len(flows), pid, plainGood)
			}
		})
	}
}

func TestParseUDPSendEvent(t *testing.T) {
	const fib = `         python3-4869    (   4869) [001] .....  3810.212425: fib_table_lookup: tb_id=0xfe (254) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) proto=(17) tos=(0) scope=(0) flags=(0) src=0x0 (0) dst=0x100007f (16777343) gw4=0x0 (0) gw6=<INVALID-SIZE> sport=0x8976 (35190) dport=0x270f (9999) name=lo`
	b := []byte(fib)
	c := newConnEvents(func(pid int) (*Process, uint64) { return &Process{PID: pid, Name: "dig"}, 0 })
	c.threadTgid = func(int) int { return 0 }
	now := time.Now()
	c.handle(b, now)
	f := Flow{Proto: 17, Local: netip.MustParseAddrPort("10.0.0.1:35190"), Remote: netip.MustParseAddrPort("10.0.0.9:53")}
	if p, ok := lookup(t, c, f, 0, now); !ok || p.PID != 4869 {
		t.Fatalf("lookup = %+v %v", p, ok)
	}
	for _, bad := range []string{"x", "a-1 (1) [0] ..... 1: fib_table_lookup: sport=0x1",
		strings.Replace(fib, "sport=0x8976", "sport=0xzz", 1), strings.Replace(fib, "sport=0x8976", "sport=0x0", 1),
		strings.Replace(fib, "sport=0x8976", "sport=0x10000", 1), strings.Replace(fib, "sport=0x8976", "port=0x8976", 1)} {
		line(c, bad, now)
	}
	if n := c.counts(); n.events != 1 || n.errs != 6 {
		t.Errorf("events %d errors %d, want 1 and 6", n.events, n.errs)
	}
	allocs := testing.AllocsPerRun(100, func() { c.handle(b, now) })
	if allocs != 0 {
		t.Errorf("a known sender's datagram costs %v allocations, want 0", allocs)
	}
}

// TestParseUDP6SendEvent: fib6_table_lookup lines as this kernel (6.18)
// prints them with the fields option: the ports are there (the addresses
// are not). A lookup in a softirq (a datagram received) names nobody.
func TestParseUDP6SendEvent(t *testing.T) {
	const (
		send = `           <...>-16518   (-------) [000] .....  9757.233388: fib6_table_lookup: tb_id=0xff (255) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) flowlabel=0x0 (0) tos=(0) scope=(0) flags=(0) src=<INVALID-SIZE> dst=<INVALID-SIZE> sport=0xe0c7 (57543) dport=0xebf8 (60408) proto=(17) rt_type=(0) name=lo gw=<INVALID-SIZE>`
		recv = `         python3-16457   (  16457) [001] b.s2.  9748.655188: fib6_table_lookup: tb_id=0xff (255) err=0x0 (0) oif=0x1 (1) iif=0x1 (1) flowlabel=0x0 (0) tos=(0) scope=(0) flags=(0) src=<INVALID-SIZE> dst=<INVALID-SIZE> sport=0x270f (9999) dport=0xc87d (51325) proto=(17) rt_type=(0) name=lo gw=<INVALID-SIZE>`
	)
	c := newConnEvents(func(pid int) (*Process, uint64) { return &Process{PID: pid, Name: "sender"}, 5 })
	self := os.Getpid()
	c.threadTgid = func(tid int) int { // only this process's main thread lives
		if tid == self {
			return self
		}
		return 0
	}
	now := time.Now()
	// No tgid on the line: the thread's is read from /proc, here this
	// very process's (its pid as the thread id; the comm is 16 wide).
	line(c, strings.Replace(send, "<...>-16518 ", fmt.Sprintf("<...>-%-6d", self), 1), now)
	line(c, recv, now)
	f := Flow{Proto: 17, Local: netip.MustParseAddrPort("[fd00::1]:57543"), Remote: netip.MustParseAddrPort("[fd00::9]:60408")}
	if p, ok := lookup(t, c, f, 5, now); !ok || p.PID != os.Getpid() || p.Name != "sender" {
		t.Fatalf("lookup = %+v %v", p, ok)
	}
	// The same port over IPv4 is another socket.
	f4 := Flow{Proto: 17, Local: netip.MustParseAddrPort("10.0.0.1:57543"), Remote: netip.MustParseAddrPort("10.0.0.9:60408")}
	if p, ok := lookup(t, c, f4, 5, now); ok {
		t.Fatalf("an IPv6 send named the IPv4 port: %+v", p)
	}
	// The receiver's route back, in a softirq: its ports are the
	// receiver's and the sender's, and the pid is whoever ran.
	r := Flow{Proto: 17, Local: netip.MustParseAddrPort("[::1]:9999"), Remote: netip.MustParseAddrPort("[::1]:51325")}
	if p, ok := lookup(t, c, r, 0, now); ok {
		t.Fatalf("a softirq lookup named %+v", p)
	}
	if n := c.counts(); n.events != 1 || n.errs != 0 {
		t.Errorf("events %d errors %d, want 1 and 0", n.events, n.errs)
	}
	b := []byte(strings.Replace(send, "(-------)", "(  16518)", 1))
	allocs := testing.AllocsPerRun(100, func() { c.handle(b, now) })
	if allocs != 0 {
		t.Errorf("a known sender's datagram costs %v allocations, want 0", allocs)
	}
}

// TestExecIdentity: a process's identity read when it execs (as the process
// connector reports it) names it after it exited and was reaped, and only
// while forks are reported (a fork of the same pid forgets it); an exec
// re-reads it though the start time is unchanged.
func TestExecIdentity(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c := newConnEvents(nil)
	c.proc = hostProc(t)
	c.execReads.Store(true)
	ch := startChild(t, "gohogs exec identity", "udp", -1)
	pid := ch.cmd.Process.Pid
	// A stale identity of an earlier program with the same start time:
	// what readIdentity alone would keep after an exec.
	c.readIdentity(pid)
	c.idsMu.Lock()
	stale := *c.ids[pid].proc
	stale.Name = "before exec"
	c.ids[pid] = connIdentity{proc: &stale, when: time.Now()}
	c.idsMu.Unlock()
	if p, _ := c.readIdentity(pid); p.Name != "before exec" {
		t.Fatalf("cached identity not used: %+v", p)
	}
	c.procEvent(proccon.Event{PID: pid, TGID: pid, Exec: true})
	c.idsMu.Lock()
	id, ok := c.ids[pid]
	c.idsMu.Unlock()
	if !ok || id.proc.Name != "gohogs exec identity" {
		t.Fatalf("identity after exec: %+v %v", id.proc, ok)
	}
	ch.stop(t)
	if p, _ := c.readIdentity(pid); p != nil {
		t.Fatalf("named a reaped process without the process connector: %+v", p)
	}
	c.forks.Store(true)
	if p, _ := c.readIdentity(pid); p == nil || p.PID != pid || p.Name != "gohogs exec identity" {
		t.Fatalf("reaped process named %+v", p)
	}
	c.procEvent(proccon.Event{PID: pid, TGID: pid}) // its pid given to a new process
	if p, _ := c.readIdentity(pid); p != nil {
		t.Fatalf("a reused pid named %+v", p)
	}

}

// TestStaleLineTgid: the kernel prints the tgid it last recorded for a tid,
// which may be an earlier thread's of the same tid. The process connector's
// report of the task wins; the line's tgid is used only when nothing else
// knows the thread.
func TestStaleLineTgid(t *testing.T) {
	const fib6 = `           <...>-19232   (  19224) [001] .....  10341.104047: fib6_table_lookup: tb_id=0xff (255) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) flowlabel=0x0 (0) tos=(0) scope=(0) flags=(0) src=<INVALID-SIZE> dst=<INVALID-SIZE> sport=0xdbea (56298) dport=0xbc38 (48184) proto=(17) rt_type=(0) name=lo gw=<INVALID-SIZE>`
	f := Flow{Proto: 17, Local: netip.MustParseAddrPort("[::1]:56298"), Remote: netip.MustParseAddrPort("[::1]:48184")}
	for _, tc := range []struct {
		name     string
		reported bool // the connector reported tid 19232 as a new process
		live     int  // what /proc says of the thread (0: gone)
		want     int
	}{{"connector", true, 0, 19232}, {"proc", false, 19232, 19232}, {"line", false, 0, 19224}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConnEvents(func(pid int) (*Process, uint64) { return &Process{PID: pid}, 0 })
			c.threadTgid = func(int) int { return tc.live }
			c.task(19231, 19224) // a thread of another process
			if tc.reported {
				c.task(19232, 19232)
			}
			now := time.Now()
			c.handle([]byte(fib6), now)
			if p, ok := lookup(t, c, f, 0, now); !ok || p.PID != tc.want {
				t.Fatalf("lookup = %+v %v, want pid %d", p, ok, tc.want)
			}
		})
	}
}

// FuzzConnEventLine: any line from trace_pipe (the task name in it is any
// process's choice) is handled without panicking, as the reader does.
func FuzzConnEventLine(f *testing.F) {
	f.Add([]byte(`           <...>-16518   (-------) [000] .....  9757.233388: fib6_table_lookup: tb_id=0xff (255) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) flowlabel=0x0 (0) tos=(0) scope=(0) flags=(0) src=<INVALID-SIZE> dst=<INVALID-SIZE> sport=0xe0c7 (57543) dport=0xebf8 (60408) proto=(17) rt_type=(0) name=lo gw=<INVALID-SIZE>`))
	f.Add([]byte(`         python3-4869    (   4869) [001] .....  3810.212425: fib_table_lookup: tb_id=0xfe (254) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) proto=(17) tos=(0) scope=(0) flags=(0) src=0x0 (0) dst=0x100007f (16777343) gw4=0x0 (0) gw6=<INVALID-SIZE> sport=0x8976 (35190) dport=0x270f (9999) name=lo`))
	f.Add([]byte(`         python3-28961   (  28961) [001] .N...  3387.942602: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x2 (2) newstate=0x1 (1) sport=0x8db8 (36280) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x200007f (33554559) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`))
	c := newConnEvents(func(pid int) (*Process, uint64) { return &Process{PID: pid}, 0 })
	c.threadTgid = func(int) int { return 0 }
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte) {
		c.handle(b, now)
	})
}

// TestConnEventAfterCache: a client port given to a new connection to the
// same peer, by another process, after the first connection's owner was
// remembered. Its socket gone, the tuple is answered by the connect event
// read after the remembered owner, not by the old owner; without such an
// event the remembered owner still answers.
func TestConnEventAfterCache(t *testing.T) {
	r := fixture(t, "testdata/proc1", Options{})
	c := newConnEvents(func(pid int) (*Process, uint64) { return &Process{PID: pid, Name: "new client"}, 0 })
	c.threadTgid = func(int) int { return 0 }
	r.conns = c
	f := flow28961
	old := &Process{PID: 1111, Name: "old client"}
	r.mu.Lock()
	r.cache.put(r.normalize(f), Owner{Process: old}, time.Now().Add(-time.Second))
	r.mu.Unlock()
	if o, err := r.Resolve(f); err != nil || o.Process != old {
		t.Fatalf("before the new connect: %+v %v, want the remembered %+v", o.Process, err, old)
	}
	line(c, synSent28961, time.Now())
	line(c, estab28961, time.Now())
	o, err := r.Resolve(f)
	if err != nil || o.Process == nil || o.Process.PID != 28961 || o.Process.Name != "new client" {
		t.Fatalf("after the new connect: %+v %v, want pid 28961", o.Process, err)
	}
	// The new owner is remembered now, and the event forgotten (a
	// connection is connected once).
	if n := c.conns.len(); n != 0 {
		t.Errorf("%d connect events kept after the flow was resolved, want 0", n)
	}
	if o, err := r.Resolve(f); err != nil || o.Process.PID != 28961 {
		t.Fatalf("again: %+v %v", o.Process, err)
	}
	if s := r.Stats(); s.CacheHits < 2 || s.ConnEventHits != 1 {
		t.Errorf("cache hits %d (want >= 2), connect-event hits %d (want 1)", s.CacheHits, s.ConnEventHits)
	}
}
