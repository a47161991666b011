package procmap

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func bothModes(t *testing.T, fn func(t *testing.T, r *Resolver)) {
	for _, nl := range []bool{true, false} {
		name := "netlink"
		if !nl {
			name = "procnet"
		}
		t.Run(name, func(t *testing.T) {
			fn(t, newLive(t, Options{NoNetlink: !nl}))
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
