package procmap

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/sockdiag"
)

// nsIdle is how long a namespace unused is remembered, with its sock_diag
// socket (which keeps the namespace alive).
const nsIdle = 30 * time.Second

// nsInfo locates a network namespace other than the resolver's own.
type nsInfo struct {
	pid      int    // a process living in it, 0 if none is known
	path     string // an nsfs file naming it (/run/netns/NAME), when pid is 0
	diag     *sockdiag.Conn
	lastUsed time.Time
}

// nsFor returns the namespace of inode, nil for the resolver's own.
func (r *Resolver) nsFor(inode uint64, now time.Time) (*nsInfo, error) {
	if inode == r.selfNS {
		return nil, nil
	}
	r.expireNS(now)
	if n, ok := r.ns[inode]; ok {
		// The representative process may be gone, its pid reused.
		if n.pid > 0 && r.netnsOf(n.pid) != inode {
			n.pid = 0
		}
		if n.pid > 0 || n.path != "" {
			n.lastUsed = now
			return n, nil
		}
		if n.diag != nil {
			n.diag.Close()
		}
		delete(r.ns, inode)
	}
	if r.fullEvery < 0 || now.Sub(r.lastNS) >= r.fullEvery {
		r.lastNS = now
		r.discoverNS()
		if n, ok := r.ns[inode]; ok {
			n.lastUsed = now
			return n, nil
		}
	}
	return nil, fmt.Errorf("procmap: network namespace %d not found: %w", inode, ErrNotFound)
}

// netnsOf reads the network namespace inode of pid (0 if unknown).
func (r *Resolver) netnsOf(pid int) uint64 {
	n, err := unix.Readlink(r.proc.PIDPath(pid, "ns/net"), r.scan.link)
	if err != nil {
		return 0
	}
	v, _ := procfs.NSInode(r.scan.link[:n], "net")
	return v
}

// discoverNS learns the namespaces of the processes (new ones first scanned)
// and the named namespaces in NetNSDir.
func (r *Resolver) discoverNS() {
	r.scanNew(0)
	now := time.Now()
	for pid, e := range r.procs {
		if e.netns == 0 || e.netns == r.selfNS || r.netnsOf(pid) != e.netns {
			continue // ours, or the process moved or its pid was reused
		}
		if n, ok := r.ns[e.netns]; ok {
			if n.pid == 0 {
				n.pid = pid
			}
			continue
		}
		r.ns[e.netns] = &nsInfo{pid: pid, lastUsed: now}
	}
	ents, err := os.ReadDir(r.nsDir)
	if err != nil {
		return
	}
	for _, de := range ents {
		p := filepath.Join(r.nsDir, de.Name())
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil || st.Ino == r.selfNS {
			continue
		}
		if n, ok := r.ns[st.Ino]; ok {
			n.path = p
			continue
		}
		r.ns[st.Ino] = &nsInfo{path: p, lastUsed: now}
	}
}

// expireNS forgets namespaces unused for a while, closing their netlink
// sockets (which would otherwise keep the namespaces alive).
func (r *Resolver) expireNS(now time.Time) {
	for ino, n := range r.ns {
		if now.Sub(n.lastUsed) > nsIdle {
			if n.diag != nil {
				n.diag.Close()
			}
			delete(r.ns, ino)
		}
	}
}

// diagFor returns the sock_diag socket for ns, opening it inside the
// namespace if needed; nil when netlink is off or fails.
func (r *Resolver) diagFor(ns *nsInfo) *sockdiag.Conn {
	if r.noNetlink {
		return nil
	}
	if ns == nil {
		return r.diag
	}
	if ns.diag != nil {
		return ns.diag
	}
	p := ns.path
	if ns.pid > 0 {
		p = r.proc.PIDPath(ns.pid, "ns/net")
	}
	d, err := sockdiag.Dial(p)
	if err != nil {
		r.stats.NetlinkErrors++
		return nil
	}
	ns.diag = d
	return d
}
