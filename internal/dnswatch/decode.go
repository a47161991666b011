package dnswatch

import (
	"errors"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
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
// DNS answers give. It is used by one goroutine; its parser and buffers
// are reused from one frame to the next.
type decoder struct {
	p       dnsmessage.Parser
	streams streams

	// learn is told the names of one answer: the client it went to (its
	// destination), the queried name, and the addresses.
	learn func(client netip.Addr, name string, as []answer, now time.Time)
	ans   []answer
	chain []link // at most maxChain
	stats *counters
}

// link is a name of a CNAME chain and the shortest TTL on the way to it.
type link struct {
	name dnsmessage.Name
	ttl  uint32
}

func newDecoder(stats *counters, learn func(client netip.Addr, name string, as []answer, now time.Time)) *decoder {
	return &decoder{learn: learn, stats: stats, chain: make([]link, 0, maxChain)}
}

// frame decodes one frame that starts at its IP header.
func (d *decoder) frame(data []byte, now time.Time) {
	var p packet
	switch p.parse(data) {
	case malformed, fragment: // a fragment of an answer: not all of it is here
		d.stats.malformed.Add(1)
		return
	}
	if p.sport != dnsPort {
		return
	}
	if p.proto == protoUDP {
		d.message(p.dst, p.payload, now)
		return
	}
	seq := p.seq
	if p.syn {
		seq++ // data with a SYN (TCP Fast Open) starts after it
	}
	server, client := netip.AddrPortFrom(p.src, p.sport), netip.AddrPortFrom(p.dst, p.dport)
	d.streams.segment(server, client, seq, p.payload, p.end, now, d.stats, func(msg []byte) {
		d.message(p.dst, msg, now)
	})
}

// message decodes one DNS message sent to client and learns its names.
func (d *decoder) message(client netip.Addr, msg []byte, now time.Time) {
	name, as, err := d.answers(msg)
	if err != nil {
		d.stats.malformed.Add(1)
		return
	}
	if len(as) == 0 {
		return
	}
	d.stats.answers.Add(1)
	d.stats.addresses.Add(uint64(len(as)))
	d.learn(client, name, as, now)
}

// answers returns the queried name of a DNS message and the addresses its
// answer section gives for it, directly or through a CNAME chain; none if
// it is no answer to learn from. The error says the message is malformed:
// its sections do not parse, or a CNAME, A or AAAA record of its answers
// does not.
func (d *decoder) answers(msg []byte) (string, []answer, error) {
	d.ans, d.chain = d.ans[:0], d.chain[:0]
	h, err := d.p.Start(msg)
	if err != nil {
		return "", nil, err
	}
	q, err := d.p.Question()
	switch {
	case err == nil:
		if h.Response && h.OpCode == 0 && h.RCode == dnsmessage.RCodeSuccess && !h.Truncated &&
			q.Class == dnsmessage.ClassINET && printable(bare(&q.Name)) {
			d.chain = append(d.chain, link{name: q.Name, ttl: ^uint32(0)})
		}
	case err != dnsmessage.ErrSectionDone:
		return "", nil, err
	}
	if err := d.p.SkipAllQuestions(); err != nil {
		return "", nil, err
	}
	// One pass takes the CNAMEs in the order they come and the addresses
	// of the names they reached so far: in the usual order (the chain,
	// then its end's addresses) that is all. Only when an address was
	// passed over and the chain grew do more passes follow the CNAMEs
	// whatever their order, then take the addresses again.
	grown, missed, err := d.pass(true)
	if err != nil {
		return "", nil, err
	}
	if err := d.p.SkipAllAuthorities(); err != nil {
		return "", nil, err
	}
	if err := d.p.SkipAllAdditionals(); err != nil {
		return "", nil, err
	}
	if len(d.chain) == 0 {
		return "", nil, nil
	}
	if missed && grown {
		for grown && len(d.chain) < maxChain {
			if grown, err = d.rescan(msg, false); err != nil {
				return "", nil, err
			}
		}
		d.ans = d.ans[:0]
		if _, err := d.rescan(msg, true); err != nil {
			return "", nil, err
		}
	}
	if len(d.ans) == 0 {
		return "", nil, nil
	}
	// Printable ASCII: ToLower lowers the letters only.
	return strings.ToLower(string(bare(&d.chain[0].name))), d.ans, nil
}

// rescan parses msg again up to its answers and makes one more pass over
// them.
func (d *decoder) rescan(msg []byte, addrs bool) (grown bool, err error) {
	if _, err := d.p.Start(msg); err != nil {
		return false, err
	}
	if err := d.p.SkipAllQuestions(); err != nil {
		return false, err
	}
	grown, _, err = d.pass(addrs)
	return grown, err
}

// pass reads the answer section once. A CNAME record of class IN whose
// owner is in the chain adds its target to the chain (grown), with the
// shorter TTL of the two. With addrs, an A or AAAA record of class IN
// whose owner is in the chain adds its address, and one whose owner is
// not is passed over (missed).
func (d *decoder) pass(addrs bool) (grown, missed bool, err error) {
	for {
		h, err := d.p.AnswerHeader()
		if err == dnsmessage.ErrSectionDone {
			return grown, missed, nil
		}
		if err != nil {
			return grown, missed, err
		}
		switch {
		case h.Length == 0 || (h.Type != dnsmessage.TypeCNAME && h.Type != dnsmessage.TypeA && h.Type != dnsmessage.TypeAAAA):
			// No data (dnsmessage would read a CNAME's target from the
			// next record): it names nothing.
			if err := d.p.SkipAnswer(); err != nil {
				return grown, missed, err
			}
		case h.Type == dnsmessage.TypeCNAME:
			r, err := d.p.CNAMEResource()
			if err != nil {
				return grown, missed, err
			}
			if h.Class != dnsmessage.ClassINET || len(d.chain) >= maxChain || d.inChain(&r.CNAME) >= 0 {
				continue
			}
			if j := d.inChain(&h.Name); j >= 0 {
				d.chain = append(d.chain, link{name: r.CNAME, ttl: min(d.chain[j].ttl, h.TTL)})
				grown = true
			}
		default: // A, AAAA
			a, err := d.addr(&h)
			if err != nil {
				return grown, missed, err
			}
			if !addrs || h.Class != dnsmessage.ClassINET {
				continue
			}
			j := d.inChain(&h.Name)
			if j < 0 {
				missed = true
				continue
			}
			d.ans = append(d.ans, answer{addr: a, ttl: seconds(min(d.chain[j].ttl, h.TTL))})
		}
	}
}

// errAddrLen is an A record that is not 4 bytes, or an AAAA not 16.
var errAddrLen = errors.New("an address record of the wrong length")

// addr reads the address of the A or AAAA record whose header is h.
func (d *decoder) addr(h *dnsmessage.ResourceHeader) (netip.Addr, error) {
	if h.Type == dnsmessage.TypeA {
		if h.Length != 4 {
			return netip.Addr{}, errAddrLen
		}
		r, err := d.p.AResource()
		return netip.AddrFrom4(r.A), err
	}
	if h.Length != 16 {
		return netip.Addr{}, errAddrLen
	}
	r, err := d.p.AAAAResource()
	return netip.AddrFrom16(r.AAAA), err
}

// inChain returns the index of name in the chain, or -1.
func (d *decoder) inChain(name *dnsmessage.Name) int {
	for i := range d.chain {
		l := &d.chain[i].name
		if equalFold(l.Data[:l.Length], name.Data[:name.Length]) {
			return i
		}
	}
	return -1
}

// bare is name as it is shown: without the root's dot at its end (the
// root itself is empty).
func bare(name *dnsmessage.Name) []byte {
	if name.Length == 0 {
		return nil
	}
	return name.Data[:name.Length-1]
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
