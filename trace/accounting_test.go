package trace

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

// mixedResolver answers the flows of mixedTraffic; the flow of port 40003
// is found only from lateUntil on.
type mixedResolver struct {
	lateUntil time.Time // set before New, read by the workers only after
}

var (
	hostC   = netip.MustParseAddr("10.0.0.3")
	ping    = &procmap.Process{PID: 300, StartTime: 9, Name: "ping"}
	rawProc = &procmap.Process{PID: 400, StartTime: 9, Name: "rawsend"}
	other   = &procmap.Process{PID: 999, StartTime: 1, Name: "other"}
	inCont  = &procmap.Process{PID: 600, StartTime: 3, Name: "nc", Container: procmap.Container{Runtime: procmap.RuntimePodman, ID: "c1"}}
	web     = &procmap.Process{PID: 700, StartTime: 3, Name: "web"}
)

func (r *mixedResolver) Resolve(f procmap.Flow) (procmap.Owner, error) {
	found := func(inode uint64, p *procmap.Process) (procmap.Owner, error) {
		return procmap.Owner{Inode: inode, Process: p}, nil
	}
	end := func(e procmap.EndReason) (procmap.Owner, error) {
		return procmap.Owner{}, &procmap.EndError{Reason: e, Addr: f.Local.Addr()}
	}
	switch l := f.Local; {
	case f.Proto == uint8(capture.ProtoICMP) && (l == netip.AddrPortFrom(hostA, 9) || f.Forwarded && l == netip.AddrPortFrom(contC, 3)):
		return found(5, ping)
	case f.Proto == 253 && l == netip.AddrPortFrom(hostA, 0):
		return found(6, rawProc)
	case l == netip.AddrPortFrom(hostA, 40000), l == netip.AddrPortFrom(lo, 40000):
		return found(1, client)
	case l == netip.AddrPortFrom(lo, 8080):
		return found(2, server)
	case l == netip.AddrPortFrom(hostA, 40001):
		return procmap.Owner{Inode: 42, UID: 33}, nil // its process not seen
	case l == netip.AddrPortFrom(hostA, 40002):
		return found(3, other)
	case l == netip.AddrPortFrom(hostA, 40003):
		if time.Now().Before(r.lateUntil) {
			return procmap.Owner{}, procmap.ErrNotFound // found late
		}
		return found(4, client)
	case l.Port() == 40004:
		return procmap.Owner{}, procmap.ErrNamespaceUnreachable
	// Forwarded and NAT'd (forward.go), as *procmap.Resolver answers them:
	case l == netip.AddrPortFrom(hostA, 6000):
		return found(7, inCont) // the masqueraded uplink copy, through conntrack
	case f.Forwarded && l == netip.AddrPortFrom(contC, 5000):
		return end(procmap.EndCountedThere) // its veth copy: counted on the uplink
	case f.Forwarded && l == netip.AddrPortFrom(contC, 7000):
		return found(8, web)
	case f.Forwarded && l == netip.AddrPortFrom(contD, 9000):
		return end(procmap.EndNoNamespace)
	case f.Forwarded && l == netip.AddrPortFrom(contC, 5001):
		return end(procmap.EndBeyondNAT)
	case f.Forwarded && l.Addr() == remote:
		return end(procmap.EndNotHosted)
	}
	return procmap.Owner{}, procmap.ErrNotFound
}

// mixedTraffic is a packet of every kind (TCP and UDP of known owners,
// local to local, forwarded, a socket whose process is not seen, a
// process -P does not show, a flow with no socket, ICMP echoes and
// errors, raw IP, frames that are not IP, later fragments, a lookup that
// answers late; a NAT'd container's two copies, two containers' bridged
// packets on two interfaces, forwarded ends in no namespace, in one not
// reachable, beyond a NAT), each a function making one.
func mixedTraffic() []func() *capture.Packet {
	udp := func(p *capture.Packet) *capture.Packet { p.Proto = capture.ProtoUDP; return p }
	frag := func(p *capture.Packet) *capture.Packet { p.HasPorts, p.Fragment = false, true; return p }
	on := func(ifindex int, p *capture.Packet) *capture.Packet { p.IfIndex = ifindex; return p }
	return []func() *capture.Packet{
		func() *capture.Packet { return tcpFlow(hostA, hostB, 40000, 80, 1500) },
		func() *capture.Packet { return tcpFlow(hostB, hostA, 80, 40000, 66) },
		func() *capture.Packet { return tcpFlow(lo, lo, 40000, 8080, 900) },
		func() *capture.Packet { return tcpFlow(lo, lo, 8080, 40000, 70) },
		func() *capture.Packet { return tcpFlow(hostB, hostC, 1000, 2000, 800) },
		func() *capture.Packet { return tcpFlow(hostA, hostB, 40001, 80, 700) },
		func() *capture.Packet { return udp(tcpFlow(hostA, hostB, 40002, 53, 120)) },
		func() *capture.Packet { return udp(tcpFlow(hostA, hostB, 40003, 53, 130)) },
		func() *capture.Packet { return tcpFlow(hostA, hostB, 40004, 80, 140) },
		func() *capture.Packet { return tcpFlow(hostA, hostB, 45000, 80, 150) },
		func() *capture.Packet { return frag(udp(tcpFlow(hostB, hostA, 0, 0, 1480))) },
		func() *capture.Packet { return icmp(hostA, hostB, capture.ICMPEchoRequest, 9, 98) },
		func() *capture.Packet { return icmp(hostB, hostA, capture.ICMPEchoReply, 9, 98) },
		func() *capture.Packet { return icmp(hostB, hostA, capture.ICMPEchoRequest, 5, 84) }, // the kernel answers
		func() *capture.Packet { return icmp(hostA, hostB, 3, 0, 590) },                      // port unreachable
		func() *capture.Packet { return rawIP(hostA, hostB, 253, 1000) },
		func() *capture.Packet { return rawIP(hostA, hostB, 47, 200) },
		func() *capture.Packet {
			return &capture.Packet{Timestamp: t0, Length: 60, Type: capture.PacketOutgoing, EtherType: 0x0806}
		},
		func() *capture.Packet { return &capture.Packet{Timestamp: t0, Length: 64, EtherType: 0x88cc} },
		// A container behind a masquerade: on its veth (2) as it sent
		// it, on the uplink (3) translated; the replies likewise.
		func() *capture.Packet { return on(2, tcpFlow(contC, remote, 5000, 80, 1400)) },
		func() *capture.Packet { return on(3, tcpFlow(hostA, remote, 6000, 80, 1400)) },
		func() *capture.Packet { return on(3, tcpFlow(remote, hostA, 80, 6000, 90)) },
		func() *capture.Packet { return on(2, tcpFlow(remote, contC, 80, 5000, 90)) },
		// Two containers on a bridge, each packet on both their veths.
		func() *capture.Packet { return on(4, tcpFlow(contC, contD, 7000, 8000, 1200)) },
		func() *capture.Packet { return on(5, tcpFlow(contC, contD, 7000, 8000, 1200)) },
		func() *capture.Packet { return on(5, tcpFlow(contD, contC, 8000, 7000, 80)) },
		func() *capture.Packet { return on(4, tcpFlow(contD, contC, 8000, 7000, 80)) },
		func() *capture.Packet { return on(2, icmp(contC, remote, capture.ICMPEchoRequest, 3, 98)) },
		func() *capture.Packet { return on(2, tcpFlow(contD, remote, 9000, 443, 300)) },
		func() *capture.Packet { return on(2, tcpFlow(contC, remote, 5001, 80, 310)) },
		func() *capture.Packet { return on(3, tcpFlow(hostB, remote, 1111, 443, 320)) },
	}
}

// mixedConfigs are the configurations mixedTraffic is accounted under,
// with the buckets each leaves empty.
func mixedConfigs() []struct {
	cfg   Config
	empty []Reason
} {
	return []struct {
		cfg   Config
		empty []Reason
	}{
		{Config{UDP: true}, []Reason{ReasonNotAccounted, ReasonFiltered}},
		{Config{UDP: true, PIDs: []int{client.PID, server.PID, inCont.PID}}, []Reason{ReasonNotAccounted, ReasonNoProcess}},
		{Config{}, []Reason{ReasonFiltered}},
	}
}

// newMixed returns an Accountant for mixedTraffic under cfg started at
// start: on host A and loopback, containers C and D behind it.
func newMixed(cfg Config, start time.Time) *Accountant {
	cfg.Locals, cfg.Hosted = localSet{hostA: true, lo: true}, localSet{contC: true, contD: true}
	cfg.Resolver, cfg.Interval = &mixedResolver{lateUntil: start.Add(500 * time.Millisecond)}, 200*time.Millisecond
	return New(cfg, start)
}

// mixedInterval returns the 200 packets of mixedTraffic of the refresh
// interval ending at cut, in the order of their stamps: up to 40 ms after
// the cut (read before its refresh, stamped for the next).
func mixedInterval(rng *rand.Rand, kinds []func() *capture.Packet, cut time.Time) []*capture.Packet {
	ps := make([]*capture.Packet, 200)
	for i := range ps {
		ps[i] = kinds[rng.IntN(len(kinds))]()
		ps[i].Timestamp = cut.Add(-time.Duration(rng.IntN(240)) * time.Millisecond).Add(40 * time.Millisecond)
	}
	slices.SortStableFunc(ps, func(x, y *capture.Packet) int { return x.Timestamp.Compare(y.Timestamp) })
	return ps
}

// TestAccountingAddsUp: mixedTraffic over many refreshes, handed over as
// packets (afpacket) or as the ebpf backend does (first packets, then
// counts at each cut, and overflow buckets): at every refresh the process
// rows' bytes are Credited, the socket rows' the "no process" bucket, and
// from the start Credited + buckets + Elsewhere + Held = Captured + Twice
// exactly, Captured being every byte handed over stamped before the cut.
func TestAccountingAddsUp(t *testing.T) {
	bubble(t, func(t *testing.T) {
		kinds := mixedTraffic()
		for _, kernelFeed := range []bool{false, true} {
			for _, c := range mixedConfigs() {
				start := time.Now()
				a := newMixed(c.cfg, start)
				defer a.Close()
				k := newKernel(a)
				rng := rand.New(rand.NewPCG(1, 2))
				var captured uint64 // bytes handed over stamped before the last cut
				var pending []*capture.Packet
				sawHeld := false
				for i := 1; i <= 30; i++ {
					cut := start.Add(time.Duration(i) * 200 * time.Millisecond)
					ps := mixedInterval(rng, kinds, cut)
					var overflow []capture.FlowCount
					if kernelFeed {
						overflow = []capture.FlowCount{
							{Packet: capture.Packet{Length: 640, Proto: capture.ProtoTCP, Type: capture.PacketOutgoing}, Packets: 10, Overflow: true},
							{Packet: capture.Packet{Length: 320, Proto: capture.ProtoUDP, Type: capture.PacketHost}, Packets: 5, Overflow: true},
							{Packet: capture.Packet{Length: 100, Type: capture.PacketHost}, Packets: 1, Overflow: true},
						}
						for _, fc := range overflow {
							captured += uint64(fc.Length)
						}
						k.interval(ps, cut, overflow...)
					} else {
						for _, p := range ps {
							a.Packet(p)
						}
					}
					pending = append(pending, ps...)
					time.Sleep(time.Until(cut))
					synctest.Wait()
					s := a.Refresh(cut)
					rest := pending[:0]
					for _, p := range pending {
						if p.Timestamp.Before(cut) {
							captured += uint64(p.Length)
						} else {
							rest = append(rest, p)
						}
					}
					pending = rest
					var proc, sock uint64
					for _, r := range s.Rows {
						switch r.Kind {
						case KindProcess:
							proc += r.Sent + r.Recv
						case KindSocket:
							sock += r.Sent + r.Recv
						}
					}
					ac := s.Accounting
					sawHeld = sawHeld || ac.Held > 0
					if proc != ac.Credited || sock != ac.Buckets[ReasonNoProcess] {
						t.Fatalf("refresh %d: process rows %d, socket rows %d; accounting %+v", i, proc, sock, ac)
					}
					tot := a.Stats().Totals
					if tot.Captured != captured {
						t.Fatalf("refresh %d: captured %d, want %d", i, tot.Captured, captured)
					}
					if got, want := tot.Credited+tot.Buckets.Total()+tot.Elsewhere+tot.Held, tot.Captured+tot.Twice; got != want {
						t.Fatalf("refresh %d: credited + buckets + elsewhere + held = %d, captured + twice = %d (%+v)", i, got, want, tot)
					}
				}
				tot := a.Stats().Totals
				t.Logf("kernel %v -C %v -P %v: totals %+v", kernelFeed, c.cfg.UDP, c.cfg.PIDs, tot)
				if !sawHeld {
					t.Errorf("no refresh held bytes back")
				}
				empty := c.empty
				if !kernelFeed {
					empty = append(slices.Clone(empty), ReasonOverflow) // overflow buckets are the kernel's
				}
				for r := range NumReasons {
					if e := slices.Contains(empty, r); (tot.Buckets[r] == 0) != e {
						t.Errorf("kernel %v -C %v -P %v: bucket %v: %d bytes, want empty: %v", kernelFeed, c.cfg.UDP, c.cfg.PIDs, r, tot.Buckets[r], e)
					}
				}
				if tot.Twice == 0 || tot.Credited == 0 || tot.Elsewhere == 0 {
					t.Errorf("totals %+v", tot)
				}
			}
		}
	})
}
