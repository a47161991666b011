package dnswatch

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/dnstest"
	"github.com/gohogs/gohogs/internal/netnstest"
)

// openIn opens a Watcher inside namespace ns.
func openIn(t *testing.T, ns string, opts Options) *Watcher {
	t.Helper()
	var w *Watcher
	err := netnstest.Do(ns, func() (err error) {
		w, err = Open(context.Background(), opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w
}

// waitName waits (at most 5 s) until w names addr, and fails t if the
// name is not want.
func waitName(t *testing.T, w *Watcher, addr netip.Addr, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := w.Lookup(addr)
		if got == want {
			return
		}
		if got != "" || time.Now().After(deadline) {
			t.Fatalf("Lookup(%v) = %q, want %q; stats %+v", addr, got, want, w.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lookup(t *testing.T, r *net.Resolver, network, name string) []netip.Addr {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	as, err := r.LookupNetIP(ctx, network, name)
	if err != nil {
		t.Fatalf("resolve %s (%s): %v", name, network, err)
	}
	return as
}

// TestLive: a resolver of the test's own in one namespace, a client in the
// other resolving through it over UDP and TCP, IPv4 and IPv6, and a
// Watcher on the client's side naming the answered addresses.
func TestLive(t *testing.T) {
	p := netnstest.NewPair(t)
	s4 := dnstest.Serve(t, p.NSB, p.AddrB4, zone)
	s6 := dnstest.Serve(t, p.NSB, p.AddrB6, zone)
	w := openIn(t, p.NSA, Options{Interfaces: []string{p.IfA}})
	other := openIn(t, p.NSA, Options{Interfaces: []string{"lo"}})

	// Other traffic is not copied up.
	ln := listenUDP(t, p.NSB, netip.AddrPortFrom(p.AddrB4, 9999))
	sendUDP(t, p.NSA, netip.AddrPortFrom(p.AddrB4, 9999), 50)
	buf := make([]byte, 100)
	for range 50 {
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := ln.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	if st := w.Stats(); st.Frames != 0 {
		t.Errorf("after other traffic: %+v", st)
	}

	if as := lookup(t, s4.Resolver(p.NSA, false), "ip4", "v4.example.test"); len(as) != 1 || as[0] != v4 {
		t.Fatalf("answered %v", as)
	}
	waitName(t, w, v4, "v4.example.test")
	// One answer copied up: not the query, nor anything else.
	if st := w.Stats(); st.Frames != 1 || st.Answers != 1 || st.Malformed != 0 {
		t.Errorf("after one lookup over UDP: %+v", st)
	}
	lookup(t, s6.Resolver(p.NSA, false), "ip6", "v6.example.test")
	waitName(t, w, v6, "v6.example.test")
	// Over TCP the server writes the length and the message apart: two
	// segments, joined.
	lookup(t, s4.Resolver(p.NSA, true), "ip4", "files.example.test")
	waitName(t, w, edge4, "files.example.test")
	lookup(t, s6.Resolver(p.NSA, true), "ip6", "files.example.test")
	waitName(t, w, edge6, "files.example.test")

	if st := w.Stats(); st.Answers != 4 || st.Names != 4 || st.Malformed != 0 || st.TCPSkipped != 0 || st.KernelDrops != 0 {
		t.Errorf("stats %+v, want 4 answers and names", st)
	}
	// A watcher of another interface saw none of it.
	if o := other.Stats(); o.Frames != 0 || o.Names != 0 {
		t.Errorf("the loopback watcher: %+v", o)
	}
}

// TestLiveLoopback: a resolver on loopback (as systemd-resolved's stub on
// 127.0.0.53 is) answering a client on the same host: a watcher of lo
// sees each answer once (its outgoing copy is dropped in the kernel).
func TestLiveLoopback(t *testing.T) {
	ns := netnstest.NewLoopback(t, "dwl")
	stub := netip.MustParseAddr("127.0.0.53")
	if out, err := exec.Command("ip", "-n", ns, "addr", "add", stub.String()+"/8", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	s := dnstest.Serve(t, ns, stub, zone)
	w := openIn(t, ns, Options{Interfaces: []string{"lo"}})
	lookup(t, s.Resolver(ns, false), "ip4", "files.example.test")
	waitName(t, w, edge4, "files.example.test")
	if st := w.Stats(); st.Frames != 1 || st.Answers != 1 {
		t.Errorf("one answer over UDP: %+v (the outgoing copy counted?)", st)
	}
	lookup(t, s.Resolver(ns, true), "ip6", "files.example.test")
	waitName(t, w, edge6, "files.example.test")
	if st := w.Stats(); st.Answers != 2 || st.Malformed != 0 || st.TCPSkipped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestLiveVLAN: answers over a VLAN on the watched interface (the kernel
// takes the tag out of the frame) are named too.
func TestLiveVLAN(t *testing.T) {
	p := netnstest.NewPair(t)
	va, vb := netnstest.UniqueName("dva"), netnstest.UniqueName("dvb")
	a, b := netip.MustParseAddr("10.251.0.1"), netip.MustParseAddr("10.251.0.2")
	for _, c := range [][]string{
		{"-n", p.NSA, "link", "add", "link", p.IfA, "name", va, "type", "vlan", "id", "7"},
		{"-n", p.NSB, "link", "add", "link", p.IfB, "name", vb, "type", "vlan", "id", "7"},
		{"-n", p.NSA, "addr", "add", a.String() + "/24", "dev", va},
		{"-n", p.NSB, "addr", "add", b.String() + "/24", "dev", vb},
		{"-n", p.NSA, "link", "set", va, "up"},
		{"-n", p.NSB, "link", "set", vb, "up"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Skipf("ip %v: %v: %s", c, err, out)
		}
	}
	s := dnstest.Serve(t, p.NSB, b, zone)
	w := openIn(t, p.NSA, Options{Interfaces: []string{p.IfA}})
	lookup(t, s.Resolver(p.NSA, false), "ip4", "files.example.test")
	waitName(t, w, edge4, "files.example.test")
}

func listenUDP(t *testing.T, ns string, at netip.AddrPort) net.PacketConn {
	t.Helper()
	var c net.PacketConn
	if err := netnstest.Do(ns, func() (err error) { c, err = net.ListenPacket("udp", at.String()); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sendUDP(t *testing.T, ns string, to netip.AddrPort, n int) {
	t.Helper()
	var c net.Conn
	if err := netnstest.Do(ns, func() (err error) { c, err = net.Dial("udp", to.String()); return err }); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range n {
		if _, err := c.Write([]byte("not dns")); err != nil {
			t.Fatal(err)
		}
	}
}
