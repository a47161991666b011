package capture

import "fmt"

// Backend selects how live interfaces are read.
type Backend uint8

// Backends. The zero value is the default: ebpf where the kernel and the
// privileges allow it, else afpacket (Capture.Fallback says why).
const (
	// BackendDefault is ebpf, or afpacket where ebpf cannot run or a
	// filter expression is given.
	BackendDefault Backend = iota
	// BackendAFPacket reads a TPACKET_V3 ring on an AF_PACKET socket,
	// without cgo.
	BackendAFPacket
	// BackendPcap reads through libpcap; only a build with the `pcap` tag
	// has it (PcapAvailable).
	BackendPcap
	// BackendEBPF counts packets in the kernel (package
	// internal/flowbpf, on tcx: Linux 6.6, root or CAP_BPF and
	// CAP_NET_ADMIN) and copies only each flow's first packet to user
	// space; it cannot run a filter expression.
	BackendEBPF
)

// String returns the backend's name as ParseBackend accepts it; the default
// prints "default".
func (b Backend) String() string {
	switch b {
	case BackendDefault:
		return "default"
	case BackendAFPacket:
		return "afpacket"
	case BackendPcap:
		return "pcap"
	case BackendEBPF:
		return "ebpf"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// ParseBackend returns the backend named s: "" or "default", "ebpf",
// "afpacket", or "pcap".
func ParseBackend(s string) (Backend, error) {
	switch s {
	case "", "default":
		return BackendDefault, nil
	case "ebpf":
		return BackendEBPF, nil
	case "afpacket":
		return BackendAFPacket, nil
	case "pcap":
		return BackendPcap, nil
	}
	return 0, fmt.Errorf("capture: unknown backend %q (accepted: ebpf, afpacket, pcap)", s)
}
