package sockdiag

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// packet_diag wire formats, from linux/packet_diag.h.
const (
	packetReqLen   = 20 // struct packet_diag_req
	packetMsgLen   = 16 // struct packet_diag_msg
	packetShowInfo = 0x1
	packetShowRing = 0x4
	// Attribute types.
	packetDiagInfo   = 0
	packetDiagRxRing = 2
	packetDiagTxRing = 3
	packetDiagUID    = 5
)

// PacketSocket is a packet (AF_PACKET) socket, as packet_diag reports it.
type PacketSocket struct {
	// Type is SOCK_RAW (whole frames) or SOCK_DGRAM (cooked).
	Type uint8
	// Protocol is the EtherType it is bound to, in host order: 0 for a
	// socket that receives nothing (it only sends), 3 (ETH_P_ALL) for all.
	Protocol uint16
	// IfIndex is the interface it is bound to, 0 for every one.
	IfIndex int
	UID     uint32
	Inode   uint64
	// RxRing and TxRing say whether it has a memory-mapped ring to receive
	// or to send: one with a receive ring and no send ring is a capture
	// (tcpdump, gohogs), which sends nothing.
	RxRing, TxRing bool
}

// PacketSockets lists the packet sockets of the socket's namespace (a dump:
// packet_diag has no exact lookup), appending them to out.
func (c *Conn) PacketSockets(out []PacketSocket) ([]PacketSocket, error) {
	c.seq++
	var m [unix.NLMSG_HDRLEN + packetReqLen]byte
	binary.NativeEndian.PutUint32(m[0:], uint32(len(m)))
	binary.NativeEndian.PutUint16(m[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(m[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(m[8:], c.seq)
	b := m[unix.NLMSG_HDRLEN:]
	b[0] = unix.AF_PACKET
	binary.NativeEndian.PutUint32(b[8:], packetShowInfo|packetShowRing)
	if _, err := unix.Write(c.fd, m[:]); err != nil {
		return out, fmt.Errorf("packet_diag send: %w", err)
	}
	// A dump is one datagram after another until NLMSG_DONE; replies to
	// earlier requests that timed out are skipped by sequence. A
	// namespace has a handful of packet sockets: the bound is generous.
	for range 1 << 12 {
		n, err := unix.Read(c.fd, c.buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return out, fmt.Errorf("packet_diag receive: %w", err)
		}
		var done bool
		out, done, err = parsePacketReply(c.buf[:n], c.seq, out)
		if done {
			return out, err
		}
	}
	return out, fmt.Errorf("packet_diag: dump %d does not end", c.seq)
}

// parsePacketReply reads the messages of one datagram of a packet_diag
// dump, appending the sockets of request seq to out; done is set at the
// dump's end (or an error).
func parsePacketReply(r []byte, seq uint32, out []PacketSocket) (_ []PacketSocket, done bool, err error) {
	for len(r) >= unix.NLMSG_HDRLEN {
		typ, mseq, data, rest, err := nextMessage(r)
		if err != nil {
			return out, true, err
		}
		r = rest
		if mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE:
			return out, true, nil
		case unix.NLMSG_ERROR:
			errno, err := errnoOf(data)
			if err != nil {
				return out, true, err
			}
			return out, true, fmt.Errorf("packet_diag dump: %w", errno)
		case sockDiagByFamily:
			s, err := parsePacketMsg(data)
			if err != nil {
				return out, true, err
			}
			out = append(out, s)
		}
	}
	return out, false, nil
}

// parsePacketMsg decodes a struct packet_diag_msg and its attributes.
func parsePacketMsg(b []byte) (PacketSocket, error) {
	var s PacketSocket
	if len(b) < packetMsgLen || b[0] != unix.AF_PACKET {
		return s, fmt.Errorf("packet_diag: bad reply (%d bytes)", len(b))
	}
	s.Type = b[1]
	s.Protocol = binary.NativeEndian.Uint16(b[2:])
	s.Inode = uint64(binary.NativeEndian.Uint32(b[4:]))
	for a := b[packetMsgLen:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		if l < 4 || l > len(a) {
			return s, fmt.Errorf("packet_diag: bad attribute length %d", l)
		}
		v := a[4:l]
		switch binary.NativeEndian.Uint16(a[2:]) {
		case packetDiagInfo:
			if len(v) >= 4 {
				s.IfIndex = int(int32(binary.NativeEndian.Uint32(v)))
			}
		case packetDiagUID:
			if len(v) >= 4 {
				s.UID = binary.NativeEndian.Uint32(v)
			}
		case packetDiagRxRing:
			s.RxRing = true
		case packetDiagTxRing:
			s.TxRing = true
		}
		a = a[min((l+3)&^3, len(a)):]
	}
	return s, nil
}
