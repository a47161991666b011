package trace

import (
	"net/netip"

	"github.com/gohogs/gohogs/capture"
)

// class is what Packet makes of a packet: the protocol and the ports its
// flows are keyed by, or the packet socket flow it belongs to, or the
// reason it is not accounted. It is small and holds no address: the
// packet path copies it, and builds the flows' ends (ends) only for a new
// flow.
type class struct {
	proto capture.Proto
	// sport and dport are the flow keys' ports on the source's and the
	// destination's side: the ports (TCP, UDP, SCTP, ...), the echo
	// identifier on the side of the socket that sent the request or
	// receives the reply (ICMP), or 0.
	sport, dport uint16
	// noEnds is set for a later fragment of a protocol with ports, whose
	// ports are unknown: its flows have no addresses.
	noEnds bool
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
//
// It fills *c (zero) rather than returning a class: on the packet path
// the copy of a returned struct is not free.
func (a *Accountant) classify(p *capture.Packet, c *class) {
	switch {
	case p.Version == 0:
		if a.cfg.UDP && p.Type == capture.PacketOutgoing && p.EtherType != 0 {
			c.link, c.ether = true, p.EtherType
			return
		}
		c.drop, c.reason = true, ReasonNotIP
		return
	case p.Proto != capture.ProtoTCP && !a.cfg.UDP:
		c.drop, c.reason = true, ReasonNotAccounted
		return
	case a.cfg.UDP && p.Type == capture.PacketOutgoing && p.Src.IsUnspecified():
		c.link, c.proto, c.ether = true, p.Proto, etherIPv4
		if p.Version == 6 {
			c.ether = etherIPv6
		}
		return
	}
	c.proto = p.Proto
	switch {
	case p.HasPorts:
		c.sport, c.dport = p.SrcPort, p.DstPort
	case p.Proto == capture.ProtoICMP || p.Proto == capture.ProtoICMPv6:
		if id, request, ok := p.Echo(); ok && request {
			c.sport = id
		} else if ok {
			c.dport = id
		}
	case hasPorts(p.Proto):
		// A later fragment: its ports are unknown. It lands on the flow
		// with no addresses, which is never resolved and goes to the
		// unknown rows.
		c.noEnds = true
	}
}

// classifyOverflow decides how an overflow bucket fc (FlowCount.Overflow:
// bytes counted without their tuple) is accounted: by its protocol alone,
// as classify would its packets: TCP always, the others with -C.
func (a *Accountant) classifyOverflow(fc *capture.FlowCount, c *class) {
	c.proto = fc.Proto
	if c.proto != capture.ProtoTCP && !a.cfg.UDP {
		c.drop, c.reason = true, ReasonNotAccounted
	}
}

// ends are the flow keys' ends of p on the source's and the destination's
// side (not valid when c.noEnds).
func (c *class) ends(p *capture.Packet) (src, dst netip.AddrPort) {
	if c.noEnds {
		return src, dst
	}
	return netip.AddrPortFrom(p.Src, c.sport), netip.AddrPortFrom(p.Dst, c.dport)
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

// tuple sets *k to the tuple cache's key of p classified as c: the
// packet's own addresses (which side is local depends on them even when
// the flows have none), the ends' ports, the protocol; a packet socket's
// frame's is its flow's key. (It fills *k rather than returning it, for
// the same reason as classify.)
func (c *class) tuple(p *capture.Packet, k *mapKey) {
	if c.link {
		*k = c.linkKey(p).mapKey()
		return
	}
	k.local, k.remote = p.Src.As16(), p.Dst.As16()
	k.lport, k.rport, k.proto = c.sport, c.dport, uint8(c.proto)
	if c.noEnds {
		k.link = 2 // apart from ports 0 and 0
	}
}

// linkKey is the flow key of a packet socket's frame p classified as c.
func (c *class) linkKey(p *capture.Packet) flowKey {
	return flowKey{proto: c.proto, link: true, ether: c.ether, ifindex: int32(p.IfIndex)}
}

// sides classifies a packet's two ends.
type sides uint8

const (
	srcLocal  sides = 1 << iota // the source is an address of the capturing namespace
	dstLocal                    // the destination is
	srcHosted                   // neither is, and the source is in a namespace behind it
	dstHosted                   // neither is, and the destination is
)

// sidesOf classifies p's ends. It takes no lock.
func (a *Accountant) sidesOf(p *capture.Packet) sides {
	var s sides
	if a.cfg.Locals.Contains(p.Src) {
		s |= srcLocal
	}
	if a.cfg.Locals.Contains(p.Dst) {
		s |= dstLocal
	}
	if s == 0 && a.cfg.Hosted != nil {
		if a.cfg.Hosted.Contains(p.Src) {
			s |= srcHosted
		}
		if a.cfg.Hosted.Contains(p.Dst) {
			s |= dstHosted
		}
	}
	return s
}
