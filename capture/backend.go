package capture

import "fmt"

// Backend selects how live interfaces are read.
type Backend uint8

// Backends. The zero value is the default, afpacket.
const (
	// BackendDefault is afpacket.
	BackendDefault Backend = iota
	// BackendAFPacket reads a TPACKET_V3 ring on an AF_PACKET socket,
	// without cgo.
	BackendAFPacket
	// BackendPcap reads through libpcap; only a build with the `pcap` tag
	// has it (PcapAvailable).
	BackendPcap
)

// String returns the backend's name as ParseBackend accepts it; the default
// prints "afpacket".
func (b Backend) String() string {
	switch b {
	case BackendDefault, BackendAFPacket:
		return "afpacket"
	case BackendPcap:
		return "pcap"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// ParseBackend returns the backend named s: "" (the default) or "afpacket",
// or "pcap".
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "":
		return BackendDefault, nil
	case "afpacket":
		return BackendAFPacket, nil
	case "pcap":
		return BackendPcap, nil
	}
	return 0, fmt.Errorf("capture: unknown backend %q (accepted: afpacket, pcap)", s)
}
