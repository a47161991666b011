package report

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// A refresh line of a JSON log (gohogs --json), as read here:
//
//	{"timestamp": RFC 3339, "interval": seconds, "rows": [{"name", "pid",
//	 "uid", "sent", "recv", "unit", "container": {"runtime", "id", "name"},
//	 "connections": [{"remote", "remote_name", "sent", "recv"}, ...]}, ...]}
//
// Other keys are ignored, keys come in any order (the last of a key
// given twice counts, as in encoding/json); unit, container, connections
// and remote_name may be absent or null. A line is counted whole or, when
// it is not JSON, or a field it needs is missing or of the wrong type, not
// at all (a malformed line).

// field states: what a field of an object was found to be.
const (
	fieldAbsent uint8 = iota
	fieldNull
	fieldOK    // a string; a whole number (numField)
	fieldOther // a number that is not whole (numField)
	fieldBad   // another type
)

// strField is a string field as read: its raw contents b[start:end], with
// escapes when esc.
type strField struct {
	state      uint8
	esc        bool
	start, end int32
}

// numField is a number field as read: v when whole; raw b[start:end]
// for messages.
type numField struct {
	state      uint8
	v          uint64
	start, end int32
}

// lineRow and lineConn are a row and a connection of the line being read.
type lineRow struct {
	name, unit          strField
	pid, uid            numField
	sent, recv          numField
	container           uint8
	runtime, cid, cname strField
	conns               uint8
	connStart, connEnd  int32
	connErr             string
}

type lineConn struct {
	remote, remoteName strField
	sent, recv         numField
}

// lineParser reads refresh lines with a scanner, keeping what it read
// until the next line.
type lineParser struct {
	slow     bool // never fastRow (for tests)
	s        scanner
	ts       strField
	interval numField
	rowsSeen uint8
	rowsErr  string
	rows     []lineRow
	conns    []lineConn
	// What parse read of a good line.
	at   time.Time // the refresh's time: timestamp less interval
	dur  time.Duration
	tsb  []byte // the timestamp as written
	keyb []byte
}

// parse reads one line: nil when it is a refresh, with p.rows, p.conns,
// p.at and p.dur; otherwise why it is malformed.
func (p *lineParser) parse(raw []byte) error {
	s := &p.s
	s.b, s.i, s.err = raw, 0, ""
	p.ts, p.interval, p.rowsSeen, p.rowsErr = strField{}, numField{}, fieldAbsent, ""
	p.rows, p.conns = p.rows[:0], p.conns[:0]
	c := s.ws()
	if c != '{' {
		t := typeOf(c)
		if t == typeNone {
			s.fail("invalid character " + strconv.QuoteRune(rune(c)))
		} else if s.skip(0) && s.ws() != 0 {
			s.fail("data after the value")
		}
		if s.err != "" {
			return nethogs.Malformed("not a JSON object: " + s.err)
		}
		return nethogs.Malformed("not a JSON object but " + typeNames[t])
	}
	if p.top() && s.ws() != 0 {
		s.fail("data after the object")
	}
	if s.err != "" {
		return nethogs.Malformed("not a JSON object: " + s.err)
	}
	return p.check()
}

// check says what is wrong with the fields of the line just read, and
// reads its time.
func (p *lineParser) check() error {
	switch p.ts.state {
	case fieldAbsent, fieldNull:
		return nethogs.Malformed("no timestamp")
	case fieldBad:
		return nethogs.Malformed("timestamp is not a string")
	}
	p.tsb = p.text(p.ts, p.tsb)
	ts, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(p.tsb), len(p.tsb)))
	if err != nil {
		return nethogs.Malformed("timestamp " + strconv.Quote(string(p.tsb)) + " is not RFC 3339")
	}
	iv := &p.interval
	if iv.state == fieldAbsent {
		return nethogs.Malformed("no interval")
	}
	secs := math.NaN()
	if iv.state == fieldOK || iv.state == fieldOther {
		secs, err = strconv.ParseFloat(string(p.s.b[iv.start:iv.end]), 64)
	}
	if err != nil || !(secs >= 0 && secs < 1e9) {
		return nethogs.Malformed("interval " + p.rawText(iv.start, iv.end) + " is not a number of seconds")
	}
	switch p.rowsSeen {
	case fieldAbsent:
		return nethogs.Malformed("no rows")
	case fieldNull, fieldBad:
		return nethogs.Malformed("rows is not an array")
	}
	if p.rowsErr != "" {
		return nethogs.Malformed(p.rowsErr)
	}
	p.dur = time.Duration(secs * float64(time.Second))
	p.at = ts.Add(-p.dur)
	return nil
}

// rawText returns b[start:end] for a message, shortened.
func (p *lineParser) rawText(start, end int32) string {
	return truncate(string(p.s.b[start:end]), 40)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// str reads a string field's value, whose first byte is c.
func (p *lineParser) str(f *strField, c byte, depth int) bool {
	s := &p.s
	switch c {
	case '"':
		start, end, esc, ok := s.str()
		*f = strField{state: fieldOK, esc: esc, start: int32(start), end: int32(end)}
		return ok
	case 'n':
		*f = strField{state: fieldNull}
		return s.literal("null")
	}
	*f = strField{state: fieldBad}
	return s.skip(depth)
}

// num reads a number field's value, whose first byte is c.
func (p *lineParser) num(f *numField, c byte, depth int) bool {
	s := &p.s
	start := int32(s.i)
	var ok bool
	if c == '-' || c-'0' < 10 {
		v, whole, okn := s.number()
		*f = numField{state: fieldOther, v: v}
		if whole {
			f.state = fieldOK
		}
		ok = okn
	} else {
		*f = numField{state: fieldBad}
		ok = s.skip(depth)
	}
	f.start, f.end = start, int32(s.i)
	return ok
}

// top reads the line's object.
func (p *lineParser) top() bool {
	s := &p.s
	w := p.walk()
	for k, c, more := p.field(&w); more; k, c, more = p.field(&w) {
		switch k {
		case "timestamp":
			w.ok = p.str(&p.ts, c, 1)
		case "interval":
			w.ok = p.num(&p.interval, c, 1)
		case "rows":
			p.rows, p.conns, p.rowsErr = p.rows[:0], p.conns[:0], ""
			switch c {
			case '[':
				p.rowsSeen = fieldOK
				w.ok = p.rowArray()
			case 'n':
				p.rowsSeen = fieldNull
				w.ok = s.literal("null")
			default:
				p.rowsSeen = fieldBad
				w.ok = s.skip(1)
			}
		default:
			w.ok = s.skip(1)
		}
	}
	return w.ok
}

// rowArray reads rows (depth 2): each good row is kept; the first bad one
// says why in rowsErr, and the rows after it are only checked as JSON.
func (p *lineParser) rowArray() bool {
	s := &p.s
	w := p.walk()
	for p.more(&w) {
		n := w.n
		switch c := s.b[s.i]; {
		case p.rowsErr != "":
			w.ok = s.skip(2)
		case c != '{':
			p.rowsErr = "row " + strconv.Itoa(n) + ": not an object"
			w.ok = s.skip(2)
		case p.slow || !p.fastRow(n):
			w.ok = p.row(n)
		}
	}
	return w.ok
}

// row reads row n (depth 3).
func (p *lineParser) row(n int) bool {
	s := &p.s
	r := lineRow{connStart: int32(len(p.conns))}
	w := p.walk()
	for k, c, more := p.field(&w); more; k, c, more = p.field(&w) {
		switch k {
		case "name":
			w.ok = p.str(&r.name, c, 3)
		case "pid":
			w.ok = p.num(&r.pid, c, 3)
		case "uid":
			w.ok = p.num(&r.uid, c, 3)
		case "sent":
			w.ok = p.num(&r.sent, c, 3)
		case "recv":
			w.ok = p.num(&r.recv, c, 3)
		case "unit":
			w.ok = p.str(&r.unit, c, 3)
		case "container":
			r.runtime, r.cid, r.cname = strField{}, strField{}, strField{}
			switch c {
			case '{':
				r.container = fieldOK
				w.ok = p.container(&r)
			case 'n':
				r.container = fieldNull
				w.ok = s.literal("null")
			default:
				r.container = fieldBad
				w.ok = s.skip(3)
			}
		case "connections":
			p.conns, r.connErr = p.conns[:r.connStart], ""
			switch c {
			case '[':
				r.conns = fieldOK
				w.ok = p.connArray(&r)
			case 'n':
				r.conns = fieldNull
				w.ok = s.literal("null")
			default:
				r.conns = fieldBad
				w.ok = s.skip(3)
			}
		default:
			w.ok = s.skip(3)
		}
	}
	if !w.ok {
		return false
	}
	p.endRow(&r, n)
	return true
}

// endRow keeps row n just read, or says what is wrong with it in rowsErr.
func (p *lineParser) endRow(r *lineRow, n int) {
	r.connEnd = int32(len(p.conns))
	if err := p.checkRow(r); err != "" {
		p.rowsErr = "row " + strconv.Itoa(n) + ": " + err
	} else {
		p.rows = append(p.rows, *r)
	}
}

// container reads a row's container (depth 4).
func (p *lineParser) container(r *lineRow) bool {
	w := p.walk()
	for k, c, more := p.field(&w); more; k, c, more = p.field(&w) {
		switch k {
		case "runtime":
			w.ok = p.str(&r.runtime, c, 4)
		case "id":
			w.ok = p.str(&r.cid, c, 4)
		case "name":
			w.ok = p.str(&r.cname, c, 4)
		default:
			w.ok = p.s.skip(4)
		}
	}
	return w.ok
}

// connArray reads a row's connections (depth 4); the first bad one says
// why in r.connErr.
func (p *lineParser) connArray(r *lineRow) bool {
	s := &p.s
	w := p.walk()
	for p.more(&w) {
		n := w.n
		switch c := s.b[s.i]; {
		case r.connErr != "":
			w.ok = s.skip(4)
		case c != '{':
			r.connErr = "connection " + strconv.Itoa(n) + ": not an object"
			w.ok = s.skip(4)
		default:
			w.ok = p.conn(r, n)
		}
	}
	return w.ok
}

// conn reads connection n of a row (depth 5).
func (p *lineParser) conn(r *lineRow, n int) bool {
	var lc lineConn
	w := p.walk()
	for k, c, more := p.field(&w); more; k, c, more = p.field(&w) {
		switch k {
		case "remote":
			w.ok = p.str(&lc.remote, c, 5)
		case "remote_name":
			w.ok = p.str(&lc.remoteName, c, 5)
		case "sent":
			w.ok = p.num(&lc.sent, c, 5)
		case "recv":
			w.ok = p.num(&lc.recv, c, 5)
		default:
			w.ok = p.s.skip(5)
		}
	}
	if !w.ok {
		return false
	}
	err := cmpOr(strErr("remote", lc.remote, true), strErr("remote_name", lc.remoteName, false),
		p.uintErr("sent", &lc.sent, math.MaxUint64), p.uintErr("recv", &lc.recv, math.MaxUint64))
	if err != "" {
		r.connErr = "connection " + strconv.Itoa(n) + ": " + err
		return true
	}
	p.conns = append(p.conns, lc)
	return true
}

// checkRow says what is wrong with a row, in the order of the fields.
func (p *lineParser) checkRow(r *lineRow) string {
	if err := cmpOr(strErr("name", r.name, true), p.uintErr("pid", &r.pid, math.MaxInt32), p.uintErr("uid", &r.uid, math.MaxUint32),
		p.uintErr("sent", &r.sent, math.MaxUint64), p.uintErr("recv", &r.recv, math.MaxUint64), strErr("unit", r.unit, false)); err != "" {
		return err
	}
	switch r.container {
	case fieldBad:
		return "container is not an object"
	case fieldOK:
		if err := cmpOr(strErr("runtime", r.runtime, false), strErr("id", r.cid, false), strErr("name", r.cname, false)); err != "" {
			return "container " + err
		}
	}
	if r.conns == fieldBad {
		return "connections is not an array"
	}
	return r.connErr
}

// cmpOr returns the first of errs that is not "".
func cmpOr(errs ...string) string {
	for _, e := range errs {
		if e != "" {
			return e
		}
	}
	return ""
}

// strErr says what is wrong with string field key: absent or null when
// required, or not a string.
func strErr(key string, f strField, required bool) string {
	switch {
	case f.state == fieldBad:
		return key + " is not a string"
	case required && f.state != fieldOK:
		return "no " + key
	}
	return ""
}

// uintErr says what is wrong with whole-number field key: absent, not a
// whole number, or above limit.
func (p *lineParser) uintErr(key string, f *numField, limit uint64) string {
	switch {
	case f.state == fieldAbsent:
		return "no " + key
	case f.state != fieldOK || f.v > limit:
		return key + " " + p.rawText(f.start, f.end) + " is not a whole number up to " + strconv.FormatUint(limit, 10)
	}
	return ""
}

// raw returns a string field's raw contents.
func (p *lineParser) raw(f strField) []byte { return p.s.b[f.start:f.end] }

// text appends what a string field says to buf[:0]: its contents without
// the escapes, invalid UTF-8 replaced as encoding/json replaces it.
func (p *lineParser) text(f strField, buf []byte) []byte {
	raw := p.raw(f)
	if !f.esc && utf8.Valid(raw) {
		return append(buf[:0], raw...)
	}
	return decodeString(p.s.b[f.start-1:f.end+1], buf)
}

// decodeString appends the string that quoted (a JSON string, with its
// quotes, already checked) says to buf[:0], as encoding/json decodes it:
// the rare strings with escapes or bytes that are not UTF-8 are left to it.
func decodeString(quoted, buf []byte) []byte {
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return append(buf[:0], quoted...) // cannot be: the scanner checked it
	}
	return append(buf[:0], s...)
}
