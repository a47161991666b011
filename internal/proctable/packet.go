package proctable

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gohogs/gohogs/internal/parsenum"
)

// PacketSocket is one row of /proc/net/packet: a packet (AF_PACKET) socket.
type PacketSocket struct {
	// Type is SOCK_RAW (3) or SOCK_DGRAM (2).
	Type uint8
	// Protocol is the EtherType it is bound to: 0 for a socket that
	// receives nothing (it only sends), 3 (ETH_P_ALL) for every one.
	Protocol uint16
	// IfIndex is the interface it is bound to, 0 for every one.
	IfIndex int
	UID     uint32
	Inode   uint64
}

// ParsePacket reads /proc/net/packet: the header line ("sk RefCnt Type
// Proto Iface R Rmem User Inode"), then one socket a line. It appends the
// well-formed rows to out and returns the number of malformed lines
// skipped, as Parse does.
func ParsePacket(r io.Reader, out []PacketSocket) ([]PacketSocket, int) {
	malformed := eachRow(r, "sk", func(line []byte) bool {
		s, err := parsePacketLine(line)
		if err == nil {
			out = append(out, s)
		}
		return err == nil
	})
	return out, malformed
}

// parsePacketLine parses "sk RefCnt Type Proto Iface R Rmem User Inode":
// the type, interface, user and inode in decimal, the protocol in hex.
func parsePacketLine(line []byte) (PacketSocket, error) {
	var s PacketSocket
	f := bytes.Fields(line)
	if len(f) < 9 {
		return s, ErrMalformed
	}
	typ, ok1 := parsenum.Dec(f[2])
	proto, ok2 := parsenum.Hex(f[3])
	ifindex, ok3 := parsenum.Dec(f[4])
	uid, ok4 := parsenum.Dec(f[7])
	ino, ok5 := parsenum.Dec(f[8])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || typ > 0xff || proto > 0xffff || ifindex > 1<<31-1 || uid > 0xffffffff {
		return s, ErrMalformed
	}
	return PacketSocket{Type: uint8(typ), Protocol: uint16(proto), IfIndex: int(ifindex), UID: uint32(uid), Inode: ino}, nil
}

// ReadPacket reads dir/packet (dir a /proc/net, /proc/PID/net or
// /proc/thread-self/net directory), appending its rows to out; it returns
// the number of malformed lines skipped.
func ReadPacket(dir string, out []PacketSocket) ([]PacketSocket, int, error) {
	fh, err := os.Open(filepath.Join(dir, "packet"))
	if err != nil {
		return out, 0, fmt.Errorf("read packet socket table: %w", err)
	}
	defer fh.Close()
	out, m := ParsePacket(fh, out)
	return out, m, nil
}
