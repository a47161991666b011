package capture

import "fmt"

// Backend selects how Open captures packets.
type Backend uint8

const (
	// BackendDefault is the AF_PACKET backend.
	BackendDefault Backend = iota
	// BackendAFPacket reads a memory-mapped AF_PACKET ring (TPACKET_V3).
	BackendAFPacket
	// BackendPcap uses libpcap (gopacket/pcap); only in a build with the
	// `pcap` tag.
	BackendPcap
)

// String returns the backend's name as ParseBackend reads it.
func (b Backend) String() string {
	switch b {
	case BackendDefault, BackendAFPacket:
		return "afpacket"
	case BackendPcap:
		return "pcap"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// ParseBackend reads a backend's name: "afpacket" or "pcap".
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "afpacket":
		return BackendAFPacket, nil
	case "pcap":
		return BackendPcap, nil
	}
	return 0, fmt.Errorf("capture: unknown backend %q (want afpacket or pcap)", s)
}
