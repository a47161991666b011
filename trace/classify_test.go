package trace

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

// icmp is an ICMP packet of n bytes from src to dst of type typ with echo
// identifier id (v6: ICMPv6).
func icmp(src, dst netip.Addr, typ uint8, id uint16, n int) *capture.Packet {
	p := &capture.Packet{Timestamp: t0, Length: n, Version: 4, Proto: capture.ProtoICMP, Src: src, Dst: dst,
		HasICMP: true, ICMPType: typ}
	if src.Is6() {
		p.Version, p.Proto = 6, capture.ProtoICMPv6
	}
	if _, _, echo := p.Echo(); echo {
		p.EchoID = id
	}
	return p
}

// rawIP is a packet of IP protocol proto (no ports) of n bytes.
func rawIP(src, dst netip.Addr, proto capture.Proto, n int) *capture.Packet {
	return &capture.Packet{Timestamp: t0, Length: n, Version: 4, Proto: proto, Src: src, Dst: dst}
}

// protoResolver answers from a table of (protocol, local end) → process.
type protoResolver map[procmap.Flow]*procmap.Process

func (r protoResolver) Resolve(f procmap.Flow) (procmap.Owner, error) {
	if p := r[procmap.Flow{Proto: f.Proto, Local: f.Local}]; p != nil {
		return procmap.Owner{Inode: 1, UID: p.UID, Process: p}, nil
	}
	return procmap.Owner{}, procmap.ErrNotFound
}

// TestICMPAndRawWithC: with -C, a ping's echo requests are the ping
// socket's SENT and its replies its RECV (both keyed by the echo
// identifier, on the socket's side); the echoes the kernel answers, and
// errors it sends, go to "unknown ICMP"; a raw socket's protocol 253 goes
// to its process, protocol 254 that nobody owns to "unknown IP".
func TestICMPAndRawWithC(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ping := &procmap.Process{PID: 300, StartTime: 9, Name: "ping", Cmdline: []string{"ping", "10.0.0.2"}}
		raw := &procmap.Process{PID: 400, StartTime: 9, Name: "rawsend"}
		res := protoResolver{
			{Proto: 1, Local: netip.AddrPortFrom(hostA, 77)}:  ping,
			{Proto: 253, Local: netip.AddrPortFrom(hostA, 0)}: raw,
		}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res, UDP: true}, t0)
		defer a.Close()
		for range 3 {
			a.Packet(icmp(hostA, hostB, capture.ICMPEchoRequest, 77, 1042))
			a.Packet(icmp(hostB, hostA, capture.ICMPEchoReply, 77, 1042))
		}
		a.Packet(icmp(hostB, hostA, capture.ICMPEchoRequest, 5, 98)) // B pings A: A's kernel answers
		a.Packet(icmp(hostA, hostB, capture.ICMPEchoReply, 5, 98))
		a.Packet(icmp(hostA, hostB, 3, 0, 590)) // port unreachable
		a.Packet(rawIP(hostA, hostB, 253, 1034))
		a.Packet(rawIP(hostA, hostB, 254, 1000))
		waitResolved(t, a, 5) // the ping, the kernel's echo, the error, 253, 254
		s := a.Refresh(t0.Add(3 * time.Second))
		rows := rowsByName(s)
		if r := rows["ping"]; r.Sent != 3*1042 || r.Recv != 3*1042 || r.PID != 300 {
			t.Errorf("ping row %+v", r)
		}
		if r := rows["rawsend"]; r.Sent != 1034 || r.Recv != 0 {
			t.Errorf("raw row %+v", r)
		}
		if r := rows["unknown ICMP"]; r.Kind != KindUnknownICMP || r.Sent != 98+590 || r.Recv != 98 {
			t.Errorf("unknown ICMP row %+v", r)
		}
		if r := rows["unknown IP"]; r.Kind != KindUnknownIP || r.Sent != 1000 {
			t.Errorf("unknown IP row %+v", r)
		}
		want := []string{"ping", "rawsend", "unknown ICMP", "unknown IP", "unknown UDP", "unknown TCP"}
		var got []string
		for _, r := range Sorted(s, ViewTotalB, true) {
			got = append(got, r.Name)
		}
		if len(got) != len(want) {
			t.Fatalf("rows %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("rows %q, want %q", got, want)
			}
		}
		ac := s.Accounting
		if ac.Credited != 6*1042+1034 || ac.Buckets[ReasonNoSocket] != 98*2+590+1000 || ac.Held != 0 {
			t.Errorf("accounting %+v", ac)
		}
	})
}

// TestOnlyTCPWithoutC: without -C, ICMP, raw IP and UDP are counted in
// the "not accounted" bucket and on no row, frames that are not IP in
// "not IP": the refresh has nethogs's one unknown row, and no other.
func TestOnlyTCPWithoutC(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := newAccountant(Config{})
		defer a.Close()
		a.Packet(icmp(hostA, hostB, capture.ICMPEchoRequest, 77, 1042))
		a.Packet(rawIP(hostA, hostB, 253, 1034))
		udp := tcpFlow(hostA, hostB, 5353, 53, 100)
		udp.Proto = capture.ProtoUDP
		a.Packet(udp)
		a.Packet(&capture.Packet{Timestamp: t0, Length: 60, Type: capture.PacketOutgoing, EtherType: 0x0806})
		a.Packet(tcpFlow(hostA, hostB, 40000, 80, 1500))
		waitResolved(t, a, 1)
		s := a.Refresh(t0.Add(time.Second))
		if len(s.Rows) != 2 || rowsByName(s)["unknown TCP"].Kind != KindUnknownTCP || rowsByName(s)[client.Name].Sent != 1500 {
			t.Errorf("rows %+v", s.Rows)
		}
		ac := s.Accounting
		want := Accounting{Captured: 1042 + 1034 + 100 + 60 + 1500, Credited: 1500}
		want.Buckets[ReasonNotAccounted] = 1042 + 1034 + 100
		want.Buckets[ReasonNotIP] = 60
		if ac != want {
			t.Errorf("accounting %+v, want %+v", ac, want)
		}
		if st := a.Stats(); st.Ignored != 4 || st.Packets != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// packetResolver finds a packet socket's process by EtherType.
type packetResolver struct {
	fakeResolver
	by map[uint16]procmap.Owner
}

func (r *packetResolver) ResolvePacket(f procmap.PacketFlow) (procmap.Owner, error) {
	if o, ok := r.by[f.EtherType]; ok && f.IfIndex == 3 {
		return o, nil
	}
	return procmap.Owner{}, procmap.ErrNotFound
}

// TestPacketSocketFrames: with -C, frames that are not IP, and IP frames
// from the unspecified address, sent on an interface, are looked up by
// interface and EtherType: a packet socket found credits its process (or
// its socket row, named after it); one not found leaves a frame that is
// not IP in the "not IP" bucket and on no row, and an IP frame on its
// protocol's unknown row. Received frames that are not IP are not looked
// up.
func TestPacketSocketFrames(t *testing.T) {
	bubble(t, func(t *testing.T) {
		inj := &procmap.Process{PID: 500, StartTime: 1, Name: "injector"}
		res := &packetResolver{by: map[uint16]procmap.Owner{
			0x88b5: {Inode: 9, Process: inj},
			0x0800: {Inode: 10, UID: 7}, // a DHCP client's socket, its process not seen
		}}
		a := New(Config{Locals: localSet{hostA: true}, Resolver: res, UDP: true}, t0)
		defer a.Close()
		frame := func(ether uint16, typ capture.PacketType, n int) *capture.Packet {
			return &capture.Packet{Timestamp: t0, Length: n, Type: typ, IfIndex: 3, EtherType: ether}
		}
		for range 4 {
			a.Packet(frame(0x88b5, capture.PacketOutgoing, 1000))
		}
		a.Packet(frame(0x88b5, capture.PacketHost, 1000))   // received: not looked up
		a.Packet(frame(0x0806, capture.PacketOutgoing, 42)) // the kernel's ARP: no packet socket
		dhcp := &capture.Packet{Timestamp: t0, Length: 342, Type: capture.PacketOutgoing, IfIndex: 3, Version: 4,
			Proto: capture.ProtoUDP, Src: netip.IPv4Unspecified(), Dst: netip.MustParseAddr("255.255.255.255"),
			SrcPort: 68, DstPort: 67, HasPorts: true}
		a.Packet(dhcp)
		other := *dhcp
		other.IfIndex = 4
		a.Packet(&other) // on another interface: no socket
		waitResolved(t, a, 4)
		s := a.Refresh(t0.Add(3 * time.Second))
		rows := rowsByName(s)
		if r := rows["injector"]; r.Sent != 4000 || r.Recv != 0 || len(r.Conns) != 0 {
			t.Errorf("injector row %+v", r)
		}
		if r := rows["packet socket 0x0800 if 3"]; r.Kind != KindSocket || r.Sent != 342 || r.UID != 7 {
			t.Errorf("DHCP socket row %+v (rows %+v)", r, s.Rows)
		}
		if r := rows["unknown UDP"]; r.Sent != 342 {
			t.Errorf("unknown UDP row %+v", r)
		}
		ac := s.Accounting
		want := Accounting{Captured: 5000 + 42 + 342*2, Credited: 4000}
		want.Buckets[ReasonNotIP] = 1000 + 42
		want.Buckets[ReasonNoProcess] = 342
		want.Buckets[ReasonNoSocket] = 342
		if ac != want {
			t.Errorf("accounting %+v, want %+v", ac, want)
		}
	})
}

// TestClassifyDoesNotAllocate: the packets of known ICMP, raw and packet
// socket flows, and dropped ones, allocate nothing.
func TestClassifyDoesNotAllocate(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ping := &procmap.Process{PID: 300, Name: "ping"}
		res := protoResolver{{Proto: 1, Local: netip.AddrPortFrom(hostA, 77)}: ping}
		for _, udp := range []bool{false, true} {
			a := New(Config{Locals: localSet{hostA: true}, Resolver: res, UDP: udp}, t0)
			pkts := []*capture.Packet{
				icmp(hostA, hostB, capture.ICMPEchoRequest, 77, 1042), icmp(hostB, hostA, capture.ICMPEchoReply, 77, 1042),
				rawIP(hostA, hostB, 253, 1034),
				{Timestamp: t0, Length: 60, Type: capture.PacketOutgoing, EtherType: 0x0806, IfIndex: 3},
			}
			for _, p := range pkts {
				a.Packet(p)
			}
			waitResolved(t, a, 0)
			if n := testing.AllocsPerRun(100, func() {
				for _, p := range pkts {
					a.Packet(p)
				}
			}); n != 0 {
				t.Errorf("-C %v: %v allocations, want 0", udp, n)
			}
			a.Close()
		}
	})
}

func TestReasonString(t *testing.T) {
	for r, want := range map[Reason]string{
		ReasonNoSocket: "no_socket", ReasonNoProcess: "no_process", ReasonForwarded: "forwarded",
		ReasonNetNSUnreachable: "netns_unreachable", ReasonNotIP: "not_ip", ReasonNotAccounted: "not_accounted",
		ReasonFiltered: "filtered", ReasonOverflow: "overflow", NumReasons: "reason8",
	} {
		if got := r.String(); got != want {
			t.Errorf("Reason(%d).String() = %q, want %q", uint8(r), got, want)
		}
	}
}
