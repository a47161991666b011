package capture

import (
	"bytes"
	"time"
)

// FileFrame is one frame written to a test capture file (the tests of
// capture/pcapfile in pcapfile_test.go).
type FileFrame struct {
	Link   LinkType
	Data   []byte
	Length int // original length (>= len(Data))
	TS     time.Time
}

// FileFrames are the frames of the round-trip files: the decoder's Ethernet
// test frames, some cut short like a snap length does, and one malformed
// frame.
func FileFrames() []FileFrame {
	var out []FileFrame
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for i, c := range decodeCases() {
		if c.link != LinkEthernet {
			continue
		}
		f := FileFrame{Link: LinkEthernet, Data: c.data, Length: len(c.data), TS: ts.Add(time.Duration(i) * time.Millisecond)}
		if i%3 == 0 && len(c.data) > c.need {
			f.Data = c.data[:c.need] // captured with a small snap length
		}
		out = append(out, f)
	}
	// A malformed frame (IPv4 header length 4): counted, not delivered.
	bad := bytes.Clone(eth(0x0800, ip4(v4A, v4B, ProtoTCP, nil, 0, false, tcp(1, 2, 0))))
	bad[14] = 0x41
	out = append(out, FileFrame{Link: LinkEthernet, Data: bad, Length: len(bad), TS: ts.Add(time.Second)})
	return out
}
