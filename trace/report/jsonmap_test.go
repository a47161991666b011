package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// mappedLog writes a JSON log larger than jsonMapMin to a file: busy lines,
// a malformed one among them, the last without its newline.
func mappedLog(t *testing.T) (string, []byte) {
	busy := busyLines(t, 3, 24)
	lines := append(append(append([][]byte{}, busy[:10]...), []byte(`{"timestamp":"x"}`)), busy[10:]...)
	log := bytes.Join(lines, []byte("\n"))
	if len(log) < jsonMapMin {
		t.Fatalf("%d bytes: not mapped", len(log))
	}
	p := filepath.Join(t.TempDir(), "log.json")
	if err := os.WriteFile(p, log, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, log
}

// readWhole reads log as a stream, named p.
func readWhole(t *testing.T, opts Options, p string, log []byte) *Report {
	rep := New(opts)
	if err := rep.Add(p, bytes.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestJSONMapped: a large JSON log file is mapped, and counts and warns as
// the same log read as a stream.
func TestJSONMapped(t *testing.T) {
	p, log := mappedLog(t)
	for _, by := range []GroupBy{ByName, ByRemote} {
		opts := Options{By: by, Every: time.Minute, Location: time.UTC}
		rep, maps := New(opts), 0
		rep.afterMap = func() { maps++ }
		if err := rep.AddFile(p); err != nil {
			t.Fatal(err)
		}
		want := readWhole(t, opts, p, log)
		if maps != 1 {
			t.Fatalf("mapped %d times", maps)
		}
		if got, w := rep.Warnings(), want.Warnings(); !reflect.DeepEqual(got, w) || len(got) != 1 || got[0].Line != 11 {
			t.Errorf("warnings %v, want %v", got, w)
		}
		if got, w := rep.Buckets(), want.Buckets(); !reflect.DeepEqual(got, w) {
			t.Errorf("%v: mapped and read differ", by)
		}
	}
}

// TestJSONMappedTruncated: a file truncated once mapped faults when read;
// the fault is caught and what is left of the file is read as a stream.
func TestJSONMappedTruncated(t *testing.T) {
	p, log := mappedLog(t)
	const keep = 1 << 20
	rep, maps := New(Options{}), 0
	rep.afterMap = func() {
		maps++
		if err := os.Truncate(p, keep); err != nil {
			t.Fatal(err)
		}
	}
	if err := rep.AddFile(p); err != nil {
		t.Fatal(err)
	}
	want := readWhole(t, Options{}, p, log[:keep])
	if maps != 1 {
		t.Fatalf("mapped %d times", maps)
	}
	if got, w := rep.Warnings(), want.Warnings(); !reflect.DeepEqual(got, w) || len(got) != 1 {
		t.Errorf("warnings %v, want %v (the cut line)", got, w)
	}
	if got, w := rep.Rows(), want.Rows(); !reflect.DeepEqual(got, w) || got[0].Refreshes != 2 {
		t.Errorf("rows differ from the truncated file's: %+v", got[0])
	}
}
