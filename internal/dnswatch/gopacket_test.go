package dnswatch

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The decoder reads IP, UDP and TCP by hand and DNS with x/net's
// dnsmessage; before, it used gopacket's layers (which the binary no
// longer links). The fuzz targets here hold it to what gopacket makes of
// the same bytes: whatever gopacket decodes, the decoder decodes the same
// way. (It may take more than gopacket: IPv4 and TCP options are not
// checked, an IPv6 payload length 0 is the rest of the packet.)

// corpus returns the seeds of FuzzFrame or FuzzMessage in testdata: the
// first []byte value of each file.
func corpus(t testing.TB, fuzz string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", fuzz, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds for %s: %v", fuzz, err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The first value of the file: []byte("...") on its second line.
		_, v, _ := strings.Cut(string(b), "\n[]byte(")
		v, _, _ = strings.Cut(v, ")\n")
		s, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// FuzzPacketAsGopacket compares the decoder's IP, UDP and TCP header
// reading with gopacket's.
func FuzzPacketAsGopacket(f *testing.F) {
	for _, b := range corpus(f, "FuzzFrame") {
		f.Add(b)
	}
	var (
		ip4 layers.IPv4
		ip6 layers.IPv6
		udp layers.UDP
		tcp layers.TCP
	)
	p4 := gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &ip4, &udp, &tcp)
	p6 := gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, &ip6, &udp, &tcp)
	p4.IgnoreUnsupported, p6.IgnoreUnsupported = true, true
	f.Fuzz(func(t *testing.T, data []byte) {
		var p packet
		st := p.parse(data)
		if len(data) == 0 || (data[0]>>4 != 4 && data[0]>>4 != 6) {
			if st != malformed {
				t.Fatalf("version %d: %v", data[0]>>4, st)
			}
			return
		}
		gp, v6 := p4, data[0]>>4 == 6
		if v6 {
			gp = p6
		}
		var found []gopacket.LayerType
		if err := gp.DecodeLayers(data, &found); err != nil || len(found) < 2 ||
			(found[1] != layers.LayerTypeUDP && found[1] != layers.LayerTypeTCP) {
			return // gopacket takes less, or IP in IP: no comparison
		}
		if !v6 && (ip4.Flags&layers.IPv4MoreFragments != 0 || ip4.FragOffset != 0) {
			if st != fragment {
				t.Fatalf("an IPv4 fragment: %v", st)
			}
			return
		}
		if v6 && ip6.HopByHop != nil {
			return // the kernel filter passes no extension headers
		}
		if st != parsed {
			t.Fatalf("gopacket decodes %v, the decoder says %v", found, st)
		}
		src, dst := ip4.SrcIP, ip4.DstIP
		if v6 {
			src, dst = ip6.SrcIP, ip6.DstIP
		}
		want := packet{src: addrOfSlice(src), dst: addrOfSlice(dst)}
		switch found[1] {
		case layers.LayerTypeUDP:
			want.proto, want.sport, want.dport, want.payload = protoUDP, uint16(udp.SrcPort), uint16(udp.DstPort), udp.Payload
		case layers.LayerTypeTCP:
			want.proto, want.sport, want.dport, want.payload = protoTCP, uint16(tcp.SrcPort), uint16(tcp.DstPort), tcp.Payload
			want.seq, want.syn, want.end = tcp.Seq, tcp.SYN, tcp.FIN || tcp.RST
		}
		if p.src != want.src || p.dst != want.dst || p.proto != want.proto || p.sport != want.sport || p.dport != want.dport ||
			p.seq != want.seq || p.syn != want.syn || p.end != want.end || !bytes.Equal(p.payload, want.payload) {
			t.Fatalf("decoder %+v\ngopacket %+v", p, want)
		}
	})
}

func addrOfSlice(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzMessageAsGopacket compares the names and addresses the decoder
// learns from a DNS message with those the former decoder learnt from
// gopacket's decoding of it, when both decode it. (They may differ on
// what is malformed: dnsmessage refuses a label with a dot in it and more
// than 10 compression pointers in a name; gopacket decodes the records of
// every type in every section. And a CNAME without data is one to the root
// for gopacket, nothing for the decoder.)
func FuzzMessageAsGopacket(f *testing.F) {
	for _, b := range corpus(f, "FuzzMessage") {
		f.Add(b)
	}
	var st counters
	d := newDecoder(&st, nil)
	var m layers.DNS
	f.Fuzz(func(t *testing.T, msg []byte) {
		name, as, err := d.answers(msg)
		if m.DecodeFromBytes(msg, gopacket.NilDecodeFeedback) != nil || err != nil {
			return
		}
		for _, rr := range m.Answers {
			if rr.Type == layers.DNSTypeCNAME && rr.DataLength == 0 {
				return // gopacket's is a CNAME to the root; the decoder's names nothing
			}
		}
		wname, was := gopacketAnswers(&m)
		if name != wname || len(as) != len(was) {
			t.Fatalf("decoder %q %v, gopacket %q %v", name, as, wname, was)
		}
		for i := range as {
			if as[i] != was[i] {
				t.Fatalf("decoder %q %v, gopacket %q %v", name, as, wname, was)
			}
		}
	})
}

// gopacketAnswers is what the decoder did with gopacket's decoding of a
// message (the code it had): the queried name and the addresses.
func gopacketAnswers(m *layers.DNS) (string, []answer) {
	if !m.QR || m.OpCode != layers.DNSOpCodeQuery || m.ResponseCode != layers.DNSResponseCodeNoErr || m.TC ||
		len(m.Questions) == 0 || m.Questions[0].Class != layers.DNSClassIN {
		return "", nil
	}
	q := m.Questions[0].Name
	if !printable(q) {
		return "", nil
	}
	type link struct {
		name []byte
		ttl  uint32
	}
	inChain := func(chain []link, name []byte) int {
		for i, l := range chain {
			if equalFold(l.name, name) {
				return i
			}
		}
		return -1
	}
	chain := []link{{name: q, ttl: ^uint32(0)}}
	for grown := true; grown && len(chain) < maxChain; {
		grown = false
		for i := range m.Answers {
			rr := &m.Answers[i]
			if rr.Type != layers.DNSTypeCNAME || rr.Class != layers.DNSClassIN || inChain(chain, rr.CNAME) >= 0 {
				continue
			}
			if j := inChain(chain, rr.Name); j >= 0 && len(chain) < maxChain {
				chain = append(chain, link{name: rr.CNAME, ttl: min(chain[j].ttl, rr.TTL)})
				grown = true
			}
		}
	}
	var as []answer
	for i := range m.Answers {
		rr := &m.Answers[i]
		if (rr.Type != layers.DNSTypeA && rr.Type != layers.DNSTypeAAAA) || rr.Class != layers.DNSClassIN {
			continue
		}
		j := inChain(chain, rr.Name)
		if j < 0 {
			continue
		}
		a, ok := netip.AddrFromSlice(rr.IP)
		if !ok || (rr.Type == layers.DNSTypeA) != a.Is4() {
			continue
		}
		as = append(as, answer{addr: a, ttl: seconds(min(chain[j].ttl, rr.TTL))})
	}
	if len(as) == 0 {
		return "", nil
	}
	return strings.ToLower(string(q)), as
}
