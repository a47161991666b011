package procmap

import (
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/proctable"
	"github.com/gohogs/gohogs/internal/sockdiag"
)

// socket is what the Resolver needs of the socket matching a flow, found
// by sock_diag or in a socket table.
type socket struct {
	Inode uint64 // 0: no file (TIME_WAIT, not yet accepted)
	UID   uint32
	State uint8 // TCP state (tcpListen...)
}

// lookupSocket finds the socket matching f in namespace ns (nil: own). With
// listener set, it finds the TCP listener on f's local address and port.
func (r *Resolver) lookupSocket(ns *nsInfo, f Flow, listener bool) (socket, bool, error) {
	if f.Proto == unix.IPPROTO_TCP || f.Proto == unix.IPPROTO_UDP {
		if d := r.diagFor(ns); d != nil {
			remote := f.Remote
			if listener || !remote.Addr().IsValid() {
				remote = netip.AddrPortFrom(unspecified(f.Local.Addr()), 0)
			}
			r.stats.NetlinkQueries++
			e, err := d.Exact(f.Proto, f.Local, remote)
			if err == nil {
				if listener && e.State != tcpListen {
					return socket{}, false, nil
				}
				return socket{Inode: e.Inode, UID: e.UID, State: e.State}, true, nil
			}
			if errors.Is(err, sockdiag.ErrNoSocket) {
				return socket{}, false, nil
			}
			r.stats.NetlinkErrors++
			// Fall through to the tables.
		}
	}
	ents, err := r.readTables(ns, f.Proto)
	if err != nil {
		return socket{}, false, err
	}
	e, ok := matchTable(ents, f, listener)
	return socket{Inode: e.Inode, UID: e.UID, State: e.State}, ok, nil
}

// readTables reads the /proc/net tables of proto for namespace ns.
func (r *Resolver) readTables(ns *nsInfo, proto uint8) ([]proctable.Socket, error) {
	var m int
	ents := r.ents[:0]
	err := r.inNetDir(ns, func(dir string) error {
		var e error
		ents, m, e = proctable.ReadDir(dir, proto, ents)
		return e
	})
	r.ents = ents[:0]
	r.stats.TableReads++
	r.stats.MalformedLines += uint64(m)
	if err != nil {
		return nil, fmt.Errorf("procmap: %w", err)
	}
	return ents, nil
}

// inNetDir calls read with the /proc/.../net directory that shows the
// tables of namespace ns (nil: the resolver's own), from a thread inside
// that namespace where the directory is thread-self's.
func (r *Resolver) inNetDir(ns *nsInfo, read func(dir string) error) error {
	switch {
	case ns == nil && r.selfNSFile != nil && r.mainNS() != r.selfNS:
		return netns.Do(int(r.selfNSFile.Fd()), func() error { return read(r.proc.Path("thread-self/net")) })
	case ns == nil:
		return read(r.proc.Path("net"))
	case ns.pid > 0:
		return read(r.proc.PIDPath(ns.pid, "net"))
	}
	return netns.DoPath(ns.path, func() error { return read(r.proc.Path("thread-self/net")) })
}

func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// mainNS is the network namespace of the main thread, whose tables
// /proc/net shows.
func (r *Resolver) mainNS() uint64 {
	buf := make([]byte, 64)
	n, err := unix.Readlink("/proc/self/ns/net", buf)
	if err != nil {
		return 0
	}
	ns, _ := procfs.NSInode(buf[:n], "net")
	return ns
}
