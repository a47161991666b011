package procmap

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/gohogs/gohogs/internal/netnstest"
)

func nsInodeOf(t *testing.T, name string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+name, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestLiveNetNS resolves sockets in two other namespaces: opened by this
// process (no process lives in the namespace: sock_diag or /proc/net read
// from inside it) and by a child started in it (/proc/PID/net), and checks
// that the same address in two namespaces does not collide.
func TestLiveNetNS(t *testing.T) {
	p := netnstest.NewPair(t)
	nsA, nsB := nsInodeOf(t, p.NSA), nsInodeOf(t, p.NSB)
	var ln net.Listener
	var loA net.PacketConn
	err := netnstest.Do(p.NSA, func() error {
		var err error
		if ln, err = net.Listen("tcp4", netip.AddrPortFrom(p.AddrA4, 0).String()); err != nil {
			return err
		}
		loA, err = net.ListenPacket("udp4", "127.0.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer loA.Close()
	port := ap(loA.LocalAddr()).Port()
	loOwn, err := net.ListenPacket("udp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String())
	if err != nil {
		t.Skipf("port %d taken here: %v", port, err)
	}
	defer loOwn.Close()
	var c net.Conn
	if err := netnstest.Do(p.NSB, func() error {
		var err error
		c, err = net.Dial("tcp4", ln.Addr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch := startChild(t, "gohogs ns child", "udp", -1, "ip", "netns", "exec", p.NSB)
	chPort := netip.MustParseAddrPort(ch.fields[0]).Port()
	chIno, err := strconv.ParseUint(ch.fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}

	bothModes(t, func(t *testing.T, r *Resolver) {
		if r.NetNS() == 0 || r.NetNS() == nsA || r.NetNS() == nsB {
			t.Fatalf("own netns %d (A %d, B %d)", r.NetNS(), nsA, nsB)
		}
		pid := os.Getpid()
		srv := Flow{NetNS: nsA, Proto: 6, Local: ap(s.LocalAddr()), Remote: ap(s.RemoteAddr())}
		mustResolve(t, r, srv, inodeOf(t, s), pid)
		cli := Flow{NetNS: nsB, Proto: 6, Local: ap(c.LocalAddr()), Remote: ap(c.RemoteAddr())}
		mustResolve(t, r, cli, inodeOf(t, c), pid)
		// The server's flow does not exist in B nor in our namespace.
		srv.NetNS = nsB
		mustNotFound(t, r, srv)
		srv.NetNS = 0
		mustNotFound(t, r, srv)
		// Same address and port in two namespaces.
		u := Flow{Proto: 17, Local: ap(loA.LocalAddr()), Remote: netip.MustParseAddrPort("127.0.0.1:9")}
		mustResolve(t, r, u, inodeOf(t, loOwn), pid)
		u.NetNS = r.NetNS()
		mustResolve(t, r, u, inodeOf(t, loOwn), pid)
		u.NetNS = nsA
		mustResolve(t, r, u, inodeOf(t, loA), pid)
		// A child process living in B.
		o := mustResolve(t, r, Flow{NetNS: nsB, Proto: 17, Local: netip.AddrPortFrom(p.AddrB4, chPort), Remote: netip.AddrPortFrom(p.AddrA4, 5)},
			chIno, ch.cmd.Process.Pid)
		if o.Process.Name != "gohogs ns child" {
			t.Fatalf("child in B named %q", o.Process.Name)
		}
		// An unknown namespace.
		mustNotFound(t, r, Flow{NetNS: 1, Proto: 17, Local: u.Local, Remote: u.Remote})
	})
}

// TestLiveICMPAndRaw: ping sockets (matched on their echo id) and raw
// sockets (matched on their protocol) in a namespace where
// net.ipv4.ping_group_range allows ping sockets.
func TestLiveICMPAndRaw(t *testing.T) {
	p := netnstest.NewPair(t)
	if out, err := exec.Command("ip", "netns", "exec", p.NSA, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v %s", err, out)
	}
	nsA := nsInodeOf(t, p.NSA)
	var ping4, ping6, rawICMP, raw253 int
	err := netnstest.Do(p.NSA, func() error {
		var err error
		if ping4, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMP); err != nil {
			return err
		}
		if err = syscall.Bind(ping4, &syscall.SockaddrInet4{Port: 0x4242, Addr: p.AddrA4.As4()}); err != nil {
			return err
		}
		// One real echo request to B over the veth.
		echo := []byte{8, 0, 0, 0, 0, 0, 0, 1, 'g', 'o'}
		if err = syscall.Sendto(ping4, echo, 0, &syscall.SockaddrInet4{Addr: p.AddrB4.As4()}); err != nil {
			return err
		}
		if ping6, err = syscall.Socket(syscall.AF_INET6, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMPV6); err != nil {
			return err
		}
		if err = syscall.Bind(ping6, &syscall.SockaddrInet6{Port: 0x4243, Addr: p.AddrA6.As16()}); err != nil {
			return err
		}
		if rawICMP, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.IPPROTO_ICMP); err != nil {
			return err
		}
		raw253, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, 253)
		return err
	})
	for _, fd := range []int{ping4, ping6, rawICMP, raw253} {
		if fd > 0 {
			defer syscall.Close(fd)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	ino := func(fd int) uint64 {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	bothModes(t, func(t *testing.T, r *Resolver) {
		pid := os.Getpid()
		mustResolve(t, r, Flow{NetNS: nsA, Proto: 1, Local: netip.AddrPortFrom(p.AddrA4, 0x4242), Remote: netip.AddrPortFrom(p.AddrB4, 0)}, ino(ping4), pid)
		mustResolve(t, r, Flow{NetNS: nsA, Proto: 58, Local: netip.AddrPortFrom(p.AddrA6, 0x4243), Remote: netip.AddrPortFrom(p.AddrB6, 0)}, ino(ping6), pid)
		// Another echo id: no ping socket, the raw ICMP socket sees it.
		mustResolve(t, r, Flow{NetNS: nsA, Proto: 1, Local: netip.AddrPortFrom(p.AddrA4, 7), Remote: netip.AddrPortFrom(p.AddrB4, 0)}, ino(rawICMP), pid)
		mustResolve(t, r, Flow{NetNS: nsA, Proto: 253, Local: netip.AddrPortFrom(p.AddrA4, 0), Remote: netip.AddrPortFrom(p.AddrB4, 0)}, ino(raw253), pid)
		// No raw socket for protocol 254, none for ICMPv6.
		mustNotFound(t, r, Flow{NetNS: nsA, Proto: 254, Local: netip.AddrPortFrom(p.AddrA4, 0), Remote: netip.AddrPortFrom(p.AddrB4, 0)})
		mustNotFound(t, r, Flow{NetNS: nsA, Proto: 58, Local: netip.AddrPortFrom(p.AddrA6, 7), Remote: netip.AddrPortFrom(p.AddrB6, 0)})
	})
}

// TestLiveOwnNamespaceProcNet: a Resolver made on a thread inside another
// network namespace (a library user's setns) reads that namespace's
// /proc/net tables, not the main thread's, when it cannot use sock_diag.
func TestLiveOwnNamespaceProcNet(t *testing.T) {
	p := netnstest.NewPair(t)
	var r *Resolver
	var ln net.Listener
	var c net.Conn
	err := netnstest.Do(p.NSA, func() error {
		var err error
		if ln, err = net.Listen("tcp4", net.JoinHostPort(p.AddrA4.String(), "0")); err != nil {
			return err
		}
		if c, err = net.Dial("tcp4", ln.Addr().String()); err != nil {
			return err
		}
		r, err = New(Options{NoNetlink: true, NoConnEvents: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer ln.Close()
	defer c.Close()
	f := Flow{Proto: 6, Local: ap(c.LocalAddr()), Remote: ap(c.RemoteAddr())}
	mustResolve(t, r, f, inodeOf(t, c), os.Getpid())
}
