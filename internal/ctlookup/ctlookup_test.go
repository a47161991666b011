package ctlookup

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gohogs/gohogs/internal/netnstest"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestEntryNAT(t *testing.T) {
	plain := Entry{Orig: Tuple{ap("10.0.0.2:40000"), ap("192.0.2.1:80")}, Reply: Tuple{ap("192.0.2.1:80"), ap("10.0.0.2:40000")}}
	masq := Entry{Orig: Tuple{ap("10.0.0.2:40000"), ap("192.0.2.1:80")}, Reply: Tuple{ap("192.0.2.1:80"), ap("198.51.100.1:61000")}}
	pub := Entry{Orig: Tuple{ap("192.0.2.1:50000"), ap("198.51.100.1:8080")}, Reply: Tuple{ap("10.0.0.2:7301"), ap("192.0.2.1:50000")}}
	for _, c := range []struct {
		name       string
		e          Entry
		snat, dnat bool
	}{{"plain", plain, false, false}, {"masquerade", masq, true, false}, {"published", pub, false, true}} {
		if c.e.SNAT() != c.snat || c.e.DNAT() != c.dnat || c.e.NAT() != (c.snat || c.dnat) {
			t.Errorf("%s: SNAT %v DNAT %v NAT %v, want %v %v", c.name, c.e.SNAT(), c.e.DNAT(), c.e.NAT(), c.snat, c.dnat)
		}
	}
	if r := plain.Orig.Reverse(); r != plain.Reply {
		t.Errorf("Reverse = %v, want %v", r, plain.Reply)
	}
}

func TestHasModule(t *testing.T) {
	mods := []byte("nf_nat 61440 3 nft_chain_nat,Live 0x0\nnf_conntrack_netlink 57344 0 - Live 0x0\n")
	if !hasModule(mods, "nf_conntrack_netlink") || hasModule(mods, "nf_conntrack") || hasModule(nil, "x") {
		t.Error("hasModule reads /proc/modules wrong")
	}
}

// TestLookupThroughNAT: in H, the entry of a masqueraded connection is
// found by the tuple seen on the uplink (either direction) and by the one
// seen on the container's veth, and says what the NAT made of it.
func TestLookupThroughNAT(t *testing.T) {
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	var ln net.Listener
	if err := netnstest.Do(n.NSR, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(n.UpR4, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer := make(chan netip.AddrPort, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			peer <- netip.AddrPort{}
			return
		}
		defer c.Close()
		peer <- c.RemoteAddr().(*net.TCPAddr).AddrPort()
	}()
	var c net.Conn
	if err := netnstest.Do(n.NSC, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 3*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var seen netip.AddrPort
	select {
	case seen = <-peer:
	case <-time.After(3 * time.Second):
		t.Fatal("no connection")
	}
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	server := netip.MustParseAddrPort(ln.Addr().String())
	var ct *Conn
	if err := netnstest.Do(n.NSH, func() (err error) {
		ct, err = Dial("")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ct.Close()
	want := Entry{Orig: Tuple{local, server}, Reply: Tuple{server, seen}}
	for _, q := range []Tuple{{server, seen}, {local, server}, {seen, server}} {
		e, ok, err := ct.Lookup(6, q)
		if q == (Tuple{seen, server}) {
			// Neither of the entry's tuples: the uplink's packets to R
			// are the Reply reversed.
			if ok || err != nil {
				t.Errorf("Lookup(%v) = %v, %v, %v; want no entry", q, e, ok, err)
			}
			continue
		}
		if err != nil || !ok || e != want || !e.SNAT() || e.DNAT() {
			t.Errorf("Lookup(%v) = %v, %v, %v; want %v, masqueraded", q, e, ok, err, want)
		}
	}
	if _, ok, err := ct.Lookup(6, Tuple{ap("192.0.2.9:1"), ap("192.0.2.10:2")}); ok || err != nil {
		t.Errorf("a tuple of no connection: %v, %v", ok, err)
	}
}
