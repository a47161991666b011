package trace

import (
	"time"

	"github.com/gohogs/gohogs/capture"
)

// kernel hands packets to an Accountant as the ebpf backend does: the
// first packet of each tuple since the last collect whole (Packet), the
// others counted under their tuple (what the kernel's flow map key holds:
// the packet but for its stamp, length and TCP flags, with its interface)
// and handed over at the cut as FlowCounts stamped then (Counts), in
// batches.
type kernel struct {
	a     *Accountant
	index map[capture.Packet]int // tuple → its count in counts
	count []capture.FlowCount
}

func newKernel(a *Accountant) *kernel {
	return &kernel{a: a, index: map[capture.Packet]int{}}
}

// packet is one packet through the kernel.
func (k *kernel) packet(p *capture.Packet) {
	key := *p
	key.Timestamp, key.Length, key.CaptureLength, key.TCPFlags = time.Time{}, 0, 0, 0
	if i, ok := k.index[key]; ok {
		fc := &k.count[i]
		fc.Packets++
		fc.Length += p.Length
		fc.TCPFlags |= p.TCPFlags
		return
	}
	k.index[key] = len(k.count)
	k.count = append(k.count, capture.FlowCount{Packet: key}) // counted from the next one
	k.a.Packet(p)
}

// collect hands the counts over, stamped at, with the overflow buckets
// given, three at a time (the map's entries of tuples with no packet
// since their first are handed over too, empty, as Drain does).
func (k *kernel) collect(at time.Time, overflow ...capture.FlowCount) {
	cs := append(k.count, overflow...)
	for i := range cs {
		cs[i].Timestamp = at
	}
	for len(cs) > 0 {
		n := min(3, len(cs))
		k.a.Counts(cs[:n])
		cs = cs[n:]
	}
	k.count = k.count[:0]
	clear(k.index)
}

// interval hands over the packets of one refresh interval (in the order of
// their stamps): those stamped before cut, the counts at cut, then those
// stamped after it (their first packets at once, the rest at the next
// collect).
func (k *kernel) interval(ps []*capture.Packet, cut time.Time, overflow ...capture.FlowCount) {
	i := 0
	for ; i < len(ps) && ps[i].Timestamp.Before(cut); i++ {
		k.packet(ps[i])
	}
	k.collect(cut, overflow...)
	for ; i < len(ps); i++ {
		k.packet(ps[i])
	}
}
