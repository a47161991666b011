package dnswatch

import (
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// dnsPort is where answers come from.
const dnsPort = 53

// maxChain bounds the names a CNAME chain may lead through (resolvers
// give up on longer ones, 8 to 16).
const maxChain = 16

// answer is one address an answer gave for the queried name, and how long
// it holds.
type answer struct {
	addr netip.Addr
	ttl  time.Duration
}

// decoder turns frames (from the network header on) into the names their
// DNS answers give. It is used by one goroutine; its layers are reused
// from one frame to the next.
type decoder struct {
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     layers.UDP
	tcp     layers.TCP
	p4, p6  *gopacket.DecodingLayerParser
	found   []gopacket.LayerType
	dns     layers.DNS
	streams streams

	// learn is told the names of one answer: the client it went to (its
	// destination), the queried name, and the addresses.
	learn func(client netip.Addr, name string, as []answer, now time.Time)
	ans   []answer
	chain []link
	stats *counters
}

// link is a name of a CNAME chain and the shortest TTL on the way to it.
type link struct {
	name []byte
	ttl  uint32
}

func newDecoder(stats *counters, learn func(client netip.Addr, name string, as []answer, now time.Time)) *decoder {
	d := &decoder{learn: learn, stats: stats}
	d.p4 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &d.ip4, &d.udp, &d.tcp)
	d.p6 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, &d.ip6, &d.udp, &d.tcp)
	// Extension headers and whatever rides on UDP and TCP end the decoding
	// there; DNS is decoded by hand below (over TCP it needs joining).
	d.p4.IgnoreUnsupported, d.p6.IgnoreUnsupported = true, true
	d.found = make([]gopacket.LayerType, 0, 4)
	return d
}

// frame decodes one frame that starts at its IP header.
func (d *decoder) frame(data []byte, now time.Time) {
	if len(data) == 0 {
		d.stats.malformed.Add(1)
		return
	}
	p := d.p4
	if data[0]>>4 == 6 {
		p = d.p6
	}
	if err := p.DecodeLayers(data, &d.found); err != nil || len(d.found) < 2 {
		d.stats.malformed.Add(1)
		return
	}
	var src, dst netip.Addr
	switch d.found[0] {
	case layers.LayerTypeIPv4:
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			d.stats.malformed.Add(1) // a fragment of an answer: not all of it is here
			return
		}
		src, _ = netip.AddrFromSlice(d.ip4.SrcIP)
		dst, _ = netip.AddrFromSlice(d.ip4.DstIP)
	case layers.LayerTypeIPv6:
		src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
		dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
	}
	switch d.found[1] {
	case layers.LayerTypeUDP:
		if d.udp.SrcPort != dnsPort {
			return
		}
		d.message(dst, d.udp.Payload, now)
	case layers.LayerTypeTCP:
		t := &d.tcp
		if t.SrcPort != dnsPort {
			return
		}
		seq := t.Seq
		if t.SYN {
			seq++ // data with a SYN (TCP Fast Open) starts after it
		}
		server := netip.AddrPortFrom(src, uint16(t.SrcPort))
		client := netip.AddrPortFrom(dst, uint16(t.DstPort))
		d.streams.segment(server, client, seq, t.Payload, t.FIN || t.RST, now, d.stats, func(msg []byte) {
			d.message(dst, msg, now)
		})
	}
}

// message decodes one DNS message sent to client and learns its names.
func (d *decoder) message(client netip.Addr, msg []byte, now time.Time) {
	if err := d.dns.DecodeFromBytes(msg, gopacket.NilDecodeFeedback); err != nil {
		d.stats.malformed.Add(1)
		return
	}
	name, as := d.answers(&d.dns)
	if len(as) == 0 {
		return
	}
	d.stats.answers.Add(1)
	d.stats.addresses.Add(uint64(len(as)))
	d.learn(client, name, as, now)
}

// answers returns the queried name of a decoded message and the addresses
// its answer section gives for it, directly or through a CNAME chain;
// none if it is no answer to learn from.
func (d *decoder) answers(m *layers.DNS) (string, []answer) {
	d.ans = d.ans[:0]
	if !m.QR || m.OpCode != layers.DNSOpCodeQuery || m.ResponseCode != layers.DNSResponseCodeNoErr || m.TC ||
		len(m.Questions) == 0 || m.Questions[0].Class != layers.DNSClassIN {
		return "", nil
	}
	q := m.Questions[0].Name
	if !printable(q) {
		return "", nil
	}
	d.chain = append(d.chain[:0], link{name: q, ttl: ^uint32(0)})
	// Follow the CNAMEs whatever their order: each pass adds the targets
	// of the names found so far, until one adds none.
	for grown := true; grown && len(d.chain) < maxChain; {
		grown = false
		for i := range m.Answers {
			rr := &m.Answers[i]
			if rr.Type != layers.DNSTypeCNAME || rr.Class != layers.DNSClassIN || d.inChain(rr.CNAME) >= 0 {
				continue
			}
			if j := d.inChain(rr.Name); j >= 0 && len(d.chain) < maxChain {
				d.chain = append(d.chain, link{name: rr.CNAME, ttl: min(d.chain[j].ttl, rr.TTL)})
				grown = true
			}
		}
	}
	for i := range m.Answers {
		rr := &m.Answers[i]
		if (rr.Type != layers.DNSTypeA && rr.Type != layers.DNSTypeAAAA) || rr.Class != layers.DNSClassIN {
			continue
		}
		j := d.inChain(rr.Name)
		if j < 0 {
			continue
		}
		a, ok := netip.AddrFromSlice(rr.IP)
		if !ok || (rr.Type == layers.DNSTypeA) != a.Is4() {
			continue
		}
		d.ans = append(d.ans, answer{addr: a, ttl: seconds(min(d.chain[j].ttl, rr.TTL))})
	}
	if len(d.ans) == 0 {
		return "", nil
	}
	// Printable ASCII: ToLower lowers the letters only.
	return strings.ToLower(string(q)), d.ans
}

// inChain returns the index of name in the chain, or -1.
func (d *decoder) inChain(name []byte) int {
	for i, l := range d.chain {
		if equalFold(l.name, name) {
			return i
		}
	}
	return -1
}

// equalFold compares two DNS names as DNS does: ASCII letters in either
// case (bytes.EqualFold would also fold other Unicode letters).
func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// printable reports whether name is one that can be shown as it is: 1 to
// 253 bytes of printable ASCII, no space (a name in an IDN is punycode,
// "xn--...").
func printable(name []byte) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// seconds is a record's TTL; one with the top bit set counts as 0 (RFC
// 2181, section 8).
func seconds(ttl uint32) time.Duration {
	if ttl > 1<<31-1 {
		return 0
	}
	return time.Duration(ttl) * time.Second
}
