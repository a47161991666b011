package procmap

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseConnEvent(t *testing.T) {
	const (
		synSent = `           <...>-28961   (-------) [001] .....  3387.942529: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x7 (7) newstate=0x2 (2) sport=0x0 (0) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
		estab   = `         python3-28961   (  28961) [001] .N...  3387.942602: inet_sock_set_state: skaddr=0xffff8881c4693780 (-131384049322112) oldstate=0x2 (2) newstate=0x1 (1) sport=0x8db8 (36280) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x200007f (33554559) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
		softirq = `           <...>-28961   [001] ..s2.  3387.942607: inet_sock_set_state: skaddr=0xffff8881c4691280 (-131384049331584) oldstate=0xa (10) newstate=0x2 (3) sport=0x1c24 (7204) dport=0x8db8 (36280) family=0xa (10) protocol=0x6 (6) saddr=0x0 (0) daddr=0x0 (0) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>`
	)
	c := &connEvents{pending: map[uint64]pendingConn{}, conns: map[connKey]connInfo{},
		identify: func(pid int) (*Process, uint64) {
			return &Process{PID: pid, Name: "client"}, 77
		}}
	now := time.Now()
	f := Flow{Proto: 6, Local: netip.MustParseAddrPort("127.0.0.1:36280"), Remote: netip.MustParseAddrPort("127.0.0.2:7204")}
	// No tgid on the line, and the thread cannot be read from /proc (a
	// pid surely gone): nothing to name the connection by.
	c.line(synSent, now)
	if len(c.pending) != 0 {
		t.Fatalf("unreadable thread recorded: %v", c.pending)
	}
	c.line(strings.Replace(synSent, "(-------)", "(  28961)", 1), now)
	if len(c.pending) != 1 || len(c.conns) != 0 {
		t.Fatalf("after SYN_SENT: pending %v conns %v", c.pending, c.conns)
	}
	c.line(estab, now)
	p, ok := c.lookup(f, 77, now)
	if !ok || p.PID != 28961 || p.Name != "client" {
		t.Fatalf("lookup = %+v, %v", p, ok)
	}
	if _, ok := c.lookup(f, 78, now); ok {
		t.Errorf("matched a flow of another network namespace")
	}
	if _, ok := c.lookup(f, 77, now.Add(connTTL+time.Second)); ok {
		t.Errorf("matched after connTTL")
	}
	// In a softirq the pid is whoever was running: never taken.
	c.line(softirq, now)
	if len(c.pending) != 0 || len(c.conns) != 1 {
		t.Fatalf("softirq event recorded: pending %v conns %v", c.pending, c.conns)
	}
	for _, bad := range []string{"", "garbage", "x-1 [000] ..... 1: inet_sock_set_state: skaddr=0xzz", "a: inet_sock_set_state: "} {
		c.line(bad, now)
	}
	if ev, errs := c.counts(); ev != 4 || errs != 2 {
		t.Errorf("events %d errors %d, want 4 and 2", ev, errs)
	}
}

// TestLiveConnEventsAfterClose: a child process makes short connections to
// a server here and exits. Only then are the client ends looked up: the
// sockets are gone (no inode, no fd), and so is the process; the connect
// tracepoint still names it. Without it nothing can.
func TestLiveConnEventsAfterClose(t *testing.T) {
	const n = 50
	for _, fam := range []struct{ net, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(fam.net, func(t *testing.T) {
			r := newLive(t, Options{})
			if r.conns == nil {
				t.Skipf("no connect tracepoint here (stats %+v)", r.Stats())
			}
			plain := newLive(t, Options{NoConnEvents: true})
			ln, err := net.Listen(fam.net, fam.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var mu sync.Mutex
			var flows []Flow
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					s, err := ln.Accept()
					if err != nil {
						return
					}
					s.SetDeadline(time.Now().Add(5 * time.Second))
					b := make([]byte, 1)
					io.ReadFull(s, b)
					mu.Lock()
					flows = append(flows, Flow{Proto: 6, Local: ap(s.RemoteAddr()), Remote: ap(s.LocalAddr())})
					mu.Unlock()
					s.Write(b)
					s.Close()
				}
			}()
			c := startChildEnv(t, "gohogs shortconn", "shortconn", -1,
				[]string{childEnv + "_N=" + fmt.Sprint(n), childEnv + "_ADDR=" + ln.Addr().String()})
			wg.Wait()
			pid := c.cmd.Process.Pid
			c.stop(t)
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
				t.Fatalf("child %d still there", pid)
			}
			time.Sleep(100 * time.Millisecond) // the last events are read
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
			if len(flows) != n || good != n {
				t.Errorf("%d/%d flows credited to the exited child %d", good, len(flows), pid)
			}
		})
	}
}
