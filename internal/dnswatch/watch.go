package dnswatch

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohogs/gohogs/internal/netns"
)

// Defaults of Options.
const (
	DefaultMaxNames = 1 << 16
	// DefaultMinTTL keeps a name a minute at least: clients connect
	// after their lookup, and browsers and the JVM keep answers 30 to 60
	// s whatever their TTL, which load balancers set to 0 to 30 s.
	DefaultMinTTL = time.Minute
	// DefaultMaxTTL is what resolvers keep an answer at most (unbound's
	// cache-max-ttl, 1 day).
	DefaultMaxTTL = 24 * time.Hour
	// DefaultConnTTL is how long a connection keeps its name after it was
	// last asked about.
	DefaultConnTTL = 10 * time.Minute
)

// ifRecheck is how long the name of an interface index is believed: an
// index whose interface was deleted may be given to another one.
const ifRecheck = 10 * time.Second

// Options configures a Watcher.
type Options struct {
	// Interfaces whose answers are read, by name; the answers crossing
	// other interfaces of the namespace are dropped. Required.
	Interfaces []string
	// MaxNames bounds the addresses named at once (and the connections);
	// default DefaultMaxNames.
	MaxNames int
	// MinTTL and MaxTTL bound how long a name is kept after its answer,
	// which is its record's TTL otherwise; defaults DefaultMinTTL and
	// DefaultMaxTTL.
	MinTTL, MaxTTL time.Duration
	// ConnTTL is how long a connection keeps the name it was given after
	// Name was last asked about it; default DefaultConnTTL (a Monitor
	// asks at every refresh).
	ConnTTL time.Duration
	// NetNSOf, if set, returns the network namespace (its inode) of the
	// host's client at an address: the client an answer went to, or the
	// local end of a connection. nil: every client is in the namespace the
	// Watcher was opened in. This is where an index of the addresses of
	// the containers behind this namespace (their own namespaces) goes.
	NetNSOf func(netip.Addr) uint64
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Stats are a Watcher's counters.
type Stats struct {
	// Frames are the packets from port 53 the kernel passed up, on the
	// watched interfaces; Answers the DNS answers among them that named
	// addresses, Addresses how many.
	Frames, Answers, Addresses uint64
	// Malformed counts frames and messages that did not decode: also IPv4
	// fragments of an answer too big for one packet, and answers that
	// came before a TCP stream was seen from its start.
	Malformed uint64
	// TCPSkipped counts TCP segments of answers that could not be joined
	// (a segment missing, or too many streams at once).
	TCPSkipped uint64
	// KernelDrops counts answers dropped for want of room in the socket's
	// buffer.
	KernelDrops uint64
	// Names is how many addresses are named now (some perhaps expired).
	Names int
}

// counters are the Stats the reader counts.
type counters struct {
	frames, answers, addresses, malformed, tcpSkipped atomic.Uint64
}

// Watcher reads the DNS answers of some interfaces and names addresses
// from them.
type Watcher struct {
	opts    Options
	netns   uint64 // the inode of the namespace it was opened in
	names   *names
	stats   counters
	sock    *socket
	watched map[int]ifCheck // the reader's: interface index → watched
	wg      sync.WaitGroup
	stopped atomic.Bool
	unhook  func() bool // unregisters the stop at ctx's end

	closeOnce sync.Once
	closeErr  error
}

// ifCheck says whether an interface index is a watched one, as of when.
type ifCheck struct {
	watched bool
	at      time.Time
}

// newWatcher returns a Watcher with no socket: what Open starts, and
// what tests feed frames to.
func newWatcher(opts Options) *Watcher {
	if opts.MaxNames <= 0 {
		opts.MaxNames = DefaultMaxNames
	}
	if opts.MinTTL <= 0 {
		opts.MinTTL = DefaultMinTTL
	}
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = DefaultMaxTTL
	}
	opts.MaxTTL = max(opts.MaxTTL, opts.MinTTL)
	if opts.ConnTTL <= 0 {
		opts.ConnTTL = DefaultConnTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Watcher{opts: opts, names: newNames(opts.MaxNames, opts.MinTTL, opts.MaxTTL, opts.ConnTTL),
		watched: make(map[int]ifCheck)}
}

// Open opens the packet socket in the calling OS thread's network
// namespace and reads the answers until ctx ends or Close. It needs
// CAP_NET_RAW.
func Open(ctx context.Context, opts Options) (*Watcher, error) {
	if len(opts.Interfaces) == 0 {
		return nil, errors.New("dnswatch: no interface to watch")
	}
	w := newWatcher(opts)
	// The socket and the namespace's inode are taken on one thread.
	runtime.LockOSThread()
	ino, ierr := netns.Inode("/proc/thread-self/ns/net")
	s, err := openSocket()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("dnswatch: %w", err)
	}
	if ierr != nil {
		s.close()
		return nil, fmt.Errorf("dnswatch: %w", ierr)
	}
	w.netns, w.sock = ino, s
	w.wg.Add(1)
	go w.read()
	w.unhook = context.AfterFunc(ctx, w.stop)
	return w, nil
}

// stop ends the reader: its read returns, and it sees stopped.
func (w *Watcher) stop() {
	w.stopped.Store(true)
	w.sock.stop()
}

// read is the reader goroutine.
func (w *Watcher) read() {
	defer w.wg.Done()
	d := newDecoder(&w.stats, w.learn)
	buf := make([]byte, snapLen)
	for !w.stopped.Load() {
		n, ifindex, err := w.sock.read(buf)
		if err != nil {
			// After stop, or a pending socket error (none is expected of
			// a socket bound to every interface): read on.
			continue
		}
		now := w.opts.Now()
		if !w.isWatched(ifindex, now) {
			continue
		}
		w.stats.frames.Add(1)
		d.frame(buf[:min(n, len(buf))], now)
	}
}

// isWatched reports whether the interface with this index is one of
// Options.Interfaces, asking the kernel its name at most every ifRecheck.
func (w *Watcher) isWatched(index int, now time.Time) bool {
	c, ok := w.watched[index]
	if !ok || now.Sub(c.at) >= ifRecheck {
		name, err := w.sock.ifName(index)
		c = ifCheck{watched: err == nil && slices.Contains(w.opts.Interfaces, name), at: now}
		if len(w.watched) > 4096 {
			clear(w.watched) // interfaces come and go by the thousand: start again
		}
		w.watched[index] = c
	}
	return c.watched
}

// netnsOf is the namespace of the host's client at addr.
func (w *Watcher) netnsOf(addr netip.Addr) uint64 {
	if w.opts.NetNSOf != nil {
		return w.opts.NetNSOf(addr)
	}
	return w.netns
}

// learn keeps the names of one answer sent to client.
func (w *Watcher) learn(client netip.Addr, name string, as []answer, now time.Time) {
	ns := w.netnsOf(client)
	for _, a := range as {
		w.names.learn(ns, a.addr, name, a.ttl, now)
	}
}

// Name returns the name of a connection's remote end: the name its
// address was resolved from, by a client in the connection's namespace,
// when the connection was first asked about (if it was asked about in the
// last Options.ConnTTL), else now; "" when none was seen. proto is the IP
// protocol (6 TCP, 17 UDP). It answers at once, from memory.
func (w *Watcher) Name(proto uint8, local, remote netip.AddrPort) string {
	return w.names.conn(w.netnsOf(local.Addr()), proto, local, remote, w.opts.Now())
}

// Lookup returns the name addr was last resolved from by a client in the
// Watcher's namespace, "" when none is current.
func (w *Watcher) Lookup(addr netip.Addr) string {
	return w.names.lookup(w.netns, addr, w.opts.Now())
}

// Stats returns the Watcher's counters.
func (w *Watcher) Stats() Stats {
	s := Stats{
		Frames:     w.stats.frames.Load(),
		Answers:    w.stats.answers.Load(),
		Addresses:  w.stats.addresses.Load(),
		Malformed:  w.stats.malformed.Load(),
		TCPSkipped: w.stats.tcpSkipped.Load(),
		Names:      w.names.len(),
	}
	if w.sock != nil {
		s.KernelDrops = w.sock.drops()
	}
	return s
}

// Close stops reading and closes the socket. It is safe to call twice.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		if w.sock == nil {
			return
		}
		w.unhook()
		w.stop()
		w.wg.Wait()
		if err := w.sock.close(); err != nil {
			w.closeErr = fmt.Errorf("dnswatch: closing the socket: %w", err)
		}
	})
	return w.closeErr
}
