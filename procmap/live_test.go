package procmap

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func bothModes(t *testing.T, fn func(t *testing.T, r *Resolver)) {
	bothModesWith(t, Options{}, fn)
}

// bothModesWith is bothModes with other options besides NoNetlink.
func bothModesWith(t *testing.T, opts Options, fn func(t *testing.T, r *Resolver)) {
	for _, nl := range []bool{true, false} {
		name := "netlink"
		if !nl {
			name = "procnet"
		}
		t.Run(name, func(t *testing.T) {
			o := opts
			o.NoNetlink = !nl
			fn(t, newLive(t, o))
		})
	}
}

func TestLiveTCP(t *testing.T) {
	for _, network := range []struct{ net, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(network.net, func(t *testing.T) {
			bothModes(t, func(t *testing.T, r *Resolver) {
				ln, err := net.Listen(network.net, network.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				c, err := net.Dial(network.net, ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				// Not yet accepted: the listener owns the server side.
				srvFlow := Flow{Proto: 6, Local: ap(c.RemoteAddr()), Remote: ap(c.LocalAddr())}
				before := r.Stats().ListenerFallbacks
				mustResolve(t, r, srvFlow, inodeOf(t, ln), os.Getpid())
				if r.Stats().ListenerFallbacks != before+1 {
					t.Fatalf("ListenerFallbacks %d, want %d", r.Stats().ListenerFallbacks, before+1)
				}
				s, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				cliFlow := Flow{Proto: 6, Local: ap(c.LocalAddr()), Remote: ap(c.RemoteAddr())}
				o := mustResolve(t, r, cliFlow, inodeOf(t, c), os.Getpid())
				if o.UID != uint32(os.Getuid()) || o.Process.UID != uint32(os.Getuid()) {
					t.Fatalf("uid %d / %d, want %d", o.UID, o.Process.UID, os.Getuid())
				}
				r.cache = newFlowCache(time.Minute, 10) // forget the not-accepted answer
				mustResolve(t, r, srvFlow, inodeOf(t, s), os.Getpid())
				// A flow nobody owns.
				mustNotFound(t, r, Flow{Proto: 6, Local: netip.AddrPortFrom(ap(c.LocalAddr()).Addr(), 1), Remote: ap(c.RemoteAddr())})
			})
		})
	}
}

// uptimeTicks reads /proc/uptime in clock ticks (USER_HZ = 100 on Linux).
func uptimeTicks(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	var up float64
	if _, err := fmt.Sscan(string(b), &up); err != nil {
		t.Fatal(err)
	}
	return uint64(up * 100)
}

func TestLiveChildProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		uid  int
	}{{"root", -1}, {"nobody", 65534}} {
		t.Run(tc.name, func(t *testing.T) {
			bothModes(t, func(t *testing.T, r *Resolver) {
				const argv0 = "gohogs child: test@pts/0"
				t0 := uptimeTicks(t)
				c := startChild(t, argv0, "tcp", tc.uid)
				t1 := uptimeTicks(t)
				f := Flow{Proto: 6, Local: netip.MustParseAddrPort(c.fields[0]), Remote: netip.MustParseAddrPort(c.fields[1])}
				o, err := r.Resolve(f)
				if err != nil {
					t.Fatal(err)
				}
				wantUID := uint32(0)
				if tc.uid >= 0 {
					wantUID = uint32(tc.uid)
				}
				p := o.Process
				if p == nil || p.PID != c.cmd.Process.Pid {
					t.Fatalf("owner %+v, want pid %d", p, c.cmd.Process.Pid)
				}
				if p.Name != argv0 || len(p.Cmdline) != 1 || p.Cmdline[0] != argv0 {
					t.Fatalf("name %q cmdline %q, want %q", p.Name, p.Cmdline, argv0)
				}
				if o.UID != wantUID || p.UID != wantUID {
					t.Fatalf("socket uid %d process uid %d, want %d", o.UID, p.UID, wantUID)
				}
				if p.StartTime+2 < t0 || p.StartTime > t1+2 {
					t.Fatalf("start time %d ticks, want within [%d, %d]", p.StartTime, t0, t1)
				}
				q, err := r.Process(p.PID)
				if err != nil || q != p {
					t.Fatalf("Process(%d) = %p %v, want the cached %p", p.PID, q, err, p)
				}
				// The child closes its sockets and exits: the client end goes
				// to TIME_WAIT (no inode); the owner is still remembered,
				// with its name.
				c.stop(t)
				o2, err := r.Resolve(f)
				if err != nil {
					t.Fatalf("after exit: %v", err)
				}
				if o2.Process != p || r.Stats().CacheHits == 0 {
					t.Fatalf("after exit: owner %+v (cache hits %d), want the remembered %+v", o2.Process, r.Stats().CacheHits, p)
				}
				if _, err := r.Process(p.PID); err == nil {
					t.Fatalf("Process(%d) of an exited process: no error", p.PID)
				}
			})
		})
	}
}
