package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/gohogs/gohogs/internal/parsenum"
)

// ErrMalformed marks text that a parser could not read.
var ErrMalformed = errors.New("malformed")

// MaxCmdline is how much of /proc/PID/cmdline is kept, as nethogs does (it
// reads into an 8 KiB buffer).
const MaxCmdline = 8192

// Stat is what is read of /proc/PID/stat.
type Stat struct {
	// Comm is field 2, the command name without its parentheses. It
	// points into the buffer parsed.
	Comm []byte
	// Nice is field 19.
	Nice int
	// StartTime is field 22: clock ticks after boot when the process
	// started.
	StartTime uint64
}

// ParseStat parses the text of /proc/PID/stat. comm may hold spaces and
// parentheses, so fields are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	var st Stat
	open := bytes.IndexByte(b, '(')
	cl := bytes.LastIndexByte(b, ')')
	if open < 0 || cl < open {
		return Stat{}, fmt.Errorf("parse stat: no (comm): %w", ErrMalformed)
	}
	st.Comm = b[open+1 : cl]
	rest := b[cl+1:]
	// rest is " S ppid ...": field 3 is the first.
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
			switch n + 2 {
			case 19:
				f := rest[i:j]
				neg := len(f) > 0 && f[0] == '-'
				if neg {
					f = f[1:]
				}
				v, ok := parsenum.Dec(f)
				if !ok || v > 1<<31 {
					return Stat{}, fmt.Errorf("parse stat: bad nice %q: %w", rest[i:j], ErrMalformed)
				}
				st.Nice = int(v)
				if neg {
					st.Nice = -st.Nice
				}
			case 22:
				v, ok := parsenum.Dec(rest[i:j])
				if !ok {
					return Stat{}, fmt.Errorf("parse stat: bad starttime %q: %w", rest[i:j], ErrMalformed)
				}
				st.StartTime = v
				return st, nil
			}
		}
		if j == i {
			j++
		}
		i = j
	}
	return Stat{}, fmt.Errorf("parse stat: only %d fields after comm: %w", n, ErrMalformed)
}

// ParseCmdline splits the text of /proc/PID/cmdline (at most MaxCmdline-1
// bytes of it) into its arguments; trailing NULs are dropped, and an empty
// command line (a kernel thread, a zombie) has none.
func ParseCmdline(b []byte) []string {
	if len(b) > MaxCmdline-1 {
		b = b[:MaxCmdline-1]
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// statusField returns the value of the line "key:\tVALUE..." of the text
// of /proc/PID/status, up to the end of the line.
func statusField(b []byte, key string) ([]byte, bool) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) > len(key) && line[len(key)] == ':' && string(line[:len(key)]) == key {
			return line[len(key)+1:], true
		}
	}
	return nil, false
}

// ParseStatusUID returns the real uid from the text of /proc/PID/status.
func ParseStatusUID(b []byte) (uint32, error) {
	v, ok := statusField(b, "Uid")
	if ok {
		f := bytes.Fields(v)
		if len(f) > 0 {
			if uid, ok := parsenum.Dec(f[0]); ok && uid <= 0xffffffff {
				return uint32(uid), nil
			}
		}
	}
	return 0, fmt.Errorf("parse status: no Uid line: %w", ErrMalformed)
}

// ParseStatusTgid returns the process (thread group) id from the text of
// /proc/PID/status, 0 if it has none.
func ParseStatusTgid(b []byte) int {
	v, ok := statusField(b, "Tgid")
	if !ok {
		return 0
	}
	n, ok := parsenum.Dec(bytes.TrimSpace(v))
	if !ok || n > maxNumber {
		return 0
	}
	return int(n)
}

// SocketInode parses an fd link target "socket:[12345]".
func SocketInode(link []byte) (uint64, bool) {
	return bracketed(link, "socket")
}

// NSInode parses a namespace link target "KIND:[4026531840]" (KIND is
// "net", "pid", "time"...) of the kind asked for.
func NSInode(link []byte, kind string) (uint64, bool) {
	return bracketed(link, kind)
}

// bracketed parses "prefix:[N]".
func bracketed(link []byte, prefix string) (uint64, bool) {
	if len(link) < len(prefix)+4 || string(link[:len(prefix)]) != prefix ||
		link[len(prefix)] != ':' || link[len(prefix)+1] != '[' || link[len(link)-1] != ']' {
		return 0, false
	}
	v, ok := parsenum.Dec(link[len(prefix)+2 : len(link)-1])
	if !ok {
		return 0, false
	}
	return v, true
}
