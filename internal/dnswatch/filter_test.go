package dnswatch

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// TestPortsFilter runs the port part of the kernel filter in x/net/bpf's
// VM: only what comes from port 53 over UDP or TCP passes, whole (the VM
// returns what the program returns, the kernel cuts it to the packet).
func TestPortsFilter(t *testing.T) {
	vm, err := bpf.NewVM(ports)
	if err != nil {
		t.Fatal(err)
	}
	msg := reply(t, "v4.example.test", layers.DNSTypeA)
	query := netip.AddrPortFrom(server4.Addr(), 53)
	withOptions := udpFrame(t, server4, client4, msg)
	// IHL 6: four bytes of options (a NOP and an end of list, padded),
	// the header grown by as much.
	withOptions = append(append(append([]byte(nil), withOptions[:20]...), 1, 0, 0, 0), withOptions[20:]...)
	withOptions[0] = 0x46
	withOptions[3] += 4
	fragment := udpFrame(t, server4, client4, msg)
	fragment[6] |= 0x20 // more fragments
	later := udpFrame(t, server4, client4, msg)
	later[7] = 10 // offset 80
	hopByHop := udpFrame(t, server6, client6, msg)
	hopByHop[6] = 0 // next header: hop-by-hop options
	for _, c := range []struct {
		name  string
		frame []byte
		pass  bool
	}{
		{"udp4 answer", udpFrame(t, server4, client4, msg), true},
		{"udp6 answer", udpFrame(t, server6, client6, msg), true},
		{"tcp4 answer", tcpFrame(t, server4, client4, 1, false, prefixed(msg)), true},
		{"tcp6 answer", tcpFrame(t, server6, client6, 1, false, prefixed(msg)), true},
		{"ipv4 options", withOptions, true},
		{"udp4 query", udpFrame(t, client4, query, msg), false},
		{"udp6 query", udpFrame(t, client6, netip.AddrPortFrom(server6.Addr(), 53), msg), false},
		{"tcp4 query", tcpFrame(t, client4, query, 1, false, prefixed(msg)), false},
		{"mdns", udpFrame(t, netip.AddrPortFrom(server4.Addr(), 5353), client4, msg), false},
		{"first fragment", fragment, true}, // counted as malformed: the answer is not all there
		{"later fragment", later, false},
		{"ipv6 extension header", hopByHop, false},
		{"not ip", []byte{0x00, 0x01, 0x08, 0x00, 0x06, 0x04}, false},
		{"icmp", append([]byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}, 0, 53, 0, 0, 0, 0, 0, 0), false},
	} {
		n, err := vm.Run(c.frame)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if pass := n >= len(c.frame); pass != c.pass || (n != 0 && n < len(c.frame)) {
			t.Errorf("%s: filter keeps %d of %d bytes; want it passed: %v", c.name, n, len(c.frame), c.pass)
		}
	}
	if _, err := bpf.Assemble(append(append([]bpf.Instruction(nil), gate...), ports...)); err != nil {
		t.Errorf("the whole filter: %v", err)
	}
}
