package procmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxCmdline is how much of /proc/PID/cmdline is read, as nethogs does
// (it reads into an 8 KiB buffer).
const maxCmdline = 8192

// parseStat extracts comm (field 2) and starttime (field 22) from the text of
// /proc/PID/stat. comm may hold spaces and ')', so fields are counted from
// the last ')'.
func parseStat(b []byte) (comm string, start uint64, err error) {
	open := bytes.IndexByte(b, '(')
	cl := bytes.LastIndexByte(b, ')')
	if open < 0 || cl < open {
		return "", 0, fmt.Errorf("parse stat: no (comm)")
	}
	comm = string(b[open+1 : cl])
	rest := b[cl+1:]
	// rest is " S ppid ...": field 3 is the first, so field 22 is the 20th.
	n := 0
	for i := 0; i < len(rest); {
		for i < len(rest) && rest[i] == ' ' {
			i++
		}
		j := i
		for j < len(rest) && rest[j] != ' ' && rest[j] != '\n' {
			j++
		}
		if j > i {
			n++
			if n == 20 {
				v, ok := parseDec(rest[i:j])
				if !ok {
					return "", 0, fmt.Errorf("parse stat: bad starttime %q", rest[i:j])
				}
				return comm, v, nil
			}
		}
		if j == i {
			j++
		}
		i = j
	}
	return "", 0, fmt.Errorf("parse stat: only %d fields after comm", n)
}

// parseCmdline splits /proc/PID/cmdline into its arguments and derives the
// nethogs name: the bytes up to the first NUL (argv[0]), which may contain
// '/' and spaces; a process that rewrote its command line with spaces keeps
// the whole string. An empty argv[0] (kernel threads) gives comm.
func parseCmdline(b []byte, comm string) (name string, args []string) {
	if len(b) > maxCmdline-1 {
		b = b[:maxCmdline-1]
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return comm, nil
	}
	args = strings.Split(string(b), "\x00")
	name = args[0]
	if name == "" {
		name = comm
	}
	return name, args
}

// parseStatusUID returns the real uid from the text of /proc/PID/status.
func parseStatusUID(b []byte) (uint32, error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if rest, ok := bytes.CutPrefix(line, []byte("Uid:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				break
			}
			v, ok := parseDec(f[0])
			if !ok || v > 0xffffffff {
				break
			}
			return uint32(v), nil
		}
	}
	return 0, fmt.Errorf("parse status: no Uid line")
}

// readStart reads the start time and comm of pid.
func readStart(root string, pid int) (string, uint64, error) {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, err
	}
	comm, start, err := parseStat(b)
	if err != nil {
		return "", 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	return comm, start, nil
}

// readProcess reads the identity of pid from root (a /proc tree).
func readProcess(root string, pid int) (*Process, error) {
	comm, start, err := readStart(root, pid)
	if err != nil {
		return nil, err
	}
	dir := root + "/" + strconv.Itoa(pid)
	cmd, err := readLimited(dir+"/cmdline", maxCmdline)
	if err != nil {
		return nil, err
	}
	st, err := os.ReadFile(dir + "/status")
	if err != nil {
		return nil, err
	}
	uid, err := parseStatusUID(st)
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	p := &Process{PID: pid, StartTime: start, UID: uid}
	p.Name, p.Cmdline = parseCmdline(cmd, comm)
	return p, nil
}

// readLimited reads at most n bytes of a file.
func readLimited(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m := 0
	for m < n {
		k, err := f.Read(buf[m:])
		m += k
		if err != nil || k == 0 {
			break
		}
	}
	return buf[:m], nil
}

// socketInode parses a fd link target "socket:[12345]".
func socketInode(link []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return parseDec(rest[:len(rest)-1])
}

// nsInode parses a namespace link target "net:[4026531840]".
func nsInode(link []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("net:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return parseDec(rest[:len(rest)-1])
}

// readNetNS returns the network namespace inode of pid (0 if unknown).
func readNetNS(root string, pid int, buf []byte) uint64 {
	n, err := unix.Readlink(root+"/"+strconv.Itoa(pid)+"/ns/net", buf)
	if err != nil || n <= 0 {
		return 0
	}
	v, _ := nsInode(buf[:n])
	return v
}

// fdScanner lists the socket inodes that a process holds. It reuses its
// buffers between calls; it is not safe for concurrent use.
type fdScanner struct {
	link []byte
	dent []byte
}

func newFDScanner() *fdScanner {
	return &fdScanner{link: make([]byte, 256), dent: make([]byte, 32*1024)}
}

// errUnreadable reports an fd directory that may not be read (EACCES/EPERM).
var errUnreadable = errors.New("fd directory not readable")

// scan appends to out the socket inodes found in root/PID/fd. A process gone
// (ENOENT/ESRCH) gives fs.ErrNotExist; no permission gives errUnreadable;
// fds that vanish during the scan are skipped.
func (s *fdScanner) scan(root string, pid int, out []uint64) ([]uint64, error) {
	dir := root + "/" + strconv.Itoa(pid) + "/fd"
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return out, classify(err)
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Getdents(fd, s.dent)
		if err != nil {
			return out, classify(err)
		}
		if n <= 0 {
			return out, nil
		}
		b := s.dent[:n]
		for len(b) >= 19 {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if len(name) == 0 || name[0] < '0' || name[0] > '9' {
				continue
			}
			k, err := readlinkat(fd, name, s.link)
			if err != nil || k <= 0 {
				continue // the fd was closed meanwhile
			}
			if ino, ok := socketInode(s.link[:k]); ok {
				out = append(out, ino)
			}
		}
	}
}

// readlinkat calls readlinkat(2) with a name given as bytes, without
// allocating (x/sys/unix would copy the name to a new C string).
func readlinkat(dirfd int, name []byte, buf []byte) (int, error) {
	var nb [32]byte // NUL-terminated copy of name (an fd number)
	if len(name) >= len(nb) || len(buf) == 0 {
		return 0, unix.ENAMETOOLONG
	}
	copy(nb[:], name)
	n, _, e := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&nb[0])),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func classify(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return fs.ErrNotExist
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return errUnreadable
	}
	return err
}
