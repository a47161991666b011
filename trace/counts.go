package trace

import (
	"sync"

	"github.com/gohogs/gohogs/capture"
)

// Counts accounts packets counted in bulk, as capture.Capture.Collect hands
// them over (the ebpf backend counts in the kernel): each FlowCount is a
// packet with a count, classified as Packet classifies a packet (classify,
// sidesOf), put on the same flows (flowsFor) and counted the same way
// (add: copies seen on another interface once, the accounting), all of
// its Packets at once, in the refresh being collected, the one whose cut
// has just passed. An overflow bucket (FlowCount.Overflow: the kernel's
// flow map was full) goes to the unknown row of its protocol, on the side
// its packet type says, in the ReasonOverflow bucket. It takes the lock
// once for the whole batch, and allocates only for a new flow (or a batch
// longer than any before).
func (a *Accountant) Counts(cs []capture.FlowCount) {
	a.counts.mu.Lock()
	defer a.counts.mu.Unlock()
	// Classified before taking the lock, as Packet does.
	if cap(a.counts.buf) < len(cs) {
		a.counts.buf = make([]countClass, len(cs))
	}
	b := a.counts.buf[:len(cs)]
	for i := range cs {
		fc, cc := &cs[i], &b[i]
		*cc = countClass{}
		switch {
		case fc.Overflow:
			a.classifyOverflow(fc, &cc.c)
		default:
			a.classify(&fc.Packet, &cc.c)
			if !cc.c.drop && !cc.c.link {
				cc.s = a.sidesOf(&fc.Packet)
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range cs {
		fc, c := &cs[i], &b[i].c
		p := &fc.Packet
		n := uint64(p.Length)
		switch {
		case c.drop:
			a.stats.Ignored += fc.Packets
			a.dropped(c, n, false)
		case fc.Overflow:
			a.stats.Packets += fc.Packets
			a.stats.Bytes += n
			a.overflow(p, c, n)
		default:
			a.stats.Packets += fc.Packets
			a.stats.Bytes += n
			fs, fr := a.flowsFor(p, c, b[i].s)
			a.add(p, fs, fr, n, false, copySwitch+a.cfg.Interval)
		}
	}
}

// countsBuf is Counts' own: its classifications of a batch, reused.
type countsBuf struct {
	mu  sync.Mutex
	buf []countClass
}

// countClass is a FlowCount classified.
type countClass struct {
	c class
	s sides
}

// overflow credits an overflow bucket's n bytes, classified as c, to the
// unknown row of its protocol at once (it has no flow): SENT for what was
// sent, RECEIVED for the rest. a.mu is held.
func (a *Accountant) overflow(p *capture.Packet, c *class, n uint64) {
	to := a.unknownRow(flowKey{proto: c.proto})
	if p.Type == capture.PacketOutgoing {
		to.row.Sent += n
	} else {
		to.row.Recv += n
	}
	a.stats.UnknownBytes += n
	ac := a.accounting(false)
	ac.Captured += n
	ac.Buckets[ReasonOverflow] += n
}
