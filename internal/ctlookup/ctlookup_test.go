package ctlookup

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ti-mo/conntrack"
	"golang.org/x/sys/unix"

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

// masqueraded makes a NAT and a connection from C to R through it, held
// open, and returns the NAT and the connection's ends: C's, R's, and C's
// as R sees it (H's uplink address and the masquerade's port).
func masqueraded(tb testing.TB, fam int) (n *netnstest.NAT, local, server, seen netip.AddrPort) {
	tb.Helper()
	n = netnstest.NewNAT(tb, netnstest.NATOptions{})
	at := n.UpR4
	if fam == 6 {
		at = n.UpR6
	}
	c := netnstest.ConnectTCP(tb, n.NSR, netip.AddrPortFrom(at, 0), n.NSC, netip.AddrPort{})
	return n, c.Client, c.Server, c.Seen
}

// dialIn opens a Conn in namespace ns.
func dialIn(tb testing.TB, ns string) *Conn {
	tb.Helper()
	var ct *Conn
	if err := netnstest.Do(ns, func() (err error) {
		ct, err = Dial("")
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ct.Close() })
	return ct
}

// libIn opens a github.com/ti-mo/conntrack connection in namespace ns,
// the oracle of these tests; it is closed when tb ends.
func libIn(tb testing.TB, ns string) *conntrack.Conn {
	tb.Helper()
	var lib *conntrack.Conn
	if err := netnstest.Do(ns, func() (err error) {
		lib, err = conntrack.Dial(nil)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { lib.Close() })
	return lib
}

// TestLookupThroughNAT: in H, the entry of a masqueraded connection is
// found by the tuple seen on the uplink and by the one seen on the
// container's veth (either direction of the entry's tuples), says what
// the NAT made of it, and is what github.com/ti-mo/conntrack's Get says;
// over IPv4 and IPv6. A tuple of no connection is not found.
func TestLookupThroughNAT(t *testing.T) {
	for _, fam := range []int{4, 6} {
		n, local, server, seen := masqueraded(t, fam)
		ct := dialIn(t, n.NSH)
		lib := libIn(t, n.NSH)
		want := Entry{Orig: Tuple{local, server}, Reply: Tuple{server, seen}}
		for _, q := range []Tuple{{server, seen}, {local, server}, {seen, server}} {
			e, ok, err := ct.Lookup(6, q)
			if q == (Tuple{seen, server}) {
				// Neither of the entry's tuples: the uplink's packets to R
				// are the Reply reversed.
				if ok || err != nil {
					t.Errorf("IPv%d: Lookup(%v) = %v, %v, %v; want no entry", fam, q, e, ok, err)
				}
				continue
			}
			if err != nil || !ok || e != want || !e.SNAT() || e.DNAT() {
				t.Errorf("IPv%d: Lookup(%v) = %v, %v, %v; want %v, masqueraded", fam, q, e, ok, err, want)
			}
			var f conntrack.Flow
			f.TupleOrig.IP = conntrack.IPTuple{SourceAddress: q.Src.Addr(), DestinationAddress: q.Dst.Addr()}
			f.TupleOrig.Proto = conntrack.ProtoTuple{Protocol: 6, SourcePort: q.Src.Port(), DestinationPort: q.Dst.Port()}
			g, err := lib.Get(f)
			if err != nil {
				t.Fatalf("IPv%d: ti-mo/conntrack Get(%v): %v", fam, q, err)
			}
			tup := func(x conntrack.Tuple) Tuple {
				return Tuple{netip.AddrPortFrom(x.IP.SourceAddress.Unmap(), x.Proto.SourcePort),
					netip.AddrPortFrom(x.IP.DestinationAddress.Unmap(), x.Proto.DestinationPort)}
			}
			if lw := (Entry{Orig: tup(g.TupleOrig), Reply: tup(g.TupleReply)}); lw != e {
				t.Errorf("IPv%d: Lookup(%v) = %v, ti-mo/conntrack says %v", fam, q, e, lw)
			}
			if fam == 4 && q == (Tuple{server, seen}) {
				seed(t, ct, q)
			}
		}
		if _, ok, err := ct.Lookup(6, Tuple{ap("192.0.2.9:1"), ap("192.0.2.10:2")}); ok || err != nil {
			t.Errorf("a tuple of no connection: %v, %v", ok, err)
		}
	}
}

// TestLookupEchoThroughNAT: the entry of an echo that a ping socket in C
// sends to R through the masquerade is found in H by its request's tuple
// (C's identifier as the source's port) and by its reply's (the
// masquerade's identifier as the destination's port), and is what
// ti-mo/conntrack's Get says; over ICMP and ICMPv6.
func TestLookupEchoThroughNAT(t *testing.T) {
	n := netnstest.NewNAT(t, netnstest.NATOptions{})
	if out, err := exec.Command("ip", "netns", "exec", n.NSC, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647").CombinedOutput(); err != nil {
		t.Fatalf("sysctl: %v %s", err, out)
	}
	ct := dialIn(t, n.NSH)
	lib := libIn(t, n.NSH)
	for _, c := range []struct {
		proto uint8
		local netip.AddrPort
		dst   netip.Addr
	}{{unix.IPPROTO_ICMP, netip.AddrPortFrom(n.C4, 4242), n.UpR4}, {unix.IPPROTO_ICMPV6, netip.AddrPortFrom(n.C6, 4243), n.UpR6}} {
		echo(t, n.NSC, c.proto, c.local, c.dst)
		e, ok, err := ct.Lookup(c.proto, Tuple{c.local, netip.AddrPortFrom(c.dst, 0)})
		if err != nil || !ok || e.Orig != (Tuple{c.local, netip.AddrPortFrom(c.dst, 0)}) || e.Reply.Src != netip.AddrPortFrom(c.dst, 0) ||
			e.Reply.Dst.Port() == 0 || !e.SNAT() || e.DNAT() {
			t.Fatalf("proto %d: Lookup of the request's tuple = %v, %v, %v; want %v to %v, masqueraded", c.proto, e, ok, err, c.local, c.dst)
		}
		if e2, ok, err := ct.Lookup(c.proto, e.Reply); err != nil || !ok || e2 != e {
			t.Errorf("proto %d: Lookup of the reply's tuple %v = %v, %v, %v; want %v", c.proto, e.Reply, e2, ok, err, e)
		}
		var f conntrack.Flow
		f.TupleOrig.IP = conntrack.IPTuple{SourceAddress: c.local.Addr(), DestinationAddress: c.dst}
		f.TupleOrig.Proto = conntrack.ProtoTuple{Protocol: c.proto, ICMPv4: c.proto == unix.IPPROTO_ICMP, ICMPv6: c.proto == unix.IPPROTO_ICMPV6,
			ICMPID: c.local.Port(), ICMPType: 8}
		if c.proto == unix.IPPROTO_ICMPV6 {
			f.TupleOrig.Proto.ICMPType = 128
		}
		g, err := lib.Get(f)
		if err != nil {
			t.Fatalf("proto %d: ti-mo/conntrack Get: %v", c.proto, err)
		}
		req := Tuple{netip.AddrPortFrom(g.TupleOrig.IP.SourceAddress.Unmap(), g.TupleOrig.Proto.ICMPID), netip.AddrPortFrom(g.TupleOrig.IP.DestinationAddress.Unmap(), 0)}
		rep := Tuple{netip.AddrPortFrom(g.TupleReply.IP.SourceAddress.Unmap(), 0), netip.AddrPortFrom(g.TupleReply.IP.DestinationAddress.Unmap(), g.TupleReply.Proto.ICMPID)}
		if lw := (Entry{Orig: req, Reply: rep}); lw != e {
			t.Errorf("proto %d: Lookup = %v, ti-mo/conntrack says %v", c.proto, e, lw)
		}
	}
}

// echo sends one echo request from a ping socket bound to local (its port
// is the identifier) in namespace ns to dst, and waits (at most 5 s) for
// the reply.
func echo(t *testing.T, ns string, proto uint8, local netip.AddrPort, dst netip.Addr) {
	t.Helper()
	var fd int
	if err := netnstest.Do(ns, func() (err error) {
		var sa, to unix.Sockaddr
		family, typ := unix.AF_INET, byte(8)
		if proto == unix.IPPROTO_ICMPV6 {
			sa, to = &unix.SockaddrInet6{Port: int(local.Port()), Addr: local.Addr().As16()}, &unix.SockaddrInet6{Addr: dst.As16()}
			family, typ = unix.AF_INET6, 128
		} else {
			sa, to = &unix.SockaddrInet4{Port: int(local.Port()), Addr: local.Addr().As4()}, &unix.SockaddrInet4{Addr: dst.As4()}
		}
		if fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(proto)); err != nil {
			return err
		}
		if err := unix.Bind(fd, sa); err != nil {
			return err
		}
		tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		if err := unix.Sendto(fd, []byte{typ, 0, 0, 0, 0, 0, 0, 1, 'g', 'h'}, 0, to); err != nil {
			return err
		}
		_, _, err = unix.Recvfrom(fd, make([]byte, 64), 0)
		return err
	}); err != nil {
		t.Fatalf("echo from %v to %v: %v", local, dst, err)
	}
	unix.Close(fd)
}

// seed keeps the kernel's answer to a lookup of q in the fuzz corpus, if
// GOHOGS_CTLOOKUP_SEED is set (how testdata/fuzz/FuzzParseReply was made).
func seed(t *testing.T, ct *Conn, q Tuple) {
	if os.Getenv("GOHOGS_CTLOOKUP_SEED") == "" {
		return
	}
	ct.seq++
	if _, err := unix.Write(ct.fd, appendRequest(nil, ct.seq, 6, q)); err != nil {
		t.Fatal(err)
	}
	n, err := unix.Read(ct.fd, ct.buf)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseReply")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\n", ct.buf[:n], ct.seq)
	if err := os.WriteFile(filepath.Join(dir, "masquerade-ipv4"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLookup: one lookup of a masqueraded connection's entry, and the
// same with github.com/ti-mo/conntrack's Get.
func BenchmarkLookup(b *testing.B) {
	netnstest.Skip(b)
	n, _, server, seen := masqueraded(b, 4)
	q := Tuple{server, seen}
	b.Run("ctlookup", func(b *testing.B) {
		ct := dialIn(b, n.NSH)
		for b.Loop() {
			if _, ok, err := ct.Lookup(6, q); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("ti-mo-conntrack", func(b *testing.B) {
		lib := libIn(b, n.NSH)
		var f conntrack.Flow
		f.TupleOrig.IP = conntrack.IPTuple{SourceAddress: q.Src.Addr(), DestinationAddress: q.Dst.Addr()}
		f.TupleOrig.Proto = conntrack.ProtoTuple{Protocol: 6, SourcePort: q.Src.Port(), DestinationPort: q.Dst.Port()}
		for b.Loop() {
			if _, err := lib.Get(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRequestLayout: the request is what ctnetlink expects: one
// CTA_TUPLE_ORIG with the addresses and the protocol's ports, padded; a
// reply built of the same attributes parses back.
func TestRequestLayout(t *testing.T) {
	for _, q := range []Tuple{{ap("10.0.0.2:40000"), ap("192.0.2.1:80")}, {ap("[fd00::2]:40000"), ap("[2001:db8::1]:443")}} {
		m := appendRequest(nil, 7, 6, q)
		want := 16 + 4 + 4 + (4 + 2*(4+16)) + (4 + 3*8)
		if q.Src.Addr().Is4() {
			want = 16 + 4 + 4 + (4 + 2*(4+4)) + (4 + 3*8)
		}
		if len(m) != want || int(nativeU32(m)) != len(m) || len(m) > maxRequest {
			t.Fatalf("%v: request of %d bytes (header says %d), want %d", q, len(m), nativeU32(m), want)
		}
		// The kernel's answer nests both tuples the same way: make one
		// from the request's tuple attribute, twice.
		tuple := m[16+4:]
		reply := append([]byte(nil), m[:16]...)
		reply[4], reply[5] = 0, 1 // IPCTNL_MSG_CT_NEW in CTNETLINK
		reply = append(reply, m[16:20]...)
		reply = append(reply, tuple...)
		rt := append([]byte(nil), tuple...)
		rt[2] = ctaTupleReply
		reply = append(reply, rt...)
		putNativeU32(reply, uint32(len(reply)))
		e, done, err := parseReply(reply, 7)
		if !done || err != nil || e.Orig != q || e.Reply != q {
			t.Errorf("%v: parsed %v, %v, %v", q, e, done, err)
		}
		if _, done, _ := parseReply(reply, 8); done {
			t.Errorf("%v: an answer to another request was taken", q)
		}
	}
}

// TestEchoRequestLayout: an echo's request carries the identifier, the
// type (the request's or the reply's, by which port holds the identifier)
// and code 0, and a reply built of the same attributes parses back to the
// same tuple.
func TestEchoRequestLayout(t *testing.T) {
	for _, c := range []struct {
		proto uint8
		q     Tuple
		typ   byte
	}{
		{unix.IPPROTO_ICMP, Tuple{ap("10.0.0.2:4242"), ap("192.0.2.1:0")}, 8},
		{unix.IPPROTO_ICMP, Tuple{ap("192.0.2.1:0"), ap("198.51.100.1:4243")}, 0},
		{unix.IPPROTO_ICMPV6, Tuple{ap("[fd00::2]:4242"), ap("[2001:db8::1]:0")}, 128},
		{unix.IPPROTO_ICMPV6, Tuple{ap("[2001:db8::1]:0"), ap("[fd00::2]:4242")}, 129},
	} {
		m := appendRequest(nil, 7, c.proto, c.q)
		addrs := 4 + 2*(4+4)
		if c.q.Src.Addr().Is6() {
			addrs = 4 + 2*(4+16)
		}
		if want := 16 + 4 + 4 + addrs + (4 + 4*8); len(m) != want || len(m) > maxRequest {
			t.Fatalf("%v: request of %d bytes, want %d (at most %d)", c.q, len(m), want, maxRequest)
		}
		pr := m[16+4+4+addrs:]
		typeAttr := uint16(ctaProtoICMPType)
		if c.proto == unix.IPPROTO_ICMPV6 {
			typeAttr = ctaProtoICMPv6Type
		}
		if got := binary.NativeEndian.Uint16(pr[4+8+8+2:]); got != typeAttr || pr[4+8+8+4] != c.typ {
			t.Errorf("%v: type attribute %d = %d, want %d = %d", c.q, got, pr[4+8+8+4], typeAttr, c.typ)
		}
		tuple := m[16+4:]
		reply := append([]byte(nil), m[:16]...)
		reply[4], reply[5] = 0, 1
		reply = append(reply, m[16:20]...)
		reply = append(reply, tuple...)
		rt := append([]byte(nil), tuple...)
		rt[2] = ctaTupleReply
		reply = append(reply, rt...)
		putNativeU32(reply, uint32(len(reply)))
		if e, done, err := parseReply(reply, 7); !done || err != nil || e.Orig != c.q || e.Reply != c.q {
			t.Errorf("%v: parsed %v, %v, %v", c.q, e, done, err)
		}
	}
}

// FuzzParseReply: any datagram is parsed without a panic, and a parsed
// entry has both tuples complete.
func FuzzParseReply(f *testing.F) {
	f.Add(appendRequest(nil, 1, 6, Tuple{ap("10.0.0.2:40000"), ap("192.0.2.1:80")}), uint32(1))
	f.Add(appendRequest(nil, 1, unix.IPPROTO_ICMP, Tuple{ap("10.0.0.2:4242"), ap("192.0.2.1:0")}), uint32(1))
	f.Add(appendRequest(nil, 1, unix.IPPROTO_ICMPV6, Tuple{ap("[2001:db8::1]:0"), ap("[fd00::2]:4242")}), uint32(1))
	f.Fuzz(func(t *testing.T, b []byte, seq uint32) {
		e, done, err := parseReply(b, seq)
		if done && err == nil && (!e.Orig.Src.IsValid() || !e.Orig.Dst.IsValid() || !e.Reply.Src.IsValid() || !e.Reply.Dst.IsValid()) {
			t.Fatalf("entry %v without both tuples", e)
		}
	})
}

func nativeU32(b []byte) uint32       { return binary.NativeEndian.Uint32(b) }
func putNativeU32(b []byte, v uint32) { binary.NativeEndian.PutUint32(b, v) }
