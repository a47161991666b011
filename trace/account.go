package trace

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gohogs/gohogs/procmap"
)

// Locals tells whether an address belongs to this host.
// *capture.LocalAddrs implements it.
type Locals interface {
	Contains(netip.Addr) bool
}

// Generationer is implemented by a Locals whose answers can change: its
// generation changes whenever they do. An Accountant whose Locals
// implements it remembers, per recent packet tuple, which side is local;
// with any other Locals it asks Contains for every packet.
type Generationer interface {
	Generation() uint64
}

// Resolver finds the owner of a flow. *procmap.Resolver implements it. It is
// called from the Accountant's own goroutines, never from the packet path,
// and must be safe for concurrent use.
type Resolver interface {
	Resolve(procmap.Flow) (procmap.Owner, error)
}

// Config configures an Accountant.
type Config struct {
	// Locals says which addresses are this host's. Required.
	Locals Locals
	// Resolver finds flows' owners. Required.
	Resolver Resolver
	// Hosted says which addresses belong to the namespaces behind the
	// capturing one (containers: *procmap.HostedAddrs implements it): an
	// end there of a packet passing through gets a flow of its own, looked
	// up in its namespace (see forward.go). nil: none.
	Hosted Locals
	// NetNS is the network namespace inode the captured flows belong to
	// (0: the resolver's own).
	NetNS uint64
	// UDP accounts every protocol, not only TCP (nethogs -C widens what
	// is captured): UDP, ICMP and ICMPv6, every other IP protocol, and
	// the frames that packet sockets send, when the resolver implements
	// PacketResolver. Without it the refreshes hold TCP alone, as
	// nethogs's do.
	UDP bool
	// PIDs, when not empty, shows only these processes; the traffic of
	// every other one goes to the unknown rows (nethogs -P).
	PIDs []int
	// KeepIdle keeps processes in the list however long they have been idle
	// (nethogs's total view modes). Otherwise a process leaves the list
	// ProcessTimeout after its last byte.
	KeepIdle bool
	// ProcessTimeout defaults to 150 s, as in nethogs.
	ProcessTimeout time.Duration
	// FlowTimeout is how long an idle flow is kept; defaults to 50 s
	// (nethogs's connection timeout).
	FlowTimeout time.Duration
	// PendingLimit is how long the bytes of a flow whose owner is still
	// being looked up are held back from the unknown rows; defaults to 2 s.
	PendingLimit time.Duration
	// Workers is the number of resolver goroutines; defaults to 2.
	Workers int
	// NoConns leaves Row.Conns empty: the trace format does not print
	// them, and building them is work for every flow at every refresh.
	NoConns bool
	// Interval is the expected time between two refreshes' cut times;
	// defaults to 1 s. Packets stamped after the next cut are held for the
	// refresh after it.
	Interval time.Duration
	// RemoteNames, if set, names the remote ends of the rows'
	// connections (Conn.RemoteName) at each refresh.
	RemoteNames RemoteNamer
}

// Accountant turns packets into per-process byte counts. Packet may be called
// from several goroutines at once; Refresh from any one goroutine.
type Accountant struct {
	cfg    Config
	pids   map[int]bool
	queue  chan *flow
	wg     sync.WaitGroup
	stop   chan struct{}
	closed sync.Once

	mu         sync.Mutex
	flows      map[mapKey]*flow
	procs      map[procKey]*proc
	unknownTCP *proc
	unknownUDP *proc
	// unknownICMP and unknownIP hold ICMP and ICMPv6, and every other IP
	// protocol, of no known owner (-C); listed once they had bytes.
	unknownICMP *proc
	unknownIP   *proc
	// acct accounts the packets stamped before the next cut ([0]) and
	// after it ([1]); totals what the refreshes accounted.
	acct   [2]Accounting
	totals Accounting
	last   time.Time // the previous refresh's cut
	cut    time.Time // the next refresh's expected cut
	seq    int
	stats  Stats
	// unknownConns is how many unknown connections the last refresh
	// listed: room for as many is made in the next.
	unknownConns int

	gens  Generationer // cfg.Locals, if it has a generation
	cache *[tupleCacheSize]tupleEntry

	counts countsBuf // Counts' buffer
}

// Stats are the Accountant's own counters, for diagnostics (-x).
type Stats struct {
	Packets, Bytes   uint64 // packets and bytes accounted
	Ignored          uint64 // packets of protocols not accounted
	Flows            int    // flows in the table
	Processes        int    // process rows
	Resolved, Failed uint64 // resolver answers
	Dropped          uint64 // lookups not queued because the queue was full
	UnknownBytes     uint64 // bytes credited to the unknown rows
	CopyBytes        uint64 // bytes seen again on another interface: counted once
	ElsewhereBytes   uint64 // bytes of flows counted through their other end or on another interface (each such flow's)
	// Totals is where the bytes of every refresh so far went (Held: at
	// the last refresh).
	Totals Accounting
}

// New returns an Accountant and starts its resolver goroutines; Close stops
// them. start is the time counted as the previous refresh for the first one.
func New(cfg Config, start time.Time) *Accountant {
	if cfg.ProcessTimeout <= 0 {
		cfg.ProcessTimeout = 150 * time.Second
	}
	if cfg.FlowTimeout <= 0 {
		cfg.FlowTimeout = 50 * time.Second
	}
	if cfg.PendingLimit <= 0 {
		cfg.PendingLimit = 2 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	a := &Accountant{
		cfg:   cfg,
		queue: make(chan *flow, 1<<16),
		stop:  make(chan struct{}),
		flows: make(map[mapKey]*flow),
		procs: make(map[procKey]*proc),
		last:  start,
		cut:   start.Add(cfg.Interval),
		unknownTCP: &proc{row: Row{
			Kind: KindUnknownTCP, Name: KindUnknownTCP.RowName(),
		}},
	}
	if g, ok := cfg.Locals.(Generationer); ok {
		a.gens = g
		a.cache = new([tupleCacheSize]tupleEntry)
	}
	a.withHosted()
	if cfg.UDP {
		a.unknownUDP = &proc{row: Row{Kind: KindUnknownUDP, Name: KindUnknownUDP.RowName()}}
		a.unknownICMP = &proc{row: Row{Kind: KindUnknownICMP, Name: KindUnknownICMP.RowName()}}
		a.unknownIP = &proc{row: Row{Kind: KindUnknownIP, Name: KindUnknownIP.RowName()}}
	}
	if len(cfg.PIDs) > 0 {
		a.pids = make(map[int]bool, len(cfg.PIDs))
		for _, p := range cfg.PIDs {
			a.pids[p] = true
		}
	}
	for range cfg.Workers {
		a.wg.Add(1)
		go a.worker()
	}
	return a
}

// Close stops the resolver goroutines.
func (a *Accountant) Close() {
	a.closed.Do(func() {
		close(a.stop)
		a.wg.Wait()
	})
}

// CollectIdle forgets the processes that own no live flow and had no bytes
// since the previous refresh (nethogs -g's garbage collection). It returns
// how many were forgotten.
func (a *Accountant) CollectIdle() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k, p := range a.procs {
		if p.flows <= 0 && p.row.Sent|p.row.Recv == 0 {
			delete(a.procs, k)
			n++
		}
	}
	return n
}

// Stats returns the Accountant's counters.
func (a *Accountant) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Totals = a.totals
	return s
}
