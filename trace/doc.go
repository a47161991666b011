// Package trace accounts captured packets to processes and produces the
// refreshes that gohogs prints, in nethogs's trace format or as data.
//
// The Accountant keeps a flow table keyed by the local socket's view of a
// flow (protocol, local address and port, remote address and port). A packet
// from a local address adds its whole frame length to the SENT side of the
// flow whose local end is its source; a packet to a local address adds it to
// the RECEIVED side of the flow whose local end is its destination. When both
// ends are local (loopback, or two local processes) both flows are credited:
// the sender's SENT and the receiver's RECEIVED, which nethogs gets wrong.
// A packet passing through (neither end local: a bridge, a container's
// veth, a routed interface) is credited to each end that lives in a
// network namespace behind the capturing one (Config.Hosted), found by the
// resolver there; a packet seen on several watched interfaces, and the
// untranslated copy of a NAT whose translated copy is watched too, is
// counted once (forward.go says how).
//
// Which packets are accounted (classify.go): TCP always; with Config.UDP
// (nethogs -C) UDP and every other IP protocol too, ICMP echoes keyed by
// their identifier on the side of the ping socket (the other side is the
// kernel, which answers echoes itself), other ICMP and the protocols
// without ports by their addresses, and the frames only a packet socket
// sends by interface and EtherType (a PacketResolver finds it). What has
// no owner goes to the unknown row of its protocol: "unknown TCP",
// "unknown UDP", "unknown ICMP" (ICMP and ICMPv6), "unknown IP" (every
// other), the last two listed once they had bytes.
//
// Every captured byte is accounted (reason.go): credited to a process row,
// or counted by Reason in the Buckets of Snapshot.Accounting (the
// refresh's) and Stats.Totals (the sum): no socket, no process (a socket
// row), forwarded (no end on this host, or forwarding not followed),
// namespace unreachable, not IP, not accounted (without -C), filtered
// (-P), overflow (the ebpf backend's flow map was full). A packet with both
// ends local, or both in namespaces behind this one, is accounted at each
// end (Twice); a copy counted on another interface, and a flow credited
// through its peer, are counted once where they count (Elsewhere), so that
// Credited + Buckets + Elsewhere + Held = Captured + Twice exactly. One
// function (settle) decides, at each refresh, where a flow's bytes go.
//
// Packets counted in the kernel (the ebpf backend) arrive as counts
// (Counts): a capture.FlowCount is a packet with a count, classified, put
// on its flows and counted by the same code as a packet (classify,
// sidesOf, flowsFor, add), so every protocol, forwarding, copies and the
// accounting hold for it as for the packets it stands for; its bytes
// belong to the refresh whose cut has just passed. The first packet of
// each of its tuples since the previous cut comes as a packet, so that
// the owner lookup starts at once.
//
// Capture never waits for process lookups. A new flow is queued to resolver
// goroutines and its bytes stay on the flow until its owner is known; a
// refresh credits the bytes of resolved flows to their processes, keeps the
// bytes of flows still being resolved for the next refresh (for a bounded
// time), and credits the bytes of flows that could not be resolved to the
// unknown rows. So every byte is credited exactly once.
//
// A refresh covers the packets whose kernel timestamps fall between the
// previous refresh's cut time and its own, not the packets that happened to
// be read by the time the refresh ran: a refresh that runs late (a busy
// machine, a capture ring not yet drained) still covers exactly its
// interval, and packets stamped after the cut wait for the next refresh.
// Rates are those bytes divided by the interval (cut times come from the
// monotonic clock): no smoothing, a rate drops to zero at the first refresh
// after the traffic stops, and SENT × delay summed over a log is the bytes
// sent. Totals are 64-bit byte counters.
//
// Every packet takes the Accountant's one lock, briefly and without
// allocating once its flow is known; Refresh holds it only to walk the flow
// table and copy the rows out, and sorts after letting go.
//
// Sorted orders a refresh's rows as the trace prints them, and Writer prints
// them in the grammar of package trace/nethogs, which defines the view modes
// (ViewMode is its type) and the number format.
package trace
