// Package dnswatch names the remote ends of connections from the DNS
// answers the host receives: it never sends a query of its own.
//
// A Watcher opens one AF_PACKET socket (SOCK_DGRAM: every frame from its
// network header on, whatever the link) in the calling thread's network
// namespace, with a classic BPF program in the kernel that passes only
// what comes from port 53 over UDP or TCP, IPv4 or IPv6 (a VLAN tag the
// kernel took out of the frame, as it does on receive, does not matter),
// and not the outgoing copy of loopback's packets. So only DNS answers
// are copied to user space, whole, and read on a goroutine of their own
// in Go's network poller: the capture backends and the per-packet
// accounting never see this socket. The socket is bound to every
// interface of the namespace, so it outlives interfaces that go and come
// back; answers that did not cross a watched interface are dropped on
// arrival.
//
// DNS messages are decoded with golang.org/x/net/dns/dnsmessage's Parser,
// reused from one message to the next, which copies names into fixed
// arrays rather than the heap. The IP, UDP and TCP headers in front of them
// are read by hand, a few fixed fields (the kernel filter passes nothing
// else): gopacket's layers, the library for them, would link tables that
// its start-up fills and that keep megabytes of the binary resident, and
// x/net's ipv4 parser allocates for each packet.
// Over TCP, messages are length-prefixed and may span segments: the
// segments of a stream are joined while they come in order (at most
// maxStreams streams at once, a message at most 64 KiB); a stream with a
// gap is skipped until it ends, and its segments are counted.
//
// From an answer (no error, not truncated) to a question of class IN,
// every A and AAAA record of the answer section whose owner is the
// question's name, or a name a CNAME chain from it leads to, maps its
// address to the question's name: what the process asked for, as
// "files.example.test CNAME edge.cdn.test; edge.cdn.test A 10.1.2.3"
// maps 10.1.2.3 to files.example.test. Records elsewhere (additional
// glue, authorities) name nothing. Names are lower-cased; a name that is
// not printable ASCII is not kept (it could not be shown safely).
//
// The names are kept per (network namespace, address) in a bounded map
// (internal/fifomap): each for its record's TTL (the shortest of its
// chain), at least Options.MinTTL and at most MaxTTL, at most MaxNames
// of them, the oldest forgotten first. A connection keeps the name its
// remote end had when it was first asked about for as long as it is
// asked about (Name), so a long download does not lose its name when the
// record expires.
package dnswatch
