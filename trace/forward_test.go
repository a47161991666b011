package trace

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

// A host H (no local address in these packets) forwards between a
// container C and a remote R.
var (
	contC  = netip.MustParseAddr("10.88.0.2")
	contD  = netip.MustParseAddr("10.88.0.3")
	remote = netip.MustParseAddr("192.0.2.80")
	hostH  = netip.MustParseAddr("198.51.100.1")
)

// endResolver answers forwarded flows by their local end: a process, an
// *procmap.EndError, or not found; it records the flows asked.
type endResolver struct {
	mu    sync.Mutex
	procs map[netip.AddrPort]*procmap.Process
	ends  map[netip.AddrPort]procmap.EndReason
	asked []procmap.Flow
}

func (r *endResolver) Resolve(f procmap.Flow) (procmap.Owner, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, f)
	if p := r.procs[f.Local]; p != nil {
		return procmap.Owner{Inode: 1, UID: p.UID, Process: p, NetNS: 42}, nil
	}
	if e := r.ends[f.Local]; e != 0 {
		return procmap.Owner{}, &procmap.EndError{Reason: e, Addr: f.Local.Addr()}
	}
	return procmap.Owner{}, procmap.ErrNotFound
}

// onIf is a TCP packet of n bytes captured on interface ifindex at t0+at.
func onIf(src, dst netip.Addr, sport, dport uint16, n, ifindex int, at time.Duration) *capture.Packet {
	p := tcpFlow(src, dst, sport, dport, n)
	p.IfIndex = ifindex
	p.Timestamp = t0.Add(at)
	return p
}

// forwardAccountant is an Accountant in H, which holds hostH, with
// contC and contD behind it.
func forwardAccountant(res Resolver) *Accountant {
	return New(Config{Locals: localSet{hostH: true}, Hosted: localSet{contC: true, contD: true}, Resolver: res}, t0)
}

// A packet passing through between a container and a remote host: the
// container's end is looked up (Forwarded) and credited, sent and received
// from its own point of view; the remote end gets no flow.
func TestForwardedCreditsTheContainer(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &endResolver{procs: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(contC, 40000): client}}
		a := forwardAccountant(res)
		defer a.Close()
		a.Packet(onIf(contC, remote, 40000, 443, 1500, 5, 0))
		a.Packet(onIf(remote, contC, 443, 40000, 66, 5, 0))
		waitResolved(t, a, 1)
		rows := rowsByName(a.Refresh(t0.Add(time.Second)))
		if r := rows[client.Name]; r.Sent != 1500 || r.Recv != 66 {
			t.Errorf("container's row %+v, want sent 1500 recv 66", r)
		}
		if u := rows["unknown TCP"]; u.Sent|u.Recv != 0 {
			t.Errorf("unknown %+v, want nothing", u)
		}
		res.mu.Lock()
		defer res.mu.Unlock()
		if len(res.asked) != 1 || !res.asked[0].Forwarded || res.asked[0].Local != netip.AddrPortFrom(contC, 40000) {
			t.Errorf("asked %+v, want the container's end, forwarded", res.asked)
		}
	})
}

// Two containers: both ends credited, as two local processes are.
// An end beyond a NAT is not credited, and its bytes are not unknown:
// they are its peer's. Neither end found: the bytes are unknown once.
func TestForwardedPeers(t *testing.T) {
	for _, c := range []struct {
		name                        string
		procs                       map[netip.AddrPort]*procmap.Process
		ends                        map[netip.AddrPort]procmap.EndReason
		clientRow, serverRow, unkwn [2]uint64 // sent, recv
		elsewhere                   uint64
	}{
		{name: "both found", procs: map[netip.AddrPort]*procmap.Process{
			netip.AddrPortFrom(contC, 40000): client, netip.AddrPortFrom(contD, 80): server},
			clientRow: [2]uint64{1000, 200}, serverRow: [2]uint64{200, 1000}},
		{name: "one beyond NAT", procs: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(contC, 40000): client},
			ends:      map[netip.AddrPort]procmap.EndReason{netip.AddrPortFrom(contD, 80): procmap.EndBeyondNAT},
			clientRow: [2]uint64{1000, 200}, elsewhere: 1200},
		{name: "neither", ends: map[netip.AddrPort]procmap.EndReason{
			netip.AddrPortFrom(contC, 40000): procmap.EndNotHosted, netip.AddrPortFrom(contD, 80): procmap.EndAmbiguous},
			unkwn: [2]uint64{200, 1000}, elsewhere: 1200},
		{name: "counted elsewhere", ends: map[netip.AddrPort]procmap.EndReason{
			netip.AddrPortFrom(contC, 40000): procmap.EndCountedThere, netip.AddrPortFrom(contD, 80): procmap.EndCountedThere},
			elsewhere: 2400},
	} {
		t.Run(c.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				a := forwardAccountant(&endResolver{procs: c.procs, ends: c.ends})
				defer a.Close()
				a.Packet(onIf(contC, contD, 40000, 80, 1000, 5, 0))
				a.Packet(onIf(contD, contC, 80, 40000, 200, 5, 0))
				waitResolved(t, a, 2)
				s := a.Refresh(t0.Add(3 * time.Second))
				rows := rowsByName(s)
				got := func(name string) [2]uint64 { return [2]uint64{rows[name].Sent, rows[name].Recv} }
				if got(client.Name) != c.clientRow || got(server.Name) != c.serverRow || got("unknown TCP") != c.unkwn {
					t.Errorf("client %v server %v unknown %v; want %v %v %v",
						got(client.Name), got(server.Name), got("unknown TCP"), c.clientRow, c.serverRow, c.unkwn)
				}
				if st := a.Stats(); st.ElsewhereBytes != c.elsewhere || st.UnknownBytes != c.unkwn[0]+c.unkwn[1] {
					t.Errorf("stats %+v, want %d bytes elsewhere", st, c.elsewhere)
				}
				if want := 0; c.unkwn != [2]uint64{} {
					if len(s.UnknownConns) != 1 {
						t.Errorf("unknown connections %v, want one", s.UnknownConns)
					}
				} else if len(s.UnknownConns) != want {
					t.Errorf("unknown connections %v, want none", s.UnknownConns)
				}
			})
		})
	}
}

// A packet neither of whose ends is in a namespace behind H gets one flow
// (the destination's), as before: its bytes are unknown once.
func TestForwardedNoEndHereOnce(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &endResolver{ends: map[netip.AddrPort]procmap.EndReason{netip.AddrPortFrom(remote, 443): procmap.EndNotHosted}}
		a := forwardAccountant(res)
		defer a.Close()
		other := netip.MustParseAddr("203.0.113.9")
		a.Packet(onIf(other, remote, 40000, 443, 1000, 5, 0))
		waitResolved(t, a, 1)
		rows := rowsByName(a.Refresh(t0.Add(3 * time.Second)))
		if u := rows["unknown TCP"]; u.Recv != 1000 || u.Sent != 0 {
			t.Errorf("unknown %+v, want recv 1000", u)
		}
		if st := a.Stats(); st.Flows != 1 {
			t.Errorf("%d flows, want 1", st.Flows)
		}
	})
}

// A packet captured on two interfaces (a container's veth and the bridge)
// is counted once, on the interface its flow was first seen on; when that
// one falls silent for copySwitch, the other's copies count.
func TestCopiesCountedOnce(t *testing.T) {
	bubble(t, func(t *testing.T) {
		a := newAccountant(Config{})
		defer a.Close()
		for i := range 10 {
			at := time.Duration(i) * time.Millisecond
			a.Packet(onIf(hostA, hostB, 40000, 80, 100, 3, at))
			a.Packet(onIf(hostA, hostB, 40000, 80, 100, 4, at))
		}
		// Interface 3 goes away: only 4's copies from now on.
		for i := range 5 {
			a.Packet(onIf(hostA, hostB, 40000, 80, 100, 4, 1100*time.Millisecond+time.Duration(i)*time.Millisecond))
		}
		waitResolved(t, a, 1)
		a.Refresh(t0.Add(time.Second))
		r := rowsByName(a.Refresh(t0.Add(2 * time.Second)))[client.Name]
		if r.TotalSent != 1500 {
			t.Errorf("sent %d, want 1500 (15 packets once each)", r.TotalSent)
		}
		if st := a.Stats(); st.CopyBytes != 1000 || st.Packets != 25 {
			t.Errorf("stats %+v, want 1000 bytes of copies in 25 packets", st)
		}
	})
}

// Packets of a known forwarded flow allocate nothing.
func TestForwardedNoAllocations(t *testing.T) {
	bubble(t, func(t *testing.T) {
		res := &endResolver{procs: map[netip.AddrPort]*procmap.Process{netip.AddrPortFrom(contC, 40000): client}}
		a := forwardAccountant(res)
		defer a.Close()
		p := onIf(contC, contD, 40000, 80, 1500, 5, 0)
		a.Packet(p)
		waitResolved(t, a, 2)
		if n := testing.AllocsPerRun(100, func() { a.Packet(p) }); n != 0 {
			t.Errorf("Packet of a known forwarded flow: %v allocations, want 0", n)
		}
	})
}
