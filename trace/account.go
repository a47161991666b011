// Package trace accounts captured packets to processes and produces the
// refreshes that gohogs prints, in nethogs's trace format or as data.
//
// The Accountant keeps a flow table keyed by the local socket's view of a
// flow (protocol, local address and port, remote address and port). A packet
// from a local address adds its whole frame length to the SENT side of the
// flow whose local end is its source; a packet to a local address adds it to
// the RECEIVED side of the flow whose local end is its destination. When both
// ends are local (loopback, or two local processes) both flows are credited:
// the sender's SENT and the receiver's RECEIVED, which nethogs gets wrong.
//
// Capture never waits for process lookups. A new flow is queued to resolver
// goroutines and its bytes stay on the flow until its owner is known; a
// refresh credits the bytes of resolved flows to their processes, keeps the
// bytes of flows still being resolved for the next refresh (for a bounded
// time), and credits the bytes of flows that could not be resolved to the
// unknown rows. So every byte is credited exactly once.
//
// A refresh covers the packets whose kernel timestamps fall between the
// previous refresh's cut time and its own, not the packets that happened to
// be read by the time the refresh ran: a refresh that runs late (a busy
// machine, a capture ring not yet drained) still covers exactly its
// interval, and packets stamped after the cut wait for the next refresh.
// Rates are those bytes divided by the interval (cut times come from the
// monotonic clock): no smoothing, a rate drops to zero at the first refresh
// after the traffic stops, and SENT × delay summed over a log is the bytes
// sent. Totals are 64-bit byte counters.
package trace

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gohogs/gohogs/capture"
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
	// NetNS is the network namespace inode the captured flows belong to
	// (0: the resolver's own).
	NetNS uint64
	// UDP accounts UDP as well as TCP (nethogs -C).
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
	// them, and under a churn of short connections building them is most
	// of a refresh's work.
	NoConns bool
	// Interval is the expected time between two refreshes' cut times;
	// defaults to 1 s. Packets stamped after the next cut are held for the
	// refresh after it.
	Interval time.Duration
}

type flowKey struct {
	proto         capture.Proto
	local, remote netip.AddrPort
}

func (k flowKey) String() string {
	return k.local.Addr().String() + ":" + strconv.Itoa(int(k.local.Port())) + "-" +
		k.remote.Addr().String() + ":" + strconv.Itoa(int(k.remote.Port()))
}

// mapKey is flowKey flattened for the flow table: fixed-size and free of
// pointers, it hashes as plain memory (netip.Addr's zone handle would send
// every lookup through the generic, slower hash).
type mapKey struct {
	local, remote [16]byte
	lport, rport  uint16
	proto         uint8
}

func (k flowKey) mapKey() mapKey {
	return mapKey{local: k.local.Addr().As16(), remote: k.remote.Addr().As16(),
		lport: k.local.Port(), rport: k.remote.Port(), proto: uint8(k.proto)}
}

type flowState uint8

const (
	statePending flowState = iota
	stateResolved
	stateFailed
)

type flow struct {
	key        flowKey
	first      time.Time // when the flow was created (wall clock, from packets)
	lastSeen   time.Time // timestamp of its last packet
	sent, recv uint64    // bytes not yet credited to a row, stamped before the next cut
	nsent      uint64    // bytes stamped after the next cut, for the refresh after it
	nrecv      uint64
	credSent   uint64 // bytes credited by the last refresh (for Row.Conns)
	credRecv   uint64
	state      flowState
	queued     bool
	tries      uint8
	nextTry    time.Time
	owner      *proc
	closing    bool // a FIN or RST was seen: forgotten soon after it is idle
}

// closedFlowTimeout is how long a TCP flow that saw a FIN or RST is kept
// once idle (its last ACKs), instead of FlowTimeout: under a churn of short
// connections the table then holds seconds of them, not the last 50 s.
const closedFlowTimeout = 2 * time.Second

type procKey struct {
	pid   int
	start uint64
	inode uint64 // for KindSocket rows
	kind  Kind
}

type proc struct {
	key      procKey
	row      Row
	lastByte time.Time
	flows    int // live flows owned
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
	last       time.Time // the previous refresh's cut
	cut        time.Time // the next refresh's expected cut
	seq        int
	stats      Stats

	gens  Generationer // cfg.Locals, if it has a generation
	cache *[tupleCacheSize]tupleEntry
}

// tupleCacheSize is the number of entries of the tuple cache, a power of 2.
const tupleCacheSize = 256

// tupleEntry remembers, for one packet tuple (source as key.local,
// destination as key.remote), the flows its bytes go to: a flood of
// packets of a few flows then skips the two Locals lookups and the flow
// table's hash. Entries are cleared when any flow leaves the table.
type tupleEntry struct {
	key        mapKey
	gen        uint64 // Locals generation the sides were decided under
	sent, recv *flow  // the source's and the destination's flow, if local (recv also when neither is)
}

// slot returns the cache index of tuple k: a multiplicative mix of the
// ports and the last 4 bytes of each address.
func (k *mapKey) slot() int {
	h := uint32(k.lport)<<16 | uint32(k.rport)
	h ^= binary.LittleEndian.Uint32(k.local[12:]) * 0x9e3779b1
	h ^= binary.LittleEndian.Uint32(k.remote[12:]) * 0x85ebca77
	h *= 0xc2b2ae3d
	return int(h >> (32 - 8))
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
			Kind: KindUnknownTCP, Name: "unknown TCP",
		}},
	}
	if g, ok := cfg.Locals.(Generationer); ok {
		a.gens = g
		a.cache = new([tupleCacheSize]tupleEntry)
	}
	if cfg.UDP {
		a.unknownUDP = &proc{row: Row{Kind: KindUnknownUDP, Name: "unknown UDP"}}
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

// Packet accounts one captured packet. It does not block on anything but
// the Accountant's lock, and allocates only when it sees a new flow.
func (a *Accountant) Packet(p *capture.Packet) {
	switch p.Proto {
	case capture.ProtoTCP:
	case capture.ProtoUDP:
		if !a.cfg.UDP {
			a.ignore()
			return
		}
	default:
		a.ignore()
		return
	}
	n := uint64(p.Length)
	var src, dst netip.AddrPort
	if p.HasPorts {
		src = netip.AddrPortFrom(p.Src, p.SrcPort)
		dst = netip.AddrPortFrom(p.Dst, p.DstPort)
	}
	// (A later IP fragment has no ports: it lands on the flow with no
	// addresses, which is never resolved and goes to the unknown rows.)
	var tk mapKey
	var gen uint64
	if a.gens != nil {
		gen = a.gens.Generation()
		// The packet's own addresses: which side is local depends on them
		// even when the flow has none (a later fragment).
		tk = mapKey{local: p.Src.As16(), remote: p.Dst.As16(), lport: src.Port(), rport: dst.Port(), proto: uint8(p.Proto)}
		if !p.HasPorts {
			tk.proto |= 0x80 // apart from ports 0 and 0
		}
	}
	a.mu.Lock()
	a.stats.Packets++
	a.stats.Bytes += n
	var fs, fr *flow
	var e *tupleEntry
	if a.cache != nil {
		e = &a.cache[tk.slot()]
	}
	if e != nil && e.key == tk && e.gen == gen && (e.sent != nil || e.recv != nil) {
		fs, fr = e.sent, e.recv
		if fs != nil {
			a.touch(fs, p.Timestamp)
		}
		if fr != nil {
			a.touch(fr, p.Timestamp)
		}
	} else {
		a.mu.Unlock()
		srcLocal := a.cfg.Locals.Contains(p.Src)
		dstLocal := a.cfg.Locals.Contains(p.Dst)
		a.mu.Lock()
		if srcLocal {
			fs = a.flow(p.Proto, src, dst, p.Timestamp)
		}
		if dstLocal || !srcLocal {
			fr = a.flow(p.Proto, dst, src, p.Timestamp)
		}
		if e != nil {
			*e = tupleEntry{key: tk, gen: gen, sent: fs, recv: fr}
		}
	}
	next := !p.Timestamp.Before(a.cut)
	closing := p.TCPFlags&(capture.TCPFin|capture.TCPRst) != 0
	if fs != nil {
		if next {
			fs.nsent += n
		} else {
			fs.sent += n
		}
		fs.closing = fs.closing || closing
	}
	if fr != nil {
		if next {
			fr.nrecv += n
		} else {
			fr.recv += n
		}
		fr.closing = fr.closing || closing
	}
	a.mu.Unlock()
}

func (a *Accountant) ignore() {
	a.mu.Lock()
	a.stats.Ignored++
	a.mu.Unlock()
}

// flow returns the flow for the key, creating it and queueing its lookup if
// it is new. a.mu is held.
func (a *Accountant) flow(proto capture.Proto, local, remote netip.AddrPort, ts time.Time) *flow {
	k := flowKey{proto: proto, local: local, remote: remote}
	mk := k.mapKey()
	f := a.flows[mk]
	if f == nil {
		f = &flow{key: k, first: ts}
		a.flows[mk] = f
		if local.IsValid() {
			a.enqueue(f)
		} else {
			f.state, f.nextTry = stateFailed, time.Unix(1<<40, 0)
		}
		f.lastSeen = ts
		return f
	}
	a.touch(f, ts)
	return f
}

// touch notes a packet of f at ts, and queues another lookup of a flow
// that failed once its retry time has come. a.mu is held.
func (a *Accountant) touch(f *flow, ts time.Time) {
	if f.state == stateFailed && !f.queued && ts.After(f.nextTry) {
		a.enqueue(f)
	}
	f.lastSeen = ts
}

// enqueue asks the workers to resolve f, without blocking. a.mu is held.
func (a *Accountant) enqueue(f *flow) {
	select {
	case a.queue <- f:
		f.queued = true
	default:
		a.stats.Dropped++
		// Retried by a later packet of the flow.
		f.state = stateFailed
		f.nextTry = f.lastSeen.Add(100 * time.Millisecond)
	}
}

// A failed lookup is retried quickRetries times, after 20, 40, 80, 160 and
// 320 ms, then every 320 ms while the flow's bytes are held (PendingLimit
// after its first packet), before they go to the unknown rows: the event
// that names a short connection's owner may be read late on a busy
// machine.
const (
	quickRetries = 5
	quickRetry   = 10 * time.Millisecond
)

// requeue queues f's lookup again (from a retry timer).
func (a *Accountant) requeue(f *flow) {
	select {
	case <-a.stop:
		return
	default:
	}
	select {
	case a.queue <- f:
	default:
		a.mu.Lock()
		f.queued = false
		f.state = stateFailed
		a.stats.Dropped++
		a.mu.Unlock()
	}
}

func (a *Accountant) worker() {
	defer a.wg.Done()
	for {
		select {
		case <-a.stop:
			return
		case f := <-a.queue:
			k := f.key // immutable
			owner, err := a.cfg.Resolver.Resolve(procmap.Flow{
				NetNS: a.cfg.NetNS, Proto: uint8(k.proto), Local: k.local, Remote: k.remote,
			})
			now := time.Now()
			a.mu.Lock()
			f.queued = false
			if err == nil {
				f.state = stateResolved
				f.owner = a.procFor(owner, k)
				f.owner.flows++
				a.stats.Resolved++
			} else if f.tries < quickRetries || now.Sub(f.first) < a.cfg.PendingLimit-quickRetry<<quickRetries {
				// The owner may be known a moment later (an event about
				// it still on its way): look again soon, even if the flow
				// sends nothing more, holding its bytes meanwhile.
				if f.tries < quickRetries {
					f.tries++
				}
				f.queued = true
				time.AfterFunc(quickRetry<<f.tries, func() { a.requeue(f) })
			} else {
				f.state = stateFailed
				// Back off: 0.25 s, 0.5 s, 1 s, ... up to 1 minute.
				d := min(250*time.Millisecond<<min(f.tries-quickRetries, 8), time.Minute)
				f.nextTry = now.Add(d)
				if f.tries < 255 {
					f.tries++
				}
				a.stats.Failed++
			}
			a.mu.Unlock()
		}
	}
}

// procFor returns the row that the owner's traffic goes to. a.mu is held.
func (a *Accountant) procFor(o procmap.Owner, k flowKey) *proc {
	var key procKey
	var row Row
	if o.Process != nil {
		p := o.Process
		key = procKey{pid: p.PID, start: p.StartTime, kind: KindProcess}
		row = Row{Kind: KindProcess, Name: p.Name, Cmdline: p.Cmdline, PID: p.PID, StartTime: p.StartTime, UID: p.UID}
		if len(p.Cmdline) > 1 {
			row.Args = strings.Join(p.Cmdline[1:], " ")
		}
	} else {
		key = procKey{inode: o.Inode, kind: KindSocket}
		row = Row{Kind: KindSocket, Name: k.String(), UID: o.UID}
	}
	if a.pids != nil && !a.pids[row.PID] {
		if k.proto == capture.ProtoUDP && a.unknownUDP != nil {
			return a.unknownUDP
		}
		return a.unknownTCP
	}
	p := a.procs[key]
	if p == nil {
		p = &proc{key: key, row: row}
		a.procs[key] = p
	}
	return p
}

func (a *Accountant) unknownFor(proto capture.Proto) *proc {
	if proto == capture.ProtoUDP && a.unknownUDP != nil {
		return a.unknownUDP
	}
	return a.unknownTCP
}

// Refresh credits the bytes of the packets stamped before cut (and after the
// previous refresh's cut) and returns the refresh: every process row and the
// unknown rows, with the interval's bytes and the totals. cut should come
// from the monotonic clock (time.Now, or a schedule derived from it); call
// Refresh a little after cut (tens of milliseconds) so that the capture
// rings have handed over the packets stamped before it.
func (a *Accountant) Refresh(cut time.Time) *Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := cut
	a.seq++
	s := &Snapshot{Time: now, Elapsed: now.Sub(a.last), Seq: a.seq}
	a.last = now
	a.cut = now.Add(a.cfg.Interval)
	var unknownConns []*flow
	deleted := false
	for mk, f := range a.flows {
		k := f.key
		f.credSent, f.credRecv = 0, 0
		if f.sent|f.recv != 0 {
			var to *proc
			switch {
			case f.state == stateResolved:
				to = f.owner
			case now.Sub(f.first) < a.cfg.PendingLimit && (f.queued || f.state == statePending):
				// Still being looked up: keep the bytes for the next refresh.
			default:
				to = a.unknownFor(k.proto)
				a.stats.UnknownBytes += f.sent + f.recv
			}
			if to != nil {
				f.credSent, f.credRecv = f.sent, f.recv
				if to.row.Kind <= KindSocket && a.procs[to.key] != to {
					a.procs[to.key] = to // forgotten while idle, now back
				}
				to.row.Sent += f.sent
				to.row.Recv += f.recv
				to.lastByte = now
				f.sent, f.recv = 0, 0
			}
		}
		// What was stamped after this cut belongs to the next refresh.
		f.sent += f.nsent
		f.recv += f.nrecv
		f.nsent, f.nrecv = 0, 0
		if f.state != stateResolved && k.proto == capture.ProtoTCP && k.local.IsValid() {
			unknownConns = append(unknownConns, f)
		}
		timeout := a.cfg.FlowTimeout
		if f.closing && f.state != statePending {
			timeout = min(timeout, closedFlowTimeout)
		}
		if f.sent|f.recv == 0 && !f.queued && now.Sub(f.lastSeen) > timeout {
			if f.owner != nil {
				f.owner.flows--
			}
			delete(a.flows, mk)
			deleted = true
		}
	}
	if deleted && a.cache != nil {
		clear(a.cache[:]) // no entry may point at a flow that left
	}
	slices.SortFunc(unknownConns, func(x, y *flow) int {
		if c := x.first.Compare(y.first); c != 0 {
			return c
		}
		return cmp.Compare(x.key.String(), y.key.String())
	})
	for _, f := range unknownConns {
		s.UnknownConns = append(s.UnknownConns, f.key.String())
	}
	conns := make(map[*proc][]Conn)
	for _, f := range a.flows {
		k := f.key
		if !a.cfg.NoConns && f.state == stateResolved && f.owner.row.Kind <= KindSocket {
			conns[f.owner] = append(conns[f.owner], Conn{Proto: k.proto, Local: k.local, Remote: k.remote, Sent: f.credSent, Recv: f.credRecv})
		}
	}
	emit := func(p *proc) {
		p.row.Conns = conns[p]
		slices.SortFunc(p.row.Conns, func(x, y Conn) int {
			if c := cmp.Compare(x.Local.Port(), y.Local.Port()); c != 0 {
				return c
			}
			return x.Remote.Compare(y.Remote)
		})
		p.row.TotalSent += p.row.Sent
		p.row.TotalRecv += p.row.Recv
		s.Rows = append(s.Rows, p.row)
		p.row.Sent, p.row.Recv = 0, 0
	}
	for k, p := range a.procs {
		if p.row.Sent|p.row.Recv != 0 {
			p.lastByte = now
		}
		if !a.cfg.KeepIdle && p.lastByte.IsZero() {
			p.lastByte = now
		}
		if !a.cfg.KeepIdle && now.Sub(p.lastByte) > a.cfg.ProcessTimeout && p.row.Sent|p.row.Recv == 0 {
			delete(a.procs, k)
			continue
		}
		emit(p)
	}
	if a.unknownUDP != nil {
		emit(a.unknownUDP)
	}
	emit(a.unknownTCP)
	a.stats.Flows = len(a.flows)
	a.stats.Processes = len(a.procs)
	return s
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
	return a.stats
}
