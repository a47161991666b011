package procmap

import (
	"time"

	"golang.org/x/sys/unix"

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
		c.forkIdentity(tgid, e.Parent, e.Time)
	}
}

// forkIdentity remembers the identity of the new process child, forked by
// parent at monotonic time forked (ns): its own start time and network
// namespace (one small file, one link), its parent's name, command line
// and uid (read once per parent, while it lives). A child already gone
// (the connector's reader ran late) gets the start time of its fork event
// and no namespace. Kernel threads (an empty command line) are left
// alone: a new one is named by its own comm. An exec replaces the
// identity; so does a read of the child while it still has its command
// line.
func (c *connEvents) forkIdentity(child, parent int, forked uint64) {
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
	start, netns, ok := c.childStart(child)
	if !ok {
		if start = monotonicTicks(forked); start == 0 {
			return
		}
	}
	p := &Process{PID: child, StartTime: start, UID: pp.UID, Name: pp.Name, Cmdline: pp.Cmdline}
	c.idsMu.Lock()
	c.putID(child, connIdentity{proc: p, netns: netns, when: time.Now()})
	c.handed++
	c.idsMu.Unlock()
}

// childStart reads the start time and network namespace of pid; ok is
// false if it is gone.
func (c *connEvents) childStart(pid int) (start, netns uint64, ok bool) {
	dir, err := c.proc.OpenPID(pid)
	if err != nil {
		return 0, 0, false
	}
	defer dir.Close()
	var buf [1024]byte
	st, err := dir.Stat(buf[:])
	if err != nil {
		return 0, 0, false
	}
	if n, err := dir.Readlink([]byte("ns/net"), buf[:]); err == nil {
		netns, _ = procfs.NSInode(buf[:n], "net")
	}
	return st.StartTime, netns, true
}

// monotonicTicks converts a CLOCK_MONOTONIC time in nanoseconds to the
// clock ticks after boot (CLOCK_BOOTTIME, USER_HZ 100) of
// /proc/PID/stat's start time; 0 if the clocks cannot be read. (A fork
// event is stamped microseconds after the task's start: the tick is the
// task's but for one fork in some hundreds, across a tick's edge.)
func monotonicTicks(ns uint64) uint64 {
	var boot, mono unix.Timespec
	if ns == 0 || unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot) != nil || unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono) != nil {
		return 0
	}
	return uint64(int64(ns)+boot.Nano()-mono.Nano()) / 1e7
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
