// Package sockdiag asks the kernel which TCP or UDP socket it would deliver
// a given tuple to: one exact SOCK_DIAG_BY_FAMILY request (without
// NLM_F_DUMP) on a NETLINK_SOCK_DIAG socket, so the answer is the kernel's
// own lookup, made without reading any table. It also lists the packet
// sockets of a namespace (packet_diag, which only dumps), with what
// /proc/net/packet does not say: their rings.
//
// It is a plain blocking netlink socket driven with read and write from
// golang.org/x/sys/unix, not a netlink library: vishvananda/netlink's
// SocketGet sends NLM_F_DUMP (a port-filtered dump of every socket, not the
// kernel's exact lookup) on a new socket per call, and mdlayher/netlink
// goes through the runtime poller, whose goroutine parking costs several
// times the exchange itself. The exchange is one request and one reply;
// SO_RCVTIMEO and SO_SNDTIMEO bound every wait.
package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
)

// sock_diag wire formats, from linux/inet_diag.h.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	reqLen           = 56 // struct inet_diag_req_v2
	msgLen           = 72 // struct inet_diag_msg
)

// Timeout bounds one exchange.
const Timeout = 2 * time.Second

// Socket is the kernel's answer.
type Socket struct {
	// Local and Remote are the socket's ends, IPv4-mapped addresses
	// unmapped.
	Local, Remote netip.AddrPort
	// State is the TCP state as the kernel numbers it
	// (include/net/tcp_states.h; 10 is LISTEN, 6 TIME_WAIT).
	State uint8
	UID   uint32
	// Inode is 0 for a socket without a file: in TIME_WAIT, or not yet
	// accepted.
	Inode uint64
}

// ErrNoSocket is returned by Exact when the kernel has no such socket.
var ErrNoSocket = errors.New("sock_diag: no such socket")

// Conn is a sock_diag socket in one network namespace. It is not safe for
// concurrent use.
type Conn struct {
	fd  int
	seq uint32
	req [unix.NLMSG_HDRLEN + reqLen]byte
	buf []byte
}

// Dial opens a sock_diag socket in the calling thread's network namespace,
// or, with nsPath, in the namespace that nsfs file names (/run/netns/NAME,
// /proc/PID/ns/net); the socket stays in it.
func Dial(nsPath string) (*Conn, error) {
	var fd int
	open := func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		return err
	}
	var err error
	if nsPath == "" {
		err = open()
	} else {
		err = netns.DoPath(nsPath, open)
	}
	if err != nil {
		return nil, fmt.Errorf("sock_diag socket: %w", err)
	}
	tv := unix.NsecToTimeval(Timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock_diag SO_RCVTIMEO: %w", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock_diag SO_SNDTIMEO: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sock_diag connect: %w", err)
	}
	return newConn(fd), nil
}

// newConn wraps an open socket (tests pass one end of a socket pair).
func newConn(fd int) *Conn { return &Conn{fd: fd, buf: make([]byte, 16*1024)} }

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// Exact asks for the one socket that the kernel's own lookup finds for the
// tuple (proto is unix.IPPROTO_TCP or unix.IPPROTO_UDP). For TCP this is
// __inet_lookup: an established (or TIME_WAIT, or not yet accepted) socket,
// else the listener on local (a specific address before the wildcard). For
// UDP it is the socket a datagram from remote to local would be delivered
// to: connected first, then bound, then wildcard. IPv4 tuples find
// dual-stack IPv6 sockets. The tuple must be unmapped (both ends IPv4 or
// both IPv6). It returns ErrNoSocket if there is none.
func (c *Conn) Exact(proto uint8, local, remote netip.AddrPort) (Socket, error) {
	c.seq++
	m := c.req[:]
	putRequest(m, c.seq, proto, local, remote)
	if _, err := unix.Write(c.fd, m); err != nil {
		return Socket{}, fmt.Errorf("sock_diag send: %w", err)
	}
	// Replies to earlier requests that timed out are skipped by sequence.
	for range 16 {
		n, err := unix.Read(c.fd, c.buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return Socket{}, fmt.Errorf("sock_diag receive: %w", err)
		}
		if s, done, err := parseReply(c.buf[:n], c.seq); done {
			return s, err
		}
	}
	return Socket{}, fmt.Errorf("sock_diag: no reply to request %d", c.seq)
}

// putRequest lays out the request for the tuple in m (NLMSG_HDRLEN +
// reqLen bytes).
func putRequest(m []byte, seq uint32, proto uint8, local, remote netip.AddrPort) {
	family := uint8(unix.AF_INET6)
	if local.Addr().Is4() {
		family = unix.AF_INET
	}
	src, dst := local, remote
	if proto == unix.IPPROTO_UDP {
		// udp_dump_one passes idiag_src as the lookup's source (the
		// peer): "src and dst are swapped for historical reasons".
		src, dst = remote, local
	}
	clear(m)
	binary.NativeEndian.PutUint32(m[0:], uint32(len(m)))
	binary.NativeEndian.PutUint16(m[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(m[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(m[8:], seq)
	b := m[unix.NLMSG_HDRLEN:]
	b[0] = family
	b[1] = proto
	binary.NativeEndian.PutUint32(b[4:], 0xffffffff) // all states
	binary.BigEndian.PutUint16(b[8:], src.Port())
	binary.BigEndian.PutUint16(b[10:], dst.Port())
	putAddr(b[12:28], src.Addr())
	putAddr(b[28:44], dst.Addr())
	binary.NativeEndian.PutUint32(b[48:], 0xffffffff) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(b[52:], 0xffffffff)
}

// parseReply reads the netlink messages of one datagram; done is set once
// the answer to request seq is in it.
func parseReply(r []byte, seq uint32) (s Socket, done bool, err error) {
	for len(r) >= unix.NLMSG_HDRLEN {
		typ, mseq, data, rest, err := nextMessage(r)
		if err != nil {
			return Socket{}, true, err
		}
		r = rest
		if mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_ERROR:
			errno, err := errnoOf(data)
			if err != nil {
				return Socket{}, true, err
			}
			if errno == unix.ENOENT {
				return Socket{}, true, ErrNoSocket
			}
			return Socket{}, true, fmt.Errorf("sock_diag exact lookup: %w", errno)
		case sockDiagByFamily:
			s, err := parseMsg(data)
			return s, true, err
		case unix.NLMSG_DONE:
			return Socket{}, true, ErrNoSocket
		}
	}
	return Socket{}, false, nil
}

// nextMessage splits the first netlink message off r (at least a header
// long): its type, sequence number and payload, and what follows it.
func nextMessage(r []byte) (typ uint16, seq uint32, data, rest []byte, err error) {
	l := int(binary.NativeEndian.Uint32(r[0:]))
	if l < unix.NLMSG_HDRLEN || l > len(r) {
		return 0, 0, nil, nil, fmt.Errorf("sock_diag: bad message length %d", l)
	}
	typ = binary.NativeEndian.Uint16(r[4:])
	seq = binary.NativeEndian.Uint32(r[8:])
	return typ, seq, r[unix.NLMSG_HDRLEN:l], r[min((l+3)&^3, len(r)):], nil
}

// errnoOf reads the error of an NLMSG_ERROR message's payload.
func errnoOf(data []byte) (unix.Errno, error) {
	if len(data) < 4 {
		return 0, fmt.Errorf("sock_diag: short error message")
	}
	return unix.Errno(-int32(binary.NativeEndian.Uint32(data))), nil
}

// putAddr writes a in network order into a 16-byte idiag_src/dst field.
func putAddr(dst []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(dst, v[:])
		return
	}
	v := a.As16()
	copy(dst, v[:])
}

// parseMsg decodes a struct inet_diag_msg.
func parseMsg(b []byte) (Socket, error) {
	var s Socket
	if len(b) < msgLen {
		return s, fmt.Errorf("sock_diag: short reply (%d bytes)", len(b))
	}
	family := b[0]
	s.State = b[1]
	sport := binary.BigEndian.Uint16(b[4:])
	dport := binary.BigEndian.Uint16(b[6:])
	var src, dst netip.Addr
	switch family {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(b[8:12]))
		dst = netip.AddrFrom4([4]byte(b[24:28]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		dst = netip.AddrFrom16([16]byte(b[24:40])).Unmap()
	default:
		return s, fmt.Errorf("sock_diag: unknown family %d", family)
	}
	s.Local = netip.AddrPortFrom(src, sport)
	s.Remote = netip.AddrPortFrom(dst, dport)
	s.UID = binary.NativeEndian.Uint32(b[64:])
	s.Inode = uint64(binary.NativeEndian.Uint32(b[68:]))
	return s, nil
}
