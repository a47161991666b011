package procmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// sock_diag (NETLINK_SOCK_DIAG) wire formats, from linux/inet_diag.h.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	diagReqLen       = 56 // struct inet_diag_req_v2
	diagMsgLen       = 72 // struct inet_diag_msg
)

// diagConn is a sock_diag netlink socket in one network namespace.
//
// github.com/mdlayher/netlink is used rather than vishvananda/netlink:
// vishvananda's SocketGet sends NLM_F_DUMP (a port-filtered dump of every
// socket, not the kernel's exact lookup), opens a new netlink socket per call
// and knows no way to run in another namespace without the caller's setns;
// mdlayher/netlink gives a long-lived Conn with sequence and multipart
// handling, errno errors, and Config.NetNS to open the socket inside another
// namespace on a locked thread. The 56-byte request and 72-byte reply are
// encoded here.
type diagConn struct {
	c   *netlink.Conn
	req [diagReqLen]byte
}

// dialDiag opens a sock_diag socket; nsfd > 0 opens it in that namespace.
func dialDiag(nsfd int) (*diagConn, error) {
	cfg := &netlink.Config{}
	if nsfd > 0 {
		cfg.NetNS = nsfd
	}
	c, err := netlink.Dial(unix.NETLINK_SOCK_DIAG, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial sock_diag: %w", err)
	}
	return &diagConn{c: c}, nil
}

func (d *diagConn) Close() error { return d.c.Close() }

// errNoSocket is returned by exact when the kernel has no such socket.
var errNoSocket = errors.New("sock_diag: no such socket")

// exact asks the kernel for the one socket that the kernel's own lookup
// finds for the tuple (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP). For TCP this
// is __inet_lookup: an established (or TIME_WAIT, or not yet accepted)
// socket, else the listener on local (specific address before wildcard). For
// UDP it is the socket a datagram from remote to local would be delivered
// to: connected first, then bound, then wildcard. IPv4 flows find dual-stack
// IPv6 sockets. The tuple must be unmapped (both IPv4 or both IPv6).
func (d *diagConn) exact(proto uint8, local, remote netip.AddrPort) (sockEntry, error) {
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
	b := d.req[:]
	clear(b)
	b[0] = family
	b[1] = proto
	binary.NativeEndian.PutUint32(b[4:], 0xffffffff) // all states
	binary.BigEndian.PutUint16(b[8:], src.Port())
	binary.BigEndian.PutUint16(b[10:], dst.Port())
	putAddr(b[12:28], src.Addr())
	putAddr(b[28:44], dst.Addr())
	binary.NativeEndian.PutUint32(b[48:], 0xffffffff) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(b[52:], 0xffffffff)
	msgs, err := d.c.Execute(netlink.Message{
		Header: netlink.Header{Type: sockDiagByFamily, Flags: netlink.Request},
		Data:   b,
	})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return sockEntry{}, errNoSocket
		}
		return sockEntry{}, fmt.Errorf("sock_diag exact lookup: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != sockDiagByFamily {
			continue
		}
		e, err := parseDiagMsg(m.Data)
		if err != nil {
			return sockEntry{}, err
		}
		return e, nil
	}
	return sockEntry{}, errNoSocket
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
func parseDiagMsg(b []byte) (sockEntry, error) {
	var e sockEntry
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
