package procfs

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The two calls made per file and per fd link, without allocating:
// x/sys/unix copies every name into a new C string.

// cname is a NUL-terminated copy of a file name or a short path.
type cname [256]byte

func newCname[S string | []byte](name S) (*cname, error) {
	var c cname
	if len(name) >= len(c) {
		return nil, unix.ENAMETOOLONG
	}
	copy(c[:], name)
	return &c, nil
}

// openat is openat(2) of name under dirfd.
func openat[S string | []byte](dirfd int, name S, flags int) (int, error) {
	c, err := newCname(name)
	if err != nil {
		return -1, err
	}
	fd, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&c[0])), uintptr(flags|unix.O_CLOEXEC), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// readlinkat is readlinkat(2) of name under dirfd into buf.
func readlinkat[S string | []byte](dirfd int, name S, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, unix.EINVAL
	}
	c, err := newCname(name)
	if err != nil {
		return 0, err
	}
	n, _, e := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(&c[0])),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
