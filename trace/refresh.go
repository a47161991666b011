package trace

import (
	"cmp"
	"slices"
	"time"

	"github.com/gohogs/gohogs/capture"
)

// Refresh credits the bytes of the packets stamped before cut (and after the
// previous refresh's cut) and returns the refresh: every process row and the
// unknown rows, with the interval's bytes and the totals. cut should come
// from the monotonic clock (time.Now, or a schedule derived from it); call
// Refresh a little after cut (tens of milliseconds) so that the capture
// rings have handed over the packets stamped before it.
func (a *Accountant) Refresh(cut time.Time) *Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := cut
	a.seq++
	s := &Snapshot{Time: now, Elapsed: now.Sub(a.last), Seq: a.seq}
	a.last = now
	a.cut = now.Add(a.cfg.Interval)
	var unknownConns []*flow
	deleted := false
	for mk, f := range a.flows {
		k := f.key
		f.credSent, f.credRecv = 0, 0
		if f.sent|f.recv != 0 {
			var to *proc
			switch {
			case f.state == stateResolved:
				to = f.owner
			case now.Sub(f.first) < a.cfg.PendingLimit && (f.queued || f.state == statePending):
				// Still being looked up: keep the bytes for the next refresh.
			default:
				to = a.unknownFor(k.proto)
				a.stats.UnknownBytes += f.sent + f.recv
			}
			if to != nil {
				f.credSent, f.credRecv = f.sent, f.recv
				if to.row.Kind <= KindSocket && a.procs[to.key] != to {
					a.procs[to.key] = to // forgotten while idle, now back
				}
				to.row.Sent += f.sent
				to.row.Recv += f.recv
				to.lastByte = now
				f.sent, f.recv = 0, 0
			}
		}
		// What was stamped after this cut belongs to the next refresh.
		f.sent += f.nsent
		f.recv += f.nrecv
		f.nsent, f.nrecv = 0, 0
		if f.state != stateResolved && k.proto == capture.ProtoTCP && k.local.IsValid() {
			unknownConns = append(unknownConns, f)
		}
		timeout := a.cfg.FlowTimeout
		if f.closing && f.state != statePending {
			timeout = min(timeout, closedFlowTimeout)
		}
		if f.sent|f.recv == 0 && !f.queued && now.Sub(f.lastSeen) > timeout {
			if f.owner != nil {
				f.owner.flows--
			}
			delete(a.flows, mk)
			deleted = true
		}
	}
	if deleted && a.cache != nil {
		clear(a.cache[:]) // no entry may point at a flow that left
	}
	slices.SortFunc(unknownConns, func(x, y *flow) int {
		if c := x.first.Compare(y.first); c != 0 {
			return c
		}
		return cmp.Compare(x.key.String(), y.key.String())
	})
	for _, f := range unknownConns {
		s.UnknownConns = append(s.UnknownConns, f.key.String())
	}
	conns := make(map[*proc][]Conn)
	for _, f := range a.flows {
		k := f.key
		if !a.cfg.NoConns && f.state == stateResolved && f.owner.row.Kind <= KindSocket {
			conns[f.owner] = append(conns[f.owner], Conn{Proto: k.proto, Local: k.local, Remote: k.remote, Sent: f.credSent, Recv: f.credRecv})
		}
	}
	emit := func(p *proc) {
		p.row.Conns = conns[p]
		slices.SortFunc(p.row.Conns, func(x, y Conn) int {
			if c := cmp.Compare(x.Local.Port(), y.Local.Port()); c != 0 {
				return c
			}
			return x.Remote.Compare(y.Remote)
		})
		p.row.TotalSent += p.row.Sent
		p.row.TotalRecv += p.row.Recv
		s.Rows = append(s.Rows, p.row)
		p.row.Sent, p.row.Recv = 0, 0
	}
	for k, p := range a.procs {
		if p.row.Sent|p.row.Recv != 0 {
			p.lastByte = now
		}
		if !a.cfg.KeepIdle && p.lastByte.IsZero() {
			p.lastByte = now
		}
		if !a.cfg.KeepIdle && now.Sub(p.lastByte) > a.cfg.ProcessTimeout && p.row.Sent|p.row.Recv == 0 {
			delete(a.procs, k)
			continue
		}
		emit(p)
	}
	if a.unknownUDP != nil {
		emit(a.unknownUDP)
	}
	emit(a.unknownTCP)
	a.stats.Flows = len(a.flows)
	a.stats.Processes = len(a.procs)
	return s
}
