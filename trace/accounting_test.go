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

// TestAccountingAddsUp: a mix of every kind of traffic (TCP and UDP of
// known owners, local to local, forwarded, a socket whose process is not
// seen, a process -P does not show, a flow with no socket, ICMP, raw IP,
// frames that are not IP, later fragments, lookups that answer late,
// packets stamped after the cut) over many refreshes: at every refresh
// the process rows' bytes are Credited, the socket rows' the "no process"
// bucket, and from the start Credited + buckets + Held = Captured + Twice
// exactly, Captured being every byte given to Packet before the cut.
func TestAccountingAddsUp(t *testing.T) {
	bubble(t, func(t *testing.T) {
		hostC := netip.MustParseAddr("10.0.0.3")
		hidden := procmap.Owner{Inode: 42, UID: 33}
		var lateUntil time.Time
		other := &procmap.Process{PID: 999, StartTime: 1, Name: "other"}
		// Read by the workers while New is never called: set before each.
		res := resolverFunc(func(f procmap.Flow) (procmap.Owner, error) {
			switch {
			case f.Local == netip.AddrPortFrom(hostA, 40000), f.Local == netip.AddrPortFrom(lo, 40000):
				return procmap.Owner{Inode: 1, Process: client}, nil
			case f.Local == netip.AddrPortFrom(lo, 8080):
				return procmap.Owner{Inode: 2, Process: server}, nil
			case f.Local == netip.AddrPortFrom(hostA, 40001):
				return hidden, nil
			case f.Local == netip.AddrPortFrom(hostA, 40002):
				return procmap.Owner{Inode: 3, Process: other}, nil
			case f.Local == netip.AddrPortFrom(hostA, 40003):
				if time.Now().Before(lateUntil) {
					return procmap.Owner{}, procmap.ErrNotFound // found late
				}
				return procmap.Owner{Inode: 4, Process: client}, nil
			case f.Local.Port() == 40004:
				return procmap.Owner{}, procmap.ErrNamespaceUnreachable
			}
			return procmap.Owner{}, procmap.ErrNotFound
		})
		udp := func(p *capture.Packet) *capture.Packet { p.Proto = capture.ProtoUDP; return p }
		frag := func(p *capture.Packet) *capture.Packet { p.HasPorts, p.Fragment = false, true; return p }
		kinds := []func() *capture.Packet{
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
			func() *capture.Packet { return rawIP(hostA, hostB, 47, 200) },
			func() *capture.Packet {
				return &capture.Packet{Timestamp: t0, Length: 60, Type: capture.PacketOutgoing, EtherType: 0x0806}
			},
			func() *capture.Packet { return &capture.Packet{Timestamp: t0, Length: 64, EtherType: 0x88cc} },
		}
		for _, c := range []struct {
			cfg   Config
			empty []Reason // the buckets this configuration leaves empty
		}{
			{Config{UDP: true}, []Reason{ReasonNotAccounted, ReasonFiltered}},
			{Config{UDP: true, PIDs: []int{client.PID, server.PID}}, []Reason{ReasonNotAccounted, ReasonNoProcess}},
			{Config{}, []Reason{ReasonFiltered}},
		} {
			c.cfg.Locals, c.cfg.Resolver, c.cfg.Interval = localSet{hostA: true, lo: true}, res, 200*time.Millisecond
			start := time.Now()
			lateUntil = start.Add(500 * time.Millisecond)
			a := New(c.cfg, start)
			rng := rand.New(rand.NewPCG(1, 2))
			var captured uint64 // bytes given to Packet stamped before the last cut
			var pending []*capture.Packet
			sawHeld := false
			for i := 1; i <= 30; i++ {
				cut := start.Add(time.Duration(i) * 200 * time.Millisecond)
				for range 200 {
					p := kinds[rng.IntN(len(kinds))]()
					// Up to 40 ms after the cut: read before this refresh, stamped for the next.
					p.Timestamp = cut.Add(-time.Duration(rng.IntN(240)) * time.Millisecond).Add(40 * time.Millisecond)
					a.Packet(p)
					pending = append(pending, p)
				}
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
				if got, want := tot.Credited+tot.Buckets.Total()+tot.Held, tot.Captured+tot.Twice; got != want {
					t.Fatalf("refresh %d: credited + buckets + held = %d, captured + twice = %d (%+v)", i, got, want, tot)
				}
			}
			tot := a.Stats().Totals
			t.Logf("-C %v -P %v: totals %+v", c.cfg.UDP, c.cfg.PIDs, tot)
			if !sawHeld {
				t.Errorf("no refresh held bytes back")
			}
			for r := range NumReasons {
				if empty := slices.Contains(c.empty, r); (tot.Buckets[r] == 0) != empty {
					t.Errorf("bucket %v: %d bytes, want empty: %v", r, tot.Buckets[r], empty)
				}
			}
			if tot.Twice == 0 || tot.Credited == 0 {
				t.Errorf("totals %+v", tot)
			}
			a.Close()
		}
	})
}
