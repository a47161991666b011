package dnswatch

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers of what carries DNS.
const (
	protoTCP = 6
	protoUDP = 17
)

// packet is what the decoder needs of one packet: its ends, and its UDP
// datagram's or TCP segment's header and payload.
type packet struct {
	src, dst     netip.Addr
	proto        uint8 // protoUDP or protoTCP
	sport, dport uint16
	seq          uint32 // TCP
	syn, end     bool   // TCP: SYN; FIN or RST
	payload      []byte
}

// parseStatus says what parse made of a packet.
type parseStatus uint8

const (
	parsed    parseStatus = iota
	malformed             // not an IP packet carrying UDP or TCP, or cut short
	fragment              // an IPv4 fragment: not all of its datagram is here
)

// parse reads data, a packet from its IP header on, into s. Only the
// fixed fields are read (no IPv6 extension headers: the kernel filter
// passes none); a total or UDP length 0 (a large TSO/GRO packet) means
// the rest of data.
func (s *packet) parse(data []byte) parseStatus {
	if len(data) == 0 {
		return malformed
	}
	switch data[0] >> 4 {
	case 4:
		if len(data) < 20 {
			return malformed
		}
		hl, total := int(data[0]&0x0f)*4, int(binary.BigEndian.Uint16(data[2:4]))
		if total == 0 {
			total = len(data)
		}
		if hl < 20 || total < hl || len(data) < hl {
			return malformed
		}
		if binary.BigEndian.Uint16(data[6:8])&0x3fff != 0 { // MF or an offset
			return fragment
		}
		s.proto = data[9]
		s.src = netip.AddrFrom4([4]byte(data[12:16]))
		s.dst = netip.AddrFrom4([4]byte(data[16:20]))
		data = data[hl:min(total, len(data))]
	case 6:
		if len(data) < 40 {
			return malformed
		}
		n := int(binary.BigEndian.Uint16(data[4:6]))
		s.proto = data[6]
		s.src = netip.AddrFrom16([16]byte(data[8:24]))
		s.dst = netip.AddrFrom16([16]byte(data[24:40]))
		data = data[40:]
		if n != 0 && n < len(data) {
			data = data[:n] // past it: the link's padding
		}
	default:
		return malformed
	}
	switch s.proto {
	case protoUDP:
		if len(data) < 8 {
			return malformed
		}
		n := int(binary.BigEndian.Uint16(data[4:6]))
		switch {
		case n == 0:
			n = len(data)
		case n < 8:
			return malformed
		}
		s.payload = data[8:min(n, len(data))]
	case protoTCP:
		if len(data) < 20 {
			return malformed
		}
		hl := int(data[12]>>4) * 4
		if hl < 20 || hl > len(data) {
			return malformed
		}
		s.seq = binary.BigEndian.Uint32(data[4:8])
		flags := data[13]
		s.syn, s.end = flags&0x02 != 0, flags&0x05 != 0 // SYN; FIN, RST
		s.payload = data[hl:]
	default:
		return malformed
	}
	s.sport = binary.BigEndian.Uint16(data[0:2])
	s.dport = binary.BigEndian.Uint16(data[2:4])
	return parsed
}
