package tracefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
)

// Owner is the process that makes an instance, as the instance's name
// records it: what tells, later and from another process, whether that
// process still lives.
type Owner struct {
	// PIDNS and TimeNS are the inodes of its pid and time namespaces (0
	// if unknown: a kernel without time namespaces).
	PIDNS, TimeNS uint64
	// PID is its pid in that pid namespace.
	PID int
	// Start is its start time (clock ticks after boot, as /proc/PID/stat
	// shows it in that time namespace).
	Start uint64
}

// Self is the calling process as Owner. proc must be the proc file system
// of the process's own pid namespace (/proc/self names the process): pids
// read there are then pids of that namespace.
func Self(proc procfs.FS) (Owner, error) {
	link := make([]byte, 64)
	n, err := unix.Readlink(proc.Path("self"), link)
	if err != nil {
		return Owner{}, fmt.Errorf("%s: %w", proc.Path("self"), err)
	}
	pid := os.Getpid()
	if string(link[:n]) != strconv.Itoa(pid) {
		return Owner{}, fmt.Errorf("%s is pid %s, not this process (%d): another pid namespace's", proc.Path("self"), link[:n], pid)
	}
	o := Owner{PID: pid}
	if n, err := unix.Readlink(proc.Path("self/ns/pid"), link); err == nil {
		o.PIDNS, _ = procfs.NSInode(link[:n], "pid")
	}
	if o.PIDNS == 0 {
		return Owner{}, fmt.Errorf("%s: no pid namespace", proc.Path("self/ns/pid"))
	}
	if n, err := unix.Readlink(proc.Path("self/ns/time"), link); err == nil {
		o.TimeNS, _ = procfs.NSInode(link[:n], "time")
	}
	b, err := os.ReadFile(proc.Path("self/stat"))
	if err != nil {
		return Owner{}, err
	}
	st, err := procfs.ParseStat(b)
	if err != nil {
		return Owner{}, err
	}
	o.Start = st.StartTime
	return o, nil
}

// name is how o is written in an instance's name: "PIDNS-TIMENS-PID-START".
func (o Owner) name() string {
	return fmt.Sprintf("%d-%d-%d-%d", o.PIDNS, o.TimeNS, o.PID, o.Start)
}

// parseOwner reads "PIDNS-TIMENS-PID-START-N" (N numbers the instances of
// one process).
func parseOwner(s string) (Owner, bool) {
	f := strings.Split(s, "-")
	if len(f) != 5 {
		return Owner{}, false
	}
	var v [5]uint64
	for i, x := range f {
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return Owner{}, false
		}
		v[i] = n
	}
	if v[2] == 0 || v[2] > 1<<30 {
		return Owner{}, false
	}
	return Owner{PIDNS: v[0], TimeNS: v[1], PID: int(v[2]), Start: v[3]}, true
}

// Instance is a trace instance: a directory under ROOT/instances.
type Instance struct {
	dir string
}

// NewInstance creates the instance prefix+OWNER-N in the tracefs at root,
// with the lowest N not taken (a process may make several).
func NewInstance(root, prefix string, owner Owner) (*Instance, error) {
	for i := 0; ; i++ {
		dir := filepath.Join(root, "instances", prefix+owner.name()+"-"+strconv.Itoa(i))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return &Instance{dir: dir}, nil
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return nil, fmt.Errorf("tracefs instance: %w", err)
		}
	}
}

// Dir is the instance's directory.
func (in *Instance) Dir() string { return in.dir }

// Write writes value to the instance's file name (a path relative to the
// instance: "buffer_size_kb", "events/sock/inet_sock_set_state/enable").
func (in *Instance) Write(name, value string) error {
	if err := os.WriteFile(filepath.Join(in.dir, name), []byte(value), 0); err != nil {
		return fmt.Errorf("tracefs: %w", err)
	}
	return nil
}

// OpenPipe opens the instance's trace_pipe, non-blocking, so that the
// runtime poller waits on it and closing the file interrupts a read.
func (in *Instance) OpenPipe() (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(in.dir, "trace_pipe"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tracefs: %w", err)
	}
	return f, nil
}

// Remove disables every event of the instance and removes it (its
// trace_pipe must be closed first).
func (in *Instance) Remove() error {
	return remove(in.dir)
}

func remove(dir string) error {
	err := os.WriteFile(filepath.Join(dir, "events", "enable"), []byte("0"), 0)
	if rerr := os.Remove(dir); rerr != nil {
		return errors.Join(fmt.Errorf("tracefs: remove instance: %w", rerr), err)
	}
	return nil
}

// RemoveStale removes the instances named prefix+OWNER-N in the tracefs at
// root whose owner is provably gone, and returns their names. Their owner
// is gone when it was in the caller's pid namespace (proc is that
// namespace's, see Self) and its pid there is no process any more, or,
// both in the caller's time namespace too, is a process started at another
// time (the pid was reused). Every other instance is kept: other names,
// owners in another pid namespace (whose pids cannot be checked from
// here), an owner whose start time cannot be compared (another time
// namespace) or cannot be read.
func RemoveStale(root, prefix string, proc procfs.FS) ([]string, error) {
	self, err := Self(proc)
	if err != nil {
		return nil, fmt.Errorf("tracefs: stale instances cannot be judged: %w", err)
	}
	ents, err := os.ReadDir(filepath.Join(root, "instances"))
	if err != nil {
		return nil, fmt.Errorf("tracefs: %w", err)
	}
	var removed []string
	var errs []error
	buf := make([]byte, 4096)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		o, ok := parseOwner(rest)
		if !ok || o.PIDNS != self.PIDNS || !gone(proc, o, self, buf) {
			continue
		}
		if err := remove(filepath.Join(root, "instances", e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errors.Join(errs...)
}

// gone reports whether o, of the caller's pid namespace, is provably gone.
func gone(proc procfs.FS, o, self Owner, buf []byte) bool {
	d, err := proc.OpenPID(o.PID)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	defer d.Close()
	st, err := d.Stat(buf)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return o.TimeNS == self.TimeNS && st.StartTime != o.Start
}
