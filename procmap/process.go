package procmap

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gohogs/gohogs/internal/procfs"
)

// Process returns the identity of pid: name, uid, start time and command
// line, read from /proc once per (pid, start time). It returns an error
// wrapping fs.ErrNotExist if the process does not exist.
func (r *Resolver) Process(pid int) (*Process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, dir, err := r.entry(pid)
	if err != nil {
		return nil, fmt.Errorf("procmap: process %d: %w", pid, err)
	}
	if dir != e.dir {
		dir.Close()
	}
	return e.proc, nil
}

// entry returns the index entry of pid, reading its identity if the pid is
// new or was reused (another start time), and the process's open /proc/PID
// directory, which pins this very process (reads fail once it is gone,
// even if the pid is reused): the entry's own if the process is hot,
// otherwise a new one that the caller closes.
func (r *Resolver) entry(pid int) (*procEntry, procfs.Dir, error) {
	e := r.procs[pid]
	if e != nil && e.dir != procfs.NoDir {
		if st, err := e.dir.Stat(r.scan.file); err == nil && st.StartTime == e.start {
			return e, e.dir, nil
		}
		r.dropPid(pid) // the pinned process is gone
		e = nil
	}
	dir, err := r.proc.OpenPID(pid)
	if err != nil {
		r.dropPid(pid)
		return nil, procfs.NoDir, err
	}
	st, err := dir.Stat(r.scan.file)
	if err != nil {
		dir.Close()
		if !errors.Is(err, procfs.ErrMalformed) {
			r.dropPid(pid) // unreadable: gone, or never to be read
		}
		return nil, procfs.NoDir, err
	}
	if e != nil && e.start != st.StartTime {
		r.dropPid(pid)
		e = nil
	}
	if e == nil {
		e = r.newEntry(dir, pid, string(st.Comm), st.StartTime)
	}
	return e, dir, nil
}

// newEntry reads the identity of a process seen for the first time.
func (r *Resolver) newEntry(dir procfs.Dir, pid int, comm string, start uint64) *procEntry {
	e := &procEntry{start: start, fds: make(map[int32]uint64), dir: procfs.NoDir}
	e.proc = r.readIdentity(dir, pid, comm, start)
	if n, err := dir.Readlink([]byte("ns/net"), r.scan.link); err == nil {
		e.netns, _ = procfs.NSInode(r.scan.link[:n], "net")
	}
	r.procs[pid] = e
	return e
}

// readIdentity reads name, command line, uid and cgroup of the process
// behind dir. Unreadable cmdline or status leave what stat told.
func (r *Resolver) readIdentity(dir procfs.Dir, pid int, comm string, start uint64) *Process {
	p := &Process{PID: pid, StartTime: start, Name: comm}
	if b, err := dir.ReadFile("cmdline", r.scan.cmd); err == nil {
		p.Cmdline = procfs.ParseCmdline(b)
		p.Name = processName(p.Cmdline, comm)
	}
	if len(p.Cmdline) == 0 && r.conns != nil {
		if f := r.conns.forked(pid, start); f != nil {
			return f // a forked child read as a zombie: as it was forked
		}
	}
	if b, err := dir.ReadFile("status", r.scan.file); err == nil {
		p.UID, _ = procfs.ParseStatusUID(b)
	}
	readCgroup(dir, r.scan.cmd, r.names, p) // cmdline is parsed: its buffer is free
	return p
}

// processName is the name nethogs gives a process: argv[0] (the bytes of
// /proc/PID/cmdline up to the first NUL, which may hold '/' and spaces; a
// process that rewrote its command line with spaces keeps the whole
// string), or comm for an empty one (kernel threads, zombies).
func processName(args []string, comm string) string {
	if len(args) == 0 || args[0] == "" {
		return comm
	}
	return args[0]
}

// refreshIdentity re-reads the identity of a young or exec'd process: one
// first read between its fork and its exec had its parent's command line
// (exec keeps the pid and the start time). A changed identity is a new
// Process; the old one stays as it was for what was credited to it.
func (r *Resolver) refreshIdentity(pid int, e *procEntry) {
	if !e.execd && !r.young(e) {
		return
	}
	e.execd = false
	dir := e.dir
	if dir == procfs.NoDir {
		d, err := r.proc.OpenPID(pid)
		if err != nil {
			return
		}
		defer d.Close()
		dir = d
	}
	st, err := dir.Stat(r.scan.file)
	if err != nil || st.StartTime != e.start {
		return
	}
	p := r.readIdentity(dir, pid, string(st.Comm), st.StartTime)
	if p.Name != e.proc.Name || p.UID != e.proc.UID || !slices.Equal(p.Cmdline, e.proc.Cmdline) || p.Cgroup != e.proc.Cgroup {
		e.proc = p
	}
}
