package capture_test

// The tests of capture/pcapfile live here, beside the decoder's test frames
// (export_test.go hands them over): pcapfile imports capture, so its own
// directory could not use them.

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gohogs/gohogs/capture"
	"github.com/gohogs/gohogs/capture/pcapfile"
)

type fileFrame = capture.FileFrame

func testFrames() []fileFrame { return capture.FileFrames() }

// writePcap writes frames as a classic pcap file and returns its bytes and
// the offset where each record starts.
func writePcap(t testing.TB, frames []fileFrame) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	var offs []int
	for _, f := range frames {
		offs = append(offs, buf.Len())
		ci := gopacket.CaptureInfo{Timestamp: f.TS, CaptureLength: len(f.Data), Length: f.Length}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), offs
}

// writePcapng writes frames as pcapng with two interfaces, Ethernet and raw
// IP: every other Ethernet frame is written without its Ethernet header on
// the raw interface.
func writePcapng(t testing.TB, frames []fileFrame) ([]byte, []int, []fileFrame) {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rawID, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var offs []int
	var written []fileFrame
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: f.TS, CaptureLength: len(f.Data), Length: f.Length}
		if et := f.Data[12:14]; i%2 == 1 && len(f.Data) > 14 && (bytes.Equal(et, []byte{8, 0}) || bytes.Equal(et, []byte{0x86, 0xdd})) {
			f = fileFrame{Link: capture.LinkRawIP, Data: f.Data[14:], Length: f.Length - 14, TS: f.TS}
			ci = gopacket.CaptureInfo{Timestamp: f.TS, CaptureLength: len(f.Data), Length: f.Length, InterfaceIndex: rawID}
		}
		offs = append(offs, buf.Len())
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		written = append(written, f)
	}
	return buf.Bytes(), offs, written
}

// expected decodes frames directly: what pcapfile.Read must deliver.
func expected(t *testing.T, frames []fileFrame) (want []capture.Packet, malformed int) {
	t.Helper()
	for _, f := range frames {
		var p capture.Packet
		if err := capture.Decode(f.Link, f.Data, &p); err != nil {
			malformed++
			continue
		}
		p.Length = f.Length
		p.Timestamp = f.TS
		want = append(want, p)
	}
	return want, malformed
}

// testFile is one capture file of the tests.
type testFile struct {
	name   string
	data   []byte
	offs   []int       // where each record starts
	frames []fileFrame // the frames as written
}

// testFiles writes frames as pcap and as pcapng, named base.pcap and
// base.pcapng.
func testFiles(t testing.TB, base string, frames []fileFrame) []testFile {
	t.Helper()
	pcapBytes, pcapOffs := writePcap(t, frames)
	ngBytes, ngOffs, ngFrames := writePcapng(t, frames)
	return []testFile{{base + ".pcap", pcapBytes, pcapOffs, frames}, {base + ".pcapng", ngBytes, ngOffs, ngFrames}}
}

func readAll(t *testing.T, path string) ([]capture.Packet, capture.Stats, error) {
	t.Helper()
	var got []capture.Packet
	st, err := pcapfile.Read(path, func(p *capture.Packet) { got = append(got, *p) })
	return got, st, err
}

func TestReadFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, x := range testFiles(t, "test", testFrames()) {
		t.Run(x.name, func(t *testing.T) {
			path := filepath.Join(dir, x.name)
			if err := os.WriteFile(path, x.data, 0o644); err != nil {
				t.Fatal(err)
			}
			want, malformed := expected(t, x.frames)
			if malformed != 1 || len(want) < 10 {
				t.Fatalf("bad test data: %d packets, %d malformed", len(want), malformed)
			}
			got, st, err := readAll(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d packets, want %d", len(got), len(want))
			}
			var bytesWant uint64
			for i := range want {
				bytesWant += uint64(want[i].Length)
				if !got[i].Timestamp.Equal(want[i].Timestamp) {
					t.Errorf("packet %d: time %v, want %v", i, got[i].Timestamp, want[i].Timestamp)
				}
				got[i].Timestamp, want[i].Timestamp = time.Time{}, time.Time{}
				if got[i] != want[i] {
					t.Errorf("packet %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			if st.Interface != path || st.Packets != uint64(len(want)) || st.Bytes != bytesWant || st.Malformed != 1 {
				t.Errorf("Stats = %+v, want %d packets, %d bytes, 1 malformed", st, len(want), bytesWant)
			}
		})
	}
}

// TestReadFileTruncated cuts each file at every byte of its last record:
// the error gives that record's offset and every packet before it is
// delivered.
func TestReadFileTruncated(t *testing.T) {
	frames := testFrames()
	frames = frames[:len(frames)-1] // no malformed frame: every record is a packet
	dir := t.TempDir()
	files := testFiles(t, "cut", frames)
	for _, x := range files {
		last := x.offs[len(x.offs)-1]
		for cut := last; cut < len(x.data); cut++ {
			path := filepath.Join(dir, x.name)
			if err := os.WriteFile(path, x.data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			got, st, err := readAll(t, path)
			if len(got) != len(frames)-1 || st.Packets != uint64(len(frames)-1) {
				t.Fatalf("%s cut at %d: %d packets delivered, want %d", x.name, cut, len(got), len(frames)-1)
			}
			if cut == last {
				if err != nil {
					t.Fatalf("%s cut at a record boundary: %v", x.name, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "byte offset "+strconv.Itoa(last)+" ") {
				t.Fatalf("%s cut at %d: error %v, want one with byte offset %d", x.name, cut, err, last)
			}
		}
	}
	// The error reads well.
	path := filepath.Join(dir, files[0].name)
	_ = os.WriteFile(path, files[0].data[:len(files[0].data)-3], 0o644)
	_, _, err := readAll(t, path)
	t.Logf("truncated file: %v", err)
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := pcapfile.Read(filepath.Join(dir, "missing.pcap"), func(*capture.Packet) {}); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: %v", err)
	}
	for name, data := range map[string][]byte{"empty": nil, "short": {0xd4, 0xc3}, "garbage": bytes.Repeat([]byte("x"), 100)} {
		path := filepath.Join(dir, name)
		_ = os.WriteFile(path, data, 0o644)
		if _, err := pcapfile.Read(path, func(*capture.Packet) {}); err == nil {
			t.Errorf("%s file: no error", name)
		}
	}
}

// FuzzReadFile feeds arbitrary bytes to the capture file reader: it must
// return (an error or not) without panicking, and what it delivers must be
// consistent with its Stats.
func FuzzReadFile(f *testing.F) {
	frames := testFrames()
	pcapBytes, _ := writePcap(f, frames[:4])
	ngBytes, _, _ := writePcapng(f, frames[:4])
	f.Add(pcapBytes)
	f.Add(pcapBytes[:len(pcapBytes)-5])
	f.Add(ngBytes)
	f.Add(ngBytes[:len(ngBytes)-5])
	f.Fuzz(func(t *testing.T, data []byte) {
		var n, bytes uint64
		st, _ := pcapfile.ReadFrom(strings.NewReader(string(data)), "fuzz", func(p *capture.Packet) {
			n++
			bytes += uint64(p.Length)
			if p.Version != 0 && p.Version != 4 && p.Version != 6 {
				t.Fatalf("bad version in %+v", p)
			}
		})
		if st.Packets != n || st.Bytes != bytes {
			t.Fatalf("Stats %+v, handler saw %d packets %d bytes", st, n, bytes)
		}
	})
}
