package procmap

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// TestLiveShortLivedUDP6: 20 processes started at once by a helper process
// (as a shell would start them, not by this one), each sending three
// datagrams over IPv6 UDP (half from an unconnected socket with sendto, half
// from a connected one) and exiting at once. Only after they all exited are
// their flows looked up: the sockets are gone, and so are the processes;
// the fib6 route-lookup events still name them. Ground truth: the pid each
// sender wrote in its datagrams, checked against the pids started. Without
// the events nothing can name them.
func TestLiveShortLivedUDP6(t *testing.T) {
	t.Run("loopback", func(t *testing.T) {
		recv, err := net.ListenPacket("udp6", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		defer recv.Close()
		shortUDP6Senders(t, recv, 0, newLive)
	})
	t.Run("netns", func(t *testing.T) {
		netnstest.Skip(t)
		p := netnstest.NewPair(t)
		var recv net.PacketConn
		if err := netnstest.Do(p.NSA, func() error {
			var err error
			recv, err = net.ListenPacket("udp6", netip.AddrPortFrom(p.AddrA6, 0).String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer recv.Close()
		t.Run("resolver outside", func(t *testing.T) {
			shortUDP6Senders(t, recv, nsInodeOf(t, p.NSB), newLive, "ip", "netns", "exec", p.NSB)
		})
		// gohogs run with "ip netns exec B": the Resolver lives in B too;
		// the process connector is reached from pid 1's namespace.
		t.Run("resolver inside", func(t *testing.T) {
			shortUDP6Senders(t, recv, nsInodeOf(t, p.NSB), func(t *testing.T, opts Options) *Resolver {
				var r *Resolver
				if err := netnstest.Do(p.NSB, func() error {
					var err error
					r, err = New(opts)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				if st := r.Stats(); r.events == nil || st.ProcEventErrors != 0 {
					t.Fatalf("no process connector from inside a namespace: %+v", st)
				}
				return r
			}, "ip", "netns", "exec", p.NSB)
		})
	})
}

// shortUDP6Senders runs the senders (in the namespace of wrap, e.g. "ip
// netns exec B", if given; netns is then B's inode) to recv, and checks how
// many of their flows a Resolver made by mk names after they exited.
func shortUDP6Senders(t *testing.T, recv net.PacketConn, netns uint64, mk func(*testing.T, Options) *Resolver, wrap ...string) {
	t.Helper()
	const n = 20
	const argv0 = "gohogs udp6 sender"
	r := mk(t, Options{RaisePriority: true})
	if r.conns == nil {
		t.Skipf("no tracepoints here (stats %+v)", r.Stats())
	}
	plain := mk(t, Options{NoConnEvents: true})
	dst := ap(recv.LocalAddr())

	// The receiver: source address → the pid in the datagram, until every
	// sender was heard or 10 s passed.
	type heard struct {
		from netip.AddrPort
		pid  int
	}
	got := make(chan heard, 3*n)
	recvDone := make(chan struct{})
	defer func() { // recv is read again by the next call
		recv.SetReadDeadline(time.Now())
		<-recvDone
	}()
	go func() {
		defer close(recvDone)
		recv.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		for {
			m, from, err := recv.ReadFrom(buf)
			if err != nil {
				return
			}
			pid, _ := strconv.Atoi(string(buf[:m]))
			select {
			case got <- heard{ap(from), pid}:
			default:
			}
		}
	}()

	// The senders are started by another process, not by this one, whose
	// threads read the events (its forks would delay them).
	sp := startChildEnv(t, "gohogs udp6 spawner", "udp6spawn", -1, []string{childEnv + "_N=" + strconv.Itoa(n),
		childEnv + "_ADDR=" + dst.String(), childEnv + "_ARGV0=" + argv0}, wrap...)
	sp.stop(t)
	started := map[int]bool{} // pid → connected socket
	for _, f := range sp.fields {
		num, conn := strings.CutSuffix(f, ":c")
		pid, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("spawner: %q", sp.fields)
		}
		started[pid] = conn
	}
	if len(started) != n {
		t.Fatalf("%d senders started, want %d: %q", len(started), n, sp.fields)
	}

	// Every sender's datagrams, from the senders started here only.
	flows := map[netip.AddrPort]int{}
	reused := map[netip.AddrPort]bool{}
	pids := map[int]bool{}
	for len(pids) < n {
		var h heard
		select {
		case h = <-got:
		case <-recvDone:
			t.Fatalf("heard %d of %d senders", len(pids), n)
		}
		if _, ok := started[h.pid]; !ok {
			t.Logf("ignored a datagram from %v: pid %d is not a sender started here", h.from, h.pid)
			continue
		}
		if old, ok := flows[h.from]; ok && old != h.pid {
			// The kernel gave a later sender the port of one that had
			// exited: that endpoint's owner is ambiguous, so neither
			// sender is counted.
			t.Logf("%v: two senders, %d and %d (port reused): not counted", h.from, old, h.pid)
			reused[h.from] = true
		}
		flows[h.from] = h.pid
		pids[h.pid] = true
	}
	for from := range reused {
		delete(flows, from)
	}
	if len(flows) < n-4 {
		t.Fatalf("%d unambiguous source endpoints for %d senders", len(flows), n)
	}
	for pid := range started {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("sender %d still there (%v)", pid, err)
		}
	}
	var fs []Flow
	for from := range flows {
		fs = append(fs, Flow{NetNS: netns, Proto: 17, Local: from, Remote: dst})
	}
	eventsRead(t, r, fs)

	good, named, plainGood := 0, 0, 0
	missed := map[bool]int{}
	for from, pid := range flows {
		f := Flow{NetNS: netns, Proto: 17, Local: from, Remote: dst}
		o, err := r.Resolve(f)
		if err == nil && o.Process != nil && o.Process.PID == pid {
			good++
			if o.Process.Name == argv0 {
				named++
			}
		} else {
			missed[started[pid]]++
			t.Logf("missed %v (pid %d, connected %v): %+v %v", f, pid, started[pid], o.Process, err)
		}
		if o, err := plain.Resolve(f); err == nil && o.Process != nil && o.Process.PID == pid {
			plainGood++
		}
	}
	t.Logf("%d/%d IPv6 UDP flows credited to their exited sender's pid (%d with its argv[0]); missed: %d unconnected, %d connected; without the tracepoints: %d; stats %+v",
		good, len(flows), named, missed[false], missed[true], plainGood, r.Stats())
	// The target is 95% with the right pid. The name is argv[0] when the
	// identity was read before the sender exited (at its exec), its comm
	// when read from the zombie: 90% at least.
	if m := len(flows); good < m*95/100 || named < m*90/100 || plainGood != 0 {
		t.Errorf("%d/%d flows credited to their exited senders (want >= 95%%), %d named %q (want >= 90%%), %d without the tracepoints (want 0)",
			good, m, named, argv0, plainGood)
	}
}
