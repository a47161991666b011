package capture

import "context"

// loop reads interface f and hands its packets to h until ctx is done (it
// returns nil) or f fails permanently (it returns the *InterfaceError, after
// reporting it). A transient failure is reported once per outage: the
// outage ends when a read on the reopened source succeeds. loop owns f.src
// while it runs: only loop replaces it (under f.mu, for Stats), so the
// per-packet path takes no lock.
func (c *Capture) loop(ctx context.Context, f *iface, h Handler) error {
	var p Packet
	var fr frame
	f.mu.Lock()
	src := f.src
	f.mu.Unlock()
	out := false // an outage was reported and no read has succeeded since
	for n := 0; ; n++ {
		// ctx.Err takes a lock: look every 64 frames, and after every
		// quiet spell (a read timeout).
		if n&63 == 0 && ctx.Err() != nil {
			return nil
		}
		if src == nil {
			var err error
			if src, err = c.reopen(ctx, f); err != nil {
				e := &InterfaceError{Interface: f.link.Name, Permanent: true, Err: err}
				c.report(e)
				return e
			}
			if src == nil {
				return nil // ctx ended
			}
			continue
		}
		err := src.read(&fr)
		if err == errTimeout {
			n, out = -1, false
			continue
		}
		if err != nil {
			f.mu.Lock()
			f.dropped += src.drops()
			src.close()
			f.src, src = nil, nil
			f.mu.Unlock()
			e := c.failure(f, err)
			if e.Permanent || !out {
				c.report(e)
			}
			if e.Permanent {
				return e
			}
			out = true
			continue
		}
		out = false
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
