package dnswatch

import (
	"net/netip"
	"testing"
	"time"
)

// checkLearnt fails t if a name the decoder kept is not one that can be
// shown: printable ASCII, lower case.
func checkLearnt(t *testing.T, name string, as []answer) {
	if !printable([]byte(name)) || len(as) == 0 {
		t.Fatalf("learnt %q for %d addresses", name, len(as))
	}
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			t.Fatalf("learnt %q: not lower case", name)
		}
	}
	for _, a := range as {
		if !a.addr.IsValid() || a.ttl < 0 {
			t.Fatalf("learnt %v for %q", a, name)
		}
	}
}

// FuzzFrame feeds untrusted frames (from the IP header on, as the socket
// reads them) to the decoder, each twice (a TCP segment then looks like a
// retransmission, or starts a stream again).
func FuzzFrame(f *testing.F) {
	// testdata/fuzz/FuzzFrame holds answers over UDP and TCP, IPv4 and
	// IPv6, a CNAME chain, a message across two segments, and broken ones.
	f.Fuzz(func(t *testing.T, frame []byte) {
		var st counters
		d := newDecoder(&st, func(_ netip.Addr, name string, as []answer, _ time.Time) { checkLearnt(t, name, as) })
		now := time.Unix(1000, 0)
		d.frame(frame, now)
		d.frame(frame, now.Add(time.Second))
		if len(d.streams.s) > maxStreams {
			t.Fatalf("%d streams", len(d.streams.s))
		}
		for _, s := range d.streams.s {
			if len(s.buf) >= maxMessage {
				t.Fatalf("a stream holds %d bytes", len(s.buf))
			}
		}
	})
}

// FuzzMessage feeds an untrusted DNS message to the decoder over UDP, and
// over TCP, length-prefixed and cut into two segments at cut.
func FuzzMessage(f *testing.F) {
	// testdata/fuzz/FuzzMessage holds answers (A, AAAA, a CNAME chain, a
	// loop), an NXDOMAIN, a query, and broken ones.
	f.Fuzz(func(t *testing.T, msg []byte, cut uint16) {
		var st counters
		var udpNames []string
		d := newDecoder(&st, func(_ netip.Addr, name string, as []answer, _ time.Time) {
			checkLearnt(t, name, as)
			udpNames = append(udpNames, name)
		})
		now := time.Unix(1000, 0)
		d.message(client4.Addr(), msg, now)
		if len(msg) > 65535 {
			return
		}
		var tcpNames []string
		d.learn = func(_ netip.Addr, name string, as []answer, _ time.Time) {
			checkLearnt(t, name, as)
			tcpNames = append(tcpNames, name)
		}
		b := prefixed(msg)
		c := min(int(cut), len(b))
		emit := func(m []byte) { d.message(client4.Addr(), m, now) }
		d.streams.segment(server4, client4, 1, b[:c], false, now, &st, emit)
		d.streams.segment(server4, client4, 1+uint32(c), b[c:], true, now, &st, emit)
		if len(udpNames) != len(tcpNames) || (len(udpNames) == 1 && udpNames[0] != tcpNames[0]) {
			t.Fatalf("over UDP %q, over TCP %q", udpNames, tcpNames)
		}
		if len(d.streams.s) != 0 {
			t.Fatalf("%d streams left after the FIN", len(d.streams.s))
		}
	})
}
