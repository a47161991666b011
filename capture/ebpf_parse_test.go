package capture

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/flowbpf"
	"github.com/gohogs/gohogs/internal/netnstest"
)

// parseRig runs the eBPF programs on single frames (BPF_PROG_TEST_RUN) to
// compare their parser with Decode: one counter for Ethernet frames, one
// for raw IP. With copies, they parse a copy of each frame's headers (what
// they do when the headers are not in the linear data, and what the socket
// filter always does) rather than the packet itself.
type parseRig struct {
	eth, raw     *flowbpf.Counter
	ethEv, rawEv *flowbpf.Events
}

func newParseRig(t testing.TB, copies bool) *parseRig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	r := &parseRig{}
	for _, c := range []struct {
		ctr **flowbpf.Counter
		ev  **flowbpf.Events
		raw bool
	}{{&r.eth, &r.ethEv, false}, {&r.raw, &r.rawEv, true}} {
		ctr, err := flowbpf.Load(flowbpf.Options{Raw: c.raw, ParseCopies: copies})
		if err != nil {
			t.Skipf("eBPF not available: %v", err)
		}
		t.Cleanup(func() { ctr.Close() })
		ev, err := ctr.Events()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ev.Close() })
		*c.ctr, *c.ev = ctr, ev
	}
	return r
}

// count runs the program twice on frame (the first run hands it up, the
// second counts it in the flow map) and returns what the second counted,
// or malformed when both were counted as malformed. ok is false for a frame
// the kernel does not take (BPF_PROG_TEST_RUN wants the whole IP header of
// an IP EtherType).
func (r *parseRig) count(t testing.TB, raw bool, frame []byte) (fc FlowCount, malformed, ok bool) {
	t.Helper()
	ctr, ev := r.eth, r.ethEv
	if raw {
		ctr, ev = r.raw, r.rawEv
	}
	st0, err := ctr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := ctr.RunIngress(frame, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) && len(frame) < 14+40 {
				return fc, false, false
			}
			t.Fatalf("%d bytes % x: %v", len(frame), frame, err)
		}
	}
	var e flowbpf.Event
	for ev.Read(time.Now(), &e) == nil { // keep the ring empty
	}
	n := 0
	if err := ctr.Drain(func(k *flowbpf.Key, v flowbpf.Value) {
		fc = flowCount(k, v, time.Time{}, 0)
		n++
	}); err != nil {
		t.Fatal(err)
	}
	st1, err := ctr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case st1.Malformed-st0.Malformed == 2 && n == 0:
		return fc, true, true
	case st1.Malformed != st0.Malformed || n != 1 || fc.Packets != 1 || fc.Length != len(frame) || st1.MapFull != st0.MapFull:
		t.Fatalf("frame % x: %d entries (%+v), stats %+v -> %+v", frame, n, fc, st0, st1)
	}
	return fc, false, true
}

// compare checks the program's count of frame (a whole packet of that many
// bytes) against Decode of what the afpacket backend captures of it.
func (r *parseRig) compare(t testing.TB, link LinkType, frame []byte) {
	t.Helper()
	raw := link != LinkEthernet
	if len(frame) < 14 || len(frame) > 1500 {
		return // BPF_PROG_TEST_RUN takes no less than an Ethernet header
	}
	var want Packet
	derr := Decode(link, frame[:min(len(frame), DefaultSnapLen)], &want)
	got, malformed, ok := r.count(t, raw, frame)
	if !ok {
		return
	}
	if malformed != (derr != nil) {
		t.Fatalf("frame % x (%d bytes): program malformed %v, Decode error %v (%+v)", frame, len(frame), malformed, derr, got)
	}
	if malformed {
		return
	}
	p := got.Packet
	p.Type, p.Timestamp, p.Length, p.CaptureLength, p.IfIndex = want.Type, want.Timestamp, want.Length, want.CaptureLength, want.IfIndex
	if p != want {
		t.Fatalf("frame % x (%d bytes):\nprogram %+v\n Decode %+v", frame, len(frame), p, want)
	}
}

// TestEBPFParsesAsDecode runs the programs on every Ethernet and raw IP
// frame of parseCases, whole and cut at every length, reading the
// packet and reading a copy: each is counted under the tuple Decode makes
// of its first DefaultSnapLen bytes, or as malformed exactly when Decode
// rejects them.
func TestEBPFParsesAsDecode(t *testing.T) {
	for _, copies := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "copy"}[copies], func(t *testing.T) { testParsesAsDecode(t, copies) })
	}
}

// parseCases are the decoder's cases and more that only the program's
// parser needs: headers at the edge of its window, and the ICMP and
// EtherType fields of the flow key.
func parseCases() []decodeCase {
	tcp4 := ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(40000, 443, 100))
	vlans := func(n int, inner uint16) []byte { // n tags after the Ethernet header's 0x8100
		var b []byte
		for i := range n - 1 {
			b = append(b, vlanTag(uint16(i), 0x8100)...)
		}
		return append(b, vlanTag(uint16(n), inner)...)
	}
	return append(decodeCases(),
		// Headers past DefaultSnapLen: Decode (and so the program) stops there.
		decodeCase{name: "ipv6-ext-past-snaplen", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, 0, cat(ext6(60, 5), ext6(ProtoTCP, 3), tcp(1, 2, 10))))},
		decodeCase{name: "many-vlan-tags", link: LinkEthernet, data: eth(0x8100, cat(vlanTag(1, 0x8100), vlanTag(2, 0x8100), vlanTag(3, 0x8100), vlanTag(4, 0x88a8), vlanTag(5, 0x0800), tcp4))},
		// As many tags as fit in the window, and one more than fit.
		decodeCase{name: "vlan-tags-fill-window", link: LinkEthernet, data: eth(0x8100, cat(vlans(28, 0x88cc), make([]byte, 40)))},
		decodeCase{name: "vlan-tags-past-window", link: LinkEthernet, data: eth(0x8100, cat(vlans(29, 0x88cc), make([]byte, 40)))},
		decodeCase{name: "ah-length-zero", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, 51, cat([]byte{byte(ProtoUDP), 0}, make([]byte, 30))))},
		decodeCase{name: "ipv4-options-tcp", link: LinkEthernet, data: eth(0x0800, ip4(v4A, v4B, ProtoTCP, make([]byte, 40), 0, false, tcp(1, 2, 10)))},
		decodeCase{name: "ipv4-bad-version", link: LinkEthernet, data: eth(0x0800, ip6(v6A, v6B, ProtoUDP, udp(1, 2, 0)))},
		decodeCase{name: "raw-ipv6-tcp", link: LinkRawIP, data: ip6(v6A, v6B, ProtoTCP, tcp(5, 6, 30))},
		decodeCase{name: "raw-bad-version", link: LinkRawIP, data: cat([]byte{0x55}, tcp4[1:])},
		// ICMP: type and code always, the identifier of an echo only
		// (bytes 4-5 of other types are something else).
		decodeCase{name: "icmp-echo-reply", link: LinkEthernet, data: eth(0x0800, ip4(v4B, v4A, ProtoICMP, nil, 0, false, cat([]byte{0, 0, 0, 0, 0xbe, 0xef, 0, 9}, make([]byte, 56))))},
		decodeCase{name: "icmp-redirect", link: LinkEthernet, data: eth(0x0800, ip4(v4B, v4A, ProtoICMP, nil, 0, false, cat([]byte{5, 1, 0, 0, 192, 0, 2, 9}, make([]byte, 28))))},
		decodeCase{name: "icmp-first-fragment", link: LinkEthernet, data: eth(0x0800, ip4(v4A, v4B, ProtoICMP, nil, 0, true, cat(icmp4Echo(), make([]byte, 64))))},
		decodeCase{name: "icmp-later-fragment", link: LinkEthernet, data: eth(0x0800, ip4(v4A, v4B, ProtoICMP, nil, 10, false, cat(icmp4Echo(), make([]byte, 64))))},
		decodeCase{name: "icmp-options", link: LinkEthernet, data: eth(0x0800, ip4(v4A, v4B, ProtoICMP, make([]byte, 40), 0, false, icmp4Echo()))},
		decodeCase{name: "icmpv6-echo-reply", link: LinkEthernet, data: eth(0x86dd, ip6(v6B, v6A, ProtoICMPv6, cat([]byte{129, 0, 0, 0, 0x12, 0x34, 0, 1}, make([]byte, 56))))},
		decodeCase{name: "icmpv6-neighbour-solicitation", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, ProtoICMPv6, cat([]byte{135, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, make([]byte, 16))))},
		decodeCase{name: "icmpv6-after-hop-by-hop", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, 0, cat(ext6(ProtoICMPv6, 0), []byte{128, 0, 0, 0, 0, 7, 0, 1})))},
		decodeCase{name: "icmpv6-fragment", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, 44, cat(frag6(ProtoICMPv6, 0, true), []byte{128, 0, 0, 0, 0, 7, 0, 1}, make([]byte, 40))))},
		decodeCase{name: "icmpv6-past-snaplen", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, 0, cat(ext6(ProtoICMPv6, 8), []byte{128, 0, 0, 0, 0, 7, 0, 1})))},
		// An echo type of the other family is no echo.
		decodeCase{name: "icmp-type-128-over-ipv4", link: LinkEthernet, data: eth(0x0800, ip4(v4A, v4B, ProtoICMP, nil, 0, false, []byte{128, 0, 0, 0, 0, 7, 0, 1}))},
		decodeCase{name: "icmpv6-type-8-over-ipv6", link: LinkEthernet, data: eth(0x86dd, ip6(v6A, v6B, ProtoICMPv6, []byte{8, 0, 0, 0, 0, 7, 0, 1}))},
		decodeCase{name: "raw-icmp", link: LinkRawIP, data: ip4(v4A, v4B, ProtoICMP, nil, 0, false, icmp4Echo())},
		decodeCase{name: "raw-icmpv6", link: LinkRawIP, data: ip6(v6A, v6B, ProtoICMPv6, []byte{129, 0, 0, 0, 0, 7, 0, 1})},
		// EtherTypes that are not IP, bare and behind tags.
		decodeCase{name: "eth-lldp", link: LinkEthernet, data: eth(0x88cc, make([]byte, 46))},
		decodeCase{name: "qinq-ipx", link: LinkEthernet, data: eth(0x88a8, cat(vlanTag(7, 0x8100), vlanTag(42, 0x8137), make([]byte, 40)))},
		decodeCase{name: "eth-small-ethertype", link: LinkEthernet, data: eth(0x0042, make([]byte, 46))},
	)
}

func testParsesAsDecode(t *testing.T, copies bool) {
	r := newParseRig(t, copies)
	for _, c := range parseCases() {
		switch c.link {
		case LinkEthernet, LinkRaw, LinkRawIP:
		default:
			continue // not what tcx sees
		}
		t.Run(c.name, func(t *testing.T) {
			for n := len(c.data); n >= 14; n-- {
				r.compare(t, c.link, c.data[:n])
			}
		})
	}
}

// TestEBPFCountsGSOAsWireFrames gives the program a TCP packet that stands
// for 4 segments (GSO, or GRO on ingress): 4 packets, each with its own
// headers.
func TestEBPFCountsGSOAsWireFrames(t *testing.T) {
	r := newParseRig(t, false)
	frame := eth(0x0800, ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(40000, 443, 4*300)))
	hdr := 14 + 20 + 20
	for range 2 {
		if err := r.eth.RunIngress(frame, 4, 0); err != nil {
			t.Fatal(err)
		}
	}
	var got []flowbpf.Value
	if err := r.eth.Drain(func(_ *flowbpf.Key, v flowbpf.Value) { got = append(got, v) }); err != nil {
		t.Fatal(err)
	}
	// The first run is handed up as one packet and its other 3 segments
	// are in the map without bytes; the second is all in the map.
	want := flowbpf.Value{Packets: 3 + 4, Bytes: uint64(len(frame) + 3*hdr), TcpFlags: 0x10}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("drained %+v, want %+v", got, want)
	}
}

// FuzzEBPFParsesAsDecode compares the programs' parser (reading the packet
// and reading a copy) with Decode on arbitrary frames (seeds: the
// parser's cases). Needs root and eBPF.
func FuzzEBPFParsesAsDecode(f *testing.F) {
	for _, c := range parseCases() {
		switch c.link {
		case LinkEthernet:
			f.Add(false, c.data)
		case LinkRawIP:
			f.Add(true, c.data)
		}
	}
	direct, copies := newParseRig(f, false), newParseRig(f, true)
	f.Fuzz(func(t *testing.T, raw bool, data []byte) {
		link := LinkEthernet
		if raw {
			link = LinkRawIP
		}
		direct.compare(t, link, bytes.Clone(data))
		copies.compare(t, link, bytes.Clone(data))
	})
}

// TestEBPFHeadersOutsideLinearData sends frames larger than a page from a
// packet socket, which the kernel builds with only the Ethernet header in
// the skb's linear data: the tcx program parses a copy of their headers and
// counts them as any other frame.
func TestEBPFHeadersOutsideLinearData(t *testing.T) {
	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	for _, end := range [][2]string{{p.NSA, p.IfA}, {p.NSB, p.IfB}} {
		if out, err := exec.Command("ip", "-n", end[0], "link", "set", "dev", end[1], "mtu", "9000").CombinedOutput(); err != nil {
			t.Fatalf("mtu: %v: %s", err, out)
		}
	}
	ctr, err := flowbpf.Load(flowbpf.Options{})
	if err != nil {
		t.Skipf("eBPF not available: %v", err)
	}
	defer ctr.Close()
	ev, err := ctr.Events()
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	do(t, p.NSA, func() error {
		ifi, err := net.InterfaceByName(p.IfA)
		if err != nil {
			return err
		}
		a, err := ctr.AttachTCX(ifi.Index, false)
		if err == nil {
			t.Cleanup(func() { a.Close() })
		}
		return err
	})
	src, dst := netip.MustParseAddr("10.252.0.1"), netip.MustParseAddr("10.252.0.2")
	const n, size = 10, 6000
	frame := 14 + 20 + 8 + size
	sendTagged(t, p.NSA, p.IfA, nil, src, dst, 4000, 9, n, size)
	var packets, bytes uint64
	var e flowbpf.Event
	for ev.Read(time.Now().Add(200*time.Millisecond), &e) == nil {
		var pk Packet
		if Decode(LinkEthernet, e.Data, &pk) == nil && pk.Src == src && pk.Dst == dst && pk.SrcPort == 4000 {
			packets++
			bytes += uint64(e.Length)
		}
	}
	if err := ctr.Drain(func(k *flowbpf.Key, v flowbpf.Value) {
		fc := flowCount(k, v, time.Time{}, 0)
		if fc.Src == src && fc.Dst == dst && fc.SrcPort == 4000 && fc.DstPort == 9 && fc.Proto == ProtoUDP && fc.Type == PacketOutgoing {
			packets += fc.Packets
			bytes += uint64(fc.Length)
		}
	}); err != nil {
		t.Fatal(err)
	}
	st, err := ctr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if packets != n || bytes != n*uint64(frame) || st.Malformed != 0 || st.Copied < n {
		t.Fatalf("%d packets, %d bytes (want %d, %d); stats %+v (want %d copied)", packets, bytes, n, n*frame, st, n)
	}
}
