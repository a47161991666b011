package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/gohogs/gohogs/internal/flowbpf"
)

// FlowCount is the traffic of one packet tuple that the ebpf backend
// counted in the kernel since the previous Collect. Its Packet describes the
// tuple as Decode would have, for all of its packets at once: Length is their
// bytes (whole frames), Timestamp when Collect took them out, TCPFlags every
// flag seen; Packets is how many there were.
//
// An overflow bucket (Overflow: packets that found the flow map full, see
// Options.MaxFlows) has no addresses and no ports: only Proto (TCP, UDP,
// ICMP, or 0 for the others), Type (PacketOutgoing for what was sent,
// PacketHost for the rest) and IfIndex.
type FlowCount struct {
	Packet
	Packets uint64
	// Overflow marks an overflow bucket.
	Overflow bool
}

// collectBatch is how many FlowCounts Collect hands over at a time.
const collectBatch = 256

// Collect takes the counts out of the kernel's flow maps of the interfaces
// that the ebpf backend reads, stamps them now and hands them to fn, in
// batches (a batch is valid only during the call). Every packet counted in
// the kernel is handed over exactly once, by Collect or, for a flow's first
// packet, to Run's Handler. With the other backends there is nothing to
// collect. Call it at each refresh's cut, from one goroutine at a time.
func (c *Capture) Collect(now time.Time, fn func([]FlowCount)) error {
	var errs []error
	for _, f := range c.ifaces {
		if err := c.collect(f, now, fn); err != nil {
			errs = append(errs, fmt.Errorf("capture: interface %q: %w", f.link.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Capture) collect(f *iface, now time.Time, fn func([]FlowCount)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctr == nil {
		return nil
	}
	if f.batch == nil {
		f.batch = make([]FlowCount, 0, collectBatch)
	}
	b := f.batch[:0]
	flush := func() {
		if len(b) > 0 {
			fn(b)
			b = b[:0]
		}
	}
	add := func(fc FlowCount) {
		f.packets.Add(fc.Packets)
		f.bytes.Add(uint64(fc.Length))
		b = append(b, fc)
		if len(b) == cap(b) {
			flush()
		}
	}
	err := f.ctr.Drain(func(k *flowbpf.Key, v flowbpf.Value) {
		add(flowCount(k, v, now, f.index))
	})
	ov, oerr := f.ctr.Overflow()
	if oerr == nil {
		for i, v := range ov {
			prev := f.overflow[i]
			if v.Packets == prev.Packets {
				continue
			}
			f.overflow[i] = v
			fc := FlowCount{Packet: Packet{Timestamp: now, Length: int(v.Bytes - prev.Bytes), IfIndex: f.index,
				Type: PacketHost, TCPFlags: uint8(v.TcpFlags)}, Packets: v.Packets - prev.Packets, Overflow: true}
			if i >= flowbpf.OverflowOut {
				fc.Type = PacketOutgoing
			}
			switch i % flowbpf.OverflowOut {
			case flowbpf.OverflowTCP:
				fc.Proto = ProtoTCP
			case flowbpf.OverflowUDP:
				fc.Proto = ProtoUDP
			case flowbpf.OverflowICMP:
				fc.Proto = ProtoICMP
			}
			add(fc)
		}
	}
	flush()
	return errors.Join(err, oerr)
}

// flowCount converts a flow map entry.
func flowCount(k *flowbpf.Key, v flowbpf.Value, now time.Time, ifindex int) FlowCount {
	fc := FlowCount{Packet: Packet{Timestamp: now, Length: int(v.Bytes), IfIndex: ifindex, Type: PacketType(k.Ptype)},
		Packets: v.Packets}
	src, dst, ok := k.Addrs()
	if !ok {
		fc.EtherType = k.Sport>>8 | k.Sport<<8 // not IP
		return fc
	}
	p := &fc.Packet
	p.Src, p.Dst = src, dst
	p.Version = 4
	if k.Flags&flowbpf.FlagIPv6 != 0 {
		p.Version = 6
	}
	p.Proto = Proto(k.Proto)
	p.Fragment = k.Flags&flowbpf.FlagFragment != 0
	if k.Flags&flowbpf.FlagPorts != 0 {
		p.HasPorts = true
		p.SrcPort, p.DstPort = k.Ports()
	}
	if k.Flags&flowbpf.FlagICMP != 0 {
		tc, id := k.Ports()
		p.HasICMP, p.ICMPType, p.ICMPCode, p.EchoID = true, uint8(tc>>8), uint8(tc), id
	}
	if p.Proto == ProtoTCP {
		p.TCPFlags = uint8(v.TcpFlags)
	}
	return fc
}

// ebpfStats adds the kernel counters of f's programs to st. f.mu is held.
func (f *iface) ebpfStats(st *Stats) {
	if f.ctr == nil {
		return
	}
	ks, err := f.ctr.Stats()
	if err != nil {
		return
	}
	st.Malformed += ks.Malformed
	st.MapFull = ks.MapFull
	st.EventsLost = ks.EventsLost
}

// Backend returns the backend the interfaces are read with: what
// Options.Backend asked for, or for the default the one chosen.
func (c *Capture) Backend() Backend { return c.opts.Backend }

// Fallback says why the default backend is afpacket rather than ebpf (the
// kernel, the privileges, a filter expression), or is nil.
func (c *Capture) Fallback() error { return c.fallback }
