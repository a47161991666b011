// Package capture turns the traffic of Linux network interfaces into a
// stream of small decoded Packet records, for gohogs to account to
// processes; capture/pcapfile reads pcap and pcapng files into the same
// records.
//
// Open opens each interface with one AF_PACKET socket and a TPACKET_V3
// memory-mapped ring, read in place with golang.org/x/sys/unix (no cgo).
// This reader is hand-written, not gopacket's afpacket, for two reasons:
// gopacket does not expose the kernel's packet type (sll_pkttype, which says
// outgoing from incoming), and it waits in a blocking poll(2), which parks an
// OS thread per interface and costs system time; this socket is
// non-blocking and waits in Go's network poller. A classic BPF program attached before the socket is bound sets
// the snap length, so only headers are copied and nothing unfiltered is
// ever queued; on loopback it also drops the outgoing copy of each packet,
// which AF_PACKET sees twice. Built with the tag `pcap`, a libpcap backend
// (Backend, via gopacket/pcap) can be chosen instead, and a filter
// expression is compiled by libpcap for either backend. Links that are not
// Ethernet or loopback (tun, PPP, tunnels) are read without a link header
// and decoded as raw IP.
//
// By default (BackendDefault) interfaces are counted in the kernel instead,
// where the kernel (tcx, Linux 6.6) and the privileges (root, or CAP_BPF and
// CAP_NET_ADMIN) allow it: the ebpf backend attaches internal/flowbpf's
// programs to each interface's tcx hooks (ingress only on loopback, which
// passes every packet both ways), which count every frame in a per-CPU map
// keyed by its tuple and hand up only the first packet of each tuple
// (through a ring buffer, read in bursts as the AF_PACKET blocks are), so
// that its owner lookup starts at once. Collect takes the maps' counts out
// at each refresh's cut, as FlowCounts. No ring is mapped and nothing else
// is copied, so the cost in user space does not grow with the packet rate.
// Where the programs cannot be loaded, or a filter expression is given
// (the programs cannot run one), Open falls back to afpacket and
// Capture.Fallback says why; asking for ebpf explicitly is then an error.
//
// Decode is hand-written too, for speed on the per-packet path: it reads the
// few header fields the accounting needs straight from the captured bytes,
// never past them, and allocates nothing (BenchmarkDecode against
// BenchmarkDecodeGopacket, gopacket's DecodingLayerParser doing the same
// work). A frame that does not decode is counted as malformed.
//
// Packet.Type is the kernel's packet type where the source has it (AF_PACKET
// rings, SLL and SLL2 frames; on loopback every packet handed on is
// PacketHost, the outgoing copy having been dropped) and PacketUnknown
// otherwise, as for libpcap's Ethernet frames; LocalAddrs, which
// follows the host's addresses through netlink notifications and answers
// lock-free, tells sent from received for every source.
//
// Each interface is read by its own goroutine. One that goes down or
// disappears is reported once through Options.OnError and reopened, with
// backoff, in the network namespace Open ran in; one that fails in a way
// reopening cannot mend is reported as permanent and given up; Run returns
// once every interface has failed so (see InterfaceError).
package capture
