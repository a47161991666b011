package capture

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// gopacketDecoder is the decoder written with gopacket's
// DecodingLayerParser, kept only to compare with Decode in tests and
// benchmarks.
type gopacketDecoder struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	payload gopacket.Payload
	parser  *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newGopacketDecoder() *gopacketDecoder {
	g := &gopacketDecoder{decoded: make([]gopacket.LayerType, 0, 10)}
	g.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&g.eth, &g.dot1q, &g.ip4, &g.ip6, &g.tcp, &g.udp, &g.icmp4, &g.icmp6, &g.payload)
	g.parser.IgnoreUnsupported = true
	return g
}

// decode fills p from an Ethernet frame like Decode does.
func (g *gopacketDecoder) decode(data []byte, p *Packet) error {
	*p = Packet{Length: len(data), CaptureLength: len(data), Type: PacketUnknown}
	if err := g.parser.DecodeLayers(data, &g.decoded); err != nil {
		return err
	}
	for _, lt := range g.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			p.Version = 4
			p.Proto = Proto(g.ip4.Protocol)
			p.Src, _ = netip.AddrFromSlice(g.ip4.SrcIP)
			p.Dst, _ = netip.AddrFromSlice(g.ip4.DstIP)
			p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
			p.Fragment = g.ip4.Flags&layers.IPv4MoreFragments != 0 || g.ip4.FragOffset != 0
		case layers.LayerTypeIPv6:
			p.Version = 6
			p.Proto = Proto(g.ip6.NextHeader)
			if g.ip6.HopByHop != nil {
				p.Proto = Proto(g.ip6.HopByHop.NextHeader)
			}
			p.Src, _ = netip.AddrFromSlice(g.ip6.SrcIP)
			p.Dst, _ = netip.AddrFromSlice(g.ip6.DstIP)
		case layers.LayerTypeTCP:
			p.SrcPort, p.DstPort, p.HasPorts = uint16(g.tcp.SrcPort), uint16(g.tcp.DstPort), true
			if len(g.tcp.Contents) >= 14 {
				p.TCPFlags = g.tcp.Contents[13]
			}
		case layers.LayerTypeUDP:
			p.SrcPort, p.DstPort, p.HasPorts = uint16(g.udp.SrcPort), uint16(g.udp.DstPort), true
		case layers.LayerTypeICMPv4:
			p.HasICMP, p.ICMPType, p.ICMPCode = true, g.icmp4.TypeCode.Type(), g.icmp4.TypeCode.Code()
			if _, _, echo := p.Echo(); echo {
				p.EchoID = g.icmp4.Id
			}
		case layers.LayerTypeICMPv6:
			p.HasICMP, p.ICMPType, p.ICMPCode = true, g.icmp6.TypeCode.Type(), g.icmp6.TypeCode.Code()
			if _, _, echo := p.Echo(); echo && len(g.icmp6.Payload) >= 2 {
				p.EchoID = uint16(g.icmp6.Payload[0])<<8 | uint16(g.icmp6.Payload[1])
			}
		}
	}
	if p.Version == 0 {
		// Not IP: the EtherType after the VLAN tags.
		p.EtherType = uint16(g.eth.EthernetType)
		for _, lt := range g.decoded {
			if lt == layers.LayerTypeDot1Q {
				p.EtherType = uint16(g.dot1q.Type)
			}
		}
	}
	return nil
}
