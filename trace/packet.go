package trace

import (
	"net/netip"
	"time"

	"github.com/gohogs/gohogs/capture"
)

// Packet accounts one captured packet. It does not block on anything but
// the Accountant's lock, and allocates only when it sees a new flow.
func (a *Accountant) Packet(p *capture.Packet) {
	switch p.Proto {
	case capture.ProtoTCP:
	case capture.ProtoUDP:
		if !a.cfg.UDP {
			a.ignore()
			return
		}
	default:
		a.ignore()
		return
	}
	n := uint64(p.Length)
	var src, dst netip.AddrPort
	if p.HasPorts {
		src = netip.AddrPortFrom(p.Src, p.SrcPort)
		dst = netip.AddrPortFrom(p.Dst, p.DstPort)
	}
	// (A later IP fragment has no ports: it lands on the flow with no
	// addresses, which is never resolved and goes to the unknown rows.)
	var tk mapKey
	var gen uint64
	if a.gens != nil {
		gen = a.gens.Generation()
		// The packet's own addresses: which side is local depends on them
		// even when the flow has none (a later fragment).
		tk = mapKey{local: p.Src.As16(), remote: p.Dst.As16(), lport: src.Port(), rport: dst.Port(), proto: uint8(p.Proto)}
		if !p.HasPorts {
			tk.proto |= 0x80 // apart from ports 0 and 0
		}
	}
	a.mu.Lock()
	a.stats.Packets++
	a.stats.Bytes += n
	var fs, fr *flow
	var e *tupleEntry
	if a.cache != nil {
		e = &a.cache[tk.slot()]
	}
	if e != nil && e.key == tk && e.gen == gen && (e.sent != nil || e.recv != nil) {
		fs, fr = e.sent, e.recv
		if fs != nil {
			a.touch(fs, p.Timestamp)
		}
		if fr != nil {
			a.touch(fr, p.Timestamp)
		}
	} else {
		a.mu.Unlock()
		s := a.sidesOf(p)
		a.mu.Lock()
		fs, fr = a.flowsOf(s, p.Proto, src, dst, p.Timestamp)
		if e != nil {
			*e = tupleEntry{key: tk, gen: gen, sent: fs, recv: fr}
		}
	}
	next := !p.Timestamp.Before(a.cut)
	closing := p.TCPFlags&(capture.TCPFin|capture.TCPRst) != 0
	if fs != nil && !a.copyOf(fs, p, true) {
		count(&fs.sent, &fs.nsent, n, next)
		fs.closing = fs.closing || closing
	}
	if fr != nil && !a.copyOf(fr, p, fs == nil) {
		count(&fr.recv, &fr.nrecv, n, next)
		fr.closing = fr.closing || closing
	}
	a.mu.Unlock()
}

// count adds n bytes to the counter of this refresh, or to the one of the
// refresh after it when the packet is stamped after the next cut.
func count(this, after *uint64, n uint64, next bool) {
	if next {
		*after += n
	} else {
		*this += n
	}
}

func (a *Accountant) ignore() {
	a.mu.Lock()
	a.stats.Ignored++
	a.mu.Unlock()
}

// flow returns the flow for the key, creating it and queueing its lookup if
// it is new. a.mu is held.
func (a *Accountant) flow(proto capture.Proto, local, remote netip.AddrPort, ts time.Time) *flow {
	return a.flowOf(flowKey{proto: proto, local: local, remote: remote}, ts)
}

// flowOf is flow for a key. a.mu is held.
func (a *Accountant) flowOf(k flowKey, ts time.Time) *flow {
	mk := k.mapKey()
	f := a.flows[mk]
	if f == nil {
		f = &flow{key: k, first: ts}
		a.flows[mk] = f
		if k.local.IsValid() {
			a.enqueue(f)
		} else {
			f.state, f.nextTry = stateFailed, time.Unix(1<<40, 0)
		}
		f.lastSeen = ts
		return f
	}
	a.touch(f, ts)
	return f
}

// touch notes a packet of f at ts, and queues another lookup of a flow
// that failed once its retry time has come. a.mu is held.
func (a *Accountant) touch(f *flow, ts time.Time) {
	if f.state == stateFailed && !f.queued && ts.After(f.nextTry) {
		a.enqueue(f)
	}
	f.lastSeen = ts
}

// enqueue asks the workers to resolve f, without blocking. a.mu is held.
func (a *Accountant) enqueue(f *flow) {
	select {
	case a.queue <- f:
		f.queued = true
	default:
		a.stats.Dropped++
		// Retried by a later packet of the flow.
		f.state = stateFailed
		f.nextTry = f.lastSeen.Add(100 * time.Millisecond)
	}
}
