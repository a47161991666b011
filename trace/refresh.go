package trace

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/trace/nethogs"
)

// Refresh credits the bytes of the packets stamped before cut (and after the
// previous refresh's cut) and returns the refresh: every process row and the
// unknown rows, with the interval's bytes and the totals. cut should come
// from the monotonic clock (time.Now, or a schedule derived from it); call
// Refresh a little after cut (tens of milliseconds) so that the capture
// rings have handed over the packets stamped before it.
//
// Refresh holds the lock that every packet takes only to walk the flow
// table and copy out the rows and connections; it sorts them after
// letting go.
func (a *Accountant) Refresh(cut time.Time) *Snapshot {
	a.mu.Lock()
	s, unknown := a.refresh(cut)
	a.mu.Unlock()
	slices.SortFunc(unknown, compareUnknown)
	if len(unknown) > 0 {
		s.UnknownConns = make([]Conn, len(unknown))
		for i := range unknown {
			s.UnknownConns[i] = unknown[i].conn
		}
	}
	for i := range s.Rows {
		slices.SortFunc(s.Rows[i].Conns, compareConns)
	}
	a.nameContainers(s.Rows)
	a.nameRemotes(s.Rows)
	return s
}

// unknownConn is a TCP flow without a known owner, as refresh copies it out.
type unknownConn struct {
	first time.Time
	conn  Conn
}

// compareUnknown orders the unknown connections oldest first; flows first
// seen by the same packet (the two ends of a local connection) in the order
// of their names as the trace prints them, compared without building them.
func compareUnknown(x, y unknownConn) int {
	if c := x.first.Compare(y.first); c != 0 {
		return c
	}
	var bx, by [96]byte // two IPv6 ends and their ports; a zone may go past, on the heap
	return bytes.Compare(nethogs.AppendConn(bx[:0], x.conn.Local, x.conn.Remote),
		nethogs.AppendConn(by[:0], y.conn.Local, y.conn.Remote))
}

// compareConns orders a row's connections by local port, then remote end,
// then local address and protocol, so that the order is the same every time.
func compareConns(x, y Conn) int {
	return cmp.Or(cmp.Compare(x.Local.Port(), y.Local.Port()), x.Remote.Compare(y.Remote),
		x.Local.Addr().Compare(y.Local.Addr()), cmp.Compare(x.Proto, y.Proto))
}

// refresh is Refresh's work under a.mu: it credits the flows' bytes, ages the
// flows and processes out, and returns the snapshot with its rows (their
// connections not yet sorted) and the unknown connections (not yet sorted).
func (a *Accountant) refresh(now time.Time) (*Snapshot, []unknownConn) {
	a.seq++
	s := &Snapshot{Time: now, Elapsed: now.Sub(a.last), Seq: a.seq, Rows: make([]Row, 0, len(a.procs)+2)}
	a.last = now
	a.cut = now.Add(a.cfg.Interval)
	unknown := make([]unknownConn, 0, a.unknownConns) // as many as last time
	deleted := false
	var held uint64
	for mk, f := range a.flows {
		k := f.key
		f.credSent, f.credRecv = 0, 0
		if n := f.sent + f.recv; n != 0 {
			switch to, fate := a.settle(f, now); fate {
			case fateHeld:
				// Still being looked up: keep the bytes for the next refresh.
				held += n
			case fateElsewhere:
				a.stats.ElsewhereBytes += n
				a.acct[0].Elsewhere += n
				f.sent, f.recv = 0, 0
			default:
				if f.state != stateResolved && to != nil {
					a.stats.UnknownBytes += n
				}
				a.account(f, to)
				if to != nil {
					f.credSent, f.credRecv = f.sent, f.recv
					if to.row.Kind <= KindSocket && a.procs[to.key] != to {
						a.procs[to.key] = to // forgotten while idle, now back
					}
					to.row.Sent += f.sent
					to.row.Recv += f.recv
					to.lastByte = now
				}
				f.sent, f.recv = 0, 0
			}
		}
		// What was stamped after this cut belongs to the next refresh.
		f.sent += f.nsent
		f.recv += f.nrecv
		f.nsent, f.nrecv = 0, 0
		conn := Conn{Proto: k.proto, Local: k.local, Remote: k.remote, Sent: f.credSent, Recv: f.credRecv}
		if f.state != stateResolved && k.proto == capture.ProtoTCP && k.local.IsValid() && !a.elsewhere(f) {
			unknown = append(unknown, unknownConn{first: f.first, conn: conn})
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
			continue
		}
		if o := f.owner; !a.cfg.NoConns && f.state == stateResolved && o != nil && o.row.Kind <= KindSocket && !k.link {
			if o.connSeq != a.seq {
				o.conns, o.connSeq = make([]Conn, 0, max(o.flows, 1)), a.seq
			}
			o.conns = append(o.conns, conn)
		}
	}
	if deleted && a.cache != nil {
		clear(a.cache[:]) // no entry may point at a flow that left
	}
	emit := func(p *proc) {
		p.row.TotalSent += p.row.Sent
		p.row.TotalRecv += p.row.Recv
		r := p.row
		if p.connSeq == a.seq {
			r.Conns = p.conns // the snapshot's own: p starts a new slice next time
		}
		p.conns = nil
		s.Rows = append(s.Rows, r)
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
			p.conns = nil
			continue
		}
		emit(p)
	}
	if a.unknownUDP != nil {
		emit(a.unknownUDP)
	}
	for _, p := range []*proc{a.unknownICMP, a.unknownIP} {
		// Listed once they had bytes: a -C trace without such traffic
		// has nethogs's rows.
		if p != nil && p.row.Sent|p.row.Recv|p.row.TotalSent|p.row.TotalRecv != 0 {
			emit(p)
		}
	}
	emit(a.unknownTCP)
	s.Accounting = a.closeAccounting(held)
	a.unknownConns = len(unknown)
	a.stats.Flows = len(a.flows)
	a.stats.Processes = len(a.procs)
	return s, unknown
}
