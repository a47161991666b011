package capture

import (
	"errors"
	"fmt"
)

// Options selects what Open captures.
type Options struct {
	// Interfaces are the names of the interfaces to capture on.
	Interfaces []string
	// Promiscuous puts the interfaces into promiscuous mode.
	Promiscuous bool
	// SnapLen is how many bytes of each packet are captured; 0 means
	// DefaultSnapLen, enough for the headers.
	SnapLen int
	// Filter is a BPF filter expression (nethogs -f). It is compiled by
	// libpcap, so it needs the `pcap` build tag; without it a non-empty
	// Filter is an error. The ebpf backend cannot run one: by default a
	// Filter selects afpacket.
	Filter string
	// Backend is how the interfaces are read: by default ebpf where it can
	// run, else afpacket; or afpacket, ebpf, or pcap (only in a build
	// with the `pcap` tag, see PcapAvailable).
	Backend Backend
	// RingBytes is the size of each interface's capture ring (afpacket) or
	// kernel buffer (pcap); 0 means DefaultRingBytes.
	RingBytes int
	// MaxFlows bounds the ebpf backend's flow map (the tuples seen in one
	// refresh interval, per interface); 0 means flowbpf's default, 65536.
	// The packets of tuples beyond it are counted in overflow buckets
	// (Stats.MapFull; FlowCounts without addresses).
	MaxFlows int
	// OnError, if set, hears of each failure of an interface while Run is
	// running, as an *InterfaceError. A transient failure (the interface
	// went down or disappeared) is reported once per outage, and Run
	// reopens the interface with backoff until it is back. A permanent
	// failure (InterfaceError.Permanent, errors.Is ErrPermanent) is
	// reported once, and capture on that interface stops. It is called
	// from the interface's goroutine.
	OnError func(iface string, err error)
}

// DefaultSnapLen is the snap length used when Options.SnapLen is 0: room for
// an Ethernet header with two VLAN tags, an IPv6 header with extension
// headers and the transport ports.
const DefaultSnapLen = 128

// DefaultRingBytes is the ring size per interface when Options.RingBytes is
// 0. The whole ring is resident from the start (the kernel maps every page
// at mmap), so it is most of gohogs's memory; it is sized to ride out the
// bursts of the bench suite's fastest scenario without a kernel drop (see
// bench/RESULTS.md), and is twice libpcap's default buffer.
const DefaultRingBytes = 4 << 20

// withDefaults returns o with its zero values replaced by the defaults, or
// an error saying which option cannot be used.
func (o Options) withDefaults() (Options, error) {
	if len(o.Interfaces) == 0 {
		return o, errors.New("capture: no interface given")
	}
	if o.SnapLen <= 0 {
		o.SnapLen = DefaultSnapLen
	}
	o.SnapLen = min(o.SnapLen, 65535)
	if o.RingBytes <= 0 {
		o.RingBytes = DefaultRingBytes
	}
	switch o.Backend {
	case BackendDefault, BackendAFPacket, BackendPcap, BackendEBPF:
	default:
		return o, fmt.Errorf("capture: unknown backend %v (want ebpf, afpacket or pcap)", o.Backend)
	}
	if o.Backend == BackendEBPF && o.Filter != "" {
		return o, errors.New("capture: the ebpf backend cannot run a filter expression: use afpacket or pcap")
	}
	if !PcapAvailable && o.Filter != "" {
		_, err := compileFilter(LinkEthernet, o.SnapLen, o.Filter)
		return o, fmt.Errorf("capture: %w", err)
	}
	if !PcapAvailable && o.Backend == BackendPcap {
		_, _, err := openPcap("", false, &o)
		return o, fmt.Errorf("capture: %w", err)
	}
	return o, nil
}
