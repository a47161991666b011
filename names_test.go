package gohogs_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gohogs/gohogs"
	"github.com/gohogs/gohogs/internal/dnstest"
	"github.com/gohogs/gohogs/internal/netnstest"
)

// edgeAddrs gives namespace B of p two more addresses, for the end of a
// CNAME chain, and returns them.
func edgeAddrs(t *testing.T, p *netnstest.Pair) (netip.Addr, netip.Addr) {
	t.Helper()
	e4, e6 := netip.MustParseAddr("10.250.0.3"), netip.MustParseAddr("fd00:250::3")
	for _, c := range [][]string{
		{"-n", p.NSB, "addr", "add", e4.String() + "/24", "dev", p.IfB},
		{"-n", p.NSB, "addr", "add", e6.String() + "/64", "dev", p.IfB, "nodad"},
	} {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", c, err, out)
		}
	}
	return e4, e6
}

// nameCase is a name the client resolves and connects to.
type nameCase struct {
	network, name string
	tcp           bool // ask over TCP
	server        *dnstest.Server
}

// TestRemoteNames: a DNS server of the test's own in namespace B answers
// an A and an AAAA record, and a CNAME chain to both; this process, in
// namespace A, resolves each name through it (over UDP and TCP) and
// connects to the answered address, where B listens. The Monitor in A,
// with RemoteNames, names each connection by the name asked for.
func TestRemoteNames(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	e4, e6 := edgeAddrs(t, p)
	zone := []dnstest.Record{
		{Name: "v4.example.test", Addr: p.AddrB4, TTL: 300},
		{Name: "v6.example.test", Addr: p.AddrB6, TTL: 300},
		{Name: "files.example.test", Target: "edge.cdn.test", TTL: 300},
		{Name: "edge.cdn.test", Addr: e4, TTL: 30},
		{Name: "edge.cdn.test", Addr: e6, TTL: 30},
	}
	s4 := dnstest.Serve(t, p.NSB, p.AddrB4, zone)
	s6 := dnstest.Serve(t, p.NSB, p.AddrB6, zone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := openIn(t, ctx, p.NSA, gohogs.Options{Interfaces: []string{p.IfA}, RemoteNames: true, Interval: 250 * time.Millisecond})
	c := collect(ctx, m)
	c.waitPast(t, time.Time{}, 5*time.Second)

	want := map[netip.AddrPort]string{}
	for _, nc := range []nameCase{
		{"ip4", "v4.example.test", false, s4},
		{"ip6", "v6.example.test", false, s6},
		{"ip4", "files.example.test", true, s4},
		{"ip6", "files.example.test", true, s6},
	} {
		lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
		as, err := nc.server.Resolver(p.NSA, nc.tcp).LookupNetIP(lctx, nc.network, nc.name)
		lcancel()
		if err != nil || len(as) != 1 {
			t.Fatalf("resolve %s (%s): %v %v", nc.name, nc.network, as, err)
		}
		want[connectHeld(t, p, as[0])] = nc.name
	}
	named := waitConns(t, c, want)
	for remote, name := range want {
		if named[remote] != name {
			t.Errorf("connection to %v named %q, want %q", remote, named[remote], name)
		}
	}
	st := m.Stats().Names
	if st.Err != nil || st.Answers != 4 || st.Names != 4 || st.Malformed != 0 {
		t.Errorf("name stats %+v", st)
	}
}

// connectHeld connects from namespace A of p to a listener of B on addr,
// sends 10 kB and holds the connection open (its owner is looked up while
// it is) until the test ends; it returns the listener's address.
func connectHeld(t *testing.T, p *netnstest.Pair, addr netip.Addr) netip.AddrPort {
	t.Helper()
	at, _ := tcpSink(t, p.NSB, addr.String())
	var conn net.Conn
	if err := netnstest.Do(p.NSA, func() (err error) {
		conn, err = net.DialTimeout("tcp", at, 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(make([]byte, 10000)); err != nil {
		t.Fatal(err)
	}
	return netip.MustParseAddrPort(at)
}

// waitConns waits (at most 10 s of refreshes) until this process's rows
// have listed a connection to each remote end of want, and returns the
// name each was given ("" if none of its listings named it).
func waitConns(t *testing.T, c *collector, want map[netip.AddrPort]string) map[netip.AddrPort]string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		seen := map[netip.AddrPort]bool{}
		named := map[netip.AddrPort]string{}
		rows, _, _ := c.rowsOf(os.Getpid())
		for _, r := range rows {
			for _, cn := range r.Conns {
				if _, ok := want[cn.Remote]; ok {
					seen[cn.Remote] = true
					if cn.RemoteName != "" {
						named[cn.Remote] = cn.RemoteName
					}
				}
			}
		}
		if len(seen) == len(want) {
			return named
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, connections listed to %v of %v", seen, want)
		}
		c.waitPast(t, time.Now(), 5*time.Second)
	}
}

// TestRemoteNamesOff: without RemoteNames no answer is watched.
func TestRemoteNamesOff(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	zone := []dnstest.Record{{Name: "v4.example.test", Addr: p.AddrB4, TTL: 300}}
	s4 := dnstest.Serve(t, p.NSB, p.AddrB4, zone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := openIn(t, ctx, p.NSA, gohogs.Options{Interfaces: []string{p.IfA}, Interval: 250 * time.Millisecond})
	c := collect(ctx, m)
	c.waitPast(t, time.Time{}, 5*time.Second)
	lctx, lcancel := context.WithTimeout(ctx, 5*time.Second)
	defer lcancel()
	if _, err := s4.Resolver(p.NSA, false).LookupNetIP(lctx, "ip4", "v4.example.test"); err != nil {
		t.Fatal(err)
	}
	remote := connectHeld(t, p, p.AddrB4)
	if named := waitConns(t, c, map[netip.AddrPort]string{remote: ""}); named[remote] != "" {
		t.Errorf("connection to %v named %q without RemoteNames", remote, named[remote])
	}
	if st := m.Stats().Names; st.Err != nil || st.Frames != 0 || st.Names != 0 {
		t.Errorf("name stats %+v", st)
	}
}
