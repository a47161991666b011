package procmap

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/parsenum"
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
				v, ok := parsenum.Dec(rest[i:j])
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
			v, ok := parsenum.Dec(f[0])
			if !ok || v > 0xffffffff {
				break
			}
			return uint32(v), nil
		}
	}
	return 0, fmt.Errorf("parse status: no Uid line")
}

// socketInode parses a fd link target "socket:[12345]".
func socketInode(link []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("socket:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return parsenum.Dec(rest[:len(rest)-1])
}

// nsInode parses a namespace link target "net:[4026531840]".
func nsInode(link []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(link, []byte("net:["))
	if !ok || len(rest) < 2 || rest[len(rest)-1] != ']' {
		return 0, false
	}
	return parsenum.Dec(rest[:len(rest)-1])
}

// readAt reads at most len(buf) bytes of the file name under dirfd.
func readAt(dirfd int, name string, buf []byte) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
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

// readLinkAt reads the symbolic link name under dirfd into buf without
// allocating (x/sys/unix would copy the name into a new C string).
func readLinkAt(dirfd int, name []byte, buf []byte) (int, error) {
	var nb [64]byte // NUL-terminated copy of name
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

// errUnreadable reports an fd directory that may not be read (EACCES/EPERM).
var errUnreadable = errors.New("fd directory not readable")

// classify maps the errors of reading /proc: a process gone (ENOENT, ESRCH)
// is fs.ErrNotExist, no permission is errUnreadable.
func classify(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return fs.ErrNotExist
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return errUnreadable
	}
	return err
}
