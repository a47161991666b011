package report

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// busyLines returns the first n lines of hour h of the busy host's log.
func busyLines(t *testing.T, h, n int) [][]byte {
	t.Helper()
	sc := bufio.NewScanner(busyJSONHour(h))
	sc.Buffer(nil, maxJSONLine)
	var out [][]byte
	for len(out) < n && sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// oracleTotals sums lines as the oracle reads them, by name or by remote:
// sent, recv and refreshes of each key.
func oracleTotals(lines [][]byte, by GroupBy) map[string][3]int64 {
	m := map[string][3]int64{}
	for _, l := range lines {
		o, ok := oracleLine(l)
		if !ok {
			continue
		}
		seen := map[string]bool{}
		add := func(k string, s, r uint64) {
			v := m[k]
			v[0] += int64(s)
			v[1] += int64(r)
			if !seen[k] {
				seen[k] = true
				v[2]++
			}
			m[k] = v
		}
		for _, r := range o.Rows {
			if by == ByName {
				add(r.Name, r.Sent, r.Recv)
				continue
			}
			var cs, cr uint64
			for _, c := range r.Conns {
				label := c.RemoteName
				if label == "" {
					label = string(remoteHost([]byte(c.Remote)))
				}
				add(label, c.Sent, c.Recv)
				cs, cr = cs+c.Sent, cr+c.Recv
			}
			if ls, lr := r.Sent-min(cs, r.Sent), r.Recv-min(cr, r.Recv); ls > 0 || lr > 0 || len(r.Conns) == 0 {
				add(NoRemote, ls, lr)
			}
		}
	}
	return m
}

// TestJSONChunks: a log read in chunks by several workers, in odd-sized
// reads, with lines longer than a chunk, a malformed, a blank and a
// too-long line and no newline at its end, sums to what the oracle sums,
// and its warnings have the right line numbers.
func TestJSONChunks(t *testing.T) {
	busy := busyLines(t, 2, 11)
	var lines [][]byte
	lines = append(lines, busy[:7]...)
	lines = append(lines, []byte(`{"timestamp":1}`), []byte("  "))
	lines = append(lines, busy[7:10]...)
	lines = append(lines, bytes.Repeat([]byte(" "), maxJSONLine+10))
	lines = append(lines, busy[10])
	log := bytes.Join(lines, []byte("\n")) // the last line without its newline
	if len(busy[0]) < jsonChunkSize/4 {
		t.Fatalf("busy lines of %d bytes", len(busy[0]))
	}
	for _, by := range []GroupBy{ByName, ByRemote} {
		rep := New(Options{By: by})
		if err := rep.Add("log", iotest.HalfReader(bytes.NewReader(log))); err != nil {
			t.Fatal(err)
		}
		w := rep.Warnings()
		if len(w) != 2 || w[0].Line != 8 || !strings.Contains(w[0].Reason, "timestamp is not a string") ||
			w[1].Line != 13 || !strings.Contains(w[1].Reason, "line longer than") {
			t.Fatalf("warnings %v", w)
		}
		want := oracleTotals(busy, by)
		rows := rep.Rows()
		if len(rows) != len(want) {
			t.Errorf("%v: %d rows, want %d", by, len(rows), len(want))
		}
		for _, r := range rows {
			k := r.Name
			if by == ByRemote {
				k = r.Remote
			}
			if w := want[k]; r.Sent != w[0] || r.Recv != w[1] || int64(r.Refreshes) != w[2] {
				t.Errorf("%v %q: %d/%d in %d refreshes, want %v", by, k, r.Sent, r.Recv, r.Refreshes, w)
			}
		}
	}
}

// TestJSONReadError: an input that fails part way keeps the lines before
// (the partial line is malformed) and the error names the input; a
// truncated gzip says after which line.
func TestJSONReadError(t *testing.T) {
	busy := busyLines(t, 0, 3)
	head := append(bytes.Join(busy, []byte("\n")), "\n{\"timest"...)
	fire := errors.New("disk on fire")
	rep := New(Options{})
	err := rep.Add("log", io.MultiReader(bytes.NewReader(head), iotest.ErrReader(fire)))
	if !errors.Is(err, fire) || err.Error() != "report: read log: disk on fire" {
		t.Fatalf("error %v", err)
	}
	if w := rep.Warnings(); len(w) != 1 || w[0].Line != 4 {
		t.Errorf("warnings %v", w)
	}
	want := oracleTotals(busy, ByName)
	for _, r := range rep.Rows() {
		if w := want[r.Name]; r.Sent != w[0] || r.Refreshes != 3 {
			t.Errorf("%q: %d in %d refreshes, want %v", r.Name, r.Sent, r.Refreshes, w)
		}
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Join(busy, []byte("\n")))
	zw.Close()
	rep = New(Options{})
	err = rep.Add("log.gz", bytes.NewReader(gz.Bytes()[:gz.Len()*2/3]))
	if err == nil || !strings.Contains(err.Error(), "report: read log.gz: its gzip data is truncated or corrupt after line ") {
		t.Fatalf("error %v", err)
	}
}

// TestJSONDuplicateLongLines: a log of long lines given again (compressed)
// is a duplicate; one that differs only in one connection's bytes in the
// middle of a line, the line as long, is not.
func TestJSONDuplicateLongLines(t *testing.T) {
	busy := busyLines(t, 0, 3)
	log := bytes.Join(busy, []byte("\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(log)
	zw.Close()
	i := bytes.Index(log[len(busy[0])/2:], []byte(`"sent":6`)) + len(busy[0])/2 + len(`"sent":`)
	edited := bytes.Clone(log)
	edited[i]++ // 6 -> 7
	rep := New(Options{})
	for _, in := range []struct {
		name string
		b    []byte
	}{{"log", log}, {"log.gz", gz.Bytes()}, {"edited", edited}} {
		if err := rep.Add(in.name, bytes.NewReader(in.b)); err != nil {
			t.Fatal(err)
		}
	}
	if w := rep.Warnings(); len(w) != 1 || w[0].String() != "log.gz: same refreshes as log: skipped, not counted twice" {
		t.Errorf("warnings %v", w)
	}
	if r := rep.Rows(); r[0].Refreshes != 6 {
		t.Errorf("%+v", r[0])
	}
}

// TestJSONEmptyName: a row with an empty name, pid 0 and uid 0 (what an
// empty cache slot looks like) is a process of its own.
func TestJSONEmptyName(t *testing.T) {
	var log strings.Builder
	for i := range 20 {
		log.WriteString(`{"timestamp":"2026-11-28T03:00:` + strconv.Itoa(10+i) + `Z","interval":1,"rows":[{"name":"a","pid":1,"uid":0,"sent":3,"recv":4},{"name":"","pid":0,"uid":0,"sent":1,"recv":2}]}` + "\n")
	}
	rep := New(Options{By: ByPID})
	if err := rep.Add("log", strings.NewReader(log.String())); err != nil {
		t.Fatal(err)
	}
	rows := rep.Rows()
	if len(rows) != 2 || rows[1].Name != "" || rows[1].Sent != 20 || rows[1].Recv != 40 || rows[0].Sent != 60 {
		t.Errorf("rows %+v", rows)
	}
}

// TestJSONLogsApart: logs read one after another (a duplicate among
// them) sum to what one log of all their lines sums to,
// in every grouping, with time buckets.
func TestJSONLogsApart(t *testing.T) {
	a, b := bytes.Join(busyLines(t, 0, 4), []byte("\n")), bytes.Join(busyLines(t, 7, 4), []byte("\n"))
	for _, by := range []GroupBy{ByName, ByPID, ByUser, ByUnit, ByContainer, ByRemote} {
		opts := Options{By: by, Every: time.Minute, Location: time.UTC}
		apart, whole := New(opts), New(opts)
		for _, in := range [][]byte{a, a, b} {
			if err := apart.Add("part", bytes.NewReader(in)); err != nil {
				t.Fatal(err)
			}
		}
		if err := whole.Add("whole", bytes.NewReader(append(append(bytes.Clone(a), '\n'), b...))); err != nil {
			t.Fatal(err)
		}
		if w := apart.Warnings(); len(w) != 1 || w[0].Kind != WarnDuplicate {
			t.Errorf("%v: warnings %v", by, w)
		}
		if got, want := apart.Buckets(), whole.Buckets(); !reflect.DeepEqual(got, want) || len(got) != 2 {
			t.Errorf("%v: %d buckets apart, %d whole, or they differ", by, len(got), len(want))
		}
	}
}
