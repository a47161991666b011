//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// Flow counting for gohogs: one program per hook parses each frame
// (Ethernet, VLAN tags, IPv4, IPv6 with its extension headers, the ports of
// TCP, UDP, UDP-Lite, SCTP and DCCP, ICMP's type, code and echo identifier,
// the EtherType of a frame that is not IP) as capture.Decode does, and adds
// its length to a per-CPU hash map keyed by the packet's tuple and packet
// type. The first packet of a tuple not in the map is handed to user space
// whole (its first EVENT_DATA bytes, through a ring buffer), so that the
// owner lookup starts at once; user space takes the map's entries out
// (lookup-and-delete) at each refresh's cut, so the next packet of every
// flow is handed up again and the map holds only the flows of one interval.
// A full map sends the packet to an overflow bucket that user space credits
// to the unknown rows; nothing is dropped and nothing is lost.
//
// The parser looks at a frame's first HDR_MAX bytes, what the afpacket
// backend captures and decodes, so that both count every frame under the
// same tuple (capture's TestEBPFParsesAsDecode compares them). The tcx
// programs read the headers straight from the packet (skb->data), and only
// when one lies past the packet's linear data copy the first HDR_MAX bytes
// (bpf_skb_load_bytes) and parse the copy, as the socket filter, which may
// not read packets directly, always does. No program modifies a packet.

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
#define HDR_MAX 128    // bytes parsed: what the afpacket backend captures and decodes
#define MAX_VLAN ((HDR_MAX - 14) / 4) // VLAN tags skipped: as many as fit (one more can be in the skb's metadata)
#define MAX_EXT ((HDR_MAX - 40) / 8 + 1) // IPv6 extension headers walked: more cannot fit (raw IP)

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
	ST_COPIED,       // frames parsed from a copy: headers past the linear data (tcx), or socket filter
	ST_MAX,
};

// Overflow buckets: index = (outgoing ? 4 : 0) + OV_*.
enum { OV_TCP, OV_UDP, OV_ICMP, OV_OTHER, OV_MAX = 8 };

// Set by the loader.
volatile const __u8 raw_link = 0;      // frames start at the network header (tun, PPP)
volatile const __u8 skip_outgoing = 0; // drop PACKET_OUTGOING copies (loopback socket filter)
volatile const __u8 parse_copies = 0;  // (tests) parse a copy of every frame, as when its headers are not linear

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

// A copy of a frame's first HDR_MAX bytes, for parse_skb (with room for the
// widest read, 40 bytes, at any offset that at's mask lets through).
#define SCRATCH_MASK 0xff
struct scratch {
	__u8 b[SCRATCH_MASK + 1 + 40];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

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

// Parse results.
#define P_OK 0
#define P_BAD -1   // malformed or truncated: what capture.Decode rejects
#define P_RETRY -2 // a header is past the skb's linear data: parse a copy

// at returns the n bytes at off of the frame's first lim bytes (the parse
// window), or sets *st: P_BAD past the window, P_RETRY past the linear
// data (direct only). direct is a constant at each call: the reads
// are either straight from the packet (skb->data, tcx) or from buf, a copy
// of the window (socket filters, and headers outside the linear data).
static __always_inline const __u8 *at(struct __sk_buff *skb, const __u8 *buf, const int direct, __u32 off, const __u32 n,
				      __u32 lim, int *st)
{
	if (off > HDR_MAX || off + n > lim) {
		*st = P_BAD;
		return buf;
	}
	// A no-op for the value, but it bounds the register the pointer is
	// made from, which the verifier cannot tell from the comparison above
	// once the compiler has rearranged the arithmetic.
	asm volatile("" : "+r"(off));
	off &= SCRATCH_MASK;
	if (!direct)
		return buf + off;
	const __u8 *p = (const __u8 *)(long)skb->data + off;
	if ((const void *)(p + n) > (const void *)(long)skb->data_end)
		*st = P_RETRY;
	return p;
}

// widen forgets what the verifier knows of off's value (not the value): the
// paths through the loops, each with its own offset, then verify as one.
#define WIDEN(off)                               \
	do {                                     \
		asm volatile("" : "+r"(off));    \
		off &= SCRATCH_MASK;             \
	} while (0)

#define AT(off, n)                                                       \
	({                                                               \
		const __u8 *_p = at(skb, buf, direct, off, n, lim, &st); \
		if (st != P_OK)                                          \
			goto out;                                        \
		_p;                                                      \
	})

// parse fills k from the frame's first lim bytes as capture.Decode does
// (the afpacket backend decodes the same HDR_MAX bytes), and for TCP and UDP
// *tcp_flags and *hdr (where the payload starts). It returns P_OK, P_BAD for
// a malformed frame, or (direct) P_RETRY.
static __always_inline int parse(struct __sk_buff *skb, const __u8 *buf, const int direct, __u32 lim, struct flow_key *k,
				 __u8 *tcp_flags, __u32 *hdr)
{
	int st = P_OK;
	const __u8 *b;
	__u32 off = 0;
	__u16 etype;

	if (raw_link) {
		b = AT(0, 1);
		switch (b[0] >> 4) {
		case 4:
			etype = ETH_P_IP;
			break;
		case 6:
			etype = ETH_P_IPV6;
			break;
		default:
			return P_BAD;
		}
	} else {
		b = AT(12, 2);
		etype = ((__u16)b[0] << 8) | b[1];
		off = 14;
		for (int i = 0; i < MAX_VLAN; i++) {
			if (etype != ETH_P_8021Q && etype != ETH_P_8021AD && etype != 0x9100)
				break;
			b = AT(off + 2, 2);
			etype = ((__u16)b[0] << 8) | b[1];
			off += 4;
		}
		// One more tag than fit: it lies past the window, truncated
		// for Decode too (not a frame of EtherType 0x8100).
		if (etype == ETH_P_8021Q || etype == ETH_P_8021AD || etype == 0x9100)
			return P_BAD;
		WIDEN(off);
	}

	__u8 next;
	if (etype == ETH_P_IP) {
		b = AT(off, 20);
		if (b[0] >> 4 != 4)
			return P_BAD;
		__u32 hl = (b[0] & 0x0f) * 4;
		if (hl < 20)
			return P_BAD;
		__u32 tot = ((__u32)b[2] << 8) | b[3];
		if (tot != 0 && tot < hl) // 0: a large (BIG TCP, TSO) packet
			return P_BAD;
		k->flags = KF_V4;
		k->proto = b[9];
		__builtin_memcpy(k->src, &b[12], 4);
		__builtin_memcpy(k->dst, &b[16], 4);
		__u16 frag = ((__u16)b[6] << 8) | b[7];
		// The options must be there too, as the decoder checks.
		if (hl > 20)
			AT(off + hl - 1, 1);
		if (frag & 0x3fff) {
			k->flags |= KF_FRAG;
			if (frag & 0x1fff)
				return P_OK; // a later fragment: no transport header
		}
		off += hl;
		next = k->proto;
	} else if (etype == ETH_P_IPV6) {
		b = AT(off, 40);
		if (b[0] >> 4 != 6)
			return P_BAD;
		k->flags = KF_V6;
		__builtin_memcpy(k->src, &b[8], 16);
		__builtin_memcpy(k->dst, &b[24], 16);
		next = b[6];
		off += 40;
		for (int i = 0; i < MAX_EXT; i++) {
			__u32 n;
			WIDEN(off);
			if (next == 0 || next == 43 || next == 60) { // hop-by-hop, routing, destination options
				b = AT(off, 8);
				n = ((__u32)b[1] + 1) * 8;
			} else if (next == 51) { // AH
				b = AT(off, 12);
				n = ((__u32)b[1] + 2) * 4;
				if (n < 12)
					goto bad;
			} else if (next == 44) { // fragment
				b = AT(off, 8);
				k->flags |= KF_FRAG;
				next = b[0];
				off += 8;
				if (((((__u16)b[2] << 8) | b[3]) >> 3) != 0) {
					k->proto = next;
					return P_OK; // a later fragment: no transport header
				}
				continue;
			} else {
				break;
			}
			if (n > 8)
				AT(off + n - 1, 1);
			next = b[0];
			off += n;
		}
		k->proto = next;
		if (next == 0 || next == 43 || next == 60 || next == 51 || next == 44 || next == 59)
			return P_OK; // no next header (the window holds no more than MAX_EXT): no ports
	} else {
		k->sport = bpf_htons(etype);
		return P_OK; // not IP: counted under its packet type and EtherType
	}

	WIDEN(off);
	switch (next) {
	case IPPROTO_TCP:
		b = AT(off, 4);
		// The flags are optional (a short capture has the ports only),
		// but only past the window: past the linear data, parse a copy.
		if (off + 14 <= lim) {
			const __u8 *t = AT(off, 14);
			*tcp_flags = t[13];
			*hdr = off + (t[12] >> 4) * 4;
		}
		break;
	case IPPROTO_UDP:
		b = AT(off, 4);
		*hdr = off + 8;
		break;
	case IPPROTO_DCCP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		b = AT(off, 4);
		break;
	case IPPROTO_ICMP:
	case 58: // ICMPv6
		// Type and code, and an echo's identifier (what a ping socket
		// is bound to), as capture.Decode reads them: the header is 8
		// bytes, a shorter one is malformed.
		b = AT(off, 8);
		k->flags |= KF_ICMP;
		__builtin_memcpy(&k->sport, &b[0], 2);
		if (next == IPPROTO_ICMP ? b[0] == 8 || b[0] == 0 : b[0] == 128 || b[0] == 129)
			__builtin_memcpy(&k->dport, &b[4], 2);
		return P_OK;
	default:
		return P_OK;
	}
	__builtin_memcpy(&k->sport, &b[0], 2);
	__builtin_memcpy(&k->dport, &b[2], 2);
	k->flags |= KF_PORTS;
	return P_OK;
bad:
	k->proto = next;
	return P_BAD;
out:
	return st;
}

// parse_skb parses skb's frame: straight from its linear data (direct),
// or from a copy of its first HDR_MAX bytes when the headers are not all
// there or the program may not read packets directly (socket filters).
static __always_inline int parse_skb(struct __sk_buff *skb, const int direct, struct flow_key *k, __u8 *tcp_flags, __u32 *hdr)
{
	__u32 lim = skb->len;
	if (lim > HDR_MAX)
		lim = HDR_MAX;
	if (direct && !parse_copies) {
		int r = parse(skb, NULL, 1, lim, k, tcp_flags, hdr);
		if (r != P_RETRY)
			return r;
		__u8 ptype = k->ptype;
		__builtin_memset(k, 0, sizeof(*k));
		k->ptype = ptype;
		*tcp_flags = 0;
		*hdr = 0;
	}
	if (lim == 0)
		return P_BAD;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	__u32 n = lim - 1;
	asm volatile("" : "+r"(n)); // bound the size as the verifier sees it: 1 to HDR_MAX
	n &= HDR_MAX - 1;
	if (!s || bpf_skb_load_bytes(skb, 0, s->b, n + 1))
		return P_BAD;
	stat_inc(ST_COPIED);
	return parse(skb, s->b, 0, lim, k, tcp_flags, hdr);
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

// count accounts one frame of packet type ptype; direct says whether the
// program may read the packet directly (tcx, not socket filters).
static __always_inline void count(struct __sk_buff *skb, __u8 ptype, const int direct)
{
	struct flow_key k = {};
	__u64 len = skb->len;
	__u64 packets = 1;
	__u32 hdr = 0;
	__u8 tcp_flags = 0;

	k.ptype = ptype;
	if (parse_skb(skb, direct, &k, &tcp_flags, &hdr) != P_OK) {
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
	count(skb, skb->pkt_type, 1);
	return TCX_NEXT;
}

SEC("tcx/egress")
int gohogs_egress(struct __sk_buff *skb)
{
	count(skb, PACKET_OUTGOING, 1);
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
	count(skb, t, 0);
	return 0;
}

char __license[] SEC("license") = "Dual MIT/GPL";
