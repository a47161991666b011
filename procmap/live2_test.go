package procmap

import (
	"context"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
)

func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func TestLiveUDP(t *testing.T) {
	for _, fam := range []struct{ net, lo, wild string }{{"udp4", "127.0.0.1", "0.0.0.0"}, {"udp6", "::1", "::"}} {
		t.Run(fam.net, func(t *testing.T) {
			bothModes(t, func(t *testing.T, r *Resolver) {
				lc := net.ListenConfig{Control: reuseAddr}
				wild, err := lc.ListenPacket(context.Background(), fam.net, net.JoinHostPort(fam.wild, "0"))
				if err != nil {
					t.Fatal(err)
				}
				defer wild.Close()
				port := ap(wild.LocalAddr()).Port()
				lo := netip.MustParseAddr(fam.lo)
				local := netip.AddrPortFrom(lo, port)
				sender, err := net.ListenPacket(fam.net, net.JoinHostPort(fam.lo, "0"))
				if err != nil {
					t.Fatal(err)
				}
				defer sender.Close()
				peerX, err := net.ListenPacket(fam.net, net.JoinHostPort(fam.lo, "0"))
				if err != nil {
					t.Fatal(err)
				}
				defer peerX.Close()
				// Real datagram: the unconnected sender's sendto.
				if _, err := sender.WriteTo([]byte("hello"), net.UDPAddrFromAddrPort(local)); err != nil {
					t.Fatal(err)
				}
				d := net.Dialer{LocalAddr: net.UDPAddrFromAddrPort(local), Control: reuseAddr}
				conn, err := d.Dial(fam.net, peerX.LocalAddr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				pid := os.Getpid()
				// Wildcard-bound socket receiving from sender.
				mustResolve(t, r, Flow{Proto: 17, Local: local, Remote: ap(sender.LocalAddr())}, inodeOf(t, wild), pid)
				// Connected socket on the same port, for its own peer.
				mustResolve(t, r, Flow{Proto: 17, Local: local, Remote: ap(peerX.LocalAddr())}, inodeOf(t, conn), pid)
				// Unconnected socket that sent with sendto.
				mustResolve(t, r, Flow{Proto: 17, Local: ap(sender.LocalAddr()), Remote: local}, inodeOf(t, sender), pid)
				mustNotFound(t, r, Flow{Proto: 17, Local: netip.AddrPortFrom(lo, 1), Remote: local})
			})
		})
	}
}

// TestLiveDualStack checks that an IPv4 flow matches an IPv6 "::" socket
// (IPv4-mapped), for TCP (not yet accepted, then accepted) and UDP.
func TestLiveDualStack(t *testing.T) {
	bothModes(t, func(t *testing.T, r *Resolver) {
		ln, err := net.Listen("tcp", "[::]:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := ap(ln.Addr()).Port()
		c, err := net.Dial("tcp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		srv := Flow{Proto: 6, Local: ap(c.RemoteAddr()), Remote: ap(c.LocalAddr())}
		if !srv.Local.Addr().Is4() {
			t.Fatalf("client sees %v", srv.Local)
		}
		mustResolve(t, r, srv, inodeOf(t, ln), os.Getpid())
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !ap(s.LocalAddr()).Addr().Is4In6() && !ap(s.LocalAddr()).Addr().Is4() {
			t.Fatalf("accepted socket local %v", s.LocalAddr())
		}
		r.cache = newFlowCache(DefaultFlowCacheTTL, 10)
		mustResolve(t, r, srv, inodeOf(t, s), os.Getpid())
		// Mapped addresses in the flow are unmapped first.
		mapped := Flow{Proto: 6, Local: netip.AddrPortFrom(netip.AddrFrom16(srv.Local.Addr().As16()), srv.Local.Port()),
			Remote: netip.AddrPortFrom(netip.AddrFrom16(srv.Remote.Addr().As16()), srv.Remote.Port())}
		mustResolve(t, r, mapped, inodeOf(t, s), os.Getpid())

		u, err := net.ListenPacket("udp", "[::]:0")
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		uport := ap(u.LocalAddr()).Port()
		mustResolve(t, r, Flow{Proto: 17, Local: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uport),
			Remote: netip.MustParseAddrPort("127.0.0.1:9")}, inodeOf(t, u), os.Getpid())
	})
}

// TestLiveNoProcess: a socket held by no process (its only fd is in flight
// in a unix socket's queue) is found with its inode and uid, Process nil.
func TestLiveNoProcess(t *testing.T) {
	bothModes(t, func(t *testing.T, r *Resolver) {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			syscall.Close(fd)
			t.Fatal(err)
		}
		sa, _ := syscall.Getsockname(fd)
		port := uint16(sa.(*syscall.SockaddrInet4).Port)
		var st syscall.Stat_t
		syscall.Fstat(fd, &st)
		pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(pair[0])
		defer syscall.Close(pair[1])
		if err := syscall.Sendmsg(pair[0], []byte{1}, syscall.UnixRights(fd), nil, 0); err != nil {
			t.Fatal(err)
		}
		syscall.Close(fd)
		f := Flow{Proto: 17, Local: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Remote: netip.MustParseAddrPort("127.0.0.1:9")}
		o := mustResolve(t, r, f, st.Ino, 0)
		if o.Process != nil {
			t.Fatalf("in-flight socket owned by %+v", o.Process)
		}
		if o.UID != uint32(os.Getuid()) {
			t.Fatalf("uid %d", o.UID)
		}
		if r.Stats().NoProcess == 0 {
			t.Fatal("NoProcess not counted")
		}
	})
}

// TestLiveUnprivileged: a resolver running as uid 65534 cannot read root's
// fds: a root socket comes back with its inode and uid, and no process; its
// own socket still gets its own process.
func TestLiveUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as another uid")
	}
	_, c := loopbackConn(t)
	ch := startChildEnv(t, "gohogs unprivileged", "resolve", 65534,
		[]string{childEnv + "_FLOW=" + c.LocalAddr().String() + " " + c.RemoteAddr().String()})
	want := []string{strconv.FormatUint(inodeOf(t, c), 10), "0", "0", strconv.Itoa(ch.cmd.Process.Pid), "65534"}
	if len(ch.fields) != 6 || !slices.Equal(ch.fields[:5], want) {
		t.Fatalf("child answered %q, want %q then unreadable count", ch.fields, want)
	}
	if n, _ := strconv.Atoi(ch.fields[5]); n == 0 {
		t.Fatalf("no unreadable fd directory counted")
	}
}

// TestLiveUDPClosedEndpoint: an unconnected UDP socket sent to peer A and
// was resolved; it closes; a datagram it had sent to peer B (seen late) is
// still credited to its owner, through its local endpoint. The send events
// are off: read after the first lookup, the sender's event would answer
// for the endpoint instead of the cache (the latest sender wins).
func TestLiveUDPClosedEndpoint(t *testing.T) {
	bothModesWith(t, Options{NoConnEvents: true}, func(t *testing.T, r *Resolver) {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if _, err := u.WriteTo([]byte("x"), a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		ino := inodeOf(t, u)
		fa := Flow{Proto: 17, Local: ap(u.LocalAddr()), Remote: ap(a.LocalAddr())}
		mustResolve(t, r, fa, ino, os.Getpid())
		u.Close()
		fb := Flow{Proto: 17, Local: ap(u.LocalAddr()), Remote: mp("127.0.0.1:9")}
		before := r.Stats().CacheHits
		mustResolve(t, r, fb, ino, os.Getpid())
		if r.Stats().CacheHits != before+1 {
			t.Fatal("not answered from the cache")
		}
	})
}
