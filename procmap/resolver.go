package procmap

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/proccon"
	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/proctable"
	"github.com/gohogs/gohogs/internal/runtimeapi"
	"github.com/gohogs/gohogs/internal/sockdiag"
)

// hotPids is how many of the processes that owned the latest resolved
// sockets are "hot" (scanned first, their /proc/PID kept open).
const hotPids = 4

// Resolver maps flows to the processes owning their sockets. It is safe for
// concurrent use; calls are serialized, but for a Resolve waiting for the
// identity of a connect event's process, which lets the others run.
type Resolver struct {
	proc      procfs.FS
	live      bool // proc is the host's /proc: the kernel's event sources may be used
	nsDir     string
	noNetlink bool
	fullEvery time.Duration
	youngAge  time.Duration
	nowTicks  func() uint64 // clock ticks since boot (tests set it)
	selfNS    uint64
	names     *runtimeapi.Namer // container names; nil without Options.ContainerNames

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
	// conns is nil without the connect tracepoints; set by New only, so
	// read without r.mu.
	conns *connEvents
	// connErr and eventsErr say why the connect events and the process
	// connector do not run (nil when they do, or were not asked for).
	connErr, eventsErr error
	// awaitIdent waits for an identity being read (closed ready), at
	// most identWait; Resolve calls it without r.mu (tests set it).
	awaitIdent func(ready <-chan struct{})
	// mayWait is set during a first pass of resolve, which stops with
	// errRetry and waitFor set where an identity is still being read.
	mayWait bool
	waitFor <-chan struct{}
	// selfNSFile holds the resolver's namespace open (live /proc only).
	selfNSFile *os.File
	fresh      []int // pids reported by the connector, not scanned yet
	scan       scanBufs
	pidBuf     []int
	youngBuf   []*procEntry
	gen        uint64 // counts misses, to read a process once per miss
	ents       []proctable.Socket
	stats      Stats
	fwd        *forwarding // forwarded and NAT'd flows; never nil after New
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
		awaitIdent: func(ready <-chan struct{}) {
			t := time.NewTimer(identWait)
			defer t.Stop()
			select {
			case <-ready:
			case <-t.C:
			}
		},
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
	if opts.ContainerNames {
		r.names = runtimeapi.New(runtimeapi.Options{Docker: opts.ContainerSockets, Podman: opts.ContainerSockets})
	}
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
			if r.names != nil {
				r.names.Close()
			}
			return nil, fmt.Errorf("procmap: own network namespace: %w", err)
		}
		r.selfNSFile = f
	}
	if !r.noNetlink {
		d, err := sockdiag.Dial("")
		if err != nil {
			if r.selfNSFile != nil {
				r.selfNSFile.Close()
			}
			if r.names != nil {
				r.names.Close()
			}
			return nil, fmt.Errorf("procmap: %w", err)
		}
		r.diag = d
	}
	// Index every process now: the first flows then cost an index hit or
	// a scan of the few new processes, not a scan of all.
	r.scanNew(0)
	r.startForwarding(opts)
	// The kernel's event sources name pids of the initial pid namespace:
	// only with a /proc that shows those (pidns.go).
	var tpErr, pcErr error
	if r.live || isProcFS(r.proc.Root()) {
		tpErr, pcErr = eventPIDs(r.proc)
	} else {
		opts.NoConnEvents, opts.NoProcEvents = true, true // a fixture tree
	}
	if !opts.NoConnEvents && tpErr != nil {
		r.stats.ConnEventErrors++
		r.connErr = fmt.Errorf("connect events: %w", tpErr)
	} else if !opts.NoConnEvents {
		c, err := startConnEvents(r.proc, opts, r.names)
		if err != nil {
			// Not fatal: the other mechanisms still run.
			r.stats.ConnEventErrors++
			r.connErr = err
		} else {
			r.conns = c
		}
	}
	if !opts.NoProcEvents && pcErr != nil {
		r.stats.ProcEventErrors++
		r.eventsErr = pcErr
	} else if !opts.NoProcEvents {
		if err := r.startProcEvents(opts.RaisePriority); err != nil {
			// Not fatal: /proc listings find new processes.
			r.stats.ProcEventErrors++
			r.eventsErr = err
		}
	}
	return r, nil
}

// NetNS returns the inode of the resolver's own network namespace (0 if it
// could not be read, as in fixture trees without self/ns/net). Flows with
// this NetNS, or 0, are resolved in that namespace.
func (r *Resolver) NetNS() uint64 { return r.selfNS }

// Close stops the event readers, removes the Resolver's tracefs instance
// and closes its sockets and files, and returns what failed (errors.Join).
// Resolve fails after Close.
func (r *Resolver) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ev := r.events
	r.events = nil
	r.mu.Unlock()
	var errs []error
	if ev != nil {
		errs = append(errs, ev.Close()) // its goroutine takes r.mu: not held here
	}
	if r.conns != nil {
		errs = append(errs, r.conns.close()) // likewise
	}
	if r.names != nil {
		errs = append(errs, r.names.Close())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.diag != nil {
		errs = append(errs, r.diag.Close())
	}
	for _, e := range r.procs {
		errs = append(errs, e.unpin())
	}
	if r.selfNSFile != nil {
		errs = append(errs, r.selfNSFile.Close())
	}
	for _, n := range r.ns {
		if n.diag != nil {
			errs = append(errs, n.diag.Close())
		}
	}
	errs = append(errs, r.fwd.close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("procmap: close: %w", err)
	}
	return nil
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
		c := r.conns.counts()
		s.ConnEvents, s.ConnEventLost, s.ConnEventsDropped, s.ForkIdentities = c.events, c.lost, c.dropped, c.handed
		s.ConnEventErrors += c.errs
	}
	s.ConnEventsErr, s.ProcEventsErr = r.connErr, r.eventsErr
	r.fwd.fill(&s)
	return s
}

// errClosed is returned after Close.
var errClosed = errors.New("procmap: resolver closed")

// Resolve finds the owner of f: the socket matching it (see the package
// documentation for the rules), then the process holding that socket. It
// returns an error wrapping ErrNotFound when no socket matches and no owner
// is remembered for f. The Owner's Process is nil when the socket is known
// but no process could be seen holding it.
//
// Where only a connect event can name the owner and the identity of its
// process is still being read, Resolve waits for it (at most identWait)
// without holding the Resolver's lock, then resolves f again.
func (r *Resolver) Resolve(f Flow) (Owner, error) {
	f = r.normalize(f)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return Owner{}, errClosed
	}
	r.stats.Lookups++
	r.mayWait, r.waitFor = true, nil
	o, err := r.resolve(f, time.Now())
	r.mayWait = false
	if err == errRetry {
		ready := r.waitFor
		r.waitFor = nil
		r.mu.Unlock()
		r.awaitIdent(ready)
		r.mu.Lock()
		if r.closed {
			return Owner{}, errClosed
		}
		o, err = r.resolve(f, time.Now())
	}
	return r.counted(o, err)
}

// counted counts a lookup's answer in the stats and returns it. r.mu is
// held.
func (r *Resolver) counted(o Owner, err error) (Owner, error) {
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
