package procmap

import (
	"cmp"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"time"

	"github.com/gohogs/gohogs/internal/procfs"
)

// procEntry is what the index knows of one process.
type procEntry struct {
	proc    *Process // identity, read when the process was first seen
	start   uint64
	netns   uint64
	scanned bool             // all its fds were read at least once
	execd   bool             // an exec was reported since its identity was read
	fds     map[int32]uint64 // fd number → socket inode (0: not a socket)
	churn   []int32          // fd numbers that lately held a new socket, newest first
	dir     procfs.Dir       // open /proc/PID while the process is hot, else NoDir
	gen     uint64           // the miss (Resolver.gen) that last scanned it completely
}

// maxChurn bounds procEntry.churn.
const maxChurn = 8

// unpin closes the entry's /proc/PID directory.
func (e *procEntry) unpin() error {
	err := e.dir.Close()
	e.dir = procfs.NoDir
	return err
}

func (e *procEntry) addChurn(fd int32) {
	if i := slices.Index(e.churn, fd); i >= 0 {
		e.churn = slices.Delete(e.churn, i, i+1)
	}
	if len(e.churn) >= maxChurn {
		e.churn = e.churn[:maxChurn-1]
	}
	e.churn = slices.Insert(e.churn, 0, fd)
}

// scanBufs are buffers reused by every scan (under the Resolver's lock).
type scanBufs struct {
	dent []byte   // getdents
	link []byte   // readlink
	file []byte   // stat, status
	cmd  []byte   // cmdline
	list []int32  // fd numbers of one process
	seen []bool   // per list entry: already read in this scan
	name [24]byte // "fd/N"
}

func newScanBufs() scanBufs {
	return scanBufs{
		dent: make([]byte, 32*1024),
		link: make([]byte, 256),
		file: make([]byte, 4096),
		cmd:  make([]byte, procfs.MaxCmdline),
	}
}

func (r *Resolver) unindex(pid int, ino uint64) {
	if ino != 0 && r.inodes[ino] == pid {
		delete(r.inodes, ino)
	}
}

func (r *Resolver) dropPid(pid int) {
	e := r.procs[pid]
	if e == nil {
		return
	}
	for _, ino := range e.fds {
		r.unindex(pid, ino)
	}
	e.unpin()
	delete(r.procs, pid)
	if i := slices.Index(r.hot, pid); i >= 0 {
		r.hot = slices.Delete(r.hot, i, i+1)
	}
}

// readFD reads fd of the process (dir pins it), updates the index and
// returns the socket inode it holds (0: not a socket, or closed).
func (r *Resolver) readFD(pid int, e *procEntry, dir procfs.Dir, fd int32) uint64 {
	name := strconv.AppendInt(append(r.scan.name[:0], "fd/"...), int64(fd), 10)
	n, err := dir.Readlink(name, r.scan.link)
	old, had := e.fds[fd]
	if err != nil {
		// Closed meanwhile (or the process is gone).
		if had {
			r.unindex(pid, old)
			delete(e.fds, fd)
		}
		return 0
	}
	ino, _ := procfs.SocketInode(r.scan.link[:n])
	if had && old != ino {
		r.unindex(pid, old)
		if ino != 0 {
			e.addChurn(fd)
		}
	}
	e.fds[fd] = ino
	if ino != 0 {
		if _, ok := r.inodes[ino]; !ok {
			r.inodes[ino] = pid
		}
	}
	return ino
}

// listFDs lists the fd numbers of the process, sorted.
func (r *Resolver) listFDs(dir procfs.Dir) ([]int32, error) {
	list, err := dir.FDs(r.scan.dent, r.scan.list[:0])
	if err != nil {
		return nil, err
	}
	slices.Sort(list)
	r.scan.list = list
	return list, nil
}

// How much of a process scanProc reads.
type scanDepth int

const (
	scanChurn    scanDepth = iota // the fds that lately held new sockets
	scanComplete                  // and every fd, numbers not seen before first
)

// scanProc reads the fds of pid, stopping as soon as it finds the socket
// target (0: read them all). It reads first the fds that lately held new
// sockets; then, if depth allows, it lists the fds and reads the numbers it
// has not seen before, then the others. It returns whether target was
// found. A process that is gone is dropped; a reused pid becomes a new
// process.
func (r *Resolver) scanProc(pid int, target uint64, depth scanDepth) bool {
	e, dir, err := r.entry(pid)
	if err != nil {
		return false
	}
	if dir != e.dir {
		defer dir.Close()
	}
	r.stats.ProcsScanned++
	for _, fd := range slices.Clone(e.churn) {
		if ino := r.readFD(pid, e, dir, fd); target != 0 && ino == target {
			return true
		}
	}
	if depth == scanChurn {
		return false
	}
	e.gen = r.gen
	list, err := r.listFDs(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			r.dropPid(pid)
		} else if errors.Is(err, procfs.ErrUnreadable) {
			r.stats.Unreadable++
			e.scanned = true
		}
		return false
	}
	for fd, ino := range e.fds {
		if _, ok := slices.BinarySearch(list, fd); !ok {
			r.unindex(pid, ino)
			delete(e.fds, fd)
		}
	}
	seen := slices.Grow(r.scan.seen[:0], len(list))[:len(list)]
	clear(seen)
	r.scan.seen = seen
	// Every new fd number is indexed, not only up to the target: a
	// process opening sockets by the thousand is read once per burst, and
	// the other new sockets are then index hits.
	found := false
	for i, fd := range list {
		if _, ok := e.fds[fd]; ok {
			continue
		}
		seen[i] = true
		if ino := r.readFD(pid, e, dir, fd); target != 0 && ino == target {
			e.addChurn(fd)
			found = true
		}
	}
	if found {
		return true
	}
	// Known fd numbers may hold a new socket (closed and reused). Read
	// again only for processes of ordinary size: for one with thousands of
	// fds that would be thousands of reads per miss; its reused numbers
	// are found through the churn list, or the connect events.
	if len(list) <= maxRereadFDs {
		for i, fd := range list {
			if seen[i] {
				continue
			}
			if ino := r.readFD(pid, e, dir, fd); target != 0 && ino == target {
				return true
			}
		}
	}
	e.scanned = true
	return false
}

// maxRereadFDs bounds the known fds read again on a miss.
const maxRereadFDs = 1024

// processOfQuick returns the process holding socket inode. On a miss it
// updates the index incrementally, cheapest first, stopping once inode is
// found:
//  1. the fds that lately held new sockets in the hot processes (those that
//     owned the latest resolved sockets);
//  2. the processes never scanned (new pids);
//  3. every fd of the hot processes.
//
// The last resort, every process (at most once per FullScanInterval), is
// processOfFull.
func (r *Resolver) processOfQuick(inode uint64) *Process {
	if p, ok := r.indexed(inode); ok {
		return p
	}
	r.gen++
	var hot [hotPids]int
	nhot := copy(hot[:], r.hot)
	for _, pid := range hot[:nhot] {
		if r.scanProc(pid, inode, scanChurn) {
			r.stats.PartialScans++
			return r.mustIndexed(inode)
		}
	}
	r.stats.PartialScans++
	if r.scanFresh(inode) || r.scanNew(inode) {
		return r.mustIndexed(inode)
	}
	for _, pid := range hot[:nhot] {
		if e := r.procs[pid]; e != nil && e.gen == r.gen {
			continue // read completely during this miss already
		}
		if r.scanProc(pid, inode, scanComplete) {
			return r.mustIndexed(inode)
		}
	}
	return nil
}

// processOf finds the process holding inode: processOfQuick, then a full
// scan if one is due.
func (r *Resolver) processOf(inode uint64) *Process {
	if p := r.processOfQuick(inode); p != nil {
		return p
	}
	return r.processOfFull(inode, time.Now())
}

// fullDue reports whether a full scan may run now (they are rate-limited).
func (r *Resolver) fullDue(now time.Time) bool {
	return r.fullEvery < 0 || now.Sub(r.lastFull) >= r.fullEvery
}

// processOfFull scans every process for inode, if a full scan is due.
func (r *Resolver) processOfFull(inode uint64, now time.Time) *Process {
	if !r.fullDue(now) {
		return nil
	}
	r.fullScan(now)
	p, _ := r.indexed(inode)
	return p
}

func (r *Resolver) mustIndexed(inode uint64) *Process {
	p, _ := r.indexed(inode)
	return p
}

// indexed looks inode up in the index and marks its process hot.
func (r *Resolver) indexed(inode uint64) (*Process, bool) {
	pid, ok := r.inodes[inode]
	if !ok {
		return nil, false
	}
	e := r.procs[pid]
	if e == nil {
		return nil, false
	}
	r.touchHot(pid, e)
	r.refreshIdentity(pid, e)
	return e.proc, true
}

// touchHot moves pid to the front of the hot list, pinning its /proc/PID
// directory; the process that falls off the list is unpinned.
func (r *Resolver) touchHot(pid int, e *procEntry) {
	if i := slices.Index(r.hot, pid); i >= 0 {
		copy(r.hot[1:i+1], r.hot[:i])
		r.hot[0] = pid
		return
	}
	if len(r.hot) >= hotPids {
		if old := r.procs[r.hot[len(r.hot)-1]]; old != nil {
			old.unpin()
		}
		r.hot = r.hot[:hotPids-1]
	}
	r.hot = slices.Insert(r.hot, 0, pid)
	if e.dir == procfs.NoDir {
		d, err := r.proc.OpenPID(pid)
		if err != nil {
			return
		}
		if st, err := d.Stat(r.scan.file); err == nil && st.StartTime == e.start {
			e.dir = d
			return
		}
		d.Close()
	}
}

// youngAge is how long after it started a process is rescanned with the
// new ones: a process often opens its sockets just after it started, maybe
// after a first scan saw it without them (or before its exec).
const youngAge = 2 * time.Second

// maxYoungFDs: a young process with more fds is left to the full scans
// (listing its fds on every miss would cost more than it may find).
const maxYoungFDs = 1024

// young reports whether the process started less than youngAge ago.
func (r *Resolver) young(e *procEntry) bool {
	return r.youngAge > 0 && e.start+uint64(r.youngAge/(10*time.Millisecond)) > r.nowTicks()
}

// listPids lists the pids of the proc root.
func (r *Resolver) listPids() []int {
	pids, _ := r.proc.PIDs(r.scan.dent, r.pidBuf[:0]) // what was listed
	r.pidBuf = pids
	return pids
}

// scanNew scans the processes never scanned before, or started less than
// youngAge ago, stopping when target is found, and forgets the
// processes that are gone.
func (r *Resolver) scanNew(target uint64) bool {
	pids := r.listPids()
	r.prune(pids)
	// Never scanned first, then the young ones, newest first.
	young := r.youngBuf[:0]
	for _, pid := range pids {
		e, ok := r.procs[pid]
		switch {
		case !ok || !e.scanned:
			if r.scanProc(pid, target, scanComplete) && target != 0 {
				return true
			}
		case target != 0 && e.gen != r.gen && r.young(e) && len(e.fds) <= maxYoungFDs:
			young = append(young, e)
		}
	}
	slices.SortFunc(young, func(a, b *procEntry) int { return cmp.Compare(b.start, a.start) })
	r.youngBuf = young[:0]
	for _, e := range young {
		if r.scanProc(e.proc.PID, target, scanComplete) {
			clear(young)
			return true
		}
	}
	clear(young)
	return false
}

// fullScan rescans every process.
func (r *Resolver) fullScan(now time.Time) {
	r.lastFull = now
	r.stats.FullScans++
	pids := r.listPids()
	r.prune(pids)
	for _, pid := range pids {
		r.scanProc(pid, 0, scanComplete)
	}
}

// prune drops the processes absent from pids.
func (r *Resolver) prune(pids []int) {
	if len(pids) == len(r.procs) {
		// Same count: usually the same set; a change is caught on read.
		return
	}
	live := make(map[int]struct{}, len(pids))
	for _, p := range pids {
		live[p] = struct{}{}
	}
	for pid := range r.procs {
		if _, ok := live[pid]; !ok {
			r.dropPid(pid)
		}
	}
}
