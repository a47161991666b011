//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// Flow counting for gohogs: one program per hook parses each frame
// (Ethernet, VLAN tags, IPv4, IPv6 with its extension headers, the ports of
// TCP, UDP, UDP-Lite, SCTP and DCCP, ICMP) as capture.Decode does, and adds
// its length to a per-CPU hash map keyed by the packet's tuple and packet
// type. The first packet of a tuple not in the map is handed to user space
// whole (its first EVENT_DATA bytes, through a ring buffer), so that the
// owner lookup starts at once; user space takes the map's entries out
// (lookup-and-delete) at each refresh's cut, so the next packet of every
// flow is handed up again and the map holds only the flows of one interval.
// A full map sends the packet to an overflow bucket that user space credits
// to the unknown rows; nothing is dropped and nothing is lost.
//
// The programs read headers with bpf_skb_load_bytes, which every program
// type here can call (tcx and socket filters), and never modify a packet.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef TCX_NEXT
#define TCX_NEXT -1
#endif

#define EVENT_DATA 128 // bytes of a first packet handed up (capture.DefaultSnapLen)
#define MAX_VLAN 3     // VLAN tags skipped in the packet (one more can be in the skb's metadata)
#define MAX_EXT 8      // IPv6 extension headers walked

// Key flags.
#define KF_PORTS 1 // sport and dport are valid
#define KF_FRAG 2  // an IP fragment (first or later)
#define KF_V4 4    // addresses are IPv4 (first 4 bytes of src and dst)
#define KF_V6 8    // addresses are IPv6
#define KF_ICMP 16 // ICMP or ICMPv6: sport is type and code, dport an echo's identifier

// The tuple a frame is counted under. Non-IP frames have only ptype and
// sport, their EtherType, set.
struct flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; // network byte order
	__u16 dport;
	__u8 proto;  // IP protocol after the extension headers
	__u8 flags;  // KF_*
	__u8 ptype;  // PACKET_HOST ... PACKET_OUTGOING
	__u8 pad;
};

struct flow_val {
	__u64 bytes;
	__u64 packets;
	__u64 tcp_flags; // OR of the TCP flags bytes seen
};

// A first packet, handed up.
struct event {
	__u64 ts;      // bpf_ktime_get_ns (CLOCK_MONOTONIC)
	__u32 len;     // length on the wire, link header included
	__u32 ifindex;
	__u8 ptype;
	__u8 caplen;   // bytes in data
	__u8 pad[6];
	__u8 data[EVENT_DATA];
};

// For the Go type bpf2go makes of it.
struct event *const unused_event __attribute__((unused)) = 0;

// Counters (one per CPU), index ST_*.
enum {
	ST_MALFORMED,    // frames whose headers do not parse: not counted in a flow
	ST_MAP_FULL,     // packets counted in the overflow buckets (the flow map was full)
	ST_EVENTS_LOST,  // first packets not handed up (ring full): counted in the map instead
	ST_EVENTS,       // first packets handed up
	ST_MAX,
};

// Overflow buckets: index = (outgoing ? 4 : 0) + OV_*.
enum { OV_TCP, OV_UDP, OV_ICMP, OV_OTHER, OV_MAX = 8 };

// Set by the loader.
volatile const __u8 raw_link = 0;      // frames start at the network header (tun, PPP)
volatile const __u8 skip_outgoing = 0; // drop PACKET_OUTGOING copies (loopback socket filter)

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536); // set by the loader
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OV_MAX);
	__type(key, __u32);
	__type(value, struct flow_val);
} overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); // set by the loader
} events SEC(".maps");

static __always_inline void stat_inc(__u32 i)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &i);
	if (v)
		*v += 1;
}

// parse fills k from the frame, and for TCP and UDP *tcp_flags and *hdr
// (where the payload starts); it returns 0, or -1 for a malformed frame
// (what capture.Decode rejects).
static __always_inline int parse(struct __sk_buff *skb, struct flow_key *k, __u8 *tcp_flags, __u32 *hdr)
{
	__u32 off = 0;
	__u16 etype;
	__u8 b[40];

	if (raw_link) {
		if (bpf_skb_load_bytes(skb, 0, b, 1))
			return -1;
		switch (b[0] >> 4) {
		case 4:
			etype = ETH_P_IP;
			break;
		case 6:
			etype = ETH_P_IPV6;
			break;
		default:
			return -1;
		}
	} else {
		if (bpf_skb_load_bytes(skb, 12, &etype, 2))
			return -1;
		etype = bpf_ntohs(etype);
		off = 14;
#pragma unroll
		for (int i = 0; i < MAX_VLAN; i++) {
			if (etype != ETH_P_8021Q && etype != ETH_P_8021AD && etype != 0x9100)
				break;
			if (bpf_skb_load_bytes(skb, off + 2, &etype, 2))
				return -1;
			etype = bpf_ntohs(etype);
			off += 4;
		}
	}

	__u8 next;
	if (etype == ETH_P_IP) {
		if (bpf_skb_load_bytes(skb, off, b, 20))
			return -1;
		if (b[0] >> 4 != 4)
			return -1;
		__u32 hl = (b[0] & 0x0f) * 4;
		if (hl < 20)
			return -1;
		__u32 tot = ((__u32)b[2] << 8) | b[3];
		if (tot != 0 && tot < hl) // 0: a large (BIG TCP, TSO) packet
			return -1;
		k->flags = KF_V4;
		k->proto = b[9];
		__builtin_memcpy(k->src, &b[12], 4);
		__builtin_memcpy(k->dst, &b[16], 4);
		// The options must be there too, as the decoder checks.
		if (hl > 20 && bpf_skb_load_bytes(skb, off + hl - 1, b + 20, 1))
			return -1;
		__u16 frag = ((__u16)b[6] << 8) | b[7];
		if (frag & 0x3fff) {
			k->flags |= KF_FRAG;
			if (frag & 0x1fff)
				return 0; // a later fragment: no transport header
		}
		off += hl;
		next = k->proto;
	} else if (etype == ETH_P_IPV6) {
		if (bpf_skb_load_bytes(skb, off, b, 40))
			return -1;
		if (b[0] >> 4 != 6)
			return -1;
		k->flags = KF_V6;
		__builtin_memcpy(k->src, &b[8], 16);
		__builtin_memcpy(k->dst, &b[24], 16);
		next = b[6];
		off += 40;
#pragma unroll
		for (int i = 0; i < MAX_EXT; i++) {
			__u8 h[8];
			__u32 n;
			if (next == 0 || next == 43 || next == 60) { // hop-by-hop, routing, destination options
				if (bpf_skb_load_bytes(skb, off, h, 8))
					goto trunc;
				n = ((__u32)h[1] + 1) * 8;
			} else if (next == 51) { // AH
				if (bpf_skb_load_bytes(skb, off, h, 8) || bpf_skb_load_bytes(skb, off + 8, b, 4))
					goto trunc;
				n = ((__u32)h[1] + 2) * 4;
			} else if (next == 44) { // fragment
				if (bpf_skb_load_bytes(skb, off, h, 8))
					goto trunc;
				k->flags |= KF_FRAG;
				next = h[0];
				off += 8;
				if (((((__u16)h[2] << 8) | h[3]) >> 3) != 0) {
					k->proto = next;
					return 0; // a later fragment: no transport header
				}
				continue;
			} else {
				break;
			}
			if (n > 8 && bpf_skb_load_bytes(skb, off + n - 1, b, 1))
				goto trunc;
			next = h[0];
			off += n;
		}
		k->proto = next;
		if (next == 0 || next == 43 || next == 60 || next == 51 || next == 44 || next == 59)
			return 0; // no next header, or more extension headers than walked: no ports
	} else {
		k->sport = bpf_htons(etype);
		return 0; // not IP: counted under its packet type and EtherType
	}

	switch (next) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, off, b, 14) == 0) {
			*tcp_flags = b[13];
			*hdr = off + (b[12] >> 4) * 4;
		} else if (bpf_skb_load_bytes(skb, off, b, 4)) {
			return -1;
		}
		break;
	case IPPROTO_UDP:
		if (bpf_skb_load_bytes(skb, off, b, 4))
			return -1;
		*hdr = off + 8;
		break;
	case IPPROTO_DCCP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (bpf_skb_load_bytes(skb, off, b, 4))
			return -1;
		break;
	case IPPROTO_ICMP:
	case 58: // ICMPv6
		// Type and code, and an echo's identifier (what a ping socket
		// is bound to), as capture.Decode reads them.
		if (bpf_skb_load_bytes(skb, off, b, 8))
			return -1;
		k->flags |= KF_ICMP;
		__builtin_memcpy(&k->sport, &b[0], 2);
		if (next == IPPROTO_ICMP ? b[0] == 8 || b[0] == 0 : b[0] == 128 || b[0] == 129)
			__builtin_memcpy(&k->dport, &b[4], 2);
		return 0;
	default:
		return 0;
	}
	__builtin_memcpy(&k->sport, &b[0], 2);
	__builtin_memcpy(&k->dport, &b[2], 2);
	k->flags |= KF_PORTS;
	return 0;
trunc:
	k->proto = next;
	return -1;
}

static __always_inline void add(struct flow_val *v, __u64 len, __u64 packets, __u8 tcp_flags)
{
	v->bytes += len;
	v->packets += packets;
	v->tcp_flags |= tcp_flags;
}

static __always_inline void overflow_add(struct flow_key *k, __u64 len, __u64 packets, __u8 tcp_flags)
{
	__u32 i = OV_OTHER;
	if (k->proto == IPPROTO_TCP)
		i = OV_TCP;
	else if (k->proto == IPPROTO_UDP)
		i = OV_UDP;
	else if (k->proto == IPPROTO_ICMP || k->proto == 58)
		i = OV_ICMP;
	if (k->ptype == PACKET_OUTGOING)
		i += 4;
	struct flow_val *v = bpf_map_lookup_elem(&overflow, &i);
	if (v)
		add(v, len, packets, tcp_flags);
	stat_inc(ST_MAP_FULL);
}

// count accounts one frame of packet type ptype.
static __always_inline void count(struct __sk_buff *skb, __u8 ptype)
{
	struct flow_key k = {};
	__u64 len = skb->len;
	__u64 packets = 1;
	__u32 hdr = 0;
	__u8 tcp_flags = 0;

	k.ptype = ptype;
	if (parse(skb, &k, &tcp_flags, &hdr) < 0) {
		stat_inc(ST_MALFORMED);
		return;
	}
	// A TSO/GSO packet not yet segmented (egress), or one that GRO merged
	// (ingress): count the frames on the wire, each with its own headers.
	__u32 segs = skb->gso_segs;
	if (segs > 1 && hdr != 0 && hdr < len) {
		packets = segs;
		len += (__u64)(segs - 1) * hdr;
	}
	if (skb->vlan_present)
		len += 4 * packets; // a tag the NIC or the driver took out of each frame

	struct flow_val *v = bpf_map_lookup_elem(&flows, &k);
	if (v) {
		add(v, len, packets, tcp_flags);
		return;
	}
	struct flow_val zero = {};
	long err = bpf_map_update_elem(&flows, &k, &zero, BPF_NOEXIST);
	if (err == -17) { // EEXIST: another CPU put it there meanwhile
		v = bpf_map_lookup_elem(&flows, &k);
		if (v)
			add(v, len, packets, tcp_flags);
		return;
	}
	if (err) { // E2BIG: the map is full
		overflow_add(&k, len, packets, tcp_flags);
		return;
	}
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(ST_EVENTS_LOST);
		v = bpf_map_lookup_elem(&flows, &k);
		if (v)
			add(v, len, packets, tcp_flags);
		return;
	}
	__u32 n = skb->len;
	if (n > EVENT_DATA)
		n = EVENT_DATA;
	e->ts = bpf_ktime_get_ns();
	e->len = len;
	e->ifindex = skb->ifindex;
	e->ptype = ptype;
	e->caplen = n;
	if (n == 0 || bpf_skb_load_bytes(skb, 0, e->data, n)) {
		// Cannot happen (the headers parsed); count it rather than lose it.
		bpf_ringbuf_discard(e, 0);
		stat_inc(ST_EVENTS_LOST);
		v = bpf_map_lookup_elem(&flows, &k);
		if (v)
			add(v, len, packets, tcp_flags);
		return;
	}
	bpf_ringbuf_submit(e, 0);
	stat_inc(ST_EVENTS);
	if (packets > 1) {
		// The event carries the bytes of every segment as one packet:
		// the map has the other segments, without bytes.
		v = bpf_map_lookup_elem(&flows, &k);
		if (v)
			add(v, 0, packets - 1, 0);
	}
}

SEC("tcx/ingress")
int gohogs_ingress(struct __sk_buff *skb)
{
	count(skb, skb->pkt_type);
	return TCX_NEXT;
}

SEC("tcx/egress")
int gohogs_egress(struct __sk_buff *skb)
{
	count(skb, PACKET_OUTGOING);
	return TCX_NEXT;
}

// The same count as a socket filter on an AF_PACKET socket (for comparison
// with tcx; see the package doc): it queues nothing.
SEC("socket")
int gohogs_socket(struct __sk_buff *skb)
{
	__u8 t = skb->pkt_type;
	if (skip_outgoing && t == PACKET_OUTGOING)
		return 0;
	count(skb, t);
	return 0;
}

char __license[] SEC("license") = "Dual MIT/GPL";
