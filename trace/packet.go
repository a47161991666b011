package trace

import (
	"time"

	"github.com/gohogs/gohogs/capture"
)

// Packet accounts one captured packet. It does not block on anything but
// the Accountant's lock, and allocates only when it sees a new flow.
func (a *Accountant) Packet(p *capture.Packet) {
	var c class
	a.classify(p, &c)
	n := uint64(p.Length)
	if c.drop {
		a.mu.Lock()
		a.stats.Ignored++
		ac := a.slot(p.Timestamp)
		ac.Captured += n
		ac.Buckets[c.reason] += n
		a.mu.Unlock()
		return
	}
	var tk mapKey
	var gen uint64
	if a.gens != nil {
		gen = a.gens.Generation()
		c.tuple(p, &tk)
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
		if c.link {
			// Sent by a packet socket of this host.
			fs = a.flow(c.linkKey(p), p.Timestamp, false)
		} else {
			a.mu.Unlock()
			srcLocal := a.cfg.Locals.Contains(p.Src)
			dstLocal := a.cfg.Locals.Contains(p.Dst)
			src, dst := c.ends(p)
			a.mu.Lock()
			if srcLocal {
				fs = a.flow(flowKey{proto: c.proto, local: src, remote: dst}, p.Timestamp, false)
			}
			if dstLocal || !srcLocal {
				fr = a.flow(flowKey{proto: c.proto, local: dst, remote: src}, p.Timestamp, !dstLocal && !srcLocal)
			}
		}
		if e != nil {
			*e = tupleEntry{key: tk, gen: gen, sent: fs, recv: fr}
		}
	}
	next := !p.Timestamp.Before(a.cut)
	ac := &a.acct[0]
	if next {
		ac = &a.acct[1]
	}
	ac.Captured += n
	if fs != nil && fr != nil {
		ac.Twice += n
	}
	closing := p.TCPFlags&(capture.TCPFin|capture.TCPRst) != 0
	if fs != nil {
		count(&fs.sent, &fs.nsent, n, next)
		fs.closing = fs.closing || closing
	}
	if fr != nil {
		count(&fr.recv, &fr.nrecv, n, next)
		fr.closing = fr.closing || closing
	}
	a.mu.Unlock()
}

// slot returns the accounting of the refresh that a packet stamped ts
// belongs to: the next one, or the one after it when it is stamped after
// the next cut. a.mu is held.
func (a *Accountant) slot(ts time.Time) *Accounting {
	if !ts.Before(a.cut) {
		return &a.acct[1]
	}
	return &a.acct[0]
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

// flow returns the flow for the key, creating it and queueing its lookup if
// it is new; forwarded says that neither end of its packet is local. a.mu
// is held.
func (a *Accountant) flow(k flowKey, ts time.Time, forwarded bool) *flow {
	mk := k.mapKey()
	f := a.flows[mk]
	if f == nil {
		f = &flow{key: k, first: ts, forwarded: forwarded}
		f.reason = reasonOf(nil, f)
		a.flows[mk] = f
		if k.local.IsValid() || k.link {
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
