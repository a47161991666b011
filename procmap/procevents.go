package procmap

import (
	"github.com/gohogs/gohogs/internal/proccon"
)

// maxFresh bounds the pids reported by the process connector and not
// scanned yet.
const maxFresh = 1024

// startProcEvents subscribes to the process connector (internal/proccon):
// new processes are scanned first on a miss, and an exec'd process's
// identity is read again. With nice, its reader's thread runs at nice -10.
func (r *Resolver) startProcEvents(nice bool) error {
	opts := proccon.Options{}
	if nice {
		opts.Nice = -10
	}
	ev, err := proccon.Start(r.onProcEvents, r.onProcEventError, opts)
	if err != nil {
		return err
	}
	r.events = ev
	if r.conns != nil {
		r.conns.forks.Store(true)
	}
	return nil
}

// onProcEvents handles a batch of the connector's events, on its reader's
// thread: first what must not wait for the Resolver's lock (held during a
// scan), the connect events' identity reads of exec'd processes; then the
// Resolver's own part.
func (r *Resolver) onProcEvents(evs []proccon.Event) {
	if r.conns != nil {
		for _, e := range evs {
			r.conns.procEvent(e)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range evs {
		if e.Exec || e.PID == e.TGID { // a process, not a thread
			r.onProcEvent(e.TGID, e.Exec)
		}
	}
}

// onProcEvent records a new or exec'd process: it is scanned first on the
// next miss, and an exec'd process's identity is read again. r.mu is held.
func (r *Resolver) onProcEvent(pid int, exec bool) {
	r.stats.ProcEvents++
	if exec {
		if e := r.procs[pid]; e != nil {
			e.execd = true
		}
	}
	if n := len(r.fresh); n > 0 && r.fresh[n-1] == pid {
		return
	}
	if len(r.fresh) >= maxFresh {
		r.fresh = r.fresh[:copy(r.fresh, r.fresh[maxFresh/2:])]
	}
	r.fresh = append(r.fresh, pid)
}

func (r *Resolver) onProcEventError(error) {
	r.mu.Lock()
	r.stats.ProcEventErrors++
	r.mu.Unlock()
}

// scanFresh scans the processes reported by the connector, newest first,
// until target is found; those scanned are forgotten.
func (r *Resolver) scanFresh(target uint64) bool {
	for len(r.fresh) > 0 {
		pid := r.fresh[len(r.fresh)-1]
		r.fresh = r.fresh[:len(r.fresh)-1]
		if e, ok := r.procs[pid]; ok && e.scanned && !e.execd && !r.young(e) {
			continue
		}
		if r.scanProc(pid, target, scanComplete) {
			return true
		}
	}
	return false
}
