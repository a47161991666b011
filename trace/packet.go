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
		a.dropped(&c, n, a.after(p.Timestamp))
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
		var s sides
		if !c.link {
			a.mu.Unlock()
			s = a.sidesOf(p)
			a.mu.Lock()
		}
		fs, fr = a.flowsFor(p, &c, s)
		if e != nil {
			*e = tupleEntry{key: tk, gen: gen, sent: fs, recv: fr}
		}
	}
	a.add(p, fs, fr, n, a.after(p.Timestamp), copySwitch)
	a.mu.Unlock()
}

// flowsFor returns the flows that a packet p classified as c, its ends
// being s, counts on: its source's (SENT) and its destination's
// (RECEIVED), nil for an end that gets none; a packet socket's frame
// counts on its sender's alone. a.mu is held.
func (a *Accountant) flowsFor(p *capture.Packet, c *class, s sides) (fs, fr *flow) {
	if c.link {
		// Sent by a packet socket of this host.
		return a.flow(c.linkKey(p), p.Timestamp), nil
	}
	src, dst := c.ends(p)
	return a.flowsOf(s, c.proto, src, dst, p.Timestamp)
}

// add counts n bytes of p (one packet, or all the packets of a count) on
// the flows of its source and destination (fs, fr), for the refresh after
// the next cut if next, else for the next one; copies of packets that a
// flow counts on another interface, quiet for less than within, are not
// counted again (copyOf). It accounts them too: captured, twice when both
// flows count them, elsewhere when neither does. a.mu is held.
func (a *Accountant) add(p *capture.Packet, fs, fr *flow, n uint64, next bool, within time.Duration) {
	ac := a.accounting(next)
	ac.Captured += n
	closing := p.TCPFlags&(capture.TCPFin|capture.TCPRst) != 0
	counted := 0
	if fs != nil && !a.copyOf(fs, p, true, within) {
		count(&fs.sent, &fs.nsent, n, next)
		fs.closing = fs.closing || closing
		counted++
	}
	if fr != nil && !a.copyOf(fr, p, fs == nil, within) {
		count(&fr.recv, &fr.nrecv, n, next)
		fr.closing = fr.closing || closing
		counted++
	}
	switch counted {
	case 0:
		ac.Elsewhere += n // a copy: counted where the flows count it
	case 2:
		ac.Twice += n
	}
}

// dropped accounts n bytes of a packet classified c as not accounted, for
// the refresh after the next cut if next. a.mu is held.
func (a *Accountant) dropped(c *class, n uint64, next bool) {
	ac := a.accounting(next)
	ac.Captured += n
	ac.Buckets[c.reason] += n
}

// after says whether a packet stamped ts belongs to the refresh after the
// next cut (it is stamped at or after it). a.mu is held.
func (a *Accountant) after(ts time.Time) bool { return !ts.Before(a.cut) }

// accounting is the accounting of the next refresh, or of the one after it
// if next. a.mu is held.
func (a *Accountant) accounting(next bool) *Accounting {
	if next {
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
// it is new. a.mu is held.
func (a *Accountant) flow(k flowKey, ts time.Time) *flow {
	mk := k.mapKey()
	f := a.flows[mk]
	if f == nil {
		f = &flow{key: k, first: ts}
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
