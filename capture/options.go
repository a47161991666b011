package capture

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
	// Filter is an error.
	Filter string
	// Backend is how the interfaces are read: afpacket (the default) or
	// pcap (only in a build with the `pcap` tag, see PcapAvailable).
	Backend Backend
	// RingBytes is the size of each interface's capture ring (afpacket) or
	// kernel buffer (pcap); 0 means DefaultRingBytes.
	RingBytes int
	// OnError, if set, is called once each time an interface fails while
	// Run is running (it went down or disappeared). Run then reopens the
	// interface with backoff until it is back. It is called from the
	// interface's goroutine.
	OnError func(iface string, err error)
}

// DefaultSnapLen is the snap length used when Options.SnapLen is 0: room for
// an Ethernet header with two VLAN tags, an IPv6 header with extension
// headers and the transport ports.
const DefaultSnapLen = 128

// DefaultRingBytes is the ring size per interface when Options.RingBytes is 0.
// The whole ring is resident from the start (the kernel maps every page at
// mmap), so it is most of gohogs's memory. 4 MiB holds about 20,000
// header-only frames, tens of milliseconds at the highest rate this
// project's 2-core machine makes (no drops at ~400k frames/s, bench/), and
// twice libpcap's default buffer.
const DefaultRingBytes = 4 << 20
