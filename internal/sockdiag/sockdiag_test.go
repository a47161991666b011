package sockdiag

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netnstest"
)

// fakeKernel is the other end of a socket pair that a Conn talks to: it
// reads one request and answers with the datagrams reply makes of it.
func fakeKernel(t *testing.T, reply func(req []byte) [][]byte) (*Conn, <-chan []byte) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(fds[0])
	t.Cleanup(func() { c.Close() })
	reqs := make(chan []byte, 1)
	go func() {
		defer unix.Close(fds[1])
		buf := make([]byte, 4096)
		n, err := unix.Read(fds[1], buf)
		if err != nil {
			return
		}
		reqs <- buf[:n]
		for _, d := range reply(buf[:n]) {
			unix.Write(fds[1], d)
		}
	}()
	return c, reqs
}

// message is one netlink message of type typ answering request seq.
func message(typ uint16, seq uint32, data []byte) []byte {
	m := make([]byte, unix.NLMSG_HDRLEN+len(data))
	binary.NativeEndian.PutUint32(m[0:], uint32(len(m)))
	binary.NativeEndian.PutUint16(m[4:], typ)
	binary.NativeEndian.PutUint32(m[8:], seq)
	copy(m[unix.NLMSG_HDRLEN:], data)
	for len(m)%4 != 0 {
		m = append(m, 0)
	}
	return m
}

// diagMsg is a struct inet_diag_msg.
func diagMsg(family, state uint8, local, remote netip.AddrPort, uid, inode uint32) []byte {
	b := make([]byte, msgLen)
	b[0], b[1] = family, state
	binary.BigEndian.PutUint16(b[4:], local.Port())
	binary.BigEndian.PutUint16(b[6:], remote.Port())
	putAddr(b[8:24], local.Addr())
	putAddr(b[24:40], remote.Addr())
	binary.NativeEndian.PutUint32(b[64:], uid)
	binary.NativeEndian.PutUint32(b[68:], inode)
	return b
}

func errMsg(seq uint32, errno unix.Errno) []byte {
	var d [20]byte
	binary.NativeEndian.PutUint32(d[:], uint32(-int32(errno)))
	return message(unix.NLMSG_ERROR, seq, d[:])
}

func seqOf(req []byte) uint32 { return binary.NativeEndian.Uint32(req[8:]) }

var (
	cli = netip.MustParseAddrPort("10.0.0.1:40000")
	srv = netip.MustParseAddrPort("10.0.0.2:80")
)

// TestExactRequest: the request is an exact lookup (no NLM_F_DUMP) of the
// tuple, UDP's ends swapped as udp_dump_one expects; the reply is decoded,
// replies to earlier requests skipped.
func TestExactRequest(t *testing.T) {
	for _, tc := range []struct {
		proto    uint8
		src, dst netip.AddrPort
	}{{unix.IPPROTO_TCP, cli, srv}, {unix.IPPROTO_UDP, srv, cli}} {
		c, reqs := fakeKernel(t, func(req []byte) [][]byte {
			seq := seqOf(req)
			stale := message(sockDiagByFamily, seq-1, diagMsg(unix.AF_INET, 1, cli, srv, 0, 1))
			return [][]byte{
				stale,
				append(stale, message(sockDiagByFamily, seq, diagMsg(unix.AF_INET, 1, cli, srv, 1000, 4242))...),
			}
		})
		c.seq = 41
		s, err := c.Exact(tc.proto, cli, srv)
		if err != nil || s.Inode != 4242 || s.UID != 1000 || s.State != 1 || s.Local != cli || s.Remote != srv {
			t.Fatalf("proto %d: %+v %v", tc.proto, s, err)
		}
		req := <-reqs
		b := req[unix.NLMSG_HDRLEN:]
		if len(req) != unix.NLMSG_HDRLEN+reqLen || seqOf(req) != 42 ||
			binary.NativeEndian.Uint16(req[4:]) != sockDiagByFamily || binary.NativeEndian.Uint16(req[6:]) != unix.NLM_F_REQUEST ||
			b[0] != unix.AF_INET || b[1] != tc.proto ||
			binary.BigEndian.Uint16(b[8:]) != tc.src.Port() || binary.BigEndian.Uint16(b[10:]) != tc.dst.Port() ||
			netip.AddrFrom4([4]byte(b[12:16])) != tc.src.Addr() || netip.AddrFrom4([4]byte(b[28:32])) != tc.dst.Addr() {
			t.Fatalf("proto %d: request % x", tc.proto, req)
		}
	}
}

func TestExactErrors(t *testing.T) {
	v6 := netip.MustParseAddrPort("[fd00::1]:443")
	for _, tc := range []struct {
		name  string
		reply func(seq uint32) [][]byte
		check func(Socket, error) bool
	}{
		{"enoent", func(seq uint32) [][]byte { return [][]byte{errMsg(seq, unix.ENOENT)} },
			func(_ Socket, err error) bool { return errors.Is(err, ErrNoSocket) }},
		{"done", func(seq uint32) [][]byte { return [][]byte{message(unix.NLMSG_DONE, seq, nil)} },
			func(_ Socket, err error) bool { return errors.Is(err, ErrNoSocket) }},
		{"eperm", func(seq uint32) [][]byte { return [][]byte{errMsg(seq, unix.EPERM)} },
			func(_ Socket, err error) bool { return errors.Is(err, unix.EPERM) }},
		{"short error", func(seq uint32) [][]byte { return [][]byte{message(unix.NLMSG_ERROR, seq, []byte{1})} },
			func(_ Socket, err error) bool { return err != nil && !errors.Is(err, ErrNoSocket) }},
		{"bad length", func(seq uint32) [][]byte {
			m := message(sockDiagByFamily, seq, diagMsg(unix.AF_INET, 1, cli, srv, 0, 1))
			binary.NativeEndian.PutUint32(m, 9999)
			return [][]byte{m}
		}, func(_ Socket, err error) bool { return err != nil && !errors.Is(err, ErrNoSocket) }},
		{"short reply", func(seq uint32) [][]byte { return [][]byte{message(sockDiagByFamily, seq, make([]byte, 10))} },
			func(_ Socket, err error) bool { return err != nil && !errors.Is(err, ErrNoSocket) }},
		{"family", func(seq uint32) [][]byte {
			return [][]byte{message(sockDiagByFamily, seq, diagMsg(unix.AF_UNIX, 1, cli, srv, 0, 1))}
		}, func(_ Socket, err error) bool { return err != nil && !errors.Is(err, ErrNoSocket) }},
		{"no answer", func(seq uint32) [][]byte {
			var ds [][]byte
			for range 16 {
				ds = append(ds, message(sockDiagByFamily, seq+1, diagMsg(unix.AF_INET, 1, cli, srv, 0, 1)))
			}
			return ds
		}, func(_ Socket, err error) bool { return err != nil && !errors.Is(err, ErrNoSocket) }},
		{"ipv6 mapped", func(seq uint32) [][]byte {
			mapped := netip.AddrPortFrom(netip.AddrFrom16(cli.Addr().As16()), cli.Port())
			return [][]byte{message(sockDiagByFamily, seq, diagMsg(unix.AF_INET6, 10, mapped, v6, 0, 7))}
		}, func(s Socket, err error) bool {
			return err == nil && s.Local == cli && s.Remote == v6 && s.State == 10 && s.Inode == 7
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fakeKernel(t, func(req []byte) [][]byte { return tc.reply(seqOf(req)) })
			if s, err := c.Exact(unix.IPPROTO_TCP, cli, srv); !tc.check(s, err) {
				t.Fatalf("%+v %v", s, err)
			}
		})
	}
}

func inodeOf(t *testing.T, c syscall.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	rc.Control(func(fd uintptr) { err = syscall.Fstat(int(fd), &st) })
	if err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestLiveExact asks the kernel about loopback sockets of this process, and
// about one in a network namespace of the test's own.
func TestLiveExact(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (sock_diag of every socket)")
	}
	c, err := Dial("")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.TCPAddr).AddrPort()
	remote := conn.RemoteAddr().(*net.TCPAddr).AddrPort()
	s, err := c.Exact(unix.IPPROTO_TCP, local, remote)
	if err != nil || s.Inode != inodeOf(t, conn.(*net.TCPConn)) || s.State != 1 || s.UID != uint32(os.Getuid()) {
		t.Fatalf("client end: %+v %v", s, err)
	}
	// Not yet accepted, its peer end has no file; an unknown peer finds
	// the listener.
	if s, err := c.Exact(unix.IPPROTO_TCP, netip.MustParseAddrPort(ln.Addr().String()), netip.MustParseAddrPort("127.0.0.1:1")); err != nil || s.State != 10 || s.Inode != inodeOf(t, ln.(*net.TCPListener)) {
		t.Fatalf("listener: %+v %v", s, err)
	}
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if s, err := c.Exact(unix.IPPROTO_UDP, u.LocalAddr().(*net.UDPAddr).AddrPort(), netip.MustParseAddrPort("127.0.0.1:9")); err != nil || s.Inode != inodeOf(t, u.(*net.UDPConn)) {
		t.Fatalf("udp: %+v %v", s, err)
	}
	if s, err := c.Exact(unix.IPPROTO_UDP, netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, ErrNoSocket) {
		t.Fatalf("no socket: %+v %v", s, err)
	}

	netnstest.Skip(t)
	p := netnstest.NewPair(t)
	var inner net.Listener
	if err := netnstest.Do(p.NSA, func() error {
		var err error
		inner, err = net.Listen("tcp4", netip.AddrPortFrom(p.AddrA4, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	in := netip.MustParseAddrPort(inner.Addr().String())
	ci, err := Dial("/run/netns/" + p.NSA)
	if err != nil {
		t.Fatal(err)
	}
	defer ci.Close()
	if s, err := ci.Exact(unix.IPPROTO_TCP, in, netip.AddrPortFrom(p.AddrB4, 1)); err != nil || s.Inode != inodeOf(t, inner.(*net.TCPListener)) {
		t.Fatalf("in the namespace: %+v %v", s, err)
	}
	if s, err := c.Exact(unix.IPPROTO_TCP, in, netip.AddrPortFrom(p.AddrB4, 1)); !errors.Is(err, ErrNoSocket) {
		t.Fatalf("the namespace's socket seen from outside: %+v %v", s, err)
	}
}
