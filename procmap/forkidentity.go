package procmap

import (
	"time"

	"github.com/gohogs/gohogs/internal/proccon"
	"github.com/gohogs/gohogs/internal/procfs"
)

// procEvent is told by the process connector of a new task (fork: thread
// e.PID of process e.TGID, PID == TGID for a new process, forked by
// e.Parent) or an exec (of process e.TGID). A new process's or an exec'd
// one's pid no longer has the identity remembered for it, if any.
//
// An exec'd process's identity is read at once: a process that sends a
// datagram and exits within a millisecond is gone before its send event
// is read, and is named by this identity. A new process is given its
// parent's identity at once (forkIdentity): a forked child that never
// execs (a prefork server's worker, a shell's subshell, a multiprocessing
// worker) has its parent's name, command line and uid, and one that
// uploads and exits within milliseconds is gone before its connect event
// is read. Both are done here, on the connector's goroutine, whose thread
// the kernel has just woken: a goroutine started for it may wait
// milliseconds for a thread while the new processes keep every CPU busy.
// It is a few small files.
func (c *connEvents) procEvent(e proccon.Event) {
	pid, tgid := e.PID, e.TGID
	if !e.Exec {
		c.task(pid, tgid)
		if pid != tgid {
			return
		}
	}
	c.idsMu.Lock()
	delete(c.ids, tgid)
	c.idsMu.Unlock()
	switch {
	case !c.execReads.Load():
	case e.Exec:
		c.readIdentityAs(tgid, true)
	case e.Parent > 0:
		c.forkIdentity(tgid, e.Parent)
	}
}

// forkIdentity remembers the identity of the new process child, forked by
// parent: its own start time and network namespace (one small file, one
// link), its parent's name, command line and uid (read once per parent,
// while it lives). Kernel threads (an empty command line) are left alone:
// a new one is named by its own comm. An exec replaces the identity; so
// does a read of the child while it still has its command line.
func (c *connEvents) forkIdentity(child, parent int) {
	c.idsMu.Lock()
	pe, ok := c.ids[parent]
	c.idsMu.Unlock()
	pp := pe.proc
	if !ok {
		if pp, _ = c.readIdentityAs(parent, false); pp == nil {
			return
		}
	}
	if len(pp.Cmdline) == 0 {
		return
	}
	dir, err := c.proc.OpenPID(child)
	if err != nil {
		return // already gone
	}
	defer dir.Close()
	var buf [1024]byte
	st, err := dir.Stat(buf[:])
	if err != nil {
		return
	}
	var netns uint64
	if n, err := dir.Readlink([]byte("ns/net"), buf[:]); err == nil {
		netns, _ = procfs.NSInode(buf[:n], "net")
	}
	p := &Process{PID: child, StartTime: st.StartTime, UID: pp.UID, Name: pp.Name, Cmdline: pp.Cmdline}
	c.idsMu.Lock()
	c.putID(child, connIdentity{proc: p, netns: netns, when: time.Now()})
	c.handed++
	c.idsMu.Unlock()
}

// forked returns the identity a forked child pid started at start was
// given from its parent (forkIdentity), or nil: what names a child read
// from /proc only as a zombie, its command line gone.
func (c *connEvents) forked(pid int, start uint64) *Process {
	c.idsMu.Lock()
	defer c.idsMu.Unlock()
	if id, ok := c.ids[pid]; ok && id.proc.StartTime == start && len(id.proc.Cmdline) > 0 {
		return id.proc
	}
	return nil
}
