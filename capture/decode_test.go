package capture

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDecodeCases(t *testing.T) {
	for _, c := range decodeCases() {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			if err := Decode(c.link, c.data, &p); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := c.want
			want.Length, want.CaptureLength = len(c.data), len(c.data)
			if want.Proto == ProtoTCP && want.HasPorts {
				want.TCPFlags = 0x10 // every test segment is an ACK
			}
			if p != want {
				t.Fatalf("got  %+v\nwant %+v", p, want)
			}
		})
	}
}

// TestDecodeTruncations cuts every case at every byte offset: shorter than
// the headers it needs, it is an error; from there on it decodes to the
// same fields.
func TestDecodeTruncations(t *testing.T) {
	for _, c := range decodeCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.need > len(c.data) {
				t.Fatalf("bad case: need %d > %d bytes", c.need, len(c.data))
			}
			for k := 0; k <= len(c.data); k++ {
				// A fresh copy exactly k bytes long, so that a read past
				// the end would panic rather than see the rest.
				d := bytes.Clone(c.data[:k])
				var p Packet
				err := Decode(c.link, d, &p)
				if k < c.need {
					if err == nil {
						t.Fatalf("cut at %d of %d (need %d): no error, got %+v", k, len(c.data), c.need, p)
					}
					if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadHeader) {
						t.Fatalf("cut at %d: unexpected error %v", k, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("cut at %d of %d (need %d): %v", k, len(c.data), c.need, err)
				}
				want := c.want
				want.Length, want.CaptureLength = k, k
				if want.Proto == ProtoTCP && want.HasPorts && p.TCPFlags != 0 {
					// Captured as far as the flags byte (they are
					// optional: a shorter capture still has the ports).
					want.TCPFlags = 0x10
				}
				if p != want {
					t.Fatalf("cut at %d: got %+v\nwant %+v", k, p, want)
				}
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	tcp4 := ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(1, 2, 20))
	mod := func(b []byte, f func([]byte)) []byte { b = bytes.Clone(b); f(b); return b }
	cases := []struct {
		name string
		link LinkType
		data []byte
		want error
	}{
		{"ihl-too-small", LinkRaw, mod(tcp4, func(b []byte) { b[0] = 0x44 }), ErrBadHeader},
		{"ihl-past-capture", LinkRaw, mod(tcp4, func(b []byte) { b[0] = 0x4f; b[2], b[3] = 0, 60 })[:50], ErrTruncated},
		{"total-length-below-header", LinkRaw, mod(tcp4, func(b []byte) { b[2], b[3] = 0, 19 }), ErrBadHeader},
		{"ethertype-ipv4-but-version-6", LinkEthernet, eth(0x0800, ip6(v6A, v6B, ProtoUDP, udp(1, 2, 0))), ErrBadHeader},
		{"ethertype-ipv6-but-version-4", LinkEthernet, eth(0x86dd, cat(tcp4, make([]byte, 40))), ErrBadHeader},
		{"raw-version-5", LinkRaw, mod(tcp4, func(b []byte) { b[0] = 0x55 }), ErrBadHeader},
		{"raw-empty", LinkRaw, nil, ErrTruncated},
		{"ah-length-zero", LinkRaw, ip6(v6A, v6B, 51, cat([]byte{byte(ProtoUDP), 0}, make([]byte, 30))), ErrBadHeader},
		{"ext-header-past-capture", LinkRaw, ip6(v6A, v6B, 0, cat([]byte{byte(ProtoUDP), 200}, make([]byte, 30))), ErrTruncated},
		{"vlan-cut", LinkEthernet, eth(0x8100, []byte{0, 1}), ErrTruncated},
		{"unknown-link", LinkType(9999), tcp4, ErrUnknownLink},
	}
	for _, c := range cases {
		var p Packet
		if err := Decode(c.link, c.data, &p); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// TestDecodeOverwrites checks that Decode leaves nothing of a previous
// packet behind.
func TestDecodeOverwrites(t *testing.T) {
	junk := Packet{Timestamp: time.Unix(1, 2), Length: 9, CaptureLength: 9, IfIndex: 3, Type: PacketOutgoing,
		Version: 6, Proto: 99, Src: v6A, Dst: v6B, SrcPort: 1, DstPort: 2, HasPorts: true, Fragment: true}
	for _, c := range decodeCases() {
		var fresh Packet
		p := junk
		e1 := Decode(c.link, c.data, &fresh)
		e2 := Decode(c.link, c.data, &p)
		if e1 != e2 || p != fresh {
			t.Errorf("%s: decode into a used Packet differs: %+v vs %+v", c.name, p, fresh)
		}
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	cases := decodeCases()
	var p Packet
	n := testing.AllocsPerRun(200, func() {
		for _, c := range cases {
			_ = Decode(c.link, c.data, &p)
			_ = Decode(c.link, c.data[:c.need-1], &p) // error path too
		}
	})
	if n != 0 {
		t.Fatalf("Decode allocates %v times per round", n)
	}
}

// TestDecodeMatchesGopacket decodes the benchmark mix and the Ethernet
// cases with gopacket's layers too: both decoders must agree.
func TestDecodeMatchesGopacket(t *testing.T) {
	g := newGopacketDecoder()
	frames := benchMix()
	for _, c := range decodeCases() {
		if c.link == LinkEthernet && !strings.Contains(c.name, "routing") && !strings.Contains(c.name, "-dst-") && !strings.Contains(c.name, "ah-") &&
			!strings.Contains(c.name, "no-next") && !strings.Contains(c.name, "fragment") && !strings.Contains(c.name, "qinq-9100") {
			frames = append(frames, c.data)
		}
	}
	for i, f := range frames {
		var a, b Packet
		if err := Decode(LinkEthernet, f, &a); err != nil {
			t.Fatalf("frame %d: Decode: %v", i, err)
		}
		if err := g.decode(f, &b); err != nil {
			t.Fatalf("frame %d: gopacket: %v", i, err)
		}
		if a != b {
			t.Errorf("frame %d: Decode %+v\n gopacket %+v", i, a, b)
		}
	}
}

// fuzzLinks are the link types FuzzDecode tries; the fuzzer's selector
// picks one.
var fuzzLinks = []LinkType{LinkEthernet, LinkLinuxSLL, LinkSLL2, LinkRaw, LinkRawAlt, LinkRawIP, LinkNull, LinkLoop, LinkIPv4, LinkIPv6}

func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases() {
		for i, l := range fuzzLinks {
			if l == c.link {
				f.Add(uint8(i), c.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		link := fuzzLinks[int(sel)%len(fuzzLinks)]
		// Exact length and capacity: reading past it would panic.
		data = bytes.Clone(data)[:len(data):len(data)]
		var p Packet
		err := Decode(link, data, &p)
		if p.Length != len(data) || p.CaptureLength != len(data) || !p.Timestamp.IsZero() {
			t.Fatalf("lengths or time not reset: %+v", p)
		}
		// Decoding into a used Packet gives the same result.
		q := Packet{Version: 9, Proto: 200, Src: v6A, Dst: v4A, SrcPort: 7, HasPorts: true, Fragment: true, IfIndex: 9, Type: 3}
		if err2 := Decode(link, data, &q); err2 != err || (err == nil && q != p) {
			t.Fatalf("not deterministic: %v %+v vs %v %+v", err, p, err2, q)
		}
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadHeader) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		switch p.Version {
		case 0:
			if p.Src.IsValid() || p.Dst.IsValid() || p.Proto != 0 || p.HasPorts || p.Fragment {
				t.Fatalf("non-IP packet with IP fields: %+v", p)
			}
		case 4:
			if !p.Src.Is4() || !p.Dst.Is4() {
				t.Fatalf("IPv4 packet with non-4-byte addresses: %+v", p)
			}
			// The addresses are the bytes of an IPv4 header in data.
			s, d := p.Src.As4(), p.Dst.As4()
			if !bytes.Contains(data, append(s[:], d[:]...)) {
				t.Fatalf("IPv4 addresses %v %v not in the frame", p.Src, p.Dst)
			}
		case 6:
			if !p.Src.Is6() || !p.Dst.Is6() || p.Src.Zone() != "" {
				t.Fatalf("IPv6 packet with bad addresses: %+v", p)
			}
			s, d := p.Src.As16(), p.Dst.As16()
			if !bytes.Contains(data, append(s[:], d[:]...)) {
				t.Fatalf("IPv6 addresses %v %v not in the frame", p.Src, p.Dst)
			}
		default:
			t.Fatalf("bad version %d", p.Version)
		}
		if p.HasPorts {
			switch p.Proto {
			case ProtoTCP, ProtoUDP, 33, 132, 136:
			default:
				t.Fatalf("ports on protocol %d", p.Proto)
			}
		} else if p.SrcPort != 0 || p.DstPort != 0 {
			t.Fatalf("ports without HasPorts: %+v", p)
		}
		switch link {
		case LinkLinuxSLL, LinkSLL2:
		default:
			if p.Type != PacketUnknown || p.IfIndex != 0 {
				t.Fatalf("packet type or ifindex from a link that has none: %+v", p)
			}
		}
		// More captured bytes never change a successful decode.
		var r Packet
		longer := append(bytes.Clone(data), make([]byte, 64)...)
		if err := Decode(link, longer, &r); err != nil {
			t.Fatalf("decodes at %d bytes but not with 64 more: %v", len(data), err)
		}
		r.Length, r.CaptureLength = p.Length, p.CaptureLength
		if r != p {
			t.Fatalf("64 more bytes change the decode: %+v vs %+v", r, p)
		}
	})
}

// TestWriteFuzzSeeds (re)writes the seed corpus in testdata/fuzz/FuzzDecode
// from decodeCases when GOHOGS_WRITE_SEEDS=1; otherwise it checks that the
// corpus is there.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if os.Getenv("GOHOGS_WRITE_SEEDS") != "1" {
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) < len(decodeCases()) {
			t.Fatalf("seed corpus %s missing or short (%d files, %v): run GOHOGS_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds", dir, len(ents), err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range decodeCases() {
		sel := -1
		for i, l := range fuzzLinks {
			if l == c.link {
				sel = i
			}
		}
		if sel < 0 {
			continue
		}
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		b.WriteString("uint8(" + strconv.Itoa(sel) + ")\n")
		b.WriteString("[]byte(" + quoteBytes(c.data) + ")\n")
		if err := os.WriteFile(filepath.Join(dir, c.name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func quoteBytes(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		s.WriteString(`\x`)
		s.WriteByte("0123456789abcdef"[c>>4])
		s.WriteByte("0123456789abcdef"[c&15])
	}
	s.WriteByte('"')
	return s.String()
}

// BenchmarkDecode decodes a realistic mix with the hand-written decoder;
// one op is one packet.
func BenchmarkDecode(b *testing.B) {
	mix := benchMix()
	var p Packet
	var ports uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := Decode(LinkEthernet, mix[i%len(mix)], &p); err != nil {
			b.Fatal(err)
		}
		ports += uint64(p.SrcPort)
	}
	if ports == 0 {
		b.Fatal("no ports decoded")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}

// BenchmarkDecodeGopacket decodes the same mix with gopacket's
// DecodingLayerParser, into the same Packet record.
func BenchmarkDecodeGopacket(b *testing.B) {
	mix := benchMix()
	g := newGopacketDecoder()
	var p Packet
	var ports uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := g.decode(mix[i%len(mix)], &p); err != nil {
			b.Fatal(err)
		}
		ports += uint64(p.SrcPort)
	}
	if ports == 0 {
		b.Fatal("no ports decoded")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}
