package capture

import "strconv"

// Proto is an IP protocol number (IANA's "Assigned Internet Protocol
// Numbers"): the transport of a packet, after any IPv6 extension headers.
type Proto uint8

// IP protocol numbers that gohogs accounts or decodes by name.
const (
	ProtoICMP    Proto = 1
	ProtoTCP     Proto = 6
	ProtoUDP     Proto = 17
	ProtoDCCP    Proto = 33
	ProtoICMPv6  Proto = 58
	ProtoSCTP    Proto = 132
	ProtoUDPLite Proto = 136
)

// String returns the protocol's usual name ("TCP", "UDP", "ICMP", "ICMPv6",
// "DCCP", "SCTP", "UDPLite"), or its number in decimal for the others.
func (p Proto) String() string {
	switch p {
	case ProtoICMP:
		return "ICMP"
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoDCCP:
		return "DCCP"
	case ProtoICMPv6:
		return "ICMPv6"
	case ProtoSCTP:
		return "SCTP"
	case ProtoUDPLite:
		return "UDPLite"
	}
	return strconv.Itoa(int(p))
}
