package flowbpf

import (
	"encoding/binary"
	"testing"
)

// benchFrame builds an Ethernet frame of one packet: IPv4 or IPv6, TCP or
// UDP, payload bytes after the transport header, behind tags VLAN tags.
func benchFrame(v6, tcp bool, payload, tags int) []byte {
	f := []byte{2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa}
	for range tags {
		f = append(f, 0x81, 0, 0, 42)
	}
	th := 8
	proto := byte(17)
	if tcp {
		th, proto = 20, 6
	}
	if v6 {
		f = append(f, 0x86, 0xdd)
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(th+payload))
		ip[6], ip[7] = proto, 64
		ip[8], ip[23], ip[24], ip[39] = 0x20, 1, 0x20, 2
		f = append(f, ip...)
	} else {
		f = append(f, 8, 0)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+th+payload))
		ip[8], ip[9] = 64, proto
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
		f = append(f, ip...)
	}
	t := make([]byte, th+payload)
	binary.BigEndian.PutUint16(t[0:], 40000)
	binary.BigEndian.PutUint16(t[2:], 5201)
	if tcp {
		t[12], t[13] = 5<<4, 0x10
	}
	return append(f, t...)
}

// BenchmarkProgram is the ingress program's own cost per packet
// (BPF_PROG_TEST_RUN, the kernel's clock around its runs) on frames of a
// flow already in the map: the path every packet but a flow's first takes.
func BenchmarkProgram(b *testing.B) {
	for _, c := range []struct {
		name  string
		frame []byte
	}{
		{"udp4-64", benchFrame(false, false, 64, 0)},
		{"tcp4-1448", benchFrame(false, true, 1448, 0)},
		{"udp6-64", benchFrame(true, false, 64, 0)},
		{"vlan-tcp4-1448", benchFrame(false, true, 1448, 1)},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctr := load(b, Options{})
			if err := ctr.RunIngress(c.frame, 0, 0); err != nil { // the first packet: into the map
				b.Fatal(err)
			}
			b.ResetTimer()
			ns, err := ctr.BenchmarkIngress(c.frame, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ns, "prog-ns/run")
		})
	}
}
