package procmap

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/proccon"
	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/proctable"
	"github.com/gohogs/gohogs/internal/sockdiag"
)

// hotPids is how many of the processes that owned the latest resolved
// sockets are "hot" (scanned first, their /proc/PID kept open).
const hotPids = 4

// Resolver maps flows to the processes owning their sockets. It is safe for
// concurrent use; calls are serialized.
type Resolver struct {
	proc      procfs.FS
	live      bool // proc is the host's /proc: the kernel's event sources may be used
	nsDir     string
	noNetlink bool
	fullEvery time.Duration
	youngAge  time.Duration
	nowTicks  func() uint64 // clock ticks since boot (tests set it)
	selfNS    uint64

	mu       sync.Mutex
	closed   bool
	diag     *sockdiag.Conn // sock_diag in the resolver's own namespace
	procs    map[int]*procEntry
	inodes   map[uint64]int // socket inode → pid
	hot      []int          // pids that most recently owned a resolved socket
	lastFull time.Time
	lastNS   time.Time
	ns       map[uint64]*nsInfo
	cache    flowCache
	events   *proccon.Conn // nil without the process connector
	conns    *connEvents   // nil without the connect tracepoint
	// selfNSFile holds the resolver's namespace open (live /proc only).
	selfNSFile *os.File
	fresh      []int // pids reported by the connector, not scanned yet
	scan       scanBufs
	pidBuf     []int
	youngBuf   []*procEntry
	gen        uint64 // counts misses, to read a process once per miss
	ents       []proctable.Socket
	stats      Stats
}

// New returns a Resolver reading opts.ProcRoot. Its own network namespace is
// the one of the calling thread.
func New(opts Options) (*Resolver, error) {
	proc, err := procfs.NewFS(opts.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("procmap: %w", err)
	}
	r := &Resolver{
		proc:      proc,
		live:      proc.Root() == "/proc",
		nsDir:     opts.NetNSDir,
		noNetlink: opts.NoNetlink,
		fullEvery: opts.FullScanInterval,
		youngAge:  youngAge,
		nowTicks:  procfs.BootTicks,
		procs:     make(map[int]*procEntry),
		inodes:    make(map[uint64]int),
		ns:        make(map[uint64]*nsInfo),
		scan:      newScanBufs(),
	}
	if r.nsDir == "" {
		r.nsDir = "/run/netns"
	}
	if r.fullEvery == 0 {
		r.fullEvery = DefaultFullScanInterval
	}
	ttl, size := opts.FlowCacheTTL, opts.FlowCacheSize
	if ttl <= 0 {
		ttl = DefaultFlowCacheTTL
	}
	if size <= 0 {
		size = DefaultFlowCacheSize
	}
	r.cache = newFlowCache(ttl, size)
	buf := make([]byte, 64)
	if n, err := unix.Readlink(proc.Path("thread-self/ns/net"), buf); err == nil {
		r.selfNS, _ = procfs.NSInode(buf[:n], "net")
	} else if n, err := unix.Readlink(proc.Path("self/ns/net"), buf); err == nil {
		r.selfNS, _ = procfs.NSInode(buf[:n], "net")
	}
	// /proc/net is the main thread's namespace, which need not stay the
	// one the Resolver was made in (a library user's setns): keep that one
	// open, to read its tables from inside it when they differ.
	if r.live && r.selfNS != 0 {
		f, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			return nil, fmt.Errorf("procmap: own network namespace: %w", err)
		}
		r.selfNSFile = f
	}
	if !r.noNetlink {
		d, err := sockdiag.Dial("")
		if err != nil {
			return nil, fmt.Errorf("procmap: %w", err)
		}
		r.diag = d
	}
	// Index every process now: the first flows then cost an index hit or
	// a scan of the few new processes, not a scan of all.
	r.scanNew(0)
	if !opts.NoConnEvents && r.live {
		c, err := startConnEvents(r.proc, opts.MountTracefs, opts.RemoveStaleInstances)
		if err != nil {
			r.stats.ConnEventErrors++ // not fatal: the other mechanisms still run
		} else {
			r.conns = c
		}
	}
	if !opts.NoProcEvents && r.live {
		if err := r.startProcEvents(opts.RaisePriority); err != nil {
			r.stats.ProcEventErrors++ // not fatal: /proc listings find new processes
		}
	}
	return r, nil
}

// NetNS returns the inode of the resolver's own network namespace (0 if it
// could not be read, as in fixture trees without self/ns/net). Flows with
// this NetNS, or 0, are resolved in that namespace.
func (r *Resolver) NetNS() uint64 { return r.selfNS }

// Close releases the netlink sockets. Resolve fails after Close.
func (r *Resolver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ev := r.events
	r.events = nil
	conns := r.conns
	r.mu.Unlock()
	if ev != nil {
		ev.Close() // its goroutine takes r.mu: not held here
	}
	if conns != nil {
		conns.close() // likewise
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.diag != nil {
		err = r.diag.Close()
	}
	for _, e := range r.procs {
		e.unpin()
	}
	if r.selfNSFile != nil {
		r.selfNSFile.Close()
	}
	for _, n := range r.ns {
		if n.diag != nil {
			if e := n.diag.Close(); e != nil && err == nil {
				err = e
			}
		}
	}
	return err
}

// Stats returns a snapshot of the counters.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Processes = len(r.procs)
	s.Sockets = len(r.inodes)
	s.CachedFlows = r.cache.len()
	if r.conns != nil {
		s.ConnEvents, s.ConnEventErrors, s.ConnEventLost = r.conns.counts()
		s.ConnEventErrors += r.stats.ConnEventErrors
	}
	return s
}

// errClosed is returned after Close.
var errClosed = errors.New("procmap: resolver closed")

// normalize unmaps addresses and names the resolver's namespace.
func (r *Resolver) normalize(f Flow) Flow {
	f.Local = netip.AddrPortFrom(f.Local.Addr().Unmap(), f.Local.Port())
	f.Remote = netip.AddrPortFrom(f.Remote.Addr().Unmap(), f.Remote.Port())
	if f.NetNS == 0 {
		f.NetNS = r.selfNS
	}
	return f
}

// Resolve finds the owner of f: the socket matching it (see the package
// documentation for the rules), then the process holding that socket. It
// returns an error wrapping ErrNotFound when no socket matches and no owner
// is remembered for f. The Owner's Process is nil when the socket is known
// but no process could be seen holding it.
func (r *Resolver) Resolve(f Flow) (Owner, error) {
	f = r.normalize(f)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Owner{}, errClosed
	}
	r.stats.Lookups++
	now := time.Now()
	o, err := r.resolve(f, now)
	if err != nil {
		r.stats.Misses++
		return Owner{}, err
	}
	r.stats.Hits++
	if o.Process == nil {
		r.stats.NoProcess++
	}
	return o, nil
}

func (r *Resolver) resolve(f Flow, now time.Time) (Owner, error) {
	if !f.Local.Addr().IsValid() || (f.Remote.Addr().IsValid() && f.Local.Addr().Is4() != f.Remote.Addr().Is4()) {
		return Owner{}, fmt.Errorf("procmap: flow %v-%v: invalid addresses: %w", f.Local, f.Remote, ErrNotFound)
	}
	ns, err := r.nsFor(f.NetNS, now)
	if err != nil {
		return Owner{}, err
	}
	e, found, err := r.lookupSocket(ns, f, false)
	if err != nil {
		return Owner{}, err
	}
	if found && e.Inode != 0 {
		if f.Proto == unix.IPPROTO_TCP && e.State == tcpListen {
			r.stats.ListenerFallbacks++
		}
		o := Owner{Inode: e.Inode, UID: e.UID, Process: r.processOfQuick(e.Inode)}
		if o.Process == nil {
			// Its holder is not among the processes scanned cheaply:
			// the process remembered for this very socket, if any, or
			// the one that connected it; else every process is scanned,
			// if that is due and the socket is still open (a short-lived
			// socket closed since the lookup has no fd left to find).
			if c, ok := r.cache.get(f, now); ok && c.Inode == o.Inode && c.Process != nil {
				o.Process = c.Process
			} else if p := r.connected(f, now); p != nil {
				o.Process = p
			} else if r.fullDue(now) {
				if e2, ok, err := r.lookupSocket(ns, f, false); err == nil && ok && e2.Inode == e.Inode {
					o.Process = r.processOfFull(e.Inode, now)
				} else {
					r.stats.ScansSkipped++
				}
			}
		}
		r.remember(f, o, now)
		return o, nil
	}
	if o, at, ok := r.cache.getAt(f, now); ok {
		if f.Proto == unix.IPPROTO_TCP {
			// Connected again by another process since it was
			// remembered (a client port given to a new connection to
			// the same peer): the new connection's process, not the old
			// one's. (An event read after the remembered answer may be
			// the same connection's, read late: same process.)
			if p, when := r.connectedAt(f, now); p != nil && when.After(at) &&
				(o.Process == nil || p.PID != o.Process.PID || p.StartTime != o.Process.StartTime) {
				r.stats.ConnEventHits++
				o := Owner{UID: p.UID, Process: p}
				r.remember(f, o, now)
				return o, nil
			}
		}
		r.stats.CacheHits++
		return o, nil
	}
	if f.Proto == unix.IPPROTO_UDP {
		// The latest sender seen on the local port: fresher than the
		// endpoint's remembered owner, whose port a later short-lived
		// process may have been given.
		cached, inCache := r.cache.get(endpoint(f), now)
		if p := r.connected(f, now); p != nil && !(inCache && cached.Process != nil &&
			cached.Process.PID == p.PID && cached.Process.StartTime == p.StartTime) {
			o := Owner{UID: p.UID, Process: p}
			r.remember(f, o, now)
			return o, nil
		}
		// A UDP socket's owner is its local endpoint's: an unconnected
		// socket that sent to many peers and closed.
		if o, ok := cached, inCache; ok {
			r.stats.CacheHits++
			return o, nil
		}
	}
	if found && f.Proto == unix.IPPROTO_TCP && e.State != tcpListen {
		// A child socket with no inode: not yet accepted (or in
		// SYN_RECV), or closing. Credit the listener on the local port.
		l, ok, err := r.lookupSocket(ns, f, true)
		if err != nil {
			return Owner{}, err
		}
		if ok && l.Inode != 0 {
			r.stats.ListenerFallbacks++
			o := r.owner(l)
			r.remember(f, o, now)
			return o, nil
		}
	}
	if p := r.connected(f, now); p != nil {
		// Gone (closed, or in TIME_WAIT without inode) before it could be
		// looked up, but the connect event named its process.
		o := Owner{UID: p.UID, Process: p}
		r.remember(f, o, now)
		return o, nil
	}
	state := "none"
	if found {
		state = "inode 0, state " + strconv.Itoa(int(e.State))
	}
	return Owner{}, fmt.Errorf("procmap: proto %d %v-%v netns %d (socket: %s): %w",
		f.Proto, f.Local, f.Remote, f.NetNS, state, ErrNotFound)
}

// connected returns the process that a connect event says opened the TCP
// flow f (or a send event says sent from its UDP port), or nil.
func (r *Resolver) connected(f Flow, now time.Time) *Process {
	p, _ := r.connectedAt(f, now)
	if p != nil {
		r.stats.ConnEventHits++
	}
	return p
}

// connectedAt is connected, with the time the event was read, not counted
// in Stats.ConnEventHits.
func (r *Resolver) connectedAt(f Flow, now time.Time) (*Process, time.Time) {
	if r.conns == nil || (f.Proto != unix.IPPROTO_TCP && f.Proto != unix.IPPROTO_UDP) {
		return nil, time.Time{}
	}
	ns := f.NetNS
	if ns == 0 {
		ns = r.selfNS
	}
	p, when, ok := r.conns.lookupAt(f, ns, now)
	if !ok || p == nil {
		return nil, time.Time{}
	}
	// Every caller remembers the owner it returns (or a newer one): the
	// event is not needed any more.
	r.conns.forget(f)
	return p, when
}

// remember caches the owner of f (and, for UDP, of its local endpoint).
func (r *Resolver) remember(f Flow, o Owner, now time.Time) {
	r.cache.put(f, o, now)
	if f.Proto == unix.IPPROTO_UDP && f.Remote.IsValid() {
		r.cache.put(endpoint(f), o, now)
	}
}

// endpoint is the cache key of f's local endpoint.
func endpoint(f Flow) Flow {
	return Flow{NetNS: f.NetNS, Proto: f.Proto, Local: f.Local}
}

// owner completes a socket with its process.
func (r *Resolver) owner(e socket) Owner {
	o := Owner{Inode: e.Inode, UID: e.UID}
	o.Process = r.processOf(e.Inode)
	return o
}

// Process returns the identity of pid: name, uid, start time and command
// line, read from /proc once per (pid, start time). It returns an error
// wrapping fs.ErrNotExist if the process does not exist.
func (r *Resolver) Process(pid int) (*Process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, dir, err := r.entry(pid)
	if err != nil {
		return nil, fmt.Errorf("procmap: process %d: %w", pid, err)
	}
	if dir != e.dir {
		dir.Close()
	}
	return e.proc, nil
}
