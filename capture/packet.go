package capture

import (
	"net/netip"
	"time"
)

// PacketType is the kernel's classification of a captured packet, with the
// values of the Linux PACKET_* constants (sll_pkttype).
type PacketType uint8

// Packet types, numbered as in <linux/if_packet.h>.
const (
	PacketHost      PacketType = 0   // addressed to this host
	PacketBroadcast PacketType = 1   // link-layer broadcast
	PacketMulticast PacketType = 2   // link-layer multicast
	PacketOtherHost PacketType = 3   // to another host (seen in promiscuous mode)
	PacketOutgoing  PacketType = 4   // sent by this host
	PacketUnknown   PacketType = 255 // the source does not say
)

// Packet is one decoded packet record: everything the accounting stages need,
// and nothing that would have to be allocated. A Packet handed to a Handler is
// only valid for the duration of the call.
type Packet struct {
	// Timestamp is when the kernel (or the capture file) saw the packet.
	Timestamp time.Time
	// Length is the original length of the frame on the wire, link header
	// included. This is what gohogs counts.
	Length int
	// CaptureLength is how many bytes of the frame were captured.
	CaptureLength int
	// IfIndex is the index of the interface the packet was seen on (0 when
	// unknown, as for capture files).
	IfIndex int
	// Type is the kernel's packet type, or PacketUnknown.
	Type PacketType
	// Version is the IP version, 4 or 6; 0 for a packet that is not IP.
	Version uint8
	// Proto is the IP protocol number of the transport (after IPv6 extension
	// headers), e.g. ProtoTCP.
	Proto Proto
	// Src and Dst are the IP addresses.
	Src, Dst netip.Addr
	// SrcPort and DstPort are the transport ports, valid when HasPorts.
	SrcPort, DstPort uint16
	// HasPorts is false for protocols without ports and for non-first
	// IP fragments.
	HasPorts bool
	// Fragment is true for any IP fragment (first or later).
	Fragment bool
	// TCPFlags are the flags byte of a TCP header (FIN 0x01, SYN 0x02,
	// RST 0x04, ...), when captured; 0 otherwise.
	TCPFlags uint8
	// HasICMP is set for an ICMP or ICMPv6 message (not a later
	// fragment): ICMPType and ICMPCode are its type and code, and EchoID
	// the identifier of an echo request or reply (0 for other types), the
	// number a ping socket is bound to.
	HasICMP            bool
	ICMPType, ICMPCode uint8
	EchoID             uint16
	// EtherType is the frame's EtherType, after any VLAN tags, when it is
	// not IP (Version 0; 0 on links without one): what a packet socket
	// sending or receiving it is bound to.
	EtherType uint16
}

// ICMP and ICMPv6 echo message types (RFC 792, RFC 4443).
const (
	ICMPEchoReply     uint8 = 0
	ICMPEchoRequest   uint8 = 8
	ICMPv6EchoRequest uint8 = 128
	ICMPv6EchoReply   uint8 = 129
)

// Echo says whether p is an ICMP or ICMPv6 echo request (request set) or
// reply, and returns its identifier.
func (p *Packet) Echo() (id uint16, request, ok bool) {
	if !p.HasICMP {
		return 0, false, false
	}
	switch {
	case p.Proto == ProtoICMP && p.ICMPType == ICMPEchoRequest, p.Proto == ProtoICMPv6 && p.ICMPType == ICMPv6EchoRequest:
		return p.EchoID, true, true
	case p.Proto == ProtoICMP && p.ICMPType == ICMPEchoReply, p.Proto == ProtoICMPv6 && p.ICMPType == ICMPv6EchoReply:
		return p.EchoID, false, true
	}
	return 0, false, false
}

// TCP flags, as in TCPFlags.
const (
	TCPFin uint8 = 0x01
	TCPSyn uint8 = 0x02
	TCPRst uint8 = 0x04
)
