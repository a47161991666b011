package procfs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// maxNumber bounds the names read as numbers (pids and fds are far below).
const maxNumber = 1 << 30

// appendNumbers appends to out the entries of the open directory fd whose
// names are decimal numbers (pids, fd numbers), with buf as the getdents(2)
// buffer. It is the one directory walker of the module: os.ReadDir would
// allocate a string and a DirEntry per entry, on every scan of every
// process's fds.
func appendNumbers[T ~int | ~int32](fd int, buf []byte, out []T) ([]T, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return out, classify(err)
		}
		if n <= 0 {
			return out, nil
		}
		out = parseDirents(buf[:n], out)
	}
}

// parseDirents appends the numeric names of the struct linux_dirent64
// records in b (d_ino u64, d_off s64, d_reclen u16, d_type u8, then the
// NUL-terminated name), in the machine's byte order.
func parseDirents[T ~int | ~int32](b []byte, out []T) []T {
	const nameOff = 19
	for len(b) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOff || reclen > len(b) {
			break
		}
		name := b[nameOff:reclen]
		b = b[reclen:]
		v, ok := 0, false
		for _, c := range name {
			if c == 0 {
				break
			}
			if c < '0' || c > '9' || v > maxNumber {
				ok = false
				break
			}
			v = v*10 + int(c-'0')
			ok = true
		}
		if ok && v <= maxNumber {
			out = append(out, T(v))
		}
	}
	return out
}
