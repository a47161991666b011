// Package pcapfile reads pcap and pcapng files (gzip-compressed too) into
// the decoded packets of package capture, with gopacket's pcapgo.
//
// It is a package of its own rather than part of capture because pcapgo
// links gopacket's layers package, whose start-up fills large tables of
// pointers: every program that links it runs that start-up and scans those
// tables at every garbage collection, whose heap target they also raise. A
// program that captures only live traffic (cmd/gohogs) does not import this
// package and does not pay for it.
package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gohogs/gohogs/capture"
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

// Read reads a pcap or pcapng file (gzip-compressed too) and calls h for
// each packet that decodes (capture.Decode), in file order. The returned
// Stats count what was handed on and what did not decode (Interface is
// path). A truncated or
// corrupt file gives an error with the byte offset of the record that could
// not be read (for a gzip-compressed file, an offset in the compressed
// bytes, approximate); the packets before it have been delivered. Packet
// timestamps are the file's, and IfIndex is 0 except on SLL2 links.
func Read(path string, h capture.Handler) (capture.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return capture.Stats{Interface: path}, fmt.Errorf("pcapfile: %w", err)
	}
	defer f.Close()
	return ReadFrom(f, path, h)
}

// ReadFrom reads a pcap or pcapng stream as Read does; path names it in
// errors and in the Stats.
func ReadFrom(in io.Reader, path string, h capture.Handler) (capture.Stats, error) {
	st := capture.Stats{Interface: path}
	cr := &countingReader{r: in}
	// pcapgo wraps its input in bufio.NewReader, which returns a
	// *bufio.Reader unchanged: handing it br lets us know exactly how many
	// bytes it consumed.
	br := bufio.NewReader(cr)
	offset := func() int64 { return cr.n - int64(br.Buffered()) }
	magic, err := br.Peek(4)
	if err != nil {
		return st, fmt.Errorf("pcapfile: %s: too short for a capture file (%d bytes)", path, len(magic))
	}

	var (
		read   func() ([]byte, gopacket.CaptureInfo, error)
		linkOf func(ci *gopacket.CaptureInfo) (capture.LinkType, error)
	)
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a { // pcapng section header block
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return st, fmt.Errorf("pcapfile: %s: pcapng header at byte offset 0: %w", path, err)
		}
		read = r.ZeroCopyReadPacketData
		linkOf = func(ci *gopacket.CaptureInfo) (capture.LinkType, error) {
			in, err := r.Interface(ci.InterfaceIndex)
			if err != nil {
				return 0, err
			}
			return capture.LinkType(in.LinkType), nil
		}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("pcapfile: %s: pcap header at byte offset 0: %w", path, err)
		}
		read = r.ZeroCopyReadPacketData
		lt := capture.LinkType(r.LinkType())
		linkOf = func(*gopacket.CaptureInfo) (capture.LinkType, error) { return lt, nil }
	}

	var p capture.Packet
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
				return st, fmt.Errorf("pcapfile: %s: truncated record at byte offset %d after %d packets: %w", path, at, st.Packets+st.Malformed, err)
			}
			return st, fmt.Errorf("pcapfile: %s: bad record at byte offset %d after %d packets: %w", path, at, st.Packets+st.Malformed, err)
		}
		lt, err := linkOf(&ci)
		if err != nil {
			return st, fmt.Errorf("pcapfile: %s: record at byte offset %d: %w", path, at, err)
		}
		if err := capture.Decode(lt, data, &p); err != nil {
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
