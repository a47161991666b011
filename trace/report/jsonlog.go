package report

import (
	"bytes"
	"hash/maphash"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/gohogs/gohogs/trace/nethogs"
)

// jsonInput reads one JSON log (gohogs --json): one object per line, one
// refresh each, with exact byte counts of the interval it covers:
//
//	{"timestamp": RFC 3339, "interval": seconds, "rows": [{"name", "pid",
//	 "uid", "sent", "recv", "unit", "container": {"runtime", "id", "name"},
//	 "connections": [{"remote", "remote_name", "sent", "recv"}, ...]}, ...]}
//
// Other fields are ignored; unit, container, connections and remote_name
// may be absent. A line is counted whole or, when any field it needs is
// missing or of the wrong type, not at all (a malformed line).
type jsonInput struct {
	r       *Report
	file    string
	p       fastjson.Parser
	tally   *tally
	sum     maphash.Hash
	first   string // the first refresh's timestamp, to spot a file given twice
	n       int    // refreshes read
	rows    []jsonRow
	conns   []jsonConn
	scratch []byte
}

// jsonRow and jsonConn are a row and a connection as read, their strings
// pointing into the parser's memory.
type jsonRow struct {
	name                []byte
	pid                 int
	uid                 uint32
	sent, recv          uint64
	unit                []byte
	hasUnit             bool
	runtime, cid, cname []byte
	hasContainer        bool
	connStart, connEnd  int
}

type jsonConn struct {
	remote, remoteName []byte
	sent, recv         uint64
}

func (r *Report) newJSONInput(name string) *jsonInput {
	return &jsonInput{r: r, file: name, tally: newTally(&r.refresh), sum: r.newSum()}
}

// line reads one refresh and counts it when the options select it.
func (j *jsonInput) line(raw []byte, lineNo int, tooLong bool) error {
	hashLine(&j.sum, raw)
	if tooLong || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	v, err := j.p.ParseBytes(raw)
	if err != nil {
		return nethogs.Malformed("not a JSON object: " + err.Error())
	}
	o, err := v.Object()
	if err != nil {
		return nethogs.Malformed("not a JSON object but " + v.Type().String())
	}
	tsb, err := str(o, "timestamp", true)
	if err != nil {
		return err
	}
	ts, err := time.Parse(time.RFC3339Nano, string(tsb))
	if err != nil {
		return nethogs.Malformed("timestamp " + strconv.Quote(string(tsb)) + " is not RFC 3339")
	}
	iv := o.Get("interval")
	if iv == nil {
		return nethogs.Malformed("no interval")
	}
	secs, err := iv.Float64()
	if err != nil || !(secs >= 0 && secs < 1e9) {
		return nethogs.Malformed("interval " + iv.String() + " is not a number of seconds")
	}
	rv := o.Get("rows")
	if rv == nil {
		return nethogs.Malformed("no rows")
	}
	rows, err := rv.Array()
	if err != nil {
		return nethogs.Malformed("rows is not an array")
	}
	j.rows, j.conns = j.rows[:0], j.conns[:0]
	for i, rv := range rows {
		if err := j.row(rv); err != nil {
			return nethogs.Malformed("row " + strconv.Itoa(i+1) + ": " + err.Error())
		}
	}
	if j.n == 0 {
		j.first = string(tsb)
	}
	j.n++
	dur := time.Duration(secs * float64(time.Second))
	at := ts.Add(-dur)
	bucket, counted := j.r.place(at)
	if counted {
		j.count(bucket, at, dur)
	}
	return nil
}

// row reads one row into j.rows, its connections into j.conns.
func (j *jsonInput) row(v *fastjson.Value) error {
	o, err := v.Object()
	if err != nil {
		return nethogs.Malformed("not an object")
	}
	var jr jsonRow
	if jr.name, err = str(o, "name", true); err != nil {
		return err
	}
	pid, err := uintField(o, "pid", math.MaxInt32)
	if err != nil {
		return err
	}
	uid, err := uintField(o, "uid", math.MaxUint32)
	if err != nil {
		return err
	}
	jr.pid, jr.uid = int(pid), uint32(uid)
	if jr.sent, err = uintField(o, "sent", math.MaxUint64); err != nil {
		return err
	}
	if jr.recv, err = uintField(o, "recv", math.MaxUint64); err != nil {
		return err
	}
	if jr.unit, err = str(o, "unit", false); err != nil {
		return err
	}
	jr.hasUnit = len(jr.unit) > 0
	if cv := o.Get("container"); cv != nil && cv.Type() != fastjson.TypeNull {
		co, err := cv.Object()
		if err != nil {
			return nethogs.Malformed("container is not an object")
		}
		for _, f := range []struct {
			key string
			to  *[]byte
		}{{"runtime", &jr.runtime}, {"id", &jr.cid}, {"name", &jr.cname}} {
			if *f.to, err = str(co, f.key, false); err != nil {
				return nethogs.Malformed("container " + err.Error())
			}
		}
		jr.hasContainer = len(jr.cid) > 0 || len(jr.cname) > 0
	}
	jr.connStart = len(j.conns)
	if cv := o.Get("connections"); cv != nil && cv.Type() != fastjson.TypeNull {
		conns, err := cv.Array()
		if err != nil {
			return nethogs.Malformed("connections is not an array")
		}
		for i, c := range conns {
			if err := j.conn(c); err != nil {
				return nethogs.Malformed("connection " + strconv.Itoa(i+1) + ": " + err.Error())
			}
		}
	}
	jr.connEnd = len(j.conns)
	j.rows = append(j.rows, jr)
	return nil
}

func (j *jsonInput) conn(v *fastjson.Value) error {
	o, err := v.Object()
	if err != nil {
		return nethogs.Malformed("not an object")
	}
	var c jsonConn
	if c.remote, err = str(o, "remote", true); err != nil {
		return err
	}
	if c.remoteName, err = str(o, "remote_name", false); err != nil {
		return err
	}
	if c.sent, err = uintField(o, "sent", math.MaxUint64); err != nil {
		return err
	}
	if c.recv, err = uintField(o, "recv", math.MaxUint64); err != nil {
		return err
	}
	j.conns = append(j.conns, c)
	return nil
}

// str returns the string field key of o: absent or null is nil (an error
// when required), another type an error.
func str(o *fastjson.Object, key string, required bool) ([]byte, error) {
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		if required {
			return nil, nethogs.Malformed("no " + key)
		}
		return nil, nil
	}
	b, err := v.StringBytes()
	if err != nil {
		return nil, nethogs.Malformed(key + " is not a string")
	}
	return b, nil
}

// uintField returns the required whole-number field key of o, at most limit.
func uintField(o *fastjson.Object, key string, limit uint64) (uint64, error) {
	v := o.Get(key)
	if v == nil {
		return 0, nethogs.Malformed("no " + key)
	}
	n, err := v.Uint64()
	if err != nil || n > limit {
		return 0, nethogs.Malformed(key + " " + truncate(v.String(), 40) + " is not a whole number up to " + strconv.FormatUint(limit, 10))
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// count adds the refresh just read to the tally.
func (j *jsonInput) count(bucket int64, at time.Time, dur time.Duration) {
	r, t := j.r, j.tally
	t.begin(bucket, at, dur)
	for i := range j.rows {
		jr := &j.rows[i]
		proc := r.procOf(unsafe.String(unsafe.SliceData(jr.name), len(jr.name)), jr.pid, jr.uid)
		switch r.opts.By {
		case ByUnit:
			g := r.placeholder(NoUnit)
			if jr.hasUnit {
				g = j.fact('u', jr.unit, nil, nil)
			}
			t.add(proc, g, float64(jr.sent), float64(jr.recv))
		case ByContainer:
			g := r.placeholder(NoContainer)
			if jr.hasContainer {
				g = j.fact('c', jr.runtime, jr.cid, jr.cname)
			}
			t.add(proc, g, float64(jr.sent), float64(jr.recv))
		case ByRemote:
			var cs, cr uint64
			for _, c := range j.conns[jr.connStart:jr.connEnd] {
				label := c.remoteName
				if len(label) == 0 {
					label = remoteHost(c.remote)
				}
				t.add(proc, j.fact('r', label, nil, nil), float64(c.sent), float64(c.recv))
				cs, cr = cs+c.sent, cr+c.recv
			}
			// What no connection carries (the unknown rows) has no remote.
			if ls, lr := jr.sent-min(cs, jr.sent), jr.recv-min(cr, jr.recv); ls > 0 || lr > 0 || jr.connEnd == jr.connStart {
				t.add(proc, r.placeholder(NoRemote), float64(ls), float64(lr))
			}
		default:
			t.add(proc, r.procGroupOf(proc), float64(jr.sent), float64(jr.recv))
		}
	}
	t.end()
}

// fact returns the group of a unit ('u'), container ('c': runtime, id,
// name) or remote ('r'), adding it when new.
func (j *jsonInput) fact(kind byte, a, b, c []byte) int32 {
	k := append(j.scratch[:0], kind, 0)
	k = append(append(append(append(append(k, a...), 0), b...), 0), c...)
	j.scratch = k
	if g, ok := j.r.factGroup[string(k)]; ok {
		return g
	}
	gk := groupKey{uid: -1}
	switch kind {
	case 'u':
		gk.unit = string(a)
	case 'c':
		gk.container = Container{Runtime: string(a), ID: string(b), Name: string(c)}
	default:
		gk.remote = string(a)
	}
	g := j.r.groupOf(gk)
	j.r.factGroup[string(k)] = g
	return g
}

// remoteHost returns the address of "ADDR:PORT" or "[ADDR]:PORT" without
// the port (the whole when it has none).
func remoteHost(s []byte) []byte {
	if len(s) > 0 && s[0] == '[' {
		if i := bytes.IndexByte(s, ']'); i > 0 {
			return s[1:i]
		}
		return s
	}
	if i := bytes.LastIndexByte(s, ':'); i > 0 && bytes.IndexByte(s[:i], ':') < 0 {
		return s[:i]
	}
	return s
}

// finish keeps the input's refreshes unless an earlier input had the same.
func (j *jsonInput) finish() {
	r := j.r
	if j.n == 0 || j.tally == nil {
		return
	}
	k := "json\x00" + j.first + "\x00" + strconv.FormatUint(j.sum.Sum64(), 16)
	if first, dup := r.runSeq[k]; dup {
		r.warnings = append(r.warnings, Warning{Kind: WarnDuplicate, File: j.file,
			Reason: "same refreshes as " + first + ": skipped, not counted twice"})
	} else {
		r.runSeq[k] = j.file
		r.total.merge(j.tally.agg)
	}
	j.tally = nil
}
