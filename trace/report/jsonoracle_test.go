package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oracleRefresh is what a refresh line says, as the reader must read it,
// decided with encoding/json instead of the scanner: the oracle that the
// scanner is fuzzed against.
type oracleRefresh struct {
	Timestamp string
	At        int64 // the refresh's start, Unix nanoseconds: the timestamp less the interval
	Dur       time.Duration
	Rows      []oracleRow
}

type oracleRow struct {
	Name       string
	PID        uint64
	UID        uint64
	Sent, Recv uint64
	Unit       string
	Container  *Container
	Conns      []oracleConn
}

type oracleConn struct {
	Remote, RemoteName string
	Sent, Recv         uint64
}

// oracleLine reads line with encoding/json (numbers as json.Number, the
// last of a key given twice counting) and the rules of the package doc;
// ok is false for a malformed line.
func oracleLine(line []byte) (o oracleRefresh, ok bool) {
	if !json.Valid(line) {
		return o, false
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return o, false
	}
	top, isObj := v.(map[string]any)
	if !isObj {
		return o, false
	}
	ts, isStr := top["timestamp"].(string)
	if !isStr {
		return o, false
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return o, false
	}
	ivn, isNum := top["interval"].(json.Number)
	if !isNum {
		return o, false
	}
	secs, err := strconv.ParseFloat(string(ivn), 64)
	if err != nil || !(secs >= 0 && secs < 1e9) {
		return o, false
	}
	o.Timestamp, o.Dur = ts, time.Duration(secs*float64(time.Second))
	o.At = at.Add(-o.Dur).UnixNano()
	rows, isArr := top["rows"].([]any)
	if !isArr {
		return o, false
	}
	o.Rows = []oracleRow{}
	for _, rv := range rows {
		r, isObj := rv.(map[string]any)
		if !isObj {
			return o, false
		}
		var or oracleRow
		if or.Name, isStr = r["name"].(string); !isStr {
			return o, false
		}
		for _, f := range []struct {
			key   string
			to    *uint64
			limit uint64
		}{{"pid", &or.PID, math.MaxInt32}, {"uid", &or.UID, math.MaxUint32}, {"sent", &or.Sent, math.MaxUint64}, {"recv", &or.Recv, math.MaxUint64}} {
			if *f.to, ok = oracleUint(r[f.key], f.limit); !ok {
				return o, false
			}
		}
		if or.Unit, ok = oracleStr(r["unit"]); !ok {
			return o, false
		}
		switch c := r["container"].(type) {
		case nil:
		case map[string]any:
			var ct Container
			for _, f := range []struct {
				key string
				to  *string
			}{{"runtime", &ct.Runtime}, {"id", &ct.ID}, {"name", &ct.Name}} {
				if *f.to, ok = oracleStr(c[f.key]); !ok {
					return o, false
				}
			}
			or.Container = &ct
		default:
			return o, false
		}
		switch cs := r["connections"].(type) {
		case nil:
		case []any:
			for _, cv := range cs {
				c, isObj := cv.(map[string]any)
				if !isObj {
					return o, false
				}
				var oc oracleConn
				if oc.Remote, isStr = c["remote"].(string); !isStr {
					return o, false
				}
				if oc.RemoteName, ok = oracleStr(c["remote_name"]); !ok {
					return o, false
				}
				if oc.Sent, ok = oracleUint(c["sent"], math.MaxUint64); !ok {
					return o, false
				}
				if oc.Recv, ok = oracleUint(c["recv"], math.MaxUint64); !ok {
					return o, false
				}
				or.Conns = append(or.Conns, oc)
			}
		default:
			return o, false
		}
		o.Rows = append(o.Rows, or)
	}
	return o, true
}

// oracleStr reads an optional string: absent and null are "".
func oracleStr(v any) (string, bool) {
	if v == nil {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

// oracleUint reads a required whole number up to limit.
func oracleUint(v any, limit uint64) (uint64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(string(n), 10, 64)
	return u, err == nil && u <= limit
}

// scannedLine reads line with lineParser, in the oracle's terms.
func scannedLine(p *lineParser, line []byte) (o oracleRefresh, err error) {
	if err := p.parse(line); err != nil {
		return o, err
	}
	text := func(f strField) string {
		if f.state != fieldOK {
			return ""
		}
		return string(p.text(f, nil))
	}
	o.Timestamp, o.At, o.Dur, o.Rows = string(p.tsb), p.at.UnixNano(), p.dur, []oracleRow{}
	for _, r := range p.rows {
		or := oracleRow{Name: text(r.name), PID: r.pid.v, UID: r.uid.v, Sent: r.sent.v, Recv: r.recv.v, Unit: text(r.unit)}
		if r.container == fieldOK {
			or.Container = &Container{Runtime: text(r.runtime), ID: text(r.cid), Name: text(r.cname)}
		}
		for _, c := range p.conns[r.connStart:r.connEnd] {
			or.Conns = append(or.Conns, oracleConn{Remote: text(c.remote), RemoteName: text(c.remoteName), Sent: c.sent.v, Recv: c.recv.v})
		}
		o.Rows = append(o.Rows, or)
	}
	return o, nil
}

// checkLine compares the scanner, with and without fastRow, with the oracle
// on one line.
func checkLine(t *testing.T, line []byte) {
	t.Helper()
	want, ok := oracleLine(line)
	for _, slow := range []bool{false, true} {
		p := &lineParser{slow: slow}
		got, err := scannedLine(p, line)
		switch {
		case (err == nil) != ok:
			t.Fatalf("slow=%v: %.300q: scanner says %v, encoding/json says well-formed %v", slow, line, err, ok)
		case ok && !reflect.DeepEqual(got, want):
			t.Fatalf("slow=%v: %.300q:\nscanner  %+v\nencoding %+v", slow, line, got, want)
		case err != nil && !errors.Is(err, ErrMalformed):
			t.Fatalf("%.300q: error %v does not wrap ErrMalformed", line, err)
		}
	}
}

// FuzzJSONLine: the scanner reads a line as encoding/json with the rules
// of the package doc reads it (oracleLine): malformed or not the same
// lines, and the same strings (escapes, invalid UTF-8), numbers and rows.
// Seeds: testdata/fuzz/FuzzJSONLine and the lines of testdata/json.
func FuzzJSONLine(f *testing.F) {
	for _, name := range []string{"refreshes.jsonl", "malformed.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", "json", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(b, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.IndexByte(line, '\n') >= 0 || len(bytes.TrimSpace(line)) == 0 {
			return // the reader splits lines and skips blank ones first
		}
		checkLine(t, line)
	})
}

// TestJSONLineOracle: handmade lines of every kind, and lines of the busy
// host's generated log, read as the oracle reads them.
func TestJSONLineOracle(t *testing.T) {
	const row = `{"name":"a","pid":1,"uid":2,"sent":3,"recv":4}`
	lines := []string{
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[` + row + `]}`,
		` {"rows":[` + row + `],"interval":0.5e0,"timestamp":"2026-11-28T03:00:01.5+01:00"} ` + "\r",
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[` + row + `],"rows":[]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":"x","pid":1,"uid":2,"sent":3,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"n\u0061me":"\u00e9\ud800x\"\\\/\b\f\n\r\t","pid":1,"uid":2,"sent":3,"recv":4}]}`,
		"{\"timestamp\":\"2026-11-28T03:00:01Z\",\"interval\":1,\"rows\":[{\"name\":\"a\xff\xfeb\",\"pid\":1,\"uid\":2,\"sent\":3,\"recv\":4}]}",
		"{\"timestamp\":\"2026-11-28T03:00:01Z\",\"interval\":1,\"rows\":[{\"name\":\"a\tb\",\"pid\":1,\"uid\":2,\"sent\":3,\"recv\":4}]}",
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":01,"uid":2,"sent":3,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":-0,"uid":2,"sent":3,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1.0,"uid":2,"sent":3,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":2147483648,"uid":2,"sent":3,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":4294967296,"sent":3,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":18446744073709551616,"recv":4}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1e400,"rows":[]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":-0,"rows":[]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":null,"rows":[]}`,
		`{"timestamp":null,"interval":1,"rows":[]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":null}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[],}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[]} x`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"container":null,"connections":null,"unit":null}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"container":{"id":1}}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"connections":[{"remote":"x","sent":1,"recv":1},{"remote":"y","remote_name":null,"sent":1,"recv":1,"remote":"z"}]}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"connections":[{"remote":"x","sent":1}]}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"x":[{"a":[1,true,false,null,"\u12"]}]}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"x":[{"a":[1,true,false,null,{}]}]}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"x":tru}]}`,
		`{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"x":[1 2]}]}`,
		`[1,2]`, `"x"`, `nul`, `{`, `{"a"}`, `{"a":}`, `{"a":1`, "\xef\xbb\xbf{}",
	}
	// Nesting: encoding/json allows 10000 arrays and objects in one
	// another, not one more.
	for _, extra := range []int{maxDepth - 3, maxDepth - 2} {
		deep := strings.Repeat("[", extra) + strings.Repeat("]", extra)
		lines = append(lines, `{"timestamp":"2026-11-28T03:00:01Z","interval":1,"rows":[{"name":"a","pid":1,"uid":2,"sent":3,"recv":4,"x":`+deep+`}]}`)
	}
	for i, l := range lines {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkLine(t, []byte(l)) })
	}
	sc := bufio.NewScanner(busyJSONHour(5))
	sc.Buffer(nil, maxJSONLine)
	for n := 0; n < 20 && sc.Scan(); n++ {
		line := sc.Bytes()
		checkLine(t, line)
		if p := (&lineParser{}); p.parse(line) != nil || len(p.rows) != busyRows+2 {
			t.Fatalf("busy line %d: %d rows", n, len(p.rows))
		}
	}
}
