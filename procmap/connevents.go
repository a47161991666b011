package procmap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/procfs"
	"github.com/gohogs/gohogs/internal/runtimeapi"
	"github.com/gohogs/gohogs/internal/tracefs"
)

// connEvents follows TCP connects and UDP sends as they happen, through
// kernel tracepoints in a tracefs instance of its own (internal/tracefs):
//   - sock:inet_sock_set_state, filtered to TCP's SYN_SENT transitions.
//     connect() moves a socket from CLOSE to SYN_SENT in the calling
//     process's context, so that event's pid is the process that
//     connected; the port is not chosen yet (sport=0), so the event of the
//     socket's next state change (SYN_SENT to ESTABLISHED, or to CLOSE),
//     joined on the socket's kernel address, gives the local port.
//   - fib:fib_table_lookup and fib6:fib6_table_lookup, filtered to UDP
//     with a local port: a send from an unconnected socket looks its route
//     up in the sender's context, with its local port.
//
// What they say, (family, addresses, ports) → process, is kept for connTTL
// (until the flow is resolved). It names the owner of a connection that
// opened, moved its bytes and closed before a packet of it could be looked
// up, or of a UDP sender that exited, when neither sock_diag nor the fd
// index can any more.
type connEvents struct {
	inst *tracefs.Instance // nil in tests
	pipe *os.File
	// identify reads a process's identity (readIdentity; tests set it).
	// It runs on goroutines of its own, at most identWorkers at once, so
	// that the events keep flowing while /proc is read, and a burst of new
	// processes is read in parallel before they exit.
	identify func(pid int) (*Process, uint64)
	proc     procfs.FS         // the host's /proc, read by readIdentity and tgidOf
	names    *runtimeapi.Namer // names the processes' containers (nil: none)
	sem      chan struct{}
	done     chan struct{}

	// tgids is the process of each thread seen (reader goroutine only).
	tgids map[int]tgidEntry
	// ids caches identities by pid, checked against the start time.
	idsMu sync.Mutex
	ids   map[int]connIdentity
	// forks is set while the process connector reports forks and execs
	// (procEvent): an identity in ids is then dropped when its pid is
	// given to a new process, and may name a process already gone.
	forks atomic.Bool
	// execReads is set when procEvent reads exec'd processes and gives
	// forked ones their parent's identity.
	execReads atomic.Bool
	// handed counts the identities forkIdentity gave (under idsMu).
	handed uint64
	// tasks is the process of every task (thread) the process connector
	// reported (task): what a tracepoint line's tgid should say, but
	// the kernel prints the tgid it last recorded for that tid, which may
	// be an earlier task's of the same tid.
	tasksMu sync.Mutex
	tasks   map[int]int
	// threadTgid reads a thread's process from /proc (tgidOf; tests set
	// it).
	threadTgid func(tid int) int

	// What the events said, kept only as long as it is useful (see
	// identTTL, pendingTTL, connTTL); c.mu guards them.
	mu      sync.Mutex
	idents  *fifoMap[int, *ident]         // the latest identity read started per pid
	pending *fifoMap[uint64, pendingConn] // socket kernel address → the connecting process
	conns   *fifoMap[connKey, connInfo]
	events  uint64
	errs    uint64
	lost    uint64 // events whose process was gone before it could be read
	dropped uint64 // events the kernel dropped (its buffer was full)
}

type pendingConn struct {
	who connInfo
}

// connKey is a connection as the tracepoint gives it: IPv4 addresses (zero
// for IPv6, whose addresses the event's field dump cannot print; the ports
// and the family then identify it).
type connKey struct {
	udp          bool // a UDP local port (the rest zero but v6: an unbound socket's route lookup has no source address yet)
	v6           bool
	lport, rport uint16
	laddr, raddr [4]byte
}

// connInfo is who made a connection (or sent from a UDP port); when is
// the time it was stored, kept by the map.
type connInfo struct {
	id *ident
}

const (
	// connTTL is how long a connection's or a UDP port's process is kept
	// after its event was read (normally milliseconds after the connect
	// or send). It is needed until the flow is resolved: the Accountant
	// looks a new flow up at its first packet and retries for a few
	// seconds; the Resolver then remembers the answer (flow cache), so
	// keeping it longer would only cost memory.
	connTTL = 5 * time.Second
	// connMax bounds the connections (and pending connects) kept; beyond
	// it the oldest are forgotten first.
	connMax = 1 << 16
	// pendingTTL is how long a connect whose port is not known yet waits
	// for its socket's next transition (a SYN_SENT that lasts longer was
	// seen live, with its socket, by its SYN's lookup).
	pendingTTL = 30 * time.Second
	// instPrefix starts the name of gohogs's tracefs instances.
	instPrefix = "gohogs-"
	tcpSynSent = 2
)

func newConnEvents(identify func(pid int) (*Process, uint64)) *connEvents {
	c := &connEvents{identify: identify, sem: make(chan struct{}, identWorkers), done: make(chan struct{}),
		ids: make(map[int]connIdentity), tgids: make(map[int]tgidEntry),
		tasks:   make(map[int]int),
		idents:  newFIFOMap[int, *ident](identTTL, connMax),
		pending: newFIFOMap[uint64, pendingConn](pendingTTL, connMax),
		conns:   newFIFOMap[connKey, connInfo](connTTL, connMax)}
	c.threadTgid = c.tgidOf
	return c
}

// startConnEvents finds tracefs (mounting it if it is not mounted and
// opts.MountTracefs allows it), removes the stale instances if
// opts.RemoveStaleInstances asks for it, creates an instance, enables the
// tracepoints filtered to what it needs, and reads the events on a
// goroutine of its own until close. Several Resolvers in one process each
// have an instance: each reader must see every event.
func startConnEvents(proc procfs.FS, opts Options, names *runtimeapi.Namer) (*connEvents, error) {
	root, err := tracefs.Find(proc.Root())
	if errors.Is(err, tracefs.ErrNotMounted) && opts.MountTracefs {
		root, err = tracefs.Mount("")
	}
	if err != nil {
		return nil, fmt.Errorf("connect events: %w", err)
	}
	c := newConnEvents(nil)
	c.proc, c.names = proc, names
	c.identify = c.readIdentity
	if opts.RemoveStaleInstances {
		if _, err := tracefs.RemoveStale(root, instPrefix, proc); err != nil {
			c.errs++ // what could not be removed stays; ours is made anyway
		}
	}
	self, err := tracefs.Self(proc)
	if err != nil {
		// A name that proves nothing: never judged stale by another.
		self = tracefs.Owner{PID: os.Getpid()}
	}
	inst, err := tracefs.NewInstance(root, instPrefix, self)
	if err != nil {
		return nil, fmt.Errorf("connect events: %w", err)
	}
	c.inst = inst
	for _, w := range []struct{ file, val string }{
		// Room for bursts (kernel memory, per CPU): events lost to a full
		// buffer are connections that cannot be named.
		{"buffer_size_kb", "2048"},
		// Wake the reader at the first event, not when the buffer is half
		// full (the default): an event is worth most while the process
		// that made it still lives.
		{"buffer_percent", "0"},
		// Print every field by name (skaddr is not in the event's format).
		{"options/fields", "1"},
		// The event's pid is the thread's; print the process's too (when
		// the kernel has it: not always for a thread's first event).
		{"options/record-tgid", "1"},
		{"events/sock/inet_sock_set_state/filter", "protocol == 6 && (oldstate == 2 || newstate == 2)"},
		{"events/sock/inet_sock_set_state/enable", "1"},
		// An IPv4 UDP send from an unconnected socket looks its route up
		// in the sender's context, with the local address and port.
		{"events/fib/fib_table_lookup/filter", "proto == 17 && sport != 0"},
		{"events/fib/fib_table_lookup/enable", "1"},
	} {
		if err := inst.Write(w.file, w.val); err != nil {
			return nil, errors.Join(fmt.Errorf("connect events: %w", err), inst.Remove())
		}
	}
	// An IPv6 UDP send looks its route up likewise, unless the socket is
	// connected (then once, in connect(), with the port too). A kernel
	// without IPv6 has no such event: counted, the others still run.
	for _, w := range []struct{ file, val string }{
		{"events/fib6/fib6_table_lookup/filter", "proto == 17 && sport != 0"},
		{"events/fib6/fib6_table_lookup/enable", "1"},
	} {
		if err := inst.Write(w.file, w.val); err != nil {
			c.errs++
			break
		}
	}
	f, err := inst.OpenPipe()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("connect events: %w", err), inst.Remove())
	}
	c.pipe = f
	c.execReads.Store(true)
	go c.read()
	return c, nil
}

// close stops the reader and removes the instance (the process connector,
// which calls procEvent, must be stopped first). A connEvents made by a
// test, without an instance, has nothing to close.
func (c *connEvents) close() error {
	if c.pipe == nil {
		return nil
	}
	err := c.pipe.Close()
	<-c.done
	return errors.Join(err, c.inst.Remove())
}

func (c *connEvents) read() {
	defer close(c.done)
	sc := bufio.NewScanner(c.pipe)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		c.handle(sc.Bytes(), time.Now())
	}
}

// The event names handled, and the fields read.
const (
	evStateChange = "inet_sock_set_state"
	evFib         = "fib_table_lookup"
	evFib6        = "fib6_table_lookup"
)

var (
	keySkaddr   = tracefs.NewHexKey("skaddr")
	keyOldstate = tracefs.NewHexKey("oldstate")
	keyNewstate = tracefs.NewHexKey("newstate")
	keySport    = tracefs.NewHexKey("sport")
	keyDport    = tracefs.NewHexKey("dport")
	keyFamily   = tracefs.NewHexKey("family")
	keySaddr    = tracefs.NewHexKey("saddr")
	keyDaddr    = tracefs.NewHexKey("daddr")
)

// handle handles one line of trace_pipe. A UDP sender's every datagram is
// an event: it is parsed without allocating, or a burst outruns the
// reader.
func (c *connEvents) handle(b []byte, now time.Time) {
	l, ok := tracefs.ParseLine(b)
	if !ok {
		n, lost := tracefs.ParseLost(b)
		c.mu.Lock()
		if lost {
			c.dropped += n
		} else if len(b) > 0 {
			c.errs++
		}
		c.mu.Unlock()
		return
	}
	switch string(l.Event) {
	case evFib:
		c.udpSend(l, false, now)
	case evFib6:
		c.udpSend(l, true, now)
	case evStateChange:
		c.stateChange(l, now)
	default:
		c.mu.Lock()
		c.errs++
		c.mu.Unlock()
	}
}

// connEvent is what a line says.
type connEvent struct {
	pid                int  // the thread's id
	tgid               int  // the process's id, 0 if the line does not say
	process            bool // in a process's context, not an interrupt's
	skaddr             uint64
	oldstate, newstate int
	sport, dport       uint16
	family             int
	saddr, daddr       [4]byte
}

func (e connEvent) key() connKey {
	k := connKey{lport: e.sport, rport: e.dport}
	if e.family == unix.AF_INET6 {
		k.v6 = true
	} else {
		k.laddr, k.raddr = e.saddr, e.daddr
	}
	return k
}

// lineEvent is the task part of a line.
func lineEvent(l tracefs.Line) connEvent {
	return connEvent{pid: l.PID, tgid: l.TGID, process: l.PID > 0 && l.InProcess()}
}

// parseStateChange reads an inet_sock_set_state line, such as
//
//	python3-28961 [001] ..... 3387.94: inet_sock_set_state: skaddr=0xffff8881c4693780 (-13...) oldstate=0x7 (7) newstate=0x2 (2) sport=0x0 (0) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>
func parseStateChange(l tracefs.Line) (connEvent, bool) {
	ev := lineEvent(l)
	var ok [8]bool
	var v uint64
	ev.skaddr, ok[0] = keySkaddr.In(l.Fields)
	v, ok[1] = keyOldstate.In(l.Fields)
	ev.oldstate = int(v)
	v, ok[2] = keyNewstate.In(l.Fields)
	ev.newstate = int(v)
	v, ok[3] = keySport.In(l.Fields)
	ev.sport = uint16(v)
	v, ok[4] = keyDport.In(l.Fields)
	ev.dport = uint16(v)
	v, ok[5] = keyFamily.In(l.Fields)
	ev.family = int(v)
	v, ok[6] = keySaddr.In(l.Fields)
	ev.saddr = [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	v, ok[7] = keyDaddr.In(l.Fields)
	ev.daddr = [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	return ev, ok == [8]bool{true, true, true, true, true, true, true, true} && ev.skaddr != 0
}

// stateChange handles a TCP socket's transition to or from SYN_SENT.
func (c *connEvents) stateChange(l tracefs.Line, now time.Time) {
	ev, ok := parseStateChange(l)
	pid := 0
	if ok && ev.process && (ev.newstate == tcpSynSent || ev.oldstate == tcpSynSent) {
		pid = c.processOf(ev, now)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		c.errs++
		return
	}
	c.events++
	switch {
	case ev.newstate == tcpSynSent && ev.process:
		// The process is unknown when the line has no tgid and the
		// thread could not be read: the next event may still name it.
		var who connInfo
		if pid > 0 {
			who = connInfo{id: c.identFor(pid, now)}
		}
		if ev.sport != 0 && who.id != nil { // bound before connect: the port is known now
			c.conns.put(ev.key(), who, now)
		} else {
			c.pending.put(ev.skaddr, pendingConn{who: who}, now)
		}
	case ev.oldstate == tcpSynSent:
		p, ok := c.pending.get(ev.skaddr, now)
		if !ok {
			break
		}
		c.pending.delete(ev.skaddr)
		if p.who.id == nil && pid > 0 {
			// Handled in the connecting thread too (the reply was
			// processed as it left the kernel): it names the process.
			p.who = connInfo{id: c.identFor(pid, now)}
		}
		if p.who.id == nil {
			c.lost++
		} else if ev.sport != 0 {
			c.conns.put(ev.key(), p.who, now)
		}
	}
}

// udpSend handles a route lookup of a UDP send, IPv4 (fib) or IPv6 (fib6,
// v6), such as
//
//	python3-4869 ( 4869) [001] ..... 3810.2: fib_table_lookup: tb_id=0xfe (254) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) proto=(17) tos=(0) scope=(0) flags=(0) src=0x0 (0) dst=0x100007f (16777343) gw4=0x0 (0) gw6=<INVALID-SIZE> sport=0x8976 (35190) dport=0x270f (9999) name=lo
//	<...>-16518 (-------) [000] ..... 9757.2: fib6_table_lookup: tb_id=0xff (255) err=0x0 (0) oif=0x0 (0) iif=0x1 (1) flowlabel=0x0 (0) tos=(0) scope=(0) flags=(0) src=<INVALID-SIZE> dst=<INVALID-SIZE> sport=0xe0c7 (57543) dport=0xebf8 (60408) proto=(17) rt_type=(0) name=lo gw=<INVALID-SIZE>
//
// (the filters keep UDP only) recording the sender as the owner of its
// local port. A lookup in an interrupt (a datagram received: its route
// back) is not a send and is skipped.
func (c *connEvents) udpSend(l tracefs.Line, v6 bool, now time.Time) {
	ev := lineEvent(l)
	sport, ok := keySport.In(l.Fields)
	ok = ok && sport != 0 && sport <= 0xffff
	if !ok || !ev.process {
		if !ok {
			c.mu.Lock()
			c.errs++
			c.mu.Unlock()
		}
		return
	}
	k := connKey{udp: true, v6: v6, lport: uint16(sport)}
	pid := c.processOf(ev, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	if pid <= 0 {
		c.lost++
		return
	}
	if old, when, seen := c.conns.getAt(k, now); seen && now.Sub(when) < time.Second && old.id.pid == pid {
		return // a burst of sends from the same process: known already
	}
	c.conns.put(k, connInfo{id: c.identFor(pid, now)}, now)
}

// lookupAt returns the process that an event within connTTL says connected
// the TCP flow f (or sent from its UDP port), in f's network namespace
// (netns, when known), and the time the event was read. If an event is
// there but the identity of its process is still being read, it returns
// no process and the channel closed once the identity is known: the
// caller may wait for it, without any lock held, and ask again.
func (c *connEvents) lookupAt(f Flow, netns uint64, now time.Time) (*Process, time.Time, <-chan struct{}) {
	k := flowConnKey(f)
	c.mu.Lock()
	i, when, ok := c.conns.getAt(k, now)
	c.mu.Unlock()
	if !ok || i.id == nil {
		return nil, time.Time{}, nil
	}
	select {
	case <-i.id.ready:
	default:
		return nil, time.Time{}, i.id.ready
	}
	p, pns := i.id.proc, i.id.netns
	if p == nil {
		// Gone when it was read; its fork or exec, handled since, may
		// name it (unless it started after the event: a reused pid).
		p, pns = c.remembered(i.id.pid)
		if p != nil && p.StartTime > procfs.BootTicks()-uint64(now.Sub(when)/(10*time.Millisecond))+1 {
			p = nil
		}
	}
	if p == nil || (netns != 0 && pns != 0 && netns != pns) {
		return nil, time.Time{}, nil
	}
	return p, when, nil
}

// forget drops what an event said about the TCP flow f, once the Resolver
// remembers its owner: a connection is connected once.
func (c *connEvents) forget(f Flow) {
	if f.Proto != unix.IPPROTO_TCP {
		return // a UDP port's latest sender still names its next flows
	}
	c.mu.Lock()
	c.conns.delete(flowConnKey(f))
	c.mu.Unlock()
}

// flowConnKey is the key of the events about flow f.
func flowConnKey(f Flow) connKey {
	k := connKey{lport: f.Local.Port(), rport: f.Remote.Port()}
	if f.Proto == unix.IPPROTO_UDP {
		k = connKey{udp: true, v6: !f.Local.Addr().Is4(), lport: f.Local.Port()}
	} else if f.Local.Addr().Is4() {
		k.laddr, k.raddr = f.Local.Addr().As4(), f.Remote.Addr().As4()
	} else {
		k.v6 = true
	}
	return k
}

// connCounts are connEvents's counters.
type connCounts struct {
	events, errs, lost, dropped, handed uint64
}

func (c *connEvents) counts() connCounts {
	c.idsMu.Lock()
	handed := c.handed
	c.idsMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	return connCounts{c.events, c.errs, c.lost, c.dropped, handed}
}
