package tracefs

import (
	"bytes"

	"github.com/gohogs/gohogs/internal/parsenum"
)

// Line is one event line of trace_pipe, such as
//
//	python3-4869    (   4869) [001] .....  3810.212425: fib_table_lookup: tb_id=0xfe (254) ...
//
// (the tgid in parentheses with the record-tgid option). Its slices point
// into the line parsed.
type Line struct {
	// Comm is the task's command name (up to 15 bytes, any bytes but
	// NUL; "<...>" when the kernel no longer knows it).
	Comm []byte
	// PID is the id of the task (the thread) the event ran in.
	PID int
	// TGID is the id of its process as the kernel last recorded it for
	// that PID (record-tgid; 0 when not printed or not known).
	TGID int
	// CPU is the processor the event ran on.
	CPU int
	// Flags are the context flags ("....." or "d.s2."): irqs off, need
	// resched, hard or soft interrupt, preempt depth, migrate disable.
	Flags []byte
	// Event is the event's name; Fields what it printed.
	Event, Fields []byte
}

// commWidth is the width the kernel prints the comm in, right-aligned
// ("%16s-%-7d"): a comm holds at most 15 bytes, so the '-' after it is
// always the 17th byte. Reading the pid there, not after the last '-' of
// what looks like the comm, keeps a task that names itself "x-1 (1) [0]"
// from passing for pid 1.
const commWidth = 16

// ParseLine parses an event line; it reports false for anything else
// (a "CPU:N [LOST M EVENTS]" line, a line cut by a newline in a comm).
func ParseLine(b []byte) (Line, bool) {
	var l Line
	if len(b) <= commWidth || b[commWidth] != '-' {
		return Line{}, false
	}
	l.Comm = bytes.TrimLeft(b[:commWidth], " ")
	rest := b[commWidth+1:]
	v, n := parsenum.DecPrefix(rest)
	if n == 0 || n == len(rest) || rest[n] != ' ' {
		return Line{}, false
	}
	l.PID = int(v)
	rest = bytes.TrimLeft(rest[n:], " ")
	if len(rest) > 0 && rest[0] == '(' {
		end := bytes.IndexByte(rest, ')')
		if end < 0 {
			return Line{}, false
		}
		tgid := bytes.TrimSpace(rest[1:end])
		if v, ok := parsenum.Dec(tgid); ok {
			l.TGID = int(v)
		} else if len(bytes.Trim(tgid, "-")) != 0 {
			return Line{}, false
		}
		rest = bytes.TrimLeft(rest[end+1:], " ")
	}
	if len(rest) == 0 || rest[0] != '[' {
		return Line{}, false
	}
	end := bytes.IndexByte(rest, ']')
	if end < 0 {
		return Line{}, false
	}
	cpu, ok := parsenum.Dec(rest[1:end])
	if !ok {
		return Line{}, false
	}
	l.CPU = int(cpu)
	rest = bytes.TrimLeft(rest[end+1:], " ")
	// Flags (with the irq-info option, the default), then the timestamp
	// and ": ".
	tok, rest := cutToken(rest)
	if !isTimestamp(tok) {
		l.Flags = tok
		tok, rest = cutToken(rest)
		if !isTimestamp(tok) {
			return Line{}, false
		}
	}
	name, fields, _ := bytes.Cut(rest, []byte(": "))
	name = bytes.TrimSuffix(name, []byte(":"))
	if len(name) == 0 || bytes.IndexByte(name, ' ') >= 0 {
		return Line{}, false
	}
	l.Event, l.Fields = name, fields
	return l, true
}

// cutToken returns the bytes up to the next space, and the rest after the
// spaces that follow.
func cutToken(b []byte) (tok, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], bytes.TrimLeft(b[i:], " ")
}

// isTimestamp reports whether tok is "SECONDS.FRACTION:".
func isTimestamp(tok []byte) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' {
		return false
	}
	dot := false
	for _, c := range tok[:len(tok)-1] {
		switch {
		case c == '.' && !dot:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return true
}

// InProcess reports whether the event ran in its task's context, not in an
// interrupt (where the task is whichever one was running): the third flag
// is '.', not 'h', 's' or 'H'.
func (l Line) InProcess() bool { return len(l.Flags) >= 3 && l.Flags[2] == '.' }

// HexKey is the key of a field printed "name=0xHEX" by the "fields" option.
type HexKey []byte

// NewHexKey returns the key of field name.
func NewHexKey(name string) HexKey { return HexKey(name + "=0x") }

// In returns the value of the field k in fields (a Line's Fields): the
// first one whose name is k's, not a longer name ending like it.
func (k HexKey) In(fields []byte) (uint64, bool) {
	for off := 0; ; {
		i := bytes.Index(fields[off:], k)
		if i < 0 {
			return 0, false
		}
		i += off
		if i == 0 || fields[i-1] == ' ' {
			v, n := parsenum.HexPrefix(fields[i+len(k):])
			return v, n > 0
		}
		off = i + len(k)
	}
}

// ParseLost reads a "CPU:N [LOST M EVENTS]" line: M events were dropped
// (the ring buffer was full).
func ParseLost(b []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("CPU:"))
	if !ok {
		return 0, false
	}
	_, n := parsenum.DecPrefix(rest)
	if rest, ok = bytes.CutPrefix(rest[n:], []byte(" [LOST ")); n == 0 || !ok {
		return 0, false
	}
	v, n := parsenum.DecPrefix(rest)
	if n == 0 || !bytes.HasPrefix(rest[n:], []byte(" EVENTS]")) {
		return 0, false
	}
	return v, true
}
