package procmap

import (
	"slices"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
)

// tgidEntry is the process of a thread, as processOf found it.
type tgidEntry struct {
	tgid int
	when time.Time
}

// connIdentity is a process's identity as readIdentity read it.
type connIdentity struct {
	proc  *Process
	netns uint64
	when  time.Time // when it was read
}

// ident is a process's identity being read: ready is closed once proc (nil
// if the process was gone) and netns are set.
type ident struct {
	pid   int
	born  time.Time
	ready chan struct{}
	proc  *Process
	netns uint64 // 0 if unknown
}

// identWorkers bounds the identity reads running at once (a burst starts
// more, briefly).
const identWorkers = 4

const (
	// identTTL is how long an identity read is reused for later events of
	// the same pid, rather than read again.
	identTTL = time.Second
	// identWait bounds how long a Resolve waits for an identity being
	// read (/proc is very slow: the flow is looked up again later).
	identWait = 100 * time.Millisecond
	// tasksMax bounds the tasks whose process is remembered.
	tasksMax = 1 << 16
	// idsMax bounds the identities kept (a few hundred bytes each).
	idsMax = 16384
)

// identFor returns the identity of pid, reading it (in the background)
// unless a read started less than identTTL ago. c.mu is held.
func (c *connEvents) identFor(pid int, now time.Time) *ident {
	if id, ok := c.idents.get(pid, now); ok && now.Sub(id.born) < identTTL {
		return id
	}
	id := &ident{pid: pid, born: now, ready: make(chan struct{})}
	c.idents.put(pid, id, now)
	fill := func() {
		id.proc, id.netns = c.identify(pid)
		if id.proc == nil {
			c.mu.Lock()
			c.lost++
			c.mu.Unlock()
		}
		close(id.ready)
	}
	select {
	case c.sem <- struct{}{}:
		go func() { defer func() { <-c.sem }(); fill() }()
	default:
		go fill() // a burst: more readers than usual, briefly
	}
	return id
}

// task records a new task: thread tid of process tgid (tid == tgid for a
// new process).
func (c *connEvents) task(tid, tgid int) {
	c.tasksMu.Lock()
	if len(c.tasks) >= tasksMax {
		for k := range c.tasks {
			if len(c.tasks) <= tasksMax/2 {
				break
			}
			delete(c.tasks, k) // then read from /proc, or the line
		}
	}
	c.tasks[tid] = tgid
	c.tasksMu.Unlock()
}

// processOf returns the process id of the event's thread: the line's, or
// the one read from /proc for the thread, remembered for a few seconds (a
// UDP sender's every datagram is an event: /proc is read once per thread).
//
// The line's own tgid comes last, unless it says the thread is its
// process's main one: the kernel records a task's tgid when it is next
// switched out, and prints at read time what it recorded last for that
// tid; a task that sent and exited before that, with a tid an earlier
// thread had, is printed with the earlier thread's process. The process
// connector's report of the task's creation, or /proc while it lives, is
// sure.
func (c *connEvents) processOf(ev connEvent, now time.Time) int {
	if e, ok := c.tgids[ev.pid]; ok && now.Sub(e.when) < 5*time.Second {
		return e.tgid
	}
	c.tasksMu.Lock()
	tgid := c.tasks[ev.pid]
	c.tasksMu.Unlock()
	if tgid == 0 && ev.tgid == ev.pid {
		// A process's main thread: were it stale, it would be an
		// earlier process of the same pid, and /proc/PID is the latest.
		tgid = ev.tgid
	}
	if tgid == 0 {
		tgid = c.threadTgid(ev.pid)
	}
	if tgid == 0 {
		tgid = ev.tgid
	}
	if tgid > 0 {
		if len(c.tgids) >= 4096 {
			clear(c.tgids)
		}
		c.tgids[ev.pid] = tgidEntry{tgid: tgid, when: now}
	}
	return tgid
}

// tgidOf returns the process id of thread tid, from /proc/TID/status (a
// thread's directory is there though /proc does not list it), or 0.
func (c *connEvents) tgidOf(tid int) int {
	d, err := c.proc.OpenPID(tid)
	if err != nil {
		return 0
	}
	defer d.Close()
	var buf [2048]byte // Tgid is the fourth line
	b, err := d.ReadFile("status", buf[:])
	if err != nil {
		return 0
	}
	return procfs.ParseStatusTgid(b)
}

// readIdentity reads the identity of pid from /proc, without the
// Resolver's lock (a scan holding it must not delay the reads while
// short-lived processes exit): the start time each time, the rest once per
// process. The command line first: it is empty once a process exits. A
// process already gone is named by the identity read when it exec'd, if
// the process connector runs (a reused pid drops it).
func (c *connEvents) readIdentity(pid int) (*Process, uint64) {
	return c.readIdentityAs(pid, false)
}

// readIdentityAs is readIdentity; after an exec (fresh) it reads the
// identity even if one with the same start time (kept by exec) is known.
func (c *connEvents) readIdentityAs(pid int, fresh bool) (*Process, uint64) {
	dir, err := c.proc.OpenPID(pid)
	if err != nil {
		return c.remembered(pid)
	}
	defer dir.Close()
	buf := make([]byte, procfs.MaxCmdline+4096)
	cmdline, cmdErr := dir.ReadFile("cmdline", buf[:procfs.MaxCmdline])
	st, err := dir.Stat(buf[procfs.MaxCmdline:])
	if err != nil {
		return c.remembered(pid)
	}
	comm, start := string(st.Comm), st.StartTime
	c.idsMu.Lock()
	id, ok := c.ids[pid]
	c.idsMu.Unlock()
	known := ok && id.proc.StartTime == start
	p := &Process{PID: pid, StartTime: start, Name: comm}
	if cmdErr == nil {
		p.Cmdline = procfs.ParseCmdline(cmdline)
		p.Name = processName(p.Cmdline, comm)
	}
	if known && !fresh && (len(p.Cmdline) == 0 || slices.Equal(p.Cmdline, id.proc.Cmdline)) {
		// As read before. (Another command line with the same start
		// time is an exec whose event the connector has not handled
		// yet: what was read before the exec, in another network
		// namespace maybe, as ip netns exec does, is stale.)
		return id.proc, id.netns
	}
	if len(p.Cmdline) == 0 && known {
		// A zombie (no command line any more): as it was read before.
		return id.proc, id.netns
	}
	if b, err := dir.ReadFile("status", buf[procfs.MaxCmdline:]); err == nil {
		p.UID, _ = procfs.ParseStatusUID(b)
	}
	readCgroup(dir, buf[:procfs.MaxCmdline], c.names, p)
	var netns uint64
	if n, err := dir.Readlink([]byte("ns/net"), buf); err == nil {
		netns, _ = procfs.NSInode(buf[:n], "net")
	}
	c.idsMu.Lock()
	c.putID(pid, connIdentity{proc: p, netns: netns, when: time.Now()})
	c.idsMu.Unlock()
	return p, netns
}

// putID stores an identity, forgetting old ones if there are too many.
// c.idsMu is held.
func (c *connEvents) putID(pid int, id connIdentity) {
	if len(c.ids) >= idsMax {
		for k, v := range c.ids {
			if id.when.Sub(v.when) > 30*time.Second || len(c.ids) > idsMax*3/4 {
				delete(c.ids, k)
			}
		}
	}
	c.ids[pid] = id
}

// remembered returns the identity last read for pid, a process now gone,
// if it can be trusted to be that process's: while the process connector
// reports forks, which drop a reused pid's.
func (c *connEvents) remembered(pid int) (*Process, uint64) {
	if !c.forks.Load() {
		return nil, 0
	}
	c.idsMu.Lock()
	defer c.idsMu.Unlock()
	if id, ok := c.ids[pid]; ok {
		return id.proc, id.netns
	}
	return nil, 0
}
