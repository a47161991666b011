package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/dnstest"
	"github.com/gohogs/gohogs/internal/netnstest"
)

// TestJSONRemoteName: a DNS server of the test's own in namespace B
// answers an AAAA record (over UDP) and a CNAME chain to an A record (over
// TCP); this process in A resolves each name through it and holds a
// connection to the answered address open. gohogs --json in A names the
// connections (remote_name is the name asked for); with --no-remote-names
// remote_name is left out, as for every connection without a name.
func TestJSONRemoteName(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	zone := []dnstest.Record{
		{Name: "v6.example.test", Addr: p.AddrB6, TTL: 300},
		{Name: "files.example.test", Target: "edge.cdn.test", TTL: 300},
		{Name: "edge.cdn.test", Addr: p.AddrB4, TTL: 60},
	}
	s4 := dnstest.Serve(t, p.NSB, p.AddrB4, zone)
	s6 := dnstest.Serve(t, p.NSB, p.AddrB6, zone)
	for _, named := range []bool{true, false} {
		t.Run(map[bool]string{true: "named", false: "off"}[named], func(t *testing.T) {
			args := []string{"--json", "-d", "0.5", "--duration", "4s", p.IfA}
			if !named {
				args = append([]string{"--no-remote-names"}, args...)
			}
			run := startGohogs(t, p.NSA, args...)
			run.waitStdout(t, "\n") // the first refresh: watching
			want := map[string]string{}
			for _, c := range []struct {
				network, name string
				tcp           bool
				server        *dnstest.Server
			}{{"ip6", "v6.example.test", false, s6}, {"ip4", "files.example.test", true, s4}} {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				as, err := c.server.Resolver(p.NSA, c.tcp).LookupNetIP(ctx, c.network, c.name)
				cancel()
				if err != nil || len(as) != 1 {
					t.Fatalf("resolve %s: %v %v", c.name, as, err)
				}
				want[holdConn(t, p, as[0])] = c.name
			}
			got := map[string]string{}
			for _, r := range parseJSONLines(t, run.wait(t, 20*time.Second)) {
				for _, row := range r.Rows {
					for _, cn := range row.Connections {
						if _, ok := want[cn.Remote]; ok && (got[cn.Remote] == "" || cn.RemoteName != "") {
							got[cn.Remote] = cn.RemoteName
						}
					}
				}
			}
			for remote, name := range want {
				if n, ok := got[remote]; !ok {
					t.Errorf("no connection to %s listed\nstderr: %s", remote, run.stderr)
				} else if named && n != name {
					t.Errorf("connection to %s: remote_name %q, want %q", remote, n, name)
				} else if !named && n != "" {
					t.Errorf("connection to %s named %q with --no-remote-names", remote, n)
				}
			}
			if !named && strings.Contains(run.stdout.String(), "remote_name") {
				t.Error("remote_name written with --no-remote-names")
			}
		})
	}
}

// holdConn connects from namespace A of p to a sink of B on addr, sends a
// little, and holds the connection open until the test ends (its owner is
// looked up while it is); it returns the sink's address as JSON writes it.
func holdConn(t *testing.T, p *netnstest.Pair, addr netip.Addr) string {
	t.Helper()
	s := startSink(t, t.Context(), p.NSB, "tcp", addr.String())
	var c net.Conn
	if err := netnstest.Do(p.NSA, func() (err error) {
		c, err = net.DialTimeout("tcp", s.addr, 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(make([]byte, 10000)); err != nil {
		t.Fatal(err)
	}
	return s.addr
}
