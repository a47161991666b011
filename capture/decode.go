package capture

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// LinkType is a pcap DLT number: the kind of link-layer header a captured
// frame starts with.
type LinkType uint32

// Link types that Decode understands.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte address family in host order
	LinkEthernet LinkType = 1   // DLT_EN10MB
	LinkRaw      LinkType = 12  // DLT_RAW as libpcap reports it on Linux
	LinkRawAlt   LinkType = 14  // DLT_RAW on OpenBSD
	LinkRawIP    LinkType = 101 // LINKTYPE_RAW in capture files
	LinkLoop     LinkType = 108 // OpenBSD loopback: address family in network order
	LinkLinuxSLL LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228 // raw IPv4
	LinkIPv6     LinkType = 229 // raw IPv6
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// Errors returned by Decode. They are preallocated so that Decode never
// allocates.
var (
	// ErrTruncated means a header ends past the captured bytes.
	ErrTruncated = errors.New("capture: truncated packet")
	// ErrBadHeader means a header field is inconsistent (bad version,
	// header length shorter than the minimum, and so on).
	ErrBadHeader = errors.New("capture: malformed header")
	// ErrUnknownLink means the link type is not one Decode knows.
	ErrUnknownLink = errors.New("capture: unsupported link type")
)

// EtherTypes used by the decoder.
const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86dd
	etherVLAN   = 0x8100
	etherQinQ   = 0x88a8
	etherQinQ91 = 0x9100
)

// IPv6 extension headers walked by the decoder.
const (
	ip6HopByHop = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6AH       = 51
	ip6NoNext   = 59
	ip6DstOpts  = 60
)

// Decode decodes one frame captured on a link of type link into p. Every
// field of p is overwritten: Length and CaptureLength are set to len(data),
// Timestamp to the zero time and IfIndex to 0 (except on SLL2 links, whose
// header carries it); a caller that knows the original length, the time or
// the interface sets them afterwards. Type comes from the link header where
// it has one (SLL, SLL2), else it is PacketUnknown.
//
// A frame that is not IP (ARP, LLDP, ...) is not an error: Version is 0.
// Decode never reads past data and never allocates; a malformed or
// truncated frame returns one of ErrTruncated, ErrBadHeader or
// ErrUnknownLink.
func Decode(link LinkType, data []byte, p *Packet) error {
	*p = Packet{Length: len(data), CaptureLength: len(data), Type: PacketUnknown}
	switch link {
	case LinkEthernet:
		if len(data) < 14 {
			return ErrTruncated
		}
		return decodeEther(binary.BigEndian.Uint16(data[12:14]), data[14:], p)
	case LinkLinuxSLL:
		if len(data) < 16 {
			return ErrTruncated
		}
		p.Type = pktType(binary.BigEndian.Uint16(data[0:2]))
		return decodeEther(binary.BigEndian.Uint16(data[14:16]), data[16:], p)
	case LinkSLL2:
		if len(data) < 20 {
			return ErrTruncated
		}
		p.IfIndex = int(binary.BigEndian.Uint32(data[4:8]))
		p.Type = pktType(uint16(data[10]))
		return decodeEther(binary.BigEndian.Uint16(data[0:2]), data[20:], p)
	case LinkRaw, LinkRawAlt, LinkRawIP:
		return decodeRawIP(data, p)
	case LinkIPv4:
		return decodeIPv4(data, p)
	case LinkIPv6:
		return decodeIPv6(data, p)
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return ErrTruncated
		}
		// The family is in the writer's byte order (network order for
		// LinkLoop); IPv6's value differs between BSDs, so go by the
		// version nibble once the family says IP.
		fam := binary.LittleEndian.Uint32(data[0:4])
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(data[0:4])
		}
		switch fam {
		case 2, 10, 24, 28, 30: // AF_INET; AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, Darwin
			return decodeRawIP(data[4:], p)
		}
		return nil
	}
	return ErrUnknownLink
}

// pktType converts a Linux sll_pkttype to a PacketType.
func pktType(v uint16) PacketType {
	if v <= uint16(PacketOutgoing) {
		return PacketType(v)
	}
	return PacketUnknown
}

// decodeEther decodes what follows an EtherType, skipping any stack of
// 802.1Q / 802.1ad VLAN tags.
func decodeEther(etype uint16, data []byte, p *Packet) error {
	for etype == etherVLAN || etype == etherQinQ || etype == etherQinQ91 {
		if len(data) < 4 {
			return ErrTruncated
		}
		etype = binary.BigEndian.Uint16(data[2:4])
		data = data[4:]
	}
	switch etype {
	case etherIPv4:
		return decodeIPv4(data, p)
	case etherIPv6:
		return decodeIPv6(data, p)
	}
	p.EtherType = etype
	return nil // not IP: counted, not decoded
}

// decodeRawIP decodes an IP packet whose version is given by its first nibble.
func decodeRawIP(data []byte, p *Packet) error {
	if len(data) < 1 {
		return ErrTruncated
	}
	switch data[0] >> 4 {
	case 4:
		return decodeIPv4(data, p)
	case 6:
		return decodeIPv6(data, p)
	}
	return ErrBadHeader
}

func decodeIPv4(data []byte, p *Packet) error {
	if len(data) < 20 {
		return ErrTruncated
	}
	if data[0]>>4 != 4 {
		return ErrBadHeader
	}
	hl := int(data[0]&0x0f) * 4
	if hl < 20 {
		return ErrBadHeader
	}
	// A total length of 0 is what the kernel writes in a large (BIG TCP,
	// TSO) packet seen before segmentation: accepted, as tcpdump does.
	if tot := int(binary.BigEndian.Uint16(data[2:4])); tot != 0 && tot < hl {
		return ErrBadHeader
	}
	if len(data) < hl {
		return ErrTruncated
	}
	p.Version = 4
	p.Proto = Proto(data[9])
	p.Src = netip.AddrFrom4([4]byte(data[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(data[16:20]))
	frag := binary.BigEndian.Uint16(data[6:8])
	if frag&0x3fff != 0 { // MF set or a non-zero offset
		p.Fragment = true
		if frag&0x1fff != 0 {
			return nil // a later fragment carries no transport header
		}
	}
	return decodeTransport(data[hl:], p)
}

func decodeIPv6(data []byte, p *Packet) error {
	if len(data) < 40 {
		return ErrTruncated
	}
	if data[0]>>4 != 6 {
		return ErrBadHeader
	}
	p.Version = 6
	p.Src = netip.AddrFrom16([16]byte(data[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(data[24:40]))
	next := Proto(data[6])
	rest := data[40:]
	// Each extension header is at least 8 bytes long, so the walk ends
	// within len(data)/8 steps. p.Proto is the header the walk stands at:
	// where it stops, that is what the packet carries.
	for {
		p.Proto = next
		switch next {
		case ip6HopByHop, ip6Routing, ip6DstOpts, ip6AH:
			n, err := extensionLen(next, rest)
			if err != nil {
				return err
			}
			next, rest = Proto(rest[0]), rest[n:]
		case ip6Fragment:
			if len(rest) < 8 {
				return ErrTruncated
			}
			p.Fragment = true
			off := binary.BigEndian.Uint16(rest[2:4]) >> 3
			next, rest = Proto(rest[0]), rest[8:]
			if off != 0 {
				p.Proto = next
				return nil // a later fragment carries no transport header
			}
		case ip6NoNext:
			return nil
		default:
			return decodeTransport(rest, p)
		}
	}
}

// extensionLen is the length of the IPv6 extension header next at the
// start of rest: (Hdr Ext Len + 1) × 8 bytes, or for AH (Payload Len + 2)
// × 4 (RFC 8200, RFC 4302), checked against what rest holds.
func extensionLen(next Proto, rest []byte) (int, error) {
	least := 8
	if next == ip6AH {
		least = 12
	}
	if len(rest) < least {
		return 0, ErrTruncated
	}
	n := (int(rest[1]) + 1) * 8
	if next == ip6AH {
		n = (int(rest[1]) + 2) * 4
		if n < 12 {
			return 0, ErrBadHeader
		}
	}
	if len(rest) < n {
		return 0, ErrTruncated
	}
	return n, nil
}

// decodeTransport reads the ports of TCP and UDP (and UDP-Lite, SCTP, DCCP,
// which put them at the same place), and the type, code and echo
// identifier of ICMP and ICMPv6 (whose header is 8 bytes). Other protocols
// carry no ports.
func decodeTransport(data []byte, p *Packet) error {
	switch p.Proto {
	case ProtoICMP, ProtoICMPv6:
		if len(data) < 8 {
			return ErrTruncated
		}
		p.HasICMP, p.ICMPType, p.ICMPCode = true, data[0], data[1]
		if _, _, echo := p.Echo(); echo {
			p.EchoID = binary.BigEndian.Uint16(data[4:6])
		}
	case ProtoTCP, ProtoUDP, ProtoDCCP, ProtoSCTP, ProtoUDPLite:
		if len(data) < 4 {
			return ErrTruncated
		}
		p.SrcPort = binary.BigEndian.Uint16(data[0:2])
		p.DstPort = binary.BigEndian.Uint16(data[2:4])
		p.HasPorts = true
		if p.Proto == ProtoTCP && len(data) >= 14 {
			p.TCPFlags = data[13]
		}
	}
	return nil
}
