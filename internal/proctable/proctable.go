// Package proctable parses the socket tables of /proc/net: tcp, tcp6, udp,
// udp6, raw, raw6, icmp and icmp6, which share one column layout, and
// packet (the packet sockets: type, EtherType, interface, uid, inode).
//
// It is hand-written for tolerance: prometheus/procfs's NetTCP/NetUDP fail
// the whole file on one bad line, know nothing of raw and icmp, and
// allocate a struct with net.IP slices per row. Here a malformed line is
// skipped and counted, never fatal, and a row costs no allocation beyond
// the slice it is appended to.
package proctable

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

// Socket is one row of a socket table.
type Socket struct {
	// Local and Remote are the two ends; IPv4-mapped addresses are
	// unmapped. For a raw socket Local's port is its protocol, for a ping
	// socket (icmp, icmp6) its echo identifier.
	Local, Remote netip.AddrPort
	// State is the TCP state as the kernel numbers it
	// (include/net/tcp_states.h; 10 is LISTEN), 7 (CLOSE) for an unbound
	// datagram socket.
	State uint8
	UID   uint32
	Inode uint64
	// Raw is set for the rows of raw and raw6.
	Raw bool
}

// ErrMalformed marks a line that could not be parsed.
var ErrMalformed = errors.New("malformed socket table line")

// Parse reads a socket table: the header line, then one socket a line. It
// appends every well-formed row to out and returns the number of malformed
// lines skipped. Parsing stops (without error) at the first read error or
// over-long line, counted as one malformed line; the rows read so far are
// kept.
func Parse(r io.Reader, out []Socket) ([]Socket, int) {
	malformed := eachRow(r, "sl", func(line []byte) bool {
		e, err := ParseLine(line)
		if err == nil {
			out = append(out, e)
		}
		return err == nil
	})
	return out, malformed
}

// eachRow calls row with every data line of a table read from r: the lines
// after a first line whose first field is header (or from the first, if
// it is not such a header), blank lines skipped. It returns how many lines
// row rejected, plus one if reading stopped at a read error or an
// over-long line.
func eachRow(r io.Reader, header string, row func(line []byte) bool) int {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	malformed := 0
	first := true
	for sc.Scan() {
		line := sc.Bytes()
		if first {
			first = false
			if f := bytes.Fields(line); len(f) > 0 && string(f[0]) == header {
				continue
			}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !row(line) {
			malformed++
		}
	}
	if sc.Err() != nil {
		malformed++
	}
	return malformed
}

// ParseLine parses one data line: "sl: local remote st tx:rx tr:when
// retrnsmt uid timeout inode ...".
func ParseLine(line []byte) (Socket, error) {
	var e Socket
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
		return e, ErrMalformed
	}
	var err error
	if e.Local, err = parseHexAddrPort(f[1]); err != nil {
		return e, err
	}
	if e.Remote, err = parseHexAddrPort(f[2]); err != nil {
		return e, err
	}
	if e.Local.Addr().BitLen() != e.Remote.Addr().BitLen() && !e.Remote.Addr().Unmap().IsUnspecified() && !e.Local.Addr().Unmap().IsUnspecified() {
		return e, ErrMalformed
	}
	st, ok := parsenum.Hex(f[3])
	if !ok || st > 0xff {
		return e, ErrMalformed
	}
	e.State = uint8(st)
	uid, ok := parsenum.Dec(f[7])
	if !ok || uid > 0xffffffff {
		return e, ErrMalformed
	}
	e.UID = uint32(uid)
	if e.Inode, ok = parsenum.Dec(f[9]); !ok {
		return e, ErrMalformed
	}
	e.Local = netip.AddrPortFrom(e.Local.Addr().Unmap(), e.Local.Port())
	e.Remote = netip.AddrPortFrom(e.Remote.Addr().Unmap(), e.Remote.Port())
	return e, nil
}

// parseHexAddrPort parses "0100007F:0277" (IPv4, one native-endian 32-bit
// word) or 32 hex digits (IPv6, four native-endian words) then ":PORT".
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	c := bytes.IndexByte(b, ':')
	if c < 0 || len(b)-c-1 != 4 {
		return netip.AddrPort{}, ErrMalformed
	}
	port, ok := parsenum.Hex(b[c+1:])
	if !ok {
		return netip.AddrPort{}, ErrMalformed
	}
	a := b[:c]
	var addr netip.Addr
	switch len(a) {
	case 8:
		w, ok := parsenum.Hex(a)
		if !ok {
			return netip.AddrPort{}, ErrMalformed
		}
		var ip [4]byte
		binary.NativeEndian.PutUint32(ip[:], uint32(w))
		addr = netip.AddrFrom4(ip)
	case 32:
		var ip [16]byte
		for i := 0; i < 4; i++ {
			w, ok := parsenum.Hex(a[i*8 : i*8+8])
			if !ok {
				return netip.AddrPort{}, ErrMalformed
			}
			binary.NativeEndian.PutUint32(ip[i*4:], uint32(w))
		}
		addr = netip.AddrFrom16(ip)
	default:
		return netip.AddrPort{}, ErrMalformed
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// Files lists the tables that hold the sockets of IP protocol proto: TCP
// (6) and UDP (17) their own, ICMP (1) and ICMPv6 (58) the ping sockets
// then the raw ones, any other protocol the raw ones.
func Files(proto uint8) []string {
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

// ReadDir reads the tables of proto (see Files) from dir, a /proc/net,
// /proc/PID/net or /proc/thread-self/net directory, appending their rows to
// out; it returns the number of malformed lines skipped. A missing table
// (no IPv6, a module not loaded) is skipped; the first other error is
// returned after the other tables were read.
func ReadDir(dir string, proto uint8, out []Socket) ([]Socket, int, error) {
	malformed := 0
	var firstErr error
	for _, name := range Files(proto) {
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
				firstErr = fmt.Errorf("read socket table: %w", err)
			}
			continue
		}
		var m int
		n0 := len(out)
		out, m = Parse(fh, out)
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
