// Package nsaddrs keeps an index of the network namespaces of this host and
// of their addresses, so that the end of a packet seen passing through the
// namespace the Index was made in (its "own" namespace: a bridge, a
// container's veth, a routed interface) can be placed in the namespace it
// lives in.
//
// Namespaces are learnt from the processes' /proc/PID/ns/net links and from
// the files of a directory of named namespaces (/run/netns), looked for
// again every Options.Rescan, when a link of the own namespace changes (a
// container's veth appears) and on a miss. Those an own link leads to (a
// veth whose peer is there, known by the namespace's nsid in the own
// namespace) are watched: their addresses are dumped once and then kept
// current by an RTM_NEWADDR/RTM_DELADDR subscription opened inside them
// (vishvananda/netlink). The others are only opened to ask for their nsid
// and closed at once. A watched namespace that nothing names any more, or
// that no own link leads to any more (its veth deleted), is dropped and its
// socket closed: the socket keeps the namespace alive until then.
//
// Addresses repeat across namespaces (every container may be 10.0.0.2 on a
// bridge of its own). Locate never guesses: it asks the own namespace's
// routing table which interface leads to the address, and answers the
// namespace only if exactly one namespace behind that interface holds it.
// A namespace is behind an own interface when it holds the peer of that
// veth (IFLA_LINK_NETNSID), or of a veth enslaved to that bridge.
// Namespaces further away (a namespace behind a namespace) are not
// reached.
//
// Contains, for the packet path, takes no lock and allocates nothing: it
// reads an immutable snapshot (rebuilt after each change and published
// atomically) of the addresses of the namespaces behind an own interface.
//
// Entering a namespace needs CAP_SYS_ADMIN: without it only the own
// namespace's links are known and nothing is located.
package nsaddrs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
)

// Defaults for Options.
const (
	DefaultRescan    = 2 * time.Second
	DefaultRouteTTL  = time.Second
	DefaultMissGap   = time.Second
	maxRoutes        = 4096
	linkGap          = 100 * time.Millisecond // least time between two rescans for link changes
	updateBufferSize = 256
)

// Options configures an Index.
type Options struct {
	// ProcRoot is the proc file system; default /proc.
	ProcRoot string
	// NetNSDir holds named namespaces; default /run/netns.
	NetNSDir string
	// Rescan is how often namespaces are looked for (new ones watched,
	// vanished ones dropped); default DefaultRescan.
	Rescan time.Duration
	// RouteTTL is how long the own namespace's route to an address is
	// remembered; default DefaultRouteTTL.
	RouteTTL time.Duration
	// MissGap is the least time between two look-ups for namespaces that
	// a miss of Locate makes; default DefaultMissGap.
	MissGap time.Duration
}

// Location is where an address lives.
type Location struct {
	// NetNS is the namespace's inode number.
	NetNS uint64
	// PID is a process living in it when it was found (0 if it was found
	// by name), Path its file in Options.NetNSDir ("" if found by a
	// process).
	PID  int
	Path string
	// Via is the index of the own interface that leads to it.
	Via int
}

// Errors of Locate.
var (
	// ErrNotHosted: no namespace behind the interface that the own
	// namespace routes the address to holds it (it is on another host, or
	// in a namespace that the own one does not reach).
	ErrNotHosted = errors.New("nsaddrs: no namespace reached from here holds the address")
	// ErrAmbiguous: several namespaces behind that interface hold it.
	ErrAmbiguous = errors.New("nsaddrs: several namespaces reached from here hold the address")
)

// Stats are the Index's counters.
type Stats struct {
	Namespaces int    // namespaces watched (those an own link leads to)
	Rescans    uint64 // looks for namespaces
	Errors     uint64 // namespaces that could not be watched, dumps and subscriptions that failed
	Routes     uint64 // route look-ups sent
	// Err is the latest failure to watch a namespace (nil if none).
	Err error
}

// Index is the address index. Its methods are safe for concurrent use.
type Index struct {
	opts   Options
	proc   procfs.FS
	self   uint64          // the own namespace's inode
	own    *netlink.Handle // in the own namespace: links, routes, nsids
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dirty  chan struct{} // a change to publish (capacity 1)
	linked chan struct{} // an own link changed: look for namespaces (capacity 1)

	cur atomic.Pointer[snapshot]
	gen atomic.Uint64

	scanMu sync.Mutex // serializes rescans
	mu     sync.Mutex // guards what follows
	closed bool
	ns     map[uint64]*watched
	last   time.Time // the latest rescan
	routes map[[16]byte]route
	stats  Stats
	dent   []byte
	pids   []int
	link   []byte
}

// route is a remembered answer of the own routing table.
type route struct {
	oif int
	at  time.Time
}

// snapshot is one immutable state of the index.
type snapshot struct {
	// hosted holds the addresses of the namespaces behind an own
	// interface (16-byte form, IPv4 mapped).
	hosted map[[16]byte]struct{}
	// byAddr lists, per address, every watched namespace holding it.
	byAddr map[[16]byte][]uint64
	// behind lists, per own interface index, the namespaces behind it.
	behind map[int][]uint64
	// names maps the own interfaces' names to their indexes.
	names map[string]int
	// where says how each namespace was found.
	where map[uint64]Location
}

// New starts an index whose own namespace is the calling thread's, with a
// first look for namespaces done; Close stops it.
func New(opts Options) (*Index, error) {
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.NetNSDir == "" {
		opts.NetNSDir = "/run/netns"
	}
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.RouteTTL <= 0 {
		opts.RouteTTL = DefaultRouteTTL
	}
	if opts.MissGap <= 0 {
		opts.MissGap = DefaultMissGap
	}
	proc, err := procfs.NewFS(opts.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("nsaddrs: %w", err)
	}
	// Everything made here is made in the calling thread's namespace.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return nil, fmt.Errorf("nsaddrs: own network namespace: %w", err)
	}
	own, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("nsaddrs: netlink: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &Index{
		opts: opts, proc: proc, self: st.Ino, own: own, cancel: cancel,
		dirty:  make(chan struct{}, 1),
		linked: make(chan struct{}, 1),
		ns:     make(map[uint64]*watched),
		routes: make(map[[16]byte]route),
		dent:   make([]byte, 16<<10),
		link:   make([]byte, 64),
	}
	x.cur.Store(&snapshot{})
	// A link change of the own namespace (a container's veth added, moved
	// to a bridge) makes a rescan at once: a new container's namespace is
	// found when its veth appears, before its first packet. The periodic
	// rescans do it anyway, so a failed subscription only delays it.
	links := make(chan netlink.LinkUpdate, updateBufferSize)
	if err := netlink.LinkSubscribeWithOptions(links, ctx.Done(), netlink.LinkSubscribeOptions{
		ErrorCallback: func(error) {},
	}); err == nil {
		x.wg.Add(1)
		go x.follow(ctx, links)
	}
	x.rescan()
	x.wg.Add(1)
	go x.run(ctx)
	return x, nil
}

// follow asks for a rescan after each link notification of the own
// namespace, until the subscription ends.
func (x *Index) follow(ctx context.Context, links chan netlink.LinkUpdate) {
	defer x.wg.Done()
	for {
		select {
		case <-ctx.Done():
			for range links { // the subscription closes it
			}
			return
		case _, ok := <-links:
			if !ok {
				return
			}
			select {
			case x.linked <- struct{}{}:
			default:
			}
		}
	}
}

// run rescans every Options.Rescan and republishes after changes.
func (x *Index) run(ctx context.Context) {
	defer x.wg.Done()
	t := time.NewTicker(x.opts.Rescan)
	defer t.Stop()
	// Link changes come in bursts (a container's veth is made, moved,
	// renamed, enslaved, brought up): one rescan at once, then at most one
	// per linkGap.
	soon := time.NewTimer(0)
	<-soon.C
	armed := false
	for {
		select {
		case <-ctx.Done():
			soon.Stop()
			return
		case <-t.C:
			x.rescan()
		case <-x.linked:
			if !armed {
				x.mu.Lock()
				wait := linkGap - time.Since(x.last)
				x.mu.Unlock()
				soon.Reset(max(wait, 0))
				armed = true
			}
		case <-soon.C:
			armed = false
			x.rescan()
		case <-x.dirty:
			x.publish()
		}
	}
}

func (x *Index) markDirty() {
	select {
	case x.dirty <- struct{}{}:
	default:
	}
}

// Contains reports whether a is an address of a namespace behind one of the
// own namespace's interfaces. It takes no lock and allocates nothing.
// A nil Index contains nothing.
func (x *Index) Contains(a netip.Addr) bool {
	if x == nil {
		return false
	}
	_, ok := x.cur.Load().hosted[a.As16()]
	return ok
}

// Generation changes each time the set Contains answers from is replaced.
func (x *Index) Generation() uint64 {
	if x == nil {
		return 0
	}
	return x.gen.Load()
}

// Self is the own namespace's inode number.
func (x *Index) Self() uint64 { return x.self }

// IfIndex returns the index of the own interface named name, 0 if there is
// none.
func (x *Index) IfIndex(name string) int { return x.cur.Load().names[name] }

// Locate returns the namespace that address a lives in, as seen from the
// own namespace: the one namespace behind the interface the own routing
// table sends a to that holds a. It fails with ErrNotHosted or
// ErrAmbiguous (wrapped, naming a) otherwise. An address found in no
// namespace makes it look for new namespaces first (at most once per
// Options.MissGap).
func (x *Index) Locate(a netip.Addr) (Location, error) {
	a = a.Unmap()
	s := x.cur.Load()
	cands := s.byAddr[a.As16()]
	if len(cands) == 0 && x.missDue() {
		x.rescan()
		s = x.cur.Load()
		cands = s.byAddr[a.As16()]
	}
	if len(cands) == 0 {
		return Location{}, fmt.Errorf("%w: %v is in no namespace an own link leads to", ErrNotHosted, a)
	}
	oif, err := x.Route(a)
	if err != nil {
		return Location{}, fmt.Errorf("%w: %v: %w", ErrNotHosted, a, err)
	}
	var loc Location
	n := 0
	for _, ns := range s.behind[oif] {
		for _, c := range cands {
			if c == ns {
				loc = s.where[ns]
				loc.Via = oif
				n++
			}
		}
	}
	switch n {
	case 0:
		return Location{}, fmt.Errorf("%w: %v is in %d namespace(s), none behind interface %d", ErrNotHosted, a, len(cands), oif)
	case 1:
		return loc, nil
	}
	return Location{}, fmt.Errorf("%w: %v is in %d namespaces behind interface %d", ErrAmbiguous, a, n, oif)
}

// missDue says whether a miss may look for namespaces now.
func (x *Index) missDue() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return time.Since(x.last) >= x.opts.MissGap
}

// Route returns the index of the interface that the own namespace's main
// routing decision sends a to, remembered for Options.RouteTTL.
func (x *Index) Route(a netip.Addr) (int, error) {
	a = a.Unmap()
	now := time.Now()
	x.mu.Lock()
	if r, ok := x.routes[a.As16()]; ok && now.Sub(r.at) < x.opts.RouteTTL {
		x.mu.Unlock()
		return r.oif, nil
	}
	x.stats.Routes++
	x.mu.Unlock()
	rs, err := x.own.RouteGet(a.AsSlice())
	if err != nil {
		return 0, fmt.Errorf("route to %v: %w", a, err)
	}
	if len(rs) == 0 || rs[0].LinkIndex == 0 {
		return 0, fmt.Errorf("route to %v: no interface", a)
	}
	x.mu.Lock()
	if len(x.routes) >= maxRoutes {
		clear(x.routes)
	}
	x.routes[a.As16()] = route{oif: rs[0].LinkIndex, at: now}
	x.mu.Unlock()
	return rs[0].LinkIndex, nil
}

// Stats returns the Index's counters.
func (x *Index) Stats() Stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.stats
	s.Namespaces = len(x.ns)
	return s
}

// Close stops watching every namespace and closes the Index's sockets.
func (x *Index) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	x.closed = true
	x.mu.Unlock()
	x.cancel()
	x.wg.Wait()
	x.scanMu.Lock()
	defer x.scanMu.Unlock()
	x.mu.Lock()
	var errs []error
	for ino, w := range x.ns {
		errs = append(errs, w.stop())
		delete(x.ns, ino)
	}
	x.mu.Unlock()
	x.own.Close()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nsaddrs: close: %w", err)
	}
	return nil
}

// fileIno is the inode of an open file.
func fileIno(f *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
