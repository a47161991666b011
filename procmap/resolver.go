package procmap

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/netns"
	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/proctable"
)

// Defaults for Options.
const (
	DefaultFullScanInterval = 100 * time.Millisecond
	DefaultFlowCacheTTL     = 2 * time.Minute
	DefaultFlowCacheSize    = 4096
	hotPids                 = 4
	nsIdle                  = 30 * time.Second
)

// Options configures a Resolver.
type Options struct {
	// ProcRoot is the proc file system to read; default "/proc". Tests
	// point it at fixture trees in testdata/.
	ProcRoot string
	// NoNetlink disables sock_diag: socket tables are read from
	// /proc/net/* only (fixtures use this).
	NoNetlink bool
	// NetNSDir holds named network namespaces (ip netns); default
	// "/run/netns". Flows of a namespace that no process lives in are
	// resolved through it.
	NetNSDir string
	// FullScanInterval is the least time between two full scans of every
	// process's fds; default DefaultFullScanInterval. Negative: no limit.
	FullScanInterval time.Duration
	// FlowCacheTTL is how long the owner of a flow is remembered after it
	// was last seen live; default DefaultFlowCacheTTL (longer than the 60 s
	// of TCP TIME_WAIT).
	FlowCacheTTL time.Duration
	// NoProcEvents disables the netlink process connector (fork/exec
	// events, root only), used when ProcRoot is "/proc" to scan new
	// processes first and to re-read the identity of exec'd ones.
	NoProcEvents bool
	// NoConnEvents disables the TCP connect and UDP send tracepoints
	// (tracefs; needs root). They name the process of a connection that
	// closed, or a UDP sender that exited, before it could be looked up.
	NoConnEvents bool
	// FlowCacheSize bounds the number of remembered flows; default
	// DefaultFlowCacheSize. The oldest are forgotten first. An entry
	// costs about 300 bytes; it serves a flow looked up again after its
	// socket is gone, which a monitor does when it forgot the flow (gohogs
	// forgets a closed one 2 s after its last packet), so a few seconds
	// of flows at the highest rate are enough: 4096 is 1.4 s at 3000 new
	// flows a second (16384 were 5 MB there), 2 minutes below 34 a second.
	FlowCacheSize int

	// The Resolver changes nothing on the host unless the caller allows it
	// here; the gohogs command allows all three.

	// MountTracefs mounts tracefs on /sys/kernel/tracing when it is not
	// mounted there (the connect events need it).
	MountTracefs bool
	// RaisePriority runs the process connector's thread at nice -10 (with
	// CAP_SYS_NICE), so that an exec'd process is read before it exits
	// while new processes keep every CPU busy.
	RaisePriority bool
	// RemoveStaleInstances removes the tracefs instances that gohogs
	// processes which have died left behind.
	RemoveStaleInstances bool
}

// Stats are counters for diagnostics, totals since New.
type Stats struct {
	Lookups           uint64 // Resolve calls
	Hits              uint64 // Resolve calls that returned an owner
	Misses            uint64 // Resolve calls that returned ErrNotFound
	CacheHits         uint64 // owners answered from the flow cache (socket gone)
	ListenerFallbacks uint64 // flows credited to the listening socket (not yet accepted)
	NoProcess         uint64 // sockets found whose process could not be seen
	NetlinkQueries    uint64 // sock_diag requests sent
	NetlinkErrors     uint64 // sock_diag failures (then /proc/net is read)
	TableReads        uint64 // /proc/net/* socket tables read
	MalformedLines    uint64 // /proc/net lines skipped as malformed
	PartialScans      uint64 // scans of hot and new processes only
	FullScans         uint64 // scans of every process's fds
	ScansSkipped      uint64 // full scans not made: the socket closed meanwhile
	ProcsScanned      uint64 // /proc/PID/fd directories read
	Unreadable        uint64 // fd directories not readable (EACCES)
	ProcEvents        uint64 // fork/exec events from the process connector
	ProcEventErrors   uint64 // process connector failures (events lost)
	ConnEvents        uint64 // TCP connect and UDP send tracepoint events read
	ConnEventErrors   uint64 // tracepoint unavailable, or lines not understood
	ConnEventHits     uint64 // flows named by a connect or send event when nothing else could
	ConnEventLost     uint64 // events whose process exited before it could be read
	Processes         int    // processes currently indexed
	Sockets           int    // socket inodes currently indexed
	CachedFlows       int    // flows currently remembered
}

// nsInfo locates a network namespace other than the resolver's own.
type nsInfo struct {
	pid      int    // a process living in it, 0 if none is known
	path     string // an nsfs file naming it (/run/netns/NAME), when pid is 0
	diag     *diagConn
	lastUsed time.Time
}

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
	diag     *diagConn // sock_diag in the resolver's own namespace
	procs    map[int]*procEntry
	inodes   map[uint64]int // socket inode → pid
	hot      []int          // pids that most recently owned a resolved socket
	lastFull time.Time
	lastNS   time.Time
	ns       map[uint64]*nsInfo
	cache    flowCache
	events   *procEvents // nil without the process connector
	conns    *connEvents // nil without the connect tracepoint
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
		d, err := dialDiag("")
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
		var onFirst func(pid, tgid int, exec bool)
		if r.conns != nil {
			// Told first, before waiting for r.mu (a scan may hold
			// it): an exec'd process's identity is read at once.
			onFirst = r.conns.procEvent
		}
		ev, err := startProcEvents(r.onProcEvent, onFirst, r.onProcEventError, opts.RaisePriority)
		if err != nil {
			r.stats.ProcEventErrors++ // not fatal: /proc listings find new processes
		} else {
			r.events = ev
			if r.conns != nil {
				r.conns.forks.Store(true)
			}
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
func (r *Resolver) owner(e proctable.Socket) Owner {
	o := Owner{Inode: e.Inode, UID: e.UID}
	o.Process = r.processOf(e.Inode)
	return o
}

// ---- socket tables ----

// lookupSocket finds the socket matching f in namespace ns (nil: own). With
// listener set, it finds the TCP listener on f's local address and port.
func (r *Resolver) lookupSocket(ns *nsInfo, f Flow, listener bool) (proctable.Socket, bool, error) {
	if f.Proto == unix.IPPROTO_TCP || f.Proto == unix.IPPROTO_UDP {
		if d := r.diagFor(ns); d != nil {
			remote := f.Remote
			if listener || !remote.Addr().IsValid() {
				remote = netip.AddrPortFrom(unspecified(f.Local.Addr()), 0)
			}
			r.stats.NetlinkQueries++
			e, err := d.exact(f.Proto, f.Local, remote)
			if err == nil {
				if listener && e.State != tcpListen {
					return proctable.Socket{}, false, nil
				}
				return e, true, nil
			}
			if errors.Is(err, errNoSocket) {
				return proctable.Socket{}, false, nil
			}
			r.stats.NetlinkErrors++
			// Fall through to the tables.
		}
	}
	ents, err := r.readTables(ns, f.Proto)
	if err != nil {
		return proctable.Socket{}, false, err
	}
	e, ok := matchTable(ents, f, listener)
	return e, ok, nil
}

// readTables reads the /proc/net tables of proto for namespace ns.
func (r *Resolver) readTables(ns *nsInfo, proto uint8) ([]proctable.Socket, error) {
	var m int
	var err error
	ents := r.ents[:0]
	switch {
	case ns == nil && r.selfNSFile != nil && r.mainNS() != r.selfNS:
		err = netns.Do(int(r.selfNSFile.Fd()), func() error {
			var e error
			ents, m, e = proctable.ReadDir(r.proc.Path("thread-self/net"), proto, ents)
			return e
		})
	case ns == nil:
		ents, m, err = proctable.ReadDir(r.proc.Path("net"), proto, ents)
	case ns.pid > 0:
		ents, m, err = proctable.ReadDir(r.proc.PIDPath(ns.pid, "net"), proto, ents)
	default:
		err = netns.DoPath(ns.path, func() error {
			var e error
			ents, m, e = proctable.ReadDir(r.proc.Path("thread-self/net"), proto, ents)
			return e
		})
	}
	r.ents = ents[:0]
	r.stats.TableReads++
	r.stats.MalformedLines += uint64(m)
	if err != nil {
		return nil, fmt.Errorf("procmap: %w", err)
	}
	return ents, nil
}

func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// ---- namespaces ----

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
func (r *Resolver) diagFor(ns *nsInfo) *diagConn {
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
	d, err := dialDiag(p)
	if err != nil {
		r.stats.NetlinkErrors++
		return nil
	}
	ns.diag = d
	return d
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
