package procmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/proctable"
)

// sock_diag (NETLINK_SOCK_DIAG) wire formats, from linux/inet_diag.h.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
)

// diagConn is a sock_diag netlink socket in one network namespace.
//
// It is a plain blocking netlink socket driven with read/write from
// golang.org/x/sys/unix. Both netlink libraries were tried or read:
// vishvananda/netlink's SocketGet sends NLM_F_DUMP (a port-filtered dump of
// every socket, not the kernel's exact lookup) on a new socket per call;
// mdlayher/netlink (used in a first version) is correct but goes through
// the runtime poller, and one exact lookup cost 25 µs there, most of it
// goroutine parking, against a few µs with a blocking read. The exchange is
// one 72-byte request and one reply; SO_RCVTIMEO bounds every wait.
type diagConn struct {
	fd  int
	seq uint32
	req [unix.NLMSG_HDRLEN + diagReqLen]byte
	buf []byte
}

// diagTimeout bounds one sock_diag exchange.
const diagTimeout = 2 * time.Second

// dialDiag opens a sock_diag socket in the calling thread's namespace, or
// with nsPath in the namespace named by that nsfs file.
func dialDiag(nsPath string) (*diagConn, error) {
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
	tv := unix.NsecToTimeval(diagTimeout.Nanoseconds())
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
	return &diagConn{fd: fd, buf: make([]byte, 16*1024)}, nil
}

func (d *diagConn) Close() error { return unix.Close(d.fd) }

// errNoSocket is returned by exact when the kernel has no such socket.
var errNoSocket = errors.New("sock_diag: no such socket")

// exact asks the kernel for the one socket that the kernel's own lookup
// finds for the tuple (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP). For TCP this
// is __inet_lookup: an established (or TIME_WAIT, or not yet accepted)
// socket, else the listener on local (specific address before wildcard). For
// UDP it is the socket a datagram from remote to local would be delivered
// to: connected first, then bound, then wildcard. IPv4 flows find dual-stack
// IPv6 sockets. The tuple must be unmapped (both IPv4 or both IPv6).
func (d *diagConn) exact(proto uint8, local, remote netip.AddrPort) (proctable.Socket, error) {
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
	d.seq++
	m := d.req[:]
	clear(m)
	binary.NativeEndian.PutUint32(m[0:], uint32(len(m)))
	binary.NativeEndian.PutUint16(m[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(m[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(m[8:], d.seq)
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
	if _, err := unix.Write(d.fd, m); err != nil {
		return proctable.Socket{}, fmt.Errorf("sock_diag send: %w", err)
	}
	// Replies to earlier requests that timed out are skipped by sequence.
	for range 16 {
		n, err := unix.Read(d.fd, d.buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return proctable.Socket{}, fmt.Errorf("sock_diag receive: %w", err)
		}
		for r := d.buf[:n]; len(r) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(r[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(r) {
				return proctable.Socket{}, fmt.Errorf("sock_diag: bad message length %d", l)
			}
			typ := binary.NativeEndian.Uint16(r[4:])
			seq := binary.NativeEndian.Uint32(r[8:])
			data := r[unix.NLMSG_HDRLEN:l]
			r = r[min((l+3)&^3, len(r)):]
			if seq != d.seq {
				continue
			}
			switch typ {
			case unix.NLMSG_ERROR:
				if len(data) < 4 {
					return proctable.Socket{}, fmt.Errorf("sock_diag: short error message")
				}
				errno := -int32(binary.NativeEndian.Uint32(data))
				if errno == int32(unix.ENOENT) {
					return proctable.Socket{}, errNoSocket
				}
				return proctable.Socket{}, fmt.Errorf("sock_diag exact lookup: %w", unix.Errno(errno))
			case sockDiagByFamily:
				return parseDiagMsg(data)
			case unix.NLMSG_DONE:
				return proctable.Socket{}, errNoSocket
			}
		}
	}
	return proctable.Socket{}, fmt.Errorf("sock_diag: no reply to request %d", d.seq)
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

// parseDiagMsg decodes a struct inet_diag_msg.
func parseDiagMsg(b []byte) (proctable.Socket, error) {
	var e proctable.Socket
	if len(b) < diagMsgLen {
		return e, fmt.Errorf("sock_diag: short reply (%d bytes)", len(b))
	}
	family := b[0]
	e.State = b[1]
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
		return e, fmt.Errorf("sock_diag: unknown family %d", family)
	}
	e.Local = netip.AddrPortFrom(src, sport)
	e.Remote = netip.AddrPortFrom(dst, dport)
	e.UID = binary.NativeEndian.Uint32(b[64:])
	e.Inode = uint64(binary.NativeEndian.Uint32(b[68:]))
	return e, nil
}
