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
// in NetNSDir. New ones are watched, those found no more (and those whose
// subscription ended) are dropped, and the result is published.
func (x *Index) rescan() {
	x.scanMu.Lock()
	defer x.scanMu.Unlock()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	x.scans++
	scan := x.scans
	x.last = time.Now()
	x.stats.Rescans++
	x.mu.Unlock()

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

	// Drop what is gone, or whose subscription ended (it is watched
	// afresh below).
	var gone []*watched
	x.mu.Lock()
	for ino, w := range x.ns {
		if _, ok := found[ino]; ok && !w.hasEnded() {
			w.seen = scan
			continue
		}
		delete(x.ns, ino)
		gone = append(gone, w)
	}
	var add []Location
	for ino, loc := range found {
		if _, ok := x.ns[ino]; !ok {
			add = append(add, loc)
		}
	}
	x.mu.Unlock()
	for _, w := range gone {
		_ = w.stop()
	}
	for _, loc := range add {
		w, err := x.open(loc)
		x.mu.Lock()
		if err != nil {
			x.stats.Errors++
			x.stats.Err = err
		} else {
			w.seen = scan
			x.ns[w.ino] = w
		}
		x.mu.Unlock()
	}
	x.publishLocked()
}

// open opens and watches the namespace at loc.
func (x *Index) open(loc Location) (*watched, error) {
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
		return nil, errors.New("nsaddrs: " + p + " changed namespace while being opened")
	}
	return x.watch(f, ino, loc)
}

// publish rebuilds the snapshot after a change.
func (x *Index) publish() {
	x.scanMu.Lock()
	defer x.scanMu.Unlock()
	x.publishLocked()
}

// publishLocked builds a new snapshot from the own links and every watched
// namespace's addresses and publishes it. x.scanMu is held.
func (x *Index) publishLocked() {
	var links []netlink.Link
	var err error
	for range 5 {
		links, err = x.own.LinkList()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return
	}
	if err != nil {
		x.stats.Errors++
		x.stats.Err = err
		links = nil
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
		if w.nsid < 0 {
			// Assigned by the kernel when a link of the own namespace
			// first names the namespace (its veth peer): ask again until
			// it is.
			if id, err := x.own.GetNetNsIdByFd(int(w.file.Fd())); err == nil && id >= 0 {
				w.nsid = id
			}
		}
		if w.nsid >= 0 {
			byID[w.nsid] = w.ino
		}
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
