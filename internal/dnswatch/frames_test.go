package dnswatch

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/gohogs/gohogs/internal/dnstest"
)

// Addresses of the frames the tests build: a resolver and its client.
var (
	server4 = netip.MustParseAddrPort("10.9.0.53:53")
	client4 = netip.MustParseAddrPort("10.9.0.5:40000")
	server6 = netip.MustParseAddrPort("[fd00:9::53]:53")
	client6 = netip.MustParseAddrPort("[fd00:9::5]:40000")
)

// zone is the records the tests answer from.
var zone = []dnstest.Record{
	{Name: "v4.example.test", Addr: netip.MustParseAddr("10.1.2.4"), TTL: 300},
	{Name: "v6.example.test", Addr: netip.MustParseAddr("fd00:1::6"), TTL: 300},
	{Name: "files.example.test", Target: "edge.cdn.test", TTL: 3600},
	{Name: "edge.cdn.test", Addr: netip.MustParseAddr("10.1.2.3"), TTL: 120},
	{Name: "edge.cdn.test", Addr: netip.MustParseAddr("fd00:1::3"), TTL: 120},
}

// reply is the serialized answer to name of type qtype from zone.
func reply(t testing.TB, name string, qtype layers.DNSType) []byte {
	t.Helper()
	b, err := dnstest.Bytes(dnstest.Reply(7, name, qtype, zone))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// udpFrame is a UDP packet from src to dst carrying payload, from its IP
// header on (as the socket reads it).
func udpFrame(t testing.TB, src, dst netip.AddrPort, payload []byte) []byte {
	t.Helper()
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	return ipFrame(t, src.Addr(), dst.Addr(), layers.IPProtocolUDP, udp, payload)
}

// tcpFrame is a TCP segment from src to dst at sequence number seq.
func tcpFrame(t testing.TB, src, dst netip.AddrPort, seq uint32, fin bool, payload []byte) []byte {
	t.Helper()
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, ACK: true,
		PSH: len(payload) > 0, FIN: fin, Window: 65535}
	return ipFrame(t, src.Addr(), dst.Addr(), layers.IPProtocolTCP, tcp, payload)
}

type transport interface {
	gopacket.SerializableLayer
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

func ipFrame(t testing.TB, src, dst netip.Addr, proto layers.IPProtocol, tr transport, payload []byte) []byte {
	t.Helper()
	var ip interface {
		gopacket.SerializableLayer
		gopacket.NetworkLayer
	}
	if src.Is4() {
		ip = &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	} else {
		ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	if err := tr.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, tr, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// prefixed is msg with its TCP length prefix.
func prefixed(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
}

// testWatcher is a Watcher without a socket, on a clock the test moves.
type testWatcher struct {
	*Watcher
	now time.Time
	d   *decoder
}

func newTestWatcher(opts Options) *testWatcher {
	tw := &testWatcher{now: time.Unix(1_000_000, 0)}
	opts.Now = func() time.Time { return tw.now }
	tw.Watcher = newWatcher(opts)
	tw.netns = 4026531840
	tw.d = newDecoder(&tw.stats, tw.learn)
	return tw
}

// feed decodes frames as the reader does.
func (tw *testWatcher) feed(frames ...[]byte) {
	for _, f := range frames {
		tw.stats.frames.Add(1)
		tw.d.frame(f, tw.now)
	}
}
