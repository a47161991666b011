package procmap

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
)

// The inode numbers of the initial pid and user namespaces, fixed by the
// kernel (PROC_PID_INIT_INO and PROC_USER_INIT_INO, include/linux/proc_ns.h).
const (
	initPIDNS  = 0xEFFFFFFC
	initUserNS = 0xEFFFFFFD
)

// isProcFS tells whether root is a mounted proc file system (not a
// fixture tree).
func isProcFS(root string) bool {
	var st unix.Statfs_t
	return unix.Statfs(root, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// eventPIDs says whether the kernel's event sources can be used with the
// proc file system proc: each names a task by its pid in the initial pid
// namespace, and a pid of another namespace's /proc names another process
// or none. Inside a container with a pid namespace of its own and its own
// /proc, the connect tracepoints would name the container's /proc's pid
// 1234 for the host's process 1234: they are off (tracepoints says why),
// and so is the process connector, which moreover reports only to
// processes of the initial pid and user namespaces (connector says why).
// Nothing translates: NSpid in /proc/PID/status lists a process's pids
// from the namespace of the /proc read inward, never the initial one's
// when that /proc is another's.
//
// The namespace a /proc shows is the one of its pid 1 (that namespace's
// init); every process it lists lives in that namespace or one below it,
// so any of them in the initial one (kthreadd, pid 2, when pid 1 may not
// be read, as under some sandboxes) proves that /proc the initial
// namespace's. When neither can be told, neither source is used.
func eventPIDs(proc procfs.FS) (tracepoints, connector error) {
	err := procPIDNS(proc)
	if err != nil {
		return err, fmt.Errorf("process connector: %w", err)
	}
	// proc is the initial namespace's; is this process in it too?
	for _, k := range []struct {
		kind string
		init uint64
	}{{"pid", initPIDNS}, {"user", initUserNS}} {
		own, err := readNS(proc.Path("self/ns/"+k.kind), k.kind)
		if err != nil {
			own, err = readNS("/proc/self/ns/"+k.kind, k.kind)
		}
		if err != nil {
			return nil, fmt.Errorf("process connector: cannot read this process's %s namespace: %w", k.kind, err)
		}
		if own != k.init {
			return nil, fmt.Errorf("process connector: it reports only to processes of the initial pid and user namespaces; this one's %s namespace is %d", k.kind, own)
		}
	}
	return nil, nil
}

// PIDNamespaceError is why the kernel's event sources are off
// (Stats.ConnEventsErr, Stats.ProcEventsErr wrap it): the proc file system
// read, mounted at Root, shows pid namespace NS, not the initial one whose
// pids the events speak (a container's own /proc); NS is 0 when it could
// not be told, and Err says why.
type PIDNamespaceError struct {
	Root string
	NS   uint64
	Err  error
}

func (e *PIDNamespaceError) Error() string {
	if e.NS != 0 {
		return fmt.Sprintf("%s shows the pids of pid namespace %d, not those of the initial one, in which the kernel's events name processes (a container's own /proc)", e.Root, e.NS)
	}
	return fmt.Sprintf("cannot tell which pid namespace %s shows (%v): the kernel's events name pids of the initial one", e.Root, e.Err)
}

func (e *PIDNamespaceError) Unwrap() error { return e.Err }

// procPIDNS returns nil if proc shows the initial pid namespace, else a
// *PIDNamespaceError saying which it shows, or that it cannot be told.
func procPIDNS(proc procfs.FS) error {
	var first error
	for _, pid := range []string{"1", "2", "self"} {
		ns, err := readNS(proc.Path(pid, "ns/pid"), "pid")
		switch {
		case err == nil && ns == initPIDNS:
			return nil
		case err == nil && pid == "1":
			return &PIDNamespaceError{Root: proc.Root(), NS: ns}
		case err != nil && first == nil:
			first = err
		}
	}
	if first == nil {
		first = errors.New("no process of it is in the initial one")
	}
	return &PIDNamespaceError{Root: proc.Root(), Err: first}
}

// readNS reads a namespace link of the given kind ("pid:[4026531836]").
func readNS(path, kind string) (uint64, error) {
	buf := make([]byte, 64)
	n, err := unix.Readlink(path, buf)
	if err != nil {
		return 0, err
	}
	ns, ok := procfs.NSInode(buf[:n], kind)
	if !ok {
		return 0, fmt.Errorf("%s: %q is no %s namespace", path, buf[:n], kind)
	}
	return ns, nil
}
