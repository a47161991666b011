package capture

import "context"

// loop reads one interface until ctx is done. It owns f.src while it runs:
// only loop replaces it (under f.mu, for Stats), so the per-packet path
// takes no lock.
func (c *Capture) loop(ctx context.Context, f *iface, h Handler) {
	var p Packet
	var fr frame
	f.mu.Lock()
	src := f.src
	f.mu.Unlock()
	for n := 0; ; n++ {
		// ctx.Err takes a lock: look every 64 frames, and after every
		// quiet spell (a read timeout).
		if n&63 == 0 && ctx.Err() != nil {
			return
		}
		if src == nil {
			if !c.reopen(ctx, f) {
				return
			}
			f.mu.Lock()
			src = f.src
			f.mu.Unlock()
			continue
		}
		err := src.read(&fr)
		if err == errTimeout {
			n = -1
			continue
		}
		if err != nil {
			if c.opts.OnError != nil {
				c.opts.OnError(f.link.Name, c.describeFailure(f.link.Name, err))
			}
			f.mu.Lock()
			f.dropped += src.drops()
			src.close()
			f.src, src = nil, nil
			f.mu.Unlock()
			continue
		}
		if err := Decode(f.dlink, fr.data, &p); err != nil {
			f.malformed.Add(1)
			continue
		}
		p.Timestamp = fr.ts
		p.Length = fr.length
		p.IfIndex = fr.ifindex
		if p.IfIndex == 0 {
			p.IfIndex = f.index
		}
		if p.Type == PacketUnknown {
			// The source's value, unless the link header carried one.
			p.Type = fr.ptype
		}
		f.packets.Add(1)
		f.bytes.Add(uint64(fr.length))
		h(&p)
	}
}
