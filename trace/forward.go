package trace

import (
	"errors"
	"net/netip"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

// Packets passing through the capturing namespace (forwarded, bridged,
// NAT'd), and the copies of one packet that several watched interfaces
// capture.
//
// A packet with a local end is credited to that end's flow, as ever. A
// packet with neither end local passes through: each end whose address is
// in a namespace behind this one (Config.Hosted: a container) gets a flow
// of its own, its socket's view, marked forwarded, so that the resolver
// looks for it in that namespace; with no such end, the destination's flow
// alone is made, as before, and its lookup says why nobody is credited.
// When both ends get a flow the two are peers: each is credited if found,
// and the packets' bytes go to the unknown rows once (through the one
// marked primary) only if neither is.
//
// A flow counts the copies of one interface only: the first one it was
// seen on (each packet of a flow crosses the same interfaces, so one copy
// per packet is counted). Another interface's copies take over if that
// one falls silent for copySwitch (it went away). A forwarded flow whose
// NAT'd copy crosses another watched interface is not counted at all (the
// resolver answers procmap.EndCountedThere): the translated copy is, on
// the interface leading off the host. Deciding costs one comparison per
// packet; the lookup decides the rest, once per flow. The kernel's counts
// (Counts) are copies as packets are: each names its interface.
//
// The bytes of a flow not credited for one of these reasons are accounted
// as counted elsewhere (Accounting.Elsewhere), those of an end found in no
// namespace in the bucket its resolver's answer says (reasonOf, settle).

// fwdState is what a flow keeps about forwarding and interface copies.
type fwdState struct {
	ifindex int       // the interface whose copies the flow counts (0: not yet seen, or unknown)
	ifSeen  time.Time // its latest packet there
	peer    *flow     // the other end's flow of the same forwarded packets, if it has one
	primary bool      // goes to the unknown rows when neither it nor its peer is credited
}

// copySwitch is how long the interface a flow counts on may stay silent
// before another interface's copies count instead.
const copySwitch = time.Second

// flowsOf returns the flows a packet with sides s from src to dst counts
// on: the source's (its SENT) and the destination's (its RECEIVED), nil
// for an end that gets none. a.mu is held.
func (a *Accountant) flowsOf(s sides, proto capture.Proto, src, dst netip.AddrPort, ts time.Time) (fs, fr *flow) {
	if s&(srcLocal|dstLocal) != 0 {
		if s&srcLocal != 0 {
			fs = a.flow(flowKey{proto: proto, local: src, remote: dst}, ts)
		}
		if s&dstLocal != 0 {
			fr = a.flow(flowKey{proto: proto, local: dst, remote: src}, ts)
		}
		return fs, fr
	}
	if s&srcHosted != 0 {
		fs = a.flow(flowKey{proto: proto, local: src, remote: dst, fwd: true}, ts)
	}
	if s&dstHosted != 0 || fs == nil {
		fr = a.flow(flowKey{proto: proto, local: dst, remote: src, fwd: true}, ts)
	}
	if fs == fr {
		// (A later fragment: one flow without addresses.)
	} else if fs != nil && fr != nil && fs.peer != fr {
		// One of them goes to the unknown rows if neither is credited:
		// the one that already did, else the destination's.
		primary := fr
		if fs.peer == nil && fs.primary && !fr.primary {
			primary = fs
		}
		fs.peer, fr.peer = fr, fs
		fs.primary, fr.primary = primary == fs, primary == fr
	} else if fs == nil || fr == nil {
		f := fs
		if f == nil {
			f = fr
		}
		if f.peer == nil || a.flows[f.peer.key.mapKey()] != f.peer {
			f.primary = true
		}
	}
	return fs, fr
}

// copyOf says whether p is a copy of a packet of f that f counts on
// another interface, seen there less than within ago, and notes that f was
// seen on its own; tally adds such a copy to Stats.CopyBytes (once per
// packet, for one of its flows). within is copySwitch for a packet, and
// for a count (Counts) the refresh interval more: an interface's counts
// come once per refresh, the others' possibly before it. a.mu is held.
func (a *Accountant) copyOf(f *flow, p *capture.Packet, tally bool, within time.Duration) bool {
	if p.IfIndex == f.ifindex || f.ifSeen.IsZero() || p.Timestamp.Sub(f.ifSeen) > within {
		f.ifindex, f.ifSeen = p.IfIndex, p.Timestamp
		return false
	}
	if tally {
		a.stats.CopyBytes += uint64(p.Length)
	}
	return true
}

// final records a resolver's final answer about a forwarded or NAT'd end
// (a *procmap.EndError) and says whether err was one. The flow is then not
// retried soon: the answer changes only when the host does. a.mu is held.
func (a *Accountant) final(f *flow, err error, now time.Time) bool {
	var ee *procmap.EndError
	if !errors.As(err, &ee) {
		return false
	}
	f.state = stateFailed
	if ee.Reason == procmap.EndCountedThere {
		f.state = stateElsewhere
	}
	f.nextTry = now.Add(min(time.Second<<min(f.tries, 6), time.Minute))
	if f.tries < 255 {
		f.tries++
	}
	a.stats.Failed++
	return true
}

// elsewhere says whether f's bytes are counted by another flow or on
// another interface: not an unknown connection. a.mu is held.
func (a *Accountant) elsewhere(f *flow) bool {
	p := a.peerOf(f)
	return f.state == stateElsewhere || p != nil && (p.state == stateResolved || p.state == stateElsewhere || !f.primary)
}

// peerOf is f's peer if it is still in the table.
func (a *Accountant) peerOf(f *flow) *flow {
	if p := f.peer; p != nil && a.flows[p.key.mapKey()] == p {
		return p
	}
	return nil
}

// sumGens is the generation of two changing sets: it changes when either
// does (both only grow).
type sumGens struct{ a, b Generationer }

func (g sumGens) Generation() uint64 { return g.a.Generation() + g.b.Generation() }

// withHosted makes the tuple cache follow Config.Hosted's changes too, or
// turns it off if Hosted cannot say when it changes.
func (a *Accountant) withHosted() {
	if a.cfg.Hosted == nil || a.gens == nil {
		return
	}
	if h, ok := a.cfg.Hosted.(Generationer); ok {
		a.gens = sumGens{a.gens, h}
		return
	}
	a.gens, a.cache = nil, nil
}
