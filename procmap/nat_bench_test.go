package procmap

import (
	"net/netip"
	"testing"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// natConn is a connection from C to R through a netnstest.NAT's masquerade,
// held open: its tuples as C and as the uplink see them.
func natConn(b testing.TB) (n *netnstest.NAT, inC, onUplink Flow) {
	b.Helper()
	n = netnstest.NewNAT(b, netnstest.NATOptions{})
	c := netnstest.ConnectTCP(b, n.NSR, netip.AddrPortFrom(n.UpR4, 0), n.NSC, netip.AddrPort{})
	return n, Flow{Proto: 6, Local: c.Client, Remote: c.Server}, Flow{Proto: 6, Local: c.Seen, Remote: c.Server}
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
