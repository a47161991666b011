package procmap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gohogs/gohogs/internal/parsenum"
	"github.com/gohogs/gohogs/internal/procfs"
)

// connEvents follows TCP connects as they happen, through the kernel's
// sock:inet_sock_set_state tracepoint in a tracefs instance of gohogs's own.
//
// connect() moves a socket from CLOSE to SYN_SENT in the calling process's
// context, so that event's pid is the process that connected; the port is
// not chosen yet (sport=0), so the event of the socket's next state change
// (SYN_SENT to ESTABLISHED, or to CLOSE), joined on the socket's kernel
// address, gives the local port. The result, (family, addresses, ports) →
// pid, is kept for connTTL (seconds: until the flow is resolved). It names
// the owner of a connection that opened, moved its bytes and closed before
// a packet of it could be looked up — a storm of short connections, or a
// process that lived a fraction of a second — when neither sock_diag nor
// the fd index can any more.
type connEvents struct {
	dir  string // the tracefs instance
	pipe *os.File
	// identify reads a process's identity (readIdentity; tests set it).
	// It runs on goroutines of its own, at most identWorkers at once, so
	// that the events keep flowing while /proc is read, and a burst of new
	// processes is read in parallel before they exit.
	identify func(pid int) (*Process, uint64)
	proc     procfs.FS // the host's /proc, read by readIdentity
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
	// execReads is set when procEvent reads exec'd processes.
	execReads atomic.Bool
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

type tgidEntry struct {
	tgid int
	when time.Time
}

type connIdentity struct {
	proc  *Process
	netns uint64
	when  time.Time // when it was read
}

// ident is a process's identity being read: ready is closed once proc (nil
// if the process was gone) and netns are set.
type ident struct {
	pid   int
	born  time.Time
	ready chan struct{}
	proc  *Process
	netns uint64 // 0 if unknown
}

// connInfo is who made a connection (or sent from a UDP port); when is
// the time it was stored, kept by the map.
type connInfo struct {
	id *ident
}

const identWorkers = 4

func newConnEvents(identify func(pid int) (*Process, uint64)) *connEvents {
	return &connEvents{identify: identify, sem: make(chan struct{}, identWorkers), done: make(chan struct{}),
		ids: make(map[int]connIdentity), tgids: make(map[int]tgidEntry),
		tasks: make(map[int]int), threadTgid: tgidOf,
		idents:  newFIFOMap[int, *ident](identTTL, connMax),
		pending: newFIFOMap[uint64, pendingConn](pendingTTL, connMax),
		conns:   newFIFOMap[connKey, connInfo](connTTL, connMax)}
}

// identFor returns the identity of pid, reading it (in the background)
// unless a read started less than identTTL ago. c.mu is held.
func (c *connEvents) identFor(pid int, now time.Time) *ident {
	if id, ok := c.idents.get(pid, now); ok && now.Sub(id.born) < identTTL {
		return id
	}
	id := &ident{pid: pid, born: now, ready: make(chan struct{})}
	c.idents.put(pid, id, now)
	fill := func() {
		id.proc, id.netns = c.identify(pid)
		if id.proc == nil {
			c.mu.Lock()
			c.lost++
			c.mu.Unlock()
		}
		close(id.ready)
	}
	select {
	case c.sem <- struct{}{}:
		go func() { defer func() { <-c.sem }(); fill() }()
	default:
		go fill() // a burst: more readers than usual, briefly
	}
	return id
}

const (
	// connTTL is how long a connection's or a UDP port's process is kept
	// after its event was read (normally milliseconds after the connect
	// or send). It is needed until the flow is resolved: the Accountant
	// looks a new flow up at its first packet and retries for 0.6 s, then,
	// while the flow still sends, 0.25, 0.75, 1.75 and 3.75 s later; the
	// Resolver then remembers the answer (flow cache). At 3000 connections
	// a second that is 15,000 entries, about 1.5 MB; kept 2 minutes (up to
	// connMax) they cost 5 MB, and a walk of the map per event once full.
	connTTL = 5 * time.Second
	// connMax bounds the connections (and pending connects) kept; beyond
	// it the oldest are forgotten first.
	connMax = 1 << 16
	// identTTL is how long an identity read is reused for later events of
	// the same pid, rather than read again.
	identTTL = time.Second
	// tasksMax bounds the tasks whose process is remembered.
	tasksMax = 1 << 16
	// idsMax bounds the identities kept (a few hundred bytes each).
	idsMax = 16384
	// pendingTTL is how long a connect whose port is not known yet waits
	// for its socket's next transition (a SYN_SENT that lasts longer was
	// seen live, with its socket, by its SYN's lookup).
	pendingTTL  = 30 * time.Second
	tracefsRoot = "/sys/kernel/tracing"
	instPrefix  = "gohogs-"
	tcpSynSent  = 2
)

// startConnEvents creates the tracefs instance (mounting tracefs if it is
// not and mount allows it), enables the tracepoint filtered to SYN_SENT transitions, and reads
// the events on a goroutine of its own until close.
func startConnEvents(proc procfs.FS, mount, removeStale bool) (*connEvents, error) {
	if _, err := os.Stat(filepath.Join(tracefsRoot, "instances")); err != nil {
		if !mount {
			return nil, fmt.Errorf("tracefs is not mounted on %s", tracefsRoot)
		}
		if err := unix.Mount("tracefs", tracefsRoot, "tracefs", 0, ""); err != nil {
			return nil, fmt.Errorf("mount tracefs on %s: %w", tracefsRoot, err)
		}
	}
	if removeStale {
		removeStaleInstances()
	}
	// One instance per Resolver (several may live in one process): each
	// reader must see every event.
	var dir string
	for i := 0; ; i++ {
		dir = filepath.Join(tracefsRoot, "instances", instPrefix+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(i))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || i >= 1000 {
			return nil, fmt.Errorf("tracefs instance: %w", err)
		}
	}
	c := newConnEvents(nil)
	c.proc = proc
	c.dir = dir
	c.identify = c.readIdentity
	ev := filepath.Join(dir, "events", "sock", "inet_sock_set_state")
	fib := filepath.Join(dir, "events", "fib", "fib_table_lookup")
	fib6 := filepath.Join(dir, "events", "fib6", "fib6_table_lookup")
	for _, w := range []struct{ file, val string }{
		// Room for bursts (kernel memory, per CPU): events lost to a full
		// buffer are connections that cannot be named.
		{filepath.Join(dir, "buffer_size_kb"), "2048"},
		// Wake the reader at the first event, not when the buffer is half
		// full (the default): an event is worth most while the process
		// that made it still lives.
		{filepath.Join(dir, "buffer_percent"), "0"},
		// Print every field by name (skaddr is not in the event's format).
		{filepath.Join(dir, "options", "fields"), "1"},
		// The event's pid is the thread's; print the process's too (when
		// the kernel has it: not always for a thread's first event).
		{filepath.Join(dir, "options", "record-tgid"), "1"},
		{filepath.Join(ev, "filter"), "protocol == 6 && (oldstate == 2 || newstate == 2)"},
		{filepath.Join(ev, "enable"), "1"},
		// An IPv4 UDP send from an unconnected socket looks its route up
		// in the sender's context, with the local address and port.
		{filepath.Join(fib, "filter"), "proto == 17 && sport != 0"},
		{filepath.Join(fib, "enable"), "1"},
	} {
		if err := os.WriteFile(w.file, []byte(w.val), 0); err != nil {
			c.remove()
			return nil, fmt.Errorf("tracefs: %w", err)
		}
	}
	// An IPv6 UDP send looks its route up likewise, unless the socket is
	// connected (then once, in connect(), with the port too). A kernel
	// without IPv6 has no such event: counted, the others still run.
	for _, w := range []struct{ file, val string }{
		{filepath.Join(fib6, "filter"), "proto == 17 && sport != 0"},
		{filepath.Join(fib6, "enable"), "1"},
	} {
		if err := os.WriteFile(w.file, []byte(w.val), 0); err != nil {
			c.errs++
			break
		}
	}
	// Non-blocking, so that the runtime poller waits on it and Close
	// interrupts a pending read.
	f, err := os.OpenFile(filepath.Join(dir, "trace_pipe"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		c.remove()
		return nil, fmt.Errorf("tracefs: %w", err)
	}
	c.pipe = f
	c.execReads.Store(true)
	go c.read()
	return c, nil
}

// removeStaleInstances removes the instances of gohogs processes that died
// without removing theirs.
func removeStaleInstances() {
	ents, _ := os.ReadDir(filepath.Join(tracefsRoot, "instances"))
	for _, e := range ents {
		// gohogs-PID-N
		num, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), instPrefix), "-")
		pid, err := strconv.Atoi(num)
		if err != nil || !strings.HasPrefix(e.Name(), instPrefix) {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			continue
		}
		(&connEvents{dir: filepath.Join(tracefsRoot, "instances", e.Name())}).remove()
	}
}

func (c *connEvents) remove() {
	_ = os.WriteFile(filepath.Join(c.dir, "events", "sock", "inet_sock_set_state", "enable"), []byte("0"), 0)
	_ = os.WriteFile(filepath.Join(c.dir, "events", "fib", "fib_table_lookup", "enable"), []byte("0"), 0)
	_ = os.WriteFile(filepath.Join(c.dir, "events", "fib6", "fib6_table_lookup", "enable"), []byte("0"), 0)
	_ = os.Remove(c.dir)
}

// close stops the reader and the identity reader (the process
// connector, which calls procEvent, must be stopped first).
func (c *connEvents) close() {
	c.pipe.Close()
	<-c.done
	c.remove()
}

// task records a new task: thread tid of process tgid (tid == tgid for a
// new process).
func (c *connEvents) task(tid, tgid int) {
	c.tasksMu.Lock()
	if len(c.tasks) >= tasksMax {
		for k := range c.tasks {
			if len(c.tasks) <= tasksMax/2 {
				break
			}
			delete(c.tasks, k) // then read from /proc, or the line
		}
	}
	c.tasks[tid] = tgid
	c.tasksMu.Unlock()
}

// procEvent is told by the process connector of a new task (fork: thread
// pid of process tgid, pid == tgid for a new process) or an exec (of
// process tgid). A new process's or an exec'd one's pid no longer has the
// identity remembered for it, if any. An exec'd process's identity is read
// at once: a process that sends a datagram and exits within a millisecond
// is gone before its send event is read, and is named by this identity.
// It is read here, on the connector's goroutine, whose thread the kernel
// has just woken: a goroutine started for it may wait milliseconds for a
// thread while the new processes keep every CPU busy. Four small files,
// tens of µs.
func (c *connEvents) procEvent(pid, tgid int, exec bool) {
	if !exec {
		c.task(pid, tgid)
		if pid != tgid {
			return
		}
	}
	c.idsMu.Lock()
	delete(c.ids, tgid)
	c.idsMu.Unlock()
	if exec && c.execReads.Load() {
		c.readIdentityAs(tgid, true)
	}
}

func (c *connEvents) read() {
	defer close(c.done)
	sc := bufio.NewScanner(c.pipe)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		c.handle(sc.Bytes(), time.Now())
	}
}

// handle handles one line of trace_pipe.
func (c *connEvents) handle(b []byte, now time.Time) {
	if i := bytes.Index(b, fibMarker); i >= 0 {
		// A UDP sender's every datagram is an event: parsed without
		// allocating, or a burst outruns the reader.
		c.udpSend(b[:i], b[i+len(fibMarker):], false, now)
		return
	}
	if i := bytes.Index(b, fib6Marker); i >= 0 {
		c.udpSend(b[:i], b[i+len(fib6Marker):], true, now)
		return
	}
	c.lineBytes(b, now)
}

var (
	fibMarker  = []byte(": fib_table_lookup: ")
	fib6Marker = []byte(": fib6_table_lookup: ")
	sportKey   = []byte(" sport=0x")
)

// line handles one event line, such as
//
//	python3-28961 [001] ..... 3387.94: inet_sock_set_state: skaddr=0xffff8881c4693780 (-13...) oldstate=0x7 (7) newstate=0x2 (2) sport=0x0 (0) dport=0x1c24 (7204) family=0x2 (2) protocol=0x6 (6) saddr=0x100007f (16777343) daddr=0x100007f (16777343) saddr_v6=<INVALID-SIZE> daddr_v6=<INVALID-SIZE>
func (c *connEvents) line(l string, now time.Time) { c.lineBytes([]byte(l), now) }

var stateMarker = []byte(": inet_sock_set_state: ")

// lineBytes is line on the reader's buffer, parsed without allocating.
func (c *connEvents) lineBytes(l []byte, now time.Time) {
	i := bytes.Index(l, stateMarker)
	if i < 0 {
		return
	}
	ev, ok := parseConnEvent(l[:i], l[i+len(stateMarker):])
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
			c.add(ev, who, now)
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
			c.add(ev, p.who, now)
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
func (c *connEvents) udpSend(head, body []byte, v6 bool, now time.Time) {
	ev, ok := parseHeadBytes(head)
	if ok {
		i := bytes.Index(body, sportKey)
		if i < 0 {
			ok = false
		} else {
			v, n := parsenum.HexPrefix(body[i+len(sportKey):])
			ok = n > 0 && v != 0 && v <= 0xffff
			ev.sport = uint16(v)
		}
	}
	if !ok || !ev.process {
		c.mu.Lock()
		if !ok {
			c.errs++
		}
		c.mu.Unlock()
		return
	}
	k := connKey{udp: true, v6: v6, lport: ev.sport}
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
	c.addKey(k, connInfo{id: c.identFor(pid, now)}, now)
}

// add records a connection. c.mu is held.
func (c *connEvents) add(ev connEvent, who connInfo, now time.Time) {
	c.addKey(ev.key(), who, now)
}

// addKey records an owner. c.mu is held.
func (c *connEvents) addKey(k connKey, who connInfo, now time.Time) {
	c.conns.put(k, who, now)
}

// lookup returns the process that connected the TCP flow f, if an event
// said so within connTTL, in f's network namespace (netns, when known).
func (c *connEvents) lookup(f Flow, netns uint64, now time.Time) (*Process, bool) {
	p, _, ok := c.lookupAt(f, netns, now)
	return p, ok
}

// lookupAt is lookup, with the time the event was read.
func (c *connEvents) lookupAt(f Flow, netns uint64, now time.Time) (*Process, time.Time, bool) {
	k := flowConnKey(f)
	c.mu.Lock()
	i, when, ok := c.conns.getAt(k, now)
	c.mu.Unlock()
	if !ok || i.id == nil {
		return nil, time.Time{}, false
	}
	select {
	case <-i.id.ready:
	case <-time.After(100 * time.Millisecond):
		return nil, time.Time{}, false // /proc is very slow: the flow is looked up again later
	}
	if i.id.proc == nil || (netns != 0 && i.id.netns != 0 && netns != i.id.netns) {
		return nil, time.Time{}, false
	}
	return i.id.proc, when, true
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

func (c *connEvents) counts() (events, errs, lost uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events, c.errs, c.lost
}

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

// parseConnEvent reads the task-pid and context flags from head, and the
// name=0xHEX fields from body.
func parseConnEvent(head, body []byte) (connEvent, bool) {
	ev, ok := parseHeadBytes(head)
	if !ok {
		return ev, false
	}
	for _, f := range connFields {
		v, ok := hexAfter(body, f.key)
		if !ok {
			return ev, false
		}
		switch f.name {
		case "skaddr":
			ev.skaddr = v
		case "oldstate":
			ev.oldstate = int(v)
		case "newstate":
			ev.newstate = int(v)
		case "sport":
			ev.sport = uint16(v)
		case "dport":
			ev.dport = uint16(v)
		case "family":
			ev.family = int(v)
		case "saddr":
			ev.saddr = [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
		case "daddr":
			ev.daddr = [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
		}
	}
	return ev, ev.skaddr != 0
}

// connFields are the event's fields gohogs reads, as printed with the
// tracefs "fields" option: name=0xHEX (DECIMAL).
var connFields = func() []struct {
	name string
	key  []byte
} {
	var fs []struct {
		name string
		key  []byte
	}
	for _, n := range []string{"skaddr", "oldstate", "newstate", "sport", "dport", "family", "saddr", "daddr"} {
		fs = append(fs, struct {
			name string
			key  []byte
		}{n, []byte(n + "=0x")})
	}
	return fs
}()

// hexAfter finds key (as a whole field name) in b and parses the hex digits
// after it.
func hexAfter(b, key []byte) (uint64, bool) {
	for off := 0; ; {
		i := bytes.Index(b[off:], key)
		if i < 0 {
			return 0, false
		}
		i += off
		if i == 0 || b[i-1] == ' ' {
			v, n := parsenum.HexPrefix(b[i+len(key):])
			return v, n > 0
		}
		off = i + len(key)
	}
}

// processOf returns the process id of the event's thread: the line's, or
// the one read from /proc for the thread, remembered for a few seconds (a
// UDP sender's every datagram is an event: /proc is read once per thread).
//
// The line's own tgid comes last, unless it says the thread is its
// process's main one: the kernel records a task's tgid when it is next
// switched out, and prints at read time what it recorded last for that
// tid; a task that sent and exited before that, with a tid an earlier
// thread had, is printed with the earlier thread's process. The process
// connector's report of the task's creation, or /proc while it lives, is
// sure.
func (c *connEvents) processOf(ev connEvent, now time.Time) int {
	if e, ok := c.tgids[ev.pid]; ok && now.Sub(e.when) < 5*time.Second {
		return e.tgid
	}
	c.tasksMu.Lock()
	tgid := c.tasks[ev.pid]
	c.tasksMu.Unlock()
	if tgid == 0 && ev.tgid == ev.pid {
		// A process's main thread: were it stale, it would be an
		// earlier process of the same pid, and /proc/PID is the latest.
		tgid = ev.tgid
	}
	if tgid == 0 {
		tgid = c.threadTgid(ev.pid)
	}
	if tgid == 0 {
		tgid = ev.tgid
	}
	if tgid > 0 {
		if len(c.tgids) >= 4096 {
			clear(c.tgids)
		}
		c.tgids[ev.pid] = tgidEntry{tgid: tgid, when: now}
	}
	return tgid
}

// tgidOf returns the process id of thread tid, from /proc/TID/status (a
// thread's directory is there though /proc does not list it), or 0.
func tgidOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return 0
	}
	return procfs.ParseStatusTgid(b)
}

// readIdentity reads the identity of pid from /proc, without the
// Resolver's lock (a scan holding it must not delay the reads while
// short-lived processes exit): the start time each time, the rest once per
// process. The command line first: it is empty once a process exits. A
// process already gone is named by the identity read when it exec'd, if
// the process connector runs (a reused pid drops it).
func (c *connEvents) readIdentity(pid int) (*Process, uint64) {
	return c.readIdentityAs(pid, false)
}

// readIdentityAs is readIdentity; after an exec (fresh) it reads the
// identity even if one with the same start time (kept by exec) is known.
func (c *connEvents) readIdentityAs(pid int, fresh bool) (*Process, uint64) {
	dir, err := c.proc.OpenPID(pid)
	if err != nil {
		return c.remembered(pid)
	}
	defer dir.Close()
	buf := make([]byte, procfs.MaxCmdline+4096)
	cmdline, cmdErr := dir.ReadFile("cmdline", buf[:procfs.MaxCmdline])
	st, err := dir.Stat(buf[procfs.MaxCmdline:])
	if err != nil {
		return c.remembered(pid)
	}
	comm, start := string(st.Comm), st.StartTime
	c.idsMu.Lock()
	id, ok := c.ids[pid]
	c.idsMu.Unlock()
	known := ok && id.proc.StartTime == start
	if known && !fresh {
		return id.proc, id.netns
	}
	p := &Process{PID: pid, StartTime: start, Name: comm}
	if cmdErr == nil {
		p.Cmdline = procfs.ParseCmdline(cmdline)
		p.Name = processName(p.Cmdline, comm)
	}
	if len(p.Cmdline) == 0 && known {
		// A zombie (no command line any more): as it was read before.
		return id.proc, id.netns
	}
	if b, err := dir.ReadFile("status", buf[procfs.MaxCmdline:]); err == nil {
		p.UID, _ = procfs.ParseStatusUID(b)
	}
	var netns uint64
	if n, err := dir.Readlink([]byte("ns/net"), buf); err == nil {
		netns, _ = procfs.NSInode(buf[:n], "net")
	}
	c.idsMu.Lock()
	c.putID(pid, connIdentity{proc: p, netns: netns, when: time.Now()})
	c.idsMu.Unlock()
	return p, netns
}

// putID stores an identity, forgetting old ones if there are too many.
// c.idsMu is held.
func (c *connEvents) putID(pid int, id connIdentity) {
	if len(c.ids) >= idsMax {
		for k, v := range c.ids {
			if id.when.Sub(v.when) > 30*time.Second || len(c.ids) > idsMax*3/4 {
				delete(c.ids, k)
			}
		}
	}
	c.ids[pid] = id
}

// remembered returns the identity last read for pid, a process now gone,
// if it can be trusted to be that process's: while the process connector
// reports forks, which drop a reused pid's.
func (c *connEvents) remembered(pid int) (*Process, uint64) {
	if !c.forks.Load() {
		return nil, 0
	}
	c.idsMu.Lock()
	defer c.idsMu.Unlock()
	if id, ok := c.ids[pid]; ok {
		return id.proc, id.netns
	}
	return nil, 0
}

// parseHeadBytes reads "TASK-PID (TGID) [CPU] FLAGS TIMESTAMP" (TGID may
// be "-------", or absent): the thread id, the process id when given, and
// whether the event ran in a process's context. It does not allocate.
func parseHeadBytes(head []byte) (connEvent, bool) {
	var ev connEvent
	open, closing := bytes.IndexByte(head, '('), bytes.IndexByte(head, ')')
	task := head
	rest := head
	if open > 0 && closing > open {
		v, n := parsenum.DecPrefix(bytes.TrimSpace(head[open+1 : closing]))
		if n > 0 {
			ev.tgid = int(v)
		}
		task, rest = head[:open], head[closing+1:]
	} else if sp := bytes.IndexByte(bytes.TrimLeft(head, " "), ' '); sp > 0 {
		t := bytes.TrimLeft(head, " ")
		task, rest = t[:sp], t[sp:]
	}
	task = bytes.TrimSpace(task)
	dash := bytes.LastIndexByte(task, '-')
	if v, n := parsenum.DecPrefix(task[dash+1:]); n > 0 && n == len(task)-dash-1 {
		ev.pid = int(v)
	}
	// rest: " [CPU] FLAGS TIMESTAMP"
	cpu := bytes.IndexByte(rest, ']')
	if cpu < 0 {
		return ev, false
	}
	flags := bytes.TrimLeft(rest[cpu+1:], " ")
	ev.process = ev.pid > 0 && len(flags) >= 3 && flags[2] == '.'
	return ev, true
}
