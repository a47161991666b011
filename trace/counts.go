package trace

import (
	"net/netip"

	"github.com/gohogs/gohogs/capture"
)

// Counts accounts packets counted in bulk, as capture.Capture.Collect hands
// them over (the ebpf backend counts in the kernel): each FlowCount adds
// what its Packets packets would have added one by one, to the refresh
// being collected, the one whose cut has just passed. A FlowCount without
// addresses (an overflow bucket: the kernel's flow map was full) goes to
// the unknown rows, on the side its packet type says. It takes the lock
// once for the whole batch.
func (a *Accountant) Counts(cs []capture.FlowCount) {
	// Which ends are local, decided before taking the lock, as Packet
	// does.
	local := make([]uint8, len(cs))
	for i := range cs {
		p := &cs[i].Packet
		if a.counted(p.Proto) && p.Src.IsValid() {
			local[i] = b2u(a.cfg.Locals.Contains(p.Src)) | b2u(a.cfg.Locals.Contains(p.Dst))<<1
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range cs {
		fc := &cs[i]
		p := &fc.Packet
		if !a.counted(p.Proto) {
			a.stats.Ignored += fc.Packets
			continue
		}
		n := uint64(p.Length)
		a.stats.Packets += fc.Packets
		a.stats.Bytes += n
		ts := p.Timestamp
		if !p.Src.IsValid() {
			f := a.flow(p.Proto, netip.AddrPort{}, netip.AddrPort{}, ts)
			if p.Type == capture.PacketOutgoing {
				f.sent += n
			} else {
				f.recv += n
			}
			continue
		}
		var src, dst netip.AddrPort
		if p.HasPorts {
			src = netip.AddrPortFrom(p.Src, p.SrcPort)
			dst = netip.AddrPortFrom(p.Dst, p.DstPort)
		}
		srcLocal, dstLocal := local[i]&1 != 0, local[i]&2 != 0
		closing := p.TCPFlags&(capture.TCPFin|capture.TCPRst) != 0
		if srcLocal {
			f := a.flow(p.Proto, src, dst, ts)
			f.sent += n
			f.closing = f.closing || closing
		}
		if dstLocal || !srcLocal {
			f := a.flow(p.Proto, dst, src, ts)
			f.recv += n
			f.closing = f.closing || closing
		}
	}
}

// counted reports whether packets of proto are accounted (TCP, and UDP
// with Config.UDP), as Packet decides.
func (a *Accountant) counted(proto capture.Proto) bool {
	return proto == capture.ProtoTCP || proto == capture.ProtoUDP && a.cfg.UDP
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
