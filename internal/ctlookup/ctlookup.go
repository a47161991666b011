// Package ctlookup asks the kernel's connection tracking table (ctnetlink)
// for the entry of one connection, by one of its tuples: what a NAT
// (masquerade, SNAT, DNAT) made of it.
//
// One exact IPCTNL_MSG_CT_GET request per lookup, never a dump: the kernel
// finds the entry from either of its tuples (both are in its hash), so a
// tuple seen on the wire before or after the translation, in either
// direction, finds it, and the answer carries both.
//
// The request and the answer are laid out and read here, with buffers
// kept by the Conn, as internal/sockdiag does for sock_diag: a lookup is
// one write and one read and allocates nothing. This is hand-written for
// speed: github.com/ti-mo/conntrack (maintained, with an exact Get) sends
// the same request, but allocates its buffers, messages and attributes on
// every lookup and costs several times as much (BenchmarkLookup), and a
// resolver asks once per new flow: a host NATing thousands of connections
// a second would spend a large part of gohogs's time there. That library
// checks this one in the tests. vishvananda/netlink's conntrack calls
// (already a dependency) can only dump the whole table.
//
// The table is the one of the network namespace that Dial runs in: the
// namespace doing the NAT.
package ctlookup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Tuple is one direction of a tracked connection: the source and the
// destination of its packets.
type Tuple struct {
	Src, Dst netip.AddrPort
}

// Reverse is the tuple of the packets going the other way.
func (t Tuple) Reverse() Tuple { return Tuple{Src: t.Dst, Dst: t.Src} }

// Entry is a tracked connection: Orig is the tuple of the packets of its
// initiator as they arrived (before any translation), Reply the tuple the
// answers are expected with (after it). Without NAT, Reply is
// Orig.Reverse().
type Entry struct {
	Orig, Reply Tuple
}

// SNAT says that the initiator's source was translated (masquerade, SNAT):
// the responder sees another address or port than the initiator's own.
func (e Entry) SNAT() bool { return e.Reply.Dst != e.Orig.Src }

// DNAT says that the destination was translated (DNAT, a published port,
// REDIRECT): the responder is not where the initiator sent to.
func (e Entry) DNAT() bool { return e.Reply.Src != e.Orig.Dst }

// NAT says that either end was translated.
func (e Entry) NAT() bool { return e.SNAT() || e.DNAT() }

// ErrUnavailable wraps the reason why the table cannot be asked.
var ErrUnavailable = errors.New("ctlookup: connection tracking unavailable")

// Timeout bounds a lookup's send and receive.
const Timeout = time.Second

// Conn is a ctnetlink socket. Its methods are not safe for concurrent use.
type Conn struct {
	fd  int
	seq uint32
	req []byte
	buf []byte
}

// Dial opens a ctnetlink socket in the calling thread's network namespace.
// procRoot is the proc file system ("" for /proc), read to check that
// connection tracking runs there and that asking will not make the kernel
// load a module: when nf_conntrack_netlink is a module that is not loaded
// (a request would load it), Dial fails with ErrUnavailable and says so;
// nothing translates without nf_conntrack anyway.
func Dial(procRoot string) (*Conn, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	if err := available(procRoot); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("ctlookup: netfilter socket: %w", err)
	}
	tv := unix.NsecToTimeval(Timeout.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("ctlookup: socket timeout: %w", err)
		}
	}
	if err := unix.Connect(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ctlookup: connect: %w", err)
	}
	return &Conn{fd: fd, req: make([]byte, 0, maxRequest), buf: make([]byte, 8192)}, nil
}

// available says why asking the table is not possible, or nil.
func available(procRoot string) error {
	// The sysctl is registered in every namespace once nf_conntrack runs.
	if _, err := os.Stat(filepath.Join(procRoot, "sys/net/netfilter/nf_conntrack_max")); err != nil {
		return fmt.Errorf("%w: nf_conntrack is not loaded (no NAT to follow)", ErrUnavailable)
	}
	mods, err := os.ReadFile(filepath.Join(procRoot, "modules"))
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel without modules: ctnetlink is built in or absent, never loaded on demand
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if hasModule(mods, "nf_conntrack_netlink") || builtin("nf_conntrack_netlink") {
		return nil
	}
	return fmt.Errorf("%w: module nf_conntrack_netlink is not loaded (modprobe nf_conntrack_netlink to follow NAT)", ErrUnavailable)
}

// hasModule says whether /proc/modules text lists module name.
func hasModule(mods []byte, name string) bool {
	sc := bufio.NewScanner(bytes.NewReader(mods))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) > 0 && string(f[0]) == name {
			return true
		}
	}
	return false
}

// builtin says whether the running kernel lists module name as built in.
func builtin(name string) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	b, err := os.ReadFile(filepath.Join("/lib/modules", rel, "modules.builtin"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if filepath.Base(sc.Text()) == name+".ko" {
			return true
		}
	}
	return false
}

// Lookup returns the entry that has t as one of its tuples (either
// direction), for protocol proto: TCP, UDP, or any protocol with ports;
// or an ICMP or ICMPv6 echo, whose identifier is given as the port of the
// side that sends the request (t.Src's for the request's direction,
// t.Dst's for the reply's, the other port 0), as the entry's tuples are
// returned.
// found is false, with no error, when the table has no such connection.
func (c *Conn) Lookup(proto uint8, t Tuple) (e Entry, found bool, err error) {
	if !t.Src.IsValid() || !t.Dst.IsValid() || t.Src.Addr().Is4() != t.Dst.Addr().Is4() {
		return Entry{}, false, fmt.Errorf("ctlookup: invalid tuple %v -> %v", t.Src, t.Dst)
	}
	t = Tuple{Src: netip.AddrPortFrom(t.Src.Addr().Unmap(), t.Src.Port()), Dst: netip.AddrPortFrom(t.Dst.Addr().Unmap(), t.Dst.Port())}
	c.seq++
	c.req = appendRequest(c.req[:0], c.seq, proto, t)
	if _, err := unix.Write(c.fd, c.req); err != nil {
		return Entry{}, false, fmt.Errorf("ctlookup: send: %w", err)
	}
	// Answers to earlier requests that timed out are skipped by sequence.
	for range 16 {
		n, err := unix.Read(c.fd, c.buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return Entry{}, false, fmt.Errorf("ctlookup: receive: %w", err)
		}
		if e, done, err := parseReply(c.buf[:n], c.seq); done {
			if err == errNoEntry {
				return Entry{}, false, nil
			}
			return e, err == nil, err
		}
	}
	return Entry{}, false, fmt.Errorf("ctlookup: no answer to request %d", c.seq)
}

// Close closes the socket.
func (c *Conn) Close() error {
	if err := unix.Close(c.fd); err != nil {
		return fmt.Errorf("ctlookup: close: %w", err)
	}
	return nil
}
