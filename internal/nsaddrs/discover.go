package nsaddrs

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
)

// rescan looks for namespaces: those the processes live in and those named
// in NetNSDir. Of those, the ones an own link leads to (a veth whose peer
// is there, by its nsid in the own namespace) are watched; the others are
// only opened to ask for their nsid, and closed at once, so that nothing
// here keeps them alive. Watched namespaces found no more, led to no more,
// or whose subscription ended are dropped, and the result is published.
func (x *Index) rescan() {
	x.scanMu.Lock()
	defer x.scanMu.Unlock()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	x.last = time.Now()
	x.stats.Rescans++
	x.mu.Unlock()

	found := x.find()
	// The links' dump gives each peer namespace an nsid here, if it has
	// none yet: ask for the namespaces' ids after it.
	links, err := x.ownLinks()
	if err != nil {
		x.fail(err)
		return // the watched namespaces stay; the next rescan retries
	}
	ledTo := make(map[int]bool)
	for _, l := range links {
		if id := l.Attrs().NetNsID; id >= 0 {
			ledTo[id] = true
		}
	}

	var gone []*watched
	x.mu.Lock()
	for ino, w := range x.ns {
		if _, ok := found[ino]; ok && ledTo[w.nsid] && !w.hasEnded() {
			delete(found, ino)
			continue
		}
		delete(x.ns, ino)
		gone = append(gone, w)
	}
	x.mu.Unlock()
	for _, w := range gone {
		_ = w.stop()
	}
	for _, loc := range found {
		w, err := x.open(loc, ledTo)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				x.fail(err)
			}
			continue
		}
		if w == nil {
			continue // no own link leads there
		}
		x.mu.Lock()
		x.ns[w.ino] = w
		x.mu.Unlock()
	}
	x.publishLocked(links)
}

// find lists the namespaces of the processes and of NetNSDir, but the own.
func (x *Index) find() map[uint64]Location {
	found := make(map[uint64]Location)
	// Named namespaces first: a file names a namespace for as long as it
	// stays, a process only while it lives.
	if ents, err := os.ReadDir(x.opts.NetNSDir); err == nil {
		for _, de := range ents {
			p := filepath.Join(x.opts.NetNSDir, de.Name())
			var st unix.Stat_t
			if unix.Stat(p, &st) != nil || st.Ino == x.self {
				continue
			}
			if _, ok := found[st.Ino]; !ok {
				found[st.Ino] = Location{NetNS: st.Ino, Path: p}
			}
		}
	}
	x.pids, _ = x.proc.PIDs(x.dent, x.pids[:0])
	for _, pid := range x.pids {
		n, err := unix.Readlink(x.proc.PIDPath(pid, "ns/net"), x.link)
		if err != nil {
			continue
		}
		ino, ok := procfs.NSInode(x.link[:n], "net")
		if !ok || ino == x.self {
			continue
		}
		if _, ok := found[ino]; !ok {
			found[ino] = Location{NetNS: ino, PID: pid}
		}
	}
	return found
}

// fail counts a failure and keeps it for Stats.
func (x *Index) fail(err error) {
	x.mu.Lock()
	x.stats.Errors++
	x.stats.Err = err
	x.mu.Unlock()
}

// open opens the namespace at loc and, if an own link leads there (its
// nsid is in ledTo), watches it; else it closes it again and returns nil.
func (x *Index) open(loc Location, ledTo map[int]bool) (*watched, error) {
	p := loc.Path
	if p == "" {
		p = x.proc.PIDPath(loc.PID, "ns/net")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	ino, err := fileIno(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if ino != loc.NetNS {
		// The process left it (or its pid was reused) meanwhile.
		f.Close()
		return nil, nil
	}
	id, err := x.own.GetNetNsIdByFd(int(f.Fd()))
	if err != nil || id < 0 || !ledTo[id] {
		f.Close()
		return nil, err
	}
	return x.watch(f, ino, id, loc)
}

// ownLinks dumps the own namespace's links, retrying a dump that a
// concurrent change interrupted.
func (x *Index) ownLinks() ([]netlink.Link, error) {
	var links []netlink.Link
	var err error
	for range 5 {
		links, err = x.own.LinkList()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return links, err
}

// publish rebuilds the snapshot after a change.
func (x *Index) publish() {
	x.scanMu.Lock()
	defer x.scanMu.Unlock()
	links, err := x.ownLinks()
	if err != nil {
		x.fail(err)
		return
	}
	x.publishLocked(links)
}

// publishLocked builds a new snapshot from the own links and every watched
// namespace's addresses and publishes it. x.scanMu is held.
func (x *Index) publishLocked(links []netlink.Link) {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	ws := make([]*watched, 0, len(x.ns))
	for _, w := range x.ns {
		ws = append(ws, w)
	}
	x.mu.Unlock()

	s := &snapshot{
		hosted: make(map[[16]byte]struct{}),
		byAddr: make(map[[16]byte][]uint64),
		behind: make(map[int][]uint64),
		names:  make(map[string]int, len(links)),
		where:  make(map[uint64]Location, len(ws)),
	}
	byID := make(map[int]uint64, len(ws))
	var addrs [][16]byte
	perNS := make(map[uint64][][16]byte, len(ws))
	for _, w := range ws {
		byID[w.nsid] = w.ino
		s.where[w.ino] = w.loc
		addrs = w.addresses(addrs[:0])
		perNS[w.ino] = append([][16]byte(nil), addrs...)
		for _, a := range addrs {
			s.byAddr[a] = append(s.byAddr[a], w.ino)
		}
	}
	for _, l := range links {
		a := l.Attrs()
		s.names[a.Name] = a.Index
		if a.NetNsID < 0 {
			continue
		}
		peer, ok := byID[a.NetNsID]
		if !ok {
			continue
		}
		s.behind[a.Index] = appendOnce(s.behind[a.Index], peer)
		if a.MasterIndex != 0 {
			s.behind[a.MasterIndex] = appendOnce(s.behind[a.MasterIndex], peer)
		}
	}
	for _, nss := range s.behind {
		for _, ino := range nss {
			for _, a := range perNS[ino] {
				s.hosted[a] = struct{}{}
			}
		}
	}
	x.cur.Store(s)
	x.gen.Add(1)
}

func appendOnce(s []uint64, v uint64) []uint64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
