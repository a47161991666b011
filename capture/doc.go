// Package capture turns the traffic of Linux network interfaces, or of
// pcap/pcapng files (ReadFile), into a stream of small decoded Packet
// records, for gohogs to account to processes.
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
