package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// FS is a proc file system mounted at a directory. The zero FS has no
// processes.
type FS struct {
	root string
}

// NewFS returns the proc file system mounted at root ("" means /proc).
func NewFS(root string) (FS, error) {
	if root == "" {
		root = "/proc"
	}
	root = filepath.Clean(root)
	fi, err := os.Stat(root)
	if err != nil {
		return FS{}, fmt.Errorf("proc root %q: %w", root, err)
	}
	if !fi.IsDir() {
		return FS{}, fmt.Errorf("proc root %q: not a directory", root)
	}
	return FS{root: root}, nil
}

// Root is the mount point.
func (p FS) Root() string { return p.root }

// Path joins elem to the mount point.
func (p FS) Path(elem ...string) string {
	return filepath.Join(append([]string{p.root}, elem...)...)
}

// PIDPath is the directory of pid, with elem joined to it.
func (p FS) PIDPath(pid int, elem ...string) string {
	return filepath.Join(append([]string{p.root, strconv.Itoa(pid)}, elem...)...)
}

// PIDs appends the pids that the root lists to out. dent is the buffer for
// getdents(2) (a few KiB; larger means fewer calls).
func (p FS) PIDs(dent []byte, out []int) ([]int, error) {
	fd, err := unix.Open(p.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return out, fmt.Errorf("list %s: %w", p.root, classify(err))
	}
	defer unix.Close(fd)
	out, err = appendNumbers(fd, dent, out)
	if err != nil {
		return out, fmt.Errorf("list %s: %w", p.root, err)
	}
	return out, nil
}

// Dir is an open /proc/PID directory: it refers to the process it was
// opened for, and reads through it fail once that process is gone, even if
// its pid is given to a new one. NoDir is none.
type Dir int

// NoDir is the Dir of no process.
const NoDir Dir = -1

// OpenPID opens the directory of pid. A process that does not exist is an
// error wrapping fs.ErrNotExist.
func (p FS) OpenPID(pid int) (Dir, error) {
	if pid <= 0 || p.root == "" {
		return NoDir, fmt.Errorf("process %d: %w", pid, fs.ErrNotExist)
	}
	var b [256]byte // the path, without allocating when it fits
	path := strconv.AppendInt(append(append(b[:0], p.root...), '/'), int64(pid), 10)
	fd, err := openat(unix.AT_FDCWD, path, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == unix.ENAMETOOLONG {
		fd, err = unix.Open(string(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return NoDir, classify(err)
	}
	return Dir(fd), nil
}

// Close closes the directory; closing NoDir does nothing.
func (d Dir) Close() error {
	if d < 0 {
		return nil
	}
	return unix.Close(int(d))
}

// ReadFile reads at most len(buf) bytes of the file name in the directory
// (one of the process's files: "stat", "cmdline", "status") into buf.
func (d Dir) ReadFile(name string, buf []byte) ([]byte, error) {
	fd, err := openat(int(d), name, unix.O_RDONLY)
	if err != nil {
		return nil, classify(err)
	}
	defer unix.Close(fd)
	m := 0
	for m < len(buf) {
		k, err := unix.Read(fd, buf[m:])
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return nil, classify(err)
		}
		if k == 0 {
			break
		}
		m += k
	}
	return buf[:m], nil
}

// Stat reads and parses the process's stat file, with buf as the buffer
// (Stat.Comm points into it).
func (d Dir) Stat(buf []byte) (Stat, error) {
	b, err := d.ReadFile("stat", buf)
	if err != nil {
		return Stat{}, err
	}
	return ParseStat(b)
}

// Readlink reads the symbolic link name ("fd/3", "ns/net") in the
// directory into buf and returns its length.
func (d Dir) Readlink(name []byte, buf []byte) (int, error) {
	n, err := readlinkat(int(d), name, buf)
	if err != nil {
		return 0, classify(err)
	}
	return n, nil
}

// FDs appends the process's fd numbers to out, in directory order, with
// dent as the getdents(2) buffer.
func (d Dir) FDs(dent []byte, out []int32) ([]int32, error) {
	fdd, err := openat(int(d), "fd", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return out, classify(err)
	}
	defer unix.Close(fdd)
	return appendNumbers(fdd, dent, out)
}

// ErrUnreadable reports a file or directory that may not be read (EACCES,
// EPERM): another user's process without CAP_SYS_PTRACE.
var ErrUnreadable = errors.New("not readable")

// classify maps the errors of reading /proc: a process gone (ENOENT, ESRCH)
// is fs.ErrNotExist, no permission is ErrUnreadable.
func classify(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return fs.ErrNotExist
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return ErrUnreadable
	}
	return err
}

// BootTicks is the time since boot in clock ticks (USER_HZ, 100 on Linux),
// the unit of Stat.StartTime.
func BootTicks() uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return 0
	}
	return uint64(ts.Sec)*100 + uint64(ts.Nsec)/1e7
}
