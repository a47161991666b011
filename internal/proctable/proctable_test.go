package proctable

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// skipBigEndian: the fixture tables were written on a little-endian host
// (the addresses are native-endian words).
func skipBigEndian(t testing.TB) {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	if b[0] != 1 {
		t.Skip("fixture /proc/net files are little-endian")
	}
}

func mp(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestParseLine(t *testing.T) {
	skipBigEndian(t)
	for _, tc := range []struct {
		line string
		want Socket
		ok   bool
	}{
		{"   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0",
			Socket{Local: mp("127.0.0.1:631"), Remote: mp("0.0.0.0:0"), State: 10, Inode: 12345}, true},
		{"   1: 00000000000000000000000001000000:0016 0000000000000000FFFF00000100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 9 1",
			Socket{Local: mp("[::1]:22"), Remote: mp("127.0.0.1:40000"), State: 1, UID: 1000, Inode: 9}, true},
		{"   2: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0", Socket{}, false},
		{"   3: 0100007F:277 00000000:0000 0A 0 0 0 0 0 1", Socket{}, false},
		{"   4: 0100007F:0277 00000000:0000 0A 0 0 0 -1 0 1", Socket{}, false},
		{"   5: 0100007F:0277 00000000:0000 0A 0 0 0 0 0 99999999999999999999999", Socket{}, false},
		{"0100007F:0277 00000000:0000 0A 0 0 0 0 0 1 2", Socket{}, false},
		{"   6: 0100007F:0277 000000000000000000000000000000000:0000 0A 0 0 0 0 0 1", Socket{}, false},
		{"   7: 0100007F:0277 00000000:0000 100 0 0 0 0 0 1", Socket{}, false},
	} {
		got, err := ParseLine([]byte(tc.line))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v ok=%v", tc.line, got, err, tc.want, tc.ok)
		}
	}
}

func TestParse(t *testing.T) {
	skipBigEndian(t)
	b, err := os.ReadFile("testdata/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	ents, bad := Parse(bytes.NewReader(b), nil)
	// Seven rows: two malformed (no fields, a bad port).
	if len(ents) != 5 || bad != 2 {
		t.Fatalf("%d rows, %d malformed; want 5 and 2", len(ents), bad)
	}
	if e := ents[1]; e.Local != mp("192.168.1.10:22") || e.Remote != mp("192.168.1.20:50000") || e.State != 1 || e.UID != 1000 || e.Inode != 1002 {
		t.Fatalf("row 1: %+v", e)
	}
	// No header, and a line too long for the scanner: the rows before it
	// are kept, the rest is one malformed line.
	long := append([]byte("   0: 0100007F:0277 00000000:0000 0A 0 0 0 0 0 12345\n"), bytes.Repeat([]byte("x"), 70000)...)
	long = append(long, "\n   1: 0100007F:0277 00000000:0000 0A 0 0 0 0 0 6\n"...)
	ents, bad = Parse(bytes.NewReader(long), ents[:0])
	if len(ents) != 1 || ents[0].Inode != 12345 || bad != 1 {
		t.Fatalf("after an over-long line: %+v, %d malformed", ents, bad)
	}
	allocs := testing.AllocsPerRun(50, func() {
		ParseLine([]byte("   1: 00000000000000000000000001000000:0016 0000000000000000FFFF00000100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 9 1"))
	})
	if allocs != 0 {
		t.Errorf("a row costs %v allocations, want 0", allocs)
	}
}

func TestReadDir(t *testing.T) {
	skipBigEndian(t)
	for _, tc := range []struct {
		proto    uint8
		n, bad   int
		raw      int
		wantErr  bool
		someNode uint64
	}{
		{6, 8, 2, 0, false, 1006},
		{17, 3, 0, 0, false, 6001}, // no udp6: skipped
		{1, 3, 0, 2, false, 3001},  // icmp then raw
		{253, 2, 0, 2, false, 3003},
	} {
		ents, bad, err := ReadDir("testdata/net", tc.proto, nil)
		raw, found := 0, false
		for _, e := range ents {
			if e.Raw {
				raw++
			}
			found = found || e.Inode == tc.someNode
		}
		if (err != nil) != tc.wantErr || len(ents) != tc.n || bad != tc.bad || raw != tc.raw || !found {
			t.Errorf("proto %d: %d rows (%d raw), %d malformed, %v; want %d (%d raw), %d, inode %d among them",
				tc.proto, len(ents), raw, bad, err, tc.n, tc.raw, tc.bad, tc.someNode)
		}
	}
	// A table that cannot be read (here a directory) ends as one
	// malformed line; the others are still read.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tcp"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("testdata/net/tcp6")
	if err := os.WriteFile(filepath.Join(dir, "tcp6"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ents, bad, err := ReadDir(dir, 6, nil)
	if len(ents) != 3 || bad != 1 || err != nil {
		t.Errorf("beside a broken tcp: %d rows of tcp6, %d malformed, %v; want 3, 1, nil", len(ents), bad, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n"))
	f.Add([]byte("   1: 00000000000000000000000001000000:0016 0000000000000000FFFF00000100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 9 1\nbad\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ents, bad := Parse(bytes.NewReader(b), nil)
		lines := bytes.Count(b, []byte("\n")) + 1
		if len(ents)+bad > lines {
			t.Fatalf("%d entries + %d malformed > %d lines", len(ents), bad, lines)
		}
		for _, e := range ents {
			if !e.Local.IsValid() || !e.Remote.IsValid() || e.Local.Addr().Is4In6() || e.Remote.Addr().Is4In6() {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func TestReadPacket(t *testing.T) {
	got, bad, err := ReadPacket("testdata/net", nil)
	want := []PacketSocket{
		{Type: 3, Protocol: 3, IfIndex: 2, Inode: 24585},
		{Type: 2, Protocol: 0x0800, IfIndex: 2, UID: 101, Inode: 31337},
		{Type: 3, Protocol: 0, IfIndex: 0, UID: 1000, Inode: 31338},
		{Type: 3, Protocol: 0x88b5, IfIndex: 7, Inode: 31339},
	}
	if err != nil || bad != 1 || !slices.Equal(got, want) {
		t.Errorf("got %+v, %d malformed, %v; want %+v, 1", got, bad, err, want)
	}
	if _, _, err := ReadPacket(t.TempDir(), nil); err == nil {
		t.Errorf("no packet table: no error")
	}
}

func FuzzParsePacket(f *testing.F) {
	b, err := os.ReadFile("testdata/net/packet")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("ffff8b1f0a3ec000 3 3 0003 2 1 0 0 24585\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ents, bad := ParsePacket(bytes.NewReader(b), nil)
		if lines := bytes.Count(b, []byte("\n")) + 1; len(ents)+bad > lines {
			t.Fatalf("%d entries + %d malformed > %d lines", len(ents), bad, lines)
		}
	})
}
