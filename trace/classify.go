package trace

import (
	"net/netip"

	"github.com/gohogs/gohogs/capture"
)

// class is what Packet makes of a packet: the protocol and the two ends
// its flows are keyed by, or the packet socket flow it belongs to, or the
// reason it is not accounted.
type class struct {
	proto capture.Proto
	// src and dst are the flow keys' ends on the source's and the
	// destination's side: the addresses with the ports (TCP, UDP, SCTP,
	// ...), the echo identifier on the side of the socket that sent the
	// request or receives the reply (ICMP), or port 0. Not valid for a
	// later fragment of a protocol with ports, whose ports are unknown.
	src, dst netip.AddrPort
	// link is set for frames sent by a packet socket (see classify),
	// keyed by interface and EtherType.
	link  bool
	ether uint16
	// drop is set for a packet that is not accounted, reason saying why.
	drop   bool
	reason Reason
}

// EtherTypes of IP, for IP frames from packet sockets.
const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86dd
)

// classify decides how p is accounted. TCP always; with -C (Config.UDP)
// every other IP protocol too, and the frames sent by packet sockets:
//   - UDP and the other protocols with ports by their ports;
//   - ICMP and ICMPv6 echoes by their identifier, on the side of the
//     ping socket (the sender of a request, the receiver of a reply; the
//     other side is the kernel, which answers echoes itself), other ICMP
//     and the protocols without ports by their addresses alone (the
//     resolver then finds a raw socket of that protocol);
//   - outgoing frames that are not IP, or IP frames from the unspecified
//     address (a DHCP client's, before it has one), which only a packet
//     socket sends: by interface and EtherType.
//
// Everything else is dropped: frames that are not IP (ReasonNotIP), and
// without -C every protocol but TCP (ReasonNotAccounted).
func (a *Accountant) classify(p *capture.Packet) class {
	if p.Version == 0 {
		if a.cfg.UDP && p.Type == capture.PacketOutgoing && p.EtherType != 0 {
			return class{link: true, ether: p.EtherType}
		}
		return class{drop: true, reason: ReasonNotIP}
	}
	if p.Proto != capture.ProtoTCP && !a.cfg.UDP {
		return class{drop: true, reason: ReasonNotAccounted}
	}
	if a.cfg.UDP && p.Type == capture.PacketOutgoing && p.Src.IsUnspecified() {
		c := class{link: true, proto: p.Proto, ether: etherIPv4}
		if p.Version == 6 {
			c.ether = etherIPv6
		}
		return c
	}
	c := class{proto: p.Proto}
	var sport, dport uint16
	switch {
	case p.HasPorts:
		sport, dport = p.SrcPort, p.DstPort
	case p.Proto == capture.ProtoICMP || p.Proto == capture.ProtoICMPv6:
		if id, request, ok := p.Echo(); ok && request {
			sport = id
		} else if ok {
			dport = id
		}
	case hasPorts(p.Proto):
		// A later fragment: its ports are unknown. It lands on the flow
		// with no addresses, which is never resolved and goes to the
		// unknown rows.
		return c
	}
	c.src = netip.AddrPortFrom(p.Src, sport)
	c.dst = netip.AddrPortFrom(p.Dst, dport)
	return c
}

// hasPorts says whether the decoder reads ports for protocol proto (a
// first fragment or a whole packet of it has them).
func hasPorts(proto capture.Proto) bool {
	switch proto {
	case capture.ProtoTCP, capture.ProtoUDP, capture.ProtoDCCP, capture.ProtoSCTP, capture.ProtoUDPLite:
		return true
	}
	return false
}

// tuple is the tuple cache's key of p classified as c: the packet's own
// addresses (which side is local depends on them even when the flows have
// none), the ends' ports, the protocol; a packet socket's frame is its
// flow's key.
func (c *class) tuple(p *capture.Packet) mapKey {
	if c.link {
		return c.linkKey(p).mapKey()
	}
	k := mapKey{local: p.Src.As16(), remote: p.Dst.As16(), lport: c.src.Port(), rport: c.dst.Port(), proto: uint8(c.proto)}
	if !c.src.IsValid() {
		k.link = 2 // apart from ports 0 and 0
	}
	return k
}

// linkKey is the flow key of a packet socket's frame p classified as c.
func (c *class) linkKey(p *capture.Packet) flowKey {
	return flowKey{proto: c.proto, link: true, ether: c.ether, ifindex: int32(p.IfIndex)}
}
