// Package capture turns the traffic of Linux network interfaces, or of
// pcap/pcapng files, into a stream of small decoded Packet records.
//
// Design:
//
//   - Live capture uses one AF_PACKET socket with a TPACKET_V3 memory-mapped
//     ring per interface, read in place with golang.org/x/sys/unix (no cgo).
//     The snap length is enforced by a classic BPF program attached to the
//     socket (its return value is the number of bytes kept), so only headers
//     are copied into the ring; Packet.Length is the original length. The
//     socket is bound to the interface only after the filter is attached, so
//     nothing unfiltered is ever queued. It is non-blocking and waits in Go's
//     network poller, so no OS thread is parked in poll(2).
//     gopacket's afpacket was used first; it was replaced because it does not
//     expose the kernel's packet type and its blocking poll(2) cost as much
//     system time as the whole capture (bench/RESULTS.md, bulk TCP).
//     Built with the tag `pcap`, a libpcap backend (gopacket/pcap) can be
//     chosen instead, and a filter expression is compiled by libpcap and
//     attached to whichever backend runs.
//   - On a loopback interface AF_PACKET sees each packet twice, as it leaves
//     and as it arrives. The socket's BPF program drops the outgoing copy
//     (ancillary load of skb->pkt_type == PACKET_OUTGOING), ahead of the
//     user's filter, so each packet is counted once.
//   - Packet.Type is the kernel's sll_pkttype on AF_PACKET rings (outgoing,
//     to this host, multicast, broadcast, to another host); on loopback
//     every packet handed on is PacketHost (the outgoing copy was dropped);
//     SLL and SLL2 frames (capture files, or libpcap's cooked links) carry
//     the kernel's value; libpcap's Ethernet frames and other capture files
//     give PacketUnknown. Later stages tell sent from received with
//     LocalAddrs, which works for every source.
//   - Interfaces that are not Ethernet or loopback (tun, PPP, tunnels) are
//     read with a SOCK_DGRAM socket and decoded as raw IP; Link.Type still
//     says what libpcap would report (12 for tun, 113 for PPP).
//   - Decoding (Decode) is hand-written: it reads the few header fields the
//     accounting needs straight from the captured bytes, never past them,
//     and allocates nothing (about 11 ns per packet, against about 100 ns
//     for the same work with gopacket's DecodingLayerParser; see
//     BenchmarkDecode and BenchmarkDecodeGopacket). A frame that does not
//     decode is counted as malformed and not handed on.
//   - Each interface is read by its own goroutine. When an interface goes
//     down or disappears, its goroutine reports it once through
//     Options.OnError and reopens it, with backoff, in the network namespace
//     Open ran in; the other interfaces are not affected.
//   - LocalAddrs follows the host's addresses through netlink notifications
//     and answers Contains lock-free from an immutable set.
package capture
