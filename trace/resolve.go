package trace

import (
	"strings"
	"time"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/procmap"
)

// A failed lookup is retried quickRetries times, after 20, 40, 80, 160 and
// 320 ms, then every 320 ms while the flow's bytes are held (PendingLimit
// after its first packet), before they go to the unknown rows: the event
// that names a short connection's owner may be read late on a busy
// machine.
const (
	quickRetries = 5
	quickRetry   = 10 * time.Millisecond
)

// requeue queues f's lookup again (from a retry timer).
func (a *Accountant) requeue(f *flow) {
	select {
	case <-a.stop:
		return
	default:
	}
	select {
	case a.queue <- f:
	default:
		a.mu.Lock()
		f.queued = false
		f.state = stateFailed
		a.stats.Dropped++
		a.mu.Unlock()
	}
}

func (a *Accountant) worker() {
	defer a.wg.Done()
	for {
		select {
		case <-a.stop:
			return
		case f := <-a.queue:
			k := f.key // immutable
			owner, err := a.lookup(k)
			var key procKey
			var row Row
			if err == nil {
				key, row = ownerRow(owner, k)
			}
			// A socket whose holder is not seen may be named a moment
			// later (a short-lived process's connect event still on its
			// way): it is looked up again a few times, its bytes held,
			// before its socket row is taken.
			hidden := err == nil && owner.Process == nil && f.tries < quickRetries
			now := time.Now()
			a.mu.Lock()
			f.queued = false
			switch {
			case hidden:
				f.reason = ReasonNoProcess
			case err != nil:
				f.reason = reasonOf(err, f)
			}
			if err == nil && !hidden {
				f.state = stateResolved
				f.owner = a.procFor(key, row, k)
				if f.owner != nil {
					f.owner.flows++
				}
				a.stats.Resolved++
			} else if a.final(f, err, now) {
				// A forwarded or NAT'd end found elsewhere or nowhere (forward.go).
			} else if hidden || f.tries < quickRetries || now.Sub(f.first) < a.cfg.PendingLimit-quickRetry<<quickRetries {
				// The owner may be known a moment later (an event about
				// it still on its way): look again soon, even if the flow
				// sends nothing more, holding its bytes meanwhile.
				if f.tries < quickRetries {
					f.tries++
				}
				f.queued = true
				time.AfterFunc(quickRetry<<f.tries, func() { a.requeue(f) })
			} else {
				f.state = stateFailed
				// Back off: 0.25 s, 0.5 s, 1 s, ... up to 1 minute.
				d := min(250*time.Millisecond<<min(f.tries-quickRetries, 8), time.Minute)
				f.nextTry = now.Add(d)
				if f.tries < 255 {
					f.tries++
				}
				a.stats.Failed++
			}
			a.mu.Unlock()
		}
	}
}

// ownerRow returns the key and the row of a flow's owner. It needs no lock.
func ownerRow(o procmap.Owner, k flowKey) (procKey, Row) {
	if p := o.Process; p != nil {
		row := Row{Kind: KindProcess, Name: p.Name, Cmdline: p.Cmdline, PID: p.PID, StartTime: p.StartTime, UID: p.UID,
			Cgroup: p.Cgroup, Unit: p.Unit, Container: p.Container}
		if len(p.Cmdline) > 1 {
			row.Args = strings.Join(p.Cmdline[1:], " ")
		}
		return procKey{pid: p.PID, start: p.StartTime, kind: KindProcess}, row
	}
	// nethogs names the row of a socket without a process after its flow.
	return procKey{inode: o.Inode, kind: KindSocket}, Row{Kind: KindSocket, Name: socketName(k), UID: o.UID}
}

// procFor returns the row that the traffic of the owner with this key and
// row goes to. a.mu is held.
func (a *Accountant) procFor(key procKey, row Row, k flowKey) *proc {
	if a.pids != nil && !a.pids[row.PID] {
		return a.unknownRow(k)
	}
	p := a.procs[key]
	if p == nil {
		p = &proc{key: key, row: row}
		a.procs[key] = p
	}
	return p
}

// unknownRow is the unknown row of the flows keyed k: the row of their
// protocol (with -C; the TCP row otherwise), none for the frames of a
// packet socket that are not IP. a.mu is held.
func (a *Accountant) unknownRow(k flowKey) *proc {
	var p *proc
	switch {
	case k.link && k.proto == 0:
		return nil
	case k.proto == capture.ProtoTCP:
	case k.proto == capture.ProtoUDP:
		p = a.unknownUDP
	case k.proto == capture.ProtoICMP || k.proto == capture.ProtoICMPv6:
		p = a.unknownICMP
	default:
		p = a.unknownIP
	}
	if p == nil {
		return a.unknownTCP
	}
	return p
}
