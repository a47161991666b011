package dnswatch

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/gohogs/gohogs/internal/dnstest"
)

var (
	edge4 = netip.MustParseAddr("10.1.2.3")
	edge6 = netip.MustParseAddr("fd00:1::3")
	v4    = netip.MustParseAddr("10.1.2.4")
	v6    = netip.MustParseAddr("fd00:1::6")
)

// expect checks what each address is named now.
func (tw *testWatcher) expect(t *testing.T, want map[netip.Addr]string) {
	t.Helper()
	for a, n := range want {
		if got := tw.Lookup(a); got != n {
			t.Errorf("Lookup(%v) = %q, want %q", a, got, n)
		}
	}
}

func TestUDPAnswers(t *testing.T) {
	for _, ends := range [][2]netip.AddrPort{{server4, client4}, {server6, client6}} {
		tw := newTestWatcher(Options{})
		tw.feed(
			udpFrame(t, ends[0], ends[1], reply(t, "v4.example.test", layers.DNSTypeA)),
			udpFrame(t, ends[0], ends[1], reply(t, "v6.example.test", layers.DNSTypeAAAA)),
			udpFrame(t, ends[0], ends[1], reply(t, "files.example.test", layers.DNSTypeA)),
			udpFrame(t, ends[0], ends[1], reply(t, "files.example.test", layers.DNSTypeAAAA)),
		)
		tw.expect(t, map[netip.Addr]string{v4: "v4.example.test", v6: "v6.example.test",
			edge4: "files.example.test", edge6: "files.example.test", netip.MustParseAddr("10.1.2.5"): ""})
		if s := tw.Stats(); s.Frames != 4 || s.Answers != 4 || s.Addresses != 4 || s.Names != 4 || s.Malformed != 0 {
			t.Errorf("%v: stats %+v", ends[0], s)
		}
		// The connection of the client that asked.
		if n := tw.Name(6, client4, netip.AddrPortFrom(edge4, 443)); n != "files.example.test" {
			t.Errorf("Name = %q", n)
		}
	}
}

// answerOf builds a message by hand: question q, the records given.
func answerOf(q string, rrs ...layers.DNSResourceRecord) *layers.DNS {
	m := dnstest.Reply(1, q, layers.DNSTypeA, nil)
	m.ResponseCode = layers.DNSResponseCodeNoErr
	m.Answers = rrs
	return m
}

func cname(owner, target string, ttl uint32) layers.DNSResourceRecord {
	return layers.DNSResourceRecord{Name: []byte(owner), Type: layers.DNSTypeCNAME, Class: layers.DNSClassIN, TTL: ttl, CNAME: []byte(target)}
}

func aRecord(owner string, a netip.Addr, ttl uint32) layers.DNSResourceRecord {
	typ := layers.DNSTypeA
	if a.Is6() {
		typ = layers.DNSTypeAAAA
	}
	return layers.DNSResourceRecord{Name: []byte(owner), Type: typ, Class: layers.DNSClassIN, TTL: ttl, IP: a.AsSlice()}
}

func (tw *testWatcher) feedMsg(t *testing.T, m *layers.DNS) {
	t.Helper()
	b, err := dnstest.Bytes(m)
	if err != nil {
		t.Fatal(err)
	}
	tw.feed(udpFrame(t, server4, client4, b))
}

// TestChain: a chain in any order and any case leads back to the question
// as it was asked, lower-cased; its name lasts the shortest TTL of the
// chain; records off the chain name nothing.
func TestChain(t *testing.T) {
	tw := newTestWatcher(Options{MinTTL: time.Second})
	other := netip.MustParseAddr("10.7.7.7")
	tw.feedMsg(t, answerOf("WwW.Example.TEST",
		aRecord("c.cdn.test", edge4, 600),
		cname("b.cdn.test", "C.cdn.test", 30),
		cname("www.example.test", "b.cdn.test", 900),
		aRecord("unrelated.test", other, 600),
	))
	tw.expect(t, map[netip.Addr]string{edge4: "www.example.test", other: ""})
	tw.now = tw.now.Add(29 * time.Second)
	tw.expect(t, map[netip.Addr]string{edge4: "www.example.test"})
	tw.now = tw.now.Add(2 * time.Second)
	tw.expect(t, map[netip.Addr]string{edge4: ""})

	// A loop of CNAMEs ends; an address under it still names.
	tw.feedMsg(t, answerOf("loop.test", cname("loop.test", "x.test", 60), cname("x.test", "loop.test", 60),
		aRecord("x.test", v4, 60)))
	tw.expect(t, map[netip.Addr]string{v4: "loop.test"})
}

// TestIgnored: what is not an answer to learn from names nothing, and is
// not malformed.
func TestIgnored(t *testing.T) {
	tw := newTestWatcher(Options{})
	a := aRecord("x.test", v4, 60)
	nx := answerOf("x.test", a)
	nx.ResponseCode = layers.DNSResponseCodeNXDomain
	query := answerOf("x.test", a)
	query.QR = false
	tc := answerOf("x.test", a)
	tc.TC = true
	chaos := answerOf("x.test", a)
	chaos.Questions[0].Class = layers.DNSClassCH
	ctl := answerOf("x\x01.test", aRecord("x\x01.test", v4, 60))
	for _, m := range []*layers.DNS{nx, query, tc, chaos, ctl} {
		tw.feedMsg(t, m)
	}
	// Not from port 53.
	tw.feed(udpFrame(t, netip.AddrPortFrom(server4.Addr(), 5353), client4, reply(t, "v4.example.test", layers.DNSTypeA)))
	tw.expect(t, map[netip.Addr]string{v4: ""})
	if s := tw.Stats(); s.Answers != 0 || s.Names != 0 || s.Malformed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestMalformed: a message or frame that does not decode is counted and
// changes nothing; the next good answer is learnt.
func TestMalformed(t *testing.T) {
	tw := newTestWatcher(Options{})
	good := reply(t, "v4.example.test", layers.DNSTypeA)
	tw.feed(
		udpFrame(t, server4, client4, good[:len(good)-3]),      // cut short
		udpFrame(t, server4, client4, []byte{1, 2, 3}),         // shorter than a header
		udpFrame(t, server4, client4, append(good[:12:12], 0)), // counts records that are not there
		[]byte{0x45, 0, 0}, // an IPv4 header cut short
		nil,
	)
	if s := tw.Stats(); s.Malformed != 5 || s.Answers != 0 || s.Names != 0 {
		t.Errorf("after malformed frames: %+v", s)
	}
	tw.feed(udpFrame(t, server4, client4, good))
	tw.expect(t, map[netip.Addr]string{v4: "v4.example.test"})
	if s := tw.Stats(); s.Malformed != 5 || s.Answers != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestTCP: messages are length-prefixed, several to a segment or one
// across several; a retransmission is ignored; after a gap the stream's
// segments are skipped until it ends.
func TestTCP(t *testing.T) {
	tw := newTestWatcher(Options{})
	m1 := prefixed(reply(t, "v4.example.test", layers.DNSTypeA))
	m2 := prefixed(reply(t, "v6.example.test", layers.DNSTypeAAAA))
	m3 := prefixed(reply(t, "files.example.test", layers.DNSTypeA))
	seq := uint32(1 << 31)
	// m1 and the first 5 bytes of m2; the rest of m2 in two segments, one
	// of them retransmitted; then m3 whole.
	s1 := append(append([]byte(nil), m1...), m2[:5]...)
	s2, s3 := m2[5:20], m2[20:]
	tw.feed(
		tcpFrame(t, server4, client4, seq, false, s1),
		tcpFrame(t, server4, client4, seq+uint32(len(s1)), false, s2),
		tcpFrame(t, server4, client4, seq+uint32(len(s1)), false, s2),
	)
	tw.expect(t, map[netip.Addr]string{v4: "v4.example.test", v6: ""})
	next := seq + uint32(len(s1)+len(s2))
	tw.feed(tcpFrame(t, server4, client4, next, false, s3))
	next += uint32(len(s3))
	tw.feed(tcpFrame(t, server4, client4, next, true, m3))
	tw.expect(t, map[netip.Addr]string{v4: "v4.example.test", v6: "v6.example.test", edge4: "files.example.test"})
	if s := tw.Stats(); s.Answers != 3 || s.TCPSkipped != 0 || s.Malformed != 0 {
		t.Errorf("stats %+v", s)
	}
	if n := len(tw.d.streams.s); n != 0 {
		t.Errorf("%d streams left after the last message", n)
	}

	// IPv6, a gap: the segment after it and the rest are skipped until
	// the FIN, which also ends the stream's state.
	tw = newTestWatcher(Options{})
	m := prefixed(reply(t, "files.example.test", layers.DNSTypeAAAA))
	tw.feed(
		tcpFrame(t, server6, client6, 100, false, m[:10]),
		tcpFrame(t, server6, client6, 100+20, false, m[20:30]),
		tcpFrame(t, server6, client6, 100+30, true, m[30:]),
	)
	tw.expect(t, map[netip.Addr]string{edge6: ""})
	if s := tw.Stats(); s.TCPSkipped != 2 || s.Answers != 0 || len(tw.d.streams.s) != 0 {
		t.Errorf("stats %+v, %d streams", s, len(tw.d.streams.s))
	}
	tw.feed(tcpFrame(t, server6, client6, 5000, false, m))
	tw.expect(t, map[netip.Addr]string{edge6: "files.example.test"})
}

// TestTCPStreamsBounded: many streams each left inside a message keep at
// most maxStreams joined; the ones pushed out are counted.
func TestTCPStreamsBounded(t *testing.T) {
	tw := newTestWatcher(Options{})
	m := prefixed(reply(t, "v4.example.test", layers.DNSTypeA))
	for i := range 100 {
		c := netip.AddrPortFrom(client4.Addr(), uint16(1000+i))
		tw.feed(tcpFrame(t, server4, c, 1, false, m[:7]))
		tw.now = tw.now.Add(time.Millisecond)
	}
	if n := len(tw.d.streams.s); n != maxStreams {
		t.Errorf("%d streams, want %d", n, maxStreams)
	}
	if s := tw.Stats(); s.TCPSkipped != 100-maxStreams {
		t.Errorf("skipped %d, want %d", s.TCPSkipped, 100-maxStreams)
	}
	// Idle ones are forgotten when a new one comes.
	tw.now = tw.now.Add(streamIdle)
	tw.feed(tcpFrame(t, server4, client4, 1, false, m[:7]))
	if n := len(tw.d.streams.s); n != 1 {
		t.Errorf("%d streams after the idle ones, want 1", n)
	}
}

// TestPadding: bytes after the IP packet (a short frame's link padding,
// which the socket reads too) are not part of its datagram or segment.
func TestPadding(t *testing.T) {
	pad := func(f []byte) []byte { return append(f, make([]byte, 17)...) }
	tw := newTestWatcher(Options{})
	tw.feed(
		pad(udpFrame(t, server4, client4, reply(t, "v4.example.test", layers.DNSTypeA))),
		pad(udpFrame(t, server6, client6, reply(t, "v6.example.test", layers.DNSTypeAAAA))),
	)
	tw.expect(t, map[netip.Addr]string{v4: "v4.example.test", v6: "v6.example.test"})
	// A message across two padded segments: the padding would be read as
	// the message's next bytes.
	m := prefixed(reply(t, "files.example.test", layers.DNSTypeA))
	tw.feed(
		pad(tcpFrame(t, server4, client4, 1, false, m[:9])),
		pad(tcpFrame(t, server4, client4, 10, true, m[9:])),
	)
	tw.expect(t, map[netip.Addr]string{edge4: "files.example.test"})
	if s := tw.Stats(); s.Answers != 3 || s.Malformed != 0 || s.TCPSkipped != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestLargePacket: an IPv4 total length or IPv6 payload length of 0 (a
// packet the kernel has not cut up yet, larger than 64 KiB) is the rest of
// the packet.
func TestLargePacket(t *testing.T) {
	tw := newTestWatcher(Options{})
	f4 := udpFrame(t, server4, client4, reply(t, "v4.example.test", layers.DNSTypeA))
	f4[2], f4[3] = 0, 0
	f6 := tcpFrame(t, server6, client6, 1, true, prefixed(reply(t, "v6.example.test", layers.DNSTypeAAAA)))
	f6[4], f6[5] = 0, 0
	tw.feed(f4, f6)
	tw.expect(t, map[netip.Addr]string{v4: "v4.example.test", v6: "v6.example.test"})
	if s := tw.Stats(); s.Answers != 2 || s.Malformed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestNotAnAnswer: IP packets that carry no UDP or TCP, fragments and
// cut headers are counted as malformed; other UDP is left alone.
func TestNotAnAnswer(t *testing.T) {
	tw := newTestWatcher(Options{})
	udp := udpFrame(t, server4, client4, reply(t, "v4.example.test", layers.DNSTypeA))
	icmp := bytes.Clone(udp)
	icmp[9] = 1
	frag := bytes.Clone(udp)
	frag[6] = 0x20 // more fragments
	v5 := bytes.Clone(udp)
	v5[0] = 0x55
	tcp := tcpFrame(t, server4, client4, 1, false, prefixed(reply(t, "v4.example.test", layers.DNSTypeA)))
	tcpShort := bytes.Clone(tcp)
	tcpShort[20+12] = 4 << 4 // a TCP header of 16 bytes
	udpShort := bytes.Clone(udp)
	udpShort[20+5] = 7 // a UDP length of 7
	tw.feed(icmp, frag, v5, tcpShort, udpShort, udp[:20+7], tcp[:20+19])
	if s := tw.Stats(); s.Malformed != 7 || s.Answers != 0 {
		t.Errorf("stats %+v", s)
	}
	tw.feed(udpFrame(t, netip.AddrPortFrom(server4.Addr(), 5353), client4, reply(t, "v4.example.test", layers.DNSTypeA)))
	if s := tw.Stats(); s.Malformed != 7 || s.Answers != 0 {
		t.Errorf("stats %+v", s)
	}
}
