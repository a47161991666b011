package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// icmpTuple is a packet as the accountant classifies ICMP and frames that
// are not IP: by ICMP type, code and echo identifier, and by EtherType.
type icmpTuple struct {
	proto          Proto
	src, dst       netip.Addr
	out            bool
	typ, code      uint8
	echo           uint16
	ether          uint16
	hasICMP, hasIP bool
}

func (k icmpTuple) String() string {
	return fmt.Sprintf("proto %d %v -> %v out=%v icmp=%v type %d code %d echo %#x ether %#04x", k.proto, k.src, k.dst, k.out,
		k.hasICMP, k.typ, k.code, k.echo, k.ether)
}

// icmpTally counts packets per icmpTuple, from a Handler and from
// Collect's batches.
type icmpTally struct {
	mu sync.Mutex
	m  map[icmpTuple]uint64
}

func (it *icmpTally) add(p *Packet, packets uint64) {
	k := icmpTuple{proto: p.Proto, src: p.Src, dst: p.Dst, out: p.Type == PacketOutgoing, typ: p.ICMPType, code: p.ICMPCode,
		echo: p.EchoID, ether: p.EtherType, hasICMP: p.HasICMP, hasIP: p.Version != 0}
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.m == nil {
		it.m = map[icmpTuple]uint64{}
	}
	it.m[k] += packets
}

func (it *icmpTally) get(k icmpTuple) uint64 {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.m[k]
}

// TestEBPFCountsICMPAndEtherType: the ebpf backend's counts carry what
// the accountant keys ICMP and frames that are not IP by, as Decode reads
// them from the afpacket backend's copies: echo requests and replies of
// two identifiers, a port unreachable, and frames of two EtherTypes from
// a packet socket, counted under the same tuples by both.
func TestEBPFCountsICMPAndEtherType(t *testing.T) {
	skipWithoutEBPF(t)
	p := netnstest.NewPair(t)
	var af, eb icmpTally
	runIn(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: BackendAFPacket}, func(pk *Packet) { af.add(pk, 1) })
	ce := runIn(t, p.NSA, Options{Interfaces: []string{p.IfA}, Backend: BackendEBPF}, func(pk *Packet) { eb.add(pk, 1) })
	collect := func() {
		if err := ce.Collect(time.Now(), func(cs []FlowCount) {
			for i := range cs {
				eb.add(&cs[i].Packet, cs[i].Packets)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Both capture: a frame of EtherType 0x88b7 has reached each.
	mark := icmpTuple{out: true, ether: 0x88b7}
	sync := func(what string) {
		t.Helper()
		a0, e0 := af.get(mark), eb.get(mark)
		eventually(t, what+": a marker frame on both captures", func() bool {
			sendEther(t, p.NSA, p.IfA, 0x88b7, 1)
			collect()
			return af.get(mark) > a0 && eb.get(mark) > e0
		})
	}
	sync("start")

	// Echo requests of two identifiers from a raw ICMP socket; B's kernel
	// answers each.
	var fd int
	do(t, p.NSA, func() (err error) {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
		return err
	})
	defer unix.Close(fd)
	ids := map[uint16]int{0x1234: 12, 0x5678: 7}
	for id, n := range ids {
		for seq := range n {
			msg := make([]byte, 64)
			msg[0] = 8
			binary.BigEndian.PutUint16(msg[4:], id)
			binary.BigEndian.PutUint16(msg[6:], uint16(seq))
			binary.BigEndian.PutUint16(msg[2:], ^onesSum(msg))
			if err := unix.Sendto(fd, msg, 0, &unix.SockaddrInet4{Addr: p.AddrB4.As4()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A datagram to a port where nothing listens: B answers port
	// unreachable (type 3, code 3).
	var uc net.Conn
	do(t, p.NSA, func() (err error) {
		uc, err = net.Dial("udp", netip.AddrPortFrom(p.AddrB4, 9).String())
		return err
	})
	defer uc.Close()
	uc.Write(make([]byte, 10))
	sendEther(t, p.NSA, p.IfA, 0x88b5, 10)
	sendEther(t, p.NSA, p.IfA, 0x88b6, 4)
	eventually(t, "the echo replies", func() bool {
		collect()
		return af.get(icmpTuple{proto: ProtoICMP, src: p.AddrB4, dst: p.AddrA4, echo: 0x5678, hasICMP: true, hasIP: true}) == 7
	})
	sync("end")

	want := map[icmpTuple]uint64{
		{out: true, ether: 0x88b5}: 10,
		{out: true, ether: 0x88b6}: 4,
		{proto: ProtoICMP, src: p.AddrB4, dst: p.AddrA4, typ: 3, code: 3, hasICMP: true, hasIP: true}: 1,
	}
	for id, n := range ids {
		want[icmpTuple{proto: ProtoICMP, src: p.AddrA4, dst: p.AddrB4, out: true, typ: 8, echo: id, hasICMP: true, hasIP: true}] = uint64(n)
		want[icmpTuple{proto: ProtoICMP, src: p.AddrB4, dst: p.AddrA4, typ: 0, echo: id, hasICMP: true, hasIP: true}] = uint64(n)
	}
	for k, n := range want {
		if a, e := af.get(k), eb.get(k); a != n || e != n {
			t.Errorf("%v: afpacket %d packets, ebpf %d, want %d", k, a, e, n)
		}
	}
}

// onesSum is the one's complement sum of b (an ICMP checksum's).
func onesSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// sendEther writes n frames of EtherType ether (not IP) to dev in ns from a
// packet socket.
func sendEther(t *testing.T, ns, dev string, ether uint16, n int) {
	t.Helper()
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1}
	f = binary.BigEndian.AppendUint16(f, ether)
	sendFrames(t, ns, dev, append(f, make([]byte, 46)...), n)
}

// sendFrames writes frame n times to interface dev in namespace ns, from
// a packet socket (it leaves through dev's egress).
func sendFrames(t *testing.T, ns, dev string, frame []byte, n int) {
	t.Helper()
	ifi, fd := 0, 0
	do(t, ns, func() (err error) {
		i, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		ifi = i.Index
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	defer unix.Close(fd)
	sa := &unix.SockaddrLinklayer{Ifindex: ifi, Protocol: htons(unix.ETH_P_ALL)}
	for range n {
		if err := unix.Sendto(fd, frame, 0, sa); err != nil {
			t.Fatalf("send a frame: %v", err)
		}
	}
}
