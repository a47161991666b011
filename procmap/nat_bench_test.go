package procmap

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// natConn is a connection from C to R through a netnstest.NAT's masquerade,
// held open: its tuples as C and as the uplink see them.
func natConn(b testing.TB) (n *netnstest.NAT, inC, onUplink Flow) {
	b.Helper()
	n = netnstest.NewNAT(b, netnstest.NATOptions{})
	var ln net.Listener
	if err := netnstest.Do(n.NSR, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(n.UpR4, 0).String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	peer := make(chan netip.AddrPort, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			peer <- netip.AddrPort{}
			return
		}
		b.Cleanup(func() { c.Close() })
		peer <- c.RemoteAddr().(*net.TCPAddr).AddrPort()
	}()
	var c net.Conn
	if err := netnstest.Do(n.NSC, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	seen := <-peer
	server := netip.MustParseAddrPort(ln.Addr().String())
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	return n, Flow{Proto: 6, Local: local, Remote: server}, Flow{Proto: 6, Local: seen, Remote: server}
}

func newIn(b testing.TB, ns string, opts Options) *Resolver {
	b.Helper()
	var r *Resolver
	if err := netnstest.Do(ns, func() (err error) {
		r, err = New(opts)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// BenchmarkResolveNAT: what a masqueraded flow costs the resolver of the
// NAT's namespace (socket lookup there, conntrack, the lookup in the
// container's namespace), beside the same socket looked up by a resolver
// in the container's own namespace.
func BenchmarkResolveNAT(b *testing.B) {
	netnstest.Skip(b)
	n, inC, onUplink := natConn(b)
	b.Run("direct-in-container", func(b *testing.B) {
		r := newIn(b, n.NSC, Options{NoConnEvents: true})
		for b.Loop() {
			if o, err := r.Resolve(inC); err != nil || o.Process == nil {
				b.Fatal(o, err)
			}
		}
	})
	b.Run("through-nat", func(b *testing.B) {
		r := newIn(b, n.NSH, Options{NoConnEvents: true})
		for b.Loop() {
			if o, err := r.Resolve(onUplink); err != nil || o.Process == nil {
				b.Fatal(o, err)
			}
		}
	})
}
