package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
)

// Hand-built frames for the decoder tests, fuzz seeds and benchmarks.

var (
	macA = []byte{0x02, 0, 0, 0, 0, 0xa}
	macB = []byte{0x02, 0, 0, 0, 0, 0xb}
	v4A  = netip.MustParseAddr("192.0.2.1")
	v4B  = netip.MustParseAddr("198.51.100.7")
	v6A  = netip.MustParseAddr("2001:db8::1")
	v6B  = netip.MustParseAddr("2001:db8:ffff::42")
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// eth builds an Ethernet header followed by payload.
func eth(etype uint16, payload []byte) []byte {
	return cat(macB, macA, be16(etype), payload)
}

// vlanTag builds a 4-byte tag (after the TPID): TCI then the inner EtherType.
func vlanTag(vid, inner uint16) []byte { return cat(be16(vid), be16(inner)) }

// ip4 builds an IPv4 header with options opts (a multiple of 4 bytes),
// fragment offset off (in 8-byte units) and the MF flag.
func ip4(src, dst netip.Addr, proto Proto, opts []byte, off uint16, mf bool, payload []byte) []byte {
	hl := 20 + len(opts)
	h := make([]byte, 20)
	h[0] = 0x40 | byte(hl/4)
	binary.BigEndian.PutUint16(h[2:], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(h[4:], 0x1234)
	fl := off & 0x1fff
	if mf {
		fl |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], fl)
	h[8] = 64
	h[9] = byte(proto)
	s, d := src.As4(), dst.As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return cat(h, opts, payload)
}

// ip6 builds an IPv6 header whose next header is next.
func ip6(src, dst netip.Addr, next Proto, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = byte(next)
	h[7] = 64
	s, d := src.As16(), dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return cat(h, payload)
}

// ext6 builds a generic IPv6 extension header (hop-by-hop, routing,
// destination options) of (units+1)*8 bytes.
func ext6(next Proto, units uint8) []byte {
	h := make([]byte, (int(units)+1)*8)
	h[0] = byte(next)
	h[1] = units
	return h
}

// frag6 builds an IPv6 fragment header.
func frag6(next Proto, off uint16, more bool) []byte {
	h := make([]byte, 8)
	h[0] = byte(next)
	v := off << 3
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(h[2:], v)
	return h
}

// ah6 builds an authentication header of (plen+2)*4 bytes.
func ah6(next Proto, plen uint8) []byte {
	h := make([]byte, (int(plen)+2)*4)
	h[0] = byte(next)
	h[1] = plen
	return h
}

func tcp(sport, dport uint16, payload int) []byte {
	h := make([]byte, 20+payload)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	h[12] = 5 << 4
	h[13] = 0x10 // ACK
	return h
}

func udp(sport, dport uint16, payload int) []byte {
	h := make([]byte, 8+payload)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint16(h[4:], uint16(8+payload))
	return h
}

func icmp4Echo() []byte { return []byte{8, 0, 0, 0, 0, 1, 0, 1} }

// sll builds a Linux cooked v1 header.
func sll(pkttype uint16, etype uint16) []byte {
	return cat(be16(pkttype), be16(1), be16(6), macA, []byte{0, 0}, be16(etype))
}

// sll2 builds a Linux cooked v2 header.
func sll2(etype uint16, ifindex uint32, pkttype uint8) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], etype)
	binary.BigEndian.PutUint32(h[4:], ifindex)
	binary.BigEndian.PutUint16(h[8:], 1)
	h[10] = pkttype
	h[11] = 6
	copy(h[12:], macA)
	return h
}

// decodeCase is one hand-built frame, what Decode must make of it, and the
// smallest captured length at which it decodes (any shorter prefix is an
// error).
type decodeCase struct {
	name string
	link LinkType
	data []byte
	want Packet // Length and CaptureLength are filled in by the test
	need int
}

func decodeCases() []decodeCase {
	tcp4 := ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(40000, 443, 100))
	udp6 := ip6(v6A, v6B, ProtoUDP, udp(5353, 53, 30))
	pTCP4 := Packet{Type: PacketUnknown, Version: 4, Proto: ProtoTCP, Src: v4A, Dst: v4B, SrcPort: 40000, DstPort: 443, HasPorts: true}
	pUDP6 := Packet{Type: PacketUnknown, Version: 6, Proto: ProtoUDP, Src: v6A, Dst: v6B, SrcPort: 5353, DstPort: 53, HasPorts: true}
	with := func(p Packet, f func(*Packet)) Packet { f(&p); return p }
	return []decodeCase{
		{"eth-ipv4-tcp", LinkEthernet, eth(0x0800, tcp4), pTCP4, 14 + 20 + 4},
		{"eth-ipv6-udp", LinkEthernet, eth(0x86dd, udp6), pUDP6, 14 + 40 + 4},
		{"eth-ipv4-tcp-ack", LinkEthernet, eth(0x0800, ip4(v4B, v4A, ProtoTCP, nil, 0, false, tcp(443, 40000, 0))),
			Packet{Type: PacketUnknown, Version: 4, Proto: ProtoTCP, Src: v4B, Dst: v4A, SrcPort: 443, DstPort: 40000, HasPorts: true}, 14 + 24},
		{"vlan-ipv4-tcp", LinkEthernet, eth(0x8100, cat(vlanTag(42, 0x0800), tcp4)), pTCP4, 18 + 24},
		{"qinq-88a8-ipv6-udp", LinkEthernet, eth(0x88a8, cat(vlanTag(7, 0x8100), vlanTag(42, 0x86dd), udp6)), pUDP6, 22 + 44},
		{"qinq-9100-ipv4", LinkEthernet, eth(0x9100, cat(vlanTag(7, 0x8100), vlanTag(42, 0x0800), tcp4)), pTCP4, 22 + 24},
		{"eth-arp", LinkEthernet, eth(0x0806, make([]byte, 28)), Packet{Type: PacketUnknown, EtherType: 0x0806}, 14},
		{"vlan-arp", LinkEthernet, eth(0x8100, cat(vlanTag(3, 0x0806), make([]byte, 28))), Packet{Type: PacketUnknown, EtherType: 0x0806}, 18},
		{"eth-icmp", LinkEthernet, eth(0x0800, ip4(v4A, v4B, ProtoICMP, nil, 0, false, icmp4Echo())),
			Packet{Type: PacketUnknown, Version: 4, Proto: ProtoICMP, Src: v4A, Dst: v4B, HasICMP: true, ICMPType: 8, EchoID: 1}, 42},
		{"eth-icmp-unreachable", LinkEthernet, eth(0x0800, ip4(v4A, v4B, ProtoICMP, nil, 0, false, []byte{3, 3, 0, 0, 0, 0, 0, 0})),
			Packet{Type: PacketUnknown, Version: 4, Proto: ProtoICMP, Src: v4A, Dst: v4B, HasICMP: true, ICMPType: 3, ICMPCode: 3}, 42},
		{"ipv4-options", LinkEthernet, eth(0x0800, ip4(v4A, v4B, ProtoUDP, []byte{0x94, 4, 0, 0, 1, 1, 1, 0}, 0, false, udp(1000, 2000, 10))),
			Packet{Type: PacketUnknown, Version: 4, Proto: ProtoUDP, Src: v4A, Dst: v4B, SrcPort: 1000, DstPort: 2000, HasPorts: true}, 14 + 28 + 4},
		{"ipv4-first-fragment", LinkEthernet, eth(0x0800, ip4(v4A, v4B, ProtoUDP, nil, 0, true, udp(1000, 2000, 100))),
			Packet{Type: PacketUnknown, Version: 4, Proto: ProtoUDP, Src: v4A, Dst: v4B, SrcPort: 1000, DstPort: 2000, HasPorts: true, Fragment: true}, 14 + 24},
		{"ipv4-later-fragment", LinkEthernet, eth(0x0800, ip4(v4A, v4B, ProtoUDP, nil, 185, false, make([]byte, 50))),
			Packet{Type: PacketUnknown, Version: 4, Proto: ProtoUDP, Src: v4A, Dst: v4B, Fragment: true}, 14 + 20},
		{"ipv4-big-tcp-total-length-0", LinkEthernet, eth(0x0800, func() []byte { b := bytes.Clone(tcp4); b[2], b[3] = 0, 0; return b }()), pTCP4, 14 + 24},
		{"ipv4-gre", LinkEthernet, eth(0x0800, ip4(v4A, v4B, 47, nil, 0, false, make([]byte, 8))),
			Packet{Type: PacketUnknown, Version: 4, Proto: 47, Src: v4A, Dst: v4B}, 34},
		{"ipv6-hbh-dst-tcp", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, 0, cat(ext6(60, 0), ext6(ProtoTCP, 1), tcp(22, 50000, 0)))),
			Packet{Type: PacketUnknown, Version: 6, Proto: ProtoTCP, Src: v6A, Dst: v6B, SrcPort: 22, DstPort: 50000, HasPorts: true}, 14 + 40 + 8 + 16 + 4},
		{"ipv6-routing-udp", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, 43, cat(ext6(ProtoUDP, 2), udp(5353, 53, 30)))), pUDP6, 14 + 40 + 24 + 4},
		{"ipv6-ah-udp", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, 51, cat(ah6(ProtoUDP, 4), udp(5353, 53, 30)))), pUDP6, 14 + 40 + 24 + 4},
		{"ipv6-first-fragment", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, 44, cat(frag6(ProtoUDP, 0, true), udp(5353, 53, 30)))),
			with(pUDP6, func(p *Packet) { p.Fragment = true }), 14 + 40 + 8 + 4},
		{"ipv6-later-fragment", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, 44, cat(frag6(ProtoUDP, 100, false), make([]byte, 40)))),
			Packet{Type: PacketUnknown, Version: 6, Proto: ProtoUDP, Src: v6A, Dst: v6B, Fragment: true}, 14 + 48},
		{"ipv6-no-next", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, 0, cat(ext6(59, 0), make([]byte, 16)))),
			Packet{Type: PacketUnknown, Version: 6, Proto: 59, Src: v6A, Dst: v6B}, 14 + 48},
		{"ipv6-icmpv6", LinkEthernet, eth(0x86dd, ip6(v6A, v6B, ProtoICMPv6, []byte{128, 0, 0, 0, 0, 1, 0, 1})),
			Packet{Type: PacketUnknown, Version: 6, Proto: ProtoICMPv6, Src: v6A, Dst: v6B, HasICMP: true, ICMPType: 128, EchoID: 1}, 62},
		{"sll-outgoing-ipv4", LinkLinuxSLL, cat(sll(4, 0x0800), tcp4), with(pTCP4, func(p *Packet) { p.Type = PacketOutgoing }), 16 + 24},
		{"sll-host-vlan-ipv6", LinkLinuxSLL, cat(sll(0, 0x8100), vlanTag(5, 0x86dd), udp6), with(pUDP6, func(p *Packet) { p.Type = PacketHost }), 20 + 44},
		{"sll2-ipv6", LinkSLL2, cat(sll2(0x86dd, 7, 0), udp6), with(pUDP6, func(p *Packet) { p.Type = PacketHost; p.IfIndex = 7 }), 20 + 44},
		{"raw-12-ipv4", LinkRaw, tcp4, pTCP4, 24},
		{"raw-101-ipv6", LinkRawIP, udp6, pUDP6, 44},
		{"raw-14-ipv6", LinkRawAlt, udp6, pUDP6, 44},
		{"ipv4-228", LinkIPv4, tcp4, pTCP4, 24},
		{"null-le-ipv4", LinkNull, cat([]byte{2, 0, 0, 0}, tcp4), pTCP4, 28},
		{"null-be-ipv6-darwin", LinkNull, cat([]byte{0, 0, 0, 30}, udp6), pUDP6, 48},
		{"loop-ipv6-linux", LinkLoop, cat([]byte{0, 0, 0, 10}, udp6), pUDP6, 48},
		{"null-other-family", LinkNull, cat([]byte{7, 0, 0, 0}, make([]byte, 10)), Packet{Type: PacketUnknown}, 4},
	}
}

// benchMix is a realistic traffic mix for the decode benchmarks: bulk TCP
// over IPv4 and IPv6 with its ACKs, UDP, and VLAN-tagged frames, captured
// to 128 bytes like the live backends do.
func benchMix() [][]byte {
	cut := func(b []byte) []byte {
		if len(b) > DefaultSnapLen {
			return b[:DefaultSnapLen]
		}
		return b
	}
	return [][]byte{
		cut(eth(0x0800, ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(40000, 443, 1448)))),
		cut(eth(0x0800, ip4(v4B, v4A, ProtoTCP, nil, 0, false, tcp(443, 40000, 0)))),
		cut(eth(0x0800, ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(40000, 443, 1448)))),
		cut(eth(0x86dd, ip6(v6A, v6B, ProtoTCP, tcp(40001, 443, 1428)))),
		cut(eth(0x86dd, ip6(v6B, v6A, ProtoTCP, tcp(443, 40001, 0)))),
		cut(eth(0x86dd, ip6(v6A, v6B, ProtoTCP, tcp(40001, 443, 1428)))),
		cut(eth(0x0800, ip4(v4A, v4B, ProtoUDP, nil, 0, false, udp(5000, 53, 60)))),
		cut(eth(0x86dd, ip6(v6A, v6B, ProtoUDP, udp(5001, 443, 1200)))),
		cut(eth(0x8100, cat(vlanTag(42, 0x0800), ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(40002, 80, 1448))))),
		cut(eth(0x8100, cat(vlanTag(42, 0x0800), ip4(v4B, v4A, ProtoTCP, nil, 0, false, tcp(80, 40002, 0))))),
	}
}
