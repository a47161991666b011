package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadFile reads a pcap or pcapng file (gzip-compressed too) and calls h for
// each packet that decodes, in file order. The returned Stats count what
// was handed on and what did not decode (Interface is path). A truncated or
// corrupt file gives an error with the byte offset of the record that could
// not be read (for a gzip-compressed file, an offset in the compressed
// bytes, approximate); the packets before it have been delivered. Packet
// timestamps are the file's, and IfIndex is 0 except on SLL2 links.
func ReadFile(path string, h Handler) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{Interface: path}, fmt.Errorf("capture: %w", err)
	}
	defer f.Close()
	return readCapture(f, path, h)
}

// readCapture reads a pcap or pcapng stream; path names it in errors.
func readCapture(in io.Reader, path string, h Handler) (Stats, error) {
	st := Stats{Interface: path}
	cr := &countingReader{r: in}
	// pcapgo wraps its input in bufio.NewReader, which returns a
	// *bufio.Reader unchanged: handing it br lets us know exactly how many
	// bytes it consumed.
	br := bufio.NewReader(cr)
	offset := func() int64 { return cr.n - int64(br.Buffered()) }
	magic, err := br.Peek(4)
	if err != nil {
		return st, fmt.Errorf("capture: %s: too short for a capture file (%d bytes)", path, len(magic))
	}

	var (
		read   func() ([]byte, gopacket.CaptureInfo, error)
		linkOf func(ci *gopacket.CaptureInfo) (LinkType, error)
	)
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a { // pcapng section header block
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return st, fmt.Errorf("capture: %s: pcapng header at byte offset 0: %w", path, err)
		}
		read = r.ZeroCopyReadPacketData
		linkOf = func(ci *gopacket.CaptureInfo) (LinkType, error) {
			in, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return 0, err
			}
			return LinkType(in.LinkType), nil
		}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("capture: %s: pcap header at byte offset 0: %w", path, err)
		}
		read = r.ZeroCopyReadPacketData
		lt := LinkType(r.LinkType())
		linkOf = func(*gopacket.CaptureInfo) (LinkType, error) { return lt, nil }
	}

	var p Packet
	for {
		at := offset()
		data, ci, err := read()
		if err == io.EOF && offset() == at {
			return st, nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // a record header without its data
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return st, fmt.Errorf("capture: %s: truncated record at byte offset %d after %d packets: %w", path, at, st.Packets+st.Malformed, err)
			}
			return st, fmt.Errorf("capture: %s: bad record at byte offset %d after %d packets: %w", path, at, st.Packets+st.Malformed, err)
		}
		lt, err := linkOf(&ci)
		if err != nil {
			return st, fmt.Errorf("capture: %s: record at byte offset %d: %w", path, at, err)
		}
		if err := Decode(lt, data, &p); err != nil {
			st.Malformed++
			continue
		}
		p.Timestamp = ci.Timestamp
		if ci.Length > 0 {
			p.Length = ci.Length
		}
		st.Packets++
		st.Bytes += uint64(p.Length)
		h(&p)
	}
}
