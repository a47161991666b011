package procmap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/gohogs/gohogs/internal/parsenum"
)

// TCP states as the kernel numbers them (include/net/tcp_states.h), as found
// in /proc/net/tcp and in sock_diag replies.
const (
	tcpEstablished = 1
	tcpSynRecv     = 3
	tcpTimeWait    = 6
	tcpClose       = 7
	tcpListen      = 10
)

// sockEntry is one row of a socket table, from /proc/net/* or sock_diag.
type sockEntry struct {
	Local, Remote netip.AddrPort // IPv4-mapped addresses are unmapped
	State         uint8
	UID           uint32
	Inode         uint64
	Raw           bool // from /proc/net/raw{,6}: Local's port is the protocol
}

// errMalformed marks a /proc/net line that could not be parsed.
var errMalformed = errors.New("malformed socket table line")

// parseTable reads a /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,icmp,icmp6} file:
// the header line, then one socket a line. It appends every well-formed row
// to out and returns the number of malformed lines skipped. Parsing stops
// (without error) at the first read error; the rows read so far are kept.
//
// prometheus/procfs has NetTCP/NetUDP parsers, but they fail the whole file
// on one bad line, know nothing of raw/icmp, and allocate a struct with
// net.IP slices per row; all eight files share one column layout, so this one
// hand-written parser serves them all.
func parseTable(r io.Reader, out []sockEntry) ([]sockEntry, int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	malformed := 0
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			first = false
			// The header starts with "sl"; anything else is a data line.
			if f := bytes.Fields(line); len(f) > 0 && string(f[0]) == "sl" {
				continue
			}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := parseTableLine(line)
		if err != nil {
			malformed++
			continue
		}
		out = append(out, e)
	}
	if sc.Err() != nil {
		// An over-long line: count it and stop; what was read is kept.
		malformed++
	}
	return out, malformed
}

// parseTableLine parses one data line: "sl: local remote st tx:rx tr:when
// retrnsmt uid timeout inode ...".
func parseTableLine(line []byte) (sockEntry, error) {
	var e sockEntry
	var f [10][]byte
	n := 0
	for i := 0; i < len(line) && n < len(f); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			f[n] = line[i:j]
			n++
		}
		i = j
	}
	if n < len(f) || len(f[0]) < 2 || f[0][len(f[0])-1] != ':' {
		return e, errMalformed
	}
	var err error
	if e.Local, err = parseHexAddrPort(f[1]); err != nil {
		return e, err
	}
	if e.Remote, err = parseHexAddrPort(f[2]); err != nil {
		return e, err
	}
	if e.Local.Addr().BitLen() != e.Remote.Addr().BitLen() && !e.Remote.Addr().Unmap().IsUnspecified() && !e.Local.Addr().Unmap().IsUnspecified() {
		return e, errMalformed
	}
	st, ok := parsenum.Hex(f[3])
	if !ok || st > 0xff {
		return e, errMalformed
	}
	e.State = uint8(st)
	uid, ok := parsenum.Dec(f[7])
	if !ok || uid > 0xffffffff {
		return e, errMalformed
	}
	e.UID = uint32(uid)
	if e.Inode, ok = parsenum.Dec(f[9]); !ok {
		return e, errMalformed
	}
	e.Local = unmapAP(e.Local)
	e.Remote = unmapAP(e.Remote)
	return e, nil
}

// parseHexAddrPort parses "0100007F:0277" (IPv4, one native-endian 32-bit
// word) or 32 hex digits (IPv6, four native-endian words) then ":PORT".
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	c := bytes.IndexByte(b, ':')
	if c < 0 || len(b)-c-1 != 4 {
		return netip.AddrPort{}, errMalformed
	}
	port, ok := parsenum.Hex(b[c+1:])
	if !ok {
		return netip.AddrPort{}, errMalformed
	}
	a := b[:c]
	var addr netip.Addr
	switch len(a) {
	case 8:
		w, ok := parsenum.Hex(a)
		if !ok {
			return netip.AddrPort{}, errMalformed
		}
		var ip [4]byte
		binary.NativeEndian.PutUint32(ip[:], uint32(w))
		addr = netip.AddrFrom4(ip)
	case 32:
		var ip [16]byte
		for i := 0; i < 4; i++ {
			w, ok := parsenum.Hex(a[i*8 : i*8+8])
			if !ok {
				return netip.AddrPort{}, errMalformed
			}
			binary.NativeEndian.PutUint32(ip[i*4:], uint32(w))
		}
		addr = netip.AddrFrom16(ip)
	default:
		return netip.AddrPort{}, errMalformed
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// unmapAP turns an IPv4-mapped IPv6 address into the plain IPv4 one.
func unmapAP(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}

// tableFiles lists the /proc/net files that hold sockets of protocol proto.
func tableFiles(proto uint8) []string {
	switch proto {
	case 6:
		return []string{"tcp", "tcp6"}
	case 17:
		return []string{"udp", "udp6"}
	case 1:
		return []string{"icmp", "raw"}
	case 58:
		return []string{"icmp6", "raw6"}
	default:
		return []string{"raw", "raw6"}
	}
}

// readTables reads the socket tables of proto from directory dir (a
// /proc/.../net directory). Missing files (no IPv6, no module) are skipped.
func readTables(dir string, proto uint8, out []sockEntry) ([]sockEntry, int, error) {
	malformed := 0
	var firstErr error
	for _, name := range tableFiles(proto) {
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
				firstErr = fmt.Errorf("read socket table: %w", err)
			}
			continue
		}
		var m int
		n0 := len(out)
		out, m = parseTable(fh, out)
		if name == "raw" || name == "raw6" {
			for i := n0; i < len(out); i++ {
				out[i].Raw = true
			}
		}
		malformed += m
		fh.Close()
	}
	return out, malformed, firstErr
}
